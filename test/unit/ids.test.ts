import fc from 'fast-check';
import {
  DEFAULT_TASK_QUEUE,
  gatewayIdempotencyKey,
  parsePaymentWorkflowId,
  paymentWorkflowId,
} from '../../src/domain/ids';

const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,255}$/);

describe('paymentWorkflowId / parsePaymentWorkflowId', () => {
  it('round-trips any valid idempotency key without a merchant scope', () => {
    fc.assert(
      fc.property(segment, (key) => {
        const id = paymentWorkflowId(key);
        expect(id).toBe(`payment:${key}`);
        const parsed = parsePaymentWorkflowId(id);
        expect(parsed).toEqual({ idempotencyKey: key });
        expect(parsed).not.toHaveProperty('merchantScope');
      }),
    );
  });

  it('round-trips any valid idempotency key within a merchant scope', () => {
    fc.assert(
      fc.property(segment, segment, (key, scope) => {
        const id = paymentWorkflowId(key, scope);
        expect(parsePaymentWorkflowId(id)).toEqual({ idempotencyKey: key, merchantScope: scope });
      }),
    );
  });

  it('gives different IDs to different (scope, key) pairs, and a scoped ID never equals an unscoped one', () => {
    const scope = fc.option(segment, { nil: undefined });
    fc.assert(
      fc.property(segment, scope, segment, scope, (k1, s1, k2, s2) => {
        fc.pre(k1 !== k2 || s1 !== s2);
        expect(paymentWorkflowId(k1, s1)).not.toBe(paymentWorkflowId(k2, s2));
      }),
    );
  });

  it('is deterministic: the same key and scope always give the same ID', () => {
    expect(paymentWorkflowId('order_1')).toBe(paymentWorkflowId('order_1'));
    expect(paymentWorkflowId('order_1', 'shop-a')).toBe(paymentWorkflowId('order_1', 'shop-a'));
    expect(paymentWorkflowId('order_1', 'shop-a')).not.toBe(paymentWorkflowId('order_1', 'shop-b'));
  });

  it.each([
    ['a colon', 'order:1'],
    ['an empty string', ''],
    ['a space', 'order 1'],
    ['a slash', 'order/1'],
    ['a dot', 'order.1'],
    ['a non-ASCII letter', 'ordér'],
    ['a newline', 'order\n1'],
    ['256 characters', 'a'.repeat(256)],
  ])('throws for an idempotency key with %s', (_what, key) => {
    expect(() => paymentWorkflowId(key)).toThrow(/idempotency key/);
    expect(() => paymentWorkflowId(key, 'shop')).toThrow(/idempotency key/);
  });

  it.each([
    ['a colon', 'shop:a'],
    ['an empty string', ''],
    ['a space', 'shop a'],
    ['256 characters', 'a'.repeat(256)],
  ])('throws for a merchant scope with %s', (_what, scope) => {
    expect(() => paymentWorkflowId('order_1', scope)).toThrow(/merchant scope/);
  });

  it('accepts keys of exactly 1 and 255 characters', () => {
    expect(paymentWorkflowId('a')).toBe('payment:a');
    expect(parsePaymentWorkflowId(paymentWorkflowId('b'.repeat(255)))).toEqual({
      idempotencyKey: 'b'.repeat(255),
    });
  });

  it.each([
    'order_1',
    '',
    'payment',
    'payment:',
    'payment::',
    'payment:shop:',
    'payment:a:b:c',
    'Payment:order_1',
    'payments:order_1',
    'refund:order_1',
    'payment:order 1',
    'payment:' + 'a'.repeat(256),
    'x:payment:order_1',
    'c0ffee-run-id',
  ])('returns undefined when parsing the foreign ID %j', (id) => {
    expect(parsePaymentWorkflowId(id)).toBeUndefined();
  });
});

describe('gatewayIdempotencyKey', () => {
  it('is the same for the same payment, operation and attempt', () => {
    fc.assert(
      fc.property(
        segment,
        fc.constantFrom('charge', 'capture', 'refund'),
        fc.integer({ min: 1, max: 1000 }),
        (key, op, n) => {
          const id = paymentWorkflowId(key);
          expect(gatewayIdempotencyKey(id, op, n)).toBe(gatewayIdempotencyKey(id, op, n));
        },
      ),
    );
  });

  it('differs per attempt', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 1000 }), fc.integer({ min: 1, max: 1000 }), (a, b) => {
        fc.pre(a !== b);
        const id = paymentWorkflowId('order_1');
        expect(gatewayIdempotencyKey(id, 'charge', a)).not.toBe(gatewayIdempotencyKey(id, 'charge', b));
      }),
    );
  });

  it('differs per operation and per payment', () => {
    const id = paymentWorkflowId('order_1');
    const charge = gatewayIdempotencyKey(id, 'charge', 1);
    expect(gatewayIdempotencyKey(id, 'refund', 1)).not.toBe(charge);
    expect(gatewayIdempotencyKey(id, 'capture', 1)).not.toBe(charge);
    expect(gatewayIdempotencyKey(paymentWorkflowId('order_2'), 'charge', 1)).not.toBe(charge);
    expect(gatewayIdempotencyKey(paymentWorkflowId('order_1', 'shop'), 'charge', 1)).not.toBe(charge);
  });

  it('does not collide between attempt numbers that share digits (1, 11, 12, 21, 111)', () => {
    const id = paymentWorkflowId('order_1');
    const keys = [1, 11, 12, 21, 111].map((n) => gatewayIdempotencyKey(id, 'charge', n));
    expect(new Set(keys).size).toBe(keys.length);
  });
});

describe('DEFAULT_TASK_QUEUE', () => {
  it('is "aegispay"', () => {
    expect(DEFAULT_TASK_QUEUE).toBe('aegispay');
  });
});
