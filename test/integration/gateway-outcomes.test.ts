/**
 * Every operation of the STRIPE and PAYPAL adapters against the sandbox PSP over HTTP, under each state
 * and fault the sandbox can produce: the answer (done, a GatewayError category) and what getStatus then
 * says, table by table.
 */
import { randomUUID } from 'node:crypto';
import type { CaptureMethod } from '../../src/domain/types';
import { createGateway } from '../../src/activities/gateways';
import type { Gateway, GatewayError, OperationStatus } from '../../src/activities/gateways/gateway';
import { fitKey, KEY_LIMITS } from '../../src/activities/gateways/gateway-keys';
import type { Faults, SandboxGateway } from '../../src/sandbox/server';
import { useSandbox } from '../helpers/sandbox';

const TIMEOUT_MS = 800;
const usd = (amount: number) => ({ amount, currency: 'USD' as const });

interface Case {
  type: 'STRIPE' | 'PAYPAL';
  gateway: SandboxGateway;
  make(url: string): Gateway;
  /**
   * stripe-node resends a request once, under the same key, when the connection closes before an
   * answer: a single reset never reaches the adapter, and after a commit the resend gets the replay.
   */
  sdkResendsAfterReset: boolean;
  /** The longest payment ID the gateway's payment field takes before the adapter shortens it. */
  paymentIdLimit: number;
}

const CASES: Case[] = [
  {
    type: 'STRIPE',
    gateway: 'stripe',
    make: (baseUrl) =>
      createGateway('STRIPE', { apiKey: 'sk_test_aegispay', baseUrl, timeout: TIMEOUT_MS, lookupLagMs: 0 }),
    sdkResendsAfterReset: true,
    paymentIdLimit: KEY_LIMITS.stripeMetadataValue,
  },
  {
    type: 'PAYPAL',
    gateway: 'paypal',
    make: (baseUrl) =>
      createGateway('PAYPAL', { clientId: 'aegispay', clientSecret: 'secret', baseUrl, timeout: TIMEOUT_MS }),
    sdkResendsAfterReset: false,
    paymentIdLimit: KEY_LIMITS.paypalReferenceId,
  },
];

