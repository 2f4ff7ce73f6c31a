/**
 * Payments outlive their workflows: every path is projected into the payment store, the workflows
 * close and are deleted (as retention would), and the payments, their events and their customer's
 * list are then read from the store unchanged, and refunded after the window exactly once.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import type { StoreConfig } from '../../src/store';
import { openPaymentStore, type PaymentStore } from '../../src/store';
import type { DomainEvent, Payment } from '../../src/domain/types';
import { cardPayment, eventually, rawClient, startTestPayments, type TestPayments } from '../helpers';
import { useSandboxHarness } from '../helpers/sandbox';

const h = useSandboxHarness({ adapterTimeoutMs: 2000 });
let storeConfig: StoreConfig;
let workerStore: PaymentStore;
let payments: TestPayments;
let aegis: AegisPay;

// Per test (the file has one), so that the worker stops before the harness stops the server.
beforeEach(async () => {
  storeConfig = { kind: 'embedded', dataDir: join(mkdtempSync(join(tmpdir(), 'aegispay-sor-')), 'store') };
  workerStore = await openPaymentStore(storeConfig);
  payments = await startTestPayments(h.server, [h.stripe()], {
    worker: { store: workerStore },
    client: {
      store: storeConfig,
      // Short windows, so that every workflow closes within the test.
      refundWindowMs: 1500,
      authorizationExpiryMs: 1500,
      actionTimeoutMs: 1500,
      pendingTimeoutMs: 1500,
    },
  });
  aegis = payments.aegis;
}, 60_000);

afterEach(async () => {
  await payments?.close();
  await workerStore?.close();
});

test('every path survives the deletion of its workflow; a late refund under 20 concurrent calls happens once', async () => {
  const customer = { id: `cust_${Date.now()}`, email: 'sor@example.com', name: 'Record Keeper' };
  const pay = (over: Parameters<typeof cardPayment>[0] = {}) => aegis.pay(cardPayment({ customer, ...over }));
  const succeededRequest = cardPayment({ customer, amount: 40 });
  const succeeded = await aegis.pay(succeededRequest);
  const declined = await pay({ amount: 41, cardNumber: '4000000000000002' });
  const authorized = await pay({ amount: 42, captureMethod: 'manual' });
  await aegis.capturePayment(authorized.id, { amount: 30 });
  const cancelled = await pay({ amount: 43, captureMethod: 'manual' });
  await aegis.cancelPayment(cancelled.id);
  const refunded = await pay({ amount: 44 });
  await aegis.refundPayment(refunded.id, { amount: 4, refundId: 'early' });
  const action = await pay({ amount: 45, cardNumber: '4000002760003184' });
  await aegis.completePaymentAction(action.id, { succeeded: true });
  const abandoned = await aegis.createPayment(cardPayment({ customer, amount: 46 }));
  // A key with a timestamp in it may pass the Luhn check like a card number: it is an identifier, stored.
  const timestamped = await pay({ amount: 47, idempotencyKey: `order_${luhnValidNumber('173350000000')}` });
  expect(timestamped.state).toBe('SUCCESS');
  const ids = [succeeded, declined, authorized, cancelled, refunded, action, abandoned, timestamped].map(
    (p) => p.id,
  );

  const client = await rawClient(h.server);
  // Every workflow closes (its windows are short), and its final view is what the store holds.
  const finals = new Map<string, { payment: Payment; events: DomainEvent[] }>();
  for (const id of ids) {
    await eventually(
      async () => (await client.workflow.getHandle(id).describe()).status.name === 'COMPLETED',
      30_000,
    );
    finals.set(id, { payment: await aegis.getPayment(id), events: await aegis.getPaymentEvents(id) });
  }
  for (const id of ids) {
    expect(await workerStore.getPayment(id)).toEqual(finals.get(id)!.payment);
    expect(await workerStore.getEvents(id)).toEqual(finals.get(id)!.events);
  }

  // Retention deletes them: Temporal no longer knows these payments.
  for (const id of ids) {
    await client.workflowService.deleteWorkflowExecution({
      namespace: h.server.namespace,
      workflowExecution: { workflowId: id },
    });
  }
  await eventually(async () => {
    const gone = await Promise.all(
      ids.map((id) =>
        client.workflow
          .getHandle(id)
          .describe()
          .then(
            () => false,
            () => true,
          ),
      ),
    );
    return gone.every(Boolean);
  }, 90_000);

  for (const id of ids) {
    expect(await aegis.getPayment(id)).toEqual(finals.get(id)!.payment);
    expect(await aegis.getPaymentEvents(id)).toEqual(finals.get(id)!.events);
  }
  const listed = await aegis.getCustomerPayments(customer.id, 50);
  expect(listed.payments.map((p) => p.id).sort()).toEqual([...ids].sort());

  // The key is still taken: the same request is answered from the store, another one is a conflict.
  expect(await aegis.pay(succeededRequest)).toEqual(finals.get(succeeded.id)!.payment);
  await expect(aegis.pay({ ...succeededRequest, amount: 41 })).rejects.toMatchObject({
    code: 'IDEMPOTENCY_CONFLICT',
  });
  await expect(client.workflow.getHandle(succeeded.id).describe()).rejects.toThrow();

  // The accounting export, as an operator runs it: every payment and its events, from the store.
  const cli = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', join(__dirname, '../../src/cli.ts'), 'export', '--format', 'jsonl'],
    {
      env: {
        ...process.env,
        AEGISPAY_STORE: 'embedded',
        AEGISPAY_STORE_DIR: (storeConfig as { dataDir: string }).dataDir,
      },
    },
  );
  const exported = cli.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { id?: string; payment?: { id: string } });
  const exportedIds = exported.map((row) => row.payment?.id ?? row.id);
  for (const id of ids) expect(exportedIds).toContain(id);

  // A refund after the window: 20 concurrent calls, one refund at the gateway.
  const late = await Promise.all(
    Array.from({ length: 20 }, () => aegis.refundPayment(succeeded.id, { amount: 5, refundId: 'late_1' })),
  );
  for (const p of late) expect(p).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 500 } });
  const booked = h.sandbox.ledger({ kind: 'refund' }).filter((e) => e.paymentId === succeeded.id);
  expect(booked.map((e) => e.amount)).toEqual([500]);
  // And never more than was captured: 40.00 captured, 5.00 refunded, so 35.01 is refused.
  await expect(
    aegis.refundPayment(succeeded.id, { amount: 35.01, refundId: 'late_2' }),
  ).rejects.toMatchObject({
    code: 'REFUND_EXCEEDS_CAPTURED',
  });
  expect((await aegis.getPayment(succeeded.id)).amounts.refunded).toBe(500);
}, 240_000);

/** `prefix` and the digit that makes it pass the Luhn check (as one long number in ten does). */
function luhnValidNumber(prefix: string): string {
  for (let d = 0; d <= 9; d++) {
    const candidate = `${prefix}${d}`;
    const sum = [...candidate]
      .reverse()
      .map(Number)
      .reduce((acc, n, i) => acc + (i % 2 === 1 ? (n * 2 > 9 ? n * 2 - 9 : n * 2) : n), 0);
    if (sum % 10 === 0) return candidate;
  }
  throw new Error('unreachable');
}
