/** What each Stripe error means for a payment, as one table, and the classifier the Stripe adapter calls. */
import Stripe from 'stripe';
import { GatewayError } from '../gateway';
import { classify, NETWORK_RULES, networkFacts, type ErrorFacts, type ErrorRule } from '../error-taxonomy';

/** Stripe: docs.stripe.com/error-codes and docs.stripe.com/declines/codes. */
export const STRIPE_ERROR_TABLE: readonly ErrorRule[] = [
  ...NETWORK_RULES,
  {
    status: 402,
    code: 'processing_error',
    category: 'retry-same-gateway',
    why: 'the processor failed transiently and charged nothing (Stripe replays a stored 402 for the same key, so a retry needs a new attempt key)',
  },
  {
    status: 402,
    code: 'authentication_required',
    category: 'requires-action',
    why: 'the issuer wants 3-D Secure',
  },
  { status: 402, code: 'insufficient_funds', category: 'decline', why: "the issuer's answer" },
  { status: 402, code: 'expired_card', category: 'decline', why: "the issuer's answer" },
  { status: 402, code: 'incorrect_cvc', category: 'decline', why: "the issuer's answer" },
  {
    status: 402,
    code: 'payment_intent_authentication_failure',
    category: 'decline',
    why: 'the customer failed 3-D Secure',
  },
  { status: 402, code: 'card_declined', category: 'decline', why: "the issuer's answer" },
  { status: 402, category: 'decline', why: 'every other card error is a business answer' },
  {
    status: 400,
    code: 'idempotency_error',
    category: 'unknown',
    why: 'the key was used before with other parameters: that request may have charged, so never charge anew',
  },
  {
    status: 409,
    category: 'unknown',
    why: 'idempotency_key_in_use: a request with this key is in flight and may charge',
  },
  {
    status: 429,
    code: 'lock_timeout',
    category: 'retry-same-gateway',
    why: 'the object was busy; nothing changed',
  },
  { status: 429, category: 'retry-same-gateway', why: 'rate limited before processing' },
  {
    status: 401,
    category: 'failover',
    why: 'bad API key: this gateway is misconfigured and charged nothing',
  },
  { status: 403, category: 'failover', why: 'key lacks permission: misconfigured, charged nothing' },
  {
    status: 400,
    code: 'payment_intent_unexpected_state',
    category: 'decline',
    why: 'not allowed in the current state (capture twice, confirm a finished charge): retrying cannot help',
  },
  {
    status: 400,
    code: 'amount_too_large',
    category: 'decline',
    why: 'more than is left to capture or refund',
  },
  { status: 400, code: 'charge_already_refunded', category: 'decline', why: 'nothing left to refund' },
  {
    status: 400,
    category: 'failover',
    why: 'invalid request (unknown token, currency or amount rule): charged nothing, the same request will fail again, another gateway may take it',
  },
  { status: 404, category: 'failover', why: 'resource_missing: charged nothing' },
  { status: '5xx', category: 'unknown', why: 'api_error or outage: it may have been processed' },
  { category: 'unknown', why: 'anything else: reconcile before deciding' },
];

/** Classifies anything the Stripe adapter caught. */
export function classifyStripeError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return classify('Stripe', STRIPE_ERROR_TABLE, stripeFacts(err));
}

function stripeFacts(err: unknown): ErrorFacts {
  if (err instanceof Stripe.errors.StripeConnectionError || !(err instanceof Stripe.errors.StripeError)) {
    // The SDK keeps the raw Node error (with its `code`) in `detail`.
    const detail = err instanceof Stripe.errors.StripeError ? (err as { detail?: unknown }).detail : err;
    return networkFacts(detail, err);
  }
  const declineCode = err.decline_code === 'generic_decline' ? undefined : err.decline_code;
  const codes = [err.decline_code, err.code, err.rawType].filter((c): c is string => typeof c === 'string');
  return {
    ...(err.statusCode ? { status: err.statusCode } : {}),
    codes,
    code: declineCode ?? err.code ?? err.rawType ?? 'stripe_error',
    message: err.message,
  };
}
