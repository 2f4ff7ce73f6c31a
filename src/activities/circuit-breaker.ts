/**
 * A per-gateway circuit breaker (docs/technical-description.md, "Routing and circuit breakers"). It lives in the worker process, never in workflow
 * code; time comes from an injected clock so tests can move it.
 */
import type { BreakerState } from '../domain/types';
import { z } from 'zod';
import { GatewayStats } from './gateway-stats';

/** How a breaker decides to open and when it tries the gateway again (the names of the deployment guide, docs/migrating.md). */
export interface CircuitBreakerConfig {
  /** Consecutive infrastructure failures that open the breaker. */
  failureThreshold: number;
  /** How long an open breaker refuses calls before it lets probes through. */
  resetTimeoutMs: number;
  /** Rolling window the failure rate is measured over. */
  monitorWindowMs: number;
  /** Failure rate (0..1) within the window above which the breaker opens; no rate check without it. */
  failureRateThreshold?: number;
  /** Calls the window must hold before the failure rate counts. */
  minimumVolume?: number;
  /** Probes allowed in flight at once while half-open. */
  halfOpenMaxProbes?: number;
}

/** The deployment guide's breaker settings plus the rate check's defaults. */
export const DEFAULT_CIRCUIT_BREAKER: Required<CircuitBreakerConfig> = {
  failureThreshold: 5,
  resetTimeoutMs: 60_000,
  monitorWindowMs: 120_000,
  failureRateThreshold: 0.5,
  minimumVolume: 10,
  halfOpenMaxProbes: 1,
};

const DAY_MS = 24 * 60 * 60 * 1000;
const ms = z.number().int().min(1).max(DAY_MS);

/** The worker's breaker config; defaults fill what is missing, and every bad field is reported. */
export const circuitBreakerConfigSchema = z.strictObject({
  failureThreshold: z.number().int().min(1).default(DEFAULT_CIRCUIT_BREAKER.failureThreshold),
  resetTimeoutMs: ms.default(DEFAULT_CIRCUIT_BREAKER.resetTimeoutMs),
  monitorWindowMs: ms.default(DEFAULT_CIRCUIT_BREAKER.monitorWindowMs),
  failureRateThreshold: z.number().gt(0).max(1).default(DEFAULT_CIRCUIT_BREAKER.failureRateThreshold),
  minimumVolume: z.number().int().min(1).default(DEFAULT_CIRCUIT_BREAKER.minimumVolume),
  halfOpenMaxProbes: z.number().int().min(1).default(DEFAULT_CIRCUIT_BREAKER.halfOpenMaxProbes),
});

export type { BreakerState };

/** One state change, reported to `onTransition` (for logs and metrics). */
export interface BreakerTransition {
  gateway: string;
  from: BreakerState;
  to: BreakerState;
  at: number;
  reason: string;
}

/** A breaker's state and window counts, for health summaries. */
export interface BreakerSnapshot {
  state: BreakerState;
  consecutiveFailures: number;
  windowCalls: number;
  windowFailures: number;
  failureRate: number;
  /** When it last opened (while OPEN or HALF_OPEN). */
  openedAt?: number;
  /** When it will let the first probe through (while OPEN). */
  nextProbeAt?: number;
}

/**
 * Guards one gateway. Callers record only infrastructure failures as failures; a decline proves the
 * gateway is up and is recorded with `recordSuccess` or `release`.
 */
export class CircuitBreaker {
  private current: BreakerState = 'CLOSED';
  private consecutiveFailures = 0;
  private window: GatewayStats;
  private openedAt = 0;
  /** Start times of half-open probes still awaiting a verdict. */
  private probes: number[] = [];

  constructor(
    readonly gateway: string,
    private readonly config: CircuitBreakerConfig,
    private readonly clock: () => number,
    private readonly onTransition?: (t: BreakerTransition) => void,
  ) {
    this.window = new GatewayStats(config.monitorWindowMs, clock);
  }

