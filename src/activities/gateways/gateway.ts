import type {
  CaptureMethod,
  GatewayType,
  Money,
  PaymentMethodType,
  StoredPaymentMethod,
} from '../../domain/types';
import type { CurrencyCode } from '../../domain/currencies';

/**
 * What a gateway's answer that is not "done" means for the payment. Together with a successful result
 * ("done") these are the one outcome model of every call, charge and follow-up alike:
 * - definitely not done: `retry-same-gateway` (transient; the same gateway may take a new attempt),
 *   `failover` (another gateway may take it), `decline` (a business answer: never retried, never
 *   failed over, however it was learned), `requires-action` (the customer must act first);
 * - `in-progress`: the gateway took the request and has no final answer yet (PayPal `PENDING`, Stripe
 *   `processing`): money may be in motion, so nothing else may be tried; look it up later;
 * - `unknown`: the request may or may not have been processed; look it up before anything else.
 */
export type GatewayErrorCategory =
  'retry-same-gateway' | 'failover' | 'decline' | 'requires-action' | 'in-progress' | 'unknown';

/** The categories that say the operation definitely did not happen. */
export const NOT_DONE_CATEGORIES: readonly GatewayErrorCategory[] = [
  'retry-same-gateway',
  'failover',
  'decline',
  'requires-action',
];

/** An error a gateway adapter raises, already classified. `code` is the gateway's code (`card_declined`). */
export class GatewayError extends Error {
  constructor(
    readonly category: GatewayErrorCategory,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export interface ChargeRequest {
  paymentId: string;
  /** Identical on every retry of one attempt, so a retried call can never charge twice. */
  idempotencyKey: string;
  amount: Money;
  paymentMethod: StoredPaymentMethod;
  captureMethod: CaptureMethod;
  customerId: string;
}

export interface ChargeResult {
  /** `requires_action`: the customer must complete a step (3-D Secure) before the charge can finish. */
  status: 'succeeded' | 'authorized' | 'requires_action';
  /** The gateway's own ID of the charge (PaymentIntent ID, order ID, …). */
  reference: string;
}

/** Follow-up operations on an earlier charge, each under its own idempotency key. */
export interface FollowUpRequest {
  paymentId: string;
  idempotencyKey: string;
  /** The charge's `reference`. */
  reference: string;
}

export interface CaptureRequest extends FollowUpRequest {
  /** Captured amount (at most the authorized amount); the rest of the authorization is released. */
  amount: Money;
}

export interface RefundRequest extends FollowUpRequest {
  amount: Money;
  reason?: string;
}

/**
 * What the gateway knows of a charge, looked up by its idempotency key: the same outcome model as a
 * call's answer. `failed` is definite and keeps the gateway's code and category (a decline found by a
 * lookup is still a decline); `in_progress` means money may be in motion; `not_found` means no trace
 * (trusted as "not charged" only after `lookupLagMs`).
 */
export type OperationStatus =
  | { status: 'succeeded' | 'authorized' | 'requires_action'; reference: string; amount: Money }
  | { status: 'failed'; code: string; category: 'decline' | 'failover' }
  | { status: 'in_progress'; code: string; reference?: string }
  | { status: 'not_found' };

/** One row of an adapter's status table: how a status its API documents maps to the outcome model. */
export interface StatusRule {
  /** The API object (`PaymentIntent`, `Refund`, `capture`, …). */
  object: string;
  /** The documented status value. */
  status: string;
  outcome: 'done' | 'not-done' | 'in-progress' | 'unknown';
  /** Why: read this before changing a row. */
  why: string;
}

/** Which payments a gateway can take at all; routing never chooses a gateway that cannot. */
export interface GatewayCapabilities {
  currencies: readonly CurrencyCode[] | 'all';
  methods: readonly PaymentMethodType[];
}

/** One payment service provider behind AegisPay; each connector folder (`mock/`, `stripe/`, `paypal/`) implements it. */
export interface Gateway {
  readonly type: GatewayType;
  readonly capabilities: GatewayCapabilities;
  /** Authorizes (manual capture) or charges (automatic capture); throws `GatewayError`. */
  charge(request: ChargeRequest): Promise<ChargeResult>;
  /** Finishes a charge that required customer action, once the customer has acted. */
  confirm(request: FollowUpRequest): Promise<ChargeResult>;
  /** Captures an authorization, fully or partially. */
  capture(request: CaptureRequest): Promise<{ reference: string }>;
  /** Releases an uncaptured authorization. */
  void(request: FollowUpRequest): Promise<void>;
  /** Refunds part or all of a captured charge. */
  refund(request: RefundRequest): Promise<{ reference: string }>;
  /** Reconciliation: the outcome of an earlier call (any operation) with this idempotency key. */
  getStatus(idempotencyKey: string, reference?: string): Promise<OperationStatus>;
  /**
   * How long after a call `getStatus` may still not show it (a search index that lags its writes).
   * Reconciliation trusts "not found" only once this long has passed since the call.
   */
  readonly lookupLagMs: number;
  /**
   * Settings that change outcomes and must match across a task queue's workers (where it points, its
   * timeout, which account: credentials only as `credentialHash`). Part of the fleet policy.
   */
  readonly policySettings: Readonly<Record<string, string | number>>;
}

/** Settings common to every gateway (the deployment guide's `registerGateway` config). */
export interface GatewayConfig {
  apiKey?: string;
  environment?: 'sandbox' | 'production';
  timeout?: number;
  baseUrl?: string;
  /** Overrides the adapter's `Gateway.lookupLagMs` (STRIPE: 60 s, what Stripe documents for search; others: 0). */
  lookupLagMs?: number;
}
