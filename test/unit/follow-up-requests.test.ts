import fc from 'fast-check';
import type { CurrencyCode } from '../../src/domain/currencies';
import { ValidationError } from '../../src/domain/errors';
import {
  checkCancelRequest,
  checkCaptureRequest,
  checkRefundRequest,
  followUpRequestIssues,
  jsonByteSize,
  MAX_REJECTED_PAYLOAD_BYTES,
  REFUND_AMOUNT_REQUIRED,
  summarizeRejectedPayload,
  withFullRefundByDefault,
  type FollowUpKind,
} from '../../src/domain/follow-up-requests';
import { resolveCancel, resolveCapture, resolveRefund } from '../../src/domain/lifecycle';
import { formatMinor } from '../../src/domain/money';
import type { Payment, PaymentState } from '../../src/domain/types';

const MEGABYTE = 'x'.repeat(1024 * 1024);
const CARD = '4242424242424242';

/** The fields the lifecycle rules read; the rest of a payment view does not matter to them. */
function payment(
  state: PaymentState,
  minor: number,
  currency: CurrencyCode = 'USD',
  amounts: Partial<Payment['amounts']> = {},
): Payment {
  const captured = state === 'AUTHORIZED' ? 0 : minor;
  return {
    id: 'payment:test',
    state,
    amount: { amount: minor, currency },
    amounts: { authorized: minor, captured, refunded: 0, ...amounts },
    refunds: [],
  } as unknown as Payment;
}

