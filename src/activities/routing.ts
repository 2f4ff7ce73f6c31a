/**
 * The routing decision as a pure function of gateway health, statistics, costs and rules
 * (docs/technical-description.md, "Routing and circuit breakers"). The routing activity gathers the inputs; this module only decides, deterministically.
 */
import { z } from 'zod';
import { isCurrencyCode, type CurrencyCode } from '../domain/currencies';
import {
  GatewayType,
  PaymentMethodType,
  type Metadata,
  type Money,
  type RoutingCandidate,
  type RoutingDecision,
} from '../domain/types';
import type { BreakerState } from './circuit-breaker';
import type { GatewayStatsSummary } from './gateway-stats';

export { circuitBreakerConfigSchema } from './circuit-breaker';

/** Every routing strategy, by its config name. */
export const ROUTING_STRATEGIES = [
  'cost-optimized',
  'latency-optimized',
  'intelligent',
  'success-rate',
  'round-robin',
] as const;
/** How routing chooses when no pin and no rule decides. */
export type RoutingStrategy = (typeof ROUTING_STRATEGIES)[number];

/** A gateway's price for one payment: a fixed fee plus a percentage of the amount. */
export interface GatewayCost {
  /** Minor units of the payment's currency. */
  fixed: number;
  /** Percent of the amount, e.g. 2.9 for 2.9%. */
  percentage: number;
}

/** Weights of the intelligent strategy's terms; only their ratios matter. */
export interface RoutingWeights {
  successRate: number;
  latency: number;
  cost: number;
}

/** The deployment guide's weights: success 0.5, latency 0.3, cost 0.2. */
export const DEFAULT_ROUTING_WEIGHTS: RoutingWeights = { successRate: 0.5, latency: 0.3, cost: 0.2 };
/** Calls a gateway needs in the window before its statistics are trusted. */
export const DEFAULT_COLD_START_VOLUME = 20;

/** Conditions of a declarative rule; every condition given must hold, an empty one matches all. */
export interface RuleConditions {
  /** Inclusive, in minor units of the payment's currency. */
  minAmount?: number;
  /** Inclusive, in minor units of the payment's currency. */
  maxAmount?: number;
  currencies?: string[];
  methods?: PaymentMethodType[];
  /** ISO 3166 alpha-2 codes, matched against the payment's country. */
  countries?: string[];
  /** Every entry must equal the payment's metadata value. */
  metadata?: Record<string, string | number | boolean>;
}

/** A JSON rule (it may travel in a request): when the conditions hold, use this gateway. */
export interface DeclarativeRule {
  name?: string;
  priority: number;
  when: RuleConditions;
  gateway: GatewayType;
}

/** What rules and strategies know about the payment. */
export interface RoutingContext {
  paymentId: string;
  amount: Money;
  method: PaymentMethodType;
  country?: string;
  metadata: Metadata;
}

/** A rule written as code, configured on the worker. */
export interface FunctionRule {
  name?: string;
  priority: number;
  condition: (ctx: RoutingContext) => boolean;
  gateway: GatewayType;
}

/** One registered gateway as routing sees it, in registration order. */
export interface CandidateInput {
  gateway: GatewayType;
  /** Takes the payment's currency and method. */
  capable: boolean;
  breaker: BreakerState;
  /** The breaker lets a call through now. */
  available: boolean;
  stats: GatewayStatsSummary;
  cost?: GatewayCost;
}

/** Everything a routing decision depends on. */
export interface RoutingInput {
  strategy: RoutingStrategy;
  weights?: RoutingWeights;
  rules?: DeclarativeRule[];
  functionRules?: FunctionRule[];
  /** Gateways with fewer calls than this are scored optimistically so new gateways get traffic. */
  coldStartVolume?: number;
  pinned?: GatewayType;
  /** Gateways this payment already failed over from. */
  exclude?: GatewayType[];
  roundRobinCounter: number;
  context: RoutingContext;
  candidates: CandidateInput[];
}

/** Why no gateway could be chosen. */
export interface RoutingError {
  error: 'NO_GATEWAY_AVAILABLE' | 'GATEWAY_NOT_REGISTERED';
  message: string;
  candidates: RoutingCandidate[];
}

