/**
 * Rolling per-gateway statistics for routing and metrics. Pure: time comes from an injected clock.
 * Memory is bounded: counts live in at most MAX_BUCKETS time buckets, latencies in at most
 * MAX_LATENCY_SAMPLES samples (the newest win).
 */
import type { GatewayCounts } from '../domain/health';
import type { AttemptOutcome } from '../domain/types';

/** Most buckets a window is split into; wider windows get wider buckets instead of more of them. */
const MAX_BUCKETS = 300;
/** Shortest bucket: one second is fine enough for windows measured in minutes. */
const MIN_BUCKET_MS = 1000;
/** Most latency samples kept per gateway; percentiles describe the newest ones. */
export const MAX_LATENCY_SAMPLES = 1000;

/** What a gateway's window holds; `successRate` counts declines as successes and failures against it. */
export interface GatewayStatsSummary extends GatewayCounts {
  /** `(successes + declines) / calls`; 1 when there were no calls (nothing has failed). */
  successRate: number;
  p50LatencyMs: number;
}

interface Bucket {
  start: number;
  succeeded: number;
  failed: number;
  declined: number;
}

/** Outcomes and latencies of one gateway's calls over a rolling window. */
export class GatewayStats {
  private readonly bucketMs: number;
  private buckets: Bucket[] = [];
  private latencies: { bucket: number; ms: number }[] = [];

  constructor(
    readonly windowMs: number,
    private readonly clock: () => number,
  ) {
    this.bucketMs = Math.max(MIN_BUCKET_MS, Math.ceil(windowMs / MAX_BUCKETS));
  }

  /**
   * Records one call's outcome. Latency is kept only for calls the gateway answered (success or
   * decline): a refused connection fails fast and would make a broken gateway look quick.
   */
  record(outcome: AttemptOutcome, latencyMs?: number): void {
    const now = this.clock();
    this.prune(now);
    const start = Math.floor(now / this.bucketMs) * this.bucketMs;
    let bucket = this.buckets.at(-1);
    // A clock that steps back folds into the newest bucket, so buckets stay ordered and bounded.
    if (!bucket || bucket.start < start) {
      bucket = { start, succeeded: 0, failed: 0, declined: 0 };
      this.buckets.push(bucket);
    }
    bucket[outcome]++;
    if (outcome !== 'failed' && latencyMs !== undefined && Number.isFinite(latencyMs) && latencyMs >= 0) {
      this.latencies.push({ bucket: bucket.start, ms: latencyMs });
      if (this.latencies.length > MAX_LATENCY_SAMPLES) this.latencies.shift();
    }
  }

  /** Counts, success rate and latency percentiles (nearest rank) of the current window. */
  summary(): GatewayStatsSummary {
    this.prune(this.clock());
    let successes = 0;
    let failures = 0;
    let declines = 0;
    for (const b of this.buckets) {
      successes += b.succeeded;
      failures += b.failed;
      declines += b.declined;
    }
    const calls = successes + failures + declines;
    const sorted = this.latencies.map((l) => l.ms).sort((a, b) => a - b);
    const total = sorted.reduce((sum, ms) => sum + ms, 0);
    return {
      calls,
      successes,
      failures,
      declines,
      successRate: calls === 0 ? 1 : (successes + declines) / calls,
      avgLatencyMs: sorted.length === 0 ? 0 : total / sorted.length,
      p50LatencyMs: percentile(sorted, 0.5),
      p95LatencyMs: percentile(sorted, 0.95),
    };
  }

  /** Drops buckets wholly older than the window: outcomes linger at most one bucket width past it. */
  private prune(now: number): void {
    const horizon = now - this.windowMs;
    const expired = (start: number) => start + this.bucketMs <= horizon;
    while (this.buckets[0] && expired(this.buckets[0].start)) this.buckets.shift();
    while (this.latencies[0] && expired(this.latencies[0].bucket)) this.latencies.shift();
  }
}

/** Nearest-rank percentile of ascending values; 0 for none. */
function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)]!;
}
