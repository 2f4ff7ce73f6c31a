import { CancellationScope, condition, proxyLocalActivities, sleep } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities';
import { AegisPayError, ErrorCode } from '../domain/errors';
import { gatewayIdempotencyKey } from '../domain/ids';
import type { ProcessRequest, RefundRequest } from '../domain/messages';
import { ROUTING_TRIES, type PaymentSettings } from '../domain/payment';
import type { ResolveReviewRequest } from '../domain/review';
import type { GatewayType, Payment, PaymentReview } from '../domain/types';
import { GatewayCalls } from './gateway-calls';
import { failureOf, type NotDoneCategory } from './outcomes';
import type { PaymentRecord } from './payment-record';

/** The failure code of a payment the worker's risk check denied. */
const RISK_DENIED = 'risk_denied';

const routing = proxyLocalActivities<PaymentActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: ROUTING_TRIES },
});

type Expiring = 'AUTHORIZED' | 'REQUIRES_ACTION';
type ChargeAttemptOutcome = 'settled' | { category: NotDoneCategory; code: string; message: string };

/**
 * What the payment does at its gateways: process (route, charge, retry, fail over), capture, cancel,
 * refund, complete a customer action, settle a review, expire. Every step asks the PaymentRecord what
 * is allowed and tells it what happened; gateway work runs one call at a time.
 */
export class PaymentOperations {
  private readonly calls: GatewayCalls;
  /**
   * Gateway calls run one at a time: two handlers never act on the same charge at once. Hand-written
   * rather than async-mutex: its waiters wake at Temporal's condition check, after all the releasing
   * handler still does in that activation, where a mutex wakes them in between and would reorder the
   * commands of running payments.
   */
  private gatewayBusy = false;
  // Payments started before the setting existed made as many charge attempts as their activities had tries.
  private readonly chargeAttemptsPerGateway: number;

  constructor(
    private readonly record: PaymentRecord,
    settings: PaymentSettings,
  ) {
    this.calls = new GatewayCalls(record, settings);
    this.chargeAttemptsPerGateway = settings.chargeAttemptsPerGateway ?? settings.retry.maximumAttempts;
  }

  private get payment(): Payment {
    return this.record.payment;
  }

  /** Whether a gateway call is under way (or waiting for one to end). */
  get busy(): boolean {
    return this.gatewayBusy;
  }

