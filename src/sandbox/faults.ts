import { z } from 'zod';
import type { SandboxGateway } from './ledger';

/** A probability (0..1), or `{ next: n }`: exactly the next n eligible requests. */
const chance = z.union([z.number().min(0).max(1), z.object({ next: z.number().int().min(0) }).strict()]);

/** The operations an API request can be, as the adapters use them. */
export const OPERATIONS = ['charge', 'confirm', 'capture', 'void', 'refund', 'lookup'] as const;

/** One of {@link OPERATIONS}. */
export type Operation = (typeof OPERATIONS)[number];

/** The operations `pending` can hold in an in-progress state (voids and lookups move no money). */
export const PENDING_OPERATIONS: readonly Operation[] = ['charge', 'confirm', 'capture', 'refund'];

/** Faults the sandbox injects into API requests (never into `/__admin`). */
export const faultsSchema = z
  .object({
    /** Delay before processing, fixed or uniformly drawn. */
    latencyMs: z
      .union([z.number().min(0), z.object({ min: z.number().min(0), max: z.number().min(0) }).strict()])
      .optional(),
    /** 500 api_error / INTERNAL_SERVER_ERROR before processing (nothing committed). */
    errorRate: z.number().min(0).max(1).optional(),
    /** 429 before processing. */
    rateLimitRate: z.number().min(0).max(1).optional(),
    /** Every API request answers 503 before processing. */
    outage: z.boolean().optional(),
    /** Commit to the ledger, then hold the answer far beyond any client timeout. */
    commitThenTimeout: chance.optional(),
    /** Commit to the ledger, then destroy the socket without answering. */
    commitThenReset: chance.optional(),
    /** Destroy the socket before processing (nothing committed). */
    resetConnection: chance.optional(),
    /**
     * Commit the next eligible charge, confirm, capture or refund in an in-progress state (Stripe
     * PaymentIntent `processing` or refund `pending`, PayPal capture or refund `PENDING`) until
     * `POST /__admin/settle` or `pendingSettleMs` settles it.
     */
    pending: chance.optional(),
    /** Settle pending objects as succeeded on their own after this long; absent: only the admin call does. */
    pendingSettleMs: z.number().int().min(0).optional(),
    /**
     * The operations every other fault applies to (default all); requests outside it, and OAuth token
     * requests while it is set, run untouched.
     */
    operations: z.array(z.enum(OPERATIONS)).nonempty().optional(),
    /** Stripe only: search misses PaymentIntents younger than this, as Stripe's own search index lags. */
    searchLagMs: z.number().int().min(0).optional(),
  })
  .strict();

/** Faults for one gateway. */
export type Faults = z.infer<typeof faultsSchema>;

/** The body of `POST /__admin/faults`: faults plus the gateway they apply to (default both). */
export const faultsRequestSchema = faultsSchema.extend({
  gateway: z.enum(['stripe', 'paypal', 'all']).optional(),
});

/** The faults that fire on a chance. */
export type ChanceFault = 'commitThenTimeout' | 'commitThenReset' | 'resetConnection' | 'pending';

/** Holds the faults per gateway and rolls the dice. */
export class FaultInjector {
  private faults: Record<SandboxGateway, Faults> = { stripe: {}, paypal: {} };

  /** Replaces the faults of one gateway, or of both. */
  set(faults: Faults, gateway: SandboxGateway | 'all' = 'all'): void {
    const parsed = faultsSchema.parse(faults);
    for (const g of gateway === 'all' ? (['stripe', 'paypal'] as const) : [gateway]) {
      this.faults[g] = structuredClone(parsed);
    }
  }

  /** The current faults of a gateway. */
  get(gateway: SandboxGateway): Faults {
    return this.faults[gateway];
  }

  /** Removes every fault. */
  clear(): void {
    this.faults = { stripe: {}, paypal: {} };
  }

  /** Whether the faults of a gateway apply to a request of this operation (undefined: not an API operation). */
  applies(gateway: SandboxGateway, operation: Operation | undefined): boolean {
    const only = this.faults[gateway].operations;
    return !only || (operation !== undefined && only.includes(operation));
  }

  /** The delay to apply before processing this request. */
  latency(gateway: SandboxGateway): number {
    const latency = this.faults[gateway].latencyMs;
    if (latency === undefined) return 0;
    if (typeof latency === 'number') return latency;
    return latency.min + Math.random() * Math.max(0, latency.max - latency.min);
  }

  /** Whether a rate-based fault fires for this request. */
  rate(gateway: SandboxGateway, name: 'errorRate' | 'rateLimitRate'): boolean {
    const rate = this.faults[gateway][name];
    return rate !== undefined && Math.random() < rate;
  }

  /** Whether a chance fault fires for this request; `{ next }` counts down. */
  roll(gateway: SandboxGateway, name: ChanceFault): boolean {
    const value = this.faults[gateway][name];
    if (value === undefined) return false;
    if (typeof value === 'number') return Math.random() < value;
    if (value.next <= 0) return false;
    value.next -= 1;
    return true;
  }
}
