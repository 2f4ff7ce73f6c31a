/**
 * The subset of PayPal's REST API the PAYPAL adapter uses: OAuth client credentials, Orders v2 (create,
 * get, capture, authorize) and Payments v2 (capture or void an authorization, refund a capture), JSON
 * like the real API, with PayPal's error shape and `PayPal-Request-Id` replays.
 *
 * Cards are given as `payment_source: { card: { vault_id: '<test token>' } }` with the same test tokens
 * as the Stripe half (`tok_visa`, `tok_chargeDeclined`, …).
 */
import { isCurrencyCode, type CurrencyCode } from '../domain/currencies';
import { formatMinor } from '../domain/money';
import { PAYPAL_API_CURRENCIES, paypalApiAmount } from './currency-rules';
import {
  header,
  parseJson,
  type ApiRequest,
  type ApiResult,
  type GatewayApi,
  type HandleContext,
} from './http';
import type { Operation } from './faults';
import { newId, type LedgerEntry, type SandboxStore } from './ledger';
import { cardOutcome } from './tokens';

interface Amount {
  currency_code: string;
  value: string;
}

interface Order {
  id: string;
  intent: 'CAPTURE' | 'AUTHORIZE';
  status: 'CREATED' | 'APPROVED' | 'PAYER_ACTION_REQUIRED' | 'COMPLETED';
  purchase_units: { reference_id: string; custom_id?: string; amount: Amount }[];
  create_time: string;
  links: { href: string; rel: string; method: string }[];
  /** Sandbox state, never sent. */
  _sandbox: { token?: string; threeDSecure?: 'failed'; captures: string[]; authorizations: string[] };
}

interface Capture {
  id: string;
  status: 'COMPLETED' | 'PARTIALLY_REFUNDED' | 'REFUNDED' | 'PENDING' | 'DECLINED' | 'FAILED';
  status_details?: { reason: string };
  amount: Amount;
  final_capture: true;
  custom_id?: string;
  create_time: string;
  /** `refunded`: completed and pending refunds; `authorization`: the one it captured, if any. */
  _sandbox: { order: string; refunded: number; authorization?: string };
}

interface Authorization {
  id: string;
  status: 'CREATED' | 'CAPTURED' | 'VOIDED' | 'PENDING' | 'DENIED';
  amount: Amount;
  custom_id?: string;
  create_time: string;
  expiration_time: string;
  _sandbox: { order: string };
}

interface Refund {
  id: string;
  status: 'COMPLETED' | 'PENDING' | 'FAILED';
  amount: Amount;
  note_to_payer?: string;
  create_time: string;
  _sandbox: { capture: string };
}

const ORDERS = 'paypal.orders';
const CAPTURES = 'paypal.captures';
const AUTHORIZATIONS = 'paypal.authorizations';
const REFUNDS = 'paypal.refunds';
/** PayPal's documented limits: `PayPal-Request-Id`, `custom_id` and `reference_id` lengths. */
const MAX_REQUEST_ID = 108;
const MAX_CUSTOM_ID = 127;
const MAX_REFERENCE_ID = 256;
/** Declines PayPal answers with a 201 and a DECLINED capture / DENIED authorization, as it does for cards. */
const SOFT_DECLINES = ['generic_decline', 'insufficient_funds'];

