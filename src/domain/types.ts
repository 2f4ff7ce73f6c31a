/**
 * Plain data shapes shared by the client, the workflow and the activities.
 * Everything here survives JSON: strings, numbers, booleans, arrays and plain objects only.
 */
import type { CurrencyCode } from './currencies';

/**
 * The gateways AegisPay has a connector for (`src/activities/gateways/<name>/`). The names are stored in
 * histories and search attributes: never rename one.
 */
export const GatewayType = {
  MOCK: 'MOCK',
  STRIPE: 'STRIPE',
  PAYPAL: 'PAYPAL',
} as const;
export type GatewayType = (typeof GatewayType)[keyof typeof GatewayType];

/** Payment method families (the deployment guide's list). */
export const PaymentMethodType = {
  CARD: 'CARD',
  UPI: 'UPI',
  NET_BANKING: 'NET_BANKING',
  WALLET: 'WALLET',
  PAY_LATER: 'PAY_LATER',
} as const;
export type PaymentMethodType = (typeof PaymentMethodType)[keyof typeof PaymentMethodType];

/** States of a payment; the allowed moves between them live in `state-machine.ts`. */
export const PaymentState = {
  INITIATED: 'INITIATED',
  PROCESSING: 'PROCESSING',
  REQUIRES_ACTION: 'REQUIRES_ACTION',
  AUTHORIZED: 'AUTHORIZED',
  SUCCESS: 'SUCCESS',
  FAILURE: 'FAILURE',
  CANCELLED: 'CANCELLED',
  PARTIALLY_REFUNDED: 'PARTIALLY_REFUNDED',
  REFUNDED: 'REFUNDED',
  /**
   * A gateway outcome stayed unknown (or in progress) after reconciliation's bounded looks, or something
   * unexpected happened: the workflow keeps looking on a timer, and an operator can settle it.
   */
  REQUIRES_REVIEW: 'REQUIRES_REVIEW',
} as const;
export type PaymentState = (typeof PaymentState)[keyof typeof PaymentState];

/** When the authorized amount is captured: at once, or later by `capturePayment`. */
export type CaptureMethod = 'automatic' | 'manual';

/** An amount of money in integer minor units of its currency (cents for USD, yen for JPY). */
export interface Money {
  amount: number;
  currency: CurrencyCode;
}

/** Metadata after sanitization: flat, primitive values only. */
export type Metadata = Record<string, string | number | boolean>;

export interface Customer {
  id: string;
  email?: string;
  name?: string;
  phone?: string;
  /** ISO 3166 alpha-2; routing rules can match on it. */
  country?: string;
}

/** Card details as the caller passes them (the deployment guide's field names). Never stored, never logged. */
export interface CardDetails {
  /** A full card number, or a gateway token such as `tok_visa`. */
  cardNumber: string;
  expiryMonth: string | number;
  expiryYear: string | number;
  cvv?: string;
  cardHolderName?: string;
}

/** Non-card method details (UPI ID, bank code, wallet name, …), flat primitive values. */
export type MethodDetails = Record<string, string | number | boolean>;

export type PaymentMethodInput =
  | { type: typeof PaymentMethodType.CARD; details: CardDetails }
  | { type: Exclude<PaymentMethodType, typeof PaymentMethodType.CARD>; details?: MethodDetails };

/** What `createPayment` and `pay` accept. `amount` is in major units (99.99 USD). */
export interface CreatePaymentRequest {
  idempotencyKey: string;
  amount: number | string;
  currency: CurrencyCode;
  customer: Customer;
  paymentMethod: PaymentMethodInput;
  metadata?: Record<string, unknown>;
  captureMethod?: CaptureMethod;
  /** Pins the gateway instead of letting routing choose. */
  gatewayType?: GatewayType;
}

/** A card after tokenization: what the workflow sees instead of the number and CVV. */
export interface TokenizedCard {
  token: string;
  brand: string;
  last4?: string;
  expiryMonth: number;
  expiryYear: number;
  cardHolderName?: string;
}

export type StoredPaymentMethod =
  | { type: typeof PaymentMethodType.CARD; card: TokenizedCard }
  | { type: Exclude<PaymentMethodType, typeof PaymentMethodType.CARD>; details: MethodDetails };

/** A validated, tokenized payment request: the payment workflow's input. */
export interface NewPayment {
  id: string;
  idempotencyKey: string;
  amount: Money;
  customer: Customer;
  paymentMethod: StoredPaymentMethod;
  metadata: Metadata;
  captureMethod: CaptureMethod;
  gatewayType?: GatewayType;
  /** Hash of the request's identity, compared on every duplicate create/pay call. */
  fingerprint: string;
}

export type AttemptOutcome = 'succeeded' | 'declined' | 'failed';

