import type { Browser, Page } from '@playwright/test';
import {
  DARA,
  alertBox,
  authenticator,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  hydrated,
  latestMail,
  mhc,
  settle,
  submitSignIn,
  test,
  watchConsole,
} from './helpers';

// Two people at once: the patient in one browser context, clinic staff in another. The
// clinic staff here are accounts of this spec's own (made with `mhc staff create`), so what
// other specs do to the demo staff does not matter.

const STAFF_PASSWORD = 'Granite-Orchard-Lantern-77';
const CLINICIAN = {
  username: 'casey.clinician',
  email: 'casey.clinician@riverside.example.org',
  name: 'Dr Casey Ortega',
};
const DESK = { username: 'jordan.desk', email: 'jordan.desk@riverside.example.org' };

function createStaff(username: string, email: string, first: string, last: string, role: string) {
  mhc(
    ['staff', 'create', '--username', username, '--email', email, '--first-name', first, '--last-name', last, '--role', role],
    `${STAFF_PASSWORD}\n`,
  );
}

test.beforeAll(() => {
  createStaff(CLINICIAN.username, CLINICIAN.email, 'Casey', 'Ortega', 'clinician');
  createStaff(DESK.username, DESK.email, 'Jordan', 'Reyes', 'front_desk');
});

async function newPage(browser: Browser): Promise<{ page: Page; log: string[] }> {
  const context = await browser.newContext({ baseURL: 'http://localhost:3000' });
  const page = await context.newPage();
  return { page, log: watchConsole(page) };
}

async function signInPatient(page: Page): Promise<void> {
  await gotoSignIn(page);
  await submitSignIn(page, DARA.username, DARA.password);
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
}

/** Staff always need a second step: a fresh authenticator app for this test. */
async function signInStaff(page: Page, who: { username: string }): Promise<void> {
  mhc(['account', 'reset-factors', who.username]);
  await gotoSignIn(page);
  await submitSignIn(page, who.username, STAFF_PASSWORD);
  await expect(page).toHaveURL(/\/signin\/setup$/);
  await settle(page);
  const key = (await page.getByTestId('totp-key').innerText()).trim();
  await page.getByLabel('6-digit code from the app').fill(authenticator(key).generate());
  await page.getByRole('button', { name: 'Turn on and sign in' }).click();
  await page.getByRole('link', { name: 'Continue to the portal' }).click();
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
  await page.getByRole('link', { name: 'Open the staff console' }).click();
  await expect(page).toHaveURL(/\/staff$/);
  await settle(page);
}

/** A Wednesday 7 to 13 days from now (the clinic sees follow-ups on Wednesday mornings), as YYYY-MM-DD. */
function wednesdayNextWeek(): string {
  const d = new Date(Date.now() + 7 * 86_400_000);
  while (d.getUTCDay() !== 3) d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}


