import { checkMetadata } from '../../src/domain/metadata';
import fc from 'fast-check';
import { z } from 'zod';
import { ValidationError } from '../../src/domain/errors';
import { followUpRequestIssues } from '../../src/domain/follow-up-requests';
import {
  METADATA_MAX_BYTES,
  METADATA_MAX_KEYS,
  METADATA_MAX_STRING_LENGTH,
  metadataSchema,
  sanitizeMetadata,
} from '../../src/domain/metadata';
import {
  cancelPaymentRequestSchema,
  capturePaymentRequestSchema,
  parseOrThrow,
  processPaymentRequestSchema,
  refundPaymentRequestSchema,
  validateCreatePaymentRequest,
  zodIssuesToValidationIssues,
} from '../../src/domain/validation';

const now = new Date();
const nextYear = now.getUTCFullYear() + 1;

/** A request under construction: tests poke at arbitrary fields, so it is deliberately untyped. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Req = any;

/** A fresh valid request; tests mutate their own copy. */
function validRequest(): Req {
  return {
    idempotencyKey: 'order-123_a',
    amount: '99.99',
    currency: 'USD',
    customer: { id: 'cust_1', email: 'jane@example.com', name: 'Jane Doe', phone: '+1 (555) 010-0000' },
    paymentMethod: {
      type: 'CARD',
      details: {
        cardNumber: '4242 4242 4242 4242',
        expiryMonth: '12',
        expiryYear: nextYear,
        cvv: '123',
        cardHolderName: 'Jane Doe',
      },
    },
    metadata: { orderId: 'A-1', quantity: 2, gift: false },
    captureMethod: 'manual',
    gatewayType: 'STRIPE',
  };
}

/** Runs the validator and returns the ValidationError it must throw. */
function rejectionOf(input: unknown): ValidationError {
  try {
    validateCreatePaymentRequest(input, now);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return err as ValidationError;
  }
  throw new Error('expected a ValidationError');
}

function issuePaths(input: unknown): string[] {
  return rejectionOf(input).issues.map((i) => i.path);
}

function withChange(change: (r: Req) => void): unknown {
  const r = validRequest();
  change(r);
  return r;
}

