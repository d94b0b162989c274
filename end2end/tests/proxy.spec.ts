import type { Browser, Page } from '@playwright/test';
import {
  DARA,
  alertBox,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  hydrated,
  latestMail,
  openSection,
  settle,
  submitSignIn,
  test,
  watchConsole,
} from './helpers';

// Proxy access in two browser contexts: the patient in one, a caregiver in the other. The
// caregiver is new to the portal (their account is made from the invitation), so nothing
// other specs do changes what this one sees.

const DEMO_PASSWORD = 'Maple-Lantern-Harbor-42';
const DARA_BIRTH_DATE = '1972-10-19';
const CAREGIVER_PASSWORD = 'Copper-Kettle-Winter-8812';
const TEEN = { fullName: 'Robin Fakeworth', sensitive: 'Chlamydia trachomatis rRNA', normal: 'Hemoglobin [Mass/volume] in Blood' };

async function newPage(browser: Browser): Promise<{ page: Page; log: string[] }> {
  const context = await browser.newContext({ baseURL: 'http://localhost:3000' });
  const page = await context.newPage();
  return { page, log: watchConsole(page) };
}

async function signIn(page: Page, login: string, password: string): Promise<void> {
  await gotoSignIn(page);
  await submitSignIn(page, login, password);
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
}

function nav(page: Page) {
  return page.getByRole('navigation', { name: 'Portal sections' });
}

/** Opens someone's record with the header's record switcher. */
async function openRecordOf(page: Page, name: string): Promise<void> {
  await page.getByLabel('Record', { exact: true }).selectOption({ label: name });
  await page.getByRole('button', { name: 'Open', exact: true }).click();
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
  await expect(page.getByRole('region', { name: 'Whose record this is' })).toContainText(
    `You are viewing ${name}'s record as a caregiver.`,
  );
}