test('a patient message reaches the team inbox, the clinician replies and the patient reads the reply', async ({
  browser,
  consoleLog,
  page,
}) => {
  const patient = page;
  const staff = await newPage(browser);
  const subject = `Dizzy in the mornings ${Date.now()}`;

  await test.step('the patient writes to the care team, with the non-urgent banner and response time shown', async () => {
    await signInPatient(patient);
    await patient.getByRole('navigation', { name: 'Portal sections' }).getByRole('link', { name: /^Messages/ }).click();
    await expect(patient).toHaveURL(/\/messages$/);
    await settle(patient);
    await expect(patient.getByRole('note')).toContainText('In an emergency, call 911');
    await expect(patient.getByRole('note')).toContainText('within 2 business days');
    await hydrated(patient);
    await checkA11y(patient, 'messages');
    await patient.getByLabel('What is it about?').selectOption({ label: 'A medical question' });
    await patient.getByLabel('Subject').fill(subject);
    await patient.getByRole('textbox', { name: 'Message', exact: true }).fill('I feel dizzy when I stand up. See https://example.org/dizzy for what I read.');
    await patient.getByLabel('Attachments (optional)').setInputFiles({
      name: 'readings.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n% blood pressure readings\n'),
    });
    await patient.getByRole('button', { name: 'Send message' }).click();
    await expect(patient).toHaveURL(/\/messages\/[0-9a-f-]+\?sent=1$/);
    await settle(patient);
    await expect(patient.getByRole('status')).toContainText('Your message was sent.');
    await expect(patient.getByRole('link', { name: 'https://example.org/dizzy' })).toHaveAttribute('rel', /noopener/);
    await expect(patient.getByRole('link', { name: /readings\.pdf/ })).toBeVisible();
    await checkA11y(patient, 'message thread');
  });

  await test.step('an attachment that is not a PDF, JPEG or PNG is refused with what to fix', async () => {
    await patient.getByRole('textbox', { name: 'Message', exact: true }).fill('And this file.');
    await patient.getByLabel('Attachments (optional)').setInputFiles({
      name: 'notes.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('<script>alert(1)</script>'),
    });
    await patient.getByRole('button', { name: 'Send reply' }).click();
    await expect(patient.getByRole('alert')).toContainText('not a PDF, JPEG or PNG');
    await patient.goBack();
    await settle(patient);
  });

  await test.step('the clinician is told by email and finds the thread in the unassigned inbox', async () => {
    const mail = await latestMail(CLINICIAN.email, 'patient message is waiting');
    expect(mail.text).not.toContain('dizzy');
    expect(mail.text).not.toContain('Dara');
    await signInStaff(staff.page, CLINICIAN);
    await checkA11y(staff.page, 'staff console home');
    await expect(staff.page.getByRole('main')).toContainText('unassigned');
    await staff.page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Team inbox' }).click();
    await settle(staff.page);
    await checkA11y(staff.page, 'team inbox');
    await staff.page.getByRole('link', { name: `${subject} (unread)` }).click();
    await settle(staff.page);
    await expect(staff.page.getByRole('main')).toContainText('Dara Dummett');
    await expect(staff.page.getByRole('main')).toContainText('I feel dizzy when I stand up.');
    await checkA11y(staff.page, 'staff thread');
    await staff.page.getByRole('textbox', { name: 'Message', exact: true }).fill('Stand up slowly and drink water. If you faint, call 911.');
    await staff.page.getByRole('button', { name: 'Send reply' }).click();
    await expect(staff.page).toHaveURL(/\/staff\/messages\/[0-9a-f-]+\?sent=1$/);
    await settle(staff.page);
    await expect(staff.page.getByRole('main')).toContainText(`assigned to ${CLINICIAN.name}`);
  });

  await test.step('the patient sees an unread count, then the reply', async () => {
    const notice = await latestMail(DARA.email, 'new message');
    expect(notice.text).not.toContain('water');
    await patient.goto('/home');
    await settle(patient);
    const nav = patient.getByRole('navigation', { name: 'Portal sections' });
    await expect(nav.getByRole('link', { name: /Messages \(1 unread\)/ })).toBeVisible();
    await expect(patient.getByRole('main')).toContainText('1 conversation has a new reply.');
    await nav.getByRole('link', { name: /^Messages/ }).click();
    await settle(patient);
    await patient.getByRole('link', { name: `${subject} (unread)` }).click();
    await settle(patient);
    await expect(patient.getByRole('main')).toContainText('Stand up slowly and drink water.');
    await expect(patient.getByRole('main')).toContainText(CLINICIAN.name);
  });

  expectNoPageErrors(consoleLog);
  expectNoPageErrors(staff.log);
  expectNoCspViolations(staff.log);
  await staff.page.context().close();
});

