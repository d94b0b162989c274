import {
  DARA,
  SIGNIN_URL,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  settle,
  submitSignIn,
  test,
} from './helpers';

// The browser's clock is moved forward; the session's real age stays small, so only the
// page's own idle timer (15 minutes, warning one minute before) is being tested here.
test('an idle page warns a minute before signing out, and signs out when ignored', async ({ page, consoleLog }) => {
  await page.clock.install();
  await gotoSignIn(page);
  await submitSignIn(page, DARA.username, DARA.password);
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
  const dialog = page.getByRole('alertdialog', { name: 'Are you still there?' });
  await expect(dialog).toHaveCount(0);

  await test.step('after 14 minutes: the warning', async () => {
    await page.clock.fastForward('14:05');
    await expect(dialog).toBeVisible();
    await expect(dialog).toContainText('you will be signed out in');
    await expect(dialog.getByRole('button', { name: 'Stay signed in' })).toBeFocused();
    await checkA11y(page, 'idle warning');
  });

  await test.step('"Stay signed in" keeps the session', async () => {
    await dialog.getByRole('button', { name: 'Stay signed in' }).click();
    await expect(dialog).toHaveCount(0);
    await page.clock.fastForward('10:00');
    await expect(dialog).toHaveCount(0);
  });

  await test.step('ignored: signed out', async () => {
    await page.clock.fastForward('06:00');
    await expect(page).toHaveURL(SIGNIN_URL);
    await expect(page.getByRole('status')).toContainText('not used for a while');
    await expect(page.getByText(DARA.fullName)).toHaveCount(0);
    // The server agrees: the results need a new sign-in.
    await page.goto('/results');
    await expect(page).toHaveURL(SIGNIN_URL);
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