/** A payment with workflow-shaped keys: `<paymentId>:<operation>:<attempt>`. */
function payment(
  token = 'tok_visa',
  captureMethod: CaptureMethod = 'automatic',
  paymentId = `payment:${randomUUID()}`,
) {
  const key = (operation: string, attempt: number | string = 1) => `${paymentId}:${operation}:${attempt}`;
  return {
    paymentId,
    key,
    charge: {
      paymentId,
      idempotencyKey: key('charge'),
      amount: usd(5000),
      paymentMethod: {
        type: 'CARD' as const,
        card: { token, brand: 'visa', last4: '4242', expiryMonth: 12, expiryYear: 2030 },
      },
      captureMethod,
      customerId: 'cus_1',
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<GatewayError> {
  try {
    await promise;
  } catch (err) {
    return err as GatewayError;
  }
  throw new Error('expected the call to fail');
}

describe.each(CASES)('$type outcomes against the sandbox PSP', (c) => {
  const psp = useSandbox({ adapterTimeoutMs: TIMEOUT_MS });
  let gateway: Gateway;
  const faults = (f: Faults) => psp.sandbox.setFaults(f, c.gateway);
  /** Both adapters also take the charge's reference, which spares the lookup a search. */
  const lookup = (key: string, reference: string) =>
    (gateway as Gateway & { getStatus(k: string, r?: string): Promise<OperationStatus> }).getStatus(
      key,
      reference,
    );
  const held = (paymentId: string) =>
    psp.sandbox.holdings({ gateway: c.gateway, paymentId: fitKey(paymentId, c.paymentIdLimit) })[0];

  beforeAll(() => {
    gateway = c.make(psp.sandbox.url);
  });

  /** Charges (manual: authorizes) successfully and returns the reference. */
  async function charged(p: ReturnType<typeof payment>) {
    return (await gateway.charge(p.charge)).reference;
  }

  test('charge left pending is in-progress; getStatus says in_progress; settled, it is succeeded', async () => {
    const p = payment();
    faults({ pending: { next: 1 } });
    expect(await failure(gateway.charge(p.charge))).toMatchObject({ category: 'in-progress' });
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({ status: 'in_progress' });
    expect(held(p.paymentId)).toMatchObject({ held: 0, pending: 5000 });
    const [entry] = psp.sandbox.ledger({ gateway: c.gateway, paymentId: p.paymentId, status: 'pending' });
    const reference = c.type === 'STRIPE' ? entry!.payment : entry!.reference;
    expect(psp.sandbox.settle(reference, 'succeeded')).toBe(true);
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({
      status: 'succeeded',
      amount: usd(5000),
    });
    expect(held(p.paymentId)).toMatchObject({ held: 5000, pending: 0 });
  });

  test('a pending charge that settles as failed is found a decline', async () => {
    const p = payment();
    faults({ pending: { next: 1 }, pendingSettleMs: 0 });
    await failure(gateway.charge(p.charge));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({ status: 'succeeded' });
    const q = payment();
    faults({ pending: { next: 1 } });
    await failure(gateway.charge(q.charge));
    const [entry] = psp.sandbox.ledger({ gateway: c.gateway, paymentId: q.paymentId, status: 'pending' });
    psp.sandbox.settle(c.type === 'STRIPE' ? entry!.payment : entry!.reference, 'failed');
    expect(await gateway.getStatus(q.key('charge'))).toMatchObject({ status: 'failed', category: 'decline' });
    expect(held(q.paymentId)).toBeUndefined();
  });

  test('a decline behind a reset is committed, and the lookup finds the decline', async () => {
    const p = payment('tok_chargeDeclinedInsufficientFunds');
    faults({ commitThenReset: { next: 1 }, operations: ['charge', 'confirm'] });
    expect(await failure(gateway.charge(p.charge))).toMatchObject({
      category: c.sdkResendsAfterReset ? 'decline' : 'unknown',
    });
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({ status: 'failed', category: 'decline' });
  });

  test('a capture left pending is in-progress and getStatus of its key says in_progress', async () => {
    const p = payment('tok_visa', 'manual');
    const reference = await charged(p);
    faults({ pending: { next: 1 } });
    const capture = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('capture'),
      reference,
      amount: usd(5000),
    };
    expect(await failure(gateway.capture(capture))).toMatchObject({ category: 'in-progress' });
    expect(await gateway.getStatus(p.key('capture'))).toMatchObject({ status: 'in_progress' });
    expect(await lookup(p.key('capture'), reference)).toMatchObject({ status: 'in_progress' });
  });

  test('a refund left pending is in-progress; settled, the lookup says succeeded', async () => {
    const p = payment();
    const reference = await charged(p);
    faults({ pending: { next: 1 } });
    const refund = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('refund', 're_1'),
      reference,
      amount: usd(2000),
    };
    expect(await failure(gateway.refund(refund))).toMatchObject({ category: 'in-progress' });
    expect(await gateway.getStatus(refund.idempotencyKey)).toMatchObject({ status: 'in_progress' });
    expect(held(p.paymentId)).toMatchObject({ held: 5000, pending: -2000 });
    const [entry] = psp.sandbox.ledger({ gateway: c.gateway, paymentId: p.paymentId, kind: 'refund' });
    psp.sandbox.settle(entry!.reference, 'succeeded');
    expect(await gateway.getStatus(refund.idempotencyKey)).toMatchObject({
      status: 'succeeded',
      amount: usd(2000),
    });
    expect(held(p.paymentId)).toMatchObject({ held: 3000, refunded: 2000, pending: 0 });
  });

  test.each([
    ['rate limit', { rateLimitRate: 1 }, 'retry-same-gateway'],
    ['5xx', { errorRate: 1 }, 'unknown'],
    ['reset before processing', { resetConnection: { next: 2 } }, 'unknown'],
  ] as const)(
    'a %s on capture only: the charge is untouched, the capture is %s',
    async (_, fault, category) => {
      const p = payment('tok_visa', 'manual');
      faults({ ...fault, operations: ['capture'] });
      const reference = await charged(p);
      const capture = {
        paymentId: p.paymentId,
        idempotencyKey: p.key('capture'),
        reference,
        amount: usd(5000),
      };
      expect(await failure(gateway.capture(capture))).toMatchObject({ category });
      expect(await lookup(p.key('capture'), reference)).toEqual({ status: 'not_found' });
      expect(psp.sandbox.openAuthorizations({ gateway: c.gateway, paymentId: p.paymentId })).toHaveLength(1);
    },
  );

  test.each([['commitThenTimeout'], ['commitThenReset']] as const)(
    '%s on capture: unknown, then getStatus finds the capture done and a retry captures nothing more',
    async (fault) => {
      const p = payment('tok_visa', 'manual');
      const reference = await charged(p);
      faults({ [fault]: { next: 1 }, operations: ['capture'] });
      const capture = {
        paymentId: p.paymentId,
        idempotencyKey: p.key('capture'),
        reference,
        amount: usd(3000),
      };
      if (fault === 'commitThenReset' && c.sdkResendsAfterReset) await gateway.capture(capture);
      else expect(await failure(gateway.capture(capture))).toMatchObject({ category: 'unknown' });
      expect(await gateway.getStatus(p.key('capture'))).toMatchObject({
        status: 'succeeded',
        amount: usd(3000),
      });
      await gateway.capture(capture);
      expect(held(p.paymentId)).toMatchObject({ held: 3000 });
      expect(psp.sandbox.openAuthorizations({ gateway: c.gateway, paymentId: p.paymentId })).toHaveLength(0);
    },
  );

  test('commitThenTimeout on refund: unknown, then getStatus finds it and a retry refunds nothing more', async () => {
    const p = payment();
    const reference = await charged(p);
    faults({ commitThenTimeout: { next: 1 }, operations: ['refund'] });
    const refund = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('refund', 're_9'),
      reference,
      amount: usd(1000),
    };
    expect(await failure(gateway.refund(refund))).toMatchObject({ category: 'unknown' });
    expect(await gateway.getStatus(refund.idempotencyKey)).toMatchObject({
      status: 'succeeded',
      amount: usd(1000),
    });
    await gateway.refund(refund);
    expect(held(p.paymentId)).toMatchObject({ held: 4000, refunded: 1000 });
  });

  test('lookups that fail are unknown, never not_found', async () => {
    const p = payment();
    await charged(p);
    faults({ errorRate: 1, operations: ['lookup'] });
    expect(await failure(gateway.getStatus(p.key('charge')))).toMatchObject({ category: 'unknown' });
  });

  test('a void: done, again done under a new key (an expired one), and getStatus says so', async () => {
    const p = payment('tok_visa', 'manual');
    const reference = await charged(p);
    await gateway.void({ paymentId: p.paymentId, idempotencyKey: p.key('void'), reference });
    await gateway.void({ paymentId: p.paymentId, idempotencyKey: p.key('void', 2), reference });
    expect(await gateway.getStatus(p.key('void'))).toMatchObject({ status: 'succeeded' });
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({
      status: 'failed',
      category: 'failover',
    });
    expect(psp.sandbox.openAuthorizations({ gateway: c.gateway, paymentId: p.paymentId })).toHaveLength(0);
    const capture = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('capture'),
      reference,
      amount: usd(5000),
    };
    expect(await failure(gateway.capture(capture))).toMatchObject({ category: 'decline' });
  });

  test('a capture again under a new key (an expired one): the same amount is done, another stays refused', async () => {
    const p = payment('tok_visa', 'manual');
    const reference = await charged(p);
    const base = { paymentId: p.paymentId, reference };
    await gateway.capture({ ...base, idempotencyKey: p.key('capture'), amount: usd(4000) });
    await gateway.capture({ ...base, idempotencyKey: p.key('capture', 2), amount: usd(4000) });
    const other = await failure(
      gateway.capture({ ...base, idempotencyKey: p.key('capture', 3), amount: usd(5000) }),
    );
    expect(other.category).toBe('decline');
    expect(other.code).toBe(
      c.type === 'STRIPE' ? 'payment_intent_unexpected_state' : 'AUTHORIZATION_ALREADY_CAPTURED',
    );
    expect(held(p.paymentId)).toMatchObject({ held: 4000 });
    const voided = await failure(gateway.void({ ...base, idempotencyKey: p.key('void') }));
    expect(voided.category).toBe('decline');
  });

  test('a 255-character client key with a scope fits every gateway field, and lookups find it', async () => {
    const p = payment('tok_visa', 'manual', `payment:tenant-${'t'.repeat(30)}:${'k'.repeat(255)}`);
    const reference = await charged(p);
    expect(await gateway.getStatus(p.key('charge'))).toMatchObject({ status: 'authorized', reference });
    expect(await gateway.charge(p.charge)).toEqual({ status: 'authorized', reference });
    const capture = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('capture'),
      reference,
      amount: usd(5000),
    };
    await gateway.capture(capture);
    const refund = {
      paymentId: p.paymentId,
      idempotencyKey: p.key('refund', `re_${'0'.repeat(32)}`),
      reference,
      amount: usd(5000),
    };
    await gateway.refund(refund);
    await gateway.refund(refund);
    expect(await gateway.getStatus(refund.idempotencyKey)).toMatchObject({ status: 'succeeded' });
    expect(held(p.paymentId)).toMatchObject({ collected: 5000, refunded: 5000, held: 0 });
  });
});
