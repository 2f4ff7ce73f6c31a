/**
 * The subset of Stripe's API the STRIPE adapter uses: PaymentMethods from a card token, PaymentIntents
 * (create, confirm, capture, cancel, retrieve, search by metadata) and refunds, form-encoded like the
 * real API, with Stripe's errors and idempotency rules.
 */
import { isCurrencyCode, type CurrencyCode } from '../domain/currencies';
import { STRIPE_API_CURRENCIES, stripeApiAmount } from './currency-rules';
import {
  canonical,
  header,
  parseForm,
  type ApiRequest,
  type ApiResult,
  type GatewayApi,
  type HandleContext,
} from './http';
import { newId, type SandboxStore } from './ledger';
import { cardOutcome } from './tokens';
import type { Operation } from './faults';

interface StripeErrorBody {
  type: string;
  message: string;
  code?: string;
  decline_code?: string;
  param?: string;
  payment_intent?: unknown;
}

type IntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'requires_capture'
  | 'processing'
  | 'canceled'
  | 'succeeded';

interface PaymentIntent {
  id: string;
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: IntentStatus;
  capture_method: string;
  payment_method: string | null;
  latest_charge: string | null;
  last_payment_error: StripeErrorBody | null;
  next_action: { type: string } | null;
  cancellation_reason: string | null;
  metadata: Record<string, string>;
  created: number;
  livemode: false;
  /** Sandbox state, never sent: the card token, the 3-D Secure step and what was refunded. */
  _sandbox: {
    token?: string;
    threeDSecure?: 'pending' | 'failed';
    refunded: number;
    /** When it was created, in ms (search lag is measured from here). */
    createdAtMs?: number;
    /** What the `processing` status is waiting for (the `pending` fault), and the amount at stake. */
    pending?: { kind: 'charge' | 'authorization' | 'capture'; amount: number };
  };
}

interface Refund {
  id: string;
  object: 'refund';
  amount: number;
  currency: string;
  payment_intent: string;
  charge: string | null;
  reason: string | null;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  failure_reason?: string;
  metadata: Record<string, string>;
  created: number;
}

/** A card PaymentMethod made from a test token (`card[token]`), the way the adapter charges a token. */
interface PaymentMethod {
  id: string;
  object: 'payment_method';
  type: 'card';
  customer: null;
  metadata: Record<string, string>;
  created: number;
  livemode: false;
  /** Sandbox state, never sent: the test token whose outcome a charge of this PaymentMethod has. */
  _sandbox: { token: string };
}

const INTENTS = 'stripe.payment_intents';
const REFUNDS = 'stripe.refunds';
const PAYMENT_METHODS = 'stripe.payment_methods';
const REFUND_REASONS = ['duplicate', 'fraudulent', 'requested_by_customer'];
/** Stripe's documented limits: `Idempotency-Key` length, metadata key and value lengths. */
const MAX_IDEMPOTENCY_KEY = 255;
const MAX_METADATA_KEY = 40;
const MAX_METADATA_VALUE = 500;

/** A Stripe error answer, thrown inside handlers. */
class StripeFailure {
  constructor(
    readonly status: number,
    readonly error: StripeErrorBody,
  ) {}
}

function fail(status: number, type: string, message: string, extra: Partial<StripeErrorBody> = {}): never {
  throw new StripeFailure(status, { type, message, ...extra });
}

type Params = Record<string, unknown>;

