import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { Payment } from '../../src/domain/types';
import { findTemporalCli } from '../../src/toolchain/temporal-binaries';
import {
  useMockHarness,
  cardPayment,
  eventually,
  expectAegisError,
  rawClient,
  temporalCliArgs,
} from '../helpers';

const h = useMockHarness();

const THREE_D_SECURE_CARD = '4000002760003184';

function refundedByGateway(paymentId: string): number {
  return h.gateway
    .operations('refund')
    .filter((e) => e.paymentId === paymentId)
    .reduce((total, e) => total + e.amount.amount, 0);
}

test('partial capture, then two partial refunds; an over-refund is rejected before anything is written', async () => {
  const authorized = await h.aegis.pay(cardPayment({ amount: 100, captureMethod: 'manual' }));
  expect(authorized.state).toBe('AUTHORIZED');
  expect(authorized.amounts).toEqual({ authorized: 10000, captured: 0, refunded: 0 });

  const captured = await h.aegis.capturePayment(authorized.id, { amount: 60 });
  expect(captured.state).toBe('SUCCESS');
  expect(captured.amounts).toEqual({ authorized: 10000, captured: 6000, refunded: 0 });
  expect(h.gateway.operations('capture').map((e) => e.amount.amount)).toEqual([6000]);

  const first = await h.aegis.refundPayment(authorized.id, { amount: 20 });
  expect(first).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 2000 } });
  const second = await h.aegis.refundPayment(authorized.id, { amount: '30.00' });
  expect(second).toMatchObject({ state: 'PARTIALLY_REFUNDED', amounts: { refunded: 5000 } });

  const before = await h.aegis.getPaymentEvents(authorized.id);
  await expectAegisError(h.aegis.refundPayment(authorized.id, { amount: 10.01 }), 'REFUND_EXCEEDS_CAPTURED');
  expect(await h.aegis.getPaymentEvents(authorized.id)).toEqual(before);
  expect(refundedByGateway(authorized.id)).toBe(5000);

  const rest = await h.aegis.refundPayment(authorized.id);
  expect(rest).toMatchObject({ state: 'REFUNDED', amounts: { captured: 6000, refunded: 6000 } });
  expect(rest.refunds.map((r) => [r.amount, r.status])).toEqual([
    [2000, 'succeeded'],
    [3000, 'succeeded'],
    [1000, 'succeeded'],
  ]);
  expect(refundedByGateway(authorized.id)).toBe(6000);
  const types = (await h.aegis.getPaymentEvents(authorized.id)).map((e) => e.type);
  expect(types.filter((t) => t === 'REFUND_SUCCEEDED')).toHaveLength(3);
  expect(types).toContain('PAYMENT_CAPTURED');
});

