/**
 * The rules of capture, cancellation and refunds as pure functions of the payment view, so the
 * workflow's update validators, its signal handlers and the tests all apply exactly the same rules.
 */
import { InvalidStateTransitionError, RefundExceedsCapturedError, ValidationError } from './errors';
import {
  checkCancelRequest,
  checkCaptureRequest,
  checkRefundRequest,
  REFUND_AMOUNT_REQUIRED,
} from './follow-up-requests';
import type { CancelRequest, CaptureRequest } from './messages';
import { parseMajorAmount } from './money';
import { canTransition } from './state-machine';
import type { Payment, Refund } from './types';

/** Converts a caller's major-unit amount in the payment's currency to minor units, or throws ValidationError. */
function toMinor(payment: Payment, amount: number | string, field: string): number {
  const parsed = parseMajorAmount(amount, payment.amount.currency);
  if (!parsed.ok) throw new ValidationError([{ path: field, message: `${field} ${parsed.message}` }]);
  return parsed.minor;
}

/**
 * The amount (minor units) a capture request takes: all of the authorization unless it names less.
 * `request` is anything a caller sent (no payload means "capture everything", `null` is refused).
 */
export function resolveCapture(payment: Payment, request: unknown): number {
  const { amount } = checkCaptureRequest(request);
  if (payment.state !== 'AUTHORIZED') {
    throw new InvalidStateTransitionError(
      payment.state,
      'SUCCESS',
      'only an AUTHORIZED payment can be captured',
    );
  }
  const minor = amount === undefined ? payment.amounts.authorized : toMinor(payment, amount, 'amount');
  if (minor > payment.amounts.authorized) {
    throw new ValidationError([
      {
        path: 'amount',
        message: `amount exceeds the authorized ${payment.amounts.authorized} (minor units)`,
      },
    ]);
  }
  return minor;
}

/** The checked cancel request (no payload or `null` is `{}`), if the payment can be cancelled now; else throws. */
export function resolveCancel(payment: Payment, request: unknown): CancelRequest {
  const checked = checkCancelRequest(request);
  assertCancellable(payment);
  return checked;
}

/** Throws unless the payment can be cancelled now (before capture). */
export function assertCancellable(payment: Payment): void {
  if (!canTransition(payment.state, 'CANCELLED')) {
    throw new InvalidStateTransitionError(
      payment.state,
      'CANCELLED',
      'only a payment not yet captured can be cancelled',
    );
  }
}

/** Never a default: checkRefundRequest already refused a refund naming no amount, and this keeps it so. */
function requiredAmount(amount: number | string | undefined): number | string {
  if (amount === undefined) {
    throw new ValidationError([{ path: 'amount', message: REFUND_AMOUNT_REQUIRED }], 'refund request');
  }
  return amount;
}

export type RefundDecision = { kind: 'existing'; refund: Refund } | { kind: 'new'; amount: number };

/**
 * Decides a refund request (anything a caller sent): an earlier refund with the same `refundId` is
 * returned as is; otherwise the amount (`full: true`: all that is left) must fit within
 * captured − refunded − `pending` (refunds under way). A request naming neither is refused.
 */
export function resolveRefund(payment: Payment, request: unknown, pending: number): RefundDecision {
  const { amount, full, refundId } = checkRefundRequest(request);
  const existing = refundId === undefined ? undefined : payment.refunds.find((r) => r.id === refundId);
  if (existing) return { kind: 'existing', refund: existing };
  // A fully refunded payment has nothing left: that is an over-refund, not a wrong state.
  if (payment.state !== 'SUCCESS' && payment.state !== 'PARTIALLY_REFUNDED' && payment.state !== 'REFUNDED') {
    throw new InvalidStateTransitionError(
      payment.state,
      'REFUNDED',
      'only a captured payment can be refunded',
    );
  }
  const available = payment.amounts.captured - payment.amounts.refunded - pending;
  const minor = full === true ? available : toMinor(payment, requiredAmount(amount), 'amount');
  if (minor > available || minor <= 0) throw new RefundExceedsCapturedError(minor, Math.max(available, 0));
  return { kind: 'new', amount: minor };
}

/** The state after a successful refund. */
export function stateAfterRefund(payment: Payment): 'REFUNDED' | 'PARTIALLY_REFUNDED' {
  return payment.amounts.refunded >= payment.amounts.captured ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

/**
 * True when a capture request repeats the capture already made (no amount after a full capture, or the
 * same amount): it is answered with the payment, as the one operation it is, never refused. A manual
 * payment past AUTHORIZED has been captured (it only gets there by a capture).
 */
export function repeatsCapture(payment: Payment, request: CaptureRequest | undefined): boolean {
  const captured = ['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(payment.state);
  if (payment.captureMethod !== 'manual' || !captured) return false;
  if (request?.amount === undefined) return payment.amounts.captured === payment.amounts.authorized;
  const parsed = parseMajorAmount(request.amount, payment.amount.currency);
  return parsed.ok && parsed.minor === payment.amounts.captured;
}
