import type { DestinationStream } from 'pino';
import type { EventBus } from '../activities/events';
import { z } from 'zod';
import { circuitBreakerConfigSchema } from '../activities/circuit-breaker';
import { riskCheckSchema } from '../activities/risk';
import type { ValidationIssue } from '../domain/errors';
import type { GatewayRouterOptions } from '../activities/gateway-router';
import { declarativeRuleSchema, routingConfigSchema, type FunctionRule } from '../activities/routing';
import { GatewayType, type CreatePaymentRequest } from '../domain/types';
import {
  DEFAULT_RECONCILIATION_WINDOW_MS,
  DEFAULT_REVIEW_RECHECK_INTERVAL_MS,
  type PaymentSettings,
} from '../domain/payment';
import { DEFAULT_TASK_QUEUE } from '../domain/ids';
import type { CardTokenizer } from '../client/prepare-payment';
import { encryptionConfigSchema } from '../codec/encryption-codec';
import { temporalConnectionSchema } from '../temporal/connection';
import { DEFAULT_TEMPORAL_TIMEOUT_MS } from '../temporal/calls';
import { tracingConfigSchema } from '../tracing';
import { storeConfigSchema, type StoreConfig } from '../store/config';

const DAY_MS = 24 * 60 * 60 * 1000;

/** The deployment guide's rule shape (docs/migrating.md): a function of the payment, with `gatewayType`. */
const seedFunctionRuleSchema = z
  .strictObject({
    name: z.string().optional(),
    priority: z.number().int(),
    condition: z.custom<FunctionRule['condition']>(
      (v) => typeof v === 'function',
      'condition must be a function',
    ),
    gatewayType: z.enum(GatewayType),
  })
  .transform(({ gatewayType, ...rule }): FunctionRule => ({ ...rule, gateway: gatewayType }));

/** The embedded worker's router options from the client config. */
export function routerOptions(config: ResolvedAegisPayConfig): GatewayRouterOptions {
  const rules = config.routing?.rules ?? [];
  const isFunctionRule = (r: (typeof rules)[number]): r is FunctionRule => 'condition' in r;
  return {
    ...(config.routing
      ? { routing: { ...config.routing, rules: rules.filter((r) => !isFunctionRule(r)) } }
      : {}),
    functionRules: rules.filter(isFunctionRule),
    ...(config.circuitBreaker ? { circuitBreaker: config.circuitBreaker } : {}),
  };
}
const ms = (max: number) => z.number().int().min(1).max(max);

/** The task queue: the client's, and (as `AEGISPAY_TASK_QUEUE`) the standalone worker's. */
export const taskQueueSetting = z.string().min(1).max(200).default(DEFAULT_TASK_QUEUE).meta({
  env: 'AEGISPAY_TASK_QUEUE',
  doc: 'Task queue of the payment workflow, its activities and the gateway-health workflow.',
});

/** The log level of every process (`AEGISPAY_LOG_LEVEL` for those that read the environment). */
export const logLevelSetting = z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO').meta({
  env: 'AEGISPAY_LOG_LEVEL',
  doc: '`DEBUG`, `INFO`, `WARN`, `ERROR`, `SILENT` (pino, with [redaction](security.md#log-redaction)).',
});

