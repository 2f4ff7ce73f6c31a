import fc from 'fast-check';
import type { GatewayStatsSummary } from '../../src/activities/gateway-stats';
import {
  DEFAULT_ROUTING_WEIGHTS,
  decideRoute,
  routingConfigSchema,
  type CandidateInput,
  type DeclarativeRule,
  type FunctionRule,
  type RoutingContext,
  type RoutingError,
  type RoutingInput,
} from '../../src/activities/routing';
import type { GatewayType, RoutingDecision } from '../../src/domain/types';

/** Statistics of a gateway with enough traffic to be judged (100 calls by default). */
function warm(successRate: number, p50LatencyMs: number, calls = 100): GatewayStatsSummary {
  const ok = Math.round(successRate * calls);
  return {
    calls,
    successes: ok,
    failures: calls - ok,
    declines: 0,
    successRate,
    avgLatencyMs: p50LatencyMs,
    p50LatencyMs,
    p95LatencyMs: p50LatencyMs * 2,
  };
}

/** Statistics of a gateway that has seen little or no traffic yet. */
function cold(calls = 0, successRate = 0): GatewayStatsSummary {
  return { ...warm(successRate, 5000, calls), calls };
}

/** A fourth gateway: routing treats names as opaque, so the tests need one more than AegisPay has connectors for. */
const ADYEN = 'ADYEN' as GatewayType;

function gw(gateway: GatewayType, overrides: Partial<CandidateInput> = {}): CandidateInput {
  return { gateway, capable: true, breaker: 'CLOSED', available: true, stats: warm(0.95, 200), ...overrides };
}

const CONTEXT: RoutingContext = {
  paymentId: 'pay_1',
  amount: { amount: 10_000, currency: 'USD' },
  method: 'CARD',
  country: 'US',
  metadata: {},
};

function route(
  overrides: Partial<RoutingInput> & Pick<RoutingInput, 'candidates'>,
  context: Partial<RoutingContext> = {},
) {
  return decideRoute({
    strategy: 'intelligent',
    roundRobinCounter: 0,
    ...overrides,
    context: { ...CONTEXT, ...context },
  });
}

function chosen(result: RoutingDecision | RoutingError): RoutingDecision {
  if ('error' in result) throw new Error(`expected a decision, got ${result.error}: ${result.message}`);
  return result;
}

function failed(result: RoutingDecision | RoutingError): RoutingError {
  if (!('error' in result)) throw new Error(`expected an error, got ${result.gateway}: ${result.reason}`);
  return result;
}

const pick = (input: Parameters<typeof route>[0], context?: Partial<RoutingContext>) =>
  chosen(route(input, context)).gateway;

