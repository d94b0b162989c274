import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import AxeBuilder from '@axe-core/playwright';
import * as OTPAuth from 'otpauth';
import { test as base, expect, type ConsoleMessage, type Page } from '@playwright/test';

/** The end2end folder; the repository root is its parent. */
export const END2END_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = path.resolve(END2END_DIR, '..');
/** Data folder of the portal under test, relative to the repository root. */
export const DATA_DIR = 'end2end/.data';
const MHC_BIN = path.join(REPO_ROOT, 'target', 'release', 'mhc');
const MAIL_API = 'http://127.0.0.1:2526';

// ---------------------------------------------------------------------------
// Demo data seeded by the portal on first start (see the UI contract).

export const DARA = {
  firstName: 'Dara',
  fullName: 'Dara Dummett',
  username: 'dara.dummett',
  email: 'dara.dummett@example.org',
  password: 'Maple-Lantern-Harbor-42',
  collectionDate: '15 September 2026',
  a1c: 'Hemoglobin A1c/Hemoglobin.total in Blood',
  sodium: 'Sodium [Moles/volume] in Serum or Plasma',
} as const;

/** Demo staff share the demo password; each must set up a second step at first sign-in. */
export const DEMO_STAFF_PASSWORD = 'Maple-Lantern-Harbor-42';

export const FEN = {
  username: 'fen.mocklin',
  fullName: 'Fen Mocklin',
  email: 'fen.mocklin@riverside.example.org',
} as const;

export const RILEY = {
  username: 'riley.frontdesk',
  fullName: 'Riley Okafor',
  email: 'riley.frontdesk@riverside.example.org',
} as const;

export const SAM = {
  username: 'sam.admin',
  fullName: 'Sam Lindqvist',
  email: 'sam.admin@riverside.example.org',
} as const;

export const EMET = {
  firstName: 'Emet',
  lastName: 'Stubfield',
  fullName: 'Emet Stubfield',
  dateOfBirth: '1964-06-13',
  mrn: '61146B0D',
} as const;

// Exact texts of the portal's messages.
export const MSG = {
  badCredentials: 'The username, email or password is not right. Check them and try again.',
  locked:
    'Too many failed attempts: sign-in is locked for this account. Contact your clinic to unlock it.',
  waitPattern: /Too many attempts\. Wait (\d+) seconds? and try again\./,
  activationMismatch:
    'We could not match those details to an activation code. Check the letter from your clinic and try again.',
  signedOut: 'You have signed out.',
} as const;

export const PORTAL_SECTIONS = [
  'Home',
  'Test results',
  'Visit summaries',
  'Medications',
  'Allergies',
  'Problems',
  'Vital signs',
  'Immunizations',
  'Messages',
  'Appointments',
  'Downloads and sharing',
  'Proxy access',
  'Account and security',
  'Activity',
] as const;

