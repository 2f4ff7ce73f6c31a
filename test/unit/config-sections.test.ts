import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PaymentsClient } from '../../src/client/payments-client';
import { codecServerOptionsFromEnv } from '../../src/codec/codec-server';
import type { AegisPayConfig, ClientConfig } from '../../src/config';
import { AegisPay } from '../../src/embedded/aegis-pay';
import { encryptionConfigOf } from '../../src/codec/encryption-codec';
import { loadSettings } from '../../src/config/loader';
import { isSecuredConnectionFromEnv, temporalEnvOf } from '../../src/config/temporal';
import { workerSettings } from '../../src/config/worker';
import { validationIssues } from '../helpers/validation-issues';
import { namedStoreConfig } from '../../src/store/config';

const key = randomBytes(32).toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'aegispay-sections-'));

describe('the standalone worker settings', () => {
  test('come from the variables of the worker, its connectors, keys, store and Temporal', () => {
    const settings = loadSettings(workerSettings, {
      env: {
        AEGISPAY_GATEWAYS: 'stripe, paypal',
        STRIPE_API_KEY: 'sk_test_1',
        STRIPE_LOOKUP_LAG_MS: '0',
        PAYPAL_CLIENT_ID: 'id',
        PAYPAL_CLIENT_SECRET: 'secret',
        AEGISPAY_ROUTING: '{"strategy":"round-robin"}',
        AEGISPAY_ENCRYPTION_KEYS: `k1:${key}`,
        AEGISPAY_STORE_URL: 'postgres://u@127.0.0.1:5432/db',
        AEGISPAY_STORE_POOL_MAX: '4',
        TEMPORAL_ADDRESS: '127.0.0.1:7999',
        TEMPORAL_TLS: 'false',
        AEGISPAY_METRICS_PORT: '9464',
      },
    });
    expect(settings.gateways).toEqual(['STRIPE', 'PAYPAL']);
    expect(settings.connectors.STRIPE).toEqual({ apiKey: 'sk_test_1', lookupLagMs: 0 });
    expect(settings.connectors.PAYPAL).toEqual({ clientId: 'id', clientSecret: 'secret' });
    expect(settings.connectors.MOCK).toEqual({ latencyMs: 0, delayAfterCommitMs: 0 });
    expect(settings.routing?.strategy).toBe('round-robin');
    expect(settings.metrics).toEqual({ port: 9464 });
    expect(settings.taskQueue).toBe('aegispay');
    expect(encryptionConfigOf(settings.encryption)).toEqual({ keys: { k1: key }, activeKeyId: 'k1' });
    expect(loadSettings(workerSettings, { env: { AEGISPAY_GATEWAYS: 'MOCK' } }).store).toEqual({});
    expect(namedStoreConfig({})).toBeUndefined();
    expect(namedStoreConfig(settings.store)).toMatchObject({
      kind: 'postgres',
      connectionString: 'postgres://u@127.0.0.1:5432/db',
      max: 4,
    });
    expect(temporalEnvOf(settings.temporal, {})).toEqual({
      TEMPORAL_ADDRESS: '127.0.0.1:7999',
      TEMPORAL_TLS: 'false',
    });
  });

  test('a settings file, the environment and code combine, code first', () => {
    const file = join(dir, 'aegispay.json');
    writeFileSync(
      file,
      JSON.stringify({
        worker: { gateways: ['MOCK'], taskQueue: 'from-file', connectors: { MOCK: { latencyMs: 5 } } },
        codecServer: { port: 9000 },
      }),
    );
    const settings = loadSettings(workerSettings, {
      file,
      env: { AEGISPAY_TASK_QUEUE: 'from-env', AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS: '7' },
      code: { logging: { level: 'DEBUG' } },
    });
    expect(settings).toMatchObject({
      gateways: ['MOCK'],
      taskQueue: 'from-env',
      connectors: { MOCK: { latencyMs: 5, delayAfterCommitMs: 7 } },
      logging: { level: 'DEBUG' },
    });
    expect(loadSettings(workerSettings, { file, code: { taskQueue: 'from-code' } }).taskQueue).toBe(
      'from-code',
    );
  });

  test('every bad variable is named at once', () => {
    const issues = validationIssues(() =>
      loadSettings(workerSettings, {
        env: {
          AEGISPAY_GATEWAYS: 'MOCK,VISA',
          STRIPE_BASE_URL: 'not a url',
          AEGISPAY_CIRCUIT_BREAKER: '{"failureThreshold":0}',
          AEGISPAY_WEBHOOK_SECRET: 'short',
          AEGISPAY_LOG_LEVEL: 'LOUD',
          AEGISPAY_STORE: 'mysql',
          TEMPORAL_TLS: 'maybe',
          AEGISPAY_SHUTDOWN_GRACE_MS: 'soon',
        },
      }),
    );
    expect(issues.map((i) => i.split(':')[0])).toEqual(
      expect.arrayContaining([
        'TEMPORAL_TLS',
        'AEGISPAY_SHUTDOWN_GRACE_MS',
        'AEGISPAY_GATEWAYS.1',
        'STRIPE_BASE_URL',
        'AEGISPAY_CIRCUIT_BREAKER.failureThreshold',
        'AEGISPAY_WEBHOOK_SECRET',
        'AEGISPAY_LOG_LEVEL',
        'AEGISPAY_STORE',
      ]),
    );
    expect(issues).toHaveLength(8);
  });
});