describe('validateCreatePaymentRequest: valid requests', () => {
  it('accepts a valid card request and adds amountMinor', () => {
    const result = validateCreatePaymentRequest(validRequest(), now);
    expect(result.amountMinor).toBe(9999);
    expect(result.currency).toBe('USD');
    expect(result.captureMethod).toBe('manual');
    expect(result.gatewayType).toBe('STRIPE');
    expect(result.metadata).toEqual({ orderId: 'A-1', quantity: 2, gift: false });
    expect(result.paymentMethod).toEqual({
      type: 'CARD',
      details: {
        cardNumber: '4242424242424242',
        expiryMonth: 12,
        expiryYear: nextYear,
        cvv: '123',
        cardHolderName: 'Jane Doe',
      },
    });
  });

  it('defaults captureMethod to automatic and metadata to {}', () => {
    const r = withChange((r) => {
      delete r.captureMethod;
      delete r.metadata;
      delete r.gatewayType;
    });
    const result = validateCreatePaymentRequest(r, now);
    expect(result.captureMethod).toBe('automatic');
    expect(result.metadata).toEqual({});
  });

  it.each([
    [99.99, 'USD', 9999],
    ['1000', 'JPY', 1000],
    ['1.234', 'BHD', 1234],
    [999_999_999, 'USD', 99_999_999_900],
  ])('parses amount %j %s as %d minor units', (amount, currency, minor) => {
    expect(
      validateCreatePaymentRequest(
        withChange((r) => Object.assign(r, { amount, currency })),
        now,
      ).amountMinor,
    ).toBe(minor);
  });

  it.each(['tok_visa', 'tok_mastercard', 'tok_chargeDeclined', 'pm_card_visa', 'tok_mock_abc'])(
    'accepts the token %s without a CVV',
    (token) => {
      const r = withChange(
        (r) => (r.paymentMethod.details = { cardNumber: token, expiryMonth: 12, expiryYear: nextYear }),
      );
      const result = validateCreatePaymentRequest(r, now);
      expect(result.paymentMethod.details).toEqual({
        cardNumber: token,
        expiryMonth: 12,
        expiryYear: nextYear,
      });
    },
  );

  it.each(['4242424242424242', '4000000000000002', '4000000000009995', '4000000000000119'])(
    'accepts the Stripe test card %s',
    (pan) => {
      expect(() =>
        validateCreatePaymentRequest(
          withChange((r) => (r.paymentMethod.details.cardNumber = pan)),
          now,
        ),
      ).not.toThrow();
    },
  );

  it('accepts an amex card with a 4-digit CVV', () => {
    const r = withChange((r) =>
      Object.assign(r.paymentMethod.details, { cardNumber: '3782-822463-10005', cvv: '1234' }),
    );
    expect(validateCreatePaymentRequest(r, now).paymentMethod.details).toMatchObject({
      cardNumber: '378282246310005',
    });
  });

  it('accepts a 2-digit year and a card expiring this month', () => {
    const twoDigit = String(nextYear % 100).padStart(2, '0');
    const r1 = withChange((r) => (r.paymentMethod.details.expiryYear = twoDigit));
    expect(validateCreatePaymentRequest(r1, now).paymentMethod.details).toMatchObject({
      expiryYear: nextYear,
    });
    const r2 = withChange((r) =>
      Object.assign(r.paymentMethod.details, {
        expiryMonth: now.getUTCMonth() + 1,
        expiryYear: String(now.getUTCFullYear()),
      }),
    );
    expect(() => validateCreatePaymentRequest(r2, now)).not.toThrow();
  });

  it('accepts non-card methods with or without flat details', () => {
    const upi = withChange(
      (r) => (r.paymentMethod = { type: 'UPI', details: { vpa: 'jane@upi', retries: 1, primary: true } }),
    );
    expect(validateCreatePaymentRequest(upi, now).paymentMethod).toEqual({
      type: 'UPI',
      details: { vpa: 'jane@upi', retries: 1, primary: true },
    });
    const wallet = withChange((r) => (r.paymentMethod = { type: 'WALLET' }));
    expect(validateCreatePaymentRequest(wallet, now).paymentMethod.type).toBe('WALLET');
  });

  it('accepts a customer with only an id', () => {
    expect(
      validateCreatePaymentRequest(
        withChange((r) => (r.customer = { id: 'c' })),
        now,
      ).customer,
    ).toEqual({ id: 'c' });
  });
});

