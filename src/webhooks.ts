/**
 * Webhook signatures in the Standard Webhooks scheme (https://www.standardwebhooks.com): each delivery
 * carries `webhook-id` (the event ID), `webhook-timestamp` (unix seconds) and `webhook-signature`
 * (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`). The timestamp is signed, so a receiver that
 * refuses old timestamps and remembers the IDs it has seen inside that window is safe from replays.
 */
import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

/** Signature headers of a delivery (names as the standard spells them, lower case). */
export const WEBHOOK_HEADERS = {
  id: 'webhook-id',
  timestamp: 'webhook-timestamp',
  signature: 'webhook-signature',
} as const;

/** How far a delivery's timestamp may be from the receiver's clock, by default (the standard's 5 minutes). */
export const DEFAULT_WEBHOOK_TOLERANCE_SECONDS = 5 * 60;

/** Raised by `verifyWebhook` when a delivery is unsigned, badly signed, too old or from the future. */
export class WebhookVerificationError extends Error {
  override readonly name = 'WebhookVerificationError';
}

/**
 * A `whsec_<base64>` secret is decoded as the standard says; any other string (at least 16 characters,
 * including a `whsec_` one that is not base64) is used as its UTF-8 bytes.
 */
function webhookFor(secret: string): Webhook {
  if (secret.startsWith('whsec_')) {
    try {
      return new Webhook(secret);
    } catch {
      // Not base64 after the prefix: a plain secret that happens to look like one.
    }
  }
  return new Webhook(Buffer.from(secret, 'utf8'), { format: 'raw' });
}

/** The three signature headers for one delivery of `body` with event ID `id` at `at`. */
export function signWebhook(
  body: string,
  id: string,
  secret: string,
  at: Date = new Date(),
): Record<(typeof WEBHOOK_HEADERS)[keyof typeof WEBHOOK_HEADERS], string> {
  return {
    [WEBHOOK_HEADERS.id]: id,
    [WEBHOOK_HEADERS.timestamp]: String(Math.floor(at.getTime() / 1000)),
    [WEBHOOK_HEADERS.signature]: webhookFor(secret).sign(id, at, body),
  };
}

function header(headers: Record<string, string | string[] | undefined> | Headers, name: string): string {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? '';
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
  return (Array.isArray(entry) ? entry[0] : entry) ?? '';
}

/** Options of `verifyWebhook`. */
export interface VerifyWebhookOptions {
  /** Largest accepted distance between the delivery's timestamp and now, in seconds (default 300). */
  toleranceSeconds?: number;
  /** The receiver's clock, for tests. */
  now?: Date;
}

/**
 * Checks a webhook delivery and returns its event: `body` exactly as received (the raw text, not
 * re-serialized JSON), the request's headers (a Node `IncomingHttpHeaders` or a fetch `Headers`) and
 * the endpoint's secret. Throws `WebhookVerificationError` unless the signature matches and the
 * timestamp is within `toleranceSeconds`. Deduplicate by the event's `id` (= `webhook-id`): delivery
 * is at least once, and an ID seen within the window is a replay.
 */
export function verifyWebhook<T = unknown>(
  body: string | Buffer,
  headers: Record<string, string | string[] | undefined> | Headers,
  secret: string,
  { toleranceSeconds = DEFAULT_WEBHOOK_TOLERANCE_SECONDS, now = new Date() }: VerifyWebhookOptions = {},
): T {
  const id = header(headers, WEBHOOK_HEADERS.id);
  const timestamp = header(headers, WEBHOOK_HEADERS.timestamp);
  const signatures = header(headers, WEBHOOK_HEADERS.signature);
  if (!id || !timestamp || !signatures) {
    throw new WebhookVerificationError(`missing ${Object.values(WEBHOOK_HEADERS).join(', ')} header(s)`);
  }
  const seconds = /^\d+$/.test(timestamp) ? Number(timestamp) : NaN;
  if (!Number.isSafeInteger(seconds))
    throw new WebhookVerificationError('webhook-timestamp is not unix seconds');
  const skew = Math.floor(now.getTime() / 1000) - seconds;
  if (Math.abs(skew) > toleranceSeconds) {
    throw new WebhookVerificationError(
      `webhook-timestamp is ${Math.abs(skew)} s ${skew > 0 ? 'old' : 'in the future'} (tolerance ${toleranceSeconds} s)`,
    );
  }
  const text = typeof body === 'string' ? body : body.toString('utf8');
  const expected = Buffer.from(webhookFor(secret).sign(id, new Date(seconds * 1000), text));
  // The header may list several space-separated signatures (one per secret during a rotation).
  const matches = signatures.split(' ').some((s) => {
    const given = Buffer.from(s);
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('no matching signature');
  return JSON.parse(text) as T;
}
