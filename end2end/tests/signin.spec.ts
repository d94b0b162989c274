import type { Page } from '@playwright/test';
import {
  DARA,
  MSG,
  SIGNIN_URL,
  alertBox,
  checkA11y,
  expect,
  expectBackShowsNoPhi,
  expectNoCspViolations,
  expectNoPageErrors,
  expectResultDetail,
  expectResultsTables,
  expectSignedInShell,
  flagOfRow,
  gotoSignIn,
  missingResultPath,
  openSection,
  settle,
  signOut,
  submitSignIn,
  test,
} from './helpers';

/**
 * Dara signs in, reads her test results and one result, meets an unbuilt section and a
 * missing result, then signs out; the back button must not bring her results back.
 */
async function signInReadResultsSignOut(page: Page): Promise<void> {
  await test.step('sign in', async () => {
    await gotoSignIn(page);
    await expect(page.getByRole('link', { name: 'Activate your account', exact: true })).toBeVisible();
    await checkA11y(page, 'sign in');
    await submitSignIn(page, DARA.username, DARA.password);
    await expect(page).toHaveURL(/\/home$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(`Welcome, ${DARA.firstName}`);
    await expectSignedInShell(page, DARA.fullName);
    await checkA11y(page, 'home');
  });

  await test.step('test results', async () => {
    await openSection(page, 'Test results');
    await expect(page).toHaveURL(/\/results$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Test results');
    await expect(page.getByRole('heading', { level: 2, name: DARA.collectionDate, exact: true })).toBeVisible();
    await expect(page.getByRole('heading', { level: 3, name: DARA.a1c, exact: true }).first()).toBeVisible();
    await expectResultsTables(page);
    await expect(page.getByRole('link', { name: DARA.sodium, exact: true })).toBeVisible();
    await checkA11y(page, 'test results');
  });

  const detailUrl = await test.step('one result', async () => {
    const flag = await flagOfRow(page, DARA.sodium);
    await page.getByRole('link', { name: DARA.sodium, exact: true }).click();
    await settle(page);
    await expectResultDetail(page, DARA.sodium, flag);
    await expectSignedInShell(page, DARA.fullName);
    await checkA11y(page, 'result detail');
    return page.url();
  });

  await test.step('a result that does not exist', async () => {
    await page.goto(missingResultPath(detailUrl));
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Not found');
    await checkA11y(page, 'result not found');
  });

  await test.step('the proxy access page', async () => {
    await openSection(page, 'Proxy access');
    await expect(page).toHaveURL(/\/proxy$/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('Proxy access');
    await expect(page.getByRole('heading', { level: 2, name: 'Who can see your record' })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2, name: 'Invite a caregiver' })).toBeVisible();
    await checkA11y(page, 'proxy access');
  });

  await test.step('sign out; back shows no health information', async () => {
    await page.goto(detailUrl);
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(DARA.sodium);
    await signOut(page);
    await checkA11y(page, 'signed out');
    await expectBackShowsNoPhi(page, [DARA.fullName, DARA.sodium, DARA.a1c]);
    await checkA11y(page, 'sign in after back');
  });
}

test.describe('sign in', () => {
  test('with JavaScript: sign in, read results and one result, sign out', async ({ page, consoleLog }) => {
    // The staff console's pages are wasm chunks of their own: a patient never fetches them.
    const wasm: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('.wasm')) wasm.push(new URL(r.url()).pathname);
    });
    await signInReadResultsSignOut(page);
    // One main module, named after its content (each full page load asks for it again; the
    // cache answers).
    const main = wasm.filter((w) => /^\/pkg\/mhc\.[\w-]{22}\.wasm$/.test(w));
    expect(main.length).toBeGreaterThan(0);
    expect(new Set(main).size).toBe(1);
    expect(wasm.filter((w) => w.includes('_route_view_'))).toEqual([]);
    expectNoCspViolations(consoleLog);
    expectNoPageErrors(consoleLog);
  });

  test.describe('without JavaScript', () => {
    test.use({ javaScriptEnabled: false });

    test('sign in, read results and one result, sign out', async ({ page, consoleLog }) => {
      await signInReadResultsSignOut(page);
      expectNoCspViolations(consoleLog);
    });
  });

  test('a wrong password and an unknown account get the same message', async ({ page, consoleLog }) => {
    const messages: string[] = [];
    const tries: [string, string][] = [
      [DARA.username, 'Not-The-Right-Password-7'],
      ['no.such.person', 'Not-The-Right-Password-7'],
      ['nobody.here@example.org', 'Not-The-Right-Password-7'],
    ];
    for (const [login, password] of tries) {
      await test.step(`sign in as "${login}" with a wrong password`, async () => {
        await gotoSignIn(page);
        await submitSignIn(page, login, password);
        const alert = alertBox(page);
        await expect(alert).toHaveText(MSG.badCredentials);
        await expect(page).toHaveURL(SIGNIN_URL);
        await expect(page.getByRole('navigation', { name: 'Portal sections' })).toHaveCount(0);
        messages.push((await alert.innerText()).trim());
        await checkA11y(page, `sign in refused (${login})`);
      });
    }
    expect(new Set(messages).size, `the messages differ: ${JSON.stringify(messages)}`).toBe(1);
    expect(messages[0]).toBe(MSG.badCredentials);
    expectNoCspViolations(consoleLog);
  });

  test('signed-out visitors are sent to the sign-in page', async ({ page, consoleLog }) => {
    for (const path of ['/results', '/home', '/messages']) {
      await test.step(`open ${path} signed out`, async () => {
        await page.goto(path);
        await settle(page);
        await expect(page).toHaveURL(SIGNIN_URL);
        await expect(page.getByRole('heading', { level: 1, name: 'Sign in', exact: true })).toBeVisible();
        await expect(page.getByRole('table')).toHaveCount(0);
        await expect(page.getByText(DARA.fullName)).toHaveCount(0);
        await checkA11y(page, `sign in (redirected from ${path})`);
      });
    }
    expectNoCspViolations(consoleLog);
  });
});