describe('validateCreatePaymentRequest: one rule at a time', () => {
  const long = (n: number) => 'a'.repeat(n);
  const expired = now.getUTCFullYear() - 1;
  // [rule, change to a valid request, path that must be reported]
  const rules: [string, (r: Req) => void, string][] = [
    ['idempotencyKey missing', (r) => delete r.idempotencyKey, 'idempotencyKey'],
    ['idempotencyKey empty', (r) => (r.idempotencyKey = ''), 'idempotencyKey'],
    ['idempotencyKey > 255 chars', (r) => (r.idempotencyKey = long(256)), 'idempotencyKey'],
    ['idempotencyKey with a bad character', (r) => (r.idempotencyKey = 'order 1'), 'idempotencyKey'],
    ['idempotencyKey not a string', (r) => (r.idempotencyKey = 12), 'idempotencyKey'],
    ['amount missing', (r) => delete r.amount, 'amount'],
    ['amount zero', (r) => (r.amount = 0), 'amount'],
    ['amount negative', (r) => (r.amount = -5), 'amount'],
    ['amount negative string', (r) => (r.amount = '-5'), 'amount'],
    ['amount above 999,999,999', (r) => (r.amount = 1_000_000_000), 'amount'],
    ['amount NaN', (r) => (r.amount = NaN), 'amount'],
    ['amount Infinity', (r) => (r.amount = Infinity), 'amount'],
    ['amount with too many decimals', (r) => (r.amount = '1.999'), 'amount'],
    ['amount with decimals in JPY', (r) => Object.assign(r, { amount: '10.5', currency: 'JPY' }), 'amount'],
    ['amount not a decimal', (r) => (r.amount = '12abc'), 'amount'],
    ['amount boolean', (r) => (r.amount = true), 'amount'],
    ['currency missing', (r) => delete r.currency, 'currency'],
    ['currency unknown', (r) => (r.currency = 'XYZ'), 'currency'],
    ['currency lower case', (r) => (r.currency = 'usd'), 'currency'],
    ['currency __proto__', (r) => (r.currency = '__proto__'), 'currency'],
    ['customer missing', (r) => delete r.customer, 'customer'],
    ['customer.id missing', (r) => delete r.customer.id, 'customer.id'],
    ['customer.id empty', (r) => (r.customer.id = ''), 'customer.id'],
    ['customer.id > 255 chars', (r) => (r.customer.id = long(256)), 'customer.id'],
    ['customer.id with a control character', (r) => (r.customer.id = 'a\nb'), 'customer.id'],
    ['customer.email invalid', (r) => (r.customer.email = 'not-an-email'), 'customer.email'],
    ['customer.name > 200 chars', (r) => (r.customer.name = long(201)), 'customer.name'],
    ['customer.phone < 10 chars', (r) => (r.customer.phone = '12345'), 'customer.phone'],
    ['customer.phone with letters', (r) => (r.customer.phone = 'call me maybe'), 'customer.phone'],
    ['customer unknown field', (r) => (r.customer.age = 3), 'customer'],
    ['paymentMethod missing', (r) => delete r.paymentMethod, 'paymentMethod'],
    ['paymentMethod.type unknown', (r) => (r.paymentMethod.type = 'CRYPTO'), 'paymentMethod.type'],
    ['card details missing', (r) => delete r.paymentMethod.details, 'paymentMethod.details'],
    ['card details unknown field', (r) => (r.paymentMethod.details.pin = '1234'), 'paymentMethod.details'],
    [
      'cardNumber missing',
      (r) => delete r.paymentMethod.details.cardNumber,
      'paymentMethod.details.cardNumber',
    ],
    [
      'cardNumber too short',
      (r) => (r.paymentMethod.details.cardNumber = '42424242424'),
      'paymentMethod.details.cardNumber',
    ],
    [
      'cardNumber too long',
      (r) => (r.paymentMethod.details.cardNumber = '42424242424242424242'),
      'paymentMethod.details.cardNumber',
    ],
    [
      'cardNumber with letters',
      (r) => (r.paymentMethod.details.cardNumber = '4242abcd42424242'),
      'paymentMethod.details.cardNumber',
    ],
    [
      'cardNumber failing Luhn',
      (r) => (r.paymentMethod.details.cardNumber = '4242424242424241'),
      'paymentMethod.details.cardNumber',
    ],
    [
      'cardNumber a number',
      (r) => (r.paymentMethod.details.cardNumber = 4242424242424242),
      'paymentMethod.details.cardNumber',
    ],
    [
      'expiryMonth 13',
      (r) => (r.paymentMethod.details.expiryMonth = 13),
      'paymentMethod.details.expiryMonth',
    ],
    [
      'expiryMonth 0',
      (r) => (r.paymentMethod.details.expiryMonth = '00'),
      'paymentMethod.details.expiryMonth',
    ],
    [
      'expiryMonth missing',
      (r) => delete r.paymentMethod.details.expiryMonth,
      'paymentMethod.details.expiryMonth',
    ],
    [
      'expiryYear 3 digits',
      (r) => (r.paymentMethod.details.expiryYear = '203'),
      'paymentMethod.details.expiryYear',
    ],
    [
      'expiryYear missing',
      (r) => delete r.paymentMethod.details.expiryYear,
      'paymentMethod.details.expiryYear',
    ],
    [
      'card expired',
      (r) => (r.paymentMethod.details.expiryYear = expired),
      'paymentMethod.details.expiryYear',
    ],
    ['cvv missing for a card number', (r) => delete r.paymentMethod.details.cvv, 'paymentMethod.details.cvv'],
    ['cvv 4 digits for visa', (r) => (r.paymentMethod.details.cvv = '1234'), 'paymentMethod.details.cvv'],
    [
      'cvv 3 digits for amex',
      (r) => Object.assign(r.paymentMethod.details, { cardNumber: '378282246310005', cvv: '123' }),
      'paymentMethod.details.cvv',
    ],
    ['cvv a number', (r) => (r.paymentMethod.details.cvv = 123), 'paymentMethod.details.cvv'],
    [
      'cvv malformed for a token',
      (r) => Object.assign(r.paymentMethod.details, { cardNumber: 'tok_visa', cvv: '12' }),
      'paymentMethod.details.cvv',
    ],
    [
      'cardHolderName > 200 chars',
      (r) => (r.paymentMethod.details.cardHolderName = long(201)),
      'paymentMethod.details.cardHolderName',
    ],
    [
      'non-card details nested',
      (r) => (r.paymentMethod = { type: 'UPI', details: { vpa: { x: 1 } } }),
      'paymentMethod.details.vpa',
    ],
    [
      'non-card details not an object',
      (r) => (r.paymentMethod = { type: 'UPI', details: 'jane@upi' }),
      'paymentMethod.details',
    ],
    ['metadata bad key', (r) => (r.metadata = { 'bad-key': 1 }), 'metadata.bad-key'],
    ['captureMethod unknown', (r) => (r.captureMethod = 'later'), 'captureMethod'],
    ['gatewayType unknown', (r) => (r.gatewayType = 'BANK_OF_MUM'), 'gatewayType'],
  ];

  it.each(rules)('%s → reported on its path', (_rule, change, path) => {
    const issues = rejectionOf(withChange(change)).issues;
    expect(issues.map((i) => i.path)).toEqual([path]);
    expect(issues[0]!.message.length).toBeGreaterThan(0);
  });

  it('rejects unknown top-level keys, naming them', () => {
    const err = rejectionOf(withChange((r) => Object.assign(r, { amountMinor: 5, extra: true })));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('');
    expect(err.issues[0]!.message).toContain('amountMinor');
    expect(err.issues[0]!.message).toContain('extra');
  });

  it('gives specific card messages', () => {
    const messageFor = (change: (r: Req) => void) => rejectionOf(withChange(change)).issues[0]!.message;
    expect(messageFor((r) => (r.paymentMethod.details.cardNumber = '4242424242424241'))).toBe(
      'card number fails the Luhn check',
    );
    expect(
      messageFor((r) => Object.assign(r.paymentMethod.details, { expiryMonth: 1, expiryYear: 2020 })),
    ).toBe('card expired in 01/2020');
    expect(messageFor((r) => (r.paymentMethod.details.cvv = '12'))).toBe('CVV must be 3 digits for visa');
    expect(
      messageFor((r) =>
        Object.assign(r.paymentMethod.details, { cardNumber: '378282246310005', cvv: '123' }),
      ),
    ).toBe('CVV must be 4 digits for amex');
  });
});