test('20 concurrent refunds of 1.00 on a 10.00 payment: exactly 10 succeed and 10.00 is refunded', async () => {
  const paid = await h.aegis.pay(cardPayment({ amount: 10 }));
  const results = await Promise.allSettled(
    Array.from({ length: 20 }, () => h.aegis.refundPayment(paid.id, { amount: 1 })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled');
  const rejected = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  expect(ok).toHaveLength(10);
  expect(rejected.map((r) => (r.reason as { code?: string }).code)).toEqual(
    Array(10).fill('REFUND_EXCEEDS_CAPTURED'),
  );
  const final = await h.aegis.getPayment(paid.id);
  expect(final).toMatchObject({ state: 'REFUNDED', amounts: { captured: 1000, refunded: 1000 } });
  expect(final.refunds.filter((r) => r.status === 'succeeded')).toHaveLength(10);
  expect(refundedByGateway(paid.id)).toBe(1000);
});

test('a second refund with the same refundId returns the first refund and refunds once', async () => {
  const paid = await h.aegis.pay(cardPayment({ amount: 50 }));
  const [a, b] = await Promise.all([
    h.aegis.refundPayment(paid.id, { amount: 5, refundId: 'rf_1' }),
    h.aegis.refundPayment(paid.id, { amount: 5, refundId: 'rf_1' }),
  ]);
  const c = await h.aegis.refundPayment(paid.id, { amount: 5, refundId: 'rf_1' });
  for (const p of [a, b, c]) expect(p.refunds.filter((r) => r.id === 'rf_1')).toHaveLength(1);
  expect(c.amounts.refunded).toBe(500);
  expect(refundedByGateway(paid.id)).toBe(500);
});

test('a refund the gateway refuses is recorded as REFUND_FAILED and leaves the amounts right', async () => {
  const paid = await h.aegis.pay(cardPayment({ amount: 25 }));
  h.gateway.failRefundsWith = 'charge_disputed';
  const after = await h.aegis.refundPayment(paid.id, { amount: 5, refundId: 'rf_fail' });
  expect(after.state).toBe('SUCCESS');
  expect(after.amounts.refunded).toBe(0);
  expect(after.refunds).toEqual([expect.objectContaining({ id: 'rf_fail', amount: 500, status: 'failed' })]);
  expect((await h.aegis.getPaymentEvents(paid.id)).at(-1)).toMatchObject({
    type: 'REFUND_FAILED',
    data: { code: 'charge_disputed' },
  });
  h.gateway.failRefundsWith = undefined;
  expect((await h.aegis.refundPayment(paid.id, { amount: 25 })).state).toBe('REFUNDED');
});

describe('cancel from each state', () => {
  test('INITIATED: cancelled without a gateway call, and cannot be processed afterwards', async () => {
    const created = await h.aegis.createPayment(cardPayment());
    const cancelled = await h.aegis.cancelPayment(created.id, { reason: 'customer_changed_mind' });
    expect(cancelled).toMatchObject({ state: 'CANCELLED', cancellationReason: 'customer_changed_mind' });
    await expectAegisError(h.aegis.processPayment({ paymentId: created.id }), 'INVALID_STATE_TRANSITION');
    expect(h.gateway.charges()).toHaveLength(0);
  });

  test('AUTHORIZED: the authorization is voided at the gateway', async () => {
    const authorized = await h.aegis.pay(cardPayment({ captureMethod: 'manual' }));
    const cancelled = await h.aegis.cancelPayment(authorized.id);
    expect(cancelled.state).toBe('CANCELLED');
    expect(h.gateway.operations('void').map((e) => e.paymentId)).toEqual([authorized.id]);
    await expectAegisError(h.aegis.capturePayment(authorized.id), 'INVALID_STATE_TRANSITION');
  });

  test('REQUIRES_ACTION: the pending charge is voided', async () => {
    const pending = await h.aegis.pay(cardPayment({ cardNumber: THREE_D_SECURE_CARD }));
    expect(pending.state).toBe('REQUIRES_ACTION');
    expect((await h.aegis.cancelPayment(pending.id)).state).toBe('CANCELLED');
    expect(h.gateway.operations('void')).toHaveLength(1);
  });

  test.each([
    ['SUCCESS', () => cardPayment()],
    ['FAILURE', () => cardPayment({ cardNumber: '4000000000000002' })],
  ])('%s: INVALID_STATE_TRANSITION', async (state, request) => {
    const payment = await h.aegis.pay(request());
    expect(payment.state).toBe(state);
    await expectAegisError(h.aegis.cancelPayment(payment.id), 'INVALID_STATE_TRANSITION');
  });

  test('PARTIALLY_REFUNDED and REFUNDED: INVALID_STATE_TRANSITION', async () => {
    const paid = await h.aegis.pay(cardPayment({ amount: 10 }));
    await h.aegis.refundPayment(paid.id, { amount: 4 });
    await expectAegisError(h.aegis.cancelPayment(paid.id), 'INVALID_STATE_TRANSITION');
    await h.aegis.refundPayment(paid.id);
    await expectAegisError(h.aegis.cancelPayment(paid.id), 'INVALID_STATE_TRANSITION');
  });

  test('CANCELLED: cancelling again answers with the cancelled payment (the same operation, no second void)', async () => {
    const created = await h.aegis.createPayment(cardPayment());
    const first = await h.aegis.cancelPayment(created.id);
    const again = await h.aegis.cancelPayment(created.id);
    expect(again).toMatchObject({ id: first.id, state: 'CANCELLED', version: first.version });
    expect(h.gateway.operations('void')).toEqual([]);
  });
});

test('3-D Secure: the payment waits in REQUIRES_ACTION until the customer acts', async () => {
  const pending = await h.aegis.pay(cardPayment({ cardNumber: THREE_D_SECURE_CARD }));
  expect(pending.state).toBe('REQUIRES_ACTION');
  const done = await h.aegis.completePaymentAction(pending.id, { succeeded: true });
  expect(done).toMatchObject({ state: 'SUCCESS', amounts: { captured: 9999 } });

  const other = await h.aegis.pay(cardPayment({ cardNumber: THREE_D_SECURE_CARD }));
  const failed = await h.aegis.completePaymentAction(other.id, { succeeded: false });
  expect(failed).toMatchObject({ state: 'FAILURE', failure: { code: 'authentication_failed' } });
  expect(h.gateway.operations('void').map((e) => e.paymentId)).toEqual([other.id]);
});

test('a refund signal sent with the real temporal CLI is applied, and a rejected one becomes an event', async () => {
  const paid = await h.aegis.pay(cardPayment({ amount: 30 }));
  const cli = (...args: string[]) =>
    promisify(execFile)(findTemporalCli(), [
      'workflow',
      'signal',
      ...temporalCliArgs(h.server),
      '--workflow-id',
      paid.id,
      ...args,
    ]);
  await cli('--name', 'refund', '--input', '{"amount": 12.5, "reason": "damaged", "refundId": "ops_1"}');
  const refunded = await eventually(async () => {
    const p = await h.aegis.getPayment(paid.id);
    return p.amounts.refunded === 1250 ? p : undefined;
  });
  expect(refunded).toMatchObject({ state: 'PARTIALLY_REFUNDED' });
  expect(refunded.refunds[0]).toMatchObject({ id: 'ops_1', amount: 1250, reason: 'damaged' });

  await cli('--name', 'refund', '--input', '{"amount": 100}');
  await cli('--name', 'cancel', '--input', '{}');
  const events = await eventually(async () => {
    const all = await h.aegis.getPaymentEvents(paid.id);
    return all.filter((e) => e.type === 'REQUEST_REJECTED').length === 2 ? all : undefined;
  });
  const rejected = events.filter((e) => e.type === 'REQUEST_REJECTED').map((e) => e.data);
  expect(rejected).toEqual([
    expect.objectContaining({ request: 'refund', code: 'REFUND_EXCEEDS_CAPTURED' }),
    expect.objectContaining({ request: 'cancel', code: 'INVALID_STATE_TRANSITION' }),
  ]);
  const client = await rawClient(h.server);
  expect((await client.workflow.getHandle(paid.id).describe()).status.name).toBe('RUNNING');
  await client.connection.close();
  expect(refundedByGateway(paid.id)).toBe(1250);
});

test('a payment with 100 partial refunds keeps its history well under Temporal limits', async () => {
  let payment: Payment = await h.aegis.pay(cardPayment({ amount: 1 }));
  for (let i = 0; i < 100; i++) payment = await h.aegis.refundPayment(payment.id, { amount: 0.01 });
  expect(payment).toMatchObject({ state: 'REFUNDED', amounts: { refunded: 100 } });
  const client = await rawClient(h.server);
  const { historyLength } = (await client.workflow.getHandle(payment.id).describe()).raw
    .workflowExecutionInfo!;
  await client.connection.close();
  // Temporal warns at 10,240 events and terminates at 51,200.
  expect(Number(historyLength)).toBeLessThan(2000);
}, 120_000);