/** The issues a ValidationError thrown by `run` names, or a failure when something else happened. */
function issuesOf(run: () => unknown): { path: string; message: string }[] {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

const paths = (kind: FollowUpKind, input: unknown) => followUpRequestIssues(kind, input).map((i) => i.path);

describe('refund requests say how much', () => {
  const paid = payment('SUCCESS', 10_000);

  it.each<[string, unknown]>([
    ['no payload', undefined],
    ['null', null],
    ['{}', {}],
    ['amount: null', { amount: null }],
    ['amount: ""', { amount: '' }],
    ['amount: "   "', { amount: '   ' }],
    ['amount: undefined', { amount: undefined }],
    ['only a reason', { reason: 'damaged' }],
    ['only a refundId', { refundId: 'rf_1' }],
    ['full: false', { full: false }],
  ])('%s is refused with "amount or full: true is required" and refunds nothing', (_name, input) => {
    const issues = issuesOf(() => resolveRefund(paid, input, 0));
    expect(issues.some((i) => i.message.includes(REFUND_AMOUNT_REQUIRED))).toBe(true);
  });

  it('null is not {}: both are refused, each with its own reason', () => {
    expect(followUpRequestIssues('refund', null)).toEqual([
      { path: '', message: expect.stringContaining('got null') as string },
    ]);
    expect(followUpRequestIssues('refund', {})).toEqual([
      { path: 'amount', message: REFUND_AMOUNT_REQUIRED },
    ]);
  });

  it('full: true refunds what is left; amount refunds that much', () => {
    const partly = payment('PARTIALLY_REFUNDED', 10_000, 'USD', { refunded: 2_500 });
    expect(resolveRefund(partly, { full: true }, 0)).toEqual({ kind: 'new', amount: 7_500 });
    expect(resolveRefund(partly, { full: true }, 500)).toEqual({ kind: 'new', amount: 7_000 });
    expect(resolveRefund(partly, { amount: '12.34', reason: 'r', refundId: 'rf_2' }, 0)).toEqual({
      kind: 'new',
      amount: 1_234,
    });
  });

  it('amount and full: true together are refused, naming full', () => {
    expect(paths('refund', { amount: 5, full: true })).toEqual(['full']);
    expect(paths('refund', { amount: 5, full: 'yes' })).toEqual(['full']);
  });

  it('a request is checked before an earlier refund with its refundId is looked up', () => {
    const earlier = { id: 'rf_1', amount: 100, status: 'succeeded' as const, at: '2030-01-01T00:00:00Z' };
    const refunded = { ...paid, refunds: [earlier] };
    expect(resolveRefund(refunded, { refundId: 'rf_1', full: true }, 0)).toEqual({
      kind: 'existing',
      refund: earlier,
    });
    expect(() => resolveRefund(refunded, { refundId: 'rf_1' }, 0)).toThrow(ValidationError);
  });
});

describe('every field is checked for type, range, unit and length', () => {
  const badAmounts: [string, unknown][] = [
    ['a boolean', true],
    ['an array', [5]],
    ['an object', { value: 5 }],
    ['zero', 0],
    ['"0"', '0'],
    ['"0.00"', '0.00'],
    ['negative', -1],
    ['"-1"', '-1'],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['"NaN"', 'NaN'],
    ['"Infinity"', 'Infinity'],
    ['"1e3"', '1e3'],
    ['"0x10"', '0x10'],
    ['"+5"', '+5'],
    ['" 5"', ' 5'],
    ['"5."', '5.'],
    ['".5"', '.5'],
    ['"1,000"', '1,000'],
    ['"1_000"', '1_000'],
    ['over the maximum', 1_000_000_000],
    ['a megabyte string', MEGABYTE],
    ['a megabyte of digits', '9'.repeat(1024 * 1024)],
  ];

  it.each(badAmounts)('refund and capture refuse an amount that is %s, naming amount', (_name, amount) => {
    expect(paths('refund', { amount })).toEqual(['amount']);
    expect(paths('capture', { amount })).toEqual(['amount']);
  });

  it.each<[CurrencyCode, unknown]>([
    ['USD', '10.001'],
    ['USD', 0.001],
    ['USD', 0.1 + 0.2],
    ['USD', 1e-7],
    ['JPY', '10.5'],
    ['BHD', '1.0001'],
  ])('amounts are major units of the payment currency: %s %s is refused', (currency, amount) => {
    const issues = issuesOf(() => resolveRefund(payment('SUCCESS', 1_000_000, currency), { amount }, 0));
    expect(issues.map((i) => i.path)).toEqual(['amount']);
    const authorized = payment('AUTHORIZED', 1_000_000, currency);
    expect(issuesOf(() => resolveCapture(authorized, { amount })).map((i) => i.path)).toEqual(['amount']);
  });

  it('amounts in exponent notation numbers and with trailing zeros are exact', () => {
    expect(resolveRefund(payment('SUCCESS', 100_000), { amount: 1e2 }, 0)).toEqual({
      kind: 'new',
      amount: 10_000,
    });
    expect(resolveRefund(payment('SUCCESS', 100_000), { amount: '10.500' }, 0)).toEqual({
      kind: 'new',
      amount: 1_050,
    });
    expect(resolveRefund(payment('SUCCESS', 100_000, 'JPY'), { amount: 500 }, 0)).toEqual({
      kind: 'new',
      amount: 500,
    });
  });

  it('reason and refundId: strings of bounded length and shape', () => {
    for (const reason of [5, null, undefined, true, ['x'], { text: 'x' }, 'r'.repeat(501), MEGABYTE]) {
      expect(paths('refund', { full: true, reason })).toEqual(['reason']);
      expect(paths('cancel', { reason })).toEqual(['reason']);
    }
    for (const refundId of ['', 'has space', 'r'.repeat(256), 'ü', 5, null, MEGABYTE]) {
      expect(paths('refund', { full: true, refundId })).toEqual(['refundId']);
    }
    expect(paths('refund', { full: true, reason: 'r'.repeat(500), refundId: 'r'.repeat(255) })).toEqual([]);
  });

  it('names every bad field at once, unknown ones included', () => {
    const issues = followUpRequestIssues('refund', {
      amount: -1,
      reason: 5,
      refundId: '',
      full: 1,
      extra: 1,
    });
    expect(issues.map((i) => i.path).sort()).toEqual(['', 'amount', 'full', 'reason', 'refundId']);
    expect(issues.find((i) => i.path === '')!.message).toContain('"extra"');
  });

  it('keeps messages short and free of card numbers whatever the keys', () => {
    const hostile: Record<string, unknown> = { [MEGABYTE]: 1, [CARD]: 2, ['\u0000'.repeat(10)]: 3 };
    for (let i = 0; i < 10_000; i++) hostile[`k${i}`] = i;
    for (const kind of ['capture', 'cancel', 'refund'] as const) {
      const message = followUpRequestIssues(kind, hostile)
        .map((i) => i.message)
        .join('\n');
      expect(message.length).toBeLessThan(1_000);
      expect(message).not.toContain(CARD);
      expect(message).toMatch(/and \d+ more/);
    }
  });

  it('objects only: arrays, strings, numbers, booleans and class instances are refused at the root', () => {
    for (const input of [[], [{ amount: 5 }], 'amount=5', 5, true, new Date(), new Map()]) {
      for (const kind of ['capture', 'cancel', 'refund'] as const) expect(paths(kind, input)).toEqual(['']);
    }
  });

  it('unreadable input is refused, not thrown through', () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(paths('refund', revoked.proxy)).toEqual(['']);
    const throwing = Object.defineProperty({}, 'amount', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(paths('capture', throwing)).toEqual(['']);
  });

  it('a checked request holds only the known fields', () => {
    expect(checkRefundRequest({ amount: '5', reason: 'r', refundId: 'a' })).toEqual({
      amount: '5',
      reason: 'r',
      refundId: 'a',
    });
    // JSON.parse makes `__proto__` an own key: an unknown field, never a prototype that supplies an amount.
    const sneaky: unknown = JSON.parse('{"full": true, "__proto__": {"amount": 1}}');
    expect(paths('refund', sneaky)).toEqual(['']);
    expect(() => checkRefundRequest(sneaky)).toThrow(ValidationError);
  });
});

describe('capture and cancel without a payload', () => {
  const authorized = payment('AUTHORIZED', 5_000);

  it('capture: no payload or {} takes the whole authorization; null and empty amounts are refused', () => {
    expect(resolveCapture(authorized, undefined)).toBe(5_000);
    expect(resolveCapture(authorized, {})).toBe(5_000);
    expect(resolveCapture(authorized, { amount: '20' })).toBe(2_000);
    expect(issuesOf(() => resolveCapture(authorized, null))).toEqual([
      { path: '', message: expect.stringContaining('got null') as string },
    ]);
    for (const amount of [null, '', undefined]) {
      expect(issuesOf(() => resolveCapture(authorized, { amount })).map((i) => i.path)).toEqual(['amount']);
    }
    expect(checkCaptureRequest(undefined)).toEqual({});
  });

  it('cancel: no payload and null are a plain cancel; everything else is strict', () => {
    expect(checkCancelRequest(undefined)).toEqual({});
    expect(checkCancelRequest(null)).toEqual({});
    expect(resolveCancel(authorized, null)).toEqual({});
    expect(resolveCancel(authorized, { reason: 'ops' })).toEqual({ reason: 'ops' });
    expect(paths('cancel', {})).toEqual([]);
    expect(paths('cancel', { reason: 'x', amount: 5 })).toEqual(['']);
    expect(paths('cancel', 'please')).toEqual(['']);
    expect(() => resolveCancel(payment('SUCCESS', 5_000), {})).toThrow(/cannot|Cannot/);
  });
});

describe('withFullRefundByDefault (what refundPayment sends)', () => {
  it('adds full: true only when application code names neither amount nor full', () => {
    expect(withFullRefundByDefault({})).toEqual({ full: true });
    expect(withFullRefundByDefault({ reason: 'r', refundId: 'a' })).toEqual({
      reason: 'r',
      refundId: 'a',
      full: true,
    });
    expect(withFullRefundByDefault({ amount: 5 })).toEqual({ amount: 5 });
  });

  it('never turns an empty amount or a null request into a full refund', () => {
    for (const input of [null, { amount: undefined }, { amount: null }, { amount: '' }, { full: false }]) {
      expect(followUpRequestIssues('refund', withFullRefundByDefault(input)).length).toBeGreaterThan(0);
    }
  });
});

describe('summarizeRejectedPayload and jsonByteSize', () => {
  it('keeps a small plain payload whole', () => {
    expect(summarizeRejectedPayload({ amount: 100, reason: 'too much' })).toEqual({
      amount: 100,
      reason: 'too much',
    });
    expect(summarizeRejectedPayload(null)).toBeNull();
    expect(summarizeRejectedPayload(undefined)).toBeUndefined();
  });

  it('cuts a large payload to a marked preview with the original size', () => {
    const input = { reason: MEGABYTE, [MEGABYTE]: 1, list: Array.from({ length: 1000 }, (_, i) => i) };
    const summary = summarizeRejectedPayload(input) as {
      truncated: boolean;
      bytes: number;
      preview: unknown;
    };
    expect(summary).toMatchObject({ truncated: true, bytes: jsonByteSize(input) });
    expect(jsonByteSize(summary)).toBeLessThanOrEqual(MAX_REJECTED_PAYLOAD_BYTES);
    expect(JSON.stringify(summary.preview)).toContain('"reason":"xxx');
  });

  it('hides card-like digit runs, also in keys and when a cut would split them', () => {
    const spaced = '4242 4242 4242 4242';
    const input = { reason: `card ${spaced}`, [CARD]: 1, long: `${'y'.repeat(60)}${CARD}` };
    const text = JSON.stringify(summarizeRejectedPayload(input));
    expect(text).not.toMatch(/\d{5}/);
    expect(text).not.toContain(spaced);
    expect(text).toContain('"truncated":true');
  });

  it('jsonByteSize counts UTF-8 bytes and is Infinity for what JSON cannot write', () => {
    expect(jsonByteSize({ a: 'é€😀' })).toBe(Buffer.byteLength(JSON.stringify({ a: 'é€😀' })));
    expect(jsonByteSize('\ud800')).toBe(Buffer.byteLength(JSON.stringify('\ud800')));
    expect(jsonByteSize(undefined)).toBe(0);
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    expect(jsonByteSize(cycle)).toBe(Number.POSITIVE_INFINITY);
    expect(jsonByteSize({ n: 1n })).toBe(Number.POSITIVE_INFINITY);
    expect(summarizeRejectedPayload(cycle)).toMatchObject({ truncated: true });
  });
});

describe('properties', () => {
  const CURRENCIES: CurrencyCode[] = ['USD', 'JPY', 'BHD', 'CLF'];

  /** Amount-like values: numbers, decimal strings (good and bad), and anything JSON can hold. */
  const amountLike = fc.oneof(
    fc.double({ noNaN: false }),
    fc.integer({ min: -10, max: 100_000 }),
    fc.stringMatching(/^-?\d{0,6}(\.\d{0,5})?$/),
    fc.constantFrom('', ' ', 'null', 'NaN', '1e3', '0', '0.00'),
    fc.jsonValue({ maxDepth: 2 }),
  );
  /** Requests shaped like each kind, with noise, plus arbitrary JSON. */
  const anyRequest = fc.oneof(
    fc.record(
      {
        amount: amountLike,
        full: fc.oneof(fc.constant(true), fc.jsonValue({ maxDepth: 1 })),
        reason: fc.oneof(fc.string({ maxLength: 20 }), fc.jsonValue({ maxDepth: 1 })),
        refundId: fc.oneof(fc.stringMatching(/^[a-z0-9_]{1,8}$/), fc.jsonValue({ maxDepth: 1 })),
      },
      { requiredKeys: [] },
    ),
    fc.record({ amount: amountLike }, { requiredKeys: [] }),
    fc.record({ reason: fc.string({ maxLength: 20 }) }, { requiredKeys: [] }),
    fc.jsonValue({ maxDepth: 3 }),
    fc.constantFrom(undefined, null),
  );

  it('no request refunds everything unless it says full: true (or names exactly that amount)', () => {
    fc.assert(
      fc.property(anyRequest, fc.constantFrom(...CURRENCIES), (input, currency) => {
        const available = 123_456;
        let decision;
        try {
          decision = resolveRefund(payment('SUCCESS', available, currency), input, 0);
        } catch {
          return; // refused: nothing refunded
        }
        if (decision.kind !== 'new' || decision.amount !== available) return;
        const asked = input as { full?: unknown; amount?: unknown };
        const namedAll = Number(asked.amount) === Number(formatMinor(available, currency));
        expect(asked.full === true || namedAll).toBe(true);
      }),
      { numRuns: 3_000 },
    );
  });

  it('an accepted refund is positive, whole minor units, within what is left, and exactly the amount asked', () => {
    fc.assert(
      fc.property(
        amountLike,
        fc.constantFrom(...CURRENCIES),
        fc.integer({ min: 1, max: 10_000_000 }),
        (amount, currency, available) => {
          let decision;
          try {
            decision = resolveRefund(payment('SUCCESS', available, currency), { amount }, 0);
          } catch {
            return;
          }
          if (decision.kind !== 'new') throw new Error('no earlier refund exists');
          expect(Number.isSafeInteger(decision.amount)).toBe(true);
          expect(decision.amount).toBeGreaterThan(0);
          expect(decision.amount).toBeLessThanOrEqual(available);
          // Within the currency's decimals: the minor units written back are the same number.
          expect(Number(formatMinor(decision.amount, currency))).toBe(Number(amount));
        },
      ),
      { numRuns: 3_000 },
    );
  });

  it('capture and cancel never accept null-like junk as anything but their documented defaults', () => {
    fc.assert(
      fc.property(anyRequest, (input) => {
        const captureOk = followUpRequestIssues('capture', input).length === 0;
        if (captureOk && input !== undefined) {
          expect(typeof input === 'object' && input !== null && !Array.isArray(input)).toBe(true);
        }
        const cancelOk = followUpRequestIssues('cancel', input).length === 0;
        if (cancelOk && input !== undefined && input !== null) {
          expect(typeof input === 'object' && !Array.isArray(input)).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('the summary of any payload is at most 1 KB of JSON and marks anything it left out', () => {
    const bulky = fc.oneof(
      fc.jsonValue({ maxDepth: 6 }),
      fc.anything({ maxDepth: 4, withBigInt: true, withNullPrototype: true }),
      fc.dictionary(fc.string({ maxLength: 300 }), fc.string({ maxLength: 3_000 }), { maxKeys: 60 }),
      fc.array(fc.string({ unit: 'grapheme', maxLength: 500 }), { maxLength: 40 }),
      fc.string({ unit: 'binary', maxLength: 5_000 }),
    );
    fc.assert(
      fc.property(bulky, (input) => {
        const summary = summarizeRejectedPayload(input);
        expect(jsonByteSize(summary)).toBeLessThanOrEqual(MAX_REJECTED_PAYLOAD_BYTES);
        if (jsonByteSize(input) > MAX_REJECTED_PAYLOAD_BYTES) {
          expect(summary).toMatchObject({ truncated: true });
        }
      }),
      { numRuns: 1_000 },
    );
  });
});
