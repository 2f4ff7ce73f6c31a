import { createHash } from 'node:crypto';
import { preparePayment } from '../../src/client/prepare-payment';
import {
  fingerprintSource,
  initialPaymentView,
  methodLabel,
  paymentDetails,
  paymentSummary,
} from '../../src/domain/payment';
import type { NewPayment, Payment, StoredPaymentMethod } from '../../src/domain/types';
import { validateCreatePaymentRequest } from '../../src/domain/validation';

const nextYear = new Date().getUTCFullYear() + 1;

type Identity = Omit<NewPayment, 'id' | 'fingerprint'>;

function card(
  overrides: Partial<Extract<StoredPaymentMethod, { type: 'CARD' }>['card']> = {},
): StoredPaymentMethod {
  return {
    type: 'CARD',
    card: {
      token: 'tok_mock_aaaa',
      brand: 'visa',
      last4: '4242',
      expiryMonth: 12,
      expiryYear: 2030,
      ...overrides,
    },
  };
}

function identity(overrides: Partial<Identity> = {}): Identity {
  return {
    idempotencyKey: 'order_1',
    amount: { amount: 9999, currency: 'USD' },
    customer: { id: 'cus_1', email: 'ada@example.com' },
    paymentMethod: card(),
    metadata: { orderId: 'A-1', items: 2 },
    captureMethod: 'automatic',
    ...overrides,
  };
}

function newPayment(overrides: Partial<NewPayment> = {}): NewPayment {
  return { ...identity(), id: 'payment:order_1', fingerprint: 'f'.repeat(64), ...overrides };
}

type SummaryInput = Pick<Payment, 'amount' | 'paymentMethod' | 'state' | 'gateway'>;

describe('initialPaymentView', () => {
  it('copies the request fields and starts INITIATED with empty attempts, amounts and refunds at version 0', () => {
    const p = newPayment({ gatewayType: 'MOCK', captureMethod: 'manual' });
    const now = '2030-01-02T03:04:05.000Z';
    expect(initialPaymentView(p, now)).toEqual({
      id: 'payment:order_1',
      idempotencyKey: 'order_1',
      state: 'INITIATED',
      amount: { amount: 9999, currency: 'USD' },
      customer: { id: 'cus_1', email: 'ada@example.com' },
      paymentMethod: p.paymentMethod,
      metadata: { orderId: 'A-1', items: 2 },
      captureMethod: 'manual',
      gateway: 'MOCK',
      attempts: [],
      amounts: { authorized: 0, captured: 0, refunded: 0 },
      refunds: [],
      fingerprint: 'f'.repeat(64),
      createdAt: now,
      updatedAt: now,
      version: 0,
    });
  });

  it('has no gateway when none was pinned, and no failure, routing or cancellation reason', () => {
    const view = initialPaymentView(newPayment(), '2030-01-01T00:00:00.000Z');
    expect(view.gateway).toBeUndefined();
    expect(view.failure).toBeUndefined();
    expect(view.routing).toBeUndefined();
    expect(view.cancellationReason).toBeUndefined();
  });
});

