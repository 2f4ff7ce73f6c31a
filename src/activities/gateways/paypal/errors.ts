/** What each PayPal error means for a payment, as one table, and the classifier the PayPal adapter calls. */
import { GatewayError } from '../gateway';
import { classify, NETWORK_RULES, networkFacts, type ErrorRule } from '../error-taxonomy';

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
