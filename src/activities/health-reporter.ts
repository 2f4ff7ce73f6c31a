import type { Client } from '@temporalio/client';
import {
  gatewayHealthWorkflowId,
  type BreakerTransitionReport,
  type WorkerHealthReport,
} from '../domain/health';
import { fleetTaskQueue } from '../domain/fleet-policy';
import { healthReportSignal } from '../domain/messages';
import type { Logger } from '../logging';
import type { BreakerTransition } from './circuit-breaker';
import type { GatewayRouter } from './gateway-router';

export interface HealthReporterOptions {
  client: Client;
  taskQueue: string;
  worker: string;
  router: () => GatewayRouter;
  logger: Logger;
  /** How often the worker reports its rolling statistics; breaker changes are reported at once. */
  intervalMs?: number;
}

/** Default reporting interval: clients see statistics at most this old. */
export const DEFAULT_HEALTH_REPORT_INTERVAL_MS = 5_000;

/**
 * Sends this worker's breaker states and statistics to the task queue's gateway-health workflow,
 * periodically and whenever a breaker changes state. The reports also keep the worker a live member
 * of the fleet; the last one, on stop, leaves it. Reporting is best effort: a missed report is
 * followed by the next one, and payments never wait for it.
 */
export class HealthReporter {
  private readonly pending: BreakerTransitionReport[] = [];
  private timer?: NodeJS.Timeout;
  private sending = Promise.resolve();

  constructor(private readonly options: HealthReporterOptions) {}

  start(): void {
    this.timer = setInterval(
      () => void this.report(),
      this.options.intervalMs ?? DEFAULT_HEALTH_REPORT_INTERVAL_MS,
    );
    this.timer.unref();
  }

  /** Reports a breaker change right away. */
  onTransition(t: BreakerTransition): void {
    this.pending.push({
      gateway: t.gateway,
      from: t.from,
      to: t.to,
      at: t.at,
      reason: t.reason,
      worker: this.options.worker,
    });
    void this.report();
  }

  /** Sends the current view (reports go out one at a time, in order). */
  report(): Promise<void> {
    this.sending = this.sending.then(() => this.send());
    return this.sending;
  }

  /**
   * Stops reporting, after one last report so clients see this worker's final figures; with it the
   * worker leaves the fleet, so a worker with another policy may start at once.
   */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.sending = this.sending.then(() => this.send(true));
    await this.sending;
  }

  private async send(leaving = false): Promise<void> {
    const transitions = this.pending.splice(0);
    const report: WorkerHealthReport = {
      worker: this.options.worker,
      at: Date.now(),
      gateways: this.options
        .router()
        .health()
        .map((g) => ({
          gateway: g.gateway,
          breaker: g.breaker.state,
          stats: {
            calls: g.stats.calls,
            successes: g.stats.successes,
            failures: g.stats.failures,
            declines: g.stats.declines,
            avgLatencyMs: g.stats.avgLatencyMs,
            p95LatencyMs: g.stats.p95LatencyMs,
          },
        })),
      transitions,
      ...(leaving ? { leaving } : {}),
    };
    try {
      await this.options.client.workflow.signalWithStart('gatewayHealthWorkflow', {
        workflowId: gatewayHealthWorkflowId(this.options.taskQueue),
        taskQueue: fleetTaskQueue(this.options.taskQueue),
        args: [],
        signal: healthReportSignal,
        signalArgs: [report],
      });
    } catch (err) {
      this.pending.unshift(...transitions);
      this.options.logger.warn({ err: (err as Error).message }, 'gateway health report not delivered');
    }
  }
}
