import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import type { CurrencyCode } from '../../src/domain/currencies';
import type { CaptureMethod, GatewayType, Money } from '../../src/domain/types';
import { createGateway } from '../../src/activities/gateways';
import type { Gateway, GatewayError, GatewayErrorCategory } from '../../src/activities/gateways/gateway';
import type { SandboxGateway } from '../../src/sandbox/server';
import { useSandbox } from '../helpers/sandbox';

/** Short, so the timeout tests finish quickly. */
const TIMEOUT_MS = 1500;

interface AdapterCase {
  type: 'STRIPE' | 'PAYPAL';
  gateway: SandboxGateway;
  make(baseUrl: string, credentials?: 'bad'): Gateway;
  /** Stripe has a retryable processing_error; PayPal reports processor failures as a 5xx. */
  processingError: GatewayErrorCategory;
  /** An amount the gateway cannot represent exactly. */
  unrepresentable: Money;
  /** A currency with other decimals than USD, and an amount in it. */
  otherDecimals: Money;
}

const CASES: AdapterCase[] = [
  {
    type: 'STRIPE',
    gateway: 'stripe',
    make: (baseUrl, credentials) =>
      createGateway('STRIPE', {
        apiKey: credentials === 'bad' ? 'sk_live_wrong!' : 'sk_test_aegispay',
        baseUrl,
        timeout: TIMEOUT_MS,
      }),
    processingError: 'retry-same-gateway',
    unrepresentable: { amount: 1005, currency: 'KWD' },
    otherDecimals: { amount: 1230, currency: 'KWD' },
  },
  {
    type: 'PAYPAL',
    gateway: 'paypal',
    make: (baseUrl, credentials) =>
      createGateway('PAYPAL', {
        clientId: 'aegispay',
        clientSecret: credentials === 'bad' ? 'invalid-secret' : 'secret',
        baseUrl,
        timeout: TIMEOUT_MS,
      }),
    processingError: 'unknown',
    unrepresentable: { amount: 12345, currency: 'HUF' },
    otherDecimals: { amount: 500, currency: 'JPY' },
  },
];

function usd(amount: number): Money {
  return { amount, currency: 'USD' };
}

