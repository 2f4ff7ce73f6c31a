/**
 * What each gateway error means for a payment (DESIGN section 4), as one table per gateway, and the
 * functions that turn whatever an adapter caught into a classified `GatewayError`. The first matching
 * row wins, so specific rows come before general ones; the last row of each table matches anything.
 */
import Stripe from 'stripe';
import { GatewayError, type GatewayErrorCategory, type OperationStatus, type StatusRule } from './gateway';

/** One row of a taxonomy table. */
export interface ErrorRule {
  /** HTTP status, '5xx', or 'network' for errors without a response; absent: any. */
  status?: number | '5xx' | 'network';
  /** Stripe decline code / code / type, PayPal issue / name, or Node/undici error code; absent: any. */
  code?: string;
  category: GatewayErrorCategory;
  /** Why this category is right: read this before changing a row. */
  why: string;
}

/** Failures without an HTTP response, the same for every gateway. */
export const NETWORK_RULES: readonly ErrorRule[] = [
  {
    status: 'network',
    code: 'ECONNREFUSED',
    category: 'failover',
    why: 'nothing listens: the request never left',
  },
  { status: 'network', code: 'ENOTFOUND', category: 'failover', why: 'DNS failure: the request never left' },
  { status: 'network', code: 'EAI_AGAIN', category: 'failover', why: 'DNS failure: the request never left' },
  { status: 'network', code: 'EHOSTUNREACH', category: 'failover', why: 'no route: the request never left' },
  { status: 'network', code: 'ENETUNREACH', category: 'failover', why: 'no network: the request never left' },
  {
    status: 'network',
    code: 'UND_ERR_CONNECT_TIMEOUT',
    category: 'failover',
    why: 'TCP connect timed out: the request never left',
  },
  {
    status: 'network',
    code: 'ETIMEDOUT',
    category: 'unknown',
    why: 'timed out, possibly after the gateway processed it',
  },
  {
    status: 'network',
    code: 'TimeoutError',
    category: 'unknown',
    why: 'timed out, possibly after the gateway processed it',
  },
  {
    status: 'network',
    code: 'UND_ERR_HEADERS_TIMEOUT',
    category: 'unknown',
    why: 'no answer in time, possibly after processing',
  },
  {
    status: 'network',
    code: 'UND_ERR_BODY_TIMEOUT',
    category: 'unknown',
    why: 'answer cut short, possibly after processing',
  },
  {
    status: 'network',
    code: 'ECONNRESET',
    category: 'unknown',
    why: 'connection reset (socket hang up) after the request left',
  },
  { status: 'network', code: 'EPIPE', category: 'unknown', why: 'connection closed while sending' },
  {
    status: 'network',
    code: 'UND_ERR_SOCKET',
    category: 'unknown',
    why: 'connection closed after the request left',
  },
  { status: 'network', category: 'unknown', why: 'any other transport failure: assume it may have arrived' },
];

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