describe('validateCreatePaymentRequest: all issues at once', () => {
  it('reports a bad amount, a bad email and a bad card number together', () => {
    const r = withChange((r) => {
      r.amount = '-1';
      r.customer.email = 'nope';
      r.paymentMethod.details.cardNumber = '4242424242424241';
    });
    expect(issuePaths(r).sort()).toEqual(['amount', 'customer.email', 'paymentMethod.details.cardNumber']);
  });

  it('reports every field of a thoroughly bad request', () => {
    const r = {
      idempotencyKey: 'has space',
      amount: 0,
      currency: 'XYZ',
      customer: { id: '', phone: '1' },
      paymentMethod: {
        type: 'CARD',
        details: { cardNumber: '1234', expiryMonth: 14, expiryYear: 123, cvv: 'abc' },
      },
      metadata: { 'x-y': 1, nested: { a: 1 } },
      captureMethod: 'never',
      gatewayType: 'NOPE',
      surprise: 1,
    };
    expect(issuePaths(r).sort()).toEqual(
      [
        '',
        'amount',
        'captureMethod',
        'currency',
        'customer.id',
        'customer.phone',
        'gatewayType',
        'idempotencyKey',
        'metadata.nested',
        'metadata.x-y',
        'paymentMethod.details.cardNumber',
        'paymentMethod.details.cvv',
        'paymentMethod.details.expiryMonth',
        'paymentMethod.details.expiryYear',
      ].sort(),
    );
  });

  it('still checks the amount when the payment method type is unknown', () => {
    const r = withChange((r) => Object.assign(r, { amount: 'lots', paymentMethod: { type: 'CRYPTO' } }));
    expect(issuePaths(r).sort()).toEqual(['amount', 'paymentMethod.type']);
  });

  it('lists the issues in the error message with dotted paths', () => {
    const err = rejectionOf(withChange((r) => (r.customer.email = 'x')));
    expect(err.code).toBe('VALIDATION_ERROR');
    expect(err.message).toContain('customer.email');
  });
});

