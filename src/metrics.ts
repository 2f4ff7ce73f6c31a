import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { AttemptOutcome, Money, PaymentState } from './domain/types';
import type { BreakerState, BreakerTransition } from './activities/circuit-breaker';
import type { Logger } from './logging';
import type { InjectedSinks } from '@temporalio/worker';
import type { PaymentSinks } from './workflows/sinks';

/** Gateway operations as they appear in the `operation` label. */
export type GatewayOperation = 'charge' | 'confirm' | 'capture' | 'void' | 'refund' | 'status';

const BREAKER_STATE_VALUE: Record<BreakerState, number> = { CLOSED: 0, HALF_OPEN: 1, OPEN: 2 };

/**
 * AegisPay's business metrics, in a Prometheus registry of their own. The worker process counts what
 * its activities saw, so a fleet's totals are the sum over its workers (what Prometheus does anyway).
 */
export class PaymentMetrics {
  /** The registry holding every AegisPay metric (and nothing else). */
  readonly registry = new Registry();
  private readonly gatewayCalls = new Counter({
    name: 'aegispay_gateway_calls_total',
    help: 'Gateway calls by outcome: succeeded, declined (a business answer) or failed (infrastructure).',
    labelNames: ['gateway', 'operation', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly gatewayLatency = new Histogram({
    name: 'aegispay_gateway_latency_seconds',
    help: 'Gateway call latency, whatever the outcome.',
    labelNames: ['gateway', 'operation'] as const,
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  private readonly breakerState = new Gauge({
    name: 'aegispay_circuit_breaker_state',
    help: 'Circuit breaker state per gateway in this worker: 0 closed, 1 half-open, 2 open.',
    labelNames: ['gateway'] as const,
    registers: [this.registry],
  });
  private readonly breakerTransitions = new Counter({
    name: 'aegispay_circuit_breaker_transitions_total',
    help: 'Circuit breaker state changes.',
    labelNames: ['gateway', 'from', 'to'] as const,
    registers: [this.registry],
  });
  private readonly routingDecisions = new Counter({
    name: 'aegispay_routing_decisions_total',
    help: 'Gateways chosen by routing, by the strategy (or pin or rule) that chose them.',
    labelNames: ['gateway', 'strategy'] as const,
    registers: [this.registry],
  });
  private readonly payments = new Counter({
    name: 'aegispay_payments_total',
    help: 'Payments entering each state (INITIATED at creation), by the gateway holding them (none before routing).',
    labelNames: ['state', 'gateway'] as const,
    registers: [this.registry],
  });
  private readonly refunds = new Counter({
    name: 'aegispay_refunds_total',
    help: 'Refunds with a definite gateway answer, by outcome.',
    labelNames: ['gateway', 'outcome'] as const,
    registers: [this.registry],
  });
  private readonly refundedAmount = new Counter({
    name: 'aegispay_refunded_amount_minor_total',
    help: 'Amount refunded, in minor units of the currency.',
    labelNames: ['currency'] as const,
    registers: [this.registry],
  });

  /** Records one gateway call and its latency. */
  gatewayCall(
    gateway: string,
    operation: GatewayOperation,
    outcome: AttemptOutcome,
    latencyMs: number,
  ): void {
    this.gatewayCalls.inc({ gateway, operation, outcome });
    this.gatewayLatency.observe({ gateway, operation }, latencyMs / 1000);
  }

  /** Sets a breaker's state gauge (used for the initial CLOSED state, before any transition). */
  breaker(gateway: string, state: BreakerState): void {
    this.breakerState.set({ gateway }, BREAKER_STATE_VALUE[state]);
  }

  /** Records a breaker's state change and moves its gauge. */
  breakerTransition(t: BreakerTransition): void {
    this.breakerTransitions.inc({ gateway: t.gateway, from: t.from, to: t.to });
    this.breaker(t.gateway, t.to);
  }

  /** Records one routing decision. */
  routed(gateway: string, strategy: string): void {
    this.routingDecisions.inc({ gateway, strategy });
  }

  /** Records a payment entering a state (reported by its workflow through the `paymentMetrics` sink). */
  paymentState(state: PaymentState, gateway: string): void {
    this.payments.inc({ state, gateway });
  }

  /** Records a refund the gateway answered; a successful one adds to the refunded amount. */
  refund(gateway: string, outcome: AttemptOutcome, amount?: Money): void {
    this.refunds.inc({ gateway, outcome });
    if (outcome === 'succeeded' && amount)
      this.refundedAmount.inc({ currency: amount.currency }, amount.amount);
  }
}

/** Where the metrics endpoint listens, and where to find the Temporal core's own exporter. */
export interface MetricsServerOptions {
  /** The port on 127.0.0.1: metrics reveal traffic, so they are exposed only through the host's own proxy or agent. */
  port: number;
  /** The Temporal core's Prometheus `bindAddress` (`host:port`), appended to every scrape. */
  temporalMetricsAddress?: string;
}

/**
 * Serves `/metrics`: AegisPay's registry followed by the Temporal core's own metrics, so one scrape
 * target covers the worker. Resolves once listening.
 */
export async function startMetricsServer(
  metrics: PaymentMetrics,
  options: MetricsServerOptions,
  logger: Logger,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url?.split('?')[0] !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    scrape(metrics, options.temporalMetricsAddress, logger).then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: Error) => res.writeHead(500).end(err.message),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  return server;
}

async function scrape(
  metrics: PaymentMetrics,
  temporal: string | undefined,
  logger: Logger,
): Promise<string> {
  const own = await metrics.registry.metrics();
  if (!temporal) return own;
  try {
    const res = await fetch(`http://${temporal}/metrics`, { signal: AbortSignal.timeout(2000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return `${own}\n${await res.text()}`;
  } catch (err) {
    // A scrape without the core's half still shows AegisPay's: better than failing the whole target.
    logger.warn({ err: (err as Error).message, temporal }, 'Temporal core metrics unavailable');
    return own;
  }
}

/** The worker's end of the workflows' `paymentMetrics` sink: counts into `metrics`, or nothing without them. */
export function paymentMetricsSinks(metrics?: PaymentMetrics): InjectedSinks<PaymentSinks> {
  return {
    paymentMetrics: {
      stateEntered: {
        fn: (_info, state, gateway) => metrics?.paymentState(state, gateway),
        callDuringReplay: false,
      },
    },
  };
}
