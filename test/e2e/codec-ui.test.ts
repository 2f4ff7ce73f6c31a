/**
 * The Web UI with the codec server, in Chromium: the UI reaches the codec server through the endpoint
 * that carries the token, shows an encrypted payment decoded, and a signal typed in the UI reaches a
 * payment on an unencrypted task queue of the same namespace.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { ARTIFACTS, browserTest, hasChromium, launchChromium } from '../helpers/browser';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server';
import type { EncryptionConfig } from '../../src/codec/encryption-codec';
import { freePort, type DevServer } from '../../src/toolchain/dev-server';
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

const uiTest = browserTest('the codec UI test');

const ENCRYPTION: EncryptionConfig = { keys: { k1: randomBytes(32).toString('base64') }, activeKeyId: 'k1' };
const TOKEN = randomBytes(24).toString('hex');

let codec: CodecServer;
let server: DevServer;
const workers: RunningWorker[] = [];
const clients: AegisPay[] = [];
let encrypted: AegisPay;
let plain: AegisPay;
let browser: Browser | undefined;
/** Paths the browser asked the codec server for, with the token masked. */
const codecCalls: string[] = [];

beforeAll(async () => {
  if (!hasChromium) return;
  const uiPort = await freePort();
  codec = await startCodecServer({
    port: 0,
    encryption: ENCRYPTION,
    token: TOKEN,
    allowedOrigins: [`http://127.0.0.1:${uiPort}`],
  });
  // The dev server passes it to the UI as --ui-codec-endpoint.
  process.env.AEGISPAY_CODEC_ENDPOINT = codec.uiEndpoint;
  try {
    server = await startTestServer({ uiPort });
  } finally {
    delete process.env.AEGISPAY_CODEC_ENDPOINT;
  }
  const encryptedQueue = testTaskQueue();
  const plainQueue = testTaskQueue();
  workers.push(
    await startTestWorker(server, encryptedQueue, [new MockGateway()], { encryption: ENCRYPTION }),
  );
  workers.push(await startTestWorker(server, plainQueue, [new MockGateway()]));
  encrypted = testClient(server, encryptedQueue, { encryption: ENCRYPTION });
  plain = testClient(server, plainQueue);
  clients.push(encrypted, plain);
  browser = await launchChromium();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  for (const c of clients) await c.close();
  for (const w of workers) await w.stop();
  await server?.stop();
  await codec?.stop();
});

async function openPayment(paymentId: string): Promise<Page> {
  const page = await browser!.newPage({ viewport: { width: 1600, height: 1000 } });
  const codecPort = new URL(codec.url).port;
  page.on('request', (r) => {
    const url = new URL(r.url());
    if (url.port === codecPort) codecCalls.push(`${r.method()} ${url.pathname.replace(TOKEN, '<token>')}`);
  });
  await page.goto(
    `${server.uiUrl}/namespaces/${server.namespace}/workflows/${encodeURIComponent(paymentId)}`,
  );
  await page.getByText(paymentId).first().waitFor({ timeout: 30_000 });
  return page;
}

/** The HTML of the page and of every frame. */
async function allHtml(page: Page): Promise<string> {
  return (await Promise.all(page.frames().map((f) => f.content().catch(() => '')))).join('\n');
}

uiTest(
  'the Web UI decodes an encrypted payment through the codec server, with the token in its endpoint',
  async () => {
    const email = `zelda.${randomBytes(3).toString('hex')}@example.com`;
    const payment = await encrypted.pay(cardPayment({ customer: { id: 'cust_codec_ui', email } }));
    expect(payment.state).toBe('SUCCESS');
    const page = await openPayment(payment.id);
    // The input pane shows the decoded request: the customer's email, which history holds encrypted.
    const html = await eventually(async () => {
      const text = await allHtml(page);
      return text.includes(email) && text;
    }, 30_000);
    expect(html).not.toContain('binary/encrypted');
    expect(html).not.toContain(TEST_CARDS.success);
    expect(codecCalls).toContain('POST /<token>/decode');
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'codec-ui-decoded.png') });
    await page.close();
  },
  120_000,
);

uiTest(
  'a signal typed in the Web UI reaches a payment on an unencrypted task queue',
  async () => {
    const authorized = await plain.pay(cardPayment({ captureMethod: 'manual' }));
    expect(authorized.state).toBe('AUTHORIZED');
    const page = await openPayment(authorized.id);
    await page.getByRole('button', { name: 'More Actions' }).click();
    await page.getByText('Send a Signal', { exact: true }).filter({ visible: true }).first().click();
    await page.getByTestId('signal-select-button').filter({ visible: true }).first().click();
    await page.getByRole('option', { name: 'cancel', exact: true }).click();
    const editor = page
      .locator('[role="dialog"] .cm-content, dialog .cm-content')
      .filter({ visible: true })
      .first();
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('{"reason": "cancelled from the Web UI"}');
    await page.getByRole('button', { name: 'Submit' }).filter({ visible: true }).click();

    const cancelled = await eventually(async () => {
      const p = await plain.getPayment(authorized.id);
      return p.state === 'CANCELLED' && p;
    }, 30_000);
    expect(cancelled.cancellationReason).toBe('cancelled from the Web UI');
    // The UI sent the operator's input through /encode, which left it plain for the keyless worker.
    expect(codecCalls).toContain('POST /<token>/encode');
    await page.screenshot({ path: join(ARTIFACTS, 'codec-ui-signal.png') });
    await page.close();
  },
  120_000,
);
