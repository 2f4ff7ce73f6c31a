import fc from 'fast-check';
import {
  CircuitBreaker,
  DEFAULT_CIRCUIT_BREAKER,
  circuitBreakerConfigSchema,
  type BreakerTransition,
  type CircuitBreakerConfig,
} from '../../src/activities/circuit-breaker';

/** A breaker on a hand-driven clock, with its reported transitions. */
function setup(overrides: Partial<CircuitBreakerConfig> = {}) {
  let now = 1_000_000;
  const transitions: BreakerTransition[] = [];
  const config = { ...DEFAULT_CIRCUIT_BREAKER, ...overrides };
  const breaker = new CircuitBreaker(
    'STRIPE',
    config,
    () => now,
    (t) => transitions.push(t),
  );
  return {
    breaker,
    transitions,
    advance: (ms: number) => {
      now += ms;
    },
    now: () => now,
    fail: (n: number) => {
      for (let i = 0; i < n; i++) breaker.recordFailure();
    },
    succeed: (n: number) => {
      for (let i = 0; i < n; i++) breaker.recordSuccess(100);
    },
  };
}

describe('CircuitBreaker', () => {
  it("has the deployment guide's defaults", () => {
    expect(DEFAULT_CIRCUIT_BREAKER).toEqual({
      failureThreshold: 5,
      resetTimeoutMs: 60_000,
      monitorWindowMs: 120_000,
      failureRateThreshold: 0.5,
      minimumVolume: 10,
      halfOpenMaxProbes: 1,
    });
  });

  it('starts CLOSED and lets calls through', () => {
    const { breaker } = setup();
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('opens after failureThreshold consecutive failures, not one before', () => {
    const { breaker, fail } = setup({ failureThreshold: 3, failureRateThreshold: undefined });
    fail(2);
    expect(breaker.state).toBe('CLOSED');
    fail(1);
    expect(breaker.state).toBe('OPEN');
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('resets the consecutive count on a success', () => {
    const { breaker, fail, succeed } = setup({ failureThreshold: 3, failureRateThreshold: undefined });
    fail(2);
    succeed(1);
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
    fail(2);
    expect(breaker.state).toBe('CLOSED');
    fail(1);
    expect(breaker.state).toBe('OPEN');
  });

  it('counts a released call (a decline) as a success that resets the consecutive count', () => {
    const { breaker, fail } = setup({ failureThreshold: 3, failureRateThreshold: undefined });
    fail(2);
    breaker.release();
    fail(2);
    expect(breaker.state).toBe('CLOSED');
    expect(breaker.snapshot()).toMatchObject({ windowCalls: 5, windowFailures: 4 });
  });

  it('opens when the failure rate in the window exceeds the threshold once the minimum volume is reached', () => {
    const { breaker, fail, succeed } = setup({
      failureThreshold: 100,
      failureRateThreshold: 0.5,
      minimumVolume: 10,
    });
    // Alternating keeps consecutive failures low: only the rate can open it.
    for (let i = 0; i < 4; i++) {
      fail(1);
      succeed(1);
    }
    fail(1); // 9 calls, 5 failures: above 50% but below the minimum volume
    expect(breaker.state).toBe('CLOSED');
    fail(1); // 10 calls, 6 failures
    expect(breaker.state).toBe('OPEN');
  });

  it('stays closed at exactly the failure-rate threshold', () => {
    const { breaker, fail, succeed } = setup({
      failureThreshold: 100,
      failureRateThreshold: 0.5,
      minimumVolume: 10,
    });
    succeed(5);
    fail(5);
    expect(breaker.snapshot()).toMatchObject({ windowCalls: 10, windowFailures: 5, failureRate: 0.5 });
    expect(breaker.state).toBe('CLOSED');
  });

  it('ignores the failure rate when no threshold is configured', () => {
    const { breaker, fail, succeed } = setup({ failureThreshold: 100, failureRateThreshold: undefined });
    for (let i = 0; i < 20; i++) {
      fail(2);
      succeed(1);
    }
    expect(breaker.state).toBe('CLOSED');
  });

  it('forgets failures older than the monitor window', () => {
    const { breaker, fail, succeed, advance } = setup({
      failureThreshold: 100,
      failureRateThreshold: 0.5,
      minimumVolume: 10,
      monitorWindowMs: 10_000,
    });
    fail(5);
    succeed(1);
    advance(11_000); // the window plus one one-second bucket has passed
    expect(breaker.snapshot()).toMatchObject({ windowCalls: 0, windowFailures: 0 });
    succeed(5);
    fail(4);
    // 15 calls, 9 failures in all (60%), but the window holds 9 calls with 4 failures.
    expect(breaker.snapshot()).toMatchObject({ windowCalls: 9, windowFailures: 4 });
    expect(breaker.state).toBe('CLOSED');
  });

  it('keeps outcomes that are still inside the monitor window', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 100, monitorWindowMs: 10_000 });
    fail(3);
    advance(9_999);
    expect(breaker.snapshot()).toMatchObject({ windowCalls: 3, windowFailures: 3 });
  });

  it('refuses calls while OPEN until resetTimeoutMs has passed, then lets one probe through', () => {
    const { breaker, fail, advance, now } = setup({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    fail(1);
    const openedAt = now();
    expect(breaker.snapshot()).toMatchObject({ state: 'OPEN', openedAt, nextProbeAt: openedAt + 60_000 });
    advance(59_999);
    expect(breaker.tryAcquire()).toBe(false);
    expect(breaker.state).toBe('OPEN');
    advance(1);
    expect(breaker.state).toBe('HALF_OPEN');
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(false);
  });

  it('allows halfOpenMaxProbes probes in flight at once', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 1, halfOpenMaxProbes: 3 });
    fail(1);
    advance(60_000);
    expect([1, 2, 3, 4].map(() => breaker.tryAcquire())).toEqual([true, true, true, false]);
  });

  it('reports availability through canAcquire without taking a probe slot', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 1 });
    fail(1);
    expect(breaker.canAcquire()).toBe(false);
    advance(60_000);
    expect(breaker.canAcquire()).toBe(true);
    expect(breaker.canAcquire()).toBe(true);
    expect(breaker.tryAcquire()).toBe(true);
    expect(breaker.canAcquire()).toBe(false);
  });

  it('closes on a successful probe and resets its counters', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 2 });
    fail(2);
    advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    breaker.recordSuccess(120);
    expect(breaker.snapshot()).toEqual({
      state: 'CLOSED',
      consecutiveFailures: 0,
      windowCalls: 1,
      windowFailures: 0,
      failureRate: 0,
    });
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('closes when a probe ends in a decline (release): the gateway answered', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 1 });
    fail(1);
    advance(60_000);
    breaker.tryAcquire();
    breaker.release();
    expect(breaker.state).toBe('CLOSED');
  });

  it('re-opens on a failed probe with a new reset timer', () => {
    const { breaker, fail, advance, now } = setup({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    fail(1);
    advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    advance(5_000);
    breaker.recordFailure();
    expect(breaker.snapshot()).toMatchObject({ state: 'OPEN', openedAt: now(), nextProbeAt: now() + 60_000 });
    advance(59_999);
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('frees the slot of a probe whose verdict never came after resetTimeoutMs', () => {
    const { breaker, fail, advance } = setup({ failureThreshold: 1, resetTimeoutMs: 60_000 });
    fail(1);
    advance(60_000);
    expect(breaker.tryAcquire()).toBe(true);
    advance(59_999);
    expect(breaker.tryAcquire()).toBe(false);
    advance(1);
    expect(breaker.tryAcquire()).toBe(true);
  });

  it('does not close or re-open from late results while OPEN', () => {
    const { breaker, fail, succeed } = setup({ failureThreshold: 1 });
    fail(1);
    succeed(3);
    expect(breaker.state).toBe('OPEN');
    fail(1);
    expect(breaker.state).toBe('OPEN');
  });

  it('reports every transition with its gateway, time and reason', () => {
    const { breaker, transitions, fail, advance, now } = setup({ failureThreshold: 2, resetTimeoutMs: 1000 });
    fail(2);
    const t0 = now();
    advance(1000);
    breaker.tryAcquire();
    breaker.recordFailure();
    advance(1000);
    breaker.tryAcquire();
    breaker.recordSuccess(80);
    expect(transitions).toEqual([
      { gateway: 'STRIPE', from: 'CLOSED', to: 'OPEN', at: t0, reason: '2 consecutive failures' },
      {
        gateway: 'STRIPE',
        from: 'OPEN',
        to: 'HALF_OPEN',
        at: t0 + 1000,
        reason: 'reset timeout of 1000 ms elapsed',
      },
      { gateway: 'STRIPE', from: 'HALF_OPEN', to: 'OPEN', at: t0 + 1000, reason: 'probe failed' },
      {
        gateway: 'STRIPE',
        from: 'OPEN',
        to: 'HALF_OPEN',
        at: t0 + 2000,
        reason: 'reset timeout of 1000 ms elapsed',
      },
      { gateway: 'STRIPE', from: 'HALF_OPEN', to: 'CLOSED', at: t0 + 2000, reason: 'probe succeeded' },
    ]);
  });

  it('names the failure rate in the reason when the rate opens it', () => {
    const { transitions, fail, succeed } = setup({ failureThreshold: 100, minimumVolume: 4 });
    succeed(1);
    fail(3);
    expect(transitions.map((t) => t.reason)).toEqual(['failure rate 75% over 4 calls in the last 120000 ms']);
  });

  it('never lets a call through while OPEN before resetTimeoutMs has passed (property)', () => {
    const op = fc.oneof(
      fc.constant({ kind: 'fail' as const }),
      fc.constant({ kind: 'success' as const }),
      fc.constant({ kind: 'release' as const }),
      fc.constant({ kind: 'acquire' as const }),
      fc.integer({ min: 0, max: 3000 }).map((ms) => ({ kind: 'advance' as const, ms })),
    );
    fc.assert(
      fc.property(
        fc.record({
          failureThreshold: fc.integer({ min: 1, max: 5 }),
          resetTimeoutMs: fc.integer({ min: 1, max: 5000 }),
          halfOpenMaxProbes: fc.integer({ min: 1, max: 3 }),
          minimumVolume: fc.integer({ min: 1, max: 10 }),
        }),
        fc.array(op, { maxLength: 200 }),
        (config, ops) => {
          const { breaker, transitions, advance, now } = setup(config);
          // When it last opened, from the reported transitions rather than the breaker's own fields.
          const openSince = () =>
            transitions.reduce<number | undefined>(
              (at, t) => (t.to === 'OPEN' ? t.at : t.to === 'CLOSED' ? undefined : at),
              undefined,
            );
          let probes: number[] = [];
          for (const o of ops) {
            if (o.kind === 'advance') advance(o.ms);
            else if (o.kind === 'fail') breaker.recordFailure();
            else if (o.kind === 'success') breaker.recordSuccess(10);
            else if (o.kind === 'release') breaker.release();
            else if (breaker.tryAcquire()) {
              const opened = openSince();
              if (opened !== undefined) expect(now() - opened).toBeGreaterThanOrEqual(config.resetTimeoutMs);
              if (breaker.state === 'HALF_OPEN') probes.push(now());
            }
            // Probes without a verdict for resetTimeoutMs are presumed lost and free their slot.
            probes =
              breaker.state === 'HALF_OPEN' ? probes.filter((at) => at > now() - config.resetTimeoutMs) : [];
            expect(probes.length).toBeLessThanOrEqual(config.halfOpenMaxProbes);
          }
        },
      ),
    );
  });
});

describe('circuitBreakerConfigSchema', () => {
  it("accepts the deployment guide's config and fills the rest with the defaults", () => {
    expect(
      circuitBreakerConfigSchema.parse({
        failureThreshold: 5,
        resetTimeoutMs: 60000,
        monitorWindowMs: 120000,
      }),
    ).toEqual(DEFAULT_CIRCUIT_BREAKER);
  });

  it('reports every bad field at once', () => {
    const result = circuitBreakerConfigSchema.safeParse({
      failureThreshold: 0,
      resetTimeoutMs: -1,
      failureRateThreshold: 1.5,
      halfOpenMaxProbes: 0.5,
      typo: true,
    });
    expect(result.success).toBe(false);
    const paths = result.error!.issues.map((i) => (i.path.length ? i.path.join('.') : i.message));
    expect(paths).toEqual(
      expect.arrayContaining([
        'failureThreshold',
        'resetTimeoutMs',
        'failureRateThreshold',
        'halfOpenMaxProbes',
      ]),
    );
    expect(result.error!.issues.some((i) => i.code === 'unrecognized_keys')).toBe(true);
  });
});
