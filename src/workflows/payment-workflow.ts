import {
  ActivityFailure,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  proxySinks,
  setCurrentDetails,
  setHandler,
  sleep,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FollowUpInput, PaymentActivities } from '../activities';
import { AegisPayError, ErrorCode, ValidationError } from '../domain/errors';
import {
  checkCancelRequest,
  checkCaptureRequest,
  summarizeRejectedPayload,
} from '../domain/follow-up-requests';
import { gatewayIdempotencyKey } from '../domain/ids';
import {
  assertCancellable,
  repeatsCapture,
  resolveCapture,
  resolveRefund,
  stateAfterRefund,
} from '../domain/lifecycle';
import {
  cancelSignal,
  cancelUpdate,
  captureUpdate,
  completeActionUpdate,
  createUpdate,
  eventsQuery,
  paymentQuery,
  processUpdate,
  refundSignal,
  refundUpdate,
  resolveReviewSignal,
  resolveReviewUpdate,
  type CaptureRequest,
  type ProcessRequest,
  type RefundRequest,
} from '../domain/messages';
import {
  DEFAULT_RECONCILIATION_WINDOW_MS,
  DEFAULT_REVIEW_RECHECK_INTERVAL_MS,
  initialPaymentView,
  paymentSummary,
  ROUTING_TRIES,
  type PaymentWorkflowInput,
} from '../domain/payment';
import { checkResolveReviewRequest, type ResolveReviewRequest } from '../domain/review';
import { PAYMENT_GATEWAY, PAYMENT_REFUNDED, PAYMENT_STATE } from '../domain/search-attributes';
import { assertTransition, isSettled, isTerminal } from '../domain/state-machine';
import type {
  DomainEvent,
  DomainEventType,
  GatewayOperationName,
  GatewayType,
  Payment,
  PaymentReview,
  PaymentState,
} from '../domain/types';
import {
  checkCompleteActionRequest,
  checkProcessRequest,
  paymentInputIssues,
} from '../domain/workflow-requests';
import {
  answerOf,
  failureOf,
  lookupAnswer,
  type Answer,
  type ChargedStatus,
  type NotDoneCategory,
} from './outcomes';
import type { PaymentSinks } from './sinks';

const { paymentMetrics } = proxySinks<PaymentSinks>();

/**
 * One payment, from creation to the end of its refund window. The workflow is the payment's single
 * writer: its ID comes from the idempotency key, so there is never a second copy to race with.
 */
