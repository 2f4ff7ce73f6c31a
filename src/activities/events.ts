import { createHmac } from 'node:crypto';
import type { DomainEvent } from '../domain/types';

/** Where a worker delivers payment domain events. `publish` throws to have the batch retried. */
export interface EventBus {
  publish(events: DomainEvent[]): Promise<void>;
}

export type EventHandler = (event: DomainEvent) => void | Promise<void>;

/** Delivers events to handlers in this process (the seed's subscribers). */
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

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`, as Stripe signs its webhooks. */
export const SIGNATURE_HEADER = 'aegispay-signature';

/** Signs a webhook body; receivers recompute it with the shared secret to authenticate the sender. */
export function signWebhookBody(body: string, secret: string, timestamp: number): string {
  const digest = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${digest}`;
}

export interface WebhookEventBusOptions {
  url: string;
  secret: string;
  timeoutMs?: number;
}

/**
 * POSTs each event as JSON to a webhook, signed with HMAC-SHA256. Any failure throws, so the
 * activity (and with it the whole batch) is retried durably: delivery is at least once, and
 * receivers deduplicate by the event's `id`.
 */
export class WebhookEventBus implements EventBus {
  constructor(private readonly options: WebhookEventBusOptions) {}

  async publish(events: DomainEvent[]): Promise<void> {
    for (const event of events) {
      const body = JSON.stringify(event);
      const response = await fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'aegispay-event-id': event.id,
          [SIGNATURE_HEADER]: signWebhookBody(body, this.options.secret, Math.floor(Date.now() / 1000)),
        },
        body,
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
      });
      if (!response.ok) throw new Error(`Webhook answered ${response.status} for event ${event.id}`);
    }
  }
}