describe('paymentSummary', () => {
  it('shows amount, card brand and last 4, and state', () => {
    const p: SummaryInput = {
      amount: { amount: 9999, currency: 'USD' },
      paymentMethod: card(),
      state: 'INITIATED',
    };
    expect(paymentSummary(p)).toBe('USD 99.99 · card visa ••4242 · INITIATED');
  });

  it('adds the gateway after the state once there is one', () => {
    const p: SummaryInput = {
      amount: { amount: 9999, currency: 'USD' },
      paymentMethod: card(),
      state: 'SUCCESS',
      gateway: 'MOCK',
    };
    expect(paymentSummary(p)).toBe('USD 99.99 · card visa ••4242 · SUCCESS via MOCK');
  });

  it('shows JPY without decimals', () => {
    const p: SummaryInput = {
      amount: { amount: 1000, currency: 'JPY' },
      paymentMethod: card(),
      state: 'INITIATED',
    };
    expect(paymentSummary(p)).toBe('JPY 1000 · card visa ••4242 · INITIATED');
  });

  it('shows minor units with leading zeros (USD 0.05)', () => {
    const p: SummaryInput = {
      amount: { amount: 5, currency: 'USD' },
      paymentMethod: card(),
      state: 'INITIATED',
    };
    expect(paymentSummary(p)).toBe('USD 0.05 · card visa ••4242 · INITIATED');
  });

  it('shows three-decimal currencies with three decimals (KWD)', () => {
    const p: SummaryInput = {
      amount: { amount: 1500, currency: 'KWD' },
      paymentMethod: card(),
      state: 'FAILURE',
    };
    expect(paymentSummary(p)).toBe('KWD 1.500 · card visa ••4242 · FAILURE');
  });

  it('shows a card without last 4 (a caller-supplied token) by brand only', () => {
    const p: SummaryInput = {
      amount: { amount: 9999, currency: 'USD' },
      paymentMethod: {
        type: 'CARD',
        card: { token: 'tok_visa', brand: 'visa', expiryMonth: 1, expiryYear: 2030 },
      },
      state: 'INITIATED',
    };
    expect(paymentSummary(p)).toBe('USD 99.99 · card visa · INITIATED');
  });

  it.each(['UPI', 'NET_BANKING', 'WALLET', 'PAY_LATER'] as const)(
    'shows the non-card method %s by its type only, without its details',
    (type) => {
      const p: SummaryInput = {
        amount: { amount: 50000, currency: 'INR' },
        paymentMethod: { type, details: { vpa: 'ada@okbank', bank: 'HDFC' } },
        state: 'SUCCESS',
        gateway: 'MOCK',
      };
      const summary = paymentSummary(p);
      expect(summary).toBe(`INR 500.00 · ${type} · SUCCESS via MOCK`);
      expect(methodLabel(p)).toBe(type);
    },
  );
});

describe('fingerprintSource', () => {
  const base = fingerprintSource(identity());

  it('is the same when only the minted token differs (the card has last 4)', () => {
    const other = identity({ paymentMethod: card({ token: 'tok_mock_bbbb' }) });
    expect(fingerprintSource(other)).toBe(base);
  });

  it('never contains the minted token', () => {
    expect(base).not.toContain('tok_mock_aaaa');
  });

  it('does not depend on metadata key order', () => {
    const reordered = identity({ metadata: { items: 2, orderId: 'A-1' } });
    expect(fingerprintSource(reordered)).toBe(base);
  });

  it('does not depend on customer key order', () => {
    const reordered = identity({ customer: { email: 'ada@example.com', id: 'cus_1' } });
    expect(fingerprintSource(reordered)).toBe(base);
  });

  it.each<[string, Partial<Identity>]>([
    ['amount', { amount: { amount: 10000, currency: 'USD' } }],
    ['currency', { amount: { amount: 9999, currency: 'EUR' } }],
    ['customer id', { customer: { id: 'cus_2', email: 'ada@example.com' } }],
    ['customer email', { customer: { id: 'cus_1', email: 'bob@example.com' } }],
    ['metadata value', { metadata: { orderId: 'A-2', items: 2 } }],
    ['metadata value type', { metadata: { orderId: 'A-1', items: '2' } }],
    ['metadata key', { metadata: { orderId: 'A-1', item: 2 } }],
    ['number of metadata entries', { metadata: { orderId: 'A-1', items: 2, gift: true } }],
    ['captureMethod', { captureMethod: 'manual' }],
    ['expiry month', { paymentMethod: card({ expiryMonth: 11 }) }],
    ['expiry year', { paymentMethod: card({ expiryYear: 2031 }) }],
    ['card last 4', { paymentMethod: card({ last4: '4444' }) }],
    ['card brand', { paymentMethod: card({ brand: 'mastercard' }) }],
    ['idempotency key', { idempotencyKey: 'order_2' }],
    ['pinned gateway', { gatewayType: 'MOCK' }],
    ['payment method type', { paymentMethod: { type: 'UPI', details: {} } }],
  ])('changes when the %s changes', (_what, change) => {
    expect(fingerprintSource(identity(change))).not.toBe(base);
  });

  it('includes a caller-supplied token (no last 4) in the identity', () => {
    const withToken = (token: string) =>
      identity({
        paymentMethod: { type: 'CARD', card: { token, brand: 'visa', expiryMonth: 12, expiryYear: 2030 } },
      });
    expect(fingerprintSource(withToken('tok_visa'))).toBe(fingerprintSource(withToken('tok_visa')));
    expect(fingerprintSource(withToken('tok_visa'))).not.toBe(fingerprintSource(withToken('tok_visa_debit')));
    expect(fingerprintSource(withToken('tok_visa'))).toContain('tok_visa');
  });

  it('does not depend on non-card method detail key order, but does on their values', () => {
    const upi = (details: Record<string, string>) => identity({ paymentMethod: { type: 'UPI', details } });
    expect(fingerprintSource(upi({ vpa: 'ada@okbank', note: 'x' }))).toBe(
      fingerprintSource(upi({ note: 'x', vpa: 'ada@okbank' })),
    );
    expect(fingerprintSource(upi({ vpa: 'ada@okbank' }))).not.toBe(
      fingerprintSource(upi({ vpa: 'bob@okbank' })),
    );
  });
});

