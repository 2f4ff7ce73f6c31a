import { AegisPay } from '../../src/embedded/aegis-pay';
import { aegisPayConfigSchema, paymentSettings, routerOptions, type AegisPayConfig } from '../../src/config';

/** The config of the deployment guide's example (see docs/migrating.md). */
const GUIDE_CONFIG = {
  logging: { level: 'INFO' },
  retry: { maxRetries: 3, initialDelayMs: 1000, maxDelayMs: 10000, backoffMultiplier: 2 },
  routing: { strategy: 'intelligent' },
  circuitBreaker: { failureThreshold: 5, resetTimeoutMs: 60_000, monitorWindowMs: 120_000 },
  events: { logToConsole: true },
} satisfies AegisPayConfig;

/** Runs `fn` and returns what it threw, or undefined. */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

function issuePaths(err: unknown): string[] {
  const issues = (err as { issues?: { path: string }[] }).issues;
  expect(Array.isArray(issues)).toBe(true);
  return issues!.map((i) => i.path);
}

describe('AegisPay config', () => {
  it("accepts the deployment guide's config", () => {
    expect(() => new AegisPay(GUIDE_CONFIG)).not.toThrow();
  });

  it("resolves the deployment guide's config with its retry values and the defaults for the rest", () => {
    const resolved = aegisPayConfigSchema.parse(GUIDE_CONFIG);
    expect(resolved.retry).toEqual({
      maxRetries: 3,
      initialDelayMs: 1000,
      maxDelayMs: 10000,
      backoffMultiplier: 2,
    });
    expect(resolved.logging).toEqual({ level: 'INFO' });
    expect(resolved.taskQueue).toBe('aegispay');
    expect(resolved.temporal).toEqual({ address: 'localhost:7233', namespace: 'default' });
    expect(resolved.routing).toEqual({
      strategy: 'intelligent',
      weights: { successRate: 0.5, latency: 0.3, cost: 0.2 },
      rules: [],
      costs: {},
      coldStartVolume: 20,
    });
    expect(resolved.events).toEqual({ logToConsole: true });
  });

  it('accepts no config at all', () => {
    expect(() => new AegisPay()).not.toThrow();
    expect(() => new AegisPay({})).not.toThrow();
  });

  it("accepts 'embedded' as the Temporal service", () => {
    expect(() => new AegisPay({ temporal: 'embedded', logging: { level: 'SILENT' } })).not.toThrow();
  });

  it('rejects a config with several bad fields with one ValidationError naming every bad path', () => {
    const bad = {
      temporal: { address: '' },
      taskQueue: '',
      merchantScope: 'shop:a',
      logging: { level: 'LOUD' },
      retry: { maxRetries: -1, backoffMultiplier: 0.5 },
      gatewayTimeoutMs: 0,
      circuitBreaker: { failureThreshold: 0 },
      riskCheck: { assess: 'score it', onError: 'maybe', timeoutMs: 60_000 },
      validate: true,
    };
    const err = thrownBy(() => new AegisPay(bad as unknown as AegisPayConfig));
    expect(err).toBeDefined();
    expect((err as { code?: unknown }).code).toBe('VALIDATION_ERROR');
    const paths = issuePaths(err);
    expect(paths).toEqual(
      expect.arrayContaining([
        'temporal.address',
        'taskQueue',
        'merchantScope',
        'logging.level',
        'retry.maxRetries',
        'retry.backoffMultiplier',
        'gatewayTimeoutMs',
        'circuitBreaker.failureThreshold',
        'riskCheck.assess',
        'riskCheck.onError',
        'riskCheck.timeoutMs',
        'validate',
      ]),
    );
    expect((err as Error).message).toMatch(/AegisPay config/);
    expect((err as Error).message).toContain('retry.maxRetries');
  });

  it('rejects unknown top-level and nested fields', () => {
    const err = thrownBy(
      () => new AegisPay({ bogus: true, retry: { maxRetry: 3 } } as unknown as AegisPayConfig),
    );
    expect((err as { code?: unknown }).code).toBe('VALIDATION_ERROR');
    const issues = (err as { issues: { path: string; message: string }[] }).issues;
    expect(issues).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: '', message: expect.stringContaining('bogus') }),
        expect.objectContaining({ path: 'retry', message: expect.stringContaining('maxRetry') }),
      ]),
    );
  });

  it.each<[string, unknown]>([
    ['retry.maxRetries', { retry: { maxRetries: 1.5 } }],
    ['retry.maxRetries', { retry: { maxRetries: 51 } }],
    ['retry.chargeAttemptsPerGateway', { retry: { chargeAttemptsPerGateway: 0 } }],
    ['retry.initialDelayMs', { retry: { initialDelayMs: 0 } }],
    ['retry.maxDelayMs', { retry: { maxDelayMs: '10s' } }],
    ['retry.backoffMultiplier', { retry: { backoffMultiplier: 11 } }],
    ['temporal.namespace', { temporal: { namespace: '' } }],
    ['tokenizer', { tokenizer: 'mock' }],
    ['refundWindowMs', { refundWindowMs: -1 }],
    ['pendingTimeoutMs', { pendingTimeoutMs: 31 * 24 * 60 * 60 * 1000 }],
    ['circuitBreaker.resetTimeoutMs', { circuitBreaker: { resetTimeoutMs: 0 } }],
  ])('names %s for the config %j', (path, config) => {
    const err = thrownBy(() => new AegisPay(config as AegisPayConfig));
    expect((err as { code?: unknown }).code).toBe('VALIDATION_ERROR');
    expect(issuePaths(err)).toContain(path);
  });

  // BUG (src/config.ts + connection.ts): `temporal` is a union ('embedded' | connection object) and
  // `temporal.tls` a nested union; any bad `tls` makes zod collapse every temporal.* issue into a single
  // `{ path: 'temporal', message: 'Invalid input' }`, so neither temporal.tls nor temporal.address is named.
  test('names temporal.tls and temporal.address when both are bad (nested union in temporal)', () => {
    const err = thrownBy(
      () => new AegisPay({ temporal: { address: '', tls: 'yes' } } as unknown as AegisPayConfig),
    );
    expect((err as { code?: unknown }).code).toBe('VALIDATION_ERROR');
    expect(issuePaths(err)).toEqual(expect.arrayContaining(['temporal.address', 'temporal.tls']));
  });

  it('bounds each request to Temporal by temporalTimeoutMs (10 s by default) and names a bad one', () => {
    expect(aegisPayConfigSchema.parse({}).temporalTimeoutMs).toBe(10_000);
    expect(aegisPayConfigSchema.parse({ temporalTimeoutMs: 2500 }).temporalTimeoutMs).toBe(2500);
    const err = thrownBy(() => new AegisPay({ temporalTimeoutMs: 0, gatewayTimeoutMs: -1 }));
    expect(issuePaths(err)).toEqual(expect.arrayContaining(['temporalTimeoutMs', 'gatewayTimeoutMs']));
  });

  it('fills defaults for missing retry fields', () => {
    const resolved = aegisPayConfigSchema.parse({ retry: { maxRetries: 5 } });
    expect(resolved.retry).toEqual({
      maxRetries: 5,
      initialDelayMs: 1000,
      maxDelayMs: 10_000,
      backoffMultiplier: 2,
    });
  });
});

