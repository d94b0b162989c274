// Runs last (files run in name order): it locks Dara's account, then unlocks it.
import {
  DARA,
  MSG,
  alertBox,
  checkA11y,
  expect,
  expectNoCspViolations,
  expectSignedInShell,
  gotoSignIn,
  mhc,
  settle,
  signOut,
  submitSignIn,
  test,
} from './helpers';

/** At most this many failures answered "not right" or "locked" before the lock shows. */
const MAX_COUNTED_FAILURES = 10;
/** Upper bound on submissions, waits included, so the loop always ends. */
const MAX_SUBMISSIONS = 40;

test('ten failed sign-ins lock the account until the clinic unlocks it', async ({ page, consoleLog }) => {
  // The escalating waits add up to about 1+2+4+8+16+30+30 seconds at most.
  test.setTimeout(180_000);

  const answered = /not right|Too many/;
  /** Submits one sign-in on a fresh sign-in page and returns the alert's text. */
  async function attempt(password: string): Promise<string> {
    await gotoSignIn(page);
    await expect(alertBox(page)).toHaveCount(0);
    await submitSignIn(page, DARA.username, password);
    const alert = alertBox(page).filter({ hasText: answered });
    await expect(alert).toBeVisible();
    return (await alert.innerText()).trim();
  }

  let counted = 0;
  let waits = 0;
  let lockedAfter = 0;
  const history: string[] = [];
  let checkedWaitPage = false;
  let checkedErrorPage = false;

  await test.step('wrong passwords until the account locks', async () => {
    for (let n = 0; n < MAX_SUBMISSIONS && lockedAfter === 0; n++) {
      const text = await attempt(`Wrong-Password-${n}`);
      history.push(text);
      const wait = text.match(MSG.waitPattern);
      if (wait) {
        waits++;
        if (!checkedWaitPage) {
          await checkA11y(page, 'sign in: wait before trying again');
          checkedWaitPage = true;
        }
        const seconds = Number(wait[1]);
        expect(seconds, `unexpected wait: ${text}`).toBeLessThanOrEqual(60);
        await page.waitForTimeout(seconds * 1000 + 500);
        continue;
      }
      if (text === MSG.badCredentials) {
        counted++;
        if (!checkedErrorPage) {
          await checkA11y(page, 'sign in: wrong password');
          checkedErrorPage = true;
        }
      } else if (text === MSG.locked) {
        counted++;
        lockedAfter = counted;
      } else {
        throw new Error(`unexpected sign-in message: "${text}"`);
      }
      expect(
        counted,
        `no lock after ${counted} failures; messages so far:\n${history.join('\n')}`,
      ).toBeLessThanOrEqual(MAX_COUNTED_FAILURES);
    }
    expect(lockedAfter, `the account never locked; messages:\n${history.join('\n')}`).toBeGreaterThan(0);
    expect(lockedAfter).toBeLessThanOrEqual(MAX_COUNTED_FAILURES);
    await expect(alertBox(page)).toHaveText(MSG.locked);
    await expect(page.getByRole('navigation', { name: 'Portal sections' })).toHaveCount(0);
    await checkA11y(page, 'sign in: account locked');
    test.info().annotations.push({
      type: 'lockout',
      description: `locked after ${lockedAfter} counted failures and ${waits} waits`,
    });
  });

  await test.step('the right password is refused while locked', async () => {
    // A wait may still be running from the last failures: honour it, then expect the lock.
    let text = '';
    for (let n = 0; n < 5; n++) {
      text = await attempt(DARA.password);
      const wait = text.match(MSG.waitPattern);
      if (!wait) break;
      await page.waitForTimeout(Number(wait[1]) * 1000 + 500);
    }
    expect(text).toBe(MSG.locked);
    await expect(page).not.toHaveURL(/\/home$/);
    await expect(page.getByRole('navigation', { name: 'Portal sections' })).toHaveCount(0);
  });

  await test.step('the clinic unlocks the account', async () => {
    const out = mhc(['account', 'unlock', DARA.username]);
    expect(out).toContain('unlocked');
  });

  await test.step('the right password signs in again', async () => {
    await gotoSignIn(page);
    await submitSignIn(page, DARA.username, DARA.password);
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${DARA.firstName}`);
    await expectSignedInShell(page, DARA.fullName);
    await checkA11y(page, 'home after unlock');
    await signOut(page);
  });

  expectNoCspViolations(consoleLog);
});
