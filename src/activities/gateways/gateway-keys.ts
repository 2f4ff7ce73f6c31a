/**
 * AegisPay's gateway idempotency keys (`<paymentId>:<operation>:<attempt>`, where a payment ID may carry
 * a 255-character client key) as each gateway can take them: every field a key travels in has its own
 * documented length limit, so a key too long for a field is sent as a deterministic shortened form.
 */
import { createHash } from 'node:crypto';

/** Documented limits of the fields the adapters put keys into. */
export const KEY_LIMITS = {
  /** Stripe `Idempotency-Key` header. */
  stripeIdempotencyKey: 255,
  /** Stripe metadata values. */
  stripeMetadataValue: 500,
  /** PayPal `PayPal-Request-Id` header. */
  paypalRequestId: 108,
  /** PayPal `purchase_units[].custom_id`. */
  paypalCustomId: 127,
  /** PayPal `purchase_units[].reference_id`. */
  paypalReferenceId: 256,
} as const;

const DIGEST_CHARS = 64;

/** Tells two credentials apart without revealing them (the hash of a long random secret gives nothing back). */
export function credentialHash(secret: string): string {
  const digest = createHash('sha256').update(`aegispay-credential:${secret}`).digest('hex');
  return `sha256:${digest.slice(0, 16)}`;
}

/**
 * `key` itself when it fits in `max` characters, else its start, `~` and the SHA-256 hex digest of the
 * whole key: the same key always maps to the same value (so retries and lookups agree), two keys that
 * share a long start still map apart, and the start keeps the value readable in the gateway's dashboard.
 */
export function fitKey(key: string, max: number): string {
  if (key.length <= max) return key;
  const digest = createHash('sha256').update(key).digest('hex');
  return `${key.slice(0, Math.max(0, max - DIGEST_CHARS - 1))}~${digest}`.slice(-max);
}

/** The operations the workflow names in its gateway keys. */
export type KeyOperation = 'charge' | 'confirm' | 'capture' | 'void' | 'refund';

/**
 * The payment ID and operation of a workflow key (`domain/ids.ts` `gatewayIdempotencyKey`), read from
 * the end because payment IDs contain colons; undefined for a key of another shape, which lookups treat
 * as a charge key.
 */
export function keyParts(key: string): { paymentId: string; operation: KeyOperation } | undefined {
  const m = /^(.+):(charge|confirm|capture|void|refund):[^:]+$/.exec(key);
  return m ? { paymentId: m[1]!, operation: m[2] as KeyOperation } : undefined;
}
