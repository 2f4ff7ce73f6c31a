import type { AttemptOutcome, GatewayType, RoutingDecision } from '../domain/types';
import {
  CircuitBreaker,
  circuitBreakerConfigSchema,
  type BreakerSnapshot,
  type BreakerTransition,
  type CircuitBreakerConfig,
} from './circuit-breaker';
import { GatewayRegistry } from './gateway-registry';
import { GatewayStats, type GatewayStatsSummary } from './gateway-stats';
import type { PaymentMetrics } from '../metrics';
import {
  decideRoute,
  routingConfigSchema,
  type FunctionRule,
  type RoutingConfigInput,
  type RoutingContext,
  type RoutingError,
} from './routing';

/** How one worker routes: strategy, rules and costs, breaker settings. */
export interface GatewayRouterOptions {
  routing?: RoutingConfigInput;
  functionRules?: FunctionRule[];
  circuitBreaker?: Partial<CircuitBreakerConfig>;
  clock?: () => number;
  onTransition?: (transition: BreakerTransition) => void;
  /** Breaker states, transitions and routing decisions go here when given. */
  metrics?: PaymentMetrics;
}

/** What a worker knows of one gateway's health. */
export interface GatewayHealth {
  gateway: GatewayType;
  breaker: BreakerSnapshot;
  stats: GatewayStatsSummary;
}

/**
 * The worker's routing state: one circuit breaker and one rolling statistics window per gateway.
 * It lives in the worker process, never in workflow code; each decision it makes is recorded in
 * the payment's history by the routing activity, so replay never asks it again.
 */
export class GatewayRouter {
  private readonly routing;
  private readonly breakerConfig: CircuitBreakerConfig;
  private readonly clock: () => number;
  private readonly breakers = new Map<GatewayType, CircuitBreaker>();
  private readonly stats = new Map<GatewayType, GatewayStats>();
  private roundRobin = 0;

  constructor(
    private readonly gateways: GatewayRegistry,
    private readonly options: GatewayRouterOptions = {},
  ) {
    this.routing = routingConfigSchema.parse(options.routing ?? {});
    this.breakerConfig = circuitBreakerConfigSchema.parse(options.circuitBreaker ?? {});
    this.clock = options.clock ?? Date.now;
    // Every gateway shows a breaker gauge from the start, not only after its first transition.
    for (const g of gateways.all()) options.metrics?.breaker(g.type, 'CLOSED');
  }

  /** Chooses a gateway for one attempt; a half-open breaker hands out its probe slot to the chosen one only. */
  route(
    context: RoutingContext,
    pinned?: GatewayType,
    exclude: GatewayType[] = [],
  ): RoutingDecision | RoutingError {
    const candidates = this.gateways.all().map((g) => {
      const breaker = this.breaker(g.type);
      return {
        gateway: g.type,
        capable: GatewayRegistry.supports(g, context.amount.currency, context.method),
        breaker: breaker.state,
        available: breaker.canAcquire(),
        stats: this.statsOf(g.type).summary(),
        ...(this.routing.costs[g.type] ? { cost: this.routing.costs[g.type] } : {}),
      };
    });
    const decision = decideRoute({
      strategy: this.routing.strategy,
      weights: this.routing.weights,
      rules: this.routing.rules,
      functionRules: this.options.functionRules ?? [],
      coldStartVolume: this.routing.coldStartVolume,
      roundRobinCounter: this.roundRobin,
      exclude,
      context,
      candidates,
      ...(pinned ? { pinned } : {}),
    });
    if ('gateway' in decision) {
      this.roundRobin += 1;
      this.breaker(decision.gateway).tryAcquire();
      this.options.metrics?.routed(decision.gateway, decision.strategy);
    }
    return decision;
  }

  /** Records a call's outcome: only infrastructure failures count against a gateway, never declines. */
  record(gateway: GatewayType, outcome: AttemptOutcome, latencyMs?: number): void {
    this.statsOf(gateway).record(outcome, latencyMs);
    const breaker = this.breaker(gateway);
    if (outcome === 'failed') breaker.recordFailure();
    else if (outcome === 'declined') breaker.release();
    else breaker.recordSuccess(latencyMs);
  }

  /** Every registered gateway's breaker and statistics, as this worker sees them. */
  health(): GatewayHealth[] {
    return this.gateways.all().map((g) => ({
      gateway: g.type,
      breaker: this.breaker(g.type).snapshot(),
      stats: this.statsOf(g.type).summary(),
    }));
  }

  private breaker(gateway: GatewayType): CircuitBreaker {
    let breaker = this.breakers.get(gateway);
    if (!breaker) {
      const { onTransition, metrics } = this.options;
      breaker = new CircuitBreaker(gateway, this.breakerConfig, this.clock, (t) => {
        metrics?.breakerTransition(t);
        onTransition?.(t);
      });
      this.breakers.set(gateway, breaker);
    }
    return breaker;
  }

  private statsOf(gateway: GatewayType): GatewayStats {
    let stats = this.stats.get(gateway);
    if (!stats) {
      stats = new GatewayStats(this.breakerConfig.monitorWindowMs, this.clock);
      this.stats.set(gateway, stats);
    }
    return stats;
  }
}
