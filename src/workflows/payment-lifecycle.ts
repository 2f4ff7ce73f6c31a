import { allHandlersFinished, condition } from '@temporalio/workflow';
import { DEFAULT_REVIEW_RECHECK_INTERVAL_MS, type PaymentSettings } from '../domain/payment';
import { isSettled, isTerminal } from '../domain/state-machine';
import type { EventDelivery } from './event-delivery';
import type { PaymentOperations } from './payment-operations';
import type { PaymentRecord } from './payment-record';

/** The longest pause between two looks at a payment in review. */
const MAX_REVIEW_RECHECK_MS = 24 * 60 * 60_000;

/**
 * The payment's life after creation, as the workflow waits it out: processing, the timers of the
 * states that wait for someone (customer action, capture, review), and the refund window.
 */
export class PaymentLifecycle {
  /** When the refund window closes, once the payment was captured. */
  private refundWindowEndsAt: number | undefined;
  private readonly reviewRecheckMs: number;

  constructor(
    private readonly record: PaymentRecord,
    private readonly operations: PaymentOperations,
    private readonly delivery: EventDelivery,
    private readonly settings: PaymentSettings,
  ) {
    this.reviewRecheckMs = settings.reviewRecheckIntervalMs ?? DEFAULT_REVIEW_RECHECK_INTERVAL_MS;
  }

  private get state() {
    return this.record.payment.state;
  }

  /** Runs until the payment is over and every handler, gateway call and event delivery has finished. */
  async run(): Promise<void> {
    // The abandonment timer starts even when a `pay` already moved the payment on: the timer's place
    // in the command sequence is what running payments' histories hold.
    if (!(await condition(() => this.state !== 'INITIATED', this.settings.pendingTimeoutMs))) {
      this.record.cancelled('abandoned');
    }
    await condition(() => isSettled(this.state));
    for (;;) {
      await this.waitOut();
      await condition(() => allHandlersFinished() && !this.operations.busy && this.delivery.caughtUp);
      // A refund still under way when the window closed may have gone to review: it is settled first.
      if (this.state !== 'REQUIRES_REVIEW') return;
    }
  }

  /** Timers of the states that wait for someone: customer action, capture, review, refunds. */
  private async waitOut(): Promise<void> {
    while (!isTerminal(this.state)) {
      const state = this.state;
      if (state === 'REQUIRES_REVIEW') {
        await this.waitInReview();
        continue;
      }
      if (state === 'REQUIRES_ACTION' || state === 'AUTHORIZED') {
        const timeout =
          state === 'REQUIRES_ACTION' ? this.settings.actionTimeoutMs : this.settings.authorizationExpiryMs;
        if (await condition(() => this.state !== state, timeout)) continue;
        await this.operations.exclusive(async () => {
          if (this.state !== state) return;
          try {
            await this.operations.expire(state);
          } catch (err) {
            this.record.unexpected(err);
          }
        });
        continue;
      }
      // SUCCESS or PARTIALLY_REFUNDED: open for refunds until the window closes or all is refunded
      // (one timer for the whole window, however many refunds: the command sequence running payments hold).
      this.refundWindowEndsAt ??= Date.now() + this.settings.refundWindowMs;
      const open = await condition(
        () => this.state === 'REFUNDED' || this.state === 'REQUIRES_REVIEW',
        Math.max(this.refundWindowEndsAt - Date.now(), 1),
      );
      if (!open) return;
    }
  }

  /** One pause in review, then a look at the gateway unless the review was settled meanwhile. */
  private async waitInReview(): Promise<void> {
    // The pause doubles with every look, up to a day: a review that stays open for months keeps
    // its history small (a few hundred events a year, not a thousand a day).
    const checks = Math.min(this.record.payment.review?.checks ?? 0, 16);
    const pause = Math.min(
      this.reviewRecheckMs * 2 ** checks,
      Math.max(MAX_REVIEW_RECHECK_MS, this.reviewRecheckMs),
    );
    if (await condition(() => this.state !== 'REQUIRES_REVIEW', pause)) return;
    await this.operations.exclusive(async () => {
      try {
        await this.operations.recheckReview();
      } catch (err) {
        // A failed recheck is tried again at the next tick; the review stays open meanwhile.
        const review = this.record.payment.review;
        if (review) review.message = err instanceof Error ? err.message : String(err);
      }
    });
  }
}