/** What the client reads (`PaymentsClient`): where Temporal is, what travels with each payment, what runs in the caller's process. */
const clientConfigFields = {
  temporal: z
    .union([z.literal('embedded'), z.literal('env'), temporalConnectionSchema])
    .default(() => temporalConnectionSchema.parse({}))
    .meta({
      doc: "Where Temporal is: `'env'` (Temporal's environment configuration: profile file and `TEMPORAL_*` variables, else `localhost:7233`, namespace `default`), an explicit `{ address, namespace, apiKey?, tls? }`, or `'embedded'`: reuse a dev server answering on 127.0.0.1:7233, else start one from `temporal-dev.yml` (data in `.temporal/aegispay-dev.db`). See [Connecting to Temporal](operations.md#connecting-to-temporal).",
      shownDefault: "`'env'`",
    }),
  temporalEnv: z.record(z.string(), z.string().optional()).optional().meta({
    doc: "The variables `temporal: 'env'` reads, instead of the process's (the CLI adds its `--address` and `--namespace` this way).",
    shownDefault: '`process.env`',
  }),
  taskQueue: taskQueueSetting,
  merchantScope: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, 'merchantScope must be 1-255 letters, digits, - or _')
    .optional()
    .meta({
      doc: "1–255 of `[A-Za-z0-9_-]`; keeps several merchants' idempotency keys apart on one namespace.",
    }),
  logging: z
    .strictObject({
      level: logLevelSetting,
    })
    .default({ level: 'INFO' }),
  logDestination: z
    .custom<DestinationStream>(
      (v) => typeof (v as { write?: unknown })?.write === 'function',
      'logDestination must be a writable stream',
    )
    .optional()
    .meta({
      doc: 'Any writable stream for the pino output (lets an application or a test capture it).',
      shownDefault: 'stdout',
    }),
  retry: z
    .strictObject({
      maxRetries: z.number().int().min(0).max(50).default(3).meta({
        doc: '0–50. A gateway activity (charge, capture, refund, lookup…) whose outcome is unknown (timeout, 5xx, reset) is tried again under the same idempotency key up to `maxRetries` times before the outcome is reconciled. See [Retries, reconciliation and failover](lifecycle.md#retries-reconciliation-and-failover).',
      }),
      chargeAttemptsPerGateway: z.number().int().min(1).max(51).optional().meta({
        doc: '1–51. How many charge attempts, each under its own idempotency key, a payment makes at one gateway while it answers `retry-same-gateway` (429, Stripe `processing_error`) before it fails over.',
        shownDefault: '`maxRetries + 1`',
      }),
      initialDelayMs: ms(DAY_MS).default(1000).meta({
        doc: 'First retry interval; also the first pause between charge attempts and between reconciliation lookups.',
      }),
      maxDelayMs: ms(DAY_MS).default(10_000).meta({ doc: 'Largest of those intervals.' }),
      backoffMultiplier: z
        .number()
        .min(1)
        .max(10)
        .default(2)
        .meta({ doc: 'Backoff coefficient (1–10); Temporal adds jitter to activity retries.' }),
    })
    .default({ maxRetries: 3, initialDelayMs: 1000, maxDelayMs: 10_000, backoffMultiplier: 2 }),
  temporalTimeoutMs: ms(10 * 60_000)
    .default(DEFAULT_TEMPORAL_TIMEOUT_MS)
    .meta({
      doc: "How long one request to Temporal may go unanswered (refused connections retried meanwhile) before the call fails with `TEMPORAL_UNAVAILABLE` (≤ 10 min); requests waiting for a payment to settle get Temporal's 20 s long poll on top. Also the connect timeout.",
    }),
  gatewayTimeoutMs: ms(10 * 60_000)
    .default(30_000)
    .meta({
      doc: 'Start-to-close timeout of one gateway activity (≤ 10 min); after it the outcome counts as unknown.',
    }),
  refundWindowMs: ms(400 * DAY_MS)
    .default(30 * DAY_MS)
    .meta({ doc: "How long a captured payment's workflow stays open for refunds (≤ 400 days)." }),
  pendingTimeoutMs: ms(30 * DAY_MS)
    .default(DAY_MS)
    .meta({
      doc: 'How long a payment may stay `INITIATED` before it is cancelled as `abandoned` (≤ 30 days).',
    }),
  authorizationExpiryMs: ms(30 * DAY_MS)
    .default(7 * DAY_MS)
    .meta({
      doc: 'How long an uncaptured authorization lives before it is voided and the payment cancelled as `authorization_expired` (≤ 30 days).',
    }),
  healthLiveWithinMs: ms(DAY_MS)
    .default(30_000)
    .meta({ doc: 'Workers whose last health report is older are left out of health and metrics (≤ 1 day).' }),
  actionTimeoutMs: ms(DAY_MS)
    .default(60 * 60_000)
    .meta({
      doc: 'How long the customer has to complete 3-D Secure before the payment fails with `action_timeout` (≤ 1 day).',
    }),
  reviewRecheckIntervalMs: ms(DAY_MS)
    .default(DEFAULT_REVIEW_RECHECK_INTERVAL_MS)
    .meta({ doc: 'How often a payment in `REQUIRES_REVIEW` asks the gateway again (≤ 1 day).' }),
  store: z
    .union([z.literal(false), storeConfigSchema])
    .optional()
    .meta({
      doc: "The [payment store](system-of-record.md): `{ kind: 'postgres', connectionString?, host?, …, max?, ssl? }`, `{ kind: 'embedded', dataDir? }` or `false`; default embedded with `temporal: 'embedded'`, else none. Payments project into it; reads fall back to it; lists and late refunds use it.",
      shownDefault: 'see meaning',
    }),
  lateRefundWindowMs: ms(1000 * DAY_MS)
    .default(180 * DAY_MS)
    .meta({
      doc: 'With a store: how long after capture a payment whose workflow has closed can still be refunded (≤ 1000 days).',
    }),
  reconciliationWindowMs: ms(DAY_MS).default(DEFAULT_RECONCILIATION_WINDOW_MS).meta({
    doc: 'How long an unknown or in-progress gateway outcome is looked up, with backoff, before `REQUIRES_REVIEW` (≤ 1 day).',
  }),
  encryption: encryptionConfigSchema.optional().meta({
    doc: '`{ keys: { <keyId>: <base64 of 32 bytes> }, activeKeyId }`: AES-256-GCM payload encryption for this client and its embedded worker. See [Security](security.md).',
  }),
  tokenizer: z
    .custom<CardTokenizer>((v) => typeof v === 'function', 'tokenizer must be a function')
    .optional()
    .meta({ doc: "`(card) => TokenizedCard` run in the caller's process.", shownDefault: 'MOCK tokenizer' }),
  tracing: tracingConfigSchema.optional().meta({
    doc: '`{ tracerProvider }` or `{ exporter, serviceName? }`: OpenTelemetry spans for this client and its embedded worker. See [Tracing](operations.md#tracing).',
  }),
  validate: z
    .custom<(request: CreatePaymentRequest) => ValidationIssue[] | undefined>(
      (v) => typeof v === 'function',
      'validate must be a function',
    )
    .optional()
    .meta({
      doc: "`(request) => { path, message }[]`: your own request rules, run in this process after AegisPay's. See [Hooks](api.md#hooks).",
    }),
  events: z
    .looseObject({
      publish: z.boolean().optional(),
      /** The embedded worker's event bus (an `InMemoryEventBus` to subscribe in-process, or a `WebhookEventBus`). */
      bus: z
        .custom<EventBus>(
          (v) => typeof (v as { publish?: unknown })?.publish === 'function',
          'bus must be an EventBus',
        )
        .optional(),
    })
    .optional()
    .meta({
      doc: "`{ publish: true, bus? }`: deliver every domain event through the worker's `EventBus`; `bus` is the embedded worker's. See [Events and webhooks](api.md#events-and-webhooks).",
    }),
};

