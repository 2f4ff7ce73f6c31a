import Stripe from 'stripe';
import { GatewayError } from '../../src/activities/gateways/gateway';
import { lookupRule, type ErrorRule } from '../../src/activities/gateways/error-taxonomy';
import {
  classifyPaypalError,
  PAYPAL_ERROR_TABLE,
  PaypalApiError,
} from '../../src/activities/gateways/paypal/errors';
import { classifyStripeError, STRIPE_ERROR_TABLE } from '../../src/activities/gateways/stripe/errors';

/** A Node/undici transport error with a code, as the HTTP stacks raise them. */
function transportError(code: string | undefined): Error {
  if (code === 'TimeoutError')
    return new DOMException('The operation was aborted due to timeout', 'TimeoutError');
  return Object.assign(new Error(`transport failure ${code ?? ''}`), code ? { code } : {});
}

function statusOf(rule: ErrorRule): number {
  if (rule.status === '5xx') return 503;
  return typeof rule.status === 'number' ? rule.status : 418;
}

/** What the stripe SDK raises for the situation a row describes. */
function stripeExample(rule: ErrorRule): unknown {
  if (rule.status === 'network') {
    // The SDK wraps the raw Node error in `detail` (typed as a string in its raw-error type).
    return new Stripe.errors.StripeConnectionError({
      type: 'api_error',
      message: 'An error occurred with our connection to Stripe.',
      detail: transportError(rule.code) as unknown as string,
    });
  }
  const status = statusOf(rule);
  const code = rule.code ?? (status === 418 ? 'teapot' : undefined);
  const raw = { message: `example for ${rule.why}`, statusCode: status, ...(code ? { code } : {}) };
  if (rule.code === 'idempotency_error')
    return new Stripe.errors.StripeIdempotencyError({ ...raw, type: 'idempotency_error', code: undefined });
  if (rule.code === 'insufficient_funds') {
    return new Stripe.errors.StripeCardError({
      ...raw,
      type: 'card_error',
      code: 'card_declined',
      decline_code: rule.code,
    });
  }
  if (status === 402) return new Stripe.errors.StripeCardError({ ...raw, type: 'card_error' });
  if (status === 401)
    return new Stripe.errors.StripeAuthenticationError({ ...raw, type: 'invalid_request_error' });
  if (status === 403)
    return new Stripe.errors.StripePermissionError({ ...raw, type: 'invalid_request_error' });
  if (status === 429)
    return new Stripe.errors.StripeRateLimitError({ ...raw, type: 'invalid_request_error' });
  if (status >= 500) return new Stripe.errors.StripeAPIError({ ...raw, type: 'api_error' });
  return new Stripe.errors.StripeInvalidRequestError({ ...raw, type: 'invalid_request_error' });
}

/** What the PayPal adapter raises for the situation a row describes. */
function paypalExample(rule: ErrorRule): unknown {
  if (rule.status === 'network') {
    const cause = transportError(rule.code);
    return rule.code === 'TimeoutError' ? cause : new TypeError('fetch failed', { cause });
  }
  const status = statusOf(rule);
  if (status === 401)
    return new PaypalApiError(401, { error: rule.code ?? 'invalid_token', error_description: 'no' });
  return new PaypalApiError(status, {
    name: 'SOME_NAME',
    message: `example for ${rule.why}`,
    details: [{ issue: rule.code ?? 'SOME_OTHER_ISSUE', description: 'example' }],
  });
}

/** The codes a row is matched with: its own, or one no row names, so that only its status can match. */
function codesFor(rule: ErrorRule): string[] {
  return rule.code ? [rule.code] : ['NO_SUCH_CODE'];
}

describe('Stripe error taxonomy', () => {
  test.each(
    STRIPE_ERROR_TABLE.map(
      (rule) => [`${rule.status ?? 'any'} ${rule.code ?? '*'} -> ${rule.category}`, rule] as const,
    ),
  )('%s', (_name, rule) => {
    const error = classifyStripeError(stripeExample(rule));
    expect(error.category).toBe(rule.category);
    // The row itself matched, not an earlier, more general one.
    const status = rule.status === 'network' ? 'network' : statusOf(rule);
    expect(lookupRule(STRIPE_ERROR_TABLE, status, codesFor(rule))).toBe(rule);
  });

  test('a generic decline reports card_declined, a specific one its decline code', () => {
    const generic = new Stripe.errors.StripeCardError({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'generic_decline',
      statusCode: 402,
      message: 'Your card was declined.',
    });
    expect(classifyStripeError(generic)).toMatchObject({ category: 'decline', code: 'card_declined' });
    const specific = new Stripe.errors.StripeCardError({
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      statusCode: 402,
      message: 'Your card has insufficient funds.',
    });
    expect(classifyStripeError(specific)).toMatchObject({ category: 'decline', code: 'insufficient_funds' });
  });

  test('a socket hang up after the request left is unknown', () => {
    const hangUp = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const err = new Stripe.errors.StripeConnectionError({
      type: 'api_error',
      message: 'An error occurred with our connection to Stripe.',
      detail: hangUp as unknown as string,
    });
    expect(classifyStripeError(err).category).toBe('unknown');
  });

  test('messages never carry card numbers', () => {
    const err = new Stripe.errors.StripeInvalidRequestError({
      type: 'invalid_request_error',
      statusCode: 400,
      message: 'No such token: 4242 4242 4242 4242',
    });
    expect(classifyStripeError(err).message).not.toMatch(/4242 4242/);
  });

  test('a GatewayError raised by the adapter itself passes through unchanged', () => {
    const own = new GatewayError('failover', 'amount_not_supported', 'x');
    expect(classifyStripeError(own)).toBe(own);
  });
});

describe('PayPal error taxonomy', () => {
  test.each(
    PAYPAL_ERROR_TABLE.map(
      (rule) => [`${rule.status ?? 'any'} ${rule.code ?? '*'} -> ${rule.category}`, rule] as const,
    ),
  )('%s', (_name, rule) => {
    const error = classifyPaypalError(paypalExample(rule));
    expect(error.category).toBe(rule.category);
    const status = rule.status === 'network' ? 'network' : statusOf(rule);
    expect(lookupRule(PAYPAL_ERROR_TABLE, status, codesFor(rule))).toBe(rule);
  });

  test('connection refused behind a dual-stack AggregateError is still failover', () => {
    const refused = Object.assign(
      new AggregateError([Object.assign(new Error('connect'), { code: 'ECONNREFUSED' })]),
      {},
    );
    expect(classifyPaypalError(new TypeError('fetch failed', { cause: refused })).category).toBe('failover');
  });

  test('the issue of the first detail is the reported code', () => {
    const err = new PaypalApiError(422, {
      name: 'UNPROCESSABLE_ENTITY',
      details: [{ issue: 'INSTRUMENT_DECLINED', description: 'declined' }],
    });
    expect(classifyPaypalError(err)).toMatchObject({ category: 'decline', code: 'INSTRUMENT_DECLINED' });
  });
});
