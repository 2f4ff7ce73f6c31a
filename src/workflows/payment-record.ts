import { patched, proxySinks, setCurrentDetails, upsertSearchAttributes } from '@temporalio/workflow';
import type { FollowUpInput } from '../activities';
import { AegisPayError, ErrorCode } from '../domain/errors';
import { checkCaptureRequest, summarizeRejectedPayload } from '../domain/follow-up-requests';
import { gatewayIdempotencyKey } from '../domain/ids';
import {
  assertCancellable,
  repeatsCapture,
  resolveCapture,
  resolveRefund,
  stateAfterRefund,
  type RefundDecision,
} from '../domain/lifecycle';
import { initialPaymentView, paymentSummary, type PaymentWorkflowInput } from '../domain/payment';
import { checkResolveReviewRequest, type ResolveReviewRequest } from '../domain/review';
import { PAYMENT_GATEWAY, PAYMENT_REFUNDED, PAYMENT_STATE } from '../domain/search-attributes';
import { assertTransition, isTerminal } from '../domain/state-machine';
import type {
  DomainEvent,
  DomainEventType,
  GatewayOperationName,
  GatewayType,
  Payment,
  PaymentReview,
  PaymentState,
} from '../domain/types';
import { UnexpectedInCall } from './failures';
import { failureOf, type ChargedStatus } from './outcomes';
import type { PaymentSinks } from './sinks';

const { paymentMetrics } = proxySinks<PaymentSinks>();

/** Patch: the refunded amount is kept in the AegisPayRefunded search attribute. */
const REFUNDED_SEARCH_ATTRIBUTE = 'refunded-search-attribute';

/** A definite outcome of the operation under review, learned from the gateway or an operator. */
export type ReviewOutcome =
  | { kind: 'done'; value?: { status?: ChargedStatus; reference?: string } }
  | { kind: 'not_done'; code: string; message: string };

/** Who settled a review. */
type SettledBy = { by: 'gateway' } | { by: 'operator'; operator: string; note?: string };

/**
 * The payment as its workflow keeps it: the view, its events, the refunds under way, and every rule
 * for changing them. It only records: gateway work is PaymentOperations', which asks it what is
 * allowed and tells it what happened. The workflow is the payment's single writer: its ID comes from
 * the idempotency key, so there is never a second copy to race with.
 */
export class PaymentRecord {
  readonly payment: Payment;
  readonly events: DomainEvent[];
  /** Refunds accepted but not finished, by refund ID: they count against what is still refundable. */
  readonly pendingRefunds = new Map<string, number>();
  /** The creating request, as the client sent it (card data already tokenized). */
  readonly request: PaymentWorkflowInput['payment'];
  /** Whether this run continues a payment whose earlier run was terminated. */
  private readonly recovered: boolean;

  constructor({ payment: request, recovered }: PaymentWorkflowInput) {
    this.request = request;
    this.recovered = Boolean(recovered);
    this.payment = recovered ? { ...recovered.payment } : initialPaymentView(request, now());
    this.events = recovered ? [...recovered.events] : [];
  }

  /** The payment's first event: created, or continued after an earlier run was terminated. */
  begin(): void {
    if (this.recovered) {
      this.recover();
    } else {
      const { amount, captureMethod } = this.payment;
      this.record('PAYMENT_INITIATED', { amount, captureMethod });
      paymentMetrics.stateEntered(this.payment.state, this.payment.gateway ?? 'none');
    }
    setCurrentDetails(paymentSummary(this.payment));
  }

  /** Appends an event, moving the payment to `to` (a transition the state machine allows) with `patch`. */
  record(
    type: DomainEventType,
    data: Record<string, unknown>,
    to?: PaymentState,
    patch: Partial<Payment> = {},
  ) {
    const payment = this.payment;
    if (to) assertTransition(payment.state, to);
    const entered = to !== undefined && to !== payment.state;
    Object.assign(payment, patch, to ? { state: to } : {});
    if (entered && payment.state !== 'REQUIRES_REVIEW') delete payment.review;
    if (entered) paymentMetrics.stateEntered(to, payment.gateway ?? 'none');
    payment.version += 1;
    payment.updatedAt = now();
    this.events.push({
      id: `${payment.id}:${payment.version}`,
      type,
      paymentId: payment.id,
      sequence: payment.version,
      at: payment.updatedAt,
      data,
    });
    if (to || patch.gateway) {
      upsertSearchAttributes([
        { key: PAYMENT_STATE, value: payment.state },
        ...(payment.gateway ? [{ key: PAYMENT_GATEWAY, value: payment.gateway }] : []),
        // Payments that refunded before this attribute existed replay without it (and without the marker).
        ...(payment.amounts.refunded > 0 && patched(REFUNDED_SEARCH_ATTRIBUTE)
          ? [{ key: PAYMENT_REFUNDED, value: payment.amounts.refunded }]
          : []),
      ]);
      setCurrentDetails(paymentSummary(payment));
    }
  }

