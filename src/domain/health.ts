/**
 * Gateway health as workers report it and clients read it. Each worker keeps its own circuit
 * breakers and statistics; the gateway-health workflow collects their latest reports, and these
 * pure functions add them up, so any process can see the true figures without running a worker.
 */
import { leaveFleet, type FleetMember, type FleetPolicy, type FleetRoster } from './fleet-policy';
import type { BreakerState, GatewayType } from './types';

/** A worker's rolling figures for one gateway (see GatewayStats). */
export interface GatewayCounts {
  calls: number;
  successes: number;
  /** Infrastructure failures (timeouts, 5xx, connection errors); never declines. */
  failures: number;
  /** Business declines: the gateway worked, the payment was refused. */
  declines: number;
  avgLatencyMs: number;
  p95LatencyMs: number;
}

/** One breaker state change, as the worker saw it. */
export interface BreakerTransitionReport {
  gateway: string;
  from: BreakerState;
  to: BreakerState;
  at: number;
  reason: string;
  worker: string;
}

/** What one worker sends: its view of every gateway, and the breaker changes since its last report. */
export interface WorkerHealthReport {
  worker: string;
  at: number;
  gateways: { gateway: GatewayType; breaker: BreakerState; stats: GatewayCounts }[];
  transitions: BreakerTransitionReport[];
  /** The worker's last report, sent as it stops: it leaves the fleet (its figures stay readable). */
  leaving?: boolean;
}

/**
 * The gateway-health workflow's state: the latest report per worker, recent transitions, and the
 * task queue's fleet (see fleet-policy.ts). The fleet fields are optional: a state carried over from
 * an earlier version has none.
 */
export interface HealthState extends FleetRoster {
  reports: Record<string, WorkerHealthReport>;
  transitions: BreakerTransitionReport[];
  /** The workers admitted to the fleet, by worker identity. */
  members?: Record<string, FleetMember>;
  /** The policy last admitted: what the fleet's memo shows. */
  fleet?: FleetPolicy;
}

/** One gateway across all live workers. */
export interface GatewayHealthSummary {
  gateway: GatewayType;
  /** The worst state any live worker reports: one worker seeing an outage is enough to say so. */
  state: BreakerState;
  workers: { worker: string; state: BreakerState; reportedAt: string }[];
  calls: number;
  successes: number;
  failures: number;
  declines: number;
  /** (successes + declines) / calls: declines mean the gateway works; failures are counted, never hidden. */
  successRate: number;
  avgLatencyMs: number;
  /** The highest of the workers' p95s (percentiles cannot be added up exactly). */
  p95LatencyMs: number;
}

export interface HealthSummary {
  healthy: boolean;
  gateways: GatewayHealthSummary[];
  transitions: BreakerTransitionReport[];
  workers: number;
}

/** How many transitions the health workflow keeps. */
export const MAX_TRANSITIONS_KEPT = 200;

const SEVERITY: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

/** Adds up the reports of workers heard from within `liveWithinMs` of `now`. */
export function summarizeHealth(state: HealthState, now: number, liveWithinMs: number): HealthSummary {
  const live = Object.values(state.reports).filter((r) => now - r.at <= liveWithinMs);
  const byGateway = new Map<GatewayType, GatewayHealthSummary>();
  for (const report of live) {
    for (const g of report.gateways) {
      const summary = byGateway.get(g.gateway) ?? {
        gateway: g.gateway,
        state: 'CLOSED' as BreakerState,
        workers: [],
        calls: 0,
        successes: 0,
        failures: 0,
        declines: 0,
        successRate: 1,
        avgLatencyMs: 0,
        p95LatencyMs: 0,
      };
      const answered = summary.successes + summary.declines;
      const gAnswered = g.stats.successes + g.stats.declines;
      summary.avgLatencyMs =
        answered + gAnswered === 0
          ? 0
          : (summary.avgLatencyMs * answered + g.stats.avgLatencyMs * gAnswered) / (answered + gAnswered);
      summary.calls += g.stats.calls;
      summary.successes += g.stats.successes;
      summary.failures += g.stats.failures;
      summary.declines += g.stats.declines;
      summary.p95LatencyMs = Math.max(summary.p95LatencyMs, g.stats.p95LatencyMs);
      if (SEVERITY[g.breaker] > SEVERITY[summary.state]) summary.state = g.breaker;
      summary.workers.push({
        worker: report.worker,
        state: g.breaker,
        reportedAt: new Date(report.at).toISOString(),
      });
      summary.successRate = summary.calls === 0 ? 1 : (summary.successes + summary.declines) / summary.calls;
      byGateway.set(g.gateway, summary);
    }
  }
  const gateways = [...byGateway.values()];
  return {
    healthy: gateways.length > 0 && gateways.some((g) => g.state !== 'OPEN'),
    gateways,
    transitions: state.transitions,
    workers: live.length,
  };
}

/** Folds a new report into the workflow's state (pure: the workflow calls it from its signal handler). */
export function applyHealthReport(state: HealthState, report: WorkerHealthReport): HealthState {
  const transitions = [...state.transitions, ...report.transitions].slice(-MAX_TRANSITIONS_KEPT);
  const next = { ...state, reports: { ...state.reports, [report.worker]: report }, transitions };
  return report.leaving ? leaveFleet(next, report.worker) : next;
}

/**
 * The gateway-health workflow's ID for a task queue: one per queue, shared by all its workers. It runs
 * on `fleetTaskQueue(taskQueue)`, which every worker serves, so it answers before any worker is admitted.
 */
export function gatewayHealthWorkflowId(taskQueue: string): string {
  return `aegispay-gateway-health:${taskQueue}`;
}
