/**
 * The two retry settings, each against a real dev server and the sandbox PayPal over HTTP:
 * `retry.maxRetries` bounds the tries of one call whose outcome is unknown (same key), and
 * `retry.chargeAttemptsPerGateway` bounds the charge attempts (new keys) at a gateway answering 429.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGateway } from '../../src/activities/gateways';
import type { AegisPayConfig } from '../../src/config';
import type { Payment } from '../../src/domain/types';
import { startSandbox, type Sandbox } from '../../src/sandbox/server';
import type { DevServer } from '../../src/toolchain/dev-server';
import { cardPayment, startTestServer, startTestWorker, testClient, testTaskQueue } from '../helpers';

let server: DevServer;
let sandbox: Sandbox;
beforeAll(async () => {
  server = await startTestServer();
  sandbox = await startSandbox({
    port: 0,
    ledgerFile: join(mkdtempSync(join(tmpdir(), 'aegispay-rs-')), 'ledger.json'),
  });
});
afterAll(async () => {
  await sandbox?.stop();
  await server?.stop();
});
afterEach(() => sandbox.reset());

/** Pays at the sandbox's PayPal only, with these retry settings and quick backoff. */
async function pay(retry: NonNullable<AegisPayConfig['retry']>): Promise<Payment> {
  const taskQueue = testTaskQueue();
  const paypal = createGateway('PAYPAL', {
    clientId: 'aegispay',
    clientSecret: 'secret',
    baseUrl: sandbox.url,
    timeout: 1000,
  });
  const worker = await startTestWorker(server, taskQueue, [paypal]);
  const aegis = testClient(server, taskQueue, {
    retry: { initialDelayMs: 10, maxDelayMs: 50, backoffMultiplier: 2, ...retry },
  });
  try {
    return await aegis.pay(cardPayment({ amount: 12, gatewayType: 'PAYPAL' }));
  } finally {
    await aegis.close();
    await worker.stop();
  }
}

const chargeKeys = (p: Payment) => p.attempts.map((a) => a.gatewayIdempotencyKey);

test('maxRetries 2 with one charge attempt: two lost requests are tried again under the same key, but a 429 is not', async () => {
  sandbox.setFaults({ resetConnection: { next: 2 }, operations: ['charge'] }, 'paypal');
  const recovered = await pay({ maxRetries: 2, chargeAttemptsPerGateway: 1 });
  expect(recovered).toMatchObject({ state: 'SUCCESS', gateway: 'PAYPAL' });
  expect(recovered.attempts).toHaveLength(1);
  expect(recovered.attempts[0]!.reconciliationChecks).toBeUndefined();

  sandbox.setFaults({ rateLimitRate: 1, operations: ['charge'] }, 'paypal');
  const limited = await pay({ maxRetries: 2, chargeAttemptsPerGateway: 1 });
  expect(limited.state).toBe('FAILURE');
  expect(chargeKeys(limited)).toEqual([`${limited.id}:charge:1`]);
});

test('maxRetries 0 with three charge attempts: a 429 gets three attempts under new keys, a lost request goes straight to lookups', async () => {
  sandbox.setFaults({ rateLimitRate: 1, operations: ['charge'] }, 'paypal');
  const limited = await pay({ maxRetries: 0, chargeAttemptsPerGateway: 3 });
  expect(limited.state).toBe('FAILURE');
  expect(chargeKeys(limited)).toEqual([1, 2, 3].map((n) => `${limited.id}:charge:${n}`));

  sandbox.setFaults({ resetConnection: { next: 1 }, operations: ['charge'] }, 'paypal');
  const lost = await pay({ maxRetries: 0, chargeAttemptsPerGateway: 3 });
  // Not retried under its key: the lookups learn that nothing was charged, and the pinned payment fails.
  expect(lost.state).toBe('FAILURE');
  expect(lost.attempts).toHaveLength(1);
  expect(lost.attempts[0]!.reconciliationChecks).toBeGreaterThanOrEqual(3);
});
