import type { DestinationStream } from 'pino';
import type { EventBus } from './activities/events';
import { z } from 'zod';
import { circuitBreakerConfigSchema } from './activities/circuit-breaker';
import { riskCheckSchema } from './activities/risk';
import type { ValidationIssue } from './domain/errors';
import type { GatewayRouterOptions } from './activities/gateway-router';
import { declarativeRuleSchema, routingConfigSchema, type FunctionRule } from './activities/routing';
import { GatewayType, type CreatePaymentRequest } from './domain/types';
import {
  DEFAULT_RECONCILIATION_WINDOW_MS,
  DEFAULT_REVIEW_RECHECK_INTERVAL_MS,
  type PaymentSettings,
} from './domain/payment';
import { DEFAULT_TASK_QUEUE } from './domain/ids';
import type { CardTokenizer } from './client/prepare-payment';
import { encryptionConfigSchema } from './codec/encryption-codec';
import { temporalConnectionSchema } from './temporal/connection';
import { DEFAULT_TEMPORAL_TIMEOUT_MS } from './temporal/calls';
import { tracingConfigSchema } from './tracing';
import { storeConfigSchema, type StoreConfig } from './store/config';

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

/** The `AegisPay` constructor's config (the deployment guide's names, plus where Temporal is). */
export const aegisPayConfigSchema = z.strictObject({
  /**
   * A Temporal service; `'env'` for Temporal's environment configuration (profile file and TEMPORAL_*
   * variables, also used when this is left out); `'embedded'` to start a local dev server in this process.
   */
  temporal: z
    .union([z.literal('embedded'), z.literal('env'), temporalConnectionSchema])
    .default(() => temporalConnectionSchema.parse({})),
  taskQueue: z.string().min(1).max(200).default(DEFAULT_TASK_QUEUE),
  /** Keeps the idempotency keys of several merchants apart on one namespace. */
  merchantScope: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,255}$/, 'merchantScope must be 1-255 letters, digits, - or _')
    .optional(),
  logging: z
    .strictObject({ level: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO') })
    .default({ level: 'INFO' }),
  /** Where pino writes (default stdout); lets an application or test capture AegisPay's logs. */
  logDestination: z
    .custom<DestinationStream>(
      (v) => typeof (v as { write?: unknown })?.write === 'function',
      'logDestination must be a writable stream',
    )
    .optional(),
  /** Gateway-call retries, mapped onto the activity retry policy (Temporal adds the jitter). */
  retry: z
    .strictObject({
      maxRetries: z.number().int().min(0).max(50).default(3),
      initialDelayMs: ms(DAY_MS).default(1000),
      maxDelayMs: ms(DAY_MS).default(10_000),
      backoffMultiplier: z.number().min(1).max(10).default(2),
    })
    .default({ maxRetries: 3, initialDelayMs: 1000, maxDelayMs: 10_000, backoffMultiplier: 2 }),
  /**
   * How long one request to Temporal may go unanswered (refused connections retried meanwhile) before the
   * call fails with TEMPORAL_UNAVAILABLE; requests waiting for a payment to settle get Temporal's 20 s
   * long poll on top. Also the connect timeout.
   */
  temporalTimeoutMs: ms(10 * 60_000).default(DEFAULT_TEMPORAL_TIMEOUT_MS),
  /** How long one gateway call may take before its outcome counts as unknown. */
  gatewayTimeoutMs: ms(10 * 60_000).default(30_000),
  /** How long a successful payment stays open for refunds. */
  refundWindowMs: ms(400 * DAY_MS).default(30 * DAY_MS),
  /** How long a created but unprocessed payment waits before it is cancelled as abandoned. */
  pendingTimeoutMs: ms(30 * DAY_MS).default(DAY_MS),
  /** How long an uncaptured authorization (manual capture) lives before it is voided automatically. */
  authorizationExpiryMs: ms(30 * DAY_MS).default(7 * DAY_MS),
  /** Workers whose last health report is older than this are left out of health and metrics (they are gone). */
  healthLiveWithinMs: ms(DAY_MS).default(30_000),
  /** How long a customer has to complete a 3-D Secure (or other) action. */
  actionTimeoutMs: ms(DAY_MS).default(60 * 60_000),
  /** How often a payment in REQUIRES_REVIEW (outcome unknown at the gateway) asks the gateway again. */
  reviewRecheckIntervalMs: ms(DAY_MS).default(DEFAULT_REVIEW_RECHECK_INTERVAL_MS),
  /**
   * The system of record (payment store) that payments are projected into and read from once their
   * workflows are gone: `{ kind: 'postgres', connectionString, … }` or `{ kind: 'embedded' }`; `false`
   * for none. Default: embedded with `temporal: 'embedded'`, none otherwise.
   */
  store: z.union([z.literal(false), storeConfigSchema]).optional(),
  /** How long after capture a payment can still be refunded once its workflow has closed (default 180 days). */
  lateRefundWindowMs: ms(1000 * DAY_MS).default(180 * DAY_MS),
  /** How long an unknown or in-progress gateway outcome is looked up, with backoff, before REQUIRES_REVIEW. */
  reconciliationWindowMs: ms(DAY_MS).default(DEFAULT_RECONCILIATION_WINDOW_MS),
  /** AES-256-GCM payload encryption for this client and its embedded worker; workers need the same keys. */
  encryption: encryptionConfigSchema.optional(),
  /** Turns card details into a gateway token in this process; defaults to the MOCK gateway's tokenizer. */
  tokenizer: z
    .custom<CardTokenizer>((v) => typeof v === 'function', 'tokenizer must be a function')
    .optional(),
  /**
   * Routing of the embedded worker: strategy, weights, costs and rules. A rule is declarative
   * (`{ priority, when, gateway }`) or, as in the original, code (`{ priority, condition, gatewayType }`).
   */
  routing: routingConfigSchema
    .extend({ rules: z.array(z.union([declarativeRuleSchema, seedFunctionRuleSchema])).default([]) })
    .optional(),
  /** Prometheus `/metrics` of the embedded worker, on 127.0.0.1:`port` (see the worker's `metrics` option). */
  metrics: z.strictObject({ port: z.number().int().min(1).max(65_535) }).optional(),
  /** OpenTelemetry tracing of this client's calls and of its embedded worker's workflows and activities. */
  tracing: tracingConfigSchema.optional(),
  /** Circuit breakers of the embedded worker (the deployment guide's names plus a failure-rate threshold). */
  circuitBreaker: circuitBreakerConfigSchema.optional(),
  /** The embedded worker's fraud/risk check before each payment's first charge (fails closed by default). */
  riskCheck: riskCheckSchema.optional(),
  /**
   * Your own checks of a payment request, run in this process after AegisPay's: return the problems
   * (`{ path, message }`), all of them, and the request fails with one `ValidationError` before anything starts.
   */
  validate: z
    .custom<(request: CreatePaymentRequest) => ValidationIssue[] | undefined>(
      (v) => typeof v === 'function',
      'validate must be a function',
    )
    .optional(),
  /** `publish`: hand every domain event to the worker's event bus (delivered at least once, in order). */
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
    .optional(),
});
export type AegisPayConfig = z.input<typeof aegisPayConfigSchema>;
export type ResolvedAegisPayConfig = z.output<typeof aegisPayConfigSchema>;

/** The per-payment workflow settings derived from the config. */
export function paymentSettings(config: ResolvedAegisPayConfig): PaymentSettings {
  return {
    retry: {
      maximumAttempts: config.retry.maxRetries + 1,
      initialIntervalMs: config.retry.initialDelayMs,
      maximumIntervalMs: Math.max(config.retry.maxDelayMs, config.retry.initialDelayMs),
      backoffCoefficient: config.retry.backoffMultiplier,
    },
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
export function storeConfigOf(config: ResolvedAegisPayConfig): StoreConfig | undefined {
  if (config.store === false) return undefined;
  if (config.store) return config.store;
  return config.temporal === 'embedded' ? { kind: 'embedded' } : undefined;
}