/** One charge attempt at one gateway (activity retries of the same attempt share its idempotency key). */
export interface PaymentAttempt {
  number: number;
  gateway: GatewayType;
  gatewayIdempotencyKey: string;
  /** `unknown`: no definite answer yet (the payment went to REQUIRES_REVIEW). */
  outcome: AttemptOutcome | 'unknown';
  gatewayReference?: string;
  errorCode?: string;
  latencyMs: number;
  /** Lookups at the gateway after an unknown outcome (timeout, 5xx) before the attempt was settled. */
  reconciliationChecks?: number;
  at: string;
}

/** CLOSED lets calls through, OPEN refuses them, HALF_OPEN lets a few probes test the gateway. */
export type BreakerState = 'CLOSED' | 'OPEN' | 'HALF_OPEN';

export interface RoutingCandidate {
  gateway: GatewayType;
  score: number;
  breaker: BreakerState;
  eligible: boolean;
  reason?: string;
}

/** Why a gateway was chosen; returned by the routing activity and kept on the payment. */
export interface RoutingDecision {
  gateway: GatewayType;
  strategy: string;
  reason: string;
  candidates: RoutingCandidate[];
}

/** The worker's risk (fraud) check of a payment, made once before its first charge attempt. */
export interface RiskAssessment {
  decision: 'allow' | 'deny';
  /** The check's own score, if it gives one (its scale, not ours). */
  score?: number;
  reason?: string;
  /** Set when the check failed and the worker's `onError` policy decided instead of it. */
  checkFailed?: string;
}

export interface Refund {
  id: string;
  amount: number;
  status: 'succeeded' | 'failed';
  reason?: string;
  at: string;
}

/** The gateway operations of a payment, each under its own idempotency key. */
export type GatewayOperationName = 'charge' | 'confirm' | 'capture' | 'void' | 'refund';

/** Why a payment is in REQUIRES_REVIEW and what settles it. */
export interface PaymentReview {
  /** The operation whose outcome is open; absent when review follows an unexpected error outside a call. */
  operation?: GatewayOperationName;
  gateway?: GatewayType;
  gatewayIdempotencyKey?: string;
  /** The gateway's last code (`CAPTURE_PENDING`, `gateway_timeout`, `unexpected_error`, …). */
  code: string;
  message: string;
  /** The state the payment was in when the operation started: where "not done" returns it. */
  from: PaymentState;
  /** Capture and refund amounts (minor units), refund ID and reason: what "done" applies. */
  amount?: number;
  refundId?: string;
  reason?: string;
  /** What a void was for: the state it leads to once done. */
  afterVoid?: { state: 'CANCELLED' | 'FAILURE'; code: string; message: string };
  since: string;
  /** Lookups made while in review. */
  checks: number;
}

export interface PaymentFailure {
  code: string;
  message: string;
  gateway?: GatewayType;
}

/** The view of a payment returned by every client call. Amounts are integer minor units. */
export interface Payment {
  id: string;
  idempotencyKey: string;
  state: PaymentState;
  amount: Money;
  customer: Customer;
  paymentMethod: StoredPaymentMethod;
  metadata: Metadata;
  captureMethod: CaptureMethod;
  gateway?: GatewayType;
  /** The gateway's ID of the charge that succeeded (or awaits action or capture). */
  gatewayReference?: string;
  routing?: RoutingDecision;
  /** Present when the worker runs a risk check; a `deny` fails the payment before any charge. */
  risk?: RiskAssessment;
  attempts: PaymentAttempt[];
  amounts: { authorized: number; captured: number; refunded: number };
  refunds: Refund[];
  failure?: PaymentFailure;
  cancellationReason?: string;
  /** Present while the payment is in REQUIRES_REVIEW. */
  review?: PaymentReview;
  /** Hash of the creating request's identity; duplicates must match it (never includes card data). */
  fingerprint: string;
  createdAt: string;
  updatedAt: string;
  /** Number of domain events applied so far. */
  version: number;
}

export type DomainEventType =
  | 'PAYMENT_INITIATED'
  | 'PAYMENT_PROCESSING'
  | 'PAYMENT_AUTHORIZED'
  | 'PAYMENT_SUCCEEDED'
  | 'PAYMENT_FAILED'
  | 'PAYMENT_RETRY_ATTEMPTED'
  | 'PAYMENT_CANCELLED'
  | 'PAYMENT_ROUTED'
  | 'RISK_ASSESSED'
  | 'PAYMENT_REQUIRES_ACTION'
  | 'PAYMENT_CAPTURED'
  | 'REFUND_SUCCEEDED'
  | 'REFUND_FAILED'
  | 'REQUEST_REJECTED'
  | 'REVIEW_REQUIRED'
  | 'REVIEW_RESOLVED'
  | 'CANCELLATION_REQUESTED'
  | 'PAYMENT_RECOVERED';

/** An entry of a payment's audit trail, appended by the workflow in order. */
export interface DomainEvent {
  id: string;
  type: DomainEventType;
  paymentId: string;
  sequence: number;
  at: string;
  data: Record<string, unknown>;
}