export async function paymentWorkflow(input: PaymentWorkflowInput): Promise<Payment> {
  // A workflow started by hand (`temporal workflow start`) skips the client's checks: an input the
  // client would never send ends the run before anything is recorded or any gateway is called.
  const inputIssues = paymentInputIssues(input, workflowInfo().workflowId);
  if (inputIssues.length > 0) throw toFailure(new ValidationError(inputIssues, 'payment workflow input'));
  const { payment: request, settings, recovered } = input;
  const payment: Payment = recovered ? { ...recovered.payment } : initialPaymentView(request, now());
  const events: DomainEvent[] = recovered ? [...recovered.events] : [];
  // Events of an earlier run were handed to the event bus, and to the store, by that run.
  let published = events.length;
  let projected = events.length;
  /** Refunds accepted but not finished, by refund ID: they count against what is still refundable. */
  const pendingRefunds = new Map<string, number>();
  /** Gateway calls run one at a time: two handlers never act on the same charge at once. */
  let gatewayBusy = false;
  /** The gateway call under way, so that an unexpected error can say which outcome is open. */
  let callInFlight: Omit<PaymentReview, 'code' | 'message' | 'since' | 'checks'> | undefined;
  /** When the refund window closes, once the payment was captured. */
  let refundWindowEndsAt: number | undefined;
  const reviewRecheckMs = settings.reviewRecheckIntervalMs ?? DEFAULT_REVIEW_RECHECK_INTERVAL_MS;
  // Payments started before the review state existed looked up open outcomes until they were answered.
  const reconciliationWindowMs = settings.reconciliationWindowMs ?? DEFAULT_RECONCILIATION_WINDOW_MS;

  const routing = proxyLocalActivities<PaymentActivities>({
    startToCloseTimeout: '10s',
    retry: { maximumAttempts: ROUTING_TRIES },
  });
  // Gateway calls and lookups retry an unknown outcome under the same idempotency key a bounded number
  // of times; what is still open after that is looked up a few more times, then goes to review.
  const gateway = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      maximumAttempts: settings.retry.maximumAttempts,
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: settings.retry.maximumIntervalMs,
      backoffCoefficient: settings.retry.backoffCoefficient,
    },
  });
  // Event delivery retries until it succeeds: giving up would lose an event.
  const delivery = proxyActivities<PaymentActivities>({
    startToCloseTimeout: settings.gatewayCallTimeoutMs,
    retry: {
      initialInterval: settings.retry.initialIntervalMs,
      maximumInterval: settings.retry.maximumIntervalMs,
      backoffCoefficient: settings.retry.backoffCoefficient,
    },
  });

  function record(
    type: DomainEventType,
    data: Record<string, unknown>,
    to?: PaymentState,
    patch: Partial<Payment> = {},
  ) {
    if (to) assertTransition(payment.state, to);
    const entered = to !== undefined && to !== payment.state;
    Object.assign(payment, patch, to ? { state: to } : {});
    if (entered && payment.state !== 'REQUIRES_REVIEW') delete payment.review;
    if (entered) paymentMetrics.stateEntered(to, payment.gateway ?? 'none');
    payment.version += 1;
    payment.updatedAt = now();
    events.push({
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

  function fail(code: string, message: string, failedAt?: GatewayType) {
    const failure = { code, message, ...(failedAt ? { gateway: failedAt } : {}) };
    record('PAYMENT_FAILED', failure, 'FAILURE', { failure });
  }

  /**
   * Runs gateway work one call at a time, shielded from workflow cancellation: once a call may have
   * reached the gateway, its outcome must be learned, whatever the Web UI asked for meanwhile.
   */
  async function exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return CancellationScope.nonCancellable(async () => {
      // Several waiters can be woken in one activation: each checks again before it takes the lock.
      while (gatewayBusy) await condition(() => !gatewayBusy);
      gatewayBusy = true;
      try {
        return await fn();
      } finally {
        gatewayBusy = false;
      }
    });
  }

  function assertSameRequest(fingerprint: string | undefined) {
    if (fingerprint !== undefined && fingerprint !== request.fingerprint) {
      throw ApplicationFailure.nonRetryable(
        `Idempotency key "${request.idempotencyKey}" was already used for a different payment request`,
        ErrorCode.IDEMPOTENCY_CONFLICT,
      );
    }
  }

  /** A follow-up call on the charge (confirm, capture, void, refund) with its own idempotency key. */
  function followUp(
    operation: GatewayOperationName,
    attempt: string | number,
    extra: Partial<FollowUpInput> = {},
  ): FollowUpInput {
    return {
      paymentId: payment.id,
      gateway: payment.gateway!,
      gatewayIdempotencyKey: gatewayIdempotencyKey(payment.id, operation, attempt),
      reference: payment.gatewayReference!,
      ...extra,
    };
  }

  /** Sends one follow-up call, mapped onto the outcome model. */
  async function sendFollowUp(operation: Exclude<GatewayOperationName, 'charge'>, input: FollowUpInput) {
    const send = {
      confirm: () => gateway.confirmCharge(input),
      capture: () => gateway.capturePayment(input),
      void: () => gateway.voidPayment(input).then(() => ({ reference: input.reference })),
      refund: () => gateway.refundPayment(input),
    }[operation];
    return answerOf<{ reference: string; status?: ChargedStatus }>(send);
  }

  /**
   * A follow-up call with the outcome model: done and definitely-not-done answers are final; after an
   * unknown or in-progress answer the gateway is asked, by reads, what became of the call, a few times
   * with a growing pause, and what stays open sends the payment to review. Re-sending under the same key
   * would not do: the gateway replays its first answer ("pending") however the operation ended since,
   * and a refusal of the re-sent request (a rate limit) says nothing of the first one.
   */
  async function callFollowUp(
    operation: Exclude<GatewayOperationName, 'charge'>,
    input: FollowUpInput,
    review: Omit<PaymentReview, 'code' | 'message' | 'since' | 'checks' | 'from'>,
  ): Promise<Answer<{ reference: string; status?: ChargedStatus }>> {
    callInFlight = { ...review, from: payment.state };
    try {
      const unansweredAt = Date.now();
      let answer = await sendFollowUp(operation, input);
      for (let check = 1; answer.kind === 'open' && stillLooking(check, unansweredAt); check++) {
        await sleep(backoff(check));
        answer = await lookUpFollowUp(operation, input);
      }
      if (answer.kind === 'open')
        enterReview({ ...callInFlight, code: answer.code, message: answer.message });
      return answer;
    } catch (err) {
      throw new UnexpectedInCall(callInFlight, err);
    } finally {
      callInFlight = undefined;
    }
  }

  /**
   * What the gateway's lookup says of a follow-up, mapped onto the outcome model. Only when the gateway
   * has no trace of it is the call sent again (under its key): it never arrived, so nothing is repeated.
   */
  async function lookUpFollowUp(
    operation: Exclude<GatewayOperationName, 'charge'>,
    input: FollowUpInput,
  ): Promise<Answer<{ reference: string; status?: ChargedStatus }>> {
    const { gateway: at, gatewayIdempotencyKey: key, reference } = input;
    const looked = await answerOf(() =>
      gateway.getOperationStatus({ gateway: at, gatewayIdempotencyKey: key, reference }),
    );
    if (looked.kind !== 'done') return looked;
    const status = looked.value;
    // A confirmation not made leaves the charge waiting for the customer, as it was.
    const noTrace =
      status.status === 'not_found' || (operation === 'confirm' && status.status === 'requires_action');
    return noTrace ? sendFollowUp(operation, input) : lookupAnswer(status);
  }

  /** What the gateway's lookup says of a charge, mapped onto the outcome model. */
  async function lookUpCharge(input: { gateway: GatewayType; gatewayIdempotencyKey: string }) {
    const answer = await answerOf(() => gateway.getOperationStatus(input));
    if (answer.kind !== 'done') return { answer, notFound: false, lookupLagMs: 0 };
    return {
      answer: lookupAnswer(answer.value),
      notFound: answer.value.status === 'not_found',
      lookupLagMs: answer.value.lookupLagMs,
    };
  }

  /**
   * Charges under one attempt key. An unknown or in-progress answer (a timeout or 5xx after the
   * request left, once the activity's own same-key retries are spent; a PENDING capture) is reconciled:
   * the gateway is asked, by the same key, what became of it. A lookup's definite answer is taken as
   * the call's (a decline found by a lookup stays a decline); "not found" means "not charged" only after
   * a few looks and once the gateway's lookup lag has passed; anything still open goes to review.
   */
  async function callCharge(
    chosen: GatewayType,
    key: string,
  ): Promise<Answer<{ status: ChargedStatus; reference: string; latencyMs?: number }> & { checks?: number }> {
    callInFlight = { operation: 'charge', gateway: chosen, gatewayIdempotencyKey: key, from: payment.state };
    try {
      const first = await answerOf(() =>
        gateway.chargePayment({
          paymentId: payment.id,
          gateway: chosen,
          gatewayIdempotencyKey: key,
          amount: payment.amount,
          paymentMethod: payment.paymentMethod,
          captureMethod: payment.captureMethod,
          customerId: payment.customer.id,
        }),
      );
      if (first.kind !== 'open') return first;
      const unansweredAt = Date.now();
      for (let check = 1; ; check++) {
        const { answer, notFound, lookupLagMs } = await lookUpCharge({
          gateway: chosen,
          gatewayIdempotencyKey: key,
        });
        if (answer.kind === 'done') return { ...answer, errorCode: first.code, checks: check };
        if (answer.kind === 'not_done') return { ...answer, checks: check };
        if (!notFound && !stillLooking(check, unansweredAt)) {
          enterReview({ ...callInFlight, code: answer.code, message: answer.message });
          return { ...answer, checks: check };
        }
        // A gateway's lookup may lag behind its writes (Stripe's search: up to a minute). "Not found"
        // means "not charged" only after a few looks and once that lag has passed since the call;
        // trusting it sooner could fail over while the first gateway holds the charge.
        const lagLeftMs = unansweredAt + lookupLagMs - Date.now();
        if (notFound && check >= RECONCILIATION_CHECKS && lagLeftMs <= 0) {
          return {
            kind: 'not_done',
            category: 'failover',
            code: first.code,
            message: first.message,
            checks: check,
          };
        }
        // Keep looking while the lag lasts (a charge usually shows well before it ends), a few more
        // times at most however short the backoff, and the last look after it.
        const interval = Math.max(backoff(check), lookupLagMs / RECONCILIATION_CHECKS);
        await sleep(
          check < RECONCILIATION_CHECKS ? backoff(check) : Math.min(interval, Math.max(lagLeftMs, 1)),
        );
      }
    } catch (err) {
      throw new UnexpectedInCall(callInFlight, err);
    } finally {
      callInFlight = undefined;
    }
  }

  /** Whether an open outcome is looked up again before review: a few looks, and through the reconciliation window. */
  function stillLooking(check: number, unansweredAt: number): boolean {
    return check < RECONCILIATION_CHECKS || Date.now() - unansweredAt < reconciliationWindowMs;
  }

  function backoff(retry: number): number {
    const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = settings.retry;
    return Math.min(initialIntervalMs * backoffCoefficient ** (retry - 1), maximumIntervalMs);
  }

  /** Moves the payment to REQUIRES_REVIEW: the outcome of a gateway call is open, or something unexpected happened. */
  function enterReview(review: Omit<PaymentReview, 'since' | 'checks'>) {
    if (payment.state === 'REQUIRES_REVIEW' || isTerminal(payment.state)) return;
    const open: PaymentReview = { ...review, from: review.from, since: now(), checks: 0 };
    record(
      'REVIEW_REQUIRED',
      { operation: open.operation, code: open.code, message: open.message },
      'REQUIRES_REVIEW',
      { review: open },
    );
  }

  /** An error no rule expected: the payment goes to review instead of waiting silently. */
  function unexpected(err: unknown) {
    const call = err instanceof UnexpectedInCall ? err.call : undefined;
    const cause = err instanceof UnexpectedInCall ? err.cause : err;
    const message = cause instanceof Error ? cause.message : String(cause);
    enterReview({ ...(call ?? { from: payment.state }), code: 'unexpected_error', message });
  }

  /**
   * Routes and charges until the payment settles: a transient "not processed" error is retried on the
   * same gateway with a new attempt (and key); a definite "not charged" fails over to another gateway
   * unless the caller pinned one; a decline ends it; an open outcome goes to review. Two gateways never
   * both hold a charge, because a gateway is left only once it has definitely not charged.
   */
  async function processOnce(req: ProcessRequest): Promise<void> {
    record('PAYMENT_PROCESSING', {}, 'PROCESSING');
    const pinned = req.gatewayType ?? request.gatewayType;
    const exclude: GatewayType[] = [];
    let last: { code: string; message: string; gateway: GatewayType } | undefined;
    for (;;) {
      let decision: Awaited<ReturnType<typeof routing.routePayment>>;
      try {
        decision = await routing.routePayment({
          paymentId: payment.id,
          amount: payment.amount,
          method: payment.paymentMethod.type,
          metadata: payment.metadata,
          exclude,
          ...(payment.customer.country ? { country: payment.customer.country } : {}),
          ...(pinned ? { pinned } : {}),
          // The worker's risk check (if it has one) runs once, before the first charge.
          ...(payment.risk ? {} : { risk: riskCheckInput() }),
        });
      } catch (err) {
        const routingFailure = failureOf(err);
        // After a failover, the gateway's own answer explains the failure better than "none left".
        if (last) return fail(last.code, `${last.message} (${routingFailure.message})`, last.gateway);
        return fail(routingFailure.code, routingFailure.message);
      }
      const { risk, ...route } = decision;
      if (risk) {
        record('RISK_ASSESSED', { ...risk }, undefined, { risk });
        if (risk.decision === 'deny') {
          return fail(RISK_DENIED, risk.reason ?? 'The risk check denied the payment');
        }
      }
      const chosen = route.gateway;
      record('PAYMENT_ROUTED', { gateway: chosen, reason: route.reason }, undefined, {
        gateway: chosen,
        routing: route,
      });

      for (let retry = 1; ; retry++) {
        const outcome = await chargeAttempt(chosen);
        if (outcome === 'settled') return;
        last = { code: outcome.code, message: outcome.message, gateway: chosen };
        if (outcome.category !== 'retry-same-gateway' || retry >= settings.retry.maximumAttempts) break;
        record('PAYMENT_RETRY_ATTEMPTED', { gateway: chosen, code: outcome.code, next: 'same-gateway' });
        await sleep(backoff(retry));
      }
      if (pinned) return fail(last.code, last.message, chosen);
      exclude.push(chosen);
      record('PAYMENT_RETRY_ATTEMPTED', { gateway: chosen, code: last.code, next: 'failover' });
    }
  }

  function riskCheckInput() {
    const { id: paymentId, amount, paymentMethod, customer, metadata } = payment;
    return { paymentId, amount, paymentMethod, customer, metadata };
  }

  /** One charge attempt at one gateway under its own idempotency key; settles the payment unless it may go on. */
  async function chargeAttempt(
    chosen: GatewayType,
  ): Promise<'settled' | { category: NotDoneCategory; code: string; message: string }> {
    const number = payment.attempts.length + 1;
    const key = gatewayIdempotencyKey(payment.id, 'charge', number);
    const startedAt = Date.now();
    const result = await callCharge(chosen, key);
    const attempt = {
      number,
      gateway: chosen,
      gatewayIdempotencyKey: key,
      at: new Date(startedAt).toISOString(),
      latencyMs:
        result.kind === 'done' && result.value.latencyMs !== undefined
          ? result.value.latencyMs
          : Date.now() - startedAt,
      ...(result.checks ? { reconciliationChecks: result.checks } : {}),
    };
    if (result.kind === 'open') {
      payment.attempts.push({ ...attempt, outcome: 'unknown', errorCode: result.code });
      return 'settled';
    }
    if (result.kind === 'not_done') {
      const declined = result.category === 'decline' || result.category === 'requires-action';
      payment.attempts.push({
        ...attempt,
        outcome: declined ? 'declined' : 'failed',
        errorCode: result.code,
      });
      if (!declined) return result;
      fail(result.code, result.message, chosen);
      return 'settled';
    }
    payment.attempts.push({
      ...attempt,
      outcome: 'succeeded',
      gatewayReference: result.value.reference,
      ...(result.errorCode ? { errorCode: result.errorCode } : {}),
    });
    settleCharged(result.value.status, result.value.reference);
    return 'settled';
  }

  function settleCharged(status: ChargedStatus, reference: string) {
    const amount = payment.amount.amount;
    const patch = { gatewayReference: reference };
    if (status === 'requires_action') {
      record('PAYMENT_REQUIRES_ACTION', { reference }, 'REQUIRES_ACTION', patch);
    } else if (status === 'authorized') {
      record('PAYMENT_AUTHORIZED', { reference }, 'AUTHORIZED', {
        ...patch,
        amounts: { ...payment.amounts, authorized: amount },
      });
    } else {
      record('PAYMENT_SUCCEEDED', { reference }, 'SUCCESS', {
        ...patch,
        amounts: { ...payment.amounts, authorized: amount, captured: amount },
      });
    }
  }

  function captured(amount: number) {
    record('PAYMENT_CAPTURED', { amount, released: payment.amounts.authorized - amount }, 'SUCCESS', {
      amounts: { ...payment.amounts, captured: amount },
    });
  }

  /** True when this capture request repeats the capture already made (same amount): it is answered, not refused. */

  async function capture(req: CaptureRequest): Promise<Payment> {
    return exclusive(async () => {
      if (
        repeatsCapture(
          payment,
          guard(() => checkCaptureRequest(req)),
        )
      )
        return payment;
      const amount = guard(() => resolveCapture(payment, req));
      const input = followUp('capture', 1, { amount: { amount, currency: payment.amount.currency } });
      const answer = await callFollowUp('capture', input, {
        operation: 'capture',
        gateway: input.gateway,
        gatewayIdempotencyKey: input.gatewayIdempotencyKey,
        amount,
      });
      if (answer.kind === 'open') return payment;
      if (answer.kind === 'not_done') {
        throw ApplicationFailure.nonRetryable(
          `Capture failed at the gateway: ${answer.message}`,
          ErrorCode.GATEWAY_ERROR,
          { gatewayCode: answer.code },
        );
      }
      captured(amount);
      return payment;
    });
  }

  /** Cancels before capture: at once from INITIATED, with a void at the gateway once it holds an authorization. */
  async function cancel(reason: string): Promise<Payment> {
    if (payment.state === 'INITIATED') {
      record('PAYMENT_CANCELLED', { reason }, 'CANCELLED', { cancellationReason: reason });
      return payment;
    }
    return exclusive(async () => {
      if (payment.state === 'CANCELLED') return payment;
      guard(() => assertCancellableNow());
      const refused = await voidAtGateway({ state: 'CANCELLED', code: reason, message: reason });
      if (refused === 'open') return payment;
      if (refused) throw voidRefused(refused);
      record('PAYMENT_CANCELLED', { reason }, 'CANCELLED', { cancellationReason: reason });
      return payment;
    });
  }

  /** Cancellation is for payments not yet captured, and never while an outcome is under review. */
  function assertCancellableNow() {
    if (payment.state === 'REQUIRES_REVIEW') {
      throw new AegisPayError(
        ErrorCode.INVALID_STATE_TRANSITION,
        'The payment is under review: settle the review before cancelling',
      );
    }
    assertCancellable(payment);
  }

  /**
   * Releases the authorization (or an unfinished 3-D Secure charge). Returns undefined when done, the
   * gateway's code when it refused, or 'open' when the outcome is open and the payment went to review.
   */
  async function voidAtGateway(
    afterVoid: NonNullable<PaymentReview['afterVoid']>,
  ): Promise<string | undefined> {
    const input = followUp('void', 1);
    const answer = await callFollowUp('void', input, {
      operation: 'void',
      gateway: input.gateway,
      gatewayIdempotencyKey: input.gatewayIdempotencyKey,
      afterVoid,
    });
    return answer.kind === 'done' ? undefined : answer.kind === 'open' ? 'open' : answer.code;
  }

  async function refund(req: RefundRequest): Promise<Payment> {
    const decision = resolveRefund(payment, req, sum(pendingRefunds.values()));
    if (decision.kind === 'existing') return payment;
    // Numbered, not random: a reset workflow that replays this request derives the same ID, and so the
    // same gateway idempotency key, and the gateway answers with the refund it already made.
    const refundId = req.refundId ?? `auto.${payment.refunds.length + pendingRefunds.size + 1}`;
    if (pendingRefunds.has(refundId)) {
      // The same refund is already under way: wait for it and answer with its outcome.
      await CancellationScope.nonCancellable(() => condition(() => !pendingRefunds.has(refundId)));
      return payment;
    }
    pendingRefunds.set(refundId, decision.amount);
    try {
      return await exclusive(async () => {
        const amount = { amount: decision.amount, currency: payment.amount.currency };
        const reason = req.reason;
        const input = followUp('refund', refundId, { amount, ...(reason ? { reason } : {}) });
        const answer = await callFollowUp('refund', input, {
          operation: 'refund',
          gateway: input.gateway,
          gatewayIdempotencyKey: input.gatewayIdempotencyKey,
          amount: decision.amount,
          refundId,
          ...(reason ? { reason } : {}),
        });
        if (answer.kind === 'open') {
          // Stays reserved until the review settles it: the money may be on its way back.
          pendingRefunds.delete(refundId);
          return payment;
        }
        refunded(refundId, decision.amount, reason, answer.kind === 'done' ? undefined : answer);
        return payment;
      });
    } finally {
      pendingRefunds.delete(refundId);
    }
  }

  /** Records a refund's definite outcome: succeeded, or refused with the gateway's code. */
  function refunded(
    refundId: string,
    amount: number,
    reason: string | undefined,
    refusal?: { code: string; message: string },
  ) {
    const entry = { id: refundId, amount, at: now(), ...(reason ? { reason } : {}) };
    if (refusal) {
      payment.refunds.push({ ...entry, status: 'failed' });
      const back = payment.state === 'REQUIRES_REVIEW' ? payment.review!.from : undefined;
      record('REFUND_FAILED', { refundId, amount, code: refusal.code, message: refusal.message }, back);
      return;
    }
    payment.refunds.push({ ...entry, status: 'succeeded' });
    payment.amounts = { ...payment.amounts, refunded: payment.amounts.refunded + amount };
    record('REFUND_SUCCEEDED', { refundId, amount }, stateAfterRefund(payment));
  }

  async function completeAction(succeeded: boolean): Promise<Payment> {
    return exclusive(async () => {
      if (payment.state !== 'REQUIRES_ACTION') return payment;
      if (!succeeded) {
        const failure = {
          state: 'FAILURE' as const,
          code: 'authentication_failed',
          message: 'The customer did not complete the required action',
        };
        const refused = await voidAtGateway(failure);
        if (refused === 'open') return payment;
        if (refused) throw voidRefused(refused);
        fail(failure.code, failure.message, payment.gateway);
        return payment;
      }
      const input = followUp('confirm', 1);
      const answer = await callFollowUp('confirm', input, {
        operation: 'confirm',
        gateway: input.gateway,
        gatewayIdempotencyKey: input.gatewayIdempotencyKey,
      });
      if (answer.kind === 'open') return payment;
      if (answer.kind === 'not_done') {
        fail(answer.code, answer.message, payment.gateway);
        return payment;
      }
      const status = answer.value.status ?? 'succeeded';
      settleCharged(status === 'requires_action' ? 'succeeded' : status, payment.gatewayReference!);
      return payment;
    });
  }

  /** Asks the gateway again about the operation under review; settles the review on a definite answer. */
  async function recheckReview(): Promise<void> {
    const review = payment.review;
    if (
      payment.state !== 'REQUIRES_REVIEW' ||
      !review?.operation ||
      !review.gateway ||
      !review.gatewayIdempotencyKey
    ) {
      return;
    }
    review.checks += 1;
    const key = { gateway: review.gateway, gatewayIdempotencyKey: review.gatewayIdempotencyKey };
    let answer: Answer<{ status?: ChargedStatus; reference: string }>;
    if (review.operation === 'charge') {
      answer = (await lookUpCharge(key)).answer;
      // In review, "not found" after the lag is as definite as it ever gets: nothing was charged.
      if (answer.kind === 'open' && answer.code === 'not_found') {
        answer = { kind: 'not_done', category: 'failover', code: review.code, message: review.message };
      }
    } else {
      const input: FollowUpInput = {
        ...key,
        paymentId: payment.id,
        reference: payment.gatewayReference!,
        ...(review.amount !== undefined
          ? { amount: { amount: review.amount, currency: payment.amount.currency } }
          : {}),
        ...(review.reason ? { reason: review.reason } : {}),
      };
      answer = await lookUpFollowUp(review.operation, input);
    }
    if (answer.kind === 'open') {
      review.code = answer.code;
      review.message = answer.message;
      return;
    }
    settleReview(answer, { by: 'gateway' });
  }

  /** Applies the definite outcome of the operation under review, learned from the gateway or an operator. */
  function settleReview(
    answer:
      | { kind: 'done'; value?: { status?: ChargedStatus; reference?: string } }
      | { kind: 'not_done'; code: string; message: string },
    by: { by: 'gateway' } | { by: 'operator'; operator: string; note?: string },
  ) {
    const review = payment.review!;
    record('REVIEW_RESOLVED', { operation: review.operation, outcome: answer.kind, ...by });
    const attempt = payment.attempts.find((a) => a.gatewayIdempotencyKey === review.gatewayIdempotencyKey);
    if (answer.kind === 'not_done') {
      if (attempt) Object.assign(attempt, { outcome: 'failed', errorCode: answer.code });
      switch (review.operation) {
        case 'refund':
          return refunded(review.refundId!, review.amount!, review.reason, answer);
        case 'charge':
        case 'confirm':
          return fail(answer.code, answer.message, review.gateway);
        case 'capture':
        case 'void':
          return record(
            'REVIEW_RESOLVED',
            { operation: review.operation, returnedTo: review.from },
            review.from,
          );
        default:
          // An unexpected error outside any call: nothing moved at a gateway.
          return review.from === 'PROCESSING'
            ? fail(review.code, review.message, review.gateway)
            : record('REVIEW_RESOLVED', { returnedTo: review.from }, review.from);
      }
    }
    const reference = answer.value?.reference ?? payment.gatewayReference;
    switch (review.operation) {
      case 'charge':
      case 'confirm': {
        const status =
          answer.value?.status ?? (payment.captureMethod === 'manual' ? 'authorized' : 'succeeded');
        if (attempt) Object.assign(attempt, { outcome: 'succeeded', gatewayReference: reference });
        return settleCharged(
          review.operation === 'confirm' && status === 'requires_action' ? 'succeeded' : status,
          reference!,
        );
      }
      case 'capture':
        return captured(review.amount!);
      case 'void': {
        const after = review.afterVoid!;
        return after.state === 'CANCELLED'
          ? record('PAYMENT_CANCELLED', { reason: after.code }, 'CANCELLED', {
              cancellationReason: after.code,
            })
          : fail(after.code, after.message, payment.gateway);
      }
      case 'refund':
        return refunded(review.refundId!, review.amount!, review.reason);
      default:
        return record('REVIEW_RESOLVED', { returnedTo: review.from }, review.from);
    }
  }

  /** An operator's decision on a payment in review (the gateway's dashboard or a settlement report says). */
  function resolveReview(req: ResolveReviewRequest): Payment {
    const review = payment.review!;
    const chargeLike = review.operation === 'charge' || review.operation === 'confirm';
    const by = { by: 'operator' as const, operator: req.operator, ...(req.note ? { note: req.note } : {}) };
    if (req.outcome === 'done') {
      settleReview(
        {
          kind: 'done',
          value: chargeLike ? { reference: req.reference ?? payment.gatewayReference ?? '' } : {},
        },
        by,
      );
    } else {
      settleReview(
        {
          kind: 'not_done',
          code: 'resolved_not_done',
          message: req.note ?? `Settled by ${req.operator}: not done at the gateway`,
        },
        by,
      );
    }
    return payment;
  }

  function resolveReviewProblem(req: unknown): ResolveReviewRequest {
    const checked = checkResolveReviewRequest(req);
    if (payment.state !== 'REQUIRES_REVIEW') {
      throw new AegisPayError(
        ErrorCode.INVALID_STATE_TRANSITION,
        `Payment is ${payment.state}, not REQUIRES_REVIEW`,
      );
    }
    const review = payment.review!;
    const chargeLike = review.operation === 'charge' || review.operation === 'confirm';
    if (checked.outcome === 'done' && chargeLike && !checked.reference && !payment.gatewayReference) {
      throw new AegisPayError(
        ErrorCode.VALIDATION_ERROR,
        'reference: the gateway reference of the charge is required to declare it done',
        {
          issues: [{ path: 'reference', message: 'required when a charge is declared done' }],
        },
      );
    }
    if (checked.outcome === 'done' && !review.operation && review.from === 'PROCESSING') {
      throw new AegisPayError(
        ErrorCode.VALIDATION_ERROR,
        'outcome: no gateway call is open, so nothing can be declared done',
        {
          issues: [{ path: 'outcome', message: 'only not_done settles this review' }],
        },
      );
    }
    return checked;
  }

  /** Operator signals never fail the workflow: what is not allowed is recorded as a rejected request. */
  function rejectRequest(kind: string, req: unknown, err: unknown) {
    const { code, message } = err instanceof AegisPayError ? err : failureOf(err);
    record('REQUEST_REJECTED', { request: kind, code, message, payload: summarizeRejectedPayload(req) });
  }

  /**
   * Runs a handler's work shielded from workflow cancellation. Failures the caller must hear
   * (validation, state, gateway refusals) pass through; anything else sends the payment to review.
   */
  async function handled(fn: () => Promise<Payment>): Promise<Payment> {
    return CancellationScope.nonCancellable(async () => {
      try {
        return await fn();
      } catch (err) {
        if (err instanceof ApplicationFailure || err instanceof AegisPayError) throw toFailure(err);
        unexpected(err);
        return payment;
      }
    });
  }

  /** Temporal's own cancellation (Web UI "Request Cancellation", `temporal workflow cancel`). */
  async function onCancellationRequested(): Promise<void> {
    record('CANCELLATION_REQUESTED', { source: 'temporal' });
    try {
      assertCancellableNow();
      await cancel('cancellation_requested');
    } catch (err) {
      rejectRequest('workflow-cancel', undefined, err);
    }
  }

  // First, before any handler is registered: an update delivered with the start (pay) runs as soon
  // as its handler exists, and the payment's first event must stay its first.
  if (recovered) {
    recover();
  } else {
    record('PAYMENT_INITIATED', { amount: payment.amount, captureMethod: payment.captureMethod });
    paymentMetrics.stateEntered(payment.state, payment.gateway ?? 'none');
  }
  setCurrentDetails(paymentSummary(payment));

  /**
   * Continues a payment whose earlier run was terminated. Follow-up calls are re-sent under their
   * deterministic keys when asked again, so only a charge that may have been in flight needs care:
   * it goes to review, where the gateway's lookup settles it.
   */
  function recover() {
    record('PAYMENT_RECOVERED', { state: payment.state, version: payment.version });
    if (payment.state !== 'PROCESSING') return;
    if (!payment.routing || !payment.gateway) {
      return fail('recovered_unprocessed', 'The payment stopped before any gateway was called');
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
    enterReview({
      operation: 'charge',
      gateway: payment.gateway,
      gatewayIdempotencyKey: key,
      from: 'PROCESSING',
      code: 'recovered',
      message: 'The payment stopped while a charge may have been in flight',
    });
  }

  setHandler(paymentQuery, () => payment);
  setHandler(eventsQuery, () => events);
  setHandler(createUpdate, () => payment, { validator: (req) => assertSameRequest(req?.fingerprint) });
  setHandler(
    processUpdate,
    (req) =>
      handled(async () => {
        // The state changes before the first await, so a concurrent duplicate only waits for the outcome.
        if (payment.state === 'INITIATED') {
          try {
            await processOnce(checkProcessRequest(req));
          } catch (err) {
            unexpected(err);
          }
        }
        await condition(() => isSettled(payment.state));
        return payment;
      }),
    {
      validator: (req) => {
        assertSameRequest(guard(() => checkProcessRequest(req)).fingerprint);
        if (payment.state === 'CANCELLED' && payment.attempts.length === 0) {
          throw ApplicationFailure.nonRetryable(
            `Payment ${payment.id} was cancelled before processing`,
            ErrorCode.INVALID_STATE_TRANSITION,
          );
        }
      },
    },
  );
  setHandler(captureUpdate, (req) => handled(() => capture(req)), {
    validator: (req) => {
      // A malformed request is refused first, even on a payment already captured.
      if (
        !repeatsCapture(
          payment,
          guard(() => checkCaptureRequest(req)),
        )
      )
        guard(() => resolveCapture(payment, req));
    },
  });
  setHandler(
    cancelUpdate,
    (req) => handled(() => cancel(checkCancelRequest(req).reason ?? 'requested_by_customer')),
    {
      validator: (req) => {
        guard(() => checkCancelRequest(req));
        if (payment.state !== 'CANCELLED') guard(() => assertCancellableNow());
      },
    },
  );
  setHandler(refundUpdate, (req) => handled(() => refund(req)), {
    validator: (req) => guard(() => resolveRefund(payment, req, sum(pendingRefunds.values()))),
  });
  setHandler(
    completeActionUpdate,
    (req) => handled(() => completeAction(checkCompleteActionRequest(req).succeeded)),
    {
      validator: (req) => {
        guard(() => checkCompleteActionRequest(req));
        if (payment.state !== 'REQUIRES_ACTION') {
          throw toFailure(
            new AegisPayError(
              ErrorCode.INVALID_STATE_TRANSITION,
              `Payment is ${payment.state}, not REQUIRES_ACTION`,
            ),
          );
        }
      },
    },
  );
  setHandler(
    resolveReviewUpdate,
    (req) => handled(() => exclusive(async () => resolveReview(resolveReviewProblem(req)))),
    {
      validator: (req) => guard(() => resolveReviewProblem(req)),
    },
  );
  setHandler(cancelSignal, (req?: unknown) =>
    CancellationScope.nonCancellable(async () => {
      try {
        const reason = checkCancelRequest(req).reason ?? 'cancelled_by_operator';
        if (payment.state === 'CANCELLED') return; // already what was asked
        assertCancellableNow();
        await cancel(reason);
      } catch (err) {
        rejectRequest('cancel', req, err);
      }
    }),
  );
  setHandler(refundSignal, (req?: unknown) =>
    CancellationScope.nonCancellable(async () => {
      try {
        await refund(req as RefundRequest);
      } catch (err) {
        rejectRequest('refund', req, err);
      }
    }),
  );
  setHandler(resolveReviewSignal, (req?: unknown) =>
    CancellationScope.nonCancellable(async () => {
      try {
        const checked = resolveReviewProblem(req);
        await exclusive(async () => resolveReview(checked));
      } catch (err) {
        rejectRequest('resolveReview', req, err);
      }
    }),
  );

  if (settings.publishEvents) void CancellationScope.nonCancellable(publishEvents);
  if (settings.projectToStore) void CancellationScope.nonCancellable(projectToStore);

  try {
    await lifecycle();
  } catch (err) {
    // Payments that ran before this handling existed ended as cancelled here, and their histories
    // (replayed by every query of a closed payment) must replay as they were: the patch marker tells.
    if (!isCancellation(err) || !patched(HANDLE_WORKFLOW_CANCELLATION)) throw err;
    // A cancellation request is an operator's wish, handled like the `cancel` signal: the payment is
    // cancelled (with a void) where its state allows, otherwise the request is refused and recorded.
    // Either way the payment stays readable and usable, so the rest runs shielded from it.
    await CancellationScope.nonCancellable(async () => {
      await onCancellationRequested();
      await lifecycle();
    });
  }
  return payment;

  /** The payment's life after creation: processing, the timers of waiting states, review, the refund window. */
  async function lifecycle(): Promise<void> {
    // The abandonment timer starts even when a `pay` already moved the payment on: the timer's place
    // in the command sequence is what running payments' histories hold.
    if (!(await condition(() => payment.state !== 'INITIATED', settings.pendingTimeoutMs))) {
      record('PAYMENT_CANCELLED', { reason: 'abandoned' }, 'CANCELLED', {
        cancellationReason: 'abandoned',
      });
    }
    await condition(() => isSettled(payment.state));
    for (;;) {
      await waitOutLifecycle();
      await condition(
        () =>
          allHandlersFinished() &&
          !gatewayBusy &&
          (!settings.publishEvents || published === events.length) &&
          (!settings.projectToStore || projected === events.length),
      );
      // A refund still under way when the window closed may have gone to review: it is settled first.
      if (payment.state !== 'REQUIRES_REVIEW') return;
    }
  }

  /**
   * Writes the payment into the system of record after each step: the view as it is now and the events
   * since the last write. The store ignores what it already has, so retries and replays are harmless;
   * the workflow does not end before its last step is stored.
   */
  async function projectToStore(): Promise<void> {
    for (;;) {
      await condition(() => projected < events.length);
      const batch = boundedBatch(events.slice(projected));
      try {
        await delivery.projectPayment({ view: payment, events: batch });
      } catch (err) {
        // The store refused it for good (it found card data, or another writer's event): the payment
        // goes on, it never waits on its record; the next step writes the view again.
        if (!(err instanceof ActivityFailure)) throw err;
      }
      projected += batch.length;
    }
  }

  /** Delivers events in order, in batches bounded in size, at least once; the workflow does not end before all are delivered. */
  async function publishEvents(): Promise<void> {
    for (;;) {
      await condition(() => published < events.length);
      const batch = boundedBatch(events.slice(published));
      await delivery.publishEvents({ events: batch });
      published += batch.length;
    }
  }

  /** Timers of the states that wait for someone: customer action, capture, review, refunds. */
  async function waitOutLifecycle(): Promise<void> {
    while (!isTerminal(payment.state)) {
      const state = payment.state;
      if (state === 'REQUIRES_REVIEW') {
        // The pause doubles with every look, up to a day: a review that stays open for months keeps
        // its history small (a few hundred events a year, not a thousand a day).
        const checks = Math.min(payment.review?.checks ?? 0, 16);
        const pause = Math.min(
          reviewRecheckMs * 2 ** checks,
          Math.max(MAX_REVIEW_RECHECK_MS, reviewRecheckMs),
        );
        if (await condition(() => payment.state !== state, pause)) continue;
        await exclusive(async () => {
          try {
            await recheckReview();
          } catch (err) {
            // A failed recheck is tried again at the next tick; the review stays open meanwhile.
            if (payment.review) payment.review.message = err instanceof Error ? err.message : String(err);
          }
        });
        continue;
      }
      if (state === 'REQUIRES_ACTION' || state === 'AUTHORIZED') {
        const timeout =
          state === 'REQUIRES_ACTION' ? settings.actionTimeoutMs : settings.authorizationExpiryMs;
        if (await condition(() => payment.state !== state, timeout)) continue;
        await exclusive(async () => {
          if (payment.state !== state) return;
          try {
            await expire(state);
          } catch (err) {
            unexpected(err);
          }
        });
        continue;
      }
      // SUCCESS or PARTIALLY_REFUNDED: open for refunds until the window closes or all is refunded
      // (one timer for the whole window, however many refunds: the command sequence running payments hold).
      refundWindowEndsAt ??= Date.now() + settings.refundWindowMs;
      const open = await condition(
        () => payment.state === 'REFUNDED' || payment.state === 'REQUIRES_REVIEW',
        Math.max(refundWindowEndsAt - Date.now(), 1),
      );
      if (!open) return;
    }
  }

  /** An authorization or a customer action that ran out of time: void it and end the payment. */
  async function expire(state: 'AUTHORIZED' | 'REQUIRES_ACTION'): Promise<void> {
    const after =
      state === 'AUTHORIZED'
        ? { state: 'CANCELLED' as const, code: 'authorization_expired', message: 'The authorization expired' }
        : {
            state: 'FAILURE' as const,
            code: 'action_timeout',
            message: 'The customer did not complete the required action in time',
          };
    const refused = await voidAtGateway(after);
    if (refused === 'open') return;
    // A timer must never fail the workflow: if the gateway refuses the void, the authorization
    // lapses there on its own, and the refusal is kept in the event.
    const data = refused ? { voidRefused: refused } : {};
    if (after.state === 'CANCELLED') {
      record('PAYMENT_CANCELLED', { reason: after.code, ...data }, 'CANCELLED', {
        cancellationReason: after.code,
      });
    } else {
      fail(after.code, after.message, payment.gateway);
    }
  }
}

/** An error no rule expected, thrown while a gateway call was open: review must know which call. */
class UnexpectedInCall extends Error {
  constructor(
    readonly call: Omit<PaymentReview, 'code' | 'message' | 'since' | 'checks'> | undefined,
    override readonly cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause));
    this.name = 'UnexpectedInCall';
  }
}

