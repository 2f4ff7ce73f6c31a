import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import type { DevServer } from '../../src/toolchain/dev-server';
import { paymentListUrl, webUiColumnsScript } from '../../src/web-ui';
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
import { allHtml, ARTIFACTS, browserTest, hasChromium, launchChromium } from '../helpers/browser';

const uiTest = browserTest('the Web UI test');

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
  'the Web UI lists payments with their state, amount, customer, gateway and refunds, shows their summary, and never the card number',
  async () => {
    const customer = { id: `cust_ui_${Date.now()}`, email: 'customer@example.com', name: 'John Doe' };
    const paid = await aegis.pay(cardPayment({ amount: 99.99, customer }));
    const paidToo = await aegis.pay(cardPayment({ amount: 12.5, customer }));
    const declined = await aegis.pay(cardPayment({ cardNumber: TEST_CARDS.declined, customer }));
    const authorized = await aegis.pay(cardPayment({ captureMethod: 'manual', customer }));
    const refunded = await aegis.pay(cardPayment({ amount: 50, customer }));
    await aegis.refundPayment(refunded.id, { amount: 20 });
    expect([paid.state, paidToo.state, declined.state, authorized.state]).toEqual([
      'SUCCESS',
      'SUCCESS',
      'FAILURE',
      'AUTHORIZED',
    ]);
    // What the list will show must be visible first, or its absence below would prove nothing.
    await eventually(async () => {
      const { payments } = await aegis.listPayments({ customerId: customer.id });
      const byId = new Map(payments.map((p) => [p.id, p]));
      return byId.get(declined.id)?.state === 'FAILURE' && byId.get(refunded.id)?.refunded === 2000;
    });

    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1920, height: 1000 } });
    const successUrl = paymentListUrl(server.uiUrl, server.namespace, 'AegisPayState="SUCCESS"');
    await eventually(() => showsAll(page, successUrl, [paid.id, paidToo.id]), 60_000);
    expect(await page.getByText(declined.id, { exact: true }).count()).toBe(0);
    expect(await page.getByText(authorized.id, { exact: true }).count()).toBe(0);

    // The documented console script sets the payment columns (the UI keeps them in localStorage).
    // The script ends by reloading the page, which destroys the context it ran in: wait for that load.
    await Promise.all([
      page.waitForEvent('load'),
      page.evaluate(webUiColumnsScript(server.namespace)).catch(() => undefined),
    ]);
    const listUrl = paymentListUrl(server.uiUrl, server.namespace, `AegisPayCustomerId="${customer.id}"`);
    await eventually(() => showsAll(page, listUrl, [paid.id, declined.id, refunded.id]), 60_000);
    const headers = await page.locator('thead').first().innerText();
    expect(headers).toMatch(
      /AegisPayState[\s\S]*AegisPayAmount[\s\S]*AegisPayCurrency[\s\S]*AegisPayCustomerId[\s\S]*AegisPayGateway[\s\S]*AegisPayRefunded/,
    );
    const row = (id: string) => page.locator('tr', { hasText: id }).first().innerText();
    // What a user reads, column by column: state, amount (minor units), currency, customer, gateway, refunded.
    expect(await row(paid.id)).toMatch(new RegExp(`SUCCESS[\\s\\S]*9999\\s+USD\\s+${customer.id}\\s+MOCK`));
    expect(await row(declined.id)).toMatch(new RegExp(`FAILURE[\\s\\S]*9999\\s+USD\\s+${customer.id}`));
    expect(await row(refunded.id)).toMatch(
      new RegExp(`PARTIALLY_REFUNDED[\\s\\S]*5000\\s+USD\\s+${customer.id}\\s+MOCK\\s+2000`),
    );
    expect(await row(authorized.id)).toMatch(/AUTHORIZED/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-list.png') });
    expect(await allHtml(page)).not.toContain(TEST_CARDS.success);
    expect(await allHtml(page)).not.toContain(TEST_CARDS.declined);

    // A refund sent as a signal from the payment's page reaches the gateway and shows in the list.
    await page.getByRole('link', { name: paidToo.id, exact: true }).first().click();
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByRole('menuitem', { name: 'Send a Signal' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByTestId('signal-select-button').click();
    await dialog.getByRole('option', { name: 'refund', exact: true }).click();
    await dialog.getByRole('textbox', { name: 'Data' }).fill('{"amount": 2.5, "refundId": "ui_refund_1"}');
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-signal.png') });
    // Submitted from the keyboard: a mouse click right after typing only blurs the editor in UI 2.54.
    await dialog.getByTestId('confirm-modal-button').focus();
    await page.keyboard.press('Enter');
    await dialog.waitFor({ state: 'hidden' });
    await eventually(async () => {
      await page.goto(listUrl);
      const text = await row(paidToo.id).catch(() => '');
      return /PARTIALLY_REFUNDED[\s\S]*1250\s+USD[\s\S]*MOCK\s+250/.test(text);
    }, 30_000);
    expect((await aegis.getPayment(paidToo.id)).amounts.refunded).toBe(250);

    await page.getByRole('link', { name: paid.id, exact: true }).first().click();
    await page.getByText('User Metadata', { exact: true }).click();
    const shown = await eventually(async () => {
      const text = await allHtml(page);
      return (
        text.includes('USD 99.99 · card visa ••4242') &&
        text.includes('SUCCESS via MOCK') &&
        text.includes(customer.id) &&
        text
      );
    }, 30_000);
    expect(shown).not.toContain(TEST_CARDS.success);
    await page.screenshot({ path: join(ARTIFACTS, 'web-ui-payment.png') });

    // The input and result panes show the workflow's payload: the token, brand and last 4 only.
    await page.getByText('Timeline', { exact: true }).click();
    await page.getByText('"last4"').first().waitFor();
    expect(await allHtml(page)).not.toContain(TEST_CARDS.success);
  },
  180_000,
);