interface Scored {
  candidate: CandidateInput;
  index: number;
  score: number;
  cold: boolean;
  /** The value behind the score, for the decision's reason ("p50 120 ms"). */
  measure: string;
}

/** Chooses a gateway: a pin, else the highest-priority matching rule, else the strategy. */
export function decideRoute(input: RoutingInput): RoutingDecision | RoutingError {
  const { context } = input;
  const excluded = new Set(input.exclude ?? []);
  const whyNot = new Map<GatewayType, string>();
  for (const c of input.candidates) {
    const reason = ineligibility(c, context, excluded);
    if (reason) whyNot.set(c.gateway, reason);
  }
  const eligible = input.candidates.filter((c) => !whyNot.has(c.gateway));
  const scored = score(input, eligible);
  const candidates = report(input.candidates, scored, whyNot);
  const decide = (gateway: GatewayType, strategy: string, reason: string): RoutingDecision => ({
    gateway,
    strategy,
    reason,
    candidates,
  });

  if (input.pinned) {
    const pinned = input.pinned;
    if (!input.candidates.some((c) => c.gateway === pinned)) {
      return {
        error: 'GATEWAY_NOT_REGISTERED',
        message: `Gateway ${pinned} is not registered on this worker`,
        candidates,
      };
    }
    const reason = whyNot.get(pinned);
    if (reason) {
      return { error: 'NO_GATEWAY_AVAILABLE', message: `Pinned gateway ${pinned}: ${reason}`, candidates };
    }
    return decide(pinned, 'pinned', `pinned to ${pinned}`);
  }

  if (eligible.length === 0) {
    const why = input.candidates.map((c) => `${c.gateway}: ${whyNot.get(c.gateway)}`).join('; ');
    return {
      error: 'NO_GATEWAY_AVAILABLE',
      message: why
        ? `No gateway can take this ${context.amount.currency} ${context.method} payment now (${why})`
        : 'No gateway is registered on this worker',
      candidates,
    };
  }

  const skipped: string[] = [];
  const ruled = firstEligibleRule(input, eligible, whyNot, skipped);
  if (ruled) return decide(ruled.gateway, 'rule', `${ruled.label} matched${notes(skipped)}`);

  const [best, runnerUp] = rank(input.strategy, scored);
  // Round-robin has no runner-up worth naming: every gateway simply takes its turn.
  const versus =
    input.strategy === 'round-robin' || !runnerUp
      ? ''
      : ` vs ${runnerUp.candidate.gateway} ${runnerUp.measure}`;
  const only = scored.length === 1 ? ', the only eligible gateway' : '';
  return decide(
    best!.candidate.gateway,
    input.strategy,
    `${input.strategy}: ${best!.candidate.gateway} ${best!.measure}${versus}${only}${notes(skipped)}`,
  );
}

/** Every candidate with its score and, when it was passed over or is cold, why. */
function report(
  all: CandidateInput[],
  scored: Scored[],
  whyNot: Map<GatewayType, string>,
): RoutingCandidate[] {
  return all.map((c): RoutingCandidate => {
    const s = scored.find((x) => x.candidate === c);
    const reason = whyNot.get(c.gateway) ?? (s?.cold ? `cold start: ${c.stats.calls} calls` : undefined);
    return {
      gateway: c.gateway,
      score: s ? Math.round(s.score * 10_000) / 10_000 : 0,
      breaker: c.breaker,
      eligible: !!s,
      ...(reason ? { reason } : {}),
    };
  });
}

/** The highest-priority matching rule whose gateway is eligible; rules passed over are noted in `skipped`. */
function firstEligibleRule(
  input: RoutingInput,
  eligible: CandidateInput[],
  whyNot: Map<GatewayType, string>,
  skipped: string[],
): { gateway: GatewayType; label: string } | undefined {
  for (const rule of orderedRules(input)) {
    const label = rule.name
      ? `rule '${rule.name}' (priority ${rule.priority})`
      : `rule to ${rule.gateway} (priority ${rule.priority})`;
    const matched = matches(rule, input.context);
    if (matched !== true) {
      if (matched !== false) skipped.push(`${label} skipped: its condition threw (${matched.threw})`);
      continue;
    }
    if (eligible.some((c) => c.gateway === rule.gateway)) return { gateway: rule.gateway, label };
    skipped.push(`${label} skipped: ${rule.gateway} ${whyNot.get(rule.gateway) ?? 'is not registered'}`);
  }
  return undefined;
}