/** A URL that has reached the sign-in page (a query string such as ?next= is allowed). */
export const SIGNIN_URL = /\/signin(\?[^#]*)?$/;

// ---------------------------------------------------------------------------
// Command-line tool

/** Runs the portal's command-line tool against the test data folder and returns its stdout. */
export function mhc(args: string[], input?: string): string {
  try {
    return execFileSync(MHC_BIN, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, PORTAL_DATA_DIR: DATA_DIR },
      encoding: 'utf8',
      timeout: 30_000,
      input,
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string; message: string };
    throw new Error(
      `mhc ${args.join(' ')} failed (exit ${e.status ?? '?'}): ${e.message}\n` +
        `stdout:\n${e.stdout ?? ''}\nstderr:\n${e.stderr ?? ''}`,
    );
  }
}

/** Issues a fresh activation code for the patient with this MRN. */
export function issueActivationCode(mrn: string): string {
  const out = mhc(['patient', 'activation-code', '--mrn', mrn]);
  const match = out.match(/activation code: ([A-Z0-9-]+)/);
  if (!match) throw new Error(`no "activation code: ..." line in the output of mhc:\n${out}`);
  return match[1];
}

// ---------------------------------------------------------------------------
// Mail sink

export interface Mail {
  to: string;
  from: string;
  subject: string;
  text: string;
  date: string;
  attachments: { filename: string; contentType: string; size: number; head: string }[];
}

/** Forgets every message the mail sink holds. */
export async function clearMail(): Promise<void> {
  const res = await fetch(`${MAIL_API}/messages`, { method: 'DELETE' });
  if (!res.ok) throw new Error(`mail sink: DELETE /messages answered ${res.status}`);
}

/**
 * Waits up to 10 s for a message to `to` (whose subject includes `subjectIncludes`, if given)
 * and returns the newest one.
 */
export async function latestMail(to: string, subjectIncludes?: string, timeoutMs = 10_000): Promise<Mail> {
  const deadline = Date.now() + timeoutMs;
  let seen: Mail[] = [];
  for (;;) {
    const res = await fetch(`${MAIL_API}/messages?to=${encodeURIComponent(to)}`);
    if (!res.ok) throw new Error(`mail sink: GET /messages answered ${res.status}`);
    seen = (await res.json()) as Mail[];
    const matching = subjectIncludes ? seen.filter((m) => m.subject.includes(subjectIncludes)) : seen;
    if (matching.length > 0) return matching[matching.length - 1];
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(
    `no email to ${to}${subjectIncludes ? ` with a subject including "${subjectIncludes}"` : ''} ` +
      `within ${timeoutMs} ms; messages to that address: ${JSON.stringify(seen.map((m) => m.subject))}`,
  );
}

// ---------------------------------------------------------------------------
// Accessibility

/** Pages whose context runs without JavaScript (set by the `consoleLog` fixture). */
const pagesWithoutJs = new WeakSet<Page>();

async function runAxe(page: Page) {
  return new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']).analyze();
}

/**
 * axe runs inside the page, which a page without JavaScript does not allow: its exact DOM
 * is then served again at the same URL to a scratch page with JavaScript on (the portal's
 * scripts blocked, so nothing changes the DOM; styles load as usual) and checked there.
 */
async function runAxeOnCopy(page: Page) {
  const url = page.url();
  const html = await page.content();
  const browser = page.context().browser();
  if (!browser) throw new Error('no browser for the accessibility check');
  const context = await browser.newContext({ javaScriptEnabled: true });
  try {
    const copy = await context.newPage();
    await copy.route('**/*', async (route) => {
      const req = route.request();
      if (req.resourceType() === 'document' && req.url() === url) {
        await route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
      } else if (req.resourceType() === 'script' || /\.wasm(\?|$)/.test(req.url())) {
        await route.abort();
      } else {
        await route.continue();
      }
    });
    await copy.goto(url);
    await copy.waitForLoadState('networkidle');
    return await runAxe(copy);
  } finally {
    await context.close();
  }
}

/** Runs axe (WCAG 2.0/2.1 A and AA) and fails on any serious or critical violation. */
export async function checkA11y(page: Page, name: string): Promise<void> {
  await base.step(`accessibility check: ${name}`, async () => {
    const results = pagesWithoutJs.has(page) ? await runAxeOnCopy(page) : await runAxe(page);
    const bad = results.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    const report = bad
      .map(
        (v) =>
          `- [${v.impact}] ${v.id}: ${v.help} (${v.helpUrl})\n` +
          v.nodes.map((n) => `    at ${JSON.stringify(n.target)}: ${n.failureSummary ?? ''}`.trimEnd()).join('\n'),
      )
      .join('\n');
    expect(
      bad.map((v) => v.id),
      `serious or critical accessibility violations on "${name}" (${page.url()}):\n${report}`,
    ).toEqual([]);
  });
}

// ---------------------------------------------------------------------------
// Console and page errors

/** Collects console messages and uncaught page errors, as "type: text" lines. */
export function watchConsole(page: Page): string[] {
  const list: string[] = [];
  page.on('console', (msg: ConsoleMessage) => {
    list.push(`${msg.type()}: ${msg.text()}`);
  });
  page.on('pageerror', (err: Error) => {
    list.push(`pageerror: ${err.message}`);
  });
  return list;
}

/** Fails if any collected line reports a Content Security Policy violation. */
export function expectNoCspViolations(list: string[]): void {
  const csp = list.filter((line) => line.includes('Content Security Policy') || line.includes('Refused to'));
  expect(csp, `Content Security Policy violations in the console:\n${csp.join('\n')}`).toEqual([]);
}

/** Fails on uncaught page errors and on Rust panics reported in the console. */
export function expectNoPageErrors(list: string[]): void {
  const errors = list.filter((line) => line.startsWith('pageerror: ') || line.includes('panicked at'));
  expect(errors, `errors in the page:\n${errors.join('\n')}`).toEqual([]);
}

/**
 * The test function used by every spec: `consoleLog` collects what the page logs; when the
 * test ends it is checked once more for CSP violations, so nothing logged late slips through.
 */
export const test = base.extend<{ consoleLog: string[] }>({
  consoleLog: async ({ page, javaScriptEnabled }, use, testInfo) => {
    if (javaScriptEnabled === false) pagesWithoutJs.add(page);
    const list = watchConsole(page);
    await use(list);
    // A test that already failed has reported enough.
    if (testInfo.status === 'passed') expectNoCspViolations(list);
  },
});
export { expect };

// ---------------------------------------------------------------------------
// Page steps shared by the specs

/** Waits until the page has loaded, including the WebAssembly bundle when JavaScript runs. */
export async function settle(page: Page): Promise<void> {
  await page.waitForLoadState('load');
  await page.waitForLoadState('networkidle');
}

/** Waits until the portal's wasm has hydrated the page, then for what it fetched at once. */
export async function hydrated(page: Page): Promise<void> {
  await page.locator('body[data-hydrated]').waitFor({ state: 'attached', timeout: 20_000 });
  await page.waitForLoadState('networkidle');
}

export async function gotoSignIn(page: Page): Promise<void> {
  await page.goto('/signin');
  await settle(page);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in', exact: true })).toBeVisible();
}

/** The page's alert that has text (an empty live region waiting for a message is skipped). */
export function alertBox(page: Page) {
  return page.getByRole('alert').filter({ hasText: /\S/ });
}

/** Fills and submits the sign-in form on the current page. */
export async function submitSignIn(page: Page, login: string, password: string): Promise<void> {
  await page.getByLabel('Username or email').fill(login);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Checks the signed-in shell: the patient's name in the banner, the sections and sign-out. */
export async function expectSignedInShell(page: Page, fullName: string): Promise<void> {
  await expect(page.getByRole('banner')).toContainText(fullName);
  const nav = page.getByRole('navigation', { name: 'Portal sections' });
  await expect(nav).toBeVisible();
  for (const section of PORTAL_SECTIONS) {
    await expect(nav.getByRole('link', { name: section, exact: true })).toBeVisible();
  }
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
}

/** Opens a section from the "Portal sections" navigation. */
export async function openSection(page: Page, section: (typeof PORTAL_SECTIONS)[number]): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Portal sections' })
    .getByRole('link', { name: section, exact: true })
    .click();
}

/** The flag column holds one of these words. */
const FLAG_WORD = /\b(High|Low|Normal)\b/;

/** Checks the results page layout: headers of every table and the flag words. */
export async function expectResultsTables(page: Page): Promise<void> {
  const tables = page.getByRole('table');
  await expect(tables.first()).toBeVisible();
  const count = await tables.count();
  for (let i = 0; i < count; i++) {
    const table = tables.nth(i);
    for (const header of ['Test', 'Result', 'Reference range', 'Flag']) {
      await expect(table.getByRole('columnheader', { name: header, exact: true })).toBeVisible();
    }
    // Every data row (a row with a link to a result) carries one flag word.
    const rows = table.getByRole('row').filter({ has: page.getByRole('link') });
    const rowCount = await rows.count();
    expect(rowCount, `table ${i + 1} has no result rows`).toBeGreaterThan(0);
    for (let r = 0; r < rowCount; r++) {
      await expect(rows.nth(r).getByRole('cell').last()).toHaveText(FLAG_WORD);
    }
  }
}

/** The flag word (High, Low or Normal) in the results-table row of the test with this link name. */
export async function flagOfRow(page: Page, testName: string): Promise<string> {
  const row = page
    .getByRole('row')
    .filter({ has: page.getByRole('link', { name: testName, exact: true }) })
    .first();
  const text = await row.getByRole('cell').last().innerText();
  const match = text.match(FLAG_WORD);
  if (!match) throw new Error(`no flag word in the last cell of the row of "${testName}": ${text}`);
  return match[1];
}

/** Checks a result's detail page: its h1, the reference range and the flag. */
export async function expectResultDetail(page: Page, testName: string, flag: string): Promise<void> {
  await expect(page).toHaveURL(/\/results\/[^/?#]+$/);
  await expect(page.getByRole('heading', { level: 1 })).toHaveText(testName);
  await expect(page.getByText('Reference range').first()).toBeVisible();
  await expect(page.getByText(new RegExp(`\\b${flag}\\b`)).first()).toBeVisible();
}

/**
 * The path of a result that does not exist, shaped like a real one: every letter and digit
 * of the real id (the last segment of `resultUrl`) becomes 0.
 */
export function missingResultPath(resultUrl: string): string {
  const id = new URL(resultUrl, 'http://localhost').pathname.split('/').pop() ?? '';
  const missing = id.replace(/[A-Za-z0-9]/g, '0') || '0';
  if (missing === id) throw new Error(`cannot make a missing id from "${id}"`);
  return `/results/${missing}`;
}

/** Signs out with the "Sign out" button and checks the confirmation on the sign-in page. */
export async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(SIGNIN_URL);
  await expect(page.getByRole('status').filter({ hasText: MSG.signedOut })).toHaveText(MSG.signedOut);
  await settle(page);
}

/**
 * After sign-out, the back button must not bring back health information: the portal
 * answers the page load with the sign-in page.
 */
export async function expectBackShowsNoPhi(page: Page, secrets: string[]): Promise<void> {
  await page.goBack();
  await settle(page);
  await expect(page).toHaveURL(SIGNIN_URL);
  await expect(page.getByRole('heading', { level: 1, name: 'Sign in', exact: true })).toBeVisible();
  await expect(page.getByRole('table')).toHaveCount(0);
  await expect(page.getByRole('navigation', { name: 'Portal sections' })).toHaveCount(0);
  const html = await page.content();
  for (const secret of secrets) {
    expect(html, `the page after "back" still contains "${secret}"`).not.toContain(secret);
  }
}

/** Codes computed by an independent RFC 6238 implementation from the key the set-up page shows. */
export function authenticator(key: string): OTPAuth.TOTP {
  return new OTPAuth.TOTP({
    secret: OTPAuth.Secret.fromBase32(key.replace(/\s+/g, '')),
    algorithm: 'SHA1',
    digits: 6,
    period: 30,
  });
}