describe('validateCreatePaymentRequest: card data never appears in errors', () => {
  const pans = [
    '4242424242424242', // valid number, paired with a bad CVV below
    '4242424242424241', // fails Luhn
    '4000 0000 0000 0119', // valid with spaces
    '424242424242', // 12 digits, fails Luhn
    '42424242424242424242424', // too long
    '4242x42424242424', // not digits
  ];
  const cvvs = ['98765', '987', '9x8', ''];

  it.each(pans.flatMap((pan) => cvvs.map((cvv) => [pan, cvv])))('PAN %j with CVV %j', (pan, cvv) => {
    const r = withChange((r) => {
      Object.assign(r.paymentMethod.details, { cardNumber: pan, cvv, expiryYear: 2001 });
      r.customer.email = 'bad';
    });
    const err = rejectionOf(r);
    const text = `${err.message}\n${JSON.stringify(err.issues)}\n${JSON.stringify(err.details)}`;
    const digits = pan.replace(/\D/g, '');
    expect(text).not.toContain(pan);
    expect(text).not.toContain(digits);
    expect(text).not.toContain(digits.slice(-8));
    if (cvv.length >= 3) expect(text).not.toContain(cvv);
  });

  it('never echoes arbitrary digit strings given as card numbers or CVVs', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^\d{6,25}$/), fc.stringMatching(/^\d{5,8}$/), (pan, cvv) => {
        const r = withChange((r) => Object.assign(r.paymentMethod.details, { cardNumber: pan, cvv }));
        const text = JSON.stringify(rejectionOf(r).issues);
        return !text.includes(pan) && !text.includes(cvv);
      }),
    );
  });
});

describe('metadata', () => {
  const metadataPaths = (metadata: unknown) => issuePaths(withChange((r) => (r.metadata = metadata)));
  const manyKeys = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));

  it('accepts string, finite number and boolean values and returns a clean plain copy', () => {
    const input = Object.create(null);
    Object.assign(input, { a: 'x', b: 1.5, c: true });
    const result = validateCreatePaymentRequest(
      withChange((r) => (r.metadata = input)),
      now,
    ).metadata;
    expect(result).toEqual({ a: 'x', b: 1.5, c: true });
    expect(Object.getPrototypeOf(result)).toBe(Object.prototype);
    expect(result).not.toBe(input);
  });

  it(`allows ${METADATA_MAX_KEYS} keys and rejects more`, () => {
    expect(() => sanitizeMetadata(manyKeys(METADATA_MAX_KEYS))).not.toThrow();
    expect(metadataPaths(manyKeys(METADATA_MAX_KEYS + 1))).toEqual(['metadata']);
  });

  it.each([
    ['a-b', 'metadata.a-b'],
    ['a.b', 'metadata.a.b'],
    ['', 'metadata.'],
    ['k'.repeat(129), `metadata.${'k'.repeat(128)}…`],
  ])('rejects the key %j', (key, path) => {
    expect(metadataPaths({ [key]: 1 })).toEqual([path]);
  });

  it('allows a 128-character key', () => {
    expect(sanitizeMetadata({ ['k'.repeat(128)]: 1 })).toEqual({ ['k'.repeat(128)]: 1 });
  });

  it(`allows strings of ${METADATA_MAX_STRING_LENGTH} characters and rejects longer ones`, () => {
    expect(() => sanitizeMetadata({ s: 'x'.repeat(METADATA_MAX_STRING_LENGTH) })).not.toThrow();
    expect(metadataPaths({ s: 'x'.repeat(METADATA_MAX_STRING_LENGTH + 1) })).toEqual(['metadata.s']);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['an array', [1, 2]],
    ['an object', { deep: 1 }],
    ['NaN', NaN],
    ['Infinity', -Infinity],
    ['a function', () => 1],
    ['a bigint', BigInt(1)],
  ])('rejects %s values with a clear issue', (kind, value) => {
    const err = rejectionOf(withChange((r) => (r.metadata = { v: value })));
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]!.path).toBe('metadata.v');
    expect(err.issues[0]!.message).toMatch(
      kind === 'NaN' || kind === 'Infinity' ? /finite/ : new RegExp(kind.replace(/^an? /, '')),
    );
  });

  it(`rejects maps larger than ${METADATA_MAX_BYTES} bytes of JSON`, () => {
    const big = Object.fromEntries(Array.from({ length: 9 }, (_, i) => [`k${i}`, 'x'.repeat(1000)]));
    expect(metadataPaths(big)).toEqual(['metadata']);
    // Multi-byte characters count in UTF-8 bytes: 3 × 1000 '€' is 9000 bytes but only 3000 characters.
    const euro = { a: '€'.repeat(1000), b: '€'.repeat(1000), c: '€'.repeat(1000) };
    expect(() => sanitizeMetadata(euro)).toThrow(ValidationError);
  });

  it.each([
    ['an array', [1]],
    ['a string', 'x'],
    ['null', null],
    ['a Date', new Date()],
  ])('rejects metadata that is %s', (_kind, value) => {
    expect(metadataPaths(value)).toEqual(['metadata']);
  });

  it.each(['__proto__', 'constructor', 'prototype'])('rejects the reserved key %s', (key) => {
    const metadata = JSON.parse(`{"${key}":{"polluted":1},"ok":1}`);
    expect(metadataPaths(metadata)).toEqual([`metadata.${key}`]);
  });

  it('cannot pollute Object.prototype', () => {
    const hostile = JSON.parse('{"__proto__":{"polluted":1}}');
    expect(() =>
      validateCreatePaymentRequest(
        withChange((r) => (r.metadata = hostile)),
        now,
      ),
    ).toThrow(ValidationError);
    expect(() => sanitizeMetadata(hostile)).toThrow(ValidationError);
    expect(metadataSchema.safeParse(hostile).success).toBe(false);
    expect(() =>
      validateCreatePaymentRequest(
        JSON.parse('{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":1}}}'),
        now,
      ),
    ).toThrow(ValidationError);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('reports every bad key at once with metadata.<key> paths from sanitizeMetadata', () => {
    try {
      sanitizeMetadata({ 'a b': 1, n: null, ok: 'fine' });
      throw new Error('expected a ValidationError');
    } catch (err) {
      expect((err as ValidationError).issues.map((i) => i.path)).toEqual(['metadata.a b', 'metadata.n']);
    }
  });
});

