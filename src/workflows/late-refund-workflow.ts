import { proxyActivities, sleep } from '@temporalio/workflow';
import type { LateRefundInput, PaymentActivities } from '../activities';
import { gatewayIdempotencyKey } from '../domain/ids';
import type { PaymentSettings } from '../domain/payment';
import type { Payment } from '../domain/types';
import { answerOf, lookupAnswer } from './outcomes';

/** What the client asks for when it refunds a payment whose workflow has closed. */
export interface LateRefundWorkflowInput extends LateRefundInput {
  reason?: string;
  settings: Pick<PaymentSettings, 'retry' | 'gatewayCallTimeoutMs'>;
}

/**
 * One refund of a payment whose workflow closed (its refund window ended, or retention deleted it), for
 * as long as card networks allow refunds. Keyed by payment and refund ID, so two callers get one refund.
 * The store is the payment's record now: the refund is reserved there first, under the same row lock
 * that keeps every refund within what was captured, then made at the gateway under the refund's own
 * idempotency key, and its definite outcome recorded. An open outcome is looked up until it is definite.
 */
export async function lateRefundWorkflow(input: LateRefundWorkflowInput): Promise<Payment> {
  const { retry, gatewayCallTimeoutMs } = input.settings;
  const activities = proxyActivities<PaymentActivities>({
    startToCloseTimeout: gatewayCallTimeoutMs,
    retry: {
      maximumAttempts: retry.maximumAttempts,
      initialInterval: retry.initialIntervalMs,
      maximumInterval: retry.maximumIntervalMs,
      backoffCoefficient: retry.backoffCoefficient,
    },
  });
  // The store is the payment's record now: its calls retry until it answers (a refund the gateway made
  // must be recorded, and an outage of the database must not leave a reservation behind).
  const record = proxyActivities<PaymentActivities>({
    startToCloseTimeout: gatewayCallTimeoutMs,
    retry: {
      initialInterval: retry.initialIntervalMs,
      maximumInterval: LONGEST_PAUSE_MS,
      backoffCoefficient: 2,
    },
  });
  const { windowMs, paymentId, refundId } = input;
  const reservation = await record.reserveLateRefund({
    paymentId,
    refundId,
    windowMs,
    ...(input.full ? { full: true } : { amount: input.amount! }),
  });
  const { payment } = reservation;
  if (reservation.status !== 'reserved') return payment; // settled by an earlier run of this refund
  const refund = {
    paymentId,
    gateway: payment.gateway!,
    gatewayIdempotencyKey: gatewayIdempotencyKey(paymentId, 'refund', refundId),
    reference: payment.gatewayReference!,
    amount: { amount: reservation.amount, currency: payment.amount.currency },
    ...(input.reason ? { reason: input.reason } : {}),
  };
  let answer = await answerOf(() => activities.refundPayment(refund));
  // Open (unknown, in progress): ask the gateway, by reads, until it says; a re-send would only be
  // answered with its first reply, and the money may be on its way back already.
  for (let look = 1; answer.kind === 'open'; look++) {
    await sleep(Math.min(retry.initialIntervalMs * retry.backoffCoefficient ** look, LONGEST_PAUSE_MS));
    const looked = await answerOf(() =>
      activities.getOperationStatus({
        gateway: refund.gateway,
        gatewayIdempotencyKey: refund.gatewayIdempotencyKey,
        reference: refund.reference,
      }),
    );
    if (looked.kind !== 'done') continue;
    answer =
      looked.value.status === 'not_found'
        ? await answerOf(() => activities.refundPayment(refund))
        : lookupAnswer(looked.value);
  }
  return record.settleLateRefund({
    paymentId,
    refundId,
    status: answer.kind === 'done' ? 'succeeded' : 'failed',
    ...(answer.kind === 'not_done' ? { reason: `${answer.code}: ${answer.message}` } : {}),
  });
}

/** The longest pause between two looks at an open refund. */
const LONGEST_PAUSE_MS = 60 * 60_000;