  fail(code: string, message: string, failedAt?: GatewayType) {
    const failure = { code, message, ...(failedAt ? { gateway: failedAt } : {}) };
    this.record('PAYMENT_FAILED', failure, 'FAILURE', { failure });
  }

  cancelled(reason: string, data: Record<string, unknown> = {}) {
    this.record('PAYMENT_CANCELLED', { reason, ...data }, 'CANCELLED', { cancellationReason: reason });
  }

  /** The charge (or its confirmation) went through: what the gateway said decides the next state. */
  charged(status: ChargedStatus, reference: string) {
    const amount = this.payment.amount.amount;
    const patch = { gatewayReference: reference };
    if (status === 'requires_action') {
      this.record('PAYMENT_REQUIRES_ACTION', { reference }, 'REQUIRES_ACTION', patch);
    } else if (status === 'authorized') {
      this.record('PAYMENT_AUTHORIZED', { reference }, 'AUTHORIZED', {
        ...patch,
        amounts: { ...this.payment.amounts, authorized: amount },
      });
    } else {
      this.record('PAYMENT_SUCCEEDED', { reference }, 'SUCCESS', {
        ...patch,
        amounts: { ...this.payment.amounts, authorized: amount, captured: amount },
      });
    }
  }

  captured(amount: number) {
    const amounts = this.payment.amounts;
    this.record('PAYMENT_CAPTURED', { amount, released: amounts.authorized - amount }, 'SUCCESS', {
      amounts: { ...amounts, captured: amount },
    });
  }

  /** Records a refund's definite outcome: succeeded, or refused with the gateway's code. */
  refunded(
    refundId: string,
    amount: number,
    reason: string | undefined,
    refusal?: { code: string; message: string },
  ) {
    const payment = this.payment;
    const entry = { id: refundId, amount, at: now(), ...(reason ? { reason } : {}) };
    if (refusal) {
      payment.refunds.push({ ...entry, status: 'failed' });
      const back = payment.state === 'REQUIRES_REVIEW' ? payment.review!.from : undefined;
      this.record('REFUND_FAILED', { refundId, amount, code: refusal.code, message: refusal.message }, back);
      return;
    }
    payment.refunds.push({ ...entry, status: 'succeeded' });
    payment.amounts = { ...payment.amounts, refunded: payment.amounts.refunded + amount };
    this.record('REFUND_SUCCEEDED', { refundId, amount }, stateAfterRefund(payment));
  }

  /** Moves the payment to REQUIRES_REVIEW: the outcome of a gateway call is open, or something unexpected happened. */
  enterReview(review: Omit<PaymentReview, 'since' | 'checks'>) {
    if (this.payment.state === 'REQUIRES_REVIEW' || isTerminal(this.payment.state)) return;
    const open: PaymentReview = { ...review, from: review.from, since: now(), checks: 0 };
    this.record(
      'REVIEW_REQUIRED',
      { operation: open.operation, code: open.code, message: open.message },
      'REQUIRES_REVIEW',
      { review: open },
    );
  }

  /** An error no rule expected: the payment goes to review instead of waiting silently. */
  unexpected(err: unknown) {
    const call = err instanceof UnexpectedInCall ? err.call : undefined;
    const cause = err instanceof UnexpectedInCall ? err.cause : err;
    const message = cause instanceof Error ? cause.message : String(cause);
    this.enterReview({ ...(call ?? { from: this.payment.state }), code: 'unexpected_error', message });
  }

  /** Operator signals never fail the workflow: what is not allowed is recorded as a rejected request. */
  rejectRequest(kind: string, req: unknown, err: unknown) {
    const { code, message } = err instanceof AegisPayError ? err : failureOf(err);
    const payload = summarizeRejectedPayload(req);
    this.record('REQUEST_REJECTED', { request: kind, code, message, payload });
  }