/** The longest pause between two looks at a payment in review. */
const MAX_REVIEW_RECHECK_MS = 24 * 60 * 60_000;

/** Patch: Temporal's cancellation request is handled (void or refuse) instead of ending the payment. */
const HANDLE_WORKFLOW_CANCELLATION = 'handle-workflow-cancellation';

/** Patch: the refunded amount is kept in the AegisPayRefunded search attribute. */
const REFUNDED_SEARCH_ATTRIBUTE = 'refunded-search-attribute';

/** The failure code of a payment the worker's risk check denied. */
const RISK_DENIED = 'risk_denied';

/** How many times at least an open outcome is looked up (or asked again) before the payment goes to review. */
const RECONCILIATION_CHECKS = 3;

/** Largest batch of events handed to the event bus at once, in bytes of JSON (well under Temporal's payload limit). */
const EVENT_BATCH_BYTES = 256 * 1024;

/** What the caller of a cancel (or a failed 3-D Secure) hears when the gateway refuses the void. */
function voidRefused(gatewayCode: string): Error {
  return ApplicationFailure.nonRetryable(
    `Void failed at the gateway (${gatewayCode})`,
    ErrorCode.GATEWAY_ERROR,
    {
      gatewayCode,
    },
  );
}

/** Turns a domain error into the failure a validator or handler throws, keeping its code. */
function toFailure(err: unknown): Error {
  if (err instanceof AegisPayError)
    return ApplicationFailure.nonRetryable(err.message, err.code, err.details ?? {});
  return err as Error;
}

/** Runs a validator's check, rethrowing domain errors as failures the client maps back. */
function guard<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    throw toFailure(err);
  }
}

/** The longest prefix of `events` within EVENT_BATCH_BYTES (at least one event). */
function boundedBatch(events: DomainEvent[]): DomainEvent[] {
  let size = 0;
  let count = 0;
  for (const event of events) {
    size += JSON.stringify(event).length;
    if (count > 0 && size > EVENT_BATCH_BYTES) break;
    count += 1;
  }
  return events.slice(0, count);
}

function sum(values: Iterable<number>): number {
  let total = 0;
  for (const v of values) total += v;
  return total;
}

function now(): string {
  // Workflow time: deterministic on replay.
  return new Date().toISOString();
}