describe('validateCreatePaymentRequest: hostile input only ever causes a ValidationError', () => {
  const deep = (depth: number) => {
    let v: unknown = 1;
    for (let i = 0; i < depth; i++) v = { v };
    return v;
  };
  const throwingGetter = Object.defineProperty(validRequest(), 'amount', {
    enumerable: true,
    get() {
      throw new Error('boom');
    },
  });
  const throwingProxy = new Proxy(
    {},
    {
      ownKeys() {
        throw new TypeError('no keys');
      },
      get() {
        throw new TypeError('no get');
      },
    },
  );
  const huge = 'x'.repeat(1_000_000);

  it.each([
    ['null', null],
    ['undefined', undefined],
    ['a number', 42],
    ['a string', 'request'],
    ['an array', [validRequest()]],
    ['an empty object', {}],
    ['an object with a __proto__ key', JSON.parse('{"__proto__":{"amount":1}}')],
    ['a throwing getter', throwingGetter],
    ['a throwing proxy', throwingProxy],
    ['deeply nested metadata', withChange((r) => (r.metadata = { x: deep(10_000) }))],
    ['deeply nested everywhere', deep(10_000)],
    [
      'huge strings in every field',
      withChange((r) => {
        Object.assign(r, { idempotencyKey: huge, amount: huge, currency: huge });
        Object.assign(r.customer, { id: huge, email: huge, name: huge, phone: huge });
        Object.assign(r.paymentMethod.details, {
          cardNumber: huge,
          cvv: huge,
          cardHolderName: huge,
          expiryMonth: huge,
        });
        r.metadata = { [huge]: huge };
      }),
    ],
  ])('%s', (_kind, input) => {
    const err = rejectionOf(input);
    expect(err.issues.length).toBeGreaterThan(0);
    expect(err.message.length).toBeLessThan(5_000);
  });

  it('property: any input either validates or throws a ValidationError with at least one issue', () => {
    fc.assert(
      fc.property(
        fc.anything({ withNullPrototype: true, withObjectString: true, withSparseArray: true }),
        (input) => {
          try {
            validateCreatePaymentRequest(input, now);
            return true;
          } catch (err) {
            return err instanceof ValidationError && err.issues.length >= 1;
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('property: requests with arbitrary values in any field either validate or throw a ValidationError', () => {
    const field = <T>(good: T) => fc.oneof(fc.constant(good), fc.anything());
    const base = validRequest();
    fc.assert(
      fc.property(
        fc.record({
          idempotencyKey: field(base.idempotencyKey),
          amount: fc.oneof(fc.double(), fc.string(), fc.constant(base.amount)),
          currency: field(base.currency),
          customer: fc.record(
            { id: field('c1'), email: field('a@b.co'), phone: field('+1 555 010 0000') },
            { requiredKeys: ['id'] },
          ),
          paymentMethod: fc.record({
            type: fc.constantFrom('CARD', 'UPI', 'WALLET', 'X'),
            details: fc.record({
              cardNumber: field('4242424242424242'),
              expiryMonth: field(12),
              expiryYear: field(nextYear),
              cvv: field('123'),
            }),
          }),
          metadata: fc.dictionary(fc.string(), fc.anything()),
        }),
        (input) => {
          try {
            const result = validateCreatePaymentRequest(input, now);
            return Number.isSafeInteger(result.amountMinor) && result.amountMinor > 0;
          } catch (err) {
            return err instanceof ValidationError && err.issues.length >= 1;
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('other request schemas', () => {
  const paths = (schema: z.ZodType<unknown>, input: unknown) => {
    try {
      parseOrThrow(schema, input, 'request');
    } catch (err) {
      expect(err).toBeInstanceOf(ValidationError);
      return (err as ValidationError).issues.map((i) => i.path);
    }
    return [];
  };

  it('process: paymentId required, ≤ 400 chars, optional gatewayType, strict', () => {
    expect(parseOrThrow(processPaymentRequestSchema, { paymentId: 'pay_1', gatewayType: 'MOCK' })).toEqual({
      paymentId: 'pay_1',
      gatewayType: 'MOCK',
    });
    expect(paths(processPaymentRequestSchema, {})).toEqual(['paymentId']);
    expect(paths(processPaymentRequestSchema, { paymentId: '' })).toEqual(['paymentId']);
    expect(paths(processPaymentRequestSchema, { paymentId: 'p'.repeat(401) })).toEqual(['paymentId']);
    expect(paths(processPaymentRequestSchema, { paymentId: 'p', gatewayType: 'X' })).toEqual(['gatewayType']);
    expect(paths(processPaymentRequestSchema, { paymentId: 'p', x: 1 })).toEqual(['']);
  });

  it('capture: optional positive amount (none: everything), strict; null and empty amounts refused', () => {
    expect(parseOrThrow(capturePaymentRequestSchema, {})).toEqual({});
    expect(parseOrThrow(capturePaymentRequestSchema, undefined)).toEqual({});
    expect(parseOrThrow(capturePaymentRequestSchema, { amount: '10.50' })).toEqual({ amount: '10.50' });
    for (const amount of [
      0,
      -1,
      NaN,
      Infinity,
      '0',
      '-1',
      'abc',
      '1e3',
      1_000_000_000,
      true,
      null,
      '',
      undefined,
    ]) {
      expect(paths(capturePaymentRequestSchema, { amount })).toEqual(['amount']);
    }
    expect(paths(capturePaymentRequestSchema, { amount: 1, currency: 'USD' })).toEqual(['']);
    expect(paths(capturePaymentRequestSchema, null)).toEqual(['']);
    expect(paths(capturePaymentRequestSchema, [])).toEqual(['']);
  });

  it('cancel: optional reason ≤ 500 chars, strict; no payload and null are a plain cancel', () => {
    expect(parseOrThrow(cancelPaymentRequestSchema, { reason: 'customer asked' })).toEqual({
      reason: 'customer asked',
    });
    expect(parseOrThrow(cancelPaymentRequestSchema, null)).toEqual({});
    expect(parseOrThrow(cancelPaymentRequestSchema, undefined)).toEqual({});
    expect(paths(cancelPaymentRequestSchema, { reason: 'r'.repeat(501) })).toEqual(['reason']);
    expect(paths(cancelPaymentRequestSchema, { reason: 5 })).toEqual(['reason']);
    expect(paths(cancelPaymentRequestSchema, { why: 'x' })).toEqual(['']);
    expect(paths(cancelPaymentRequestSchema, 'x')).toEqual(['']);
  });

  it('refund: amount or full: true (never both, never neither), reason and refundId, strict, all issues at once', () => {
    expect(
      parseOrThrow(refundPaymentRequestSchema, { amount: 5, reason: 'dup', refundId: 'rf_1-a' }),
    ).toEqual({
      amount: 5,
      reason: 'dup',
      refundId: 'rf_1-a',
    });
    expect(parseOrThrow(refundPaymentRequestSchema, { full: true })).toEqual({ full: true });
    expect(
      paths(refundPaymentRequestSchema, {
        amount: -1,
        reason: 'r'.repeat(501),
        refundId: 'bad id',
        extra: 1,
      }).sort(),
    ).toEqual(['', 'amount', 'reason', 'refundId'].sort());
    expect(paths(refundPaymentRequestSchema, { full: true, refundId: 'r'.repeat(256) })).toEqual([
      'refundId',
    ]);
    expect(paths(refundPaymentRequestSchema, { full: true, refundId: '' })).toEqual(['refundId']);
    expect(paths(refundPaymentRequestSchema, { amount: 5, full: true })).toEqual(['full']);
    for (const input of [undefined, null, {}, { amount: null }, { amount: '' }, { refundId: 'a' }]) {
      expect(() => parseOrThrow(refundPaymentRequestSchema, input, 'refund request')).toThrow(
        /amount or full: true is required/,
      );
    }
  });

  it('the client schemas and the workflow rules accept and refuse exactly the same requests', () => {
    const field = fc.oneof(
      fc.jsonValue({ maxDepth: 1 }),
      fc.constantFrom(true, '5', 5, '', 'rf_1', 'r'.repeat(501)),
    );
    const request = fc.oneof(
      fc.record(
        { amount: field, full: field, reason: field, refundId: field, other: field },
        { requiredKeys: [] },
      ),
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(undefined, null),
    );
    const schemas = {
      capture: capturePaymentRequestSchema,
      cancel: cancelPaymentRequestSchema,
      refund: refundPaymentRequestSchema,
    } as const;
    fc.assert(
      fc.property(
        request,
        fc.constantFrom('capture', 'cancel', 'refund') as fc.Arbitrary<keyof typeof schemas>,
        (input, kind) => {
          const domain = followUpRequestIssues(kind, input);
          const client = schemas[kind].safeParse(input);
          expect(client.success).toBe(domain.length === 0);
          if (!client.success) {
            expect(zodIssuesToValidationIssues(client.error.issues)).toEqual(domain);
          }
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it('parseOrThrow rejects non-objects and unreadable input with a ValidationError naming what was parsed', () => {
    expect(() => parseOrThrow(refundPaymentRequestSchema, null, 'refund request')).toThrow(
      /Invalid refund request/,
    );
    const proxy = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('x');
        },
        get: () => {
          throw new Error('x');
        },
      },
    );
    expect(paths(cancelPaymentRequestSchema, proxy)).toEqual(['']);
  });

  it('zodIssuesToValidationIssues joins paths with dots and keeps unknown-key messages short', () => {
    const result = z
      .strictObject({ a: z.object({ b: z.array(z.string()) }) })
      .safeParse({ a: { b: ['x', 1] }, ['k'.repeat(1000)]: 1 });
    const issues = zodIssuesToValidationIssues(result.error!.issues);
    expect(issues.map((i) => i.path).sort()).toEqual(['', 'a.b.1']);
    const unknown = issues.find((i) => i.path === '')!;
    expect(unknown.message.length).toBeLessThan(120);
  });
});

describe('metadata never carries a card number', () => {
  it('refuses a value with 12-19 digits that pass the Luhn check, naming the key, never the value', () => {
    for (const value of [
      '4242424242424242',
      '4242 4242 4242 4242',
      'card 4000-0000-0000-0002 here',
      4242424242424242,
    ]) {
      const result = checkMetadata({ note: value });
      expect(result).toEqual({
        ok: false,
        issues: [{ path: ['note'], message: expect.stringContaining('card number') }],
      });
      expect(JSON.stringify(result)).not.toContain('4242424242424242');
    }
  });

  it('keeps long numbers that are not card numbers', () => {
    expect(checkMetadata({ orderId: '4242424242424241', ts: 1733500000001 })).toMatchObject({ ok: true });
  });
});