/** The Stripe half of the sandbox. */
export const stripeApi: GatewayApi = {
  gateway: 'stripe',

  owns: (path) => path.startsWith('/v1/') && path !== '/v1/oauth2/token',

  authenticate(req) {
    const auth = header(req, 'authorization') ?? '';
    if (/^Bearer sk_test_\w+$/.test(auth)) return undefined;
    // Never echo the key: it is a secret even in a sandbox.
    return errorResult(401, {
      type: 'invalid_request_error',
      message: auth ? 'Invalid API Key provided.' : 'You did not provide an API key.',
    });
  },

  operation: (req) => stripeOperation(req),

  idempotencyKey: (req) => (req.method === 'POST' ? header(req, 'idempotency-key') : undefined),

  fingerprint: (req) => `${req.method} ${req.path} ${canonical(parseForm(req.body))}`,

  replay(stored, conflict) {
    if (conflict) {
      return errorResult(400, {
        type: 'idempotency_error',
        message:
          'Keys for idempotent requests can only be used with the same parameters they were first used with.',
      });
    }
    return { status: stored.status, body: stored.body, headers: { 'Idempotent-Replayed': 'true' } };
  },

  handle(req, store, context) {
    try {
      return route(req, store, context);
    } catch (err) {
      if (err instanceof StripeFailure) return errorResult(err.status, err.error);
      throw err;
    }
  },

  settle: (store, reference, outcome) => settleStripe(store, reference, outcome),

  faultResponse(kind) {
    if (kind === 'rate_limit') {
      return errorResult(429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Too many requests hit the API too quickly.',
      });
    }
    return errorResult(kind === 'outage' ? 503 : 500, {
      type: 'api_error',
      message: kind === 'outage' ? 'Stripe is temporarily unavailable.' : 'An unknown error occurred.',
    });
  },
};

/** Which operation a Stripe request is: reads are lookups, each POST path one operation. */
function stripeOperation(req: ApiRequest): Operation | undefined {
  if (req.method === 'GET') return 'lookup';
  if (req.path === '/v1/payment_intents' || req.path === '/v1/payment_methods') return 'charge';
  if (req.path === '/v1/refunds') return 'refund';
  const action = /^\/v1\/payment_intents\/\w+\/(confirm|capture|cancel)$/.exec(req.path)?.[1];
  if (action === 'cancel') return 'void';
  return action as Operation | undefined;
}

/**
 * Settles what the `pending` fault left in progress: a `processing` PaymentIntent (its charge or capture)
 * or a `pending` refund. A failed charge becomes a card decline, a failed capture leaves the authorization
 * capturable, a failed refund gives the amount back to the charge.
 */
function settleStripe(store: SandboxStore, reference: string, outcome: 'succeeded' | 'failed'): boolean {
  const intent = store.get<PaymentIntent>(INTENTS, reference);
  const pending = intent?.status === 'processing' ? intent._sandbox.pending : undefined;
  if (intent && pending) {
    const succeeded = outcome === 'succeeded';
    if (pending.kind === 'capture') {
      intent.status = succeeded ? 'succeeded' : 'requires_capture';
      if (succeeded) intent.amount_capturable = 0;
      else intent.amount_received = 0;
    } else if (succeeded) {
      const manual = pending.kind === 'authorization';
      intent.status = manual ? 'requires_capture' : 'succeeded';
      intent.amount_capturable = manual ? intent.amount : 0;
      intent.amount_received = manual ? 0 : intent.amount;
    } else {
      intent.status = 'requires_payment_method';
      intent.last_payment_error = {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'generic_decline',
        message: 'Your card was declined.',
      };
    }
    intent._sandbox.pending = undefined;
    store.put(INTENTS, intent);
    store.settle(intent.id, outcome, succeeded ? undefined : 'card_declined');
    return true;
  }
  const refund = store.get<Refund>(REFUNDS, reference);
  if (refund?.status !== 'pending') return false;
  refund.status = outcome;
  if (outcome === 'failed') {
    refund.failure_reason = 'declined';
    const charged = intentOf(store, refund.payment_intent);
    charged._sandbox.refunded -= refund.amount;
    store.put(INTENTS, charged);
  }
  store.put(REFUNDS, refund);
  store.settle(refund.id, outcome, outcome === 'failed' ? 'refund_failed' : undefined);
  return true;
}

/** Marks a PaymentIntent's 3-D Secure challenge as failed (the customer did not authenticate). */
export function failStripeThreeDSecure(store: SandboxStore, id: string): boolean {
  const intent = store.get<PaymentIntent>(INTENTS, id);
  if (intent?.status !== 'requires_action') return false;
  intent._sandbox.threeDSecure = 'failed';
  store.put(INTENTS, intent);
  return true;
}

