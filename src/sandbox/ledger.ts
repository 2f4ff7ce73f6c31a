import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** The gateways the sandbox PSP speaks for. */
export type SandboxGateway = 'stripe' | 'paypal';

/** One movement of money (or a refused attempt at one), as the PSP's books record it. */
export interface LedgerEntry {
  id: string;
  gateway: SandboxGateway;
  kind: 'charge' | 'authorization' | 'capture' | 'refund' | 'void';
  /** `pending`: committed in progress (the `pending` fault) until settled into one of the others. */
  status: 'succeeded' | 'failed' | 'pending';
  /** The entry's own object: PaymentIntent, refund, PayPal capture / authorization / refund ID. */
  reference: string;
  /** The PaymentIntent or PayPal order the entry belongs to. */
  payment: string;
  /** The `Idempotency-Key` / `PayPal-Request-Id` of the request that made the entry. */
  idempotencyKey?: string;
  /** AegisPay's gateway idempotency key of the charge (`metadata.aegispay_key` / `custom_id`). */
  paymentKey?: string;
  /** AegisPay's payment ID (`metadata.aegispay_payment_id` / `reference_id`). */
  paymentId?: string;
  /** ISO 4217 minor units, whatever the gateway's own notation. */
  amount: number;
  currency: string;
  /** Why a failed entry failed (`card_declined`, `INSTRUMENT_DECLINED`). */
  code?: string;
  at: string;
  /** When a pending entry was settled. */
  settledAt?: string;
}

/** What one gateway holds of one payment, in minor units, by the ledger. */
export interface Holding {
  gateway: SandboxGateway;
  /** AegisPay's payment ID. */
  paymentId: string;
  currency: string;
  /** Succeeded charges and captures. */
  collected: number;
  /** Succeeded refunds. */
  refunded: number;
  /** `collected - refunded`: the money the gateway holds for the payment now. */
  held: number;
  /** Charges, captures and refunds still pending (sign: refunds count negative). */
  pending: number;
}

/** A stored answer to an idempotent request, replayed for the same key. */
export interface StoredResponse {
  fingerprint: string;
  status: number;
  body: unknown;
}

interface State {
  ledger: LedgerEntry[];
  objects: Record<string, Record<string, unknown>>;
  idempotency: Record<string, StoredResponse>;
  tokens: string[];
}

/**
 * The sandbox PSP's whole state (ledger, API objects, idempotency records, OAuth tokens), optionally kept
 * in a JSON file so that charges can be counted across sandbox and worker restarts.
 */
export class SandboxStore {
  private state: State = emptyState();
  private dirty = false;

  constructor(private readonly file?: string) {
    if (file && existsSync(file))
      this.state = { ...emptyState(), ...(JSON.parse(readFileSync(file, 'utf8')) as State) };
  }

  /** Every ledger entry, oldest first. */
  entries(): readonly LedgerEntry[] {
    return this.state.ledger;
  }

  /** Appends a ledger entry. */
  record(entry: Omit<LedgerEntry, 'id' | 'at'>): LedgerEntry {
    const full = { id: newId('le_'), at: new Date().toISOString(), ...entry };
    this.state.ledger.push(full);
    this.dirty = true;
    return full;
  }

  /**
   * Settles the pending entry of an object (by `reference`, or by `payment` for a pending PaymentIntent
   * charge): the entry keeps its place and gains `settledAt`.
   */
  settle(reference: string, status: 'succeeded' | 'failed', code?: string): LedgerEntry | undefined {
    const entry = this.state.ledger.find((e) => e.status === 'pending' && e.reference === reference);
    if (!entry) return undefined;
    entry.status = status;
    entry.settledAt = new Date().toISOString();
    if (code) entry.code = code;
    this.dirty = true;
    return entry;
  }

  /** An API object by collection and ID. */
  get<T>(collection: string, id: string): T | undefined {
    const objects = this.state.objects[collection];
    return objects && Object.hasOwn(objects, id) ? (objects[id] as T) : undefined;
  }

