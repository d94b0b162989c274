import * as OTPAuth from 'otpauth';
import {
  DEMO_STAFF_PASSWORD,
  FEN,
  SIGNIN_URL,
  alertBox,
  authenticator,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  latestMail,
  mhc,
  openSection,
  settle,
  signOut,
  submitSignIn,
  test,
} from './helpers';

test('a clinician sets up an authenticator app at first sign-in, then signs in with its codes and with a backup code', async ({
  page,
  consoleLog,
}) => {
  let totp: OTPAuth.TOTP | undefined;
  let backupCodes: string[] = [];

  await test.step('staff without a second step are sent to set one up', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, FEN.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/setup$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Set up your second sign-in step');
    await expect(page.getByRole('img', { name: 'QR code for your authenticator app' })).toBeVisible();
    await checkA11y(page, 'second step set-up');
  });

  await test.step('a wrong code is refused with a message that says what to do', async () => {
    await page.getByLabel('6-digit code from the app').fill('12345');
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    await expect(alertBox(page)).toContainText('6-digit code');
  });

  await test.step('the code from the shown key turns the app on and shows ten backup codes', async () => {
    const key = (await page.getByTestId('totp-key').innerText()).trim();
    totp = authenticator(key);
    await page.getByLabel('6-digit code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    const codes = page.getByTestId('backup-codes').getByRole('listitem');
    await expect(codes).toHaveCount(10);
    backupCodes = await codes.allInnerTexts();
    await expect(page.getByRole('link', { name: 'Download as a text file' })).toHaveAttribute('download', 'backup-codes.txt');
    await checkA11y(page, 'backup codes');
    await page.getByRole('link', { name: 'Continue to the portal' }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('banner')).toContainText(FEN.fullName);
  });

  await test.step('the next sign-in asks for the app and takes its next code', async () => {
    await signOut(page);
    await submitSignIn(page, FEN.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/verify$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Confirm it is you');
    await checkA11y(page, 'second step');
    // The enrolment used this 30-second step's code; each code works once, so use the next.
    const next = totp!.generate({ timestamp: Date.now() + 30_000 });
    await page.getByLabel('6-digit code from your app').fill(next);
    await page.getByRole('button', { name: 'Verify' }).first().click();
    await expect(page).toHaveURL(/\/home$/);
  });

  await test.step('a backup code works once', async () => {
    await settle(page);
    await signOut(page);
    await submitSignIn(page, FEN.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/verify$/);
    await settle(page);
    await page.getByLabel('One of your backup codes').fill(backupCodes[0]);
    await page.getByRole('button', { name: 'Use backup code' }).click();
    await expect(page).toHaveURL(/\/home$/);
    const notice = await latestMail(FEN.email, 'backup code was used');
    expect(notice.text).toContain('9 left');
    await settle(page);
    await signOut(page);
    await submitSignIn(page, FEN.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/verify$/);
    await settle(page);
    await page.getByLabel('One of your backup codes').fill(backupCodes[0]);
    await page.getByRole('button', { name: 'Use backup code' }).click();
    await expect(alertBox(page)).toContainText('used already');
    await page.getByLabel('One of your backup codes').fill(backupCodes[1]);
    await page.getByRole('button', { name: 'Use backup code' }).click();
    await expect(page).toHaveURL(/\/home$/);
  });

  await test.step('the Activity page lists the sign-ins and the set-up', async () => {
    await settle(page);
    await openSection(page, 'Activity');
    await expect(page).toHaveURL(/\/activity$/);
    await settle(page);
    const table = page.getByRole('table');
    await expect(table.getByRole('rowheader', { name: 'Backup code used' }).first()).toBeVisible();
    await expect(table.getByRole('rowheader', { name: 'Sign-in method added' })).toHaveCount(1);
    await expect(table.getByRole('rowheader', { name: 'Wrong second-step code' }).first()).toBeVisible();
    await checkA11y(page, 'activity');
  });

  await test.step('the Account page shows the app and the backup codes left', async () => {
    await openSection(page, 'Account and security');
    await settle(page);
    await expect(page.getByText('Authenticator app', { exact: true })).toBeVisible();
    await expect(page.getByText('8 unused backup codes left.')).toBeVisible();
    await checkA11y(page, 'account with a second step');
  });

  await test.step('the clinic resets the second step from the command line; the next sign-in sets one up again', async () => {
    const out = mhc(['account', 'reset-factors', FEN.username]);
    expect(out).toContain(`removed 1 second sign-in steps and the backup codes of ${FEN.username}`);
    expect(mhc(['outbox'])).toContain('Your second sign-in step was reset');
    await page.goto('/home');
    await expect(page).toHaveURL(SIGNIN_URL);
    await settle(page);
    await submitSignIn(page, FEN.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/setup$/);
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
