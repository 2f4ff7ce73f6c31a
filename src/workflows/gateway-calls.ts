import { proxyActivities, sleep } from '@temporalio/workflow';
import type { FollowUpInput, PaymentActivities } from '../activities';
import { DEFAULT_RECONCILIATION_WINDOW_MS, type PaymentSettings } from '../domain/payment';
import type { GatewayOperationName, GatewayType, PaymentReview } from '../domain/types';
import { UnexpectedInCall, type OpenCall } from './failures';
import { answerOf, lookupAnswer, type Answer, type ChargedStatus } from './outcomes';
import type { PaymentRecord } from './payment-record';

/** How many times at least an open outcome is looked up (or asked again) before the payment goes to review. */
const RECONCILIATION_CHECKS = 3;

export type FollowUpOperation = Exclude<GatewayOperationName, 'charge'>;
export type FollowUpAnswer = Answer<{ reference: string; status?: ChargedStatus }>;
export type ChargeAnswer = Answer<{ status: ChargedStatus; reference: string; latencyMs?: number }> & {
  checks?: number;
};

/**
 * The payment's calls to its gateway, with reconciliation: an unknown or in-progress answer is looked
 * up, by the call's idempotency key, until it is definite or the reconciliation window has passed;
 * what stays open sends the payment to review. Gateway calls and lookups retry an unknown outcome under
 * the same idempotency key a bounded number of times (the activity options) before that.
 */
export class GatewayCalls {
  private readonly gateway;
  /** The gateway call under way, so that an unexpected error can say which outcome is open. */
  private callInFlight: OpenCall | undefined;
  // Payments started before the review state existed looked up open outcomes until they were answered.
  private readonly reconciliationWindowMs: number;

  constructor(
    private readonly record: PaymentRecord,
    private readonly settings: PaymentSettings,
  ) {
    this.reconciliationWindowMs = settings.reconciliationWindowMs ?? DEFAULT_RECONCILIATION_WINDOW_MS;
    this.gateway = proxyActivities<PaymentActivities>({
      startToCloseTimeout: settings.gatewayCallTimeoutMs,
      retry: {
        maximumAttempts: settings.retry.maximumAttempts,
        initialInterval: settings.retry.initialIntervalMs,
        maximumInterval: settings.retry.maximumIntervalMs,
        backoffCoefficient: settings.retry.backoffCoefficient,
      },
    });
  }