function route(req: ApiRequest, store: SandboxStore, context: HandleContext): ApiResult {
  const params = req.method === 'POST' ? parseForm(req.body) : Object.fromEntries(req.query);
  const path = req.path;
  const key = header(req, 'idempotency-key');
  if (key !== undefined && key.length > MAX_IDEMPOTENCY_KEY) {
    fail(400, 'invalid_request_error', `Idempotency keys can be at most ${MAX_IDEMPOTENCY_KEY} characters.`);
  }
  let m: RegExpExecArray | null;
  if (req.method === 'POST' && path === '/v1/payment_methods') return ok(createPaymentMethod(store, params));
  if (req.method === 'POST' && path === '/v1/payment_intents') {
    return ok(createIntent(store, params, key, context));
  }
  if (req.method === 'GET' && path === '/v1/payment_intents/search') {
    return ok(search(store, params, context.faults.searchLagMs ?? 0));
  }
  if (req.method === 'GET' && (m = /^\/v1\/payment_intents\/([\w]+)$/.exec(path))) {
    return ok(present(intentOf(store, m[1] ?? '')));
  }
  if (req.method === 'POST' && (m = /^\/v1\/payment_intents\/(\w+)\/(confirm|capture|cancel)$/.exec(path))) {
    const intent = intentOf(store, m[1] ?? '');
    if (m[2] === 'confirm') return ok(confirmIntent(store, intent, params, key, context));
    if (m[2] === 'capture') return ok(captureIntent(store, intent, params, key, context));
    return ok(cancelIntent(store, intent, params, key));
  }
  if (req.method === 'POST' && path === '/v1/refunds') {
    return ok(createRefund(store, params, key, context));
  }
  if (req.method === 'GET' && path === '/v1/refunds') return ok(listRefunds(store, params));
  if (req.method === 'GET' && (m = /^\/v1\/refunds\/(\w+)$/.exec(path))) {
    const refund = store.get<Refund>(REFUNDS, m[1] ?? '');
    if (!refund) missing('refund', m[1] ?? '');
    return ok(refund);
  }
  return fail(404, 'invalid_request_error', `Unrecognized request URL (${req.method}: ${path}).`);
}

/** `type=card&card[token]=tok_…` only: the sandbox never takes card numbers, not even test ones. */
function createPaymentMethod(store: SandboxStore, params: Params): Omit<PaymentMethod, '_sandbox'> {
  allowOnly(params, ['type', 'card', 'metadata', 'expand']);
  if (params.type !== 'card') {
    fail(400, 'invalid_request_error', 'The sandbox only makes card PaymentMethods.', { param: 'type' });
  }
  const card = params.card as Params | undefined;
  if (typeof card !== 'object' || card === null || typeof card.token !== 'string') {
    fail(400, 'invalid_request_error', 'Missing required param: card[token].', { param: 'card[token]' });
  }
  // Anything but the token (a number, a CVC) is refused by name only, never echoed.
  allowOnly(card, ['token']);
  const { token } = card;
  if (!cardOutcome(token)) {
    fail(400, 'invalid_request_error', 'No such token.', { code: 'resource_missing', param: 'card[token]' });
  }
  const method = store.put<PaymentMethod>(PAYMENT_METHODS, {
    id: newId('pm_'),
    object: 'payment_method',
    type: 'card',
    customer: null,
    metadata: stringRecord(params.metadata, 'metadata'),
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    _sandbox: { token },
  });
  const { _sandbox: _internal, ...visible } = method;
  return visible;
}