  /**
   * Runs gateway work one call at a time, shielded from workflow cancellation: once a call may have
   * reached the gateway, its outcome must be learned, whatever the Web UI asked for meanwhile.
   */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return CancellationScope.nonCancellable(async () => {
      // Several waiters can be woken in one activation: each checks again before it takes the lock.
      while (this.gatewayBusy) await condition(() => !this.gatewayBusy);
      this.gatewayBusy = true;
      try {
        return await fn();
      } finally {
        this.gatewayBusy = false;
      }
    });
  }

  /**
   * Routes and charges until the payment settles: a transient "not processed" error is retried on the
   * same gateway with a new attempt (and key); a definite "not charged" fails over to another gateway
   * unless the caller pinned one; a decline ends it; an open outcome goes to review. Two gateways never
   * both hold a charge, because a gateway is left only once it has definitely not charged.
   */
  async process(req: ProcessRequest): Promise<void> {
    const { record, payment } = this;
    record.record('PAYMENT_PROCESSING', {}, 'PROCESSING');
    const pinned = req.gatewayType ?? record.request.gatewayType;
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
          ...(payment.risk ? {} : { risk: record.riskCheckInput() }),
        });
      } catch (err) {
        const routingFailure = failureOf(err);
        // After a failover, the gateway's own answer explains the failure better than "none left".
        if (last) return record.fail(last.code, `${last.message} (${routingFailure.message})`, last.gateway);
        return record.fail(routingFailure.code, routingFailure.message);
      }
      const { risk, ...route } = decision;
      if (risk) {
        record.record('RISK_ASSESSED', { ...risk }, undefined, { risk });
        if (risk.decision === 'deny')
          return record.fail(RISK_DENIED, risk.reason ?? 'The risk check denied the payment');
      }
      const chosen = route.gateway;
      record.record('PAYMENT_ROUTED', { gateway: chosen, reason: route.reason }, undefined, {
        gateway: chosen,
        routing: route,
      });
      for (let retry = 1; ; retry++) {
        const outcome = await this.chargeAttempt(chosen);
        if (outcome === 'settled') return;
        last = { code: outcome.code, message: outcome.message, gateway: chosen };
        if (outcome.category !== 'retry-same-gateway' || retry >= this.chargeAttemptsPerGateway) break;
        record.record('PAYMENT_RETRY_ATTEMPTED', {
          gateway: chosen,
          code: outcome.code,
          next: 'same-gateway',
        });
        await sleep(this.calls.backoff(retry));
      }
      if (pinned) return record.fail(last.code, last.message, chosen);
      exclude.push(chosen);
      record.record('PAYMENT_RETRY_ATTEMPTED', { gateway: chosen, code: last.code, next: 'failover' });
    }
  }

  /** One charge attempt at one gateway under its own idempotency key; settles the payment unless it may go on. */
  private async chargeAttempt(chosen: GatewayType): Promise<ChargeAttemptOutcome> {
    const payment = this.payment;
    const number = payment.attempts.length + 1;
    const key = gatewayIdempotencyKey(payment.id, 'charge', number);
    const startedAt = Date.now();
    const result = await this.calls.charge(chosen, key);
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
      this.record.fail(result.code, result.message, chosen);
      return 'settled';
    }
    payment.attempts.push({
      ...attempt,
      outcome: 'succeeded',
      gatewayReference: result.value.reference,
      ...(result.errorCode ? { errorCode: result.errorCode } : {}),
    });
    this.record.charged(result.value.status, result.value.reference);
    return 'settled';
  }

  async capture(req: unknown): Promise<Payment> {
    return this.exclusive(async () => {
      const amount = this.record.captureAmount(req);
      if (amount === undefined) return this.payment;
      const currency = this.payment.amount.currency;
      const input = this.record.followUp('capture', 1, { amount: { amount, currency } });
      const answer = await this.calls.followUp('capture', input, {
        operation: 'capture',
        gateway: input.gateway,
        gatewayIdempotencyKey: input.gatewayIdempotencyKey,
        amount,
      });
      if (answer.kind === 'open') return this.payment;
      if (answer.kind === 'not_done') {
        throw new AegisPayError(ErrorCode.GATEWAY_ERROR, `Capture failed at the gateway: ${answer.message}`, {
          gatewayCode: answer.code,
        });
      }
      this.record.captured(amount);
      return this.payment;
    });
  }

  /** Cancels before capture: at once from INITIATED, with a void at the gateway once it holds an authorization. */
  async cancel(reason: string): Promise<Payment> {
    if (this.payment.state === 'INITIATED') {
      this.record.cancelled(reason);
      return this.payment;
    }
    return this.exclusive(async () => {
      if (this.record.repeatsCancel()) return this.payment;
      const refused = await this.voidAtGateway({ state: 'CANCELLED', code: reason, message: reason });
      if (refused === 'open') return this.payment;
      if (refused) throw voidRefused(refused);
      this.record.cancelled(reason);
      return this.payment;
    });
  }

  async refund(req: RefundRequest): Promise<Payment> {
    const { record, payment } = this;
    const decision = record.refundDecision(req);
    if (decision.kind === 'existing') return payment;
    // Numbered, not random: a reset workflow that replays this request derives the same ID, and so the
    // same gateway idempotency key, and the gateway answers with the refund it already made.
    const refundId = req.refundId ?? `auto.${payment.refunds.length + record.pendingRefunds.size + 1}`;
    if (record.pendingRefunds.has(refundId)) {
      // The same refund is already under way: wait for it and answer with its outcome.
      await CancellationScope.nonCancellable(() => condition(() => !record.pendingRefunds.has(refundId)));
      return payment;
    }
    record.pendingRefunds.set(refundId, decision.amount);
    try {
      return await this.exclusive(async () => {
        const amount = { amount: decision.amount, currency: payment.amount.currency };
        const reason = req.reason;
        const input = record.followUp('refund', refundId, { amount, ...(reason ? { reason } : {}) });
        const answer = await this.calls.followUp('refund', input, {
          operation: 'refund',
          gateway: input.gateway,
          gatewayIdempotencyKey: input.gatewayIdempotencyKey,
          amount: decision.amount,
          refundId,
          ...(reason ? { reason } : {}),
        });
        if (answer.kind === 'open') {
          // Stays reserved until the review settles it: the money may be on its way back.
          record.pendingRefunds.delete(refundId);
          return payment;
        }
        record.refunded(refundId, decision.amount, reason, answer.kind === 'done' ? undefined : answer);
        return payment;
      });
    } finally {
      record.pendingRefunds.delete(refundId);
    }
  }

  /** The customer's 3-D Secure (or other action) ended: confirm the charge, or void it and fail. */
  async completeAction(succeeded: boolean): Promise<Payment> {
    return this.exclusive(async () => {
      if (!this.record.awaitsAction) return this.payment;
      if (!succeeded) {
        const code = 'authentication_failed';
        const message = 'The customer did not complete the required action';
        const refused = await this.voidAtGateway({ state: 'FAILURE', code, message });
        if (refused === 'open') return this.payment;
        if (refused) throw voidRefused(refused);
        this.record.fail(code, message, this.payment.gateway);
        return this.payment;
      }
      const input = this.record.followUp('confirm', 1);
      const answer = await this.calls.followUp('confirm', input, {
        operation: 'confirm',
        gateway: input.gateway,
        gatewayIdempotencyKey: input.gatewayIdempotencyKey,
      });
      if (answer.kind === 'open') return this.payment;
      if (answer.kind === 'not_done') {
        this.record.fail(answer.code, answer.message, this.payment.gateway);
        return this.payment;
      }
      const status = answer.value.status ?? 'succeeded';
      this.record.charged(
        status === 'requires_action' ? 'succeeded' : status,
        this.payment.gatewayReference!,
      );
      return this.payment;
    });
  }

  /** An operator's decision on the review, checked (by `check`) once the gateway lock is held. */
  async resolveReview(check: () => ResolveReviewRequest): Promise<Payment> {
    return this.exclusive(async () => this.record.resolveReview(check()));
  }

  /** Asks the gateway again about the operation under review; settles the review on a definite answer. */
  async recheckReview(): Promise<void> {
    const review = this.payment.review;
    if (
      this.payment.state !== 'REQUIRES_REVIEW' ||
      !review?.operation ||
      !review.gateway ||
      !review.gatewayIdempotencyKey
    ) {
      return;
    }
    review.checks += 1;
    const answer = await this.calls.lookUpReviewed(review);
    if (answer.kind === 'open') {
      review.code = answer.code;
      review.message = answer.message;
      return;
    }
    this.record.settleReview(answer, { by: 'gateway' });
  }

  /** An authorization or a customer action that ran out of time: void it and end the payment. */
  async expire(state: Expiring): Promise<void> {
    const after =
      state === 'AUTHORIZED'
        ? { state: 'CANCELLED' as const, code: 'authorization_expired', message: 'The authorization expired' }
        : {
            state: 'FAILURE' as const,
            code: 'action_timeout',
            message: 'The customer did not complete the required action in time',
          };
    const refused = await this.voidAtGateway(after);
    if (refused === 'open') return;
    // A timer must never fail the workflow: if the gateway refuses the void, the authorization
    // lapses there on its own, and the refusal is kept in the event.
    const data = refused ? { voidRefused: refused } : {};
    if (after.state === 'CANCELLED') this.record.cancelled(after.code, data);
    else this.record.fail(after.code, after.message, this.payment.gateway);
  }

  /**
   * Releases the authorization (or an unfinished 3-D Secure charge). Returns undefined when done, the
   * gateway's code when it refused, or 'open' when the outcome is open and the payment went to review.
   */
  private async voidAtGateway(
    afterVoid: NonNullable<PaymentReview['afterVoid']>,
  ): Promise<string | undefined> {
    const input = this.record.followUp('void', 1);
    const answer = await this.calls.followUp('void', input, {
      operation: 'void',
      gateway: input.gateway,
      gatewayIdempotencyKey: input.gatewayIdempotencyKey,
      afterVoid,
    });
    return answer.kind === 'done' ? undefined : answer.kind === 'open' ? 'open' : answer.code;
  }
}

/** What the caller of a cancel (or a failed 3-D Secure) hears when the gateway refuses the void. */
function voidRefused(gatewayCode: string): AegisPayError {
  return new AegisPayError(ErrorCode.GATEWAY_ERROR, `Void failed at the gateway (${gatewayCode})`, {
    gatewayCode,
  });
}
