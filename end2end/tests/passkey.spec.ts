import {
  authenticator,
  DEMO_STAFF_PASSWORD,
  SAM,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  openSection,
  settle,
  signOut,
  submitSignIn,
  test,
} from './helpers';

test('an admin adds a passkey, then signs in with it alone and as the second step', async ({ page, consoleLog }) => {
  // A platform authenticator with user verification, as on a phone, through Chromium's
  // WebAuthn domain.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport: 'internal',
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });

  await test.step('first sign-in: set up the authenticator app staff must have', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, SAM.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/setup$/);
    await settle(page);
    const key = (await page.getByTestId('totp-key').innerText()).trim();
    const totp = authenticator(key);
    await page.getByLabel('6-digit code from the app').fill(totp.generate());
    await page.getByRole('button', { name: 'Turn on and sign in' }).click();
    await page.getByRole('link', { name: 'Continue to the portal' }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
  });

  await test.step('add a named passkey on the Account page', async () => {
    await openSection(page, 'Account and security');
    await expect(page).toHaveURL(/\/account$/);
    await settle(page);
    await page.getByLabel('Name for a new passkey').fill('Work laptop');
    await page.getByRole('button', { name: 'Add a passkey' }).click();
    await expect(page.getByText('Work laptop', { exact: true })).toBeVisible();
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
    expect(credentials).toHaveLength(1);
    expect(credentials[0].isResidentCredential).toBe(true);
    await checkA11y(page, 'account with a passkey');
  });

  await test.step('after the password, the passkey is the second step', async () => {
    // No automatic touch while on the sign-in page, so the username field's passkey
    // autofill (conditional mediation) waits, as it does for a person who types instead.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    await signOut(page);
    await submitSignIn(page, SAM.username, DEMO_STAFF_PASSWORD);
    await expect(page).toHaveURL(/\/signin\/verify$/);
    await settle(page);
    await checkA11y(page, 'second step with a passkey');
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    await page.getByRole('button', { name: 'Use your passkey' }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
  });

  await test.step('the username field offers the passkey, which signs in alone', async () => {
    // With the authenticator answering at once, the autofill request on the sign-in page
    // completes by itself: no username, no password.
    await page.getByRole('button', { name: 'Sign out', exact: true }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('banner')).toContainText(SAM.fullName);
  });

  await test.step('"Sign in with a passkey" signs in without a username or password', async () => {
    // The autofill request starts without a touch and stays pending; turning the touch back
    // on does not complete a request already waiting, so only the button's new one succeeds.
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: false });
    await signOut(page);
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: true });
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('banner')).toContainText(SAM.fullName);
  });

  await test.step('the passkey shows when it was last used', async () => {
    await settle(page);
    await openSection(page, 'Account and security');
    await settle(page);
    await expect(page.getByRole('listitem').filter({ hasText: 'Work laptop' })).toContainText('last used');
  });

  expectNoCspViolations(consoleLog);
  expectNoPageErrors(consoleLog);
});