describe('preparePayment', () => {
  function request(cardNumber: string, cvv?: string, overrides: Record<string, unknown> = {}) {
    return validateCreatePaymentRequest({
      idempotencyKey: 'order_prep_1',
      amount: 99.99,
      currency: 'USD',
      customer: { id: 'cus_9', email: 'ada@example.com', name: 'Ada Lovelace' },
      paymentMethod: {
        type: 'CARD',
        details: {
          cardNumber,
          expiryMonth: 12,
          expiryYear: nextYear,
          ...(cvv ? { cvv } : {}),
          cardHolderName: 'Ada Lovelace',
        },
      },
      metadata: { orderId: 'A-1' },
      ...overrides,
    });
  }

  /**
   * The JSON of a prepared payment with the two random hex values (fingerprint and minted token) masked,
   * after checking their exact shape, so a 3-digit CVV cannot match them by chance.
   */
  function maskedJson(result: NewPayment): string {
    expect(result.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    const json = JSON.stringify(result).split(result.fingerprint).join('<fingerprint>');
    return json.replace(/"tok_mock_[0-9a-f]{32}"/g, '"<minted-token>"');
  }

  it.each([
    ['visa', '4242424242424242', '123'],
    ['visa (spaced input)', '4242 4242 4242 4242', '123'],
    ['mastercard', '5555555555554444', '123'],
    ['amex', '378282246310005', '4321'],
  ])('keeps the card number and CVV out of the result (%s)', async (_brand, cardNumber, cvv) => {
    const result = await preparePayment(request(cardNumber, cvv));
    const raw = JSON.stringify(result);
    const digits = cardNumber.replace(/\D/g, '');
    expect(raw).not.toContain(digits);
    expect(raw).not.toContain(cardNumber);
    expect(raw).not.toMatch(/cvv/i);
    expect(raw).not.toMatch(/cardNumber/);
    expect(maskedJson(result)).not.toContain(cvv);
    // What it keeps of the card: token, brand, last 4, expiry, holder name.
    expect(result.paymentMethod).toEqual({
      type: 'CARD',
      card: expect.objectContaining({ last4: digits.slice(-4), expiryMonth: 12, expiryYear: nextYear }),
    });
    if (result.paymentMethod.type !== 'CARD') throw new Error('expected a card');
    expect(Object.keys(result.paymentMethod.card).sort()).toEqual(
      ['brand', 'cardHolderName', 'expiryMonth', 'expiryYear', 'last4', 'token'].sort(),
    );
  });

  it('sets the payment ID from the idempotency key (and merchant scope) and the amount in minor units', async () => {
    const plain = await preparePayment(request('4242424242424242', '123'));
    expect(plain.id).toBe('payment:order_prep_1');
    expect(plain.amount).toEqual({ amount: 9999, currency: 'USD' });
    expect(plain.captureMethod).toBe('automatic');
    expect(plain.metadata).toEqual({ orderId: 'A-1' });
    const scoped = await preparePayment(request('4242424242424242', '123'), undefined, 'shop-a');
    expect(scoped.id).toBe('payment:shop-a:order_prep_1');
  });

  it('the fingerprint is the SHA-256 of fingerprintSource of the prepared payment', async () => {
    const result = await preparePayment(request('5555555555554444', '123'));
    const { id: _id, fingerprint, ...rest } = result;
    expect(fingerprint).toBe(createHash('sha256').update(fingerprintSource(rest)).digest('hex'));
  });

  it.each(['4242424242424242', '5555555555554444', '378282246310005'])(
    'gives the same fingerprint for two calls with the same card %s',
    async (cardNumber) => {
      const cvv = cardNumber.startsWith('37') ? '4321' : '123';
      const a = await preparePayment(request(cardNumber, cvv));
      const b = await preparePayment(request(cardNumber, cvv));
      expect(a.fingerprint).toBe(b.fingerprint);
    },
  );

  it('gives the same fingerprint whatever the CVV (it is not part of the identity)', async () => {
    const a = await preparePayment(request('5555555555554444', '123'));
    const b = await preparePayment(request('5555555555554444', '999'));
    expect(a.fingerprint).toBe(b.fingerprint);
  });

  it('gives a different fingerprint for a different amount or card', async () => {
    const a = await preparePayment(request('4242424242424242', '123'));
    const b = await preparePayment(request('4242424242424242', '123', { amount: 100 }));
    const c = await preparePayment(request('5555555555554444', '123'));
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(c.fingerprint).not.toBe(a.fingerprint);
  });

  it.each([
    ['4242424242424242', 'tok_visa'],
    ['4000000000000002', 'tok_chargeDeclined'],
    ['4000000000009995', 'tok_chargeDeclinedInsufficientFunds'],
    ['4000000000000119', 'tok_chargeDeclinedProcessingError'],
  ])('maps the Stripe test card %s to %s', async (cardNumber, token) => {
    const result = await preparePayment(request(cardNumber, '123'));
    expect(result.paymentMethod).toEqual({
      type: 'CARD',
      card: expect.objectContaining({ token, brand: 'visa', last4: cardNumber.slice(-4) }),
    });
  });

  it('mints a fresh tok_mock_ token for other cards', async () => {
    const result = await preparePayment(request('5555555555554444', '123'));
    if (result.paymentMethod.type !== 'CARD') throw new Error('expected a card');
    expect(result.paymentMethod.card.token).toMatch(/^tok_mock_[0-9a-f]{32}$/);
    expect(result.paymentMethod.card.brand).toBe('mastercard');
  });

  it('passes a tok_visa input through with brand visa and no last 4', async () => {
    const result = await preparePayment(request('tok_visa'));
    expect(result.paymentMethod).toEqual({
      type: 'CARD',
      card: {
        token: 'tok_visa',
        brand: 'visa',
        expiryMonth: 12,
        expiryYear: nextYear,
        cardHolderName: 'Ada Lovelace',
      },
    });
    if (result.paymentMethod.type !== 'CARD') throw new Error('expected a card');
    expect(result.paymentMethod.card).not.toHaveProperty('last4');
  });

  it('does not call the tokenizer for a gateway token', async () => {
    const tokenizer = jest.fn();
    await preparePayment(request('tok_visa'), tokenizer);
    expect(tokenizer).not.toHaveBeenCalled();
  });

  it('uses a custom tokenizer for card numbers', async () => {
    const tokenizer = jest.fn(() => ({
      token: 'tok_custom_1',
      brand: 'visa',
      last4: '4242',
      expiryMonth: 12,
      expiryYear: nextYear,
    }));
    const result = await preparePayment(request('4242424242424242', '123'), tokenizer);
    expect(tokenizer).toHaveBeenCalledTimes(1);
    if (result.paymentMethod.type !== 'CARD') throw new Error('expected a card');
    expect(result.paymentMethod.card.token).toBe('tok_custom_1');
  });

  it('keeps non-card method details as they are', async () => {
    const result = await preparePayment(
      validateCreatePaymentRequest({
        idempotencyKey: 'order_upi_1',
        amount: '500',
        currency: 'INR',
        customer: { id: 'cus_9' },
        paymentMethod: { type: 'UPI', details: { vpa: 'ada@okbank' } },
      }),
    );
    expect(result.paymentMethod).toEqual({ type: 'UPI', details: { vpa: 'ada@okbank' } });
    expect(result.amount).toEqual({ amount: 50000, currency: 'INR' });
  });
});

describe('paymentDetails', () => {
  it('names the customer by ID, the capture method and the key, never their email or name', () => {
    const details = paymentDetails({
      idempotencyKey: 'order_77',
      customer: { id: 'cust_77', email: 'jane@example.com', name: 'Jane Roe' },
      captureMethod: 'manual',
    });
    expect(details).toContain('**Customer:** cust_77');
    expect(details).toContain('**Capture:** manual');
    expect(details).toContain('**Idempotency key:** order_77');
    expect(details).not.toMatch(/jane@example\.com|Jane Roe/);
  });
});