function chargeRequest(token: string, captureMethod: CaptureMethod = 'automatic', amount: Money = usd(5000)) {
  return {
    paymentId: `pay_${randomUUID()}`,
    idempotencyKey: `pay:charge:1:${randomUUID()}`,
    amount,
    paymentMethod: {
      type: 'CARD' as const,
      card: { token, brand: 'visa', last4: '4242', expiryMonth: 12, expiryYear: 2030 },
    },
    captureMethod,
    customerId: 'cus_1',
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

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe.each(CASES)('$type adapter against the sandbox PSP', (c) => {
  const psp = useSandbox({ adapterTimeoutMs: TIMEOUT_MS });
  let gateway: Gateway;

  const charges = (paymentKey: string) =>
    psp.sandbox.ledger({ gateway: c.gateway, paymentKey, kind: 'charge', status: 'succeeded' });
  const entries = (paymentKey: string, kind: string) =>
    psp.sandbox
      .ledger({ gateway: c.gateway, paymentKey })
      .filter((e) => e.kind === kind && e.status === 'succeeded');

  beforeAll(() => {
    gateway = c.make(psp.sandbox.url);
  });

  test('a successful charge books exactly one charge of the right amount', async () => {
    const request = chargeRequest('tok_visa');
    const result = await gateway.charge(request);
    expect(result.status).toBe('succeeded');
    expect(charges(request.idempotencyKey)).toEqual([
      expect.objectContaining({
        amount: 5000,
        currency: 'USD',
        payment: result.reference,
        paymentId: request.paymentId,
      }),
    ]);
  });

  test('a declined card is a decline and books no charge', async () => {
    const request = chargeRequest('tok_chargeDeclined');
    const err = await failure(gateway.charge(request));
    expect(err.category).toBe('decline');
    expect(charges(request.idempotencyKey)).toHaveLength(0);
  });

  test('insufficient funds is a decline', async () => {
    const err = await failure(gateway.charge(chargeRequest('tok_chargeDeclinedInsufficientFunds')));
    expect(err.category).toBe('decline');
  });

  test('a processing error is classified per the gateway table and books no charge', async () => {
    const request = chargeRequest('tok_chargeDeclinedProcessingError');
    expect((await failure(gateway.charge(request))).category).toBe(c.processingError);
    expect(charges(request.idempotencyKey)).toHaveLength(0);
  });

  test('the same idempotency key twice charges once and returns the same reference', async () => {
    const request = chargeRequest('tok_visa');
    const first = await gateway.charge(request);
    const second = await gateway.charge(request);
    expect(second).toEqual(first);
    expect(charges(request.idempotencyKey)).toHaveLength(1);
  });

  test('refunds, partial then the rest, are booked; refunding more is a decline', async () => {
    const request = chargeRequest('tok_visa');
    const { reference } = await gateway.charge(request);
    const base = { paymentId: request.paymentId, reference };
    const partial = await gateway.refund({
      ...base,
      idempotencyKey: `${request.idempotencyKey}:r1`,
      amount: usd(2000),
    });
    const rest = await gateway.refund({
      ...base,
      idempotencyKey: `${request.idempotencyKey}:r2`,
      amount: usd(3000),
    });
    expect(partial.reference).not.toBe(rest.reference);
    expect(entries(request.idempotencyKey, 'refund').map((e) => e.amount)).toEqual([2000, 3000]);
    const more = await failure(
      gateway.refund({ ...base, idempotencyKey: `${request.idempotencyKey}:r3`, amount: usd(1) }),
    );
    expect(more.category).toBe('decline');
  });

  test('a manual authorization can be captured partially', async () => {
    const request = chargeRequest('tok_visa', 'manual');
    const auth = await gateway.charge(request);
    expect(auth.status).toBe('authorized');
    expect(charges(request.idempotencyKey)).toHaveLength(0);
    await gateway.capture({
      paymentId: request.paymentId,
      idempotencyKey: `${request.idempotencyKey}:capture`,
      reference: auth.reference,
      amount: usd(3000),
    });
    expect(entries(request.idempotencyKey, 'authorization').map((e) => e.amount)).toEqual([5000]);
    expect(entries(request.idempotencyKey, 'capture').map((e) => e.amount)).toEqual([3000]);
  });

  test('a voided authorization is released and can no longer be captured', async () => {
    const request = chargeRequest('tok_visa', 'manual');
    const auth = await gateway.charge(request);
    const base = { paymentId: request.paymentId, reference: auth.reference };
    await gateway.void({ ...base, idempotencyKey: `${request.idempotencyKey}:void` });
    expect(entries(request.idempotencyKey, 'void').map((e) => e.amount)).toEqual([5000]);
    const capture = gateway.capture({
      ...base,
      idempotencyKey: `${request.idempotencyKey}:cap`,
      amount: usd(5000),
    });
    expect((await failure(capture)).category).toBe('decline');
  });

  test('after a commit-then-timeout the charge is unknown, and getStatus finds it succeeded', async () => {
    psp.sandbox.setFaults({ commitThenTimeout: { next: 1 } }, c.gateway);
    const request = chargeRequest('tok_visa');
    const started = Date.now();
    const err = await failure(gateway.charge(request));
    expect(err.category).toBe('unknown');
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 1000);
    const [booked] = charges(request.idempotencyKey);
    expect(booked).toBeDefined();

    const status = await gateway.getStatus(request.idempotencyKey);
    expect(status).toEqual({ status: 'succeeded', reference: booked?.payment, amount: usd(5000) });
    // The activity's retry under the same key answers the same charge, moving no more money.
    expect(await gateway.charge(request)).toEqual({ status: 'succeeded', reference: booked?.payment });
    expect(charges(request.idempotencyKey)).toHaveLength(1);
  });

  test('getStatus of an unknown key is not_found, creates nothing, and leaves the key usable', async () => {
    const request = chargeRequest('tok_visa');
    expect(await gateway.getStatus(request.idempotencyKey)).toEqual({ status: 'not_found' });
    expect(psp.sandbox.ledger({ paymentKey: request.idempotencyKey })).toHaveLength(0);
    const result = await gateway.charge(request);
    expect(await gateway.getStatus(request.idempotencyKey)).toEqual({
      status: 'succeeded',
      reference: result.reference,
      amount: usd(5000),
    });
  });

  test('getStatus finds a declined charge still a decline', async () => {
    const request = chargeRequest('tok_chargeDeclined');
    await failure(gateway.charge(request));
    expect(await gateway.getStatus(request.idempotencyKey)).toMatchObject({
      status: 'failed',
      category: 'decline',
    });
  });

  test('a closed port is failover at once', async () => {
    const offline = c.make(`http://127.0.0.1:${await closedPort()}`);
    const started = Date.now();
    const err = await failure(offline.charge(chargeRequest('tok_visa')));
    expect(err.category).toBe('failover');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('bad credentials are failover', async () => {
    const misconfigured = c.make(psp.sandbox.url, 'bad');
    expect((await failure(misconfigured.charge(chargeRequest('tok_visa')))).category).toBe('failover');
  });

  test('an outage is unknown, never a decline', async () => {
    psp.sandbox.setFaults({ outage: true }, c.gateway);
    expect((await failure(gateway.charge(chargeRequest('tok_visa')))).category).toBe('unknown');
  });

  test('a 3-D Secure card requires action, then confirm completes the charge', async () => {
    const request = chargeRequest('tok_threeDSecure2Required');
    const pending = await gateway.charge(request);
    expect(pending.status).toBe('requires_action');
    expect(charges(request.idempotencyKey)).toHaveLength(0);
    expect(await gateway.getStatus(request.idempotencyKey)).toMatchObject({ status: 'requires_action' });
    const confirmed = await gateway.confirm({
      paymentId: request.paymentId,
      idempotencyKey: `${request.idempotencyKey}:confirm`,
      reference: pending.reference,
    });
    expect(confirmed).toEqual({ status: 'succeeded', reference: pending.reference });
    expect(charges(request.idempotencyKey)).toHaveLength(1);
  });

  test('a failed 3-D Secure challenge makes confirm a decline', async () => {
    const request = chargeRequest('tok_threeDSecure2Required');
    const pending = await gateway.charge(request);
    expect(psp.sandbox.failThreeDSecure(pending.reference)).toBe(true);
    const confirm = gateway.confirm({
      paymentId: request.paymentId,
      idempotencyKey: `${request.idempotencyKey}:confirm`,
      reference: pending.reference,
    });
    expect((await failure(confirm)).category).toBe('decline');
    expect(charges(request.idempotencyKey)).toHaveLength(0);
  });

  test('amounts convert exactly to the gateway notation, and inexact ones fail over before any request', async () => {
    const request = chargeRequest('tok_visa', 'automatic', c.otherDecimals);
    await gateway.charge(request);
    expect(charges(request.idempotencyKey)).toEqual([
      expect.objectContaining({ amount: c.otherDecimals.amount, currency: c.otherDecimals.currency }),
    ]);
    const inexact = chargeRequest('tok_visa', 'automatic', c.unrepresentable);
    const err = await failure(gateway.charge(inexact));
    expect(err).toMatchObject({ category: 'failover', code: 'amount_not_supported' });
    expect(psp.sandbox.ledger({ paymentKey: inexact.idempotencyKey })).toHaveLength(0);
  });

  test('declares card capability and only currencies it converts', () => {
    expect(gateway.capabilities.methods).toEqual(['CARD']);
    const currencies = gateway.capabilities.currencies as readonly CurrencyCode[];
    expect(currencies).toContain('USD');
    expect(currencies).toContain(c.otherDecimals.currency);
  });
});

describe('createGateway', () => {
  test('gateways without an adapter are a configuration error', () => {
    // A name from untyped configuration that no connector has.
    expect(() => createGateway('ADYEN' as GatewayType)).toThrow(
      expect.objectContaining({ code: 'CONFIGURATION_ERROR' }),
    );
    expect(() => createGateway('RAZORPAY' as GatewayType)).toThrow(/No adapter for gateway RAZORPAY/);
  });

  test('STRIPE and PAYPAL without credentials are a configuration error', () => {
    expect(() => createGateway('STRIPE')).toThrow(expect.objectContaining({ code: 'CONFIGURATION_ERROR' }));
    expect(() => createGateway('PAYPAL')).toThrow(expect.objectContaining({ code: 'CONFIGURATION_ERROR' }));
  });

  test('MOCK needs nothing', () => {
    expect(createGateway('MOCK').type).toBe('MOCK');
  });
});