  /** Applies the definite outcome of the operation under review, learned from the gateway or an operator. */
  settleReview(answer: ReviewOutcome, by: SettledBy) {
    const review = this.payment.review!;
    this.record('REVIEW_RESOLVED', { operation: review.operation, outcome: answer.kind, ...by });
    const attempt = this.payment.attempts.find(
      (a) => a.gatewayIdempotencyKey === review.gatewayIdempotencyKey,
    );
    if (answer.kind === 'not_done') {
      if (attempt) Object.assign(attempt, { outcome: 'failed', errorCode: answer.code });
      return this.reviewNotDone(review, answer);
    }
    const reference = answer.value?.reference ?? this.payment.gatewayReference;
    switch (review.operation) {
      case 'charge':
      case 'confirm': {
        const status =
          answer.value?.status ?? (this.payment.captureMethod === 'manual' ? 'authorized' : 'succeeded');
        if (attempt) Object.assign(attempt, { outcome: 'succeeded', gatewayReference: reference });
        return this.charged(
          review.operation === 'confirm' && status === 'requires_action' ? 'succeeded' : status,
          reference!,
        );
      }
      case 'capture':
        return this.captured(review.amount!);
      case 'void': {
        const after = review.afterVoid!;
        return after.state === 'CANCELLED'
          ? this.cancelled(after.code)
          : this.fail(after.code, after.message, this.payment.gateway);
      }
      case 'refund':
        return this.refunded(review.refundId!, review.amount!, review.reason);
      default:
        return this.record('REVIEW_RESOLVED', { returnedTo: review.from }, review.from);
    }
  }

  /** The operation under review was definitely not done: the payment fails or returns to where it was. */
  private reviewNotDone(review: PaymentReview, answer: { code: string; message: string }) {
    switch (review.operation) {
      case 'refund':
        return this.refunded(review.refundId!, review.amount!, review.reason, answer);
      case 'charge':
      case 'confirm':
        return this.fail(answer.code, answer.message, review.gateway);
      case 'capture':
      case 'void':
        return this.record(
          'REVIEW_RESOLVED',
          { operation: review.operation, returnedTo: review.from },
          review.from,
        );
      default:
        // An unexpected error outside any call: nothing moved at a gateway.
        return review.from === 'PROCESSING'
          ? this.fail(review.code, review.message, review.gateway)
          : this.record('REVIEW_RESOLVED', { returnedTo: review.from }, review.from);
    }
  }

  /** An operator's decision on a payment in review (the gateway's dashboard or a settlement report says). */
  resolveReview(req: ResolveReviewRequest): Payment {
    const review = this.payment.review!;
    const chargeLike = review.operation === 'charge' || review.operation === 'confirm';
    const by = { by: 'operator' as const, operator: req.operator, ...(req.note ? { note: req.note } : {}) };
    if (req.outcome === 'done') {
      const reference = req.reference ?? this.payment.gatewayReference ?? '';
      this.settleReview({ kind: 'done', value: chargeLike ? { reference } : {} }, by);
    } else {
      const message = req.note ?? `Settled by ${req.operator}: not done at the gateway`;
      this.settleReview({ kind: 'not_done', code: 'resolved_not_done', message }, by);
    }
    return this.payment;
  }

  /**
   * Continues a payment whose earlier run was terminated. Follow-up calls are re-sent under their
   * deterministic keys when asked again, so only a charge that may have been in flight needs care:
   * it goes to review, where the gateway's lookup settles it.
   */
  private recover() {
    const payment = this.payment;
    this.record('PAYMENT_RECOVERED', { state: payment.state, version: payment.version });
    if (payment.state !== 'PROCESSING') return;
    if (!payment.routing || !payment.gateway) {
      return this.fail('recovered_unprocessed', 'The payment stopped before any gateway was called');
    }
    const number = payment.attempts.length + 1;
    const key = gatewayIdempotencyKey(payment.id, 'charge', number);
    payment.attempts.push({
      number,
      gateway: payment.gateway,
      gatewayIdempotencyKey: key,
      at: now(),
      latencyMs: 0,
      outcome: 'unknown',
    });
    this.enterReview({
      operation: 'charge',
      gateway: payment.gateway,
      gatewayIdempotencyKey: key,
      from: 'PROCESSING',
      code: 'recovered',
      message: 'The payment stopped while a charge may have been in flight',
    });
  }

  // The rules a request must meet. Validators ask them before a request is accepted; handlers ask the
  // same ones again once they hold the gateway lock, since the payment may have moved meanwhile.