describe('cost-optimized routing', () => {
  const costs = [
    gw('STRIPE', { cost: { fixed: 30, percentage: 2.9 } }),
    gw(ADYEN, { cost: { fixed: 10, percentage: 3.2 } }),
  ];

  it('picks the lower fixed fee on a small amount and the lower percentage on a large one', () => {
    // 10.00 USD: STRIPE 30 + 29 = 59, ADYEN 10 + 32 = 42. 1000.00 USD: STRIPE 2930, ADYEN 3210.
    expect(
      pick({ strategy: 'cost-optimized', candidates: costs }, { amount: { amount: 1000, currency: 'USD' } }),
    ).toBe('ADYEN');
    expect(
      pick(
        { strategy: 'cost-optimized', candidates: costs },
        { amount: { amount: 100_000, currency: 'USD' } },
      ),
    ).toBe('STRIPE');
  });

  it('flips exactly where the fees cross (20 minor units = 0.3% of 6666.67)', () => {
    const at = (amount: number) =>
      pick({ strategy: 'cost-optimized', candidates: costs }, { amount: { amount, currency: 'USD' } });
    expect(at(6666)).toBe('ADYEN');
    expect(at(6667)).toBe('STRIPE');
  });

  it('explains the choice with both costs', () => {
    const decision = chosen(
      route({ strategy: 'cost-optimized', candidates: costs }, { amount: { amount: 1000, currency: 'USD' } }),
    );
    expect(decision.strategy).toBe('cost-optimized');
    expect(decision.reason).toBe('cost-optimized: ADYEN cost 42 vs STRIPE cost 59');
  });

  it('ignores success rate and latency', () => {
    const candidates = [
      gw('STRIPE', { cost: { fixed: 50, percentage: 0 }, stats: warm(1, 50) }),
      gw('PAYPAL', { cost: { fixed: 40, percentage: 0 }, stats: warm(0.6, 900) }),
    ];
    expect(pick({ strategy: 'cost-optimized', candidates })).toBe('PAYPAL');
  });

  it('breaks ties by registration order, even against a cold-start gateway', () => {
    const candidates = [
      gw('PAYPAL', { cost: { fixed: 40, percentage: 1 } }),
      gw('STRIPE', { cost: { fixed: 40, percentage: 1 }, stats: cold(0) }),
    ];
    expect(pick({ strategy: 'cost-optimized', candidates })).toBe('PAYPAL');
    expect(pick({ strategy: 'cost-optimized', candidates: [...candidates].reverse() })).toBe('STRIPE');
  });

  it('gives a gateway without a cost entry the median known cost, so a cheaper known one still wins', () => {
    const candidates = [
      gw('STRIPE', { cost: { fixed: 300, percentage: 0 } }),
      gw('MOCK'),
      gw(ADYEN, { cost: { fixed: 100, percentage: 0 } }),
    ];
    const decision = chosen(route({ strategy: 'cost-optimized', candidates }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates.map((c) => c.score)).toEqual([0, 0.5, 1]);
  });
});

describe('latency-optimized routing', () => {
  it('picks the lowest p50', () => {
    const candidates = [
      gw('STRIPE', { stats: warm(0.99, 300) }),
      gw('PAYPAL', { stats: warm(0.8, 120) }),
      gw(ADYEN, { stats: warm(0.9, 180) }),
    ];
    const decision = chosen(route({ strategy: 'latency-optimized', candidates }));
    expect(decision.gateway).toBe('PAYPAL');
    expect(decision.reason).toBe('latency-optimized: PAYPAL p50 120 ms vs ADYEN p50 180 ms');
  });

  it('picks by p50, not p95', () => {
    const candidates = [
      gw('STRIPE', { stats: { ...warm(0.99, 150), p95LatencyMs: 3000 } }),
      gw('PAYPAL', { stats: { ...warm(0.99, 160), p95LatencyMs: 200 } }),
    ];
    expect(pick({ strategy: 'latency-optimized', candidates })).toBe('STRIPE');
  });

  it('tries a cold-start gateway by treating it as fast as the best known one', () => {
    const candidates = [gw('STRIPE', { stats: warm(0.99, 100) }), gw(ADYEN, { stats: cold(3) })];
    const decision = chosen(route({ strategy: 'latency-optimized', candidates }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates.find((c) => c.gateway === ADYEN)!.reason).toBe('cold start: 3 calls');
  });

  it('treats a cold-start gateway as fast as the best, not the median, of several known ones', () => {
    const candidates = [
      gw('STRIPE', { stats: warm(0.99, 100) }),
      gw('PAYPAL', { stats: warm(0.99, 300) }),
      gw(ADYEN, { stats: cold(0) }),
    ];
    const decision = chosen(route({ strategy: 'latency-optimized', candidates }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates.map((c) => c.score)).toEqual([1, 0, 1]);
  });

  it('judges a gateway by its real latency once it has coldStartVolume calls', () => {
    const candidates = [gw('STRIPE', { stats: warm(0.99, 100) }), gw(ADYEN, { stats: warm(0.99, 400, 20) })];
    expect(pick({ strategy: 'latency-optimized', candidates })).toBe('STRIPE');
    expect(pick({ strategy: 'latency-optimized', candidates, coldStartVolume: 21 })).toBe('ADYEN');
  });
});

describe('success-rate routing', () => {
  it('picks the highest success rate', () => {
    const candidates = [
      gw('STRIPE', { stats: warm(0.91, 100) }),
      gw('PAYPAL', { stats: warm(0.98, 900) }),
      gw(ADYEN, { stats: warm(0.95, 100) }),
    ];
    const decision = chosen(route({ strategy: 'success-rate', candidates }));
    expect(decision.gateway).toBe('PAYPAL');
    expect(decision.reason).toBe('success-rate: PAYPAL success rate 98% vs ADYEN success rate 95%');
  });

  it('ranks by the summary success rate, in which declines count as successes, not by raw successes', () => {
    const failing: GatewayStatsSummary = { ...warm(0.7, 100), successes: 70, failures: 30 };
    const healthy: GatewayStatsSummary = { ...warm(0.9, 100), successes: 60, declines: 30, failures: 10 };
    expect(
      pick({
        strategy: 'success-rate',
        candidates: [gw('STRIPE', { stats: failing }), gw('PAYPAL', { stats: healthy })],
      }),
    ).toBe('PAYPAL');
  });

  it('gives a cold-start gateway an optimistic 100% so it gets traffic', () => {
    const candidates = [gw('STRIPE', { stats: warm(0.99, 100) }), gw(ADYEN, { stats: cold(5, 0.2) })];
    const decision = chosen(route({ strategy: 'success-rate', candidates }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.reason).toBe(
      'success-rate: ADYEN success rate unmeasured (cold start) vs STRIPE success rate 99%',
    );
  });

  it('prefers a cold-start gateway over a perfect known one on the tie', () => {
    const candidates = [gw('STRIPE', { stats: warm(1, 100) }), gw(ADYEN, { stats: cold(0) })];
    expect(pick({ strategy: 'success-rate', candidates })).toBe('ADYEN');
  });

  it('judges a former cold-start gateway by its real rate after coldStartVolume calls', () => {
    const candidates = [gw('STRIPE', { stats: warm(0.99, 100) }), gw(ADYEN, { stats: warm(0.5, 100, 20) })];
    expect(pick({ strategy: 'success-rate', candidates })).toBe('STRIPE');
    expect(pick({ strategy: 'success-rate', candidates, coldStartVolume: 50 })).toBe('ADYEN');
  });
});

describe('round-robin routing', () => {
  it('cycles through the eligible gateways in registration order', () => {
    const candidates = [gw('STRIPE'), gw('PAYPAL'), gw(ADYEN)];
    const picks = [0, 1, 2, 3, 4, 5].map((n) =>
      pick({ strategy: 'round-robin', candidates, roundRobinCounter: n }),
    );
    expect(picks).toEqual(['STRIPE', 'PAYPAL', 'ADYEN', 'STRIPE', 'PAYPAL', 'ADYEN']);
  });

  it('skips gateways that are not eligible', () => {
    const candidates = [gw('STRIPE'), gw('PAYPAL', { breaker: 'OPEN', available: false }), gw(ADYEN)];
    const picks = [0, 1, 2, 3].map((n) =>
      pick({ strategy: 'round-robin', candidates, roundRobinCounter: n }),
    );
    expect(picks).toEqual(['STRIPE', 'ADYEN', 'STRIPE', 'ADYEN']);
  });

  it('ignores statistics and names the turn in the reason', () => {
    const candidates = [gw('STRIPE', { stats: warm(0.1, 5000) }), gw('PAYPAL', { stats: warm(1, 10) })];
    const decision = chosen(route({ strategy: 'round-robin', candidates, roundRobinCounter: 2 }));
    expect(decision.gateway).toBe('STRIPE');
    expect(decision.reason).toBe('round-robin: STRIPE takes turn 1 of 2');
  });
});

describe('intelligent routing', () => {
  // STRIPE: reliable but slow and dear. ADYEN: fast and cheap, less reliable.
  const candidates = [
    gw('STRIPE', { stats: warm(0.99, 300), cost: { fixed: 30, percentage: 2.9 } }),
    gw(ADYEN, { stats: warm(0.9, 100), cost: { fixed: 10, percentage: 2 } }),
  ];

  it('scores success rate, latency and cost with the default 0.5 / 0.3 / 0.2 weights', () => {
    const decision = chosen(route({ strategy: 'intelligent', candidates }));
    // STRIPE 0.5 * 0.99 = 0.495; ADYEN 0.5 * 0.9 + 0.3 * 1 + 0.2 * 1 = 0.95.
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates.map((c) => c.score)).toEqual([0.495, 0.95]);
    expect(decision.reason).toBe('intelligent: ADYEN score 0.95 vs STRIPE score 0.5');
  });

  it('uses the default weights when none are given', () => {
    expect(DEFAULT_ROUTING_WEIGHTS).toEqual({ successRate: 0.5, latency: 0.3, cost: 0.2 });
    expect(chosen(route({ candidates, weights: DEFAULT_ROUTING_WEIGHTS })).candidates).toEqual(
      chosen(route({ candidates })).candidates,
    );
  });

  it('lets the weights change the winner', () => {
    expect(pick({ candidates, weights: { successRate: 1, latency: 0, cost: 0 } })).toBe('STRIPE');
    expect(pick({ candidates, weights: { successRate: 0, latency: 0, cost: 1 } })).toBe('ADYEN');
  });

  it('normalizes the weights so scores stay between 0 and 1', () => {
    const decision = chosen(route({ candidates, weights: { successRate: 5, latency: 3, cost: 2 } }));
    expect(decision.candidates.map((c) => c.score)).toEqual([0.495, 0.95]);
  });

  it('normalizes latency and cost min-max across the eligible gateways', () => {
    const three = [
      gw('STRIPE', { stats: warm(0.9, 100) }),
      gw('PAYPAL', { stats: warm(0.9, 200) }),
      gw(ADYEN, { stats: warm(0.9, 300) }),
    ];
    // Latency terms 1, 0.5, 0; no costs, so the cost term is 1 for all.
    expect(chosen(route({ candidates: three })).candidates.map((c) => c.score)).toEqual([0.95, 0.8, 0.65]);
  });

  it('ignores ineligible gateways when normalizing', () => {
    const three = [
      gw('STRIPE', { stats: warm(0.9, 100), breaker: 'OPEN', available: false }),
      gw('PAYPAL', { stats: warm(0.9, 200) }),
      gw(ADYEN, { stats: warm(0.9, 300) }),
    ];
    expect(chosen(route({ candidates: three })).candidates.map((c) => c.score)).toEqual([0, 0.95, 0.65]);
  });

  it('gives a cold-start gateway a 100% success rate and the median latency so it gets traffic', () => {
    const withNew = [gw('STRIPE', { stats: warm(0.95, 200) }), gw(ADYEN, { stats: cold(2, 0) })];
    const decision = chosen(route({ candidates: withNew }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates.map((c) => c.score)).toEqual([0.975, 1]);
  });

  it('places a cold-start gateway at the median latency of the known ones', () => {
    const withNew = [
      gw('STRIPE', { stats: warm(0.9, 100) }),
      gw('PAYPAL', { stats: warm(0.9, 300) }),
      gw(ADYEN, { stats: cold(0) }),
    ];
    // ADYEN: 0.5 * 1 + 0.3 * 0.5 + 0.2 = 0.85.
    expect(chosen(route({ candidates: withNew })).candidates.map((c) => c.score)).toEqual([0.95, 0.65, 0.85]);
  });

  it('judges a gateway by its real numbers once it has coldStartVolume calls', () => {
    const withNew = [gw('STRIPE', { stats: warm(0.95, 200) }), gw(ADYEN, { stats: warm(0.5, 200, 25) })];
    expect(pick({ candidates: withNew })).toBe('STRIPE');
    expect(pick({ candidates: withNew, coldStartVolume: 30 })).toBe('ADYEN');
  });
});

describe('eligibility', () => {
  it('never chooses a gateway that cannot take the currency or method, and says why', () => {
    const candidates = [
      gw('STRIPE', { stats: warm(1, 10), capable: false }),
      gw('PAYPAL', { stats: warm(0.5, 900) }),
    ];
    const decision = chosen(
      route({ candidates }, { amount: { amount: 500, currency: 'EUR' }, method: 'UPI' }),
    );
    expect(decision.gateway).toBe('PAYPAL');
    expect(decision.candidates[0]).toEqual({
      gateway: 'STRIPE',
      score: 0,
      breaker: 'CLOSED',
      eligible: false,
      reason: 'cannot take EUR UPI',
    });
  });

  it('removes a gateway whose breaker is OPEN', () => {
    const candidates = [
      gw('STRIPE', { stats: warm(1, 10), breaker: 'OPEN', available: false }),
      gw('PAYPAL'),
    ];
    const decision = chosen(route({ candidates }));
    expect(decision.gateway).toBe('PAYPAL');
    expect(decision.candidates[0]).toMatchObject({
      breaker: 'OPEN',
      eligible: false,
      score: 0,
      reason: 'breaker OPEN',
    });
  });

  it('keeps a HALF_OPEN gateway while it has a probe slot and removes it once the slots are taken', () => {
    const best = { stats: warm(1, 10), breaker: 'HALF_OPEN' as const };
    expect(pick({ candidates: [gw('STRIPE', { ...best, available: true }), gw('PAYPAL')] })).toBe('STRIPE');
    const decision = chosen(
      route({ candidates: [gw('STRIPE', { ...best, available: false }), gw('PAYPAL')] }),
    );
    expect(decision.gateway).toBe('PAYPAL');
    expect(decision.candidates[0]!.reason).toBe('breaker HALF_OPEN, probe limit reached');
  });

  it('skips gateways this payment already failed over from', () => {
    const candidates = [gw('STRIPE', { stats: warm(1, 10) }), gw('PAYPAL'), gw(ADYEN)];
    expect(pick({ candidates, exclude: ['STRIPE'] })).toBe('PAYPAL');
    const decision = chosen(route({ candidates, exclude: ['STRIPE', 'PAYPAL'] }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.candidates[1]).toMatchObject({
      eligible: false,
      reason: 'already tried for this payment',
    });
  });

  it('lists every registered gateway in order, with score, breaker state, eligibility and reason', () => {
    const candidates = [
      gw('STRIPE', { capable: false }),
      gw('PAYPAL', { breaker: 'OPEN', available: false }),
      gw(ADYEN, { stats: cold(4) }),
      gw('MOCK'),
    ];
    expect(chosen(route({ candidates })).candidates).toEqual([
      { gateway: 'STRIPE', score: 0, breaker: 'CLOSED', eligible: false, reason: 'cannot take USD CARD' },
      { gateway: 'PAYPAL', score: 0, breaker: 'OPEN', eligible: false, reason: 'breaker OPEN' },
      { gateway: ADYEN, score: 1, breaker: 'CLOSED', eligible: true, reason: 'cold start: 4 calls' },
      { gateway: 'MOCK', score: 0.975, breaker: 'CLOSED', eligible: true },
    ]);
  });

  it('fails with NO_GATEWAY_AVAILABLE naming each gateway and why when none is eligible', () => {
    const candidates = [
      gw('STRIPE', { capable: false }),
      gw('PAYPAL', { breaker: 'OPEN', available: false }),
      gw(ADYEN),
    ];
    const error = failed(route({ candidates, exclude: [ADYEN] }));
    expect(error.error).toBe('NO_GATEWAY_AVAILABLE');
    expect(error.message).toBe(
      'No gateway can take this USD CARD payment now (STRIPE: cannot take USD CARD; PAYPAL: breaker OPEN; ADYEN: already tried for this payment)',
    );
    expect(error.candidates.map((c) => c.eligible)).toEqual([false, false, false]);
  });

  it('fails with NO_GATEWAY_AVAILABLE when no gateway is registered', () => {
    const error = failed(route({ candidates: [] }));
    expect(error).toEqual({
      error: 'NO_GATEWAY_AVAILABLE',
      message: 'No gateway is registered on this worker',
      candidates: [],
    });
  });

  it('never chooses an ineligible gateway, for any strategy and inputs (property)', () => {
    const gateways: GatewayType[] = ['MOCK', 'STRIPE', 'PAYPAL', ADYEN];
    const candidate = fc.record({
      capable: fc.boolean(),
      breaker: fc.constantFrom('CLOSED' as const, 'OPEN' as const, 'HALF_OPEN' as const),
      available: fc.boolean(),
      rate: fc.double({ min: 0, max: 1, noNaN: true }),
      p50: fc.integer({ min: 1, max: 5000 }),
      calls: fc.integer({ min: 0, max: 200 }),
      cost: fc.option(
        fc.record({
          fixed: fc.integer({ min: 0, max: 100 }),
          percentage: fc.double({ min: 0, max: 5, noNaN: true }),
        }),
        { nil: undefined },
      ),
    });
    fc.assert(
      fc.property(
        fc.constantFrom(
          'cost-optimized' as const,
          'latency-optimized' as const,
          'intelligent' as const,
          'success-rate' as const,
          'round-robin' as const,
        ),
        fc.array(candidate, { minLength: 0, maxLength: 5 }),
        fc.subarray(gateways),
        fc.nat(),
        (strategy, specs, exclude, roundRobinCounter) => {
          const candidates = specs.map((s, i) =>
            gw(gateways[i]!, {
              capable: s.capable,
              breaker: s.breaker,
              available: s.available,
              stats: warm(s.rate, s.p50, s.calls),
              ...(s.cost ? { cost: s.cost } : {}),
            }),
          );
          const result = route({ strategy, candidates, exclude, roundRobinCounter });
          const ok = candidates.filter((c) => c.capable && c.available && !exclude.includes(c.gateway));
          if (ok.length === 0) {
            expect(failed(result).error).toBe('NO_GATEWAY_AVAILABLE');
          } else {
            expect(ok.map((c) => c.gateway)).toContain(chosen(result).gateway);
          }
          expect(route({ strategy, candidates, exclude, roundRobinCounter })).toEqual(result);
        },
      ),
    );
  });
});

describe('pinned gateway', () => {
  const candidates = [gw('STRIPE', { stats: warm(0.5, 900) }), gw(ADYEN, { stats: warm(1, 10) })];

  it('uses the pinned gateway when it is eligible, over the strategy and the rules', () => {
    const rules: DeclarativeRule[] = [{ name: 'all', priority: 1000, when: {}, gateway: ADYEN }];
    const decision = chosen(route({ candidates, rules, pinned: 'STRIPE' }));
    expect(decision).toMatchObject({ gateway: 'STRIPE', strategy: 'pinned', reason: 'pinned to STRIPE' });
  });

  it('fails with NO_GATEWAY_AVAILABLE and the reason when the pinned gateway is not eligible', () => {
    const open = [gw('STRIPE', { breaker: 'OPEN', available: false }), gw(ADYEN)];
    expect(failed(route({ candidates: open, pinned: 'STRIPE' }))).toMatchObject({
      error: 'NO_GATEWAY_AVAILABLE',
      message: 'Pinned gateway STRIPE: breaker OPEN',
    });
    expect(failed(route({ candidates, pinned: 'STRIPE', exclude: ['STRIPE'] })).message).toBe(
      'Pinned gateway STRIPE: already tried for this payment',
    );
  });

  it('fails with GATEWAY_NOT_REGISTERED when the pinned gateway is not registered', () => {
    const error = failed(route({ candidates, pinned: 'PAYPAL' }));
    expect(error).toMatchObject({
      error: 'GATEWAY_NOT_REGISTERED',
      message: 'Gateway PAYPAL is not registered on this worker',
    });
    expect(error.candidates.map((c) => c.gateway)).toEqual(['STRIPE', 'ADYEN']);
  });
});

describe('declarative rules', () => {
  // The strategy alone would pick MOCK: it is the fastest and most reliable.
  const candidates = [gw('MOCK', { stats: warm(1, 10) }), gw('STRIPE'), gw(ADYEN), gw('PAYPAL')];
  const ruleTo = (gateway: GatewayType, when: DeclarativeRule['when'], priority = 10, name?: string) => ({
    ...(name ? { name } : {}),
    priority,
    when,
    gateway,
  });

  it('leaves the choice to the strategy when no rule matches', () => {
    const decision = chosen(route({ candidates, rules: [ruleTo('STRIPE', { currencies: ['EUR'] })] }));
    expect(decision).toMatchObject({ gateway: 'MOCK', strategy: 'intelligent' });
  });

  it('matches amounts between minAmount and maxAmount inclusive', () => {
    const rules = [ruleTo('STRIPE', { minAmount: 1000, maxAmount: 5000 })];
    const at = (amount: number) => pick({ candidates, rules }, { amount: { amount, currency: 'USD' } });
    expect([999, 1000, 5000, 5001].map(at)).toEqual(['MOCK', 'STRIPE', 'STRIPE', 'MOCK']);
  });

  it('matches by currency', () => {
    const rules = [ruleTo(ADYEN, { currencies: ['EUR', 'GBP'] })];
    expect(pick({ candidates, rules }, { amount: { amount: 100, currency: 'EUR' } })).toBe('ADYEN');
    expect(pick({ candidates, rules }, { amount: { amount: 100, currency: 'USD' } })).toBe('MOCK');
  });

  it('matches by method', () => {
    const rules = [ruleTo('PAYPAL', { methods: ['WALLET'] })];
    expect(pick({ candidates, rules }, { method: 'WALLET' })).toBe('PAYPAL');
    expect(pick({ candidates, rules }, { method: 'CARD' })).toBe('MOCK');
  });

  it("matches by the payment's country, ignoring case, and never when the country is unknown", () => {
    const rules = [ruleTo(ADYEN, { countries: ['DE', 'fr'] })];
    expect(pick({ candidates, rules }, { country: 'de' })).toBe('ADYEN');
    expect(pick({ candidates, rules }, { country: 'FR' })).toBe('ADYEN');
    expect(pick({ candidates, rules }, { country: 'US' })).toBe('MOCK');
    expect(pick({ candidates, rules }, { country: undefined })).toBe('MOCK');
  });

  it('matches metadata only when every listed entry is equal, type included', () => {
    const rules = [ruleTo('STRIPE', { metadata: { tier: 'gold', level: 1 } })];
    expect(pick({ candidates, rules }, { metadata: { tier: 'gold', level: 1, other: true } })).toBe('STRIPE');
    expect(pick({ candidates, rules }, { metadata: { tier: 'gold' } })).toBe('MOCK');
    expect(pick({ candidates, rules }, { metadata: { tier: 'gold', level: '1' } })).toBe('MOCK');
  });

  it('requires every condition of a rule to hold', () => {
    const rules = [ruleTo(ADYEN, { currencies: ['EUR'], countries: ['DE'], minAmount: 100 })];
    const eur = { amount: { amount: 500, currency: 'EUR' as const } };
    expect(pick({ candidates, rules }, { ...eur, country: 'DE' })).toBe('ADYEN');
    expect(pick({ candidates, rules }, { ...eur, country: 'AT' })).toBe('MOCK');
    expect(pick({ candidates, rules }, { amount: { amount: 50, currency: 'EUR' }, country: 'DE' })).toBe(
      'MOCK',
    );
  });

  it('applies the highest-priority matching rule, whatever the list order', () => {
    const rules = [
      ruleTo('STRIPE', { currencies: ['EUR'] }, 10, 'eur-to-stripe'),
      ruleTo(ADYEN, { countries: ['DE'] }, 100, 'eu-to-adyen'),
    ];
    const decision = chosen(
      route({ candidates, rules }, { amount: { amount: 500, currency: 'EUR' }, country: 'DE' }),
    );
    expect(decision).toMatchObject({
      gateway: ADYEN,
      strategy: 'rule',
      reason: "rule 'eu-to-adyen' (priority 100) matched",
    });
    expect(pick({ candidates, rules }, { amount: { amount: 500, currency: 'EUR' }, country: 'US' })).toBe(
      'STRIPE',
    );
  });

  it('keeps list order between rules of equal priority', () => {
    const rules = [ruleTo('PAYPAL', {}, 5), ruleTo('STRIPE', {}, 5)];
    expect(pick({ candidates, rules })).toBe('PAYPAL');
  });

  it('skips a rule whose gateway is not eligible, says so, and applies the next one', () => {
    const withOpen = [
      gw('MOCK', { stats: warm(1, 10) }),
      gw('STRIPE', { breaker: 'OPEN', available: false }),
      gw(ADYEN),
    ];
    const rules = [ruleTo('STRIPE', {}, 100, 'premium'), ruleTo(ADYEN, {}, 50, 'fallback')];
    const decision = chosen(route({ candidates: withOpen, rules }));
    expect(decision.gateway).toBe('ADYEN');
    expect(decision.reason).toBe(
      "rule 'fallback' (priority 50) matched; rule 'premium' (priority 100) skipped: STRIPE breaker OPEN",
    );
  });

  it('falls through to the strategy when every matching rule points at an ineligible gateway', () => {
    const rules = [ruleTo('RAZORPAY' as GatewayType, {}, 100), ruleTo('STRIPE', {}, 90)];
    const decision = chosen(route({ candidates, rules, exclude: ['STRIPE'] }));
    expect(decision.gateway).toBe('MOCK');
    expect(decision.strategy).toBe('intelligent');
    expect(decision.reason).toMatch(
      /^intelligent: MOCK score 1 vs .*; rule to RAZORPAY \(priority 100\) skipped: RAZORPAY is not registered; rule to STRIPE \(priority 90\) skipped: STRIPE already tried for this payment$/,
    );
  });
});

describe('function rules', () => {
  const candidates = [gw('MOCK', { stats: warm(1, 10) }), gw('STRIPE'), gw(ADYEN)];
  // The deployment guide's example: high-value payments to a premium gateway.
  const highValue: FunctionRule = {
    name: 'high-value',
    priority: 100,
    condition: (ctx) => ctx.amount.amount > 100_000,
    gateway: 'STRIPE',
  };

  it('routes by a condition written as code', () => {
    expect(
      pick({ candidates, functionRules: [highValue] }, { amount: { amount: 100_001, currency: 'USD' } }),
    ).toBe('STRIPE');
    expect(
      pick({ candidates, functionRules: [highValue] }, { amount: { amount: 100_000, currency: 'USD' } }),
    ).toBe('MOCK');
  });

  it('competes with declarative rules by priority', () => {
    const big = { amount: { amount: 200_000, currency: 'USD' as const } };
    const low: DeclarativeRule = {
      name: 'usd',
      priority: 50,
      when: { currencies: ['USD'] },
      gateway: ADYEN,
    };
    const high: DeclarativeRule = { ...low, priority: 150 };
    expect(pick({ candidates, rules: [low], functionRules: [highValue] }, big)).toBe('STRIPE');
    expect(pick({ candidates, rules: [high], functionRules: [highValue] }, big)).toBe('ADYEN');
  });

  it('puts declarative rules before function rules of equal priority', () => {
    const declarative: DeclarativeRule = { priority: 100, when: {}, gateway: ADYEN };
    const big = { amount: { amount: 200_000, currency: 'USD' as const } };
    expect(pick({ candidates, rules: [declarative], functionRules: [highValue] }, big)).toBe('ADYEN');
  });

  it('skips a rule whose condition throws, and says so', () => {
    const broken: FunctionRule = {
      name: 'broken',
      priority: 200,
      condition: () => {
        throw new Error('boom');
      },
      gateway: ADYEN,
    };
    const decision = chosen(
      route(
        { candidates, functionRules: [broken, highValue] },
        { amount: { amount: 200_000, currency: 'USD' } },
      ),
    );
    expect(decision.gateway).toBe('STRIPE');
    expect(decision.reason).toBe(
      "rule 'high-value' (priority 100) matched; rule 'broken' (priority 200) skipped: its condition threw (boom)",
    );
  });
});

describe('routingConfigSchema', () => {
  it('fills every default from an empty config', () => {
    expect(routingConfigSchema.parse({})).toEqual({
      strategy: 'intelligent',
      weights: { successRate: 0.5, latency: 0.3, cost: 0.2 },
      rules: [],
      costs: {},
      coldStartVolume: 20,
    });
  });

  it("accepts the deployment guide's routing config and a full one", () => {
    expect(routingConfigSchema.parse({ strategy: 'intelligent' }).strategy).toBe('intelligent');
    const full = routingConfigSchema.parse({
      strategy: 'cost-optimized',
      weights: { successRate: 1, latency: 0, cost: 0 },
      rules: [
        { name: 'eu', priority: 100, when: { countries: ['de'], currencies: ['EUR'] }, gateway: 'PAYPAL' },
      ],
      costs: { STRIPE: { fixed: 30, percentage: 2.9 } },
      coldStartVolume: 5,
    });
    expect(full.rules[0]!.when.countries).toEqual(['DE']);
    expect(full.costs.STRIPE).toEqual({ fixed: 30, percentage: 2.9 });
  });

  it('reports every bad field at once, with its path', () => {
    const result = routingConfigSchema.safeParse({
      strategy: 'cheapest',
      weights: { successRate: -1, latency: 0, cost: 0 },
      rules: [
        {
          priority: 1.5,
          when: { currencies: ['XYZ'], countries: ['DEU'], methods: ['CHEQUE'] },
          gateway: 'NOPE',
        },
        { priority: 1, when: { minAmount: 500, maxAmount: 100 }, gateway: 'STRIPE' },
      ],
      costs: { STRIPE: { fixed: -1, percentage: 101 }, UNKNOWN: { fixed: 0, percentage: 0 } },
      coldStartVolume: -3,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => i.path.join('.'));
    expect(paths).toEqual(
      expect.arrayContaining([
        'strategy',
        'weights.successRate',
        'rules.0.priority',
        'rules.0.when.currencies.0',
        'rules.0.when.countries.0',
        'rules.0.when.methods.0',
        'rules.0.gateway',
        'rules.1.when.maxAmount',
        'costs.STRIPE.fixed',
        'costs.STRIPE.percentage',
        'coldStartVolume',
      ]),
    );
  });

  it('rejects weights that are all zero', () => {
    const result = routingConfigSchema.safeParse({ weights: { successRate: 0, latency: 0, cost: 0 } });
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.message).toBe('at least one weight must be positive');
  });
});