const NAMES: Record<number, string> = {
  400: 'INVALID_REQUEST',
  401: 'AUTHENTICATION_FAILURE',
  403: 'NOT_AUTHORIZED',
  404: 'RESOURCE_NOT_FOUND',
  422: 'UNPROCESSABLE_ENTITY',
  429: 'RATE_LIMIT_REACHED',
  500: 'INTERNAL_SERVER_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

/** A PayPal error answer, thrown inside handlers. */
class PaypalFailure {
  constructor(
    readonly status: number,
    readonly issue: string,
    readonly description: string,
  ) {}
}

function fail(status: number, issue: string, description: string): never {
  throw new PaypalFailure(status, issue, description);
}

/** The PayPal half of the sandbox. */
export const paypalApi: GatewayApi = {
  gateway: 'paypal',

  owns: (path) => path.startsWith('/v2/') || path === '/v1/oauth2/token',

  authenticate(req, store) {
    const auth = header(req, 'authorization') ?? '';
    if (req.path === '/v1/oauth2/token') {
      const [id, secret] = Buffer.from(auth.replace(/^Basic /, ''), 'base64')
        .toString()
        .split(':');
      // Any credentials pass, except a secret starting with `invalid`: how tests play a misconfigured merchant.
      if (auth.startsWith('Basic ') && id && secret && !secret.startsWith('invalid')) return undefined;
      return {
        status: 401,
        body: { error: 'invalid_client', error_description: 'Client Authentication failed' },
      };
    }
    if (store.hasToken(auth.replace(/^Bearer /, ''))) return undefined;
    return {
      status: 401,
      body: { error: 'invalid_token', error_description: 'The access token is invalid.' },
    };
  },

  operation: (req, store) => paypalOperation(req, store),

  idempotencyKey: (req) => (req.method === 'POST' ? header(req, 'paypal-request-id') : undefined),

  // PayPal answers a known PayPal-Request-Id with the first answer, whatever the body: no fingerprint.
  replay: (stored) => ({ status: stored.status, body: stored.body }),

  handle(req, store, context) {
    try {
      return route(req, store, context);
    } catch (err) {
      if (err instanceof PaypalFailure) return errorResult(err.status, err.issue, err.description);
      throw err;
    }
  },

  settle: (store, reference, outcome) => settlePaypal(store, reference, outcome),

  faultResponse(kind) {
    if (kind === 'rate_limit') return errorResult(429, 'RATE_LIMIT_REACHED', 'Too many requests.');
    if (kind === 'outage') return errorResult(503, 'SERVICE_UNAVAILABLE', 'Service unavailable.');
    return errorResult(500, 'INTERNAL_SERVICE_ERROR', 'An internal service error has occurred.');
  },
};

/**
 * Which operation a PayPal request is. An order creation without purchase units is the adapter's
 * lookup probe; completing an order that waited for 3-D Secure is a confirm.
 */
function paypalOperation(req: ApiRequest, store: SandboxStore): Operation | undefined {
  const { method, path } = req;
  if (path === '/v1/oauth2/token') return undefined;
  if (method === 'GET') return 'lookup';
  if (path === '/v2/checkout/orders') {
    const body = parseJson(req.body) as { purchase_units?: unknown } | undefined;
    return body?.purchase_units === undefined ? 'lookup' : 'charge';
  }
  const order = /^\/v2\/checkout\/orders\/(\w+)\/(?:capture|authorize)$/.exec(path)?.[1];
  if (order)
    return store.get<Order>(ORDERS, order)?.status === 'PAYER_ACTION_REQUIRED' ? 'confirm' : 'charge';
  if (/^\/v2\/payments\/authorizations\/\w+\/capture$/.test(path)) return 'capture';
  if (/^\/v2\/payments\/authorizations\/\w+\/void$/.test(path)) return 'void';
  if (/^\/v2\/payments\/captures\/\w+\/refund$/.test(path)) return 'refund';
  return undefined;
}

/**
 * Settles what the `pending` fault left PENDING: a capture (also by its order's ID), an authorization
 * or a refund. A failed capture is DECLINED (an authorization it captured can be captured again), a
 * failed authorization DENIED, a failed refund FAILED (its amount can be refunded again).
 */
function settlePaypal(store: SandboxStore, reference: string, outcome: 'succeeded' | 'failed'): boolean {
  const ok = outcome === 'succeeded';
  const order = store.get<Order>(ORDERS, reference);
  const ids = order ? [...order._sandbox.captures, ...order._sandbox.authorizations] : [reference];
  for (const id of ids) {
    const capture = store.get<Capture>(CAPTURES, id);
    if (capture?.status === 'PENDING') {
      capture.status = ok ? 'COMPLETED' : 'DECLINED';
      delete capture.status_details;
      const auth = capture._sandbox.authorization;
      const captured = auth ? store.get<Authorization>(AUTHORIZATIONS, auth) : undefined;
      if (captured && !ok) store.put(AUTHORIZATIONS, { ...captured, status: 'CREATED' });
      store.put(CAPTURES, capture);
      store.settle(capture.id, outcome, ok ? undefined : 'DECLINED');
      return true;
    }
    const authorization = store.get<Authorization>(AUTHORIZATIONS, id);
    if (authorization?.status === 'PENDING') {
      store.put(AUTHORIZATIONS, { ...authorization, status: ok ? 'CREATED' : 'DENIED' });
      store.settle(authorization.id, outcome, ok ? undefined : 'DENIED');
      return true;
    }
  }
  const refund = store.get<Refund>(REFUNDS, reference);
  if (refund?.status !== 'PENDING') return false;
  refund.status = ok ? 'COMPLETED' : 'FAILED';
  store.put(REFUNDS, refund);
  const capture = get<Capture>(store, CAPTURES, refund._sandbox.capture);
  if (!ok) capture._sandbox.refunded -= minor(refund.amount);
  capture.status = refundedStatus(capture);
  store.put(CAPTURES, capture);
  store.settle(refund.id, outcome, ok ? undefined : 'FAILED');
  return true;
}

/** A capture's status by what was refunded of it (pending refunds included). */
function refundedStatus(capture: Capture): Capture['status'] {
  if (capture._sandbox.refunded <= 0) return 'COMPLETED';
  return capture._sandbox.refunded >= minor(capture.amount) ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

/** Marks an order's 3-D Secure challenge as failed (the payer did not authenticate). */
export function failPaypalThreeDSecure(store: SandboxStore, id: string): boolean {
  const order = store.get<Order>(ORDERS, id);
  if (order?.status !== 'PAYER_ACTION_REQUIRED') return false;
  order._sandbox.threeDSecure = 'failed';
  store.put(ORDERS, order);
  return true;
}

function route(req: ApiRequest, store: SandboxStore, context: HandleContext): ApiResult {
  if (req.method === 'POST' && req.path === '/v1/oauth2/token') return token(req, store);
  const requestId = header(req, 'paypal-request-id');
  if (requestId !== undefined && requestId.length > MAX_REQUEST_ID) {
    fail(400, 'INVALID_PARAMETER_SYNTAX', `PayPal-Request-Id can be at most ${MAX_REQUEST_ID} characters.`);
  }
  const body = req.method === 'POST' ? parseJson(req.body) : {};
  if (body === undefined || typeof body !== 'object' || body === null) {
    fail(400, 'MALFORMED_REQUEST_JSON', 'The request JSON is not well formed.');
  }
  const b = body as Record<string, unknown>;
  const key = header(req, 'paypal-request-id');
  const { method, path } = req;
  let m: RegExpExecArray | null;
  if (method === 'POST' && path === '/v2/checkout/orders')
    return { status: 201, body: createOrder(store, b) };
  if ((m = /^\/v2\/checkout\/orders\/(\w+)(?:\/(capture|authorize))?$/.exec(path))) {
    const order = get<Order>(store, ORDERS, m[1]);
    if (method === 'GET' && !m[2]) return { status: 200, body: presentOrder(store, order) };
    if (method === 'POST' && m[2]) {
      return { status: 201, body: completeOrder(store, order, m[2], key, context) };
    }
  }
  if ((m = /^\/v2\/payments\/authorizations\/(\w+)(?:\/(capture|void))?$/.exec(path))) {
    const auth = get<Authorization>(store, AUTHORIZATIONS, m[1]);
    if (method === 'GET' && !m[2]) return { status: 200, body: present(auth) };
    if (method === 'POST' && m[2] === 'capture')
      return { status: 201, body: captureAuthorization(store, auth, b, key, context) };
    if (method === 'POST' && m[2] === 'void') {
      voidAuthorization(store, auth, key);
      return { status: 204, body: null };
    }
  }
  if ((m = /^\/v2\/payments\/captures\/(\w+)(?:\/(refund))?$/.exec(path))) {
    const capture = get<Capture>(store, CAPTURES, m[1]);
    if (method === 'GET' && !m[2]) return { status: 200, body: present(capture) };
    if (method === 'POST' && m[2]) {
      return { status: 201, body: refundCapture(store, capture, b, key, context) };
    }
  }
  if ((m = /^\/v2\/payments\/refunds\/(\w+)$/.exec(path)) && method === 'GET') {
    return { status: 200, body: present(get<Refund>(store, REFUNDS, m[1])) };
  }
  return fail(404, 'RESOURCE_NOT_FOUND', `No ${method} ${path} in the sandbox.`);
}

function token(req: ApiRequest, store: SandboxStore): ApiResult {
  if (new URLSearchParams(req.body).get('grant_type') !== 'client_credentials') {
    return {
      status: 400,
      body: { error: 'unsupported_grant_type', error_description: 'Grant Type is NULL' },
    };
  }
  return {
    status: 200,
    body: {
      scope: 'https://uri.paypal.com/services/payments/payment',
      access_token: store.issueToken(),
      token_type: 'Bearer',
      app_id: 'APP-SANDBOX',
      expires_in: 32400,
      nonce: newId('', 16),
    },
  };
}

function createOrder(store: SandboxStore, body: Record<string, unknown>) {
  const intent = body.intent;
  const units = body.purchase_units;
  // Validation comes before anything is stored, so a rejected create leaves its PayPal-Request-Id unused.
  if (!Array.isArray(units) || units.length === 0) {
    fail(400, 'MISSING_REQUIRED_PARAMETER', 'purchase_units is required.');
  }
  if (intent !== 'CAPTURE' && intent !== 'AUTHORIZE') {
    fail(400, 'INVALID_PARAMETER_VALUE', 'intent must be CAPTURE or AUTHORIZE.');
  }
  if (units.length > 1) fail(422, 'INVALID_PARAMETER_VALUE', 'The sandbox takes one purchase unit.');
  const unit = units[0] as { reference_id?: unknown; custom_id?: unknown; amount?: unknown };
  if (typeof unit.custom_id === 'string' && unit.custom_id.length > MAX_CUSTOM_ID) {
    fail(400, 'INVALID_STRING_MAX_LENGTH', `custom_id can be at most ${MAX_CUSTOM_ID} characters.`);
  }
  if (typeof unit.reference_id === 'string' && unit.reference_id.length > MAX_REFERENCE_ID) {
    fail(400, 'INVALID_STRING_MAX_LENGTH', `reference_id can be at most ${MAX_REFERENCE_ID} characters.`);
  }
  const amount = amountOf(unit.amount);
  const source = body.payment_source as { card?: { vault_id?: unknown } } | undefined;
  const vaultId = source === undefined ? undefined : source.card?.vault_id;
  if (vaultId !== undefined && typeof vaultId !== 'string') {
    fail(400, 'INVALID_PARAMETER_VALUE', 'payment_source.card.vault_id must be a string.');
  }
  if (source !== undefined && vaultId === undefined) {
    fail(400, 'MISSING_REQUIRED_PARAMETER', 'payment_source.card.vault_id is required.');
  }
  // Unknown tokens are refused without echoing them: a caller may have put a card number there.
  if (vaultId !== undefined && !cardOutcome(vaultId)) {
    fail(422, 'INVALID_PARAMETER_VALUE', 'The vaulted payment source was not found.');
  }
  const needs3ds = vaultId !== undefined && cardOutcome(vaultId)?.kind === 'three_d_secure';
  const id = newId('', 17);
  const order = store.put<Order>(ORDERS, {
    id,
    intent,
    status: vaultId === undefined ? 'CREATED' : needs3ds ? 'PAYER_ACTION_REQUIRED' : 'APPROVED',
    purchase_units: [
      {
        reference_id: typeof unit.reference_id === 'string' ? unit.reference_id : 'default',
        ...(typeof unit.custom_id === 'string' ? { custom_id: unit.custom_id } : {}),
        amount,
      },
    ],
    create_time: new Date().toISOString(),
    links: [
      { href: `/v2/checkout/orders/${id}`, rel: 'self', method: 'GET' },
      ...(needs3ds ? [{ href: `/checkoutnow?token=${id}`, rel: 'payer-action', method: 'GET' }] : []),
    ],
    _sandbox: { ...(vaultId ? { token: vaultId } : {}), captures: [], authorizations: [] },
  });
  return presentOrder(store, order);
}

/**
 * Captures or authorizes an approved order. An order waiting for 3-D Secure is completed as if the payer
 * had authenticated, unless `/__admin/three-d-secure` failed the challenge.
 */
function completeOrder(
  store: SandboxStore,
  order: Order,
  action: string,
  key: string | undefined,
  context: HandleContext,
) {
  const capture = action === 'capture';
  if (order.intent !== (capture ? 'CAPTURE' : 'AUTHORIZE')) {
    fail(422, 'ACTION_DOES_NOT_MATCH_INTENT', `The order's intent is ${order.intent}.`);
  }
  if (order.status === 'COMPLETED') {
    fail(
      422,
      capture ? 'ORDER_ALREADY_CAPTURED' : 'ORDER_ALREADY_AUTHORIZED',
      'The order is already completed.',
    );
  }
  if (order.status === 'CREATED') fail(422, 'ORDER_NOT_APPROVED', 'The payer has not approved the order.');
  const unit = order.purchase_units[0]!;
  const kind = capture ? 'charge' : 'authorization';
  const outcome = cardOutcome(order._sandbox.token ?? '');
  const declined =
    order._sandbox.threeDSecure === 'failed'
      ? { issue: 'INSTRUMENT_DECLINED', code: 'authentication_failed' }
      : outcome?.kind === 'decline'
        ? {
            issue: outcome.code === 'expired_card' ? 'CARD_EXPIRED' : 'INSTRUMENT_DECLINED',
            code: outcome.declineCode,
          }
        : undefined;
  const base = {
    id: newId('', 17),
    amount: unit.amount,
    ...(unit.custom_id ? { custom_id: unit.custom_id } : {}),
    create_time: new Date().toISOString(),
  };
  if (declined) {
    // The refused attempt stays on the order (DECLINED capture, DENIED authorization), so a lookup finds
    // the decline even when its answer never arrived.
    addPayment(store, order, capture, base, capture ? 'DECLINED' : 'DENIED');
    const soft = SOFT_DECLINES.includes(declined.code);
    if (soft) order.status = 'COMPLETED';
    store.put(ORDERS, order);
    record(store, order, {
      kind,
      status: 'failed',
      reference: base.id,
      amount: unit.amount,
      key,
      code: capture ? 'DECLINED' : 'DENIED',
    });
    // Card declines PayPal reports in the payment's status; others (expired card, failed 3-D Secure) as 422.
    if (soft) return presentOrder(store, order);
    fail(
      422,
      declined.issue,
      `The instrument presented was declined by the processor or bank (${declined.code}).`,
    );
  }
  // PayPal has no processing_error: a processor failure surfaces as a 5xx with nothing done.
  if (outcome?.kind === 'processing_error')
    fail(500, 'INTERNAL_SERVICE_ERROR', 'The processor did not answer.');
  const pending = context.pending();
  addPayment(store, order, capture, base, pending ? 'PENDING' : capture ? 'COMPLETED' : 'CREATED');
  order.status = 'COMPLETED';
  store.put(ORDERS, order);
  const status = pending ? 'pending' : 'succeeded';
  record(store, order, { kind, status, reference: base.id, amount: unit.amount, key });
  return presentOrder(store, order);
}

/** Adds the capture or authorization an order's completion made. */
function addPayment(
  store: SandboxStore,
  order: Order,
  capture: boolean,
  base: { id: string; amount: Amount; custom_id?: string; create_time: string },
  status: Capture['status'] | Authorization['status'],
): void {
  if (capture) {
    store.put<Capture>(CAPTURES, {
      ...base,
      status: status as Capture['status'],
      ...(status === 'PENDING' ? { status_details: { reason: 'PENDING_REVIEW' } } : {}),
      final_capture: true,
      _sandbox: { order: order.id, refunded: 0 },
    });
    order._sandbox.captures.push(base.id);
  } else {
    const expires = new Date(Date.now() + 29 * 24 * 3600 * 1000).toISOString();
    store.put<Authorization>(AUTHORIZATIONS, {
      ...base,
      status: status as Authorization['status'],
      expiration_time: expires,
      _sandbox: { order: order.id },
    });
    order._sandbox.authorizations.push(base.id);
  }
}

function captureAuthorization(
  store: SandboxStore,
  auth: Authorization,
  body: Record<string, unknown>,
  key: string | undefined,
  context: HandleContext,
) {
  if (auth.status === 'DENIED' || auth.status === 'PENDING') {
    fail(422, 'AUTHORIZATION_NOT_CAPTURABLE', `The authorization is ${auth.status}.`);
  }
  if (auth.status === 'VOIDED') fail(422, 'AUTHORIZATION_VOIDED', 'The authorization was voided.');
  if (auth.status === 'CAPTURED')
    fail(422, 'AUTHORIZATION_ALREADY_CAPTURED', 'The authorization was captured.');
  const amount = body.amount === undefined ? auth.amount : amountOf(body.amount);
  if (amount.currency_code !== auth.amount.currency_code) {
    fail(422, 'CURRENCY_MISMATCH', 'The currency differs from the authorization.');
  }
  if (minor(amount) > minor(auth.amount)) {
    fail(422, 'MAX_CAPTURE_AMOUNT_EXCEEDED', 'The capture amount exceeds the authorized amount.');
  }
  const order = get<Order>(store, ORDERS, auth._sandbox.order);
  const pending = context.pending();
  const capture = store.put<Capture>(CAPTURES, {
    id: newId('', 17),
    status: pending ? 'PENDING' : 'COMPLETED',
    ...(pending ? { status_details: { reason: 'PENDING_REVIEW' } } : {}),
    amount,
    final_capture: true,
    ...(auth.custom_id ? { custom_id: auth.custom_id } : {}),
    create_time: new Date().toISOString(),
    _sandbox: { order: order.id, refunded: 0, authorization: auth.id },
  });
  // Every capture here is final: what is left of the authorization is released.
  auth.status = 'CAPTURED';
  store.put(AUTHORIZATIONS, auth);
  order._sandbox.captures.push(capture.id);
  store.put(ORDERS, order);
  const status = pending ? 'pending' : 'succeeded';
  record(store, order, { kind: 'capture', status, reference: capture.id, amount, key });
  return present(capture);
}

function voidAuthorization(store: SandboxStore, auth: Authorization, key?: string): void {
  if (auth.status === 'DENIED' || auth.status === 'PENDING') {
    fail(422, 'AUTHORIZATION_NOT_VOIDABLE', `The authorization is ${auth.status}.`);
  }
  if (auth.status === 'VOIDED') fail(422, 'AUTHORIZATION_VOIDED', 'The authorization was already voided.');
  if (auth.status === 'CAPTURED')
    fail(422, 'AUTHORIZATION_ALREADY_CAPTURED', 'The authorization was captured.');
  auth.status = 'VOIDED';
  store.put(AUTHORIZATIONS, auth);
  const order = get<Order>(store, ORDERS, auth._sandbox.order);
  record(store, order, { kind: 'void', status: 'succeeded', reference: auth.id, amount: auth.amount, key });
}

function refundCapture(
  store: SandboxStore,
  capture: Capture,
  body: Record<string, unknown>,
  key: string | undefined,
  context: HandleContext,
) {
  if (['PENDING', 'DECLINED', 'FAILED'].includes(capture.status)) {
    fail(422, 'CANNOT_BE_REFUNDED', `A ${capture.status} capture cannot be refunded.`);
  }
  const currency = capture.amount.currency_code as CurrencyCode;
  const left = minor(capture.amount) - capture._sandbox.refunded;
  if (left <= 0) fail(422, 'CAPTURE_FULLY_REFUNDED', 'The capture has already been fully refunded.');
  const amount =
    body.amount === undefined
      ? { currency_code: currency, value: formatMinor(left, currency) }
      : amountOf(body.amount);
  if (amount.currency_code !== currency)
    fail(422, 'CURRENCY_MISMATCH', 'The currency differs from the capture.');
  if (minor(amount) > left)
    fail(422, 'REFUND_AMOUNT_EXCEEDED', 'The refund amount exceeds what is left to refund.');
  const pending = context.pending();
  const refund = store.put<Refund>(REFUNDS, {
    id: newId('', 17),
    status: pending ? 'PENDING' : 'COMPLETED',
    amount,
    ...(typeof body.note_to_payer === 'string' ? { note_to_payer: body.note_to_payer } : {}),
    create_time: new Date().toISOString(),
    _sandbox: { capture: capture.id },
  });
  // A pending refund reserves its amount at once: a second refund cannot take it too.
  capture._sandbox.refunded += minor(amount);
  capture.status = refundedStatus(capture);
  store.put(CAPTURES, capture);
  const order = get<Order>(store, ORDERS, capture._sandbox.order);
  const status = pending ? 'pending' : 'succeeded';
  record(store, order, { kind: 'refund', status, reference: refund.id, amount, key });
  return present(refund);
}

function record(
  store: SandboxStore,
  order: Order,
  entry: {
    kind: LedgerEntry['kind'];
    status: LedgerEntry['status'];
    reference: string;
    amount: Amount;
    key?: string | undefined;
    code?: string;
  },
): void {
  const unit = order.purchase_units[0]!;
  store.record({
    gateway: 'paypal',
    kind: entry.kind,
    status: entry.status,
    reference: entry.reference,
    payment: order.id,
    amount: minor(entry.amount),
    currency: entry.amount.currency_code,
    ...(entry.key ? { idempotencyKey: entry.key } : {}),
    ...(unit.custom_id ? { paymentKey: unit.custom_id } : {}),
    ...(unit.reference_id !== 'default' ? { paymentId: unit.reference_id } : {}),
    ...(entry.code ? { code: entry.code } : {}),
  });
}

function amountOf(value: unknown): Amount {
  const a = value as { currency_code?: unknown; value?: unknown } | undefined;
  if (typeof a?.currency_code !== 'string' || typeof a.value !== 'string') {
    fail(400, 'MISSING_REQUIRED_PARAMETER', 'amount.currency_code and amount.value are required.');
  }
  if (!isCurrencyCode(a.currency_code) || !PAYPAL_API_CURRENCIES.has(a.currency_code)) {
    fail(422, 'CURRENCY_NOT_SUPPORTED', 'The currency is not supported.');
  }
  if (paypalApiAmount(a.value, a.currency_code) === undefined) {
    fail(422, 'DECIMAL_PRECISION', `The value has the wrong number of decimals for ${a.currency_code}.`);
  }
  return { currency_code: a.currency_code, value: a.value };
}

/** ISO minor units of an amount already validated by `amountOf`. */
function minor(amount: Amount): number {
  return paypalApiAmount(amount.value, amount.currency_code as CurrencyCode) ?? 0;
}

function get<T>(store: SandboxStore, collection: string, id: string | undefined): T {
  const object = store.get<T>(collection, id ?? '');
  if (!object) fail(404, 'INVALID_RESOURCE_ID', 'Specified resource ID does not exist.');
  return object;
}

function presentOrder(store: SandboxStore, order: Order) {
  const { _sandbox: state, purchase_units, ...visible } = order;
  const captures = state.captures.map((id) => present(get<Capture>(store, CAPTURES, id)));
  const authorizations = state.authorizations.map((id) =>
    present(get<Authorization>(store, AUTHORIZATIONS, id)),
  );
  const payments = captures.length || authorizations.length ? { payments: { captures, authorizations } } : {};
  return { ...visible, purchase_units: purchase_units.map((u) => ({ ...u, ...payments })) };
}

function present<T extends { _sandbox: unknown }>(object: T): Omit<T, '_sandbox'> {
  const { _sandbox: _internal, ...visible } = object;
  return visible;
}

function errorResult(status: number, issue: string, description: string): ApiResult {
  const name = NAMES[status] ?? 'UNPROCESSABLE_ENTITY';
  return {
    status,
    body: {
      name,
      message: description,
      debug_id: newId('', 13).toLowerCase(),
      details: [{ issue, description }],
      links: [],
    },
  };
}