function createIntent(
  store: SandboxStore,
  params: Params,
  key: string | undefined,
  context: HandleContext,
): PaymentIntent {
  allowOnly(params, [
    'amount',
    'currency',
    'confirm',
    'capture_method',
    'payment_method',
    'payment_method_data',
    'payment_method_types',
    'metadata',
    'description',
    'expand',
  ]);
  const currency = currencyParam(params.currency);
  const amount = amountParam(params.amount, currency, 'amount');
  const captureMethod = params.capture_method ?? 'automatic_async';
  if (
    typeof captureMethod !== 'string' ||
    !['automatic', 'automatic_async', 'manual'].includes(captureMethod)
  ) {
    fail(400, 'invalid_request_error', 'Invalid capture_method.', { param: 'capture_method' });
  }
  const token = paymentMethodToken(store, params);
  const intent = store.put<PaymentIntent>(INTENTS, {
    id: newId('pi_'),
    object: 'payment_intent',
    amount,
    amount_capturable: 0,
    amount_received: 0,
    currency: currency.toLowerCase(),
    status: token ? 'requires_confirmation' : 'requires_payment_method',
    capture_method: captureMethod,
    payment_method: token ? paymentMethodId(params) : null,
    latest_charge: null,
    last_payment_error: null,
    next_action: null,
    cancellation_reason: null,
    metadata: stringRecord(params.metadata, 'metadata'),
    created: Math.floor(Date.now() / 1000),
    livemode: false,
    _sandbox: { ...(token ? { token } : {}), refunded: 0, createdAtMs: Date.now() },
  });
  // The creation's own key is the charge's: a decline or a charge booked here carries it.
  return params.confirm === 'true' ? runConfirmation(store, intent, key, context) : present(intent);
}

function confirmIntent(
  store: SandboxStore,
  intent: PaymentIntent,
  params: Params,
  key: string | undefined,
  context: HandleContext,
): PaymentIntent {
  allowOnly(params, ['payment_method', 'payment_method_data', 'expand', 'return_url']);
  const token = paymentMethodToken(store, params);
  if (token) {
    intent._sandbox = { token, refunded: 0 };
    intent.payment_method = paymentMethodId(params);
  }
  const confirmable = ['requires_confirmation', 'requires_action'].includes(intent.status);
  if (!confirmable && !(intent.status === 'requires_payment_method' && token)) {
    unexpectedState(intent, 'confirm');
  }
  return runConfirmation(store, intent, key, context);
}

/**
 * Charges the card behind a PaymentIntent. A 3-D Secure card first stops at `requires_action`; confirming
 * again means the customer completed the challenge, unless `/__admin/three-d-secure` failed it.
 */
function runConfirmation(
  store: SandboxStore,
  intent: PaymentIntent,
  key: string | undefined,
  context: HandleContext,
): PaymentIntent {
  const outcome = cardOutcome(intent._sandbox.token ?? '');
  if (outcome?.kind === 'three_d_secure' && intent.status !== 'requires_action') {
    intent.status = 'requires_action';
    intent.next_action = { type: 'use_stripe_sdk' };
    intent._sandbox.threeDSecure = 'pending';
    store.put(INTENTS, intent);
    return present(intent);
  }
  intent.next_action = null;
  const declined =
    intent._sandbox.threeDSecure === 'failed'
      ? {
          type: 'card_error',
          code: 'payment_intent_authentication_failure',
          message: 'The provided payment method has failed authentication.',
        }
      : outcome?.kind === 'decline'
        ? {
            type: 'card_error',
            code: outcome.code,
            decline_code: outcome.declineCode,
            message: outcome.message,
          }
        : outcome?.kind === 'processing_error'
          ? {
              type: 'card_error',
              code: 'processing_error',
              message: 'An error occurred while processing your card. Try again in a little bit.',
            }
          : undefined;
  const manual = intent.capture_method === 'manual';
  if (declined) {
    intent.status = 'requires_payment_method';
    intent.last_payment_error = declined;
    intent._sandbox.threeDSecure = undefined;
    store.put(INTENTS, intent);
    record(store, intent, manual ? 'authorization' : 'charge', 'failed', intent.amount, key, declined.code);
    fail(402, 'card_error', declined.message, { ...declined, payment_intent: present(intent) });
  }
  intent.latest_charge = newId('ch_');
  intent.last_payment_error = null;
  if (context.pending()) {
    const kind = manual ? 'authorization' : 'charge';
    intent.status = 'processing';
    intent._sandbox.pending = { kind, amount: intent.amount };
    store.put(INTENTS, intent);
    record(store, intent, kind, 'pending', intent.amount, key);
    return present(intent);
  }
  intent.status = manual ? 'requires_capture' : 'succeeded';
  intent.amount_capturable = manual ? intent.amount : 0;
  intent.amount_received = manual ? 0 : intent.amount;
  store.put(INTENTS, intent);
  record(store, intent, manual ? 'authorization' : 'charge', 'succeeded', intent.amount, key);
  return present(intent);
}