function notes(skipped: string[]): string {
  return skipped.length ? `; ${skipped.join('; ')}` : '';
}

function ineligibility(
  c: CandidateInput,
  ctx: RoutingContext,
  excluded: Set<GatewayType>,
): string | undefined {
  if (!c.capable) return `cannot take ${ctx.amount.currency} ${ctx.method}`;
  if (excluded.has(c.gateway)) return 'already tried for this payment';
  if (c.available) return undefined;
  if (c.breaker === 'OPEN') return 'breaker OPEN';
  return c.breaker === 'HALF_OPEN' ? 'breaker HALF_OPEN, probe limit reached' : 'breaker refuses calls';
}

/** Declarative and function rules, highest priority first; equal priorities keep declarative rules first. */
function orderedRules(input: RoutingInput): (DeclarativeRule | FunctionRule)[] {
  // Array.prototype.sort is stable, which keeps the order deterministic for equal priorities.
  return [...(input.rules ?? []), ...(input.functionRules ?? [])].sort((a, b) => b.priority - a.priority);
}

/** Whether a rule matches; a function rule that throws is skipped rather than failing the payment. */
function matches(rule: DeclarativeRule | FunctionRule, ctx: RoutingContext): boolean | { threw: string } {
  if ('condition' in rule) {
    try {
      return rule.condition(ctx) === true;
    } catch (err) {
      return { threw: err instanceof Error ? err.message : String(err) };
    }
  }
  const w = rule.when;
  const amount = ctx.amount.amount;
  const country = ctx.country?.toUpperCase();
  return (
    (w.minAmount === undefined || amount >= w.minAmount) &&
    (w.maxAmount === undefined || amount <= w.maxAmount) &&
    (w.currencies === undefined || w.currencies.includes(ctx.amount.currency)) &&
    (w.methods === undefined || w.methods.includes(ctx.method)) &&
    (w.countries === undefined ||
      (country !== undefined && w.countries.some((c) => c.toUpperCase() === country))) &&
    Object.entries(w.metadata ?? {}).every(([key, value]) => ctx.metadata[key] === value)
  );
}

/** Scores eligible candidates for the strategy; higher is better, in [0, 1]. */
function score(input: RoutingInput, eligible: CandidateInput[]): Scored[] {
  const coldStartVolume = input.coldStartVolume ?? DEFAULT_COLD_START_VOLUME;
  const amount = input.context.amount.amount;
  const rows = eligible.map((candidate, index) => {
    const { stats, cost } = candidate;
    const cold = stats.calls < coldStartVolume;
    return {
      candidate,
      index,
      cold,
      successRate: cold ? 1 : stats.successRate,
      // Latency is known only from answered calls; a gateway with none (cold or all failures) is unknown.
      latency: cold || stats.successes + stats.declines === 0 ? undefined : stats.p50LatencyMs,
      // An estimate for ranking only: percentages make it fractional, and no money moves on it.
      cost: cost ? cost.fixed + (amount * cost.percentage) / 100 : undefined,
    };
  });
  const round = (n: number) => Math.round(n * 100) / 100;
  const known = (values: (number | undefined)[]) => values.filter((v): v is number => v !== undefined);
  const latencies = known(rows.map((r) => r.latency));
  const costs = fill(
    rows.map((r) => r.cost),
    median(known(rows.map((r) => r.cost))),
  );
  const costTerm = closeness(costs);

  switch (input.strategy) {
    case 'cost-optimized':
      return rows.map((r, i) => ({ ...r, score: costTerm[i]!, measure: `cost ${round(costs[i]!)}` }));
    case 'latency-optimized': {
      // Unmeasured gateways count as fast as the best known one, so they get tried.
      const filled = fill(
        rows.map((r) => r.latency),
        latencies.length ? Math.min(...latencies) : 0,
      );
      const term = closeness(filled);
      return rows.map((r, i) => ({
        ...r,
        score: term[i]!,
        measure: r.latency === undefined ? 'p50 unmeasured' : `p50 ${round(r.latency)} ms`,
      }));
    }
    case 'success-rate':
      return rows.map((r) => ({
        ...r,
        score: r.successRate,
        measure: r.cold
          ? 'success rate unmeasured (cold start)'
          : `success rate ${round(r.successRate * 100)}%`,
      }));
    case 'round-robin': {
      const n = rows.length;
      const turn = n === 0 ? 0 : ((Math.floor(input.roundRobinCounter) % n) + n) % n;
      return rows.map((r, i) => ({
        ...r,
        score: i === turn ? 1 : 0,
        measure: `takes turn ${i + 1} of ${n}`,
      }));
    }
    case 'intelligent': {
      const w = input.weights ?? DEFAULT_ROUTING_WEIGHTS;
      const total = w.successRate + w.latency + w.cost || 1;
      const latencyTerm = closeness(
        fill(
          rows.map((r) => r.latency),
          median(latencies),
        ),
      );
      return rows.map((r, i) => {
        const s =
          (w.successRate * r.successRate + w.latency * latencyTerm[i]! + w.cost * costTerm[i]!) / total;
        return { ...r, score: s, measure: `score ${round(s)}` };
      });
    }
  }
}

