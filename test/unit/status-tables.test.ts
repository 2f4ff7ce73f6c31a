import type Stripe from 'stripe';
import { GatewayError, type OperationStatus } from '../../src/activities/gateways/gateway';
import { fitKey, keyParts, KEY_LIMITS } from '../../src/activities/gateways/gateway-keys';
import type { OutcomeRule } from '../../src/activities/gateways/error-taxonomy';
import {
  chargeResult as stripeChargeResult,
  intentLookup,
  refundLookup,
  STRIPE_OBJECTS,
  STRIPE_STATUS_TABLE,
} from '../../src/activities/gateways/stripe/adapter';
import {
  chargeLookup,
  chargeResult as paypalChargeResult,
  PAYPAL_OBJECTS,
  PAYPAL_STATUS_TABLE,
  paymentLookup,
  type PaypalOrder,
} from '../../src/activities/gateways/paypal/adapter';

/** The outcome an answer shows: done, or the GatewayError category it raises. */
function outcomeOf(fn: () => unknown): string {
  try {
    fn();
    return 'done';
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return err.category;
  }
}

/** The outcome model a lookup answer belongs to. */
function lookupOutcome(fn: () => OperationStatus): string {
  try {
    const status = fn();
    if (status.status === 'in_progress') return 'in-progress';
    if (status.status === 'failed') return status.category;
    if (status.status === 'not_found') return 'not_found';
    return 'done';
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    return err.category;
  }
}

/** What a row says a call answers (done, or a category) and what a lookup answers. */
function expected(rule: OutcomeRule): { call: string; lookup: string } {
  if (rule.outcome === 'done') return { call: 'done', lookup: 'done' };
  if (rule.outcome === 'not-done') {
    const category = rule.category ?? 'failover';
    return { call: category, lookup: rule.untraced ? 'not_found' : category };
  }
  return { call: rule.outcome, lookup: rule.outcome };
}