test('a patient books a slot, the front desk sees it on the schedule, and the patient cancels it', async ({
  browser,
  consoleLog,
  page,
}) => {
  const patient = page;
  const desk = await newPage(browser);
  const day = wednesdayNextWeek();

  await test.step('the patient books the first open follow-up of that day', async () => {
    await signInPatient(patient);
    await patient.goto(`/appointments`);
    await settle(patient);
    await checkA11y(patient, 'appointments');
    await patient.getByLabel('Kind of visit').first().selectOption({ label: 'Follow-up visit (20 minutes)' });
    await patient.getByLabel('From').fill(day);
    await patient.getByRole('button', { name: 'Show open times' }).click();
    await expect(patient).toHaveURL(/type=.*from=/);
    await settle(patient);
    const first = patient.getByRole('radio').first();
    await expect(patient.getByRole('group', { name: 'Choose a time' })).toContainText('09:00');
    await hydrated(patient);
    await checkA11y(patient, 'open times');
    await first.check();
    await patient.getByLabel('Reason for the visit (optional)').fill('Blood pressure check');
    await patient.getByRole('button', { name: 'Book this time' }).click();
    await expect(patient.getByRole('status').filter({ hasText: 'Your appointment is booked.' })).toBeVisible();
    const upcoming = patient.getByRole('region', { name: 'Upcoming visits' });
    await expect(upcoming).toContainText('09:00');
    await expect(upcoming).toContainText('Follow-up visit with Dr Fen Mocklin');
    await expect(upcoming).toContainText('Before your visit:');
    await expect(upcoming.getByRole('link', { name: 'Add to calendar (.ics)' })).toBeVisible();
  });

  await test.step('the front desk sees the visit on that day', async () => {
    await signInStaff(desk.page, DESK);
    await desk.page.goto(`/staff/schedule?day=${day}`);
    await settle(desk.page);
    await checkA11y(desk.page, 'schedule');
    await expect(desk.page.getByRole('region', { name: /Wednesday/ })).toContainText('Dara Dummett, Follow-up visit with Dr Fen Mocklin (Booked)');
    await desk.page.goto('/staff/patients');
    await settle(desk.page);
    await desk.page.getByLabel('Name, MRN or date of birth').fill('Dummett');
    await desk.page.getByRole('button', { name: 'Search' }).click();
    await expect(desk.page.getByRole('main')).toContainText('MRN BC909B9D');
    expect(desk.page.url()).not.toContain('Dummett');
    await checkA11y(desk.page, 'patients');
    // A child under 12 is registered without an activation letter: a guardian's access covers them.
    const born = new Date(Date.now() - 5 * 365 * 86_400_000).toISOString().slice(0, 10);
    const register = desk.page.getByRole('region', { name: 'Register a new patient' });
    await register.getByLabel('First name').fill('Ash');
    await register.getByLabel('Last name').fill('Younger');
    await register.getByLabel('Date of birth').fill(born);
    await register.getByLabel('MRN (from the record system)').fill(`KID-${Date.now() % 100_000_000}`);
    await register.getByRole('button', { name: 'Register and issue the activation letter' }).click();
    await expect(register.getByRole('status')).toContainText('Ash Younger is registered');
    await expect(register.getByRole('status')).toContainText('Children under 12 do not get a portal account');
    await expect(register).not.toContainText('activation code:');
  });

  await test.step('the patient cancels, and the front desk sees it cancelled', async () => {
    await patient.getByRole('button', { name: 'Cancel this visit' }).click();
    await expect(patient.getByRole('status').filter({ hasText: 'Your appointment is cancelled.' })).toBeVisible();
    await expect(patient.getByRole('region', { name: 'Upcoming visits' })).toContainText('No upcoming visits.');
    await desk.page.goto(`/staff/schedule?day=${day}`);
    await settle(desk.page);
    await expect(desk.page.getByRole('main')).toContainText('Dara Dummett, Follow-up visit with Dr Fen Mocklin (Cancelled)');
  });

  await test.step('a front-desk user cannot approve a refill: the backend refuses the call', async () => {
    const res = await desk.page.request.post('/api/staff/approve', {
      form: { id: 'any', quantity: '30' },
      headers: { Origin: 'http://localhost:3000' },
    });
    expect(res.status()).toBe(403);
  });

  expectNoPageErrors(consoleLog);
  expectNoPageErrors(desk.log);
  expectNoCspViolations(desk.log);
  await desk.page.context().close();
});

