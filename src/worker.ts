import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { z } from 'zod';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { createActivities } from './activities';
import { HealthReporter } from './activities/health-reporter';
import { WebhookEventBus, type EventBus } from './activities/events';
import { GatewayRegistry } from './activities/gateway-registry';
import { GatewayRouter, type GatewayRouterOptions } from './activities/gateway-router';
import { circuitBreakerConfigSchema } from './activities/circuit-breaker';
import { routingConfigSchema } from './activities/routing';
import { riskCheckSchema, type RiskCheckConfig } from './activities/risk';
import type { Gateway } from './activities/gateways/gateway';
import { createGateway } from './activities/gateways';
import { connectClient, connectWorker, ensureSearchAttributes, resolveConnection } from './client/connection';
import { DEFAULT_TASK_QUEUE } from './domain/ids';
import { parseOrThrow } from './domain/validation';
import { createLogger, type Logger } from './logging';
import { installTemporalRuntime, temporalPrometheusAddress } from './temporal-runtime';
import {
  PaymentMetrics,
  paymentMetricsSinks,
  startMetricsServer,
  type MetricsServerOptions,
} from './metrics';
import {
  createTracing,
  TRACING_WORKFLOW_INTERCEPTORS,
  tracingWorkerOptions,
  type TracingConfig,
} from './tracing';
import { createDataConverter } from './codec/data-converter';
import { encryptionConfigFromEnv } from './codec/encryption-codec';

export interface PaymentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  gateways: Gateway[];
  logger: Logger;
  eventBus?: EventBus;
  /** How long in-flight activities may finish after shutdown is requested. */
  shutdownGraceTime?: Duration;
  identity?: string;
  /** Payload codecs and failure converter (see createDataConverter); its failure converter is bundled into workflows. */
  dataConverter?: DataConverter;
  /** Routing strategy, rules, costs and circuit-breaker settings. */
  routing?: GatewayRouterOptions;
  /** Reports breakers and statistics to the gateway-health workflow, so any client can read them. */
  healthReporting?: { client: Client; intervalMs?: number };
  /**
   * Serves Prometheus `/metrics` (AegisPay's business metrics, then the Temporal core's runtime metrics
   * when the runtime was installed with a Prometheus address) on 127.0.0.1:`port` while the worker runs.
   */
  metrics?: MetricsServerOptions;
  /** OpenTelemetry spans for workflows and activities, joined to the client's trace. */
  tracing?: TracingConfig;
  /** A fraud/risk check before each payment's first charge; `deny` fails the payment uncharged. */
  riskCheck?: RiskCheckConfig;
}

const workflowBundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** Bundles the workflow code once per process, failure converter and tracing: workers in it share the bundle. */
function paymentWorkflowBundle(
  failureConverterPath: string | undefined,
  tracing: boolean,
): Promise<WorkflowBundleWithSourceMap> {
  const key = `${failureConverterPath ?? ''}|${tracing ? 'tracing' : ''}`;
  let bundle = workflowBundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      logger: quietBundlerLogger,
      // Failures raised in workflow code are converted inside the sandbox, so the converter must be bundled.
      ...(failureConverterPath ? { failureConverterPath } : {}),
      // Workflow interceptors run inside the sandbox too: a prebuilt bundle must already contain them.
      ...(tracing ? { workflowInterceptorModules: [TRACING_WORKFLOW_INTERCEPTORS] } : {}),
    });
    workflowBundles.set(key, bundle);
  }
  return bundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: (message: string) => console.warn(message),
  error: (message: string) => console.error(message),
};

