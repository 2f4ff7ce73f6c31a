import fc from 'fast-check';
import {
  checkCompleteActionRequest,
  checkProcessRequest,
  paymentInputIssues,
} from '../../src/domain/workflow-requests';

const valid = () => ({
  payment: {
    id: 'payment:order_1',
    idempotencyKey: 'order_1',
    amount: { amount: 9999, currency: 'USD' },
    customer: { id: 'cust_1' },
    paymentMethod: {
      type: 'CARD',
      card: { token: 'tok_visa', brand: 'visa', expiryMonth: 12, expiryYear: 2030 },
    },
    metadata: { orderId: 'o1' },
    captureMethod: 'automatic',
    fingerprint: 'fp',
  },
  settings: {
    retry: { maximumAttempts: 4, initialIntervalMs: 1000, maximumIntervalMs: 10_000, backoffCoefficient: 2 },
    gatewayCallTimeoutMs: 30_000,
    refundWindowMs: 1000,
    pendingTimeoutMs: 1000,
    authorizationExpiryMs: 1000,
    actionTimeoutMs: 1000,
    publishEvents: false,
  },
});

describe('payment workflow input', () => {
  it('accepts what the client sends', () => {
    expect(paymentInputIssues(valid(), 'payment:order_1')).toEqual([]);
  });

  it.each([
    [
      'a card number as the token',
      (i: ReturnType<typeof valid>) => (i.payment.paymentMethod.card.token = '4242 4242 4242 4242'),
      'payment.paymentMethod.card.token',
    ],
    ['another workflow ID', (i: ReturnType<typeof valid>) => (i.payment.id = 'payment:other'), 'payment.id'],
    [
      'a negative amount',
      (i: ReturnType<typeof valid>) => (i.payment.amount.amount = -1),
      'payment.amount.amount',
    ],
    [
      'a fractional amount',
      (i: ReturnType<typeof valid>) => (i.payment.amount.amount = 1.5),
      'payment.amount.amount',
    ],
    [
      'an unknown currency',
      (i: ReturnType<typeof valid>) => (i.payment.amount.currency = 'XYZ'),
      'payment.amount.currency',
    ],
    [
      'an unknown gateway',
      (i: ReturnType<typeof valid>) => Object.assign(i.payment, { gatewayType: 'EVIL' }),
      'payment.gatewayType',
    ],
    [
      'no retries at all',
      (i: ReturnType<typeof valid>) => (i.settings.retry.maximumAttempts = 0),
      'settings.retry.maximumAttempts',
    ],
    [
      'no charge attempt at all',
      (i: ReturnType<typeof valid>) => Object.assign(i.settings, { chargeAttemptsPerGateway: 0 }),
      'settings.chargeAttemptsPerGateway',
    ],
    [
      'huge metadata',
      (i: ReturnType<typeof valid>) => (i.payment.metadata = { orderId: 'x'.repeat(9000) }),
      'payment.metadata',
    ],
  ])('refuses %s, naming the field', (_name, spoil, path) => {
    const input = valid();
    spoil(input);
    expect(paymentInputIssues(input, 'payment:order_1').map((i) => i.path)).toEqual([path]);
  });

  it('never throws, whatever it is given', () => {
    fc.assert(
      fc.property(fc.anything(), (input) => {
        expect(Array.isArray(paymentInputIssues(input, 'payment:x'))).toBe(true);
      }),
    );
  });
});

describe('process and completeAction requests', () => {
  it('completeAction needs succeeded said as a boolean: anything else is refused, never read as false', () => {
    expect(checkCompleteActionRequest({ succeeded: false })).toEqual({ succeeded: false });
    fc.assert(
      fc.property(fc.anything(), (input) => {
        const ok =
          typeof input === 'object' &&
          input !== null &&
          !Array.isArray(input) &&
          Object.keys(input).length === 1 &&
          typeof (input as { succeeded?: unknown }).succeeded === 'boolean';
        if (ok) expect(checkCompleteActionRequest(input)).toEqual(input);
        else expect(() => checkCompleteActionRequest(input)).toThrow(/action result/);
      }),
    );
  });

  it('process takes nothing, or a known gateway and a fingerprint', () => {
    expect(checkProcessRequest(undefined)).toEqual({});
    expect(checkProcessRequest({ gatewayType: 'STRIPE' })).toEqual({ gatewayType: 'STRIPE' });
    expect(() => checkProcessRequest({ gatewayType: 'EVIL' })).toThrow(/gatewayType/);
    expect(() => checkProcessRequest({ extra: 1 })).toThrow(/unknown field/);
    expect(() => checkProcessRequest('STRIPE')).toThrow(/object/);
  });
});
