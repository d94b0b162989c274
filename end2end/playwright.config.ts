import { defineConfig } from '@playwright/test';

// End-to-end tests for My Health Connection.
//
// Before running, build the portal's release binary (target/release/mhc,
// with its site assets) from the repository root; then, from this folder:
//   npm ci && npx playwright test
//
// Chromium is not downloaded by Playwright: the system Chromium is used
// (set CHROMIUM to point at another build).

export default defineConfig({
  testDir: 'tests',
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL: 'http://localhost:3000',
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
          args: [
            '--headless',
            '--no-sandbox',
            '--disable-gpu',
            '--disable-quic',
            '--no-first-run',
            '--disable-background-networking',
            '--disable-component-update',
            '--disable-sync',
          ],
        },
      },
    },
  ],
  webServer: [
    {
      // Catches the portal's outgoing email (SMTP 2525, HTTP API 2526).
      name: 'mail-sink',
      command: 'node mail-sink.mjs',
      url: 'http://127.0.0.1:2526/health',
      reuseExistingServer: false,
      timeout: 30_000,
      stdout: 'pipe',
    },
    {
      // The portal, started on an empty data folder so that it seeds the demo data.
      name: 'portal',
      command: 'rm -rf end2end/.data && ./target/release/mhc serve',
      cwd: '..',
      env: {
        PORTAL_DATA_DIR: 'end2end/.data',
        PORTAL_DEMO: '1',
        PORTAL_SMTP_URL: 'smtp://127.0.0.1:2525',
        RUST_LOG: 'info',
      },
      url: 'http://127.0.0.1:3000/healthz',
      reuseExistingServer: false,
      timeout: 120_000,
      stdout: 'pipe',
    },
  ],
});