/** PayPal: developer.paypal.com/api/rest/reference/orders/v2/errors and payments/v2/errors. */
export const PAYPAL_ERROR_TABLE: readonly ErrorRule[] = [
  ...NETWORK_RULES,
  {
    status: 401,
    code: 'invalid_client',
    category: 'failover',
    why: 'bad client ID or secret: charged nothing',
  },
  {
    status: 401,
    category: 'failover',
    why: 'token refused even after a refresh: misconfigured, charged nothing',
  },
  { status: 403, category: 'failover', why: 'NOT_AUTHORIZED / PERMISSION_DENIED: charged nothing' },
  { status: 422, code: 'INSTRUMENT_DECLINED', category: 'decline', why: "the issuer's or PayPal's answer" },
  { status: 422, code: 'CARD_EXPIRED', category: 'decline', why: "the issuer's answer" },
  { status: 422, code: 'TRANSACTION_REFUSED', category: 'decline', why: "PayPal's answer" },
  {
    status: 422,
    code: 'PAYER_ACTION_REQUIRED',
    category: 'requires-action',
    why: 'the payer must complete 3-D Secure',
  },
  {
    status: 422,
    code: 'PREVIOUS_REQUEST_IN_PROGRESS',
    category: 'unknown',
    why: 'a request with this ID is in flight and may charge',
  },
  {
    status: 422,
    code: 'ORDER_ALREADY_CAPTURED',
    category: 'unknown',
    why: 'money already moved for this order: reconcile, never charge anew',
  },
  {
    status: 422,
    code: 'ORDER_ALREADY_AUTHORIZED',
    category: 'unknown',
    why: 'already authorized for this order: reconcile',
  },
  { status: 422, code: 'REFUND_AMOUNT_EXCEEDED', category: 'decline', why: 'more than is left to refund' },
  { status: 422, code: 'CAPTURE_FULLY_REFUNDED', category: 'decline', why: 'nothing left to refund' },
  { status: 422, code: 'MAX_CAPTURE_AMOUNT_EXCEEDED', category: 'decline', why: 'more than was authorized' },
  { status: 422, code: 'AUTHORIZATION_VOIDED', category: 'decline', why: 'not allowed in the current state' },
  {
    status: 422,
    code: 'AUTHORIZATION_ALREADY_CAPTURED',
    category: 'decline',
    why: 'not allowed in the current state',
  },
  {
    status: 422,
    category: 'failover',
    why: 'other business validation (CURRENCY_NOT_SUPPORTED, ORDER_NOT_APPROVED): not processed, another gateway may take it',
  },
  {
    status: 400,
    category: 'failover',
    why: 'INVALID_REQUEST: charged nothing, the same request will fail again',
  },
  { status: 404, category: 'failover', why: 'RESOURCE_NOT_FOUND: charged nothing' },
  { status: 409, category: 'unknown', why: 'conflict with another request on the resource' },
  { status: 429, category: 'retry-same-gateway', why: 'RATE_LIMIT_REACHED before processing' },
  { status: '5xx', category: 'unknown', why: 'INTERNAL_SERVER_ERROR or outage: it may have been processed' },
  { category: 'unknown', why: 'anything else: reconcile before deciding' },
];

/** An HTTP error answer from PayPal's REST API, as the PayPal adapter raises it before classification. */
export class PaypalApiError extends Error {
  /** The first detail's `issue`, else the error `name` (`UNPROCESSABLE_ENTITY`) or OAuth `error`. */
  readonly issue: string;

  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    const b = (body ?? {}) as {
      name?: string;
      message?: string;
      error?: string;
      error_description?: string;
      details?: { issue?: string; description?: string }[];
    };
    const issue = b.details?.[0]?.issue ?? b.name ?? b.error ?? `HTTP_${status}`;
    super(b.details?.[0]?.description ?? b.message ?? b.error_description ?? `PayPal answered ${status}`);
    this.name = 'PaypalApiError';
    this.issue = issue;
  }

  /** Every code a table row may match: issue, name, OAuth error. */
  get codes(): string[] {
    const b = (this.body ?? {}) as { name?: string; error?: string };
    return [this.issue, b.name, b.error].filter((c): c is string => typeof c === 'string');
  }
}

interface ErrorFacts {
  status?: number | 'network';
  codes: string[];
  /** The code reported on the GatewayError. */
  code: string;
  message: string;
}

/** Classifies anything the Stripe adapter caught. */
export function classifyStripeError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  return classify('Stripe', STRIPE_ERROR_TABLE, stripeFacts(err));
}

/** Classifies anything the PayPal adapter caught. */
export function classifyPaypalError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof PaypalApiError) {
    return classify('PayPal', PAYPAL_ERROR_TABLE, {
      status: err.status,
      codes: err.codes,
      code: err.issue,
      message: err.message,
    });
  }
  return classify('PayPal', PAYPAL_ERROR_TABLE, networkFacts(err));
}