  /** Stores (or replaces) an API object. */
  put<T extends { id: string }>(collection: string, object: T): T {
    (this.state.objects[collection] ??= {})[object.id] = object;
    this.dirty = true;
    return object;
  }

  /** Every object of a collection. */
  all<T>(collection: string): T[] {
    return Object.values(this.state.objects[collection] ?? {}) as T[];
  }

  /** The stored answer for an idempotency key, if any. */
  response(gateway: SandboxGateway, key: string): StoredResponse | undefined {
    return this.state.idempotency[`${gateway}:${key}`];
  }

  /** Remembers the answer to an idempotent request. */
  remember(gateway: SandboxGateway, key: string, response: StoredResponse): void {
    this.state.idempotency[`${gateway}:${key}`] = response;
    this.dirty = true;
  }

  /** Issues an OAuth access token. */
  issueToken(): string {
    const token = `A21AA${randomBytes(24).toString('base64url')}`;
    this.state.tokens.push(token);
    this.dirty = true;
    return token;
  }

  /** Whether the sandbox issued this token. */
  hasToken(token: string): boolean {
    return this.state.tokens.includes(token);
  }

  /** Forgets everything: ledger, objects, idempotency records and tokens. */
  clear(): void {
    this.state = emptyState();
    this.dirty = true;
    this.flush();
  }

  /** Writes the state to the file if it changed; call once per request, after the last change. */
  flush(): void {
    if (!this.file || !this.dirty) return;
    mkdirSync(dirname(this.file), { recursive: true });
    // Write-then-rename: a crash never leaves a half-written ledger, and one request's changes land together.
    writeFileSync(`${this.file}.tmp`, JSON.stringify(this.state));
    renameSync(`${this.file}.tmp`, this.file);
    this.dirty = false;
  }
}

/** Per payment and gateway: money collected, refunded, held and pending (what the crash tests count). */
export function holdings(entries: readonly LedgerEntry[]): Holding[] {
  const byKey = new Map<string, Holding>();
  for (const e of entries) {
    if (!e.paymentId || !['charge', 'capture', 'refund'].includes(e.kind) || e.status === 'failed') continue;
    const key = `${e.gateway} ${e.paymentId}`;
    let h = byKey.get(key);
    if (!h) {
      h = {
        gateway: e.gateway,
        paymentId: e.paymentId,
        currency: e.currency,
        collected: 0,
        refunded: 0,
        held: 0,
        pending: 0,
      };
      byKey.set(key, h);
    }
    const sign = e.kind === 'refund' ? -1 : 1;
    if (e.status === 'pending') h.pending += sign * e.amount;
    else if (e.kind === 'refund') h.refunded += e.amount;
    else h.collected += e.amount;
    h.held = h.collected - h.refunded;
  }
  return [...byKey.values()];
}

/** Succeeded authorizations no capture or void has consumed yet: money held on a card. */
export function openAuthorizations(entries: readonly LedgerEntry[]): LedgerEntry[] {
  const closed = new Set(
    entries
      .filter((e) => (e.kind === 'capture' || e.kind === 'void') && e.status !== 'failed')
      .map((e) => `${e.gateway} ${e.payment}`),
  );
  return entries.filter(
    (e) => e.kind === 'authorization' && e.status === 'succeeded' && !closed.has(`${e.gateway} ${e.payment}`),
  );
}

/** A Stripe- or PayPal-looking random ID with a prefix. */
export function newId(prefix = '', length = 24): string {
  const alphabet = prefix
    ? 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'
    : 'ABCDEFGHJKLMNPRSTUVWXY0123456789';
  const bytes = randomBytes(length);
  let id = '';
  for (const b of bytes) id += alphabet[b % alphabet.length];
  return prefix + id;
}

function emptyState(): State {
  return { ledger: [], objects: {}, idempotency: {}, tokens: [] };
}
