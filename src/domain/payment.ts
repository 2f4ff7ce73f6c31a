import { formatMinor } from './money';
import type { DomainEvent, NewPayment, Payment, PaymentState } from './types';

/** Workflow-level settings the client passes with each payment (the deployment guide's `retry` config, mapped). */
export interface PaymentSettings {
  /** Activity retry policy for gateway calls: how often an unknown outcome is tried again under the same key. */
  retry: {
    maximumAttempts: number;
    initialIntervalMs: number;
    maximumIntervalMs: number;
    backoffCoefficient: number;
  };
  /**
   * How many charge attempts, each under a new key, a payment makes at one gateway that answers
   * `retry-same-gateway`. Optional: payments started before it existed use `retry.maximumAttempts`.
   */
  chargeAttemptsPerGateway?: number;
  /** How long one gateway call may take before it is treated as an unknown outcome and retried. */
  gatewayCallTimeoutMs: number;
  /** How long a successful payment stays open for refunds before the workflow completes. */
  refundWindowMs: number;
  /** How long a payment may stay INITIATED before it is cancelled as abandoned. */
  pendingTimeoutMs: number;
  /** How long an uncaptured authorization lives before it is voided automatically. */
  authorizationExpiryMs: number;
  /** How long the customer has to complete a 3-D Secure (or other) action. */
  actionTimeoutMs: number;
  /** Publish domain events through the worker's event bus. */
  publishEvents: boolean;
  /**
   * How often a payment in REQUIRES_REVIEW asks the gateway again. Optional: payments started before
   * the review state existed carry no value and use the default.
   */
  reviewRecheckIntervalMs?: number;
  /**
   * How long an open outcome (unknown, in progress) is looked up at the gateway, with backoff, before
   * the payment goes to review. Optional for the same reason.
   */
  reconciliationWindowMs?: number;
  /**
   * Project the payment into the system of record (the workers' payment store) after each step.
   * Optional: payments started before the store existed do not project.
   */
  projectToStore?: boolean;
}

/** How long open outcomes are looked up before review, unless the payment's settings say otherwise. */
export const DEFAULT_RECONCILIATION_WINDOW_MS = 10 * 60_000;

/** How often a payment in review asks the gateway again, unless its settings say otherwise. */
export const DEFAULT_REVIEW_RECHECK_INTERVAL_MS = 15 * 60_000;

/** Tries of the routing local activity (which also runs the worker's risk check); its last try applies the check's `onError`. */
export const ROUTING_TRIES = 3;

/** The payment workflow's one input. */
export interface PaymentWorkflowInput {
  payment: NewPayment;
  settings: PaymentSettings;
  /**
   * Set by `recoverPayment` when an earlier run of this payment was terminated: its last view and
   * events, which this run continues from (an outcome that was in flight goes to review).
   */
  recovered?: { payment: Payment; events: DomainEvent[] };
}

/** The initial `Payment` view of a newly created payment. */
export function initialPaymentView(p: NewPayment, now: string): Payment {
  return {
    id: p.id,
    idempotencyKey: p.idempotencyKey,
    state: 'INITIATED',
    amount: p.amount,
    customer: p.customer,
    paymentMethod: p.paymentMethod,
    metadata: p.metadata,
    captureMethod: p.captureMethod,
    gateway: p.gatewayType,
    attempts: [],
    amounts: { authorized: 0, captured: 0, refunded: 0 },
    refunds: [],
    fingerprint: p.fingerprint,
    createdAt: now,
    updatedAt: now,
    version: 0,
  };
}

/** The request a payment was created from, read back from its view (what a recovered run starts with). */
export function newPaymentOf(p: Payment): NewPayment {
  return {
    id: p.id,
    idempotencyKey: p.idempotencyKey,
    amount: p.amount,
    customer: p.customer,
    paymentMethod: p.paymentMethod,
    metadata: p.metadata,
    captureMethod: p.captureMethod,
    fingerprint: p.fingerprint,
    ...(p.routing === undefined && p.gateway ? { gatewayType: p.gateway } : {}),
  };
}

/** A short method label without sensitive data: "card visa ••4242", "UPI". */
export function methodLabel(p: Pick<Payment, 'paymentMethod'>): string {
  const m = p.paymentMethod;
  if (m.type !== 'CARD') return m.type;
  return m.card.last4 ? `card ${m.card.brand} ••${m.card.last4}` : `card ${m.card.brand}`;
}

/**
 * The Web UI line of a payment: "USD 99.99 · card visa ••4242 · SUCCESS via MOCK". Without a state
 * (the static summary, fixed at start) it leaves the state out rather than show one that goes stale.
 */
export function paymentSummary(
  p: Pick<Payment, 'amount' | 'paymentMethod' | 'gateway'> & { state?: Payment['state'] },
): string {
  const parts = [`${p.amount.currency} ${formatMinor(p.amount.amount, p.amount.currency)}`, methodLabel(p)];
  if (p.state) parts.push(p.gateway ? `${p.state} via ${p.gateway}` : p.state);
  return parts.join(' · ');
}

/**
 * The Web UI's details of a payment (Markdown, fixed at start): who pays, how it is captured and its
 * key. The customer's ID, never their name or email, and nothing of the card beyond the summary's.
 */
export function paymentDetails(p: Pick<NewPayment, 'idempotencyKey' | 'customer' | 'captureMethod'>): string {
  return [
    `**Customer:** ${p.customer.id}`,
    `**Capture:** ${p.captureMethod}`,
    `**Idempotency key:** ${p.idempotencyKey}`,
    'State, gateway and refunded amount: the AegisPayState, AegisPayGateway and AegisPayRefunded ' +
      'search attributes; the full payment: the `payment` query.',
  ].join('\n\n');
}

/** The request identity hashed into the fingerprint: never the per-call card token or the CVV. */
export function fingerprintSource(p: Omit<NewPayment, 'id' | 'fingerprint'>): string {
  const m = p.paymentMethod;
  const method =
    m.type === 'CARD'
      ? {
          type: m.type,
          brand: m.card.brand,
          last4: m.card.last4 ?? null,
          expiry: `${m.card.expiryMonth}/${m.card.expiryYear}`,
          // A caller-supplied gateway token (tok_visa) is the card's identity; a token we minted is not.
          token: m.card.last4 ? null : m.card.token,
        }
      : { type: m.type, details: sortKeys(m.details) };
  return JSON.stringify({
    key: p.idempotencyKey,
    amount: p.amount,
    customer: sortKeys(p.customer),
    captureMethod: p.captureMethod,
    gatewayType: p.gatewayType ?? null,
    metadata: sortKeys(p.metadata),
    method,
  });
}

function sortKeys<T extends object>(o: T): [string, unknown][] {
  return Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** True for the states in which a payment is done with processing and waits only for refunds or expiry. */
export function awaitsRefundsOnly(state: PaymentState): boolean {
  return state === 'SUCCESS' || state === 'PARTIALLY_REFUNDED';
}