function captureIntent(
  store: SandboxStore,
  intent: PaymentIntent,
  params: Params,
  key: string | undefined,
  context: HandleContext,
): PaymentIntent {
  allowOnly(params, ['amount_to_capture', 'expand', 'metadata']);
  if (intent.status !== 'requires_capture') unexpectedState(intent, 'capture');
  const amount =
    params.amount_to_capture === undefined
      ? intent.amount_capturable
      : amountParam(params.amount_to_capture, upper(intent.currency), 'amount_to_capture');
  if (amount > intent.amount_capturable) {
    fail(400, 'invalid_request_error', 'The amount to capture exceeds the amount capturable.', {
      code: 'amount_too_large',
      param: 'amount_to_capture',
    });
  }
  intent.amount_received = amount;
  if (context.pending()) {
    intent.status = 'processing';
    intent._sandbox.pending = { kind: 'capture', amount };
    store.put(INTENTS, intent);
    record(store, intent, 'capture', 'pending', amount, key);
    return present(intent);
  }
  intent.status = 'succeeded';
  intent.amount_capturable = 0;
  store.put(INTENTS, intent);
  record(store, intent, 'capture', 'succeeded', amount, key);
  return present(intent);
}

function cancelIntent(
  store: SandboxStore,
  intent: PaymentIntent,
  params: Params,
  key?: string,
): PaymentIntent {
  allowOnly(params, ['cancellation_reason', 'expand']);
  if (['succeeded', 'canceled', 'processing'].includes(intent.status)) unexpectedState(intent, 'cancel');
  const held = intent.status === 'requires_capture' ? intent.amount_capturable : 0;
  intent.status = 'canceled';
  intent.amount_capturable = 0;
  intent.next_action = null;
  intent.cancellation_reason =
    typeof params.cancellation_reason === 'string' ? params.cancellation_reason : null;
  store.put(INTENTS, intent);
  // Only a held authorization moves money back; cancelling an unpaid intent is bookkeeping.
  if (held > 0) record(store, intent, 'void', 'succeeded', held, key);
  return present(intent);
}

function createRefund(
  store: SandboxStore,
  params: Params,
  key: string | undefined,
  context: HandleContext,
): Refund {
  allowOnly(params, ['payment_intent', 'amount', 'reason', 'metadata', 'expand']);
  if (typeof params.payment_intent !== 'string') {
    fail(400, 'invalid_request_error', 'Missing required param: payment_intent.', {
      param: 'payment_intent',
    });
  }
  const intent = intentOf(store, params.payment_intent);
  if (intent.status !== 'succeeded') unexpectedState(intent, 'refund');
  const left = intent.amount_received - intent._sandbox.refunded;
  if (left <= 0) {
    fail(400, 'invalid_request_error', 'Charge has already been refunded.', {
      code: 'charge_already_refunded',
    });
  }
  const amount =
    params.amount === undefined ? left : amountParam(params.amount, upper(intent.currency), 'amount');
  if (amount > left) {
    fail(400, 'invalid_request_error', 'Refund amount is greater than the unrefunded amount on the charge.', {
      code: 'amount_too_large',
      param: 'amount',
    });
  }
  if (params.reason !== undefined && !REFUND_REASONS.includes(String(params.reason))) {
    fail(400, 'invalid_request_error', 'Invalid reason.', { param: 'reason' });
  }
  // A pending refund already reserves its amount: a second refund cannot take it too.
  intent._sandbox.refunded += amount;
  store.put(INTENTS, intent);
  const pending = context.pending();
  const refund = store.put<Refund>(REFUNDS, {
    id: newId('re_'),
    object: 'refund',
    amount,
    currency: intent.currency,
    payment_intent: intent.id,
    charge: intent.latest_charge,
    reason: typeof params.reason === 'string' ? params.reason : null,
    status: pending ? 'pending' : 'succeeded',
    metadata: stringRecord(params.metadata, 'metadata'),
    created: Math.floor(Date.now() / 1000),
  });
  record(store, intent, 'refund', pending ? 'pending' : 'succeeded', amount, key, undefined, refund.id);
  return refund;
}

