import {
  DARA,
  EMET,
  MSG,
  alertBox,
  checkA11y,
  clearMail,
  expect,
  expectBackShowsNoPhi,
  expectNoCspViolations,
  expectNoPageErrors,
  expectResultDetail,
  expectResultsTables,
  expectSignedInShell,
  flagOfRow,
  gotoSignIn,
  issueActivationCode,
  latestMail,
  openSection,
  settle,
  signOut,
  submitSignIn,
  test,
  watchConsole,
} from './helpers';

// Emet's chosen sign-in details: the password shares nothing with the name or the username.
const NEW_USERNAME = 'emet.stubfield';
const NEW_EMAIL = 'emet.stubfield@example.org';
const NEW_PASSWORD = 'Quiet-Otter-Meadow-1964x';
const WEAK_PASSWORD = 'password1234';
const CONFIRM_SUBJECT = 'Confirm your email for My Health Connection';

test('a newcomer activates the account, reads a result and signs out', async ({ page, browser, consoleLog }) => {
  test.setTimeout(120_000);

  // One of Dara's results, to check later that Emet cannot open it.
  const darasResultPath = await test.step("find one of Dara's results", async () => {
    const context = await browser.newContext();
    const other = await context.newPage();
    const log = watchConsole(other);
    await gotoSignIn(other);
    await submitSignIn(other, DARA.username, DARA.password);
    await expect(other).toHaveURL(/\/home$/);
    await other.goto('/results');
    await settle(other);
    const link = other.getByRole('link', { name: DARA.sodium, exact: true });
    const href = await link.getAttribute('href');
    expect(href, `the link to "${DARA.sodium}" has no href`).toBeTruthy();
    await signOut(other);
    expectNoCspViolations(log);
    await context.close();
    return new URL(href!, 'http://localhost').pathname;
  });

  const code = await test.step('the clinic issues an activation code', async () => {
    const issued = issueActivationCode(EMET.mrn);
    expect(issued).toMatch(/^[A-Z0-9]+(-[A-Z0-9]+)+$/);
    return issued;
  });

  await test.step('step 1: details that do not match are refused', async () => {
    await gotoSignIn(page);
    await page.getByRole('link', { name: 'Activate your account', exact: true }).click();
    await expect(page).toHaveURL(/\/activate$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Activate your account');
    await checkA11y(page, 'activate: your details');

    await page.getByLabel('First name', { exact: true }).fill(EMET.firstName);
    await page.getByLabel('Last name', { exact: true }).fill(EMET.lastName);
    await page.getByLabel('Date of birth', { exact: true }).fill('1964-06-14');
    await page.getByLabel('Activation code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await expect(alertBox(page)).toHaveText(MSG.activationMismatch);
    await expect(page).toHaveURL(/\/activate$/);
    await checkA11y(page, 'activate: details refused');
  });

  await test.step('step 1: the right details', async () => {
    await page.getByLabel('First name', { exact: true }).fill(EMET.firstName);
    await page.getByLabel('Last name', { exact: true }).fill(EMET.lastName);
    await page.getByLabel('Date of birth', { exact: true }).fill(EMET.dateOfBirth);
    await page.getByLabel('Activation code', { exact: true }).fill(code);
    await page.getByRole('button', { name: 'Continue', exact: true }).click();
    await expect(page).toHaveURL(/\/activate\/account$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose your sign-in details');
    await checkA11y(page, 'activate: sign-in details');
  });

  await test.step('step 2: a common password is refused', async () => {
    await page.getByLabel('Username', { exact: true }).fill(NEW_USERNAME);
    await page.getByLabel('Email', { exact: true }).fill(NEW_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(WEAK_PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(WEAK_PASSWORD);
    await page.getByRole('button', { name: 'Create account', exact: true }).click();
    await expect(alertBox(page)).toContainText('too common');
    await expect(page).toHaveURL(/\/activate\/account$/);
    await checkA11y(page, 'activate: password refused');
  });

  await test.step('step 2: a good password', async () => {
    await clearMail();
    await page.getByLabel('Username', { exact: true }).fill(NEW_USERNAME);
    await page.getByLabel('Email', { exact: true }).fill(NEW_EMAIL);
    await page.getByLabel('Password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByLabel('Confirm password', { exact: true }).fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Create account', exact: true }).click();
    await expect(page).toHaveURL(/\/activate\/confirm$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Confirm your email');
    await checkA11y(page, 'activate: confirm email');
  });

  await test.step('step 3: confirm with the emailed code', async () => {
    const mail = await latestMail(NEW_EMAIL, CONFIRM_SUBJECT);
    expect(mail.subject).toBe(CONFIRM_SUBJECT);
    const match = mail.text.match(/Your confirmation code is (\d{6})\b/);
    expect(match, `no confirmation code in the email:\n${mail.text}`).toBeTruthy();
    expect(mail.text, 'the email must not carry the password').not.toContain(NEW_PASSWORD);
    await page.getByLabel('Confirmation code', { exact: true }).fill(match![1]);
    await page.getByRole('button', { name: 'Confirm', exact: true }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${EMET.firstName}`);
    await expectSignedInShell(page, EMET.fullName);
    await checkA11y(page, 'home (new account)');
  });

  const result = await test.step('test results and one result', async () => {
    await openSection(page, 'Test results');
    await expect(page).toHaveURL(/\/results$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Test results');
    await expectResultsTables(page);
    await expect(page.getByText(DARA.fullName)).toHaveCount(0);
    await checkA11y(page, 'test results (new account)');

    const link = page.getByRole('table').first().getByRole('link').first();
    const name = (await link.innerText()).trim();
    const flag = await flagOfRow(page, name);
    await link.click();
    await settle(page);
    await expectResultDetail(page, name, flag);
    await checkA11y(page, 'result detail (new account)');
    return { name, url: page.url() };
  });

  await test.step("Dara's result is not found for Emet", async () => {
    await page.goto(darasResultPath);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not found');
    expect(await page.content()).not.toContain(DARA.fullName);
    await checkA11y(page, "another patient's result");
  });

  await test.step('sign out; back shows no health information', async () => {
    await page.goto(result.url);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(result.name);
    await signOut(page);
    await checkA11y(page, 'signed out');
    await expectBackShowsNoPhi(page, [EMET.fullName, result.name]);
  });

  await test.step('the new account signs in with its email address', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, NEW_EMAIL, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${EMET.firstName}`);
    await expectSignedInShell(page, EMET.fullName);
    await signOut(page);
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