/** What only the embedded worker of an `AegisPay` reads (a standalone worker: src/config/worker.ts). */
const embeddedWorkerConfigFields = {
  routing: routingConfigSchema
    .extend({ rules: z.array(z.union([declarativeRuleSchema, seedFunctionRuleSchema])).default([]) })
    .optional()
    .meta({
      shownDefault: '`intelligent`, no rules',
      doc: '`{ strategy?, weights?, rules?, costs?, coldStartVolume? }` of the embedded worker; rules may be declarative or functions. See [Routing](#routing-circuit-breakers-and-failover).',
    }),
  metrics: z
    .strictObject({ port: z.number().int().min(1).max(65_535) })
    .optional()
    .meta({
      doc: '`{ port }`: the embedded worker serves Prometheus `/metrics` on 127.0.0.1:`port`. See [Prometheus metrics](operations.md#prometheus-metrics).',
    }),
  circuitBreaker: circuitBreakerConfigSchema.optional().meta({
    doc: '`{ failureThreshold?, resetTimeoutMs?, monitorWindowMs?, failureRateThreshold?, minimumVolume?, halfOpenMaxProbes? }` of the embedded worker.',
    shownDefault: 'see [Circuit breakers](#circuit-breakers)',
  }),
  riskCheck: riskCheckSchema.optional().meta({
    doc: "`{ assess, onError?, timeoutMs? }`: the embedded worker's fraud/risk check before each payment's first charge. See [Hooks](api.md#hooks).",
  }),
};

/** The client's config: the `AegisPay` constructor's fields without the embedded worker's. */
export const clientConfigSchema = z.strictObject(clientConfigFields);
export type ClientConfig = z.input<typeof clientConfigSchema>;
export type ResolvedClientConfig = z.output<typeof clientConfigSchema>;

/** The embedded worker's own fields, for the docs table. */
export const embeddedWorkerConfigSchema = z.strictObject(embeddedWorkerConfigFields);

/** The `AegisPay` constructor's config (the deployment guide's names, plus where Temporal is): the client's and the embedded worker's. */
export const aegisPayConfigSchema = z.strictObject({ ...clientConfigFields, ...embeddedWorkerConfigFields });
export type AegisPayConfig = z.input<typeof aegisPayConfigSchema>;
export type ResolvedAegisPayConfig = z.output<typeof aegisPayConfigSchema>;

/** The per-payment workflow settings derived from the config. */
export function paymentSettings(config: ResolvedClientConfig): PaymentSettings {
  return {
    retry: {
      maximumAttempts: config.retry.maxRetries + 1,
      initialIntervalMs: config.retry.initialDelayMs,
      maximumIntervalMs: Math.max(config.retry.maxDelayMs, config.retry.initialDelayMs),
      backoffCoefficient: config.retry.backoffMultiplier,
    },
    chargeAttemptsPerGateway: config.retry.chargeAttemptsPerGateway ?? config.retry.maxRetries + 1,
    gatewayCallTimeoutMs: config.gatewayTimeoutMs,
    refundWindowMs: config.refundWindowMs,
    pendingTimeoutMs: config.pendingTimeoutMs,
    authorizationExpiryMs: config.authorizationExpiryMs,
    actionTimeoutMs: config.actionTimeoutMs,
    publishEvents: config.events?.publish ?? false,
    reviewRecheckIntervalMs: config.reviewRecheckIntervalMs,
    reconciliationWindowMs: config.reconciliationWindowMs,
    projectToStore: storeConfigOf(config) !== undefined,
  };
}

/** The payment store this config uses, if any: the embedded one by default with an embedded Temporal. */
export function storeConfigOf(config: ResolvedClientConfig): StoreConfig | undefined {
  if (config.store === false) return undefined;
  if (config.store) return config.store;
  return config.temporal === 'embedded' ? { kind: 'embedded' } : undefined;
}
