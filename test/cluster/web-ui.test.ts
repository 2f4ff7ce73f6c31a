/**
 * On the cluster (mTLS): a payment made by a client holding the cluster's client certificate shows in the
 * cluster's own Web UI server, and a client without a certificate is refused. Screenshots go to
 * test/artifacts/cluster-web-ui-*.png.
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import { connectClient, resolveConnection } from '../../src/temporal/connection';
import type { DevServer } from '../../src/toolchain/dev-server';
import {
  cardPayment,
  connectionOf,
  eventually,
  startTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  type RunningWorker,
} from '../helpers';
import { allHtml, ARTIFACTS, browserTest, launchChromium } from '../helpers/browser';
import { clusterUnderTest } from '../helpers/cluster';

let server: DevServer;
let worker: RunningWorker;
let aegis: AegisPay;
let browser: Browser | undefined;

beforeAll(async () => {
  server = await startTestServer();
  const taskQueue = testTaskQueue();
  worker = await startTestWorker(server, taskQueue, [new MockGateway()]);
  aegis = testClient(server, taskQueue);
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await aegis?.close();
  await worker?.stop();
});

test('the cluster refuses a client without a certificate', async () => {
  const { tls, ...withoutCertificate } = connectionOf(server);
  expect(typeof tls).toBe('object');
  const refused = await connectClient(withoutCertificate)
    .then(async (c) => {
      // A plaintext connection may open lazily: the first call is what the TLS listener refuses.
      await c.workflowService.getSystemInfo({});
      return 'answered';
    })
    .catch((err: Error & { code?: string }) => err.code ?? err.message);
  expect(refused).not.toBe('answered');
});

test("the profile `up` writes (temporal.toml) reaches the cluster through Temporal's environment configuration", async () => {
  const paid = await aegis.pay(cardPayment({ amount: 7 }));
  const profile = join(clusterUnderTest()!.stateDir, 'temporal.toml');
  const resolved = resolveConnection('env', { TEMPORAL_CONFIG_FILE: profile, HOME: tmpdir() });
  expect(resolved.namespace).toBe(server.namespace);
  const connection = await connectClient(resolved);
  try {
    const { workflowExecutionInfo } = await connection.workflowService.describeWorkflowExecution({
      namespace: resolved.namespace,
      execution: { workflowId: paid.id },
    });
    expect(workflowExecutionInfo?.execution?.workflowId).toBe(paid.id);
  } finally {
    await connection.close();
  }
});

browserTest('the cluster Web UI test')(
  "a payment made over mTLS is listed and shown in the cluster's Web UI, without the card number",
  async () => {
    const paid = await aegis.pay(cardPayment({ amount: 42.5 }));
    expect(paid.state).toBe('SUCCESS');
    await eventually(async () =>
      (await aegis.listPayments({ state: 'SUCCESS' })).payments.some((p) => p.id === paid.id),
    );
    browser = await launchChromium();
    const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
    const query = encodeURIComponent(`WorkflowId="${paid.id}"`);
    await eventually(async () => {
      await page.goto(`${server.uiUrl}/namespaces/${server.namespace}/workflows?query=${query}`);
      return page
        .getByText(paid.id, { exact: true })
        .first()
        .waitFor({ timeout: 5_000 })
        .then(() => true)
        .catch(() => false);
    }, 60_000);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-web-ui-list.png') });

    await page.getByRole('link', { name: paid.id, exact: true }).first().click();
    await page.getByText('User Metadata', { exact: true }).click();
    const shown = await eventually(async () => {
      const html = await allHtml(page);
      return html.includes('USD 42.50 · card visa ••4242') && html.includes('SUCCESS via MOCK') && html;
    }, 30_000);
    expect(shown).not.toContain(TEST_CARDS.success);
    await page.screenshot({ path: join(ARTIFACTS, 'cluster-web-ui-payment.png') });
  },
  120_000,
);