  /** A duplicate create or process must be the same request (same fingerprint) as the first. */
  assertSameRequest(fingerprint: string | undefined) {
    if (fingerprint !== undefined && fingerprint !== this.request.fingerprint) {
      throw new AegisPayError(
        ErrorCode.IDEMPOTENCY_CONFLICT,
        `Idempotency key "${this.request.idempotencyKey}" was already used for a different payment request`,
      );
    }
  }

  /** A payment cancelled before it was processed is never processed. */
  assertProcessable() {
    if (this.payment.state === 'CANCELLED' && this.payment.attempts.length === 0) {
      throw new AegisPayError(
        ErrorCode.INVALID_STATE_TRANSITION,
        `Payment ${this.payment.id} was cancelled before processing`,
      );
    }
  }

  /** The amount to capture, or undefined when the request repeats the capture already made (answered, not refused). */
  captureAmount(req: unknown): number | undefined {
    // A malformed request is refused first, even on a payment already captured.
    if (repeatsCapture(this.payment, checkCaptureRequest(req))) return undefined;
    return resolveCapture(this.payment, req);
  }

  /** Cancellation is for payments not yet captured, and never while an outcome is under review. */
  assertCancellable() {
    if (this.payment.state === 'REQUIRES_REVIEW') {
      throw new AegisPayError(
        ErrorCode.INVALID_STATE_TRANSITION,
        'The payment is under review: settle the review before cancelling',
      );
    }
    assertCancellable(this.payment);
  }

  /** True when the payment is already cancelled (a repeated cancel is answered); throws when it cannot be cancelled. */
  repeatsCancel(): boolean {
    if (this.payment.state === 'CANCELLED') return true;
    this.assertCancellable();
    return false;
  }

  /** What a refund request gets: the refund it repeats, or the amount of a new one. */
  refundDecision(req: unknown): RefundDecision {
    return resolveRefund(this.payment, req, sum(this.pendingRefunds.values()));
  }

  get awaitsAction(): boolean {
    return this.payment.state === 'REQUIRES_ACTION';
  }

  assertAwaitsAction() {
    if (!this.awaitsAction) this.wrongState('REQUIRES_ACTION');
  }

  /** An operator's decision is for a payment in review, and must be one that review can take. */
  checkResolveReview(req: unknown): ResolveReviewRequest {
    const checked = checkResolveReviewRequest(req);
    if (this.payment.state !== 'REQUIRES_REVIEW') this.wrongState('REQUIRES_REVIEW');
    const review = this.payment.review!;
    const chargeLike = review.operation === 'charge' || review.operation === 'confirm';
    if (checked.outcome === 'done' && chargeLike && !checked.reference && !this.payment.gatewayReference) {
      throw new AegisPayError(
        ErrorCode.VALIDATION_ERROR,
        'reference: the gateway reference of the charge is required to declare it done',
        { issues: [{ path: 'reference', message: 'required when a charge is declared done' }] },
      );
    }
    if (checked.outcome === 'done' && !review.operation && review.from === 'PROCESSING') {
      throw new AegisPayError(
        ErrorCode.VALIDATION_ERROR,
        'outcome: no gateway call is open, so nothing can be declared done',
        { issues: [{ path: 'outcome', message: 'only not_done settles this review' }] },
      );
    }
    return checked;
  }

  private wrongState(expected: PaymentState): never {
    throw new AegisPayError(
      ErrorCode.INVALID_STATE_TRANSITION,
      `Payment is ${this.payment.state}, not ${expected}`,
    );
  }

  /** What the worker's risk check sees of the payment. */
  riskCheckInput() {
    const { id: paymentId, amount, paymentMethod, customer, metadata } = this.payment;
    return { paymentId, amount, paymentMethod, customer, metadata };
  }

  /** A follow-up call on the charge (confirm, capture, void, refund) with its own idempotency key. */
  followUp(
    operation: GatewayOperationName,
    attempt: string | number,
    extra: Partial<FollowUpInput> = {},
  ): FollowUpInput {
    const payment = this.payment;
    return {
      paymentId: payment.id,
      gateway: payment.gateway!,
      gatewayIdempotencyKey: gatewayIdempotencyKey(payment.id, operation, attempt),
      reference: payment.gatewayReference!,
      ...extra,
    };
  }
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

/** Workflow time: deterministic on replay. */
function now(): string {
  return new Date().toISOString();
}
