import type { DomainEvent } from '../domain/types';
import { signWebhook } from '../webhooks';

/** Where a worker delivers payment domain events. `publish` throws to have the batch retried. */
export interface EventBus {
  publish(events: DomainEvent[]): Promise<void>;
}

export type EventHandler = (event: DomainEvent) => void | Promise<void>;

/** Delivers events to handlers in this process (the deployment guide's subscribers). */
export class InMemoryEventBus implements EventBus {
  private readonly handlers = new Set<EventHandler>();

  /** Adds a handler; returns a function that removes it. */
  subscribe(handler: EventHandler): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  async publish(events: DomainEvent[]): Promise<void> {
    for (const event of events) for (const handler of this.handlers) await handler(event);
  }
}

export interface WebhookEventBusOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
}

/**
 * POSTs each event as JSON to a webhook, signed in the Standard Webhooks scheme (see `verifyWebhook`).
 * Anything but a 2xx throws, so the activity (and with it the whole batch) is retried durably: delivery
 * is at least once, and receivers deduplicate by the event's `id`. Redirects are not followed: a 3xx
 * would send the signed event somewhere the operator did not configure, and is not a delivery.
 */
export class WebhookEventBus implements EventBus {
  constructor(private readonly options: WebhookEventBusOptions) {}

  async publish(events: DomainEvent[]): Promise<void> {
    for (const event of events) {
      const body = JSON.stringify(event);
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signWebhook(body, event.id, this.options.secret) },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      if (!response.ok) throw new Error(`Webhook answered ${response.status} for event ${event.id}`);
    }
  }
}