  /** The current state; reading it moves OPEN to HALF_OPEN once `resetTimeoutMs` has passed. */
  get state(): BreakerState {
    if (this.current === 'OPEN' && this.clock() - this.openedAt >= this.config.resetTimeoutMs) {
      this.probes = [];
      this.move('HALF_OPEN', `reset timeout of ${this.config.resetTimeoutMs} ms elapsed`);
    }
    return this.current;
  }

  /** Whether `tryAcquire` would succeed now, without taking a probe slot (for routing candidates). */
  canAcquire(): boolean {
    const state = this.state;
    if (state !== 'HALF_OPEN') return state === 'CLOSED';
    // A probe whose verdict never came (its workflow was cancelled, its worker moved on) must not
    // hold its slot forever, or the breaker would stay half-open and refuse every call.
    const lostBefore = this.clock() - this.config.resetTimeoutMs;
    this.probes = this.probes.filter((startedAt) => startedAt > lostBefore);
    return this.probes.length < (this.config.halfOpenMaxProbes ?? DEFAULT_CIRCUIT_BREAKER.halfOpenMaxProbes);
  }

  /** Asks to send one call: always while CLOSED, never while OPEN, up to `halfOpenMaxProbes` while HALF_OPEN. */
  tryAcquire(): boolean {
    if (!this.canAcquire()) return false;
    if (this.current === 'HALF_OPEN') this.probes.push(this.clock());
    return true;
  }

  /**
   * Records a call the gateway answered; a half-open probe's success closes the breaker and resets its
   * counters. Latency is accepted for symmetry with `GatewayStats` but ignored: slowness is the
   * activity timeout's business, and a timeout is recorded as a failure.
   */
  recordSuccess(_latencyMs?: number): void {
    this.consecutiveFailures = 0;
    if (this.state === 'HALF_OPEN') this.close('probe succeeded');
    this.window.record('succeeded');
  }

  /**
   * Ends a call that got a business answer (a decline, a customer action): the gateway worked, so the
   * breaker counts it as a success and frees the probe slot.
   */
  release(): void {
    this.recordSuccess();
  }

  /** Records an infrastructure failure; may open the breaker (or re-open it when a probe fails). */
  recordFailure(): void {
    const state = this.state;
    this.window.record('failed');
    this.consecutiveFailures++;
    if (state === 'HALF_OPEN') return this.open('probe failed');
    if (state !== 'CLOSED') return;
    const { failureThreshold, failureRateThreshold, monitorWindowMs } = this.config;
    if (this.consecutiveFailures >= failureThreshold) {
      return this.open(`${this.consecutiveFailures} consecutive failures`);
    }
    const { calls, failures } = this.window.summary();
    const minimumVolume = this.config.minimumVolume ?? DEFAULT_CIRCUIT_BREAKER.minimumVolume;
    if (
      failureRateThreshold !== undefined &&
      calls >= minimumVolume &&
      failures / calls > failureRateThreshold
    ) {
      const percent = Math.round((failures / calls) * 100);
      this.open(`failure rate ${percent}% over ${calls} calls in the last ${monitorWindowMs} ms`);
    }
  }

  /** The state and counts as plain data. */
  snapshot(): BreakerSnapshot {
    const state = this.state;
    const { calls, failures } = this.window.summary();
    return {
      state,
      consecutiveFailures: this.consecutiveFailures,
      windowCalls: calls,
      windowFailures: failures,
      failureRate: calls === 0 ? 0 : failures / calls,
      ...(state === 'CLOSED' ? {} : { openedAt: this.openedAt }),
      ...(state === 'OPEN' ? { nextProbeAt: this.openedAt + this.config.resetTimeoutMs } : {}),
    };
  }

  private open(reason: string): void {
    this.openedAt = this.clock();
    this.probes = [];
    this.move('OPEN', reason);
  }

  private close(reason: string): void {
    this.consecutiveFailures = 0;
    this.probes = [];
    // Failures from before the outage must not re-open a breaker that a probe just closed.
    this.window = new GatewayStats(this.config.monitorWindowMs, this.clock);
    this.move('CLOSED', reason);
  }

  private move(to: BreakerState, reason: string): void {
    const from = this.current;
    this.current = to;
    this.onTransition?.({ gateway: this.gateway, from, to, at: this.clock(), reason });
  }
}
