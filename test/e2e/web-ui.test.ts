import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MockGateway } from '../../src/activities/gateways/mock';
import type { AegisPay } from '../../src/client/aegis-pay';
import type { DevServer } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  eventually,
  startTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  type RunningWorker,
} from '../helpers';
import { allHtml, ARTIFACTS, CHROMIUM, hasChromium, launchChromium } from '../helpers/browser';

if (!hasChromium) {
  console.warn(
    `Skipping the Web UI test: ${CHROMIUM} is missing (install it with: apt-get install -y chromium)`,
  );
}
const uiTest = hasChromium ? test : test.skip;

let server: DevServer;
let worker: RunningWorker;
let aegis: AegisPay;
let browser: Browser | undefined;

beforeAll(async () => {
  if (!hasChromium) return;
  server = await startTestServer({ uiPort: 0 });
  const taskQueue = testTaskQueue();
  worker = await startTestWorker(server, taskQueue, [new MockGateway()]);
  aegis = testClient(server, taskQueue);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await aegis?.close();
  await worker?.stop();
  await server?.stop();
});

/** Loads the page and reports whether every text shows up; visibility is eventually consistent, so callers retry. */
async function showsAll(page: Page, url: string, texts: string[]): Promise<boolean> {
  await page.goto(url);
  try {
    await Promise.all(
      texts.map((t) => page.getByText(t, { exact: true }).first().waitFor({ timeout: 5_000 })),
    );
    return true;
  } catch {
    return false;
  }
}

uiTest(
  'the Web UI lists payments by state, shows their summary and current details, and never the card number',
  async () => {
    const paid = await aegis.pay(cardPayment({ amount: 99.99 }));
    const paidToo = await aegis.pay(cardPayment({ amount: 12.5 }));
    const declined = await aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined }));
    const authorized = await aegis.pay(cardPayment({ captureMethod: 'manual' }));
    expect([paid.state, paidToo.state, declined.state, authorized.state]).toEqual([
      'SUCCESS',
      'SUCCESS',
      'FAILURE',
      'AUTHORIZED',
    ]);
    // The declined payment must be visible as FAILURE first, or its absence below would prove nothing.
    await eventually(async () =>
      (await aegis.listPayments({ state: 'FAILURE' })).payments.some((p) => p.id === declined.id),
    );

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1000 } });
    const query = encodeURIComponent('AegisPayState="SUCCESS"');
    const listUrl = `${server.uiUrl}/namespaces/${server.namespace}/workflows?query=${query}`;
    await eventually(() => showsAll(page, listUrl, [paid.id, paidToo.id]), 60_000);
    expect(await page.getByText(declined.id, { exact: true }).count()).toBe(0);
    expect(await page.getByText(authorized.id, { exact: true }).count()).toBe(0);

    // UI 2.54 has no column for static summaries: the payment search attributes make the list readable.
    await page.getByTestId('workflows-summary-table-configuration-button').click();
    for (const column of ['Run ID', 'Type', 'End'])
      await page.getByRole('button', { name: `Remove ${column} column` }).click();
    for (const column of ['AegisPayState', 'AegisPayGateway', 'AegisPayCurrency', 'AegisPayAmount']) {
      await page.getByRole('button', { name: `Add ${column} column` }).click();
    }
    await page.getByTestId('drawer-close-button').click();
    await page.getByText('Configure Workflows Table').waitFor({ state: 'hidden' });
    const row = page.locator('tr', { hasText: paid.id });
    await row.getByText('9999', { exact: true }).waitFor();
    expect(await row.innerText()).toMatch(/SUCCESS[\s\S]*MOCK[\s\S]*USD[\s\S]*9999/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-list.png') });
    expect(await allHtml(page)).not.toContain(TEST_CARDS.success);

    await page.getByRole('link', { name: paid.id, exact: true }).first().click();
    await page.getByText('User Metadata', { exact: true }).click();
    const shown = await eventually(async () => {
      const text = await allHtml(page);
      return text.includes('USD 99.99 · card visa ••4242') && text.includes('SUCCESS via MOCK') && text;
    }, 30_000);
    expect(shown).not.toContain(TEST_CARDS.success);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-payment.png') });

    // The input and result panes show the workflow's payload: the token, brand and last 4 only.
    await page.getByText('Timeline', { exact: true }).click();
    await page.getByText('"last4"').first().waitFor();
    expect(await allHtml(page)).not.toContain(TEST_CARDS.success);
  },
  120_000,
);
