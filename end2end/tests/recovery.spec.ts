import {
  DEMO_STAFF_PASSWORD,
  RILEY,
  alertBox,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  latestMail,
  settle,
  submitSignIn,
  test,
} from './helpers';

const NEW_PASSWORD = 'Copper-Kettle-Winter-8812';

test('a forgotten password is reset through the emailed link, and a forgotten username is emailed', async ({
  page,
  consoleLog,
}) => {
  await test.step('ask for a reset link from the sign-in page', async () => {
    await gotoSignIn(page);
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await expect(page).toHaveURL(/\/forgot-password$/);
    await settle(page);
    await checkA11y(page, 'forgot password');
    await page.getByLabel('Username or email').fill(RILEY.username);
    await page.getByRole('button', { name: 'Email me a link' }).click();
    await expect(page.getByRole('status')).toContainText('If that name belongs to an account');
  });

  await test.step('the emailed link opens the reset page and keeps the token out of the address bar', async () => {
    const mail = await latestMail(RILEY.email, 'Reset your');
    const link = mail.text.match(/http:\/\/\S+\/reset-password#[A-Za-z0-9_-]+/)?.[0];
    expect(link, mail.text).toBeTruthy();
    await page.goto(link!);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Choose a new password');
    await expect(page.getByLabel('New password', { exact: true })).toBeVisible();
    expect(page.url()).not.toContain('#');
    await checkA11y(page, 'reset password');
    // The strength meter runs zxcvbn in the browser as the person types.
    const meter = page.locator('#new_password-strength');
    await page.getByLabel('New password', { exact: true }).fill('short one');
    await expect(meter).toHaveText('Too short: use at least 12 characters.');
    await page.getByLabel('New password', { exact: true }).fill('password1234');
    await expect(meter).toHaveText(/^(Very weak|Weak)/);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD);
    await expect(meter).toHaveText(/^(Good|Strong)/);
    await page.getByLabel('New password again').fill(NEW_PASSWORD);
    await page.getByRole('button', { name: 'Save the new password' }).click();
    await expect(page.getByRole('status')).toContainText('Your password is changed');
    const notice = await latestMail(RILEY.email, 'password was reset');
    expect(notice.text).toContain('every device was signed out');
  });

  await test.step('the link works once', async () => {
    const mail = await latestMail(RILEY.email, 'Reset your');
    const link = mail.text.match(/http:\/\/\S+\/reset-password#[A-Za-z0-9_-]+/)![0];
    await page.goto('/signin');
    await page.goto(link);
    await settle(page);
    await expect(page.getByRole('alert')).toContainText('expired or was already used');
  });

  await test.step('the old password no longer works; the new one leads to the second-step set-up', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, RILEY.username, DEMO_STAFF_PASSWORD);
    await expect(alertBox(page)).toContainText('not right');
    await submitSignIn(page, RILEY.username, NEW_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/setup$/);
  });

  await test.step('a forgotten username is emailed to the account address', async () => {
    await gotoSignIn(page);
    await page.getByRole('link', { name: 'Forgot your username?' }).click();
    await settle(page);
    await checkA11y(page, 'forgot username');
    await page.getByLabel('Email', { exact: true }).fill(RILEY.email);
    await page.getByRole('button', { name: 'Email my username' }).click();
    await expect(page.getByRole('status')).toContainText('If that address belongs to an account');
    const mail = await latestMail(RILEY.email, 'username');
    expect(mail.text).toContain(RILEY.username);
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
