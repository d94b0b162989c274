import { writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { CDPSession, Page } from '@playwright/test';
import { test, expect, DARA, REPO_ROOT, gotoSignIn, hydrated, submitSignIn, expectSignedInShell } from './helpers';

// Bytes on the wire, as Chromium counts them (CDP `Network.loadingFinished` encoded lengths,
// headers included): what a first visit costs with a cold cache, and that a second visit
// fetches no static file again (content-hashed names, cached for a year).

interface Fetched {
  url: string;
  bytes: number;
  encoding: string;
  cached: boolean;
}

async function recorder(page: Page): Promise<{ cdp: CDPSession; fetched: Fetched[] }> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const byId = new Map<string, Fetched>();
  const fetched: Fetched[] = [];
  cdp.on('Network.responseReceived', (e) => {
    byId.set(e.requestId, {
      url: new URL(e.response.url).pathname,
      bytes: 0,
      encoding: (e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? '') as string,
      cached: !!(e.response.fromDiskCache || e.response.fromPrefetchCache),
    });
  });
  cdp.on('Network.requestServedFromCache', (e) => {
    const f = byId.get(e.requestId);
    if (f) f.cached = true;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const f = byId.get(e.requestId);
    if (f) {
      f.bytes = e.encodedDataLength;
      fetched.push(f);
    }
  });
  return { cdp, fetched };
}

const isStatic = (url: string) => url.startsWith('/pkg/');
const total = (list: Fetched[]) => list.reduce((n, f) => n + f.bytes, 0);

/** Writes the figures for the performance notes (target/first-load.json). */
function record(figures: Record<string, number>) {
  const out = path.join(REPO_ROOT, 'target', 'first-load.json');
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(figures, null, 2) + '\n');
  console.log(`first-visit bytes: ${JSON.stringify(figures)}`);
}

test('static files come compressed on the first visit and are not fetched again', async ({ page }) => {
  const { fetched } = await recorder(page);
  const figures: Record<string, number> = {};

  await gotoSignIn(page);
  await hydrated(page);
  const first = [...fetched];
  figures['/signin'] = total(first);
  const wasm = first.filter((f) => f.url.endsWith('.wasm'));
  expect(wasm.length).toBeGreaterThan(0);
  for (const f of first.filter((f) => isStatic(f.url) && /\.(wasm|js|css)$/.test(f.url))) {
    // Every build file is named after its content and sent compressed.
    expect(f.url, 'a content-hashed name').toMatch(/\.[\w-]{22}\.(wasm|js|css)$/);
    expect(['br', 'gzip'], `${f.url} is compressed`).toContain(f.encoding);
  }

  fetched.length = 0;
  await submitSignIn(page, DARA.username, DARA.password);
  await page.waitForURL(/\/home$/);
  await expectSignedInShell(page, DARA.fullName);
  await page.waitForLoadState('networkidle');
  figures['/home after /signin'] = total(fetched);

  // A second visit: the page itself again (never cached), its static files from the cache.
  fetched.length = 0;
  await page.goto('/results');
  await hydrated(page);
  const again = fetched.filter((f) => isStatic(f.url));
  expect(again.length, 'the page still uses its static files').toBeGreaterThan(0);
  const onWire = again.filter((f) => !f.cached && f.bytes > 0);
  expect(onWire.map((f) => `${f.url} ${f.bytes}`), 'no static bytes on a second visit').toEqual([]);
  figures['/results, second visit'] = total(fetched);
  record(figures);
});