/** `GET /v1/refunds?payment_intent=…`: the refunds of one PaymentIntent, newest first. */
function listRefunds(store: SandboxStore, params: Params) {
  allowOnly(params, ['payment_intent', 'limit', 'starting_after']);
  const data = store
    .all<Refund>(REFUNDS)
    .filter((r) => params.payment_intent === undefined || r.payment_intent === params.payment_intent)
    .reverse();
  return { object: 'list', data, has_more: false, url: '/v1/refunds' };
}

/** Search supports exactly one clause, `metadata['key']:'value'`: what the adapter's `getStatus` sends. */
function search(store: SandboxStore, params: Params, lagMs: number) {
  const query = typeof params.query === 'string' ? params.query.trim() : '';
  const m = /^metadata\['((?:[^'\\]|\\.)+)'\]:'((?:[^'\\]|\\.)*)'$/.exec(query);
  if (!m) {
    fail(400, 'invalid_request_error', "Only metadata['key']:'value' queries are supported by the sandbox.", {
      param: 'query',
    });
  }
  const [key, value] = [unescape(m[1] ?? ''), unescape(m[2] ?? '')];
  const data = store
    .all<PaymentIntent>(INTENTS)
    .filter((pi) => pi.metadata[key] === value)
    .filter((pi) => Date.now() - (pi._sandbox.createdAtMs ?? pi.created * 1000) >= lagMs)
    .sort((a, b) => b.created - a.created)
    .map(present);
  return {
    object: 'search_result',
    data,
    has_more: false,
    next_page: null,
    url: '/v1/payment_intents/search',
  };
}

function record(
  store: SandboxStore,
  intent: PaymentIntent,
  kind: 'charge' | 'authorization' | 'capture' | 'refund' | 'void',
  status: 'succeeded' | 'failed' | 'pending',
  amount: number,
  idempotencyKey: string | undefined,
  code?: string,
  reference = intent.id,
): void {
  const currency = upper(intent.currency);
  store.record({
    gateway: 'stripe',
    kind,
    status,
    reference,
    payment: intent.id,
    amount: stripeApiAmount(amount, currency) ?? amount,
    currency,
    ...(idempotencyKey ? { idempotencyKey } : {}),
    ...(intent.metadata.aegispay_key ? { paymentKey: intent.metadata.aegispay_key } : {}),
    ...(intent.metadata.aegispay_payment_id ? { paymentId: intent.metadata.aegispay_payment_id } : {}),
    ...(code ? { code } : {}),
  });
}

/**
 * The test token behind `payment_method` (a PaymentMethod made here, or pm_card_visa and the like) or
 * behind `payment_method_data[card][token]`.
 */
function paymentMethodToken(store: SandboxStore, params: Params): string | undefined {
  const data = params.payment_method_data as { type?: unknown; card?: { token?: unknown } } | undefined;
  const token =
    typeof params.payment_method === 'string'
      ? (store.get<PaymentMethod>(PAYMENT_METHODS, params.payment_method)?._sandbox.token ??
        params.payment_method)
      : data?.type === 'card' && typeof data.card?.token === 'string'
        ? data.card.token
        : undefined;
  if (params.payment_method_data !== undefined && token === undefined) {
    fail(400, 'invalid_request_error', 'payment_method_data must be a card with a token.', {
      param: 'payment_method_data',
    });
  }
  // Unknown tokens are refused without echoing them: a caller may have put a card number there.
  if (token !== undefined && !cardOutcome(token)) {
    fail(400, 'invalid_request_error', 'No such token or PaymentMethod.', {
      code: 'resource_missing',
      param:
        typeof params.payment_method === 'string' ? 'payment_method' : 'payment_method_data[card][token]',
    });
  }
  return token;
}

/** The PaymentMethod a PaymentIntent shows: the one it was given, or a new one made from a token. */
function paymentMethodId(params: Params): string {
  const given = params.payment_method;
  return typeof given === 'string' && given.startsWith('pm_') ? given : newId('pm_');
}

function currencyParam(value: unknown): CurrencyCode {
  const code = typeof value === 'string' ? value.toUpperCase() : '';
  if (typeof value !== 'string' || value !== value.toLowerCase() || !isCurrencyCode(code)) {
    fail(400, 'invalid_request_error', 'Invalid currency: use a lowercase ISO code.', { param: 'currency' });
  }
  if (!STRIPE_API_CURRENCIES.has(code)) {
    fail(400, 'invalid_request_error', `Invalid currency: ${value}.`, { param: 'currency' });
  }
  return code;
}

function amountParam(value: unknown, currency: CurrencyCode, param: string): number {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value) || Number(value) <= 0) {
    fail(400, 'invalid_request_error', 'Invalid positive integer.', { param });
  }
  const amount = Number(value);
  if (stripeApiAmount(amount, currency) === undefined) {
    fail(400, 'invalid_request_error', `Invalid amount: ${currency} amounts must fit Stripe's decimals.`, {
      code: 'invalid_charge_amount_no_decimal_compatible',
      param,
    });
  }
  return amount;
}

