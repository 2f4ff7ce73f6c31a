/**
 * Payment IDs. The payment ID is the workflow ID, derived from the idempotency key (and the
 * merchant scope) alone: Temporal's workflow-ID uniqueness is what makes creation idempotent.
 */
const PREFIX = 'payment';
const SEGMENT = /^[A-Za-z0-9_-]{1,255}$/;

/** The workflow ID (= payment ID) for an idempotency key, optionally within a merchant scope. */
export function paymentWorkflowId(idempotencyKey: string, merchantScope?: string): string {
  if (!SEGMENT.test(idempotencyKey)) throw new RangeError('idempotency key must be 1-255 of [A-Za-z0-9_-]');
  if (merchantScope === undefined) return `${PREFIX}:${idempotencyKey}`;
  if (!SEGMENT.test(merchantScope)) throw new RangeError('merchant scope must be 1-255 of [A-Za-z0-9_-]');
  return `${PREFIX}:${merchantScope}:${idempotencyKey}`;
}

/** The inverse of `paymentWorkflowId`; undefined for IDs that are not payment IDs. */
export function parsePaymentWorkflowId(
  workflowId: string,
): { idempotencyKey: string; merchantScope?: string } | undefined {
  const parts = workflowId.split(':');
  if (parts[0] !== PREFIX || !parts.slice(1).every((p) => SEGMENT.test(p))) return undefined;
  if (parts.length === 2) return { idempotencyKey: parts[1]! };
  if (parts.length === 3) return { merchantScope: parts[1]!, idempotencyKey: parts[2]! };
  return undefined;
}

/** The key sent to a gateway for one operation: identical on every retry of that operation. */
export function gatewayIdempotencyKey(
  paymentId: string,
  operation: string,
  attempt: number | string,
): string {
  return `${paymentId}:${operation}:${attempt}`;
}

/** The one task queue name AegisPay uses unless configured otherwise. */
export const DEFAULT_TASK_QUEUE = 'aegispay';

/**
 * The task queue of `aegispay dev` unless one is given: its worker has the sandbox's gateways, and
 * must not take payments meant for a worker of the default queue on the same server.
 */
export const DEV_TASK_QUEUE = 'aegispay-dev';

/** The late-refund workflow's ID: one per payment and refund ID, so two callers get one refund. */
export function lateRefundWorkflowId(paymentId: string, refundId: string): string {
  return `refund:${paymentId}:${refundId}`;
}