/** The first row of `table` that matches the facts. */
export function lookupRule(
  table: readonly ErrorRule[],
  status: number | 'network' | undefined,
  codes: readonly string[],
): ErrorRule {
  const rule = table.find((r) => statusMatches(r.status, status) && (!r.code || codes.includes(r.code)));
  // Every table ends with a catch-all row, so this only guards against an edited table.
  return rule ?? { category: 'unknown', why: 'no rule matched' };
}

function classify(gateway: string, table: readonly ErrorRule[], facts: ErrorFacts): GatewayError {
  const rule = lookupRule(table, facts.status, facts.codes);
  const where = facts.status === undefined || facts.status === 'network' ? '' : ` ${facts.status}`;
  return new GatewayError(rule.category, facts.code, redact(`${gateway}${where}: ${facts.message}`));
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

/** Facts about an error without an HTTP answer: the first known code along its cause chain. */
function networkFacts(err: unknown, outer: unknown = err): ErrorFacts {
  const code = networkCode(err) ?? 'network_error';
  const message = outer instanceof Error ? outer.message : String(outer);
  return { status: 'network', codes: [code], code, message: `${message} (${code})` };
}

function networkCode(err: unknown, depth = 0): string | undefined {
  if (!err || typeof err !== 'object' || depth > 5) return undefined;
  const e = err as { code?: unknown; name?: unknown; cause?: unknown; detail?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && NETWORK_RULES.some((r) => r.code === e.code)) return e.code;
  if (e.name === 'TimeoutError') return 'TimeoutError';
  const inner = Array.isArray(e.errors) ? e.errors[0] : undefined;
  return networkCode(e.cause, depth + 1) ?? networkCode(e.detail, depth + 1) ?? networkCode(inner, depth + 1);
}

function statusMatches(rule: ErrorRule['status'], status: number | 'network' | undefined): boolean {
  if (rule === undefined) return true;
  if (rule === '5xx') return typeof status === 'number' && status >= 500;
  return rule === status;
}

/** Gateway messages end up in logs and payment records: mask anything that looks like a card number. */
function redact(message: string): string {
  return message.replace(/\b(?:\d[ -]?){12,18}\d\b/g, '[REDACTED]');
}

/**
 * A row of an adapter's status table (`STRIPE_STATUS_TABLE`, `PAYPAL_STATUS_TABLE`): how one status of
 * one API object, as one operation meets it, maps to the outcome model.
 */
export interface OutcomeRule extends StatusRule {
  /** For `not-done` rows: which kind of "definitely not done". */
  category?: 'decline' | 'failover';
  /**
   * For `not-done` rows: a lookup finds no trace of the operation yet (it may still be made), so it
   * answers `not_found`, which reconciliation trusts only after the gateway's lookup lag.
   */
  untraced?: true;
}

/** The row for a status; a status no row documents is `unknown`: never guess that money did not move. */
export function statusRule(table: readonly OutcomeRule[], object: string, status: string): OutcomeRule {
  return (
    table.find((r) => r.object === object && r.status === status) ?? {
      object,
      status,
      outcome: 'unknown',
      why: 'a status the table does not document: look it up again before deciding',
    }
  );
}

/** The error a call raises for an answer whose row is not `done`. */
export function outcomeError(rule: OutcomeRule, code: string, message: string): GatewayError {
  const category: GatewayErrorCategory =
    rule.outcome === 'not-done'
      ? (rule.category ?? 'failover')
      : rule.outcome === 'in-progress'
        ? 'in-progress'
        : 'unknown';
  return new GatewayError(category, code, redact(message));
}

/** What a lookup answers for an object in the state of `rule`; `done` builds the done answer. */
export function lookupAnswer(
  rule: OutcomeRule,
  code: string,
  reference: string,
  done: () => OperationStatus,
): OperationStatus {
  switch (rule.outcome) {
    case 'done':
      return done();
    case 'in-progress':
      return { status: 'in_progress', code, reference };
    case 'not-done':
      return rule.untraced
        ? { status: 'not_found' }
        : { status: 'failed', code, category: rule.category ?? 'failover' };
    default:
      throw outcomeError(rule, code, `${rule.object} ${reference} is ${rule.status}`);
  }
}
