import { ActivityFailure, CancellationScope, condition, proxyActivities } from '@temporalio/workflow';
import type { PaymentActivities } from '../activities';
import type { PaymentSettings } from '../domain/payment';
import type { DomainEvent } from '../domain/types';
import type { PaymentRecord } from './payment-record';

/** Largest batch of events handed to the event bus at once, in bytes of JSON (well under Temporal's payload limit). */
const EVENT_BATCH_BYTES = 256 * 1024;

/**
 * Hands the payment's events to the event bus and writes the payment into the system of record, each
 * in order and at least once, in the background of the payment's life; the workflow does not end
 * before both have caught up (`caughtUp`).
 */
export class EventDelivery {
  private readonly delivery;
  // Events of an earlier run were handed to the event bus, and to the store, by that run.
  private published: number;
  private projected: number;

  constructor(
    private readonly record: PaymentRecord,
    private readonly settings: PaymentSettings,
  ) {
    this.published = record.events.length;
    this.projected = record.events.length;
    // Event delivery retries until it succeeds: giving up would lose an event.
    this.delivery = proxyActivities<PaymentActivities>({
      startToCloseTimeout: settings.gatewayCallTimeoutMs,
      retry: {
        initialInterval: settings.retry.initialIntervalMs,
        maximumInterval: settings.retry.maximumIntervalMs,
        backoffCoefficient: settings.retry.backoffCoefficient,
      },
    });
  }

  /** Starts the delivery loops the payment's settings ask for, shielded from workflow cancellation. */
  start(): void {
    if (this.settings.publishEvents) void CancellationScope.nonCancellable(() => this.publishEvents());
    if (this.settings.projectToStore) void CancellationScope.nonCancellable(() => this.projectToStore());
  }

  /** Whether every event so far has been delivered where the settings send it. */
  get caughtUp(): boolean {
    const all = this.record.events.length;
    return (
      (!this.settings.publishEvents || this.published === all) &&
      (!this.settings.projectToStore || this.projected === all)
    );
  }

  /** Delivers events in order, in batches bounded in size, at least once. */
  private async publishEvents(): Promise<void> {
    const events = this.record.events;
    for (;;) {
      await condition(() => this.published < events.length);
      const batch = boundedBatch(events.slice(this.published));
      await this.delivery.publishEvents({ events: batch });
      this.published += batch.length;
    }
  }

  /**
   * Writes the payment into the system of record after each step: the view as it is now and the events
   * since the last write. The store ignores what it already has, so retries and replays are harmless.
   */
  private async projectToStore(): Promise<void> {
    const events = this.record.events;
    for (;;) {
      await condition(() => this.projected < events.length);
      const batch = boundedBatch(events.slice(this.projected));
      try {
        await this.delivery.projectPayment({ view: this.record.payment, events: batch });
      } catch (err) {
        // The store refused it for good (it found card data, or another writer's event): the payment
        // goes on, it never waits on its record; the next step writes the view again.
        if (!(err instanceof ActivityFailure)) throw err;
      }
      this.projected += batch.length;
    }
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