/** A Temporal worker that runs payment workflows and calls the given gateways. Used standalone and embedded. */
export async function createPaymentWorker(options: PaymentWorkerOptions): Promise<Worker> {
  const gateways = new GatewayRegistry(options.gateways);
  const reporter = options.healthReporting
    ? new HealthReporter({
        ...options.healthReporting,
        taskQueue: options.taskQueue,
        worker: options.identity ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
        router: () => router,
        logger: options.logger,
      })
    : undefined;
  const metrics = options.metrics ? new PaymentMetrics() : undefined;
  const tracing = options.tracing ? createTracing(options.tracing) : undefined;
  const router = new GatewayRouter(gateways, {
    ...options.routing,
    ...(metrics ? { metrics } : {}),
    onTransition: (t) => {
      options.logger.warn(
        { gateway: t.gateway, from: t.from, to: t.to, reason: t.reason },
        'circuit breaker changed state',
      );
      reporter?.onTransition(t);
      options.routing?.onTransition?.(t);
    },
  });
  const tracingOptions = tracing ? tracingWorkerOptions(tracing) : undefined;
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await paymentWorkflowBundle(options.dataConverter?.failureConverterPath, !!tracing),
    activities: createActivities({
      gateways,
      router,
      logger: options.logger,
      ...(options.eventBus ? { eventBus: options.eventBus } : {}),
      ...(metrics ? { metrics } : {}),
      ...(options.riskCheck
        ? { riskCheck: parseOrThrow(riskCheckSchema, options.riskCheck, 'risk check') }
        : {}),
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(tracingOptions?.interceptors ? { interceptors: tracingOptions.interceptors } : {}),
    sinks: { ...tracingOptions?.sinks, ...paymentMetricsSinks(metrics) },
  });
  if (reporter || metrics || tracing) {
    // Reports, the metrics endpoint and span flushing live exactly as long as the worker runs: from
    // run() until it has drained and stopped.
    const run = worker.run.bind(worker);
    worker.run = async () => {
      const temporalMetricsAddress = options.metrics?.temporalMetricsAddress ?? temporalPrometheusAddress();
      const server = metrics
        ? await startMetricsServer(
            metrics,
            { ...options.metrics!, ...(temporalMetricsAddress ? { temporalMetricsAddress } : {}) },
            options.logger,
          )
        : undefined;
      reporter?.start();
      try {
        await run();
      } finally {
        await reporter?.stop();
        server?.closeAllConnections();
        server?.close();
        await tracing?.shutdown();
      }
    };
  }
  return worker;
}

const booleanFromEnv = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const intFromEnv = z.coerce.number().int().nonnegative();
const jsonFromEnv = z.string().transform((text, ctx) => {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be valid JSON' });
    return z.NEVER;
  }
});

/** The standalone worker's environment, validated: every bad variable is reported at once. */
export const workerEnvSchema = z.object({
  /** Read with the TEMPORAL_* variables below by Temporal's environment configuration (see resolveConnection). */
  TEMPORAL_CONFIG_FILE: z.string().min(1).optional(),
  TEMPORAL_PROFILE: z.string().min(1).optional(),
  TEMPORAL_ADDRESS: z.string().min(1).optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: booleanFromEnv.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  AEGISPAY_TASK_QUEUE: z.string().min(1).default(DEFAULT_TASK_QUEUE),
  AEGISPAY_GATEWAYS: z
    .string()
    .default('MOCK')
    .transform((s) =>
      s
        .split(',')
        .map((g) => g.trim().toUpperCase())
        .filter(Boolean),
    )
    .pipe(z.array(z.enum(['MOCK', 'STRIPE', 'PAYPAL'])).min(1)),
  STRIPE_API_KEY: z.string().min(1).optional(),
  STRIPE_BASE_URL: z.url().optional(),
  /** How long Stripe's search may lag (default 60 s); reconciliation waits it out before failing over. */
  STRIPE_LOOKUP_LAG_MS: intFromEnv.optional(),
  PAYPAL_CLIENT_ID: z.string().min(1).optional(),
  PAYPAL_CLIENT_SECRET: z.string().min(1).optional(),
  PAYPAL_BASE_URL: z.url().optional(),
  AEGISPAY_GATEWAY_TIMEOUT_MS: intFromEnv.optional(),
  AEGISPAY_HEALTH_REPORT_INTERVAL_MS: intFromEnv.optional(),
  /** JSON: strategy, weights, rules, costs, coldStartVolume. */
  AEGISPAY_ROUTING: jsonFromEnv.pipe(routingConfigSchema).optional(),
  /** JSON: failureThreshold, resetTimeoutMs, monitorWindowMs, failureRateThreshold, minimumVolume. */
  AEGISPAY_CIRCUIT_BREAKER: jsonFromEnv.pipe(circuitBreakerConfigSchema).optional(),
  AEGISPAY_MOCK_LATENCY_MS: intFromEnv.default(0),
  AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS: intFromEnv.default(0),
  AEGISPAY_MOCK_LEDGER_FILE: z.string().min(1).optional(),
  AEGISPAY_WEBHOOK_URL: z.url().optional(),
  AEGISPAY_WEBHOOK_SECRET: z.string().min(16).optional(),
  AEGISPAY_LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  AEGISPAY_SHUTDOWN_GRACE_MS: intFromEnv.default(30_000),
  /** Serves Prometheus `/metrics` on 127.0.0.1 at this port. */
  AEGISPAY_METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /** Where the Temporal core's own exporter listens (127.0.0.1); a free port when unset. */
  AEGISPAY_TEMPORAL_METRICS_PORT: z.coerce.number().int().min(1).max(65_535).optional(),
  /** `otlp`: export spans over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT, OTEL_SERVICE_NAME). */
  AEGISPAY_TRACING: z.enum(['otlp', 'off']).default('off'),
});
export type WorkerEnv = z.output<typeof workerEnvSchema>;

