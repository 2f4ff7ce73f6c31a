import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HealthState, WorkerHealthReport } from './health';
import type { ResolveReviewRequest } from './review';
import type { DomainEvent, GatewayType, Payment } from './types';

/**
 * The payment workflow's messages, shared by the client, the worker and the workflow.
 * Wire names are stored in history and typed by operators: never rename them.
 */

/** Attaches to (or, with Update-With-Start, creates) the payment; rejected when the fingerprint differs. */
export interface CreateRequest {
  fingerprint: string;
}

/** Routes and charges the payment; a duplicate call waits for and returns the first call's outcome. */
export interface ProcessRequest {
  /** Present on `pay` (Update-With-Start): duplicates with another request are conflicts. */
  fingerprint?: string;
  gatewayType?: GatewayType;
}

/** Captures an authorized payment; `amount` in major units, default (no `amount`): all of it. */
export interface CaptureRequest {
  amount?: number | string;
}

/** Cancels before capture. Also the `cancel` signal's plain JSON payload (which may be absent or `null`). */
export interface CancelRequest {
  reason?: string;
}

/**
 * Refunds part or all of what was captured. Also the `refund` signal's plain JSON payload. On the wire a
 * request names exactly one of `amount` and `full: true`; `AegisPay.refundPayment` adds `full: true`
 * when application code names neither.
 */
export interface RefundRequest {
  /** Major units of the payment's currency. */
  amount?: number | string;
  /** Refunds everything still refundable; the only way to ask for that. */
  full?: true;
  reason?: string;
  /** Makes the refund idempotent: a second request with this ID returns the first refund. */
  refundId?: string;
}

/** The customer's answer to a 3-D Secure (or other) action the gateway asked for. */
export interface CompleteActionRequest {
  succeeded: boolean;
}

export const createUpdate = defineUpdate<Payment, [CreateRequest]>('create');
export const processUpdate = defineUpdate<Payment, [ProcessRequest]>('process');
export const captureUpdate = defineUpdate<Payment, [CaptureRequest]>('capture');
export const cancelUpdate = defineUpdate<Payment, [CancelRequest]>('cancel');
export const refundUpdate = defineUpdate<Payment, [RefundRequest]>('refund');
export const completeActionUpdate = defineUpdate<Payment, [CompleteActionRequest]>('completeAction');
/** For operators (Web UI, `temporal workflow signal`): rejected requests become events, never failures. */
export const cancelSignal = defineSignal<[CancelRequest?]>('cancel');
export const refundSignal = defineSignal<[RefundRequest?]>('refund');
/** Settles a payment in REQUIRES_REVIEW: the update answers the caller, the signal is for the Web UI and CLI. */
export const resolveReviewUpdate = defineUpdate<Payment, [ResolveReviewRequest]>('resolveReview');
export const resolveReviewSignal = defineSignal<[ResolveReviewRequest]>('resolveReview');
export const paymentQuery = defineQuery<Payment>('payment');
export const eventsQuery = defineQuery<DomainEvent[]>('events');

/** A worker's periodic (and on-change) report of its breakers and statistics. */
export const healthReportSignal = defineSignal<[WorkerHealthReport]>('healthReport');
/** Every live worker's latest report, for `getHealthSummary` and friends. */
export const healthQuery = defineQuery<HealthState>('health');
