/** The standalone worker's settings (`npm run worker`, `aegispay worker`): environment, settings file or code. */
import { z } from 'zod';
import { circuitBreakerConfigSchema } from '../activities/circuit-breaker';
import { CONNECTOR_SETTINGS, CONNECTOR_TYPES } from '../activities/gateways';
import { DEFAULT_HEALTH_REPORT_INTERVAL_MS } from '../activities/health-reporter';
import { routingConfigSchema } from '../activities/routing';
import { encryptionSettingsSchema } from './encryption';
import { logLevelSetting, taskQueueSetting } from './index';
import type { SettingsSection } from './loader';
import { storeSettingsSchema } from './store';
import { temporalSettingsSchema } from './temporal';

const port = z.number().int().min(1).max(65_535);
const ms = z.number().int().nonnegative();

export const workerSettingsSchema = z.strictObject({
  temporal: temporalSettingsSchema.prefault({}),
  taskQueue: taskQueueSetting,
  // No default: MOCK charges nothing, so a worker runs it only when told to.
  gateways: z
    .array(
      z
        .string()
        .transform((g) => g.toUpperCase())
        .pipe(z.enum(CONNECTOR_TYPES)),
      {
        error: (issue) =>
          issue.input === undefined
            ? 'is required: the gateways this worker charges through, e.g. STRIPE,PAYPAL (MOCK, which charges nothing, only on purpose)'
            : undefined,
      },
    )
    .min(1)
    .meta({
      env: 'AEGISPAY_GATEWAYS',
      doc: `Comma-separated, in registration order: ${CONNECTOR_TYPES.map((t) => `\`${t}\``).join(', ')}. No default: \`MOCK\` charges nothing, so name it on purpose.`,
      shownDefault: 'required',
    }),
  connectors: CONNECTOR_SETTINGS.prefault({}),
  gatewayHttpTimeoutMs: ms.optional().meta({
    env: 'AEGISPAY_GATEWAY_TIMEOUT_MS',
    doc: 'HTTP timeout of the STRIPE and PAYPAL adapters.',
    shownDefault: 'adapter default (30000)',
  }),
  routing: routingConfigSchema.optional().meta({
    env: 'AEGISPAY_ROUTING',
    doc: 'JSON routing config: `strategy`, `weights`, `rules` (declarative only), `costs`, `coldStartVolume`.',
    shownDefault: '`intelligent`, no rules, no costs',
  }),
  circuitBreaker: circuitBreakerConfigSchema.optional().meta({
    env: 'AEGISPAY_CIRCUIT_BREAKER',
    doc: 'JSON breaker config, as the `circuitBreaker` option of `AegisPay`.',
    shownDefault: 'see [Circuit breakers](#circuit-breakers)',
  }),
  healthReportIntervalMs: ms.default(DEFAULT_HEALTH_REPORT_INTERVAL_MS).meta({
    env: 'AEGISPAY_HEALTH_REPORT_INTERVAL_MS',
    doc: 'How often the worker reports breakers and statistics to the gateway-health workflow.',
  }),
  webhook: z
    .strictObject({
      url: z.url().optional().meta({
        env: 'AEGISPAY_WEBHOOK_URL',
        doc: 'With `webhook.secret`: deliver domain events to this URL.',
      }),
      secret: z.string().min(16).optional().meta({
        env: 'AEGISPAY_WEBHOOK_SECRET',
        doc: 'The secret (≥ 16 characters) that signs each delivery.',
      }),
    })
    .prefault({}),
  encryption: encryptionSettingsSchema.prefault({}),
  store: storeSettingsSchema.prefault({}),
  metrics: z
    .strictObject({
      port: port.optional().meta({
        env: 'AEGISPAY_METRICS_PORT',
        doc: 'Serve Prometheus `/metrics` on 127.0.0.1 at this port.',
      }),
      temporalPort: port.optional().meta({
        env: 'AEGISPAY_TEMPORAL_METRICS_PORT',
        doc: "With `metrics.port`: where the Temporal core's own exporter listens (127.0.0.1); appended to `/metrics`.",
        shownDefault: 'a free port',
      }),
    })
    .prefault({}),
  tracing: z
    .strictObject({
      exporter: z.enum(['otlp', 'off']).default('off').meta({
        env: 'AEGISPAY_TRACING',
        doc: '`otlp`: export spans over OTLP/HTTP, configured by `OTEL_EXPORTER_OTLP_ENDPOINT` (and the other standard `OTEL_EXPORTER_OTLP_*` variables).',
      }),
      serviceName: z.string().min(1).default('aegispay-worker').meta({
        env: 'OTEL_SERVICE_NAME',
        doc: "`service.name` of the worker's spans.",
      }),
    })
    .prefault({}),
  logging: z
    .strictObject({
      level: logLevelSetting,
    })
    .prefault({}),
  shutdownGraceMs: ms.default(30_000).meta({
    env: 'AEGISPAY_SHUTDOWN_GRACE_MS',
    doc: 'How long in-flight activities may finish after SIGTERM or SIGINT.',
  }),
});
export type WorkerSettings = z.output<typeof workerSettingsSchema>;

export const workerSettings = {
  key: 'worker',
  what: 'worker settings',
  schema: workerSettingsSchema,
} satisfies SettingsSection;