describe('paymentSettings', () => {
  it("maps the deployment guide's retry config onto the activity retry policy (maxRetries 3 -> maximumAttempts 4)", () => {
    const settings = paymentSettings(aegisPayConfigSchema.parse(GUIDE_CONFIG));
    expect(settings.retry).toEqual({
      maximumAttempts: 4,
      initialIntervalMs: 1000,
      maximumIntervalMs: 10000,
      backoffCoefficient: 2,
    });
  });

  it('maps maxRetries 0 to a single attempt', () => {
    const settings = paymentSettings(aegisPayConfigSchema.parse({ retry: { maxRetries: 0 } }));
    expect(settings.retry.maximumAttempts).toBe(1);
  });

  it('caps charge attempts per gateway at maxRetries + 1 unless chargeAttemptsPerGateway says otherwise', () => {
    const byDefault = paymentSettings(aegisPayConfigSchema.parse({ retry: { maxRetries: 2 } }));
    expect(byDefault).toMatchObject({ retry: { maximumAttempts: 3 }, chargeAttemptsPerGateway: 3 });
    const own = paymentSettings(
      aegisPayConfigSchema.parse({ retry: { maxRetries: 2, chargeAttemptsPerGateway: 1 } }),
    );
    expect(own).toMatchObject({ retry: { maximumAttempts: 3 }, chargeAttemptsPerGateway: 1 });
  });

  it('never makes the maximum interval smaller than the initial one', () => {
    const settings = paymentSettings(
      aegisPayConfigSchema.parse({ retry: { initialDelayMs: 5000, maxDelayMs: 1000 } }),
    );
    expect(settings.retry.initialIntervalMs).toBe(5000);
    expect(settings.retry.maximumIntervalMs).toBe(5000);
  });

  it('passes the timeouts through, with their defaults', () => {
    const DAY = 24 * 60 * 60 * 1000;
    expect(paymentSettings(aegisPayConfigSchema.parse({}))).toEqual({
      retry: {
        maximumAttempts: 4,
        initialIntervalMs: 1000,
        maximumIntervalMs: 10_000,
        backoffCoefficient: 2,
      },
      chargeAttemptsPerGateway: 4,
      gatewayCallTimeoutMs: 30_000,
      refundWindowMs: 30 * DAY,
      pendingTimeoutMs: DAY,
      authorizationExpiryMs: 7 * DAY,
      actionTimeoutMs: 60 * 60 * 1000,
      publishEvents: false,
      reviewRecheckIntervalMs: 15 * 60 * 1000,
      reconciliationWindowMs: 10 * 60 * 1000,
      // No store configured and no embedded Temporal: nothing to project into.
      projectToStore: false,
    });
    const custom = paymentSettings(
      aegisPayConfigSchema.parse({
        gatewayTimeoutMs: 5000,
        refundWindowMs: 60_000,
        pendingTimeoutMs: 120_000,
      }),
    );
    expect(custom.gatewayCallTimeoutMs).toBe(5000);
    expect(custom.refundWindowMs).toBe(60_000);
    expect(custom.pendingTimeoutMs).toBe(120_000);
  });
});

describe('routing config of the embedded worker', () => {
  it("accepts the deployment guide's function rules next to declarative ones and hands each to the router", () => {
    const condition = (p: { amount: { amount: number } }) => p.amount.amount > 100_000;
    const config = aegisPayConfigSchema.parse({
      routing: {
        strategy: 'intelligent',
        rules: [
          { condition, gatewayType: 'STRIPE', priority: 100 },
          { priority: 50, when: { currencies: ['EUR'] }, gateway: 'PAYPAL' },
        ],
      },
      circuitBreaker: { failureThreshold: 2 },
    });
    const options = routerOptions(config);
    expect(options.functionRules).toEqual([{ condition, gateway: 'STRIPE', priority: 100 }]);
    expect(options.routing?.rules).toEqual([
      { priority: 50, when: { currencies: ['EUR'] }, gateway: 'PAYPAL' },
    ]);
    expect(options.circuitBreaker?.failureThreshold).toBe(2);
  });
});