test('a patient asks for a refill, the clinician denies it with a reason, and the patient reads the reason', async ({
  browser,
  consoleLog,
  page,
}) => {
  const patient = page;
  const clinician = await newPage(browser);
  const reason = 'Your kidney tests are due first: please book a follow-up visit.';

  await test.step('the patient requests a refill of an active medication', async () => {
    await signInPatient(patient);
    await patient.goto('/medications');
    await settle(patient);
    await hydrated(patient);
    await checkA11y(patient, 'medications with refills');
    expectNoPageErrors(consoleLog);
    await patient.getByLabel('Pharmacy').selectOption({ index: 1 });
    await patient.getByLabel('Note for your care team (optional)').fill('Three days of tablets left');
    await patient.getByRole('button', { name: 'Request a refill' }).click();
    await expect(patient.getByRole('status').filter({ hasText: 'Your refill request went to your care team.' })).toBeVisible();
    await expect(patient.getByRole('region', { name: 'Request a refill' })).toContainText('Requested');
    expectNoPageErrors(consoleLog);
  });

  await test.step('a second request for the same medication is refused with a clear message', async () => {
    await patient.getByRole('button', { name: 'Request a refill' }).click();
    await expect(alertBox(patient)).toContainText('is already requested and open');
    expectNoPageErrors(consoleLog);
  });

  await test.step('the clinician denies it with a reason', async () => {
    await signInStaff(clinician.page, CLINICIAN);
    await clinician.page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Refill queue' }).click();
    await settle(clinician.page);
    await hydrated(clinician.page);
    await checkA11y(clinician.page, 'refill queue');
    const card = clinician.page.getByRole('article').filter({ hasText: 'Dara Dummett' }).first();
    await expect(card).toContainText('Three days of tablets left');
    await card.getByLabel('Reason the patient will read').fill(reason);
    await card.getByRole('button', { name: 'Deny' }).click();
    // The demo clinic has other requests waiting; Dara's is gone from the queue.
    await expect(clinician.page.getByRole('article').filter({ hasText: 'Three days of tablets left' })).toHaveCount(0);
    // Opened by its address, the page's own wasm chunk is fetched before it hydrates.
    const chunk = clinician.page.waitForRequest((r) => /results_review_route_view_.*\.wasm$/.test(r.url()));
    await clinician.page.goto('/staff/results');
    await chunk;
    await settle(clinician.page);
    await hydrated(clinician.page);
    await expect(clinician.page.getByRole('heading', { level: 1 })).toHaveText('Results to review');
    await checkA11y(clinician.page, 'results to review');
    // One of Dara's results marked confidential by hand, then back to none, which is what it
    // was (the demo's other tests see it as it was).
    const row = clinician.page.locator('ul.results-review li').filter({ hasText: 'Dara Dummett' }).first();
    await row.getByLabel("Confidential from a teen's parents").selectOption('mental-health');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect(clinician.page.getByText('Marked confidential (Mental health)')).toBeVisible();
    await expect(row.getByLabel("Confidential from a teen's parents")).toHaveValue('mental-health');
    await row.getByLabel("Confidential from a teen's parents").selectOption('');
    await row.getByRole('button', { name: 'Save' }).click();
    await expect(clinician.page.getByText('Marked as not sensitive.')).toBeVisible();
    await expect(clinician.page.getByRole('heading', { name: 'Reports and visit notes' })).toBeVisible();
  });

  await test.step('the patient is emailed and sees the reason', async () => {
    const mail = await latestMail(DARA.email, 'refill request was answered');
    expect(mail.text).not.toContain('kidney');
    await patient.goto('/home');
    await settle(patient);
    await expect(patient.getByRole('main')).toContainText('Denied');
    expectNoPageErrors(consoleLog);
    await checkA11y(patient, 'home with care cards');
    await patient.goto('/medications');
    await settle(patient);
    await expect(patient.getByRole('region', { name: 'Request a refill' })).toContainText(`Denied: ${reason}`);
  });

  expectNoPageErrors(consoleLog);
  expectNoPageErrors(clinician.log);
  expectNoCspViolations(clinician.log);
  await clinician.page.context().close();
});