/** Best first: score, then (for statistics-based strategies) unmeasured gateways, then registration order. */
function rank(strategy: RoutingStrategy, scored: Scored[]): Scored[] {
  const preferCold = strategy !== 'cost-optimized' && strategy !== 'round-robin';
  return [...scored].sort(
    (a, b) => b.score - a.score || (preferCold ? Number(b.cold) - Number(a.cold) : 0) || a.index - b.index,
  );
}

function fill(values: (number | undefined)[], fallback: number): number[] {
  return values.map((v) => v ?? fallback);
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** `1 - min-max normalized value`: the lowest value gets 1, the highest 0; all equal get 1. */
function closeness(values: number[]): number[] {
  const min = Math.min(...values);
  const max = Math.max(...values);
  return values.map((v) => (max === min ? 1 : 1 - (v - min) / (max - min)));
}

const gatewayTypeSchema = z.enum(GatewayType);
const countSchema = z.number().int().min(0);

/** A gateway's fees as configured on the worker. */
export const gatewayCostSchema = z.strictObject({
  fixed: z.number().min(0),
  percentage: z.number().min(0).max(100),
});

/** Weights of the intelligent strategy; at least one must be positive. */
export const routingWeightsSchema = z
  .strictObject({ successRate: z.number().min(0), latency: z.number().min(0), cost: z.number().min(0) })
  .refine((w) => w.successRate + w.latency + w.cost > 0, 'at least one weight must be positive');

/** A declarative rule from config or a request. */
export const declarativeRuleSchema = z.strictObject({
  name: z.string().min(1).max(100).optional(),
  priority: z.number().int(),
  when: z
    .strictObject({
      minAmount: countSchema.optional(),
      maxAmount: countSchema.optional(),
      currencies: z
        .array(z.string().refine((c): c is CurrencyCode => isCurrencyCode(c), 'unknown ISO 4217 currency'))
        .optional(),
      methods: z.array(z.enum(PaymentMethodType)).optional(),
      countries: z
        .array(
          z
            .string()
            .regex(/^[A-Za-z]{2}$/, 'expected an ISO 3166 alpha-2 country code')
            .transform((c) => c.toUpperCase()),
        )
        .optional(),
      metadata: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
    })
    .refine((w) => w.minAmount === undefined || w.maxAmount === undefined || w.minAmount <= w.maxAmount, {
      message: 'minAmount must not exceed maxAmount',
      path: ['maxAmount'],
    })
    .default({}),
  gateway: gatewayTypeSchema,
});

/** The worker's routing config; defaults fill what is missing, and every bad field is reported. */
export const routingConfigSchema = z.strictObject({
  strategy: z.enum(ROUTING_STRATEGIES).default('intelligent'),
  weights: routingWeightsSchema.default(DEFAULT_ROUTING_WEIGHTS),
  rules: z.array(declarativeRuleSchema).default([]),
  costs: z.partialRecord(gatewayTypeSchema, gatewayCostSchema).default({}),
  coldStartVolume: countSchema.default(DEFAULT_COLD_START_VOLUME),
});
/** The routing config as written. */
export type RoutingConfigInput = z.input<typeof routingConfigSchema>;
/** The routing config with defaults applied. */
export type RoutingConfig = z.output<typeof routingConfigSchema>;