test('a patient invites a caregiver, who sees only what was granted until the patient revokes it', async ({
  browser,
  consoleLog,
  page,
}) => {
  const patient = page;
  const carer = await newPage(browser);
  const stamp = Date.now();
  const email = `pat.helper.${stamp}@example.org`;
  const username = `pat.helper.${stamp}`;
  const subject = `Question for Dara's team ${stamp}`;
  let link = '';

  await test.step('the patient invites a caregiver for results and messages only', async () => {
    await signIn(patient, DARA.username, DARA.password);
    await openSection(patient, 'Proxy access');
    await expect(patient).toHaveURL(/\/proxy$/);
    await hydrated(patient);
    await expect(patient.getByRole('heading', { level: 1 })).toHaveText('Proxy access');
    await checkA11y(patient, 'proxy access');
    // The sign-in a moment ago counts as a fresh password; confirming again is offered.
    await patient.getByLabel('Current password').fill(DARA.password);
    await patient.getByRole('button', { name: 'Confirm password' }).click();
    await expect(patient.getByText('Password confirmed for the next 5 minutes.')).toBeVisible();
    // With no part ticked, the invitation is refused with what to fix.
    await patient.getByLabel('Their email address').fill(email);
    await patient.getByLabel('How they are related to you').selectOption({ label: 'Friend' });
    await patient.getByRole('button', { name: 'Send the invitation' }).click();
    await expect(alertBox(patient)).toBeVisible();
    await patient.getByLabel('Test results').check();
    await patient.getByLabel('Messages with the care team').check();
    await patient.getByRole('button', { name: 'Send the invitation' }).click();
    await expect(patient.getByRole('status').filter({ hasText: 'An invitation was sent' })).toContainText(email);
    await expect(patient.getByRole('list').filter({ hasText: email })).toContainText('Invitation sent');
    const mail = await latestMail(email, 'an invitation to help');
    expect(mail.text).toContain('We never ask for your password by email.');
    const match = mail.text.match(/https?:\/\/[^\s]+\/proxy\/accept#[A-Za-z0-9_-]+/);
    expect(match, `no invitation link in:\n${mail.text}`).not.toBeNull();
    link = new URL(match![0]).pathname + new URL(match![0]).hash;
  });

  await test.step('the caregiver opens the link, makes an account and confirms the date of birth', async () => {
    const p = carer.page;
    await p.goto(link);
    await hydrated(p);
    await expect(p.getByRole('heading', { level: 1 })).toHaveText('Caregiver invitation');
    await expect(p.getByText('Dara invited you to help with their health record.')).toContainText(
      'Test results, Messages with the care team',
    );
    await checkA11y(p, 'caregiver invitation');
    await p.getByLabel('Your first name').fill('Pat');
    await p.getByLabel('Your last name').fill('Helper');
    await p.getByLabel('Username').fill(username);
    await p.getByLabel('Password', { exact: true }).fill(CAREGIVER_PASSWORD);
    await p.getByLabel('Confirm password').fill(CAREGIVER_PASSWORD);
    await p.getByLabel("Dara's date of birth").fill('1972-10-20');
    await p.getByRole('button', { name: 'Create my account and accept' }).click();
    await expect(alertBox(p)).toContainText('date of birth');
    await p.getByLabel("Dara's date of birth").fill(DARA_BIRTH_DATE);
    await p.getByRole('button', { name: 'Create my account and accept' }).click();
    await expect(p.getByRole('status')).toContainText('Your caregiver account is ready');
  });

  await test.step('the caregiver signs in, opens Dara\'s record and sees only the granted sections', async () => {
    const p = carer.page;
    await signIn(p, username, CAREGIVER_PASSWORD);
    await expect(p.getByRole('heading', { name: 'Records you help with' })).toBeVisible();
    await openRecordOf(p, DARA.fullName);
    for (const shown of ['Home', 'Test results', 'Messages', 'Proxy access', 'Account and security', 'Activity']) {
      await expect(nav(p).getByRole('link', { name: new RegExp(`^${shown}`) })).toBeVisible();
    }
    for (const hidden of ['Medications', 'Visit summaries', 'Appointments', 'Downloads and sharing', 'Immunizations']) {
      await expect(nav(p).getByRole('link', { name: hidden, exact: true })).toHaveCount(0);
    }
    await expect(p.getByRole('heading', { name: 'Test results', level: 2 })).toBeVisible();
    await expect(p.getByRole('heading', { name: 'Medications', level: 2 })).toHaveCount(0);
    await checkA11y(p, 'home acting for someone');
    await nav(p).getByRole('link', { name: 'Test results', exact: true }).click();
    await settle(p);
    await expect(p.getByRole('link', { name: DARA.sodium, exact: true }).first()).toBeVisible();
    await expect(p.getByRole('region', { name: 'Whose record this is' })).toBeVisible();
    // A section outside the grant is refused by the server, whatever the address bar says.
    await p.goto('/medications');
    await settle(p);
    await expect(alertBox(p).first()).toContainText('does not include medications');
  });

  await test.step('the caregiver writes to the care team; the patient sees who wrote it', async () => {
    const p = carer.page;
    await nav(p).getByRole('link', { name: /^Messages/ }).click();
    await hydrated(p);
    await p.getByLabel('What is it about?').selectOption({ label: 'A medical question' });
    await p.getByLabel('Subject').fill(subject);
    await p.getByRole('textbox', { name: 'Message', exact: true }).fill('Dara asked me to check on her next blood test.');
    await p.getByRole('button', { name: 'Send message' }).click();
    await expect(p).toHaveURL(/\/messages\/[0-9a-f-]+\?sent=1$/);
    await settle(p);
    await expect(p.getByRole('list', { name: 'Messages in this conversation' })).toContainText('You');

    await patient.goto('/messages');
    await settle(patient);
    await patient.getByRole('link', { name: subject }).click();
    await settle(patient);
    await expect(patient.getByRole('list', { name: 'Messages in this conversation' })).toContainText('Pat Helper (caregiver)');
  });

  await test.step('the patient revokes; the caregiver\'s next click is refused', async () => {
    await patient.goto('/proxy');
    await hydrated(patient);
    const grant = patient.getByRole('listitem').filter({ hasText: 'Pat Helper' });
    await expect(grant).toContainText('Active');
    await grant.getByRole('button', { name: 'Revoke access for Pat Helper' }).click();
    await expect(patient.getByRole('status').filter({ hasText: 'Access revoked' })).toBeVisible();
    await expect(patient.getByRole('listitem').filter({ hasText: 'Pat Helper' })).toContainText('Revoked');

    const p = carer.page;
    await nav(p).getByRole('link', { name: 'Test results', exact: true }).click();
    await expect(alertBox(p).first()).toContainText('Your access to that record has ended.');
    await expect(p.getByRole('link', { name: DARA.sodium, exact: true })).toHaveCount(0);
  });

  await test.step('the patient\'s Activity lists what the caregiver did', async () => {
    await openSection(patient, 'Activity');
    await settle(patient);
    const rows = patient.getByRole('row').filter({ hasText: 'Pat Helper (caregiver)' });
    await expect(rows.filter({ hasText: 'Viewed' }).first()).toBeVisible();
    await expect(rows.filter({ hasText: 'Sent a message' }).first()).toBeVisible();
    await expect(rows.filter({ hasText: 'Access refused' }).first()).toBeVisible();
    await checkA11y(patient, 'activity with caregiver rows');
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
  expectNoCspViolations(carer.log);
  expectNoPageErrors(carer.log);
  await carer.page.context().close();
});

test("a parent sees a teenager's record without her confidential result", async ({ browser, consoleLog, page }) => {
  const teen = await newPage(browser);
  let sensitiveUrl = '';

  await test.step('the teenager sees both of her results', async () => {
    await signIn(teen.page, 'robin.fakeworth', DEMO_PASSWORD);
    await openSection(teen.page, 'Test results');
    await settle(teen.page);
    await expect(teen.page.getByRole('link', { name: TEEN.normal, exact: true })).toBeVisible();
    const link = teen.page.getByRole('link', { name: new RegExp(TEEN.sensitive) });
    await expect(link).toBeVisible();
    sensitiveUrl = (await link.getAttribute('href')) ?? '';
    expect(sensitiveUrl).toMatch(/^\/results\//);
  });

  await test.step('the parent opens her record: the confidential result is nowhere', async () => {
    await signIn(page, 'kim.fakeworth', DEMO_PASSWORD);
    await openRecordOf(page, TEEN.fullName);
    await expect(page.getByText(TEEN.sensitive)).toHaveCount(0);
    await nav(page).getByRole('link', { name: 'Test results', exact: true }).click();
    await settle(page);
    await expect(page.getByRole('link', { name: TEEN.normal, exact: true })).toBeVisible();
    await expect(page.getByText(TEEN.sensitive)).toHaveCount(0);
    await checkA11y(page, 'results of a teenager, as her parent');
    await page.goto(sensitiveUrl);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not found');
    expect(await page.content()).not.toContain(TEEN.sensitive);
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
  await teen.page.context().close();
});