describe('the Temporal variables', () => {
  test('a key, a profile, a profile file, TLS or a client certificate ask for a secured connection', () => {
    expect(isSecuredConnectionFromEnv({ TEMPORAL_ADDRESS: '127.0.0.1:7233', TEMPORAL_NAMESPACE: 'n' })).toBe(
      false,
    );
    for (const [name, value] of [
      ['TEMPORAL_API_KEY', 'key'],
      ['TEMPORAL_PROFILE', 'prod'],
      ['TEMPORAL_CONFIG_FILE', '/etc/temporal.toml'],
      ['TEMPORAL_TLS', 'false'],
      ['TEMPORAL_TLS_CLIENT_CERT_PATH', '/c.pem'],
      ['TEMPORAL_TLS_CLIENT_CERT_DATA', 'PEM'],
    ]) {
      expect(isSecuredConnectionFromEnv({ [name!]: value })).toBe(true);
    }
  });
});

describe('the codec server settings', () => {
  test('come from its variables and the workers’ keys; code wins', () => {
    const env = {
      AEGISPAY_ENCRYPTION_KEYS: `k1:${key}`,
      AEGISPAY_CODEC_TOKEN: 'a-token-of-16-chars',
      AEGISPAY_CODEC_PORT: '0',
      AEGISPAY_CODEC_ALLOWED_ORIGINS: 'http://127.0.0.1:9233, http://localhost:9233',
    };
    expect(codecServerOptionsFromEnv(env)).toMatchObject({
      host: '127.0.0.1',
      port: 0,
      token: 'a-token-of-16-chars',
      allowedOrigins: ['http://127.0.0.1:9233', 'http://localhost:9233'],
      encryption: { keys: { k1: key }, activeKeyId: 'k1' },
    });
    expect(codecServerOptionsFromEnv(env, { port: 8999 }).port).toBe(8999);
  });

  test('bad variables are named by variable, and the keys are required', () => {
    expect(
      validationIssues(() =>
        codecServerOptionsFromEnv({
          AEGISPAY_ENCRYPTION_KEYS: `k1:${key}`,
          AEGISPAY_CODEC_TOKEN: 'short',
          AEGISPAY_CODEC_PORT: '70000',
          AEGISPAY_CODEC_ALLOWED_ORIGINS: 'nowhere',
        }),
      ).map((i) => i.split(':')[0]),
    ).toEqual(['AEGISPAY_CODEC_PORT', 'AEGISPAY_CODEC_TOKEN', 'AEGISPAY_CODEC_ALLOWED_ORIGINS.0']);
    expect(
      validationIssues(() => codecServerOptionsFromEnv({ AEGISPAY_CODEC_TOKEN: 'a-token-of-16-chars' })),
    ).toEqual(['AEGISPAY_ENCRYPTION_KEYS: is required (keyId:base64Key,...)']);
  });
});

describe('the constructors', () => {
  test('PaymentsClient takes the client settings only; AegisPay the embedded worker’s too', () => {
    expect(
      validationIssues(() => new PaymentsClient({ routing: { strategy: 'cost-optimized' } } as ClientConfig)),
    ).toEqual([expect.stringMatching(/"routing"/)]);
    const aegis = new AegisPay({
      taskQueue: 'q',
      routing: { strategy: 'cost-optimized' },
      metrics: { port: 9464 },
    });
    expect(aegis).toBeInstanceOf(PaymentsClient);
  });

  test('AegisPay names every bad field, the client’s and the embedded worker’s, in one error', () => {
    const issues = validationIssues(
      () =>
        new AegisPay({
          taskQueue: '',
          routing: { strategy: 'nope' },
          metrics: { port: 0 },
        } as unknown as AegisPayConfig),
    );
    expect(issues.map((i) => i.split(':')[0]).sort()).toEqual([
      'metrics.port',
      'routing.strategy',
      'taskQueue',
    ]);
  });
});