describe('Stripe status table', () => {
  const intent = (status: string, failed = false) =>
    ({
      id: 'pi_1',
      object: 'payment_intent',
      status: status.split(' ')[0],
      amount: 5000,
      amount_received: status === 'succeeded' ? 5000 : 0,
      currency: 'usd',
      capture_method: 'automatic',
      last_payment_error: failed
        ? { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds' }
        : null,
    }) as unknown as Stripe.PaymentIntent;

  test('documents every PaymentIntent and Refund status, once per object', () => {
    const statuses = (object: string) =>
      STRIPE_STATUS_TABLE.filter((r) => r.object === object).map((r) => r.status);
    const intentStatuses = [
      'requires_payment_method',
      'requires_payment_method (last_payment_error)',
      'requires_confirmation',
      'requires_action',
      'processing',
      'requires_capture',
      'canceled',
      'succeeded',
    ];
    for (const object of [STRIPE_OBJECTS.charge, STRIPE_OBJECTS.capture, STRIPE_OBJECTS.cancel]) {
      expect([...statuses(object)].sort()).toEqual([...intentStatuses].sort());
    }
    expect([...statuses(STRIPE_OBJECTS.refund)].sort()).toEqual(
      ['canceled', 'failed', 'pending', 'requires_action', 'succeeded'].sort(),
    );
    for (const rule of STRIPE_STATUS_TABLE) {
      expect(rule.why).not.toBe('');
      if (rule.outcome === 'not-done') expect(rule.category).toBeDefined();
    }
  });

  test.each(STRIPE_STATUS_TABLE.map((rule) => [rule.object, rule.status, rule] as const))(
    '%s %s: the adapter answers what the row says',
    (object, status, rule) => {
      const pi = intent(status, status.includes('last_payment_error'));
      const want = expected(rule);
      if (object === STRIPE_OBJECTS.refund) {
        const refund = { id: 're_1', status, amount: 5000, metadata: {} } as unknown as Stripe.Refund;
        expect(lookupOutcome(() => refundLookup(refund, intent('succeeded')))).toBe(want.lookup);
        return;
      }
      const operation =
        object === STRIPE_OBJECTS.charge
          ? 'charge'
          : object === STRIPE_OBJECTS.capture
            ? 'capture'
            : 'cancel';
      expect(lookupOutcome(() => intentLookup(pi, operation))).toBe(want.lookup);
      if (object === STRIPE_OBJECTS.charge) expect(outcomeOf(() => stripeChargeResult(pi))).toBe(want.call);
    },
  );

  test('a failed attempt found by lookup keeps its decline code and category', () => {
    expect(intentLookup(intent('requires_payment_method', true), 'charge')).toEqual({
      status: 'failed',
      code: 'insufficient_funds',
      category: 'decline',
    });
  });

  test('a processing_error attempt is not a decline: failover', () => {
    const pi = {
      ...intent('requires_payment_method'),
      last_payment_error: { type: 'card_error', code: 'processing_error' },
    } as unknown as Stripe.PaymentIntent;
    expect(intentLookup(pi, 'charge')).toMatchObject({ status: 'failed', category: 'failover' });
  });

  test('processing is in progress, for a charge and for its lookup', () => {
    expect(intentLookup(intent('processing'), 'charge')).toEqual({
      status: 'in_progress',
      code: 'payment_intent_processing',
      reference: 'pi_1',
    });
    expect(() => stripeChargeResult(intent('processing'))).toThrow(
      expect.objectContaining({ category: 'in-progress' }),
    );
  });

  test('a status no row documents is unknown, never "not done"', () => {
    expect(outcomeOf(() => stripeChargeResult(intent('requires_reauthorization')))).toBe('unknown');
  });
});

describe('PayPal status table', () => {
  const money = { currency_code: 'USD', value: '50.00' };
  const order = (intent: 'CAPTURE' | 'AUTHORIZE', status: string, payment?: string): PaypalOrder => ({
    id: 'ORDER1',
    intent,
    status,
    purchase_units: [
      {
        custom_id: 'k',
        amount: money,
        ...(payment
          ? {
              payments:
                intent === 'CAPTURE'
                  ? { captures: [{ id: 'CAP1', status: payment, amount: money }] }
                  : { authorizations: [{ id: 'AUTH1', status: payment, amount: money }] },
            }
          : {}),
      },
    ],
  });

  test('documents every order, capture, authorization and refund status', () => {
    const statuses = (object: string) =>
      PAYPAL_STATUS_TABLE.filter((r) => r.object === object)
        .map((r) => r.status)
        .sort();
    expect(statuses(PAYPAL_OBJECTS.order)).toEqual(
      ['APPROVED', 'COMPLETED', 'CREATED', 'PAYER_ACTION_REQUIRED', 'SAVED', 'VOIDED'].sort(),
    );
    expect(statuses(PAYPAL_OBJECTS.capture)).toEqual(
      ['COMPLETED', 'DECLINED', 'FAILED', 'PARTIALLY_REFUNDED', 'PENDING', 'REFUNDED'].sort(),
    );
    const auth = [
      'CAPTURED',
      'CREATED',
      'DENIED',
      'EXPIRED',
      'PARTIALLY_CAPTURED',
      'PENDING',
      'VOIDED',
    ].sort();
    expect(statuses(PAYPAL_OBJECTS.authorization)).toEqual(auth);
    expect(statuses(PAYPAL_OBJECTS.authorizationCapture)).toEqual(auth);
    expect(statuses(PAYPAL_OBJECTS.authorizationVoid)).toEqual(auth);
    expect(statuses(PAYPAL_OBJECTS.refund)).toEqual(['CANCELLED', 'COMPLETED', 'FAILED', 'PENDING']);
  });

  const rows = (object: string) =>
    PAYPAL_STATUS_TABLE.filter((r) => r.object === object).map((r) => [r.status, r] as const);

  test.each(rows(PAYPAL_OBJECTS.capture))('a charge whose capture is %s', (status, rule) => {
    const o = order('CAPTURE', 'COMPLETED', status);
    expect(outcomeOf(() => paypalChargeResult(o))).toBe(expected(rule).call);
    expect(lookupOutcome(() => chargeLookup(o))).toBe(expected(rule).lookup);
    expect(
      lookupOutcome(() => paymentLookup('capture', o.purchase_units![0]!.payments!.captures![0]!, money)),
    ).toBe(expected(rule).lookup);
  });

  test.each(rows(PAYPAL_OBJECTS.authorization))('an authorization charge that is %s', (status, rule) => {
    const o = order('AUTHORIZE', 'COMPLETED', status);
    expect(outcomeOf(() => paypalChargeResult(o))).toBe(expected(rule).call);
    expect(lookupOutcome(() => chargeLookup(o))).toBe(expected(rule).lookup);
  });

  test.each([...rows(PAYPAL_OBJECTS.authorizationCapture), ...rows(PAYPAL_OBJECTS.authorizationVoid)])(
    'a capture or void lookup of an authorization that is %s',
    (status, rule) => {
      const object =
        rule.object === PAYPAL_OBJECTS.authorizationVoid ? 'authorizationVoid' : 'authorizationCapture';
      const auth = { id: 'AUTH1', status, amount: money };
      expect(lookupOutcome(() => paymentLookup(object, auth, money))).toBe(expected(rule).lookup);
    },
  );

  test.each(rows(PAYPAL_OBJECTS.refund))('a refund lookup of a %s refund', (status, rule) => {
    expect(lookupOutcome(() => paymentLookup('refund', { id: 'R1', status, amount: money }, money))).toBe(
      expected(rule).lookup,
    );
  });

  test.each(rows(PAYPAL_OBJECTS.order).filter(([status]) => status !== 'COMPLETED'))(
    'an order that is %s, with no payment yet',
    (status, rule) => {
      const o = order('CAPTURE', status);
      expect(lookupOutcome(() => chargeLookup(o))).toBe(expected(rule).lookup);
    },
  );

  test('a PENDING capture is in progress: never unknown on charge, never not_found on lookup', () => {
    const o = order('CAPTURE', 'COMPLETED', 'PENDING');
    expect(() => paypalChargeResult(o)).toThrow(expect.objectContaining({ category: 'in-progress' }));
    expect(chargeLookup(o)).toEqual({ status: 'in_progress', code: 'CAPTURE_PENDING', reference: 'ORDER1' });
  });

  test('a COMPLETED order without its payment is unknown, never "not charged"', () => {
    expect(outcomeOf(() => paypalChargeResult(order('CAPTURE', 'COMPLETED')))).toBe('unknown');
    expect(lookupOutcome(() => chargeLookup(order('CAPTURE', 'COMPLETED')))).toBe('unknown');
  });
});

describe('gateway keys', () => {
  const long = `payment:${'s'.repeat(40)}:${'k'.repeat(255)}:refund:re_${'0'.repeat(32)}`;

  test.each(Object.entries(KEY_LIMITS))(
    '%s: a long key fits in %d characters, deterministically',
    (_, max) => {
      const fitted = fitKey(long, max);
      expect(fitted.length).toBeLessThanOrEqual(max);
      expect(fitKey(long, max)).toBe(fitted);
      expect(fitKey(`${long}x`, max)).not.toBe(fitted);
    },
  );

  test('a key that fits is sent unchanged', () => {
    expect(fitKey('payment:abc:charge:1', KEY_LIMITS.paypalRequestId)).toBe('payment:abc:charge:1');
  });

  test('keys that share their first characters still map apart', () => {
    const a = fitKey(`${'k'.repeat(300)}:charge:1`, KEY_LIMITS.stripeIdempotencyKey);
    const b = fitKey(`${'k'.repeat(300)}:charge:2`, KEY_LIMITS.stripeIdempotencyKey);
    expect(a).not.toBe(b);
  });

  test('keyParts reads payment ID and operation from the end of a workflow key', () => {
    expect(keyParts('payment:scope:my:key:capture:1')).toEqual({
      paymentId: 'payment:scope:my:key',
      operation: 'capture',
    });
    expect(keyParts('payment:k:refund:re_abc')).toEqual({ paymentId: 'payment:k', operation: 'refund' });
    expect(keyParts('some-other-key')).toBeUndefined();
  });
});
