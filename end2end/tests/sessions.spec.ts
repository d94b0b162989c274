import {
  DARA,
  SIGNIN_URL,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  openSection,
  settle,
  submitSignIn,
  test,
  watchConsole,
} from './helpers';

test('signing out everywhere else ends the session in another browser', async ({ page, browser, consoleLog }) => {
  // A second browser (another device) signed in to the same account.
  const other = await browser.newContext();
  const phone = await other.newPage();
  const phoneLog = watchConsole(phone);
  await gotoSignIn(phone);
  await submitSignIn(phone, DARA.username, DARA.password);
  await expect(phone).toHaveURL(/\/home$/);

  await test.step('the account page lists both devices', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, DARA.username, DARA.password);
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await openSection(page, 'Account and security');
    await expect(page).toHaveURL(/\/account$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Account and security');
    const devices = page.getByRole('table');
    await expect(devices.getByRole('row').nth(2)).toBeVisible(); // header + at least two sessions
    await expect(devices.getByText('This device', { exact: true })).toHaveCount(1);
    await checkA11y(page, 'account and security');
  });

  await test.step('sign out everywhere else', async () => {
    await page.getByRole('button', { name: 'Sign out everywhere else', exact: true }).click();
    await expect(
      page.getByRole('status').filter({ hasText: 'All your other sessions have been signed out.' }),
    ).toBeVisible();
    await settle(page);
    await expect(page.getByRole('table').getByRole('row')).toHaveCount(2);
    await checkA11y(page, 'account after signing out elsewhere');
  });

  await test.step('the other browser is signed out on its next request', async () => {
    await phone.goto('/results');
    await expect(phone).toHaveURL(SIGNIN_URL);
    await expect(phone.getByText(DARA.fullName)).toHaveCount(0);
  });

  await test.step('this browser is still signed in', async () => {
    await page.goto('/results');
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Test results');
  });

  expectNoCspViolations(phoneLog);
  await other.close();
  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