  /**
   * Charges under one attempt key. An unknown or in-progress answer (a timeout or 5xx after the
   * request left, once the activity's own same-key retries are spent; a PENDING capture) is reconciled:
   * the gateway is asked, by the same key, what became of it. A lookup's definite answer is taken as
   * the call's (a decline found by a lookup stays a decline); "not found" means "not charged" only after
   * a few looks and once the gateway's lookup lag has passed; anything still open goes to review.
   */
  async charge(chosen: GatewayType, key: string): Promise<ChargeAnswer> {
    const payment = this.record.payment;
    this.callInFlight = {
      operation: 'charge',
      gateway: chosen,
      gatewayIdempotencyKey: key,
      from: payment.state,
    };
    try {
      const first = await answerOf(() =>
        this.gateway.chargePayment({
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
      return await this.reconcileCharge(chosen, key, first, this.callInFlight);
    } catch (err) {
      throw new UnexpectedInCall(this.callInFlight, err);
    } finally {
      this.callInFlight = undefined;
    }
  }

  /** Looks up a charge whose first answer was open, until it is definite, found not charged, or goes to review. */
  private async reconcileCharge(
    chosen: GatewayType,
    key: string,
    first: { code: string; message: string },
    call: OpenCall,
  ): Promise<ChargeAnswer> {
    const unansweredAt = Date.now();
    for (let check = 1; ; check++) {
      const { answer, notFound, lookupLagMs } = await this.lookUpCharge({
        gateway: chosen,
        gatewayIdempotencyKey: key,
      });
      if (answer.kind === 'done') return { ...answer, errorCode: first.code, checks: check };
      if (answer.kind === 'not_done') return { ...answer, checks: check };
      if (!notFound && !this.stillLooking(check, unansweredAt)) {
        this.record.enterReview({ ...call, code: answer.code, message: answer.message });
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
      const interval = Math.max(this.backoff(check), lookupLagMs / RECONCILIATION_CHECKS);
      await sleep(
        check < RECONCILIATION_CHECKS ? this.backoff(check) : Math.min(interval, Math.max(lagLeftMs, 1)),
      );
    }
  }

  /**
   * A follow-up call with the outcome model: done and definitely-not-done answers are final; after an
   * unknown or in-progress answer the gateway is asked, by reads, what became of the call, a few times
   * with a growing pause, and what stays open sends the payment to review. Re-sending under the same key
   * would not do: the gateway replays its first answer ("pending") however the operation ended since,
   * and a refusal of the re-sent request (a rate limit) says nothing of the first one.
   */
  async followUp(
    operation: FollowUpOperation,
    input: FollowUpInput,
    review: Omit<PaymentReview, 'code' | 'message' | 'since' | 'checks' | 'from'>,
  ): Promise<FollowUpAnswer> {
    this.callInFlight = { ...review, from: this.record.payment.state };
    try {
      const unansweredAt = Date.now();
      let answer = await this.sendFollowUp(operation, input);
      for (let check = 1; answer.kind === 'open' && this.stillLooking(check, unansweredAt); check++) {
        await sleep(this.backoff(check));
        answer = await this.lookUpFollowUp(operation, input);
      }
      if (answer.kind === 'open')
        this.record.enterReview({ ...this.callInFlight, code: answer.code, message: answer.message });
      return answer;
    } catch (err) {
      throw new UnexpectedInCall(this.callInFlight, err);
    } finally {
      this.callInFlight = undefined;
    }
  }

  /** Asks the gateway what became of the operation under review (a lookup, never a new call unless it has no trace). */
  async lookUpReviewed(review: PaymentReview): Promise<FollowUpAnswer> {
    const payment = this.record.payment;
    const key = { gateway: review.gateway!, gatewayIdempotencyKey: review.gatewayIdempotencyKey! };
    if (review.operation === 'charge') {
      const answer = (await this.lookUpCharge(key)).answer;
      // In review, "not found" after the lag is as definite as it ever gets: nothing was charged.
      if (answer.kind === 'open' && answer.code === 'not_found') {
        return { kind: 'not_done', category: 'failover', code: review.code, message: review.message };
      }
      return answer;
    }
    const input: FollowUpInput = {
      ...key,
      paymentId: payment.id,
      reference: payment.gatewayReference!,
      ...(review.amount !== undefined
        ? { amount: { amount: review.amount, currency: payment.amount.currency } }
        : {}),
      ...(review.reason ? { reason: review.reason } : {}),
    };
    return this.lookUpFollowUp(review.operation!, input);
  }

  /** The pause before the `retry`th retry or look, from the payment's retry settings. */
  backoff(retry: number): number {
    const { initialIntervalMs, backoffCoefficient, maximumIntervalMs } = this.settings.retry;
    return Math.min(initialIntervalMs * backoffCoefficient ** (retry - 1), maximumIntervalMs);
  }

  /** Sends one follow-up call, mapped onto the outcome model. */
  private async sendFollowUp(operation: FollowUpOperation, input: FollowUpInput) {
    const send = {
      confirm: () => this.gateway.confirmCharge(input),
      capture: () => this.gateway.capturePayment(input),
      void: () => this.gateway.voidPayment(input).then(() => ({ reference: input.reference })),
      refund: () => this.gateway.refundPayment(input),
    }[operation];
    return answerOf<{ reference: string; status?: ChargedStatus }>(send);
  }

  /**
   * What the gateway's lookup says of a follow-up, mapped onto the outcome model. Only when the gateway
   * has no trace of it is the call sent again (under its key): it never arrived, so nothing is repeated.
   */
  private async lookUpFollowUp(operation: FollowUpOperation, input: FollowUpInput): Promise<FollowUpAnswer> {
    const { gateway: at, gatewayIdempotencyKey: key, reference } = input;
    const looked = await answerOf(() =>
      this.gateway.getOperationStatus({ gateway: at, gatewayIdempotencyKey: key, reference }),
    );
    if (looked.kind !== 'done') return looked;
    const status = looked.value;
    // A confirmation not made leaves the charge waiting for the customer, as it was.
    const noTrace =
      status.status === 'not_found' || (operation === 'confirm' && status.status === 'requires_action');
    return noTrace ? this.sendFollowUp(operation, input) : lookupAnswer(status);
  }

  /** What the gateway's lookup says of a charge, mapped onto the outcome model. */
  private async lookUpCharge(input: { gateway: GatewayType; gatewayIdempotencyKey: string }) {
    const answer = await answerOf(() => this.gateway.getOperationStatus(input));
    if (answer.kind !== 'done') return { answer, notFound: false, lookupLagMs: 0 };
    return {
      answer: lookupAnswer(answer.value),
      notFound: answer.value.status === 'not_found',
      lookupLagMs: answer.value.lookupLagMs,
    };
  }

  /** Whether an open outcome is looked up again before review: a few looks, and through the reconciliation window. */
  private stillLooking(check: number, unansweredAt: number): boolean {
    return check < RECONCILIATION_CHECKS || Date.now() - unansweredAt < this.reconciliationWindowMs;
  }
}