function intentOf(store: SandboxStore, id: string): PaymentIntent {
  return store.get<PaymentIntent>(INTENTS, id) ?? missing('payment_intent', id);
}

function missing(what: string, id: string): never {
  return fail(404, 'invalid_request_error', `No such ${what}: '${id.slice(0, 40)}'`, {
    code: 'resource_missing',
    param: 'id',
  });
}

function unexpectedState(intent: PaymentIntent, action: string): never {
  return fail(
    400,
    'invalid_request_error',
    `You cannot ${action} this PaymentIntent because it has a status of ${intent.status}.`,
    { code: 'payment_intent_unexpected_state', payment_intent: present(intent) },
  );
}

function allowOnly(params: Params, allowed: string[]): void {
  const unknown = Object.keys(params).find((k) => !allowed.includes(k));
  if (unknown)
    fail(400, 'invalid_request_error', `Received unknown parameter: ${unknown}`, { param: unknown });
}

function stringRecord(value: unknown, param: string): Record<string, string> {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null)
    fail(400, 'invalid_request_error', `Invalid ${param}.`, { param });
  const record = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, String(v)]));
  for (const [k, v] of Object.entries(record)) {
    if (k.length > MAX_METADATA_KEY || v.length > MAX_METADATA_VALUE) {
      fail(
        400,
        'invalid_request_error',
        `Metadata keys can be at most ${MAX_METADATA_KEY} characters and values at most ${MAX_METADATA_VALUE}.`,
        { param: `${param}[${k.slice(0, MAX_METADATA_KEY)}]` },
      );
    }
  }
  return record;
}

function present(intent: PaymentIntent): PaymentIntent {
  const { _sandbox: _internal, ...visible } = intent;
  return visible as PaymentIntent;
}

function ok(body: unknown): ApiResult {
  return { status: 200, body };
}

function errorResult(status: number, error: StripeErrorBody): ApiResult {
  return { status, body: { error } };
}

function upper(currency: string): CurrencyCode {
  return currency.toUpperCase() as CurrencyCode;
}

function unescape(text: string): string {
  return text.replace(/\\(.)/g, '$1');
}