/** Runs the standalone worker from environment variables until SIGINT/SIGTERM, then drains and exits. */
export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = parseOrThrow(workerEnvSchema, env, 'worker environment');
  const encryption = encryptionConfigFromEnv(env);
  const logger = createLogger(config.AEGISPAY_LOG_LEVEL);
  const metricsPort = config.AEGISPAY_METRICS_PORT;
  const temporalMetricsPort = metricsPort
    ? (config.AEGISPAY_TEMPORAL_METRICS_PORT ?? (await (await import('./toolchain/dev-server')).freePort()))
    : undefined;
  installTemporalRuntime(logger, config.AEGISPAY_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'INFO', {
    ...(temporalMetricsPort ? { prometheusBindAddress: `127.0.0.1:${temporalMetricsPort}` } : {}),
  });
  const temporal = resolveConnection('env', env);
  const dataConverter = createDataConverter(encryption);
  const clientConnection = await connectClient(temporal);
  await ensureSearchAttributes(clientConnection, temporal.namespace);
  const timeout = config.AEGISPAY_GATEWAY_TIMEOUT_MS;
  const gateways = config.AEGISPAY_GATEWAYS.map((type) =>
    createGateway(type, {
      ...(timeout ? { timeout } : {}),
      ...(type === 'MOCK'
        ? {
            latencyMs: config.AEGISPAY_MOCK_LATENCY_MS,
            delayAfterCommitMs: config.AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS,
            ...(config.AEGISPAY_MOCK_LEDGER_FILE ? { ledgerFile: config.AEGISPAY_MOCK_LEDGER_FILE } : {}),
          }
        : {}),
      ...(type === 'STRIPE'
        ? {
            apiKey: config.STRIPE_API_KEY,
            ...(config.STRIPE_BASE_URL ? { baseUrl: config.STRIPE_BASE_URL } : {}),
            ...(config.STRIPE_LOOKUP_LAG_MS !== undefined
              ? { lookupLagMs: config.STRIPE_LOOKUP_LAG_MS }
              : {}),
          }
        : {}),
      ...(type === 'PAYPAL'
        ? {
            clientId: config.PAYPAL_CLIENT_ID,
            clientSecret: config.PAYPAL_CLIENT_SECRET,
            ...(config.PAYPAL_BASE_URL ? { baseUrl: config.PAYPAL_BASE_URL } : {}),
          }
        : {}),
    }),
  );
  const connection = await connectWorker(temporal);
  const tracing =
    config.AEGISPAY_TRACING === 'otlp'
      ? {
          exporter: new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter(),
          serviceName: env.OTEL_SERVICE_NAME ?? 'aegispay-worker',
        }
      : undefined;
  const worker = await createPaymentWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue: config.AEGISPAY_TASK_QUEUE,
    gateways,
    logger,
    shutdownGraceTime: config.AEGISPAY_SHUTDOWN_GRACE_MS,
    healthReporting: {
      client: new Client({ connection: clientConnection, namespace: temporal.namespace, dataConverter }),
      ...(config.AEGISPAY_HEALTH_REPORT_INTERVAL_MS
        ? { intervalMs: config.AEGISPAY_HEALTH_REPORT_INTERVAL_MS }
        : {}),
    },
    routing: {
      ...(config.AEGISPAY_ROUTING ? { routing: config.AEGISPAY_ROUTING } : {}),
      ...(config.AEGISPAY_CIRCUIT_BREAKER ? { circuitBreaker: config.AEGISPAY_CIRCUIT_BREAKER } : {}),
    },
    dataConverter,
    ...(metricsPort ? { metrics: { port: metricsPort } } : {}),
    ...(tracing ? { tracing } : {}),
    ...(config.AEGISPAY_WEBHOOK_URL && config.AEGISPAY_WEBHOOK_SECRET
      ? {
          eventBus: new WebhookEventBus({
            url: config.AEGISPAY_WEBHOOK_URL,
            secret: config.AEGISPAY_WEBHOOK_SECRET,
          }),
        }
      : {}),
  });
  logger.info(
    {
      taskQueue: config.AEGISPAY_TASK_QUEUE,
      address: temporal.options.address,
      namespace: temporal.namespace,
      ...(metricsPort ? { metrics: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
      gateways: config.AEGISPAY_GATEWAYS,
      encryptionKeyId: encryption?.activeKeyId ?? 'off',
    },
    'worker started',
  );
  // Worker.run() returns once SIGINT/SIGTERM has drained in-flight tasks.
  await worker.run();
  await connection.close();
  await clientConnection.close();
  logger.info('worker stopped');
}

if (require.main === module) {
  runWorkerFromEnv().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
