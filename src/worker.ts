import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Client } from '@temporalio/client';
import { createActivities } from './activities';
import { DEFAULT_HEALTH_REPORT_INTERVAL_MS, HealthReporter } from './activities/health-reporter';
import { WebhookEventBus, type EventBus } from './activities/events';
import { GatewayRegistry } from './activities/gateway-registry';
import { GatewayRouter, type GatewayRouterOptions } from './activities/gateway-router';
import { riskCheckSchema } from './activities/risk';
import type { Gateway } from './activities/gateways/gateway';
import { createGateway } from './activities/gateways';
import {
  connectClient,
  connectWorker,
  ensureSearchAttributes,
  resolveConnection,
} from './temporal/connection';
import { describeFleetPolicy, FLEET_LIVE_WITHIN_MS, fleetTaskQueue } from './domain/fleet-policy';
import { computeFleetPolicy, joinTaskQueueFleet, type NamedRiskCheck } from './fleet-membership';
import { parseOrThrow } from './domain/validation';
import { openPaymentStore, type PaymentStore } from './store';
import { namedStoreConfig, type ParsedStoreConfig } from './store/config';
import { freePort } from './free-port';
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
import { createDataConverter, encryptionOf } from './codec/data-converter';
import { encryptionConfigOf } from './codec/encryption-codec';
import { loadSettings, settingsFileOf } from './config/loader';
import { temporalEnvOf } from './config/temporal';
import { workerSettings, type WorkerSettings } from './config/worker';
import { AegisPayError } from './domain/errors';

export interface PaymentWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  gateways: Gateway[];
  logger: Logger;
  /** The system of record payments are projected into (and late refunds reserved in); the caller closes it. */
  store?: PaymentStore;
  eventBus?: EventBus;
  /** How long in-flight activities may finish after shutdown is requested. */
  shutdownGraceTime?: Duration;
  identity?: string;
  /** Payload codecs and failure converter (see createDataConverter); its failure converter is bundled into workflows. */
  dataConverter?: DataConverter;
  /** Routing strategy, rules, costs and circuit-breaker settings. */
  routing?: GatewayRouterOptions;
  /**
   * How the worker reports breakers and statistics to the gateway-health workflow, so any client can
   * read them. The reports always go out (they keep the worker a live member of its fleet): without a
   * client here, through a client on `connection`.
   */
  healthReporting?: { client?: Client; intervalMs?: number };
  /**
   * Serves Prometheus `/metrics` (AegisPay's business metrics, then the Temporal core's runtime metrics
   * when the runtime was installed with a Prometheus address) on 127.0.0.1:`port` while the worker runs.
   */
  metrics?: MetricsServerOptions;
  /** OpenTelemetry spans for workflows and activities, joined to the client's trace. */
  tracing?: TracingConfig;
  /**
   * A fraud/risk check before each payment's first charge; `deny` fails the payment uncharged. Its
   * `name` identifies it in the fleet policy (without one, a hash of `assess`'s code does).
   */
  riskCheck?: NamedRiskCheck;
}

const workflowBundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/**
 * Bundles workflow code once per process, module, failure converter and tracing: workers in it share
 * the bundle. `./workflows` has every workflow; the fleet worker bundles only the gateway-health one.
 */
function workflowBundle(
  workflowsPath: string,
  failureConverterPath: string | undefined,
  tracing: boolean,
): Promise<WorkflowBundleWithSourceMap> {
  const key = `${workflowsPath}|${failureConverterPath ?? ''}|${tracing ? 'tracing' : ''}`;
  let bundle = workflowBundles.get(key);
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath,
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

/**
 * A Temporal worker that runs payment workflows and calls the given gateways. Used standalone and embedded.
 *
 * Every worker of a task queue must decide payments alike (any of them may run any payment's routing,
 * risk check and charges), so before it polls, the worker joins the queue's fleet: the gateway-health
 * workflow admits it only when no live worker has another policy (gateways and their settings, risk
 * check, routing, breakers) or keys it cannot share; otherwise this throws a ConfigurationError naming
 * every difference, and nothing was polled. The gateway-health workflow runs on a task queue of its own
 * that a small second worker of this process serves from now until `run()` ends: call `run()`.
 */
export async function createPaymentWorker(options: PaymentWorkerOptions): Promise<Worker> {
  const gateways = new GatewayRegistry(options.gateways);
  const member = options.identity ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const fleetClient = new Client({
    connection: options.connection,
    namespace: options.namespace,
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
  const reportInterval = options.healthReporting?.intervalMs ?? DEFAULT_HEALTH_REPORT_INTERVAL_MS;
  const reporter = new HealthReporter({
    client: options.healthReporting?.client ?? fleetClient,
    intervalMs: reportInterval,
    taskQueue: options.taskQueue,
    worker: member,
    router: () => router,
    logger: options.logger,
  });
  const metrics = options.metrics ? new PaymentMetrics() : undefined;
  const router = new GatewayRouter(gateways, {
    ...options.routing,
    ...(metrics ? { metrics } : {}),
    onTransition: (t) => {
      options.logger.warn(
        { gateway: t.gateway, from: t.from, to: t.to, reason: t.reason },
        'circuit breaker changed state',
      );
      reporter.onTransition(t);
      options.routing?.onTransition?.(t);
    },
  });
  const policy = computeFleetPolicy({
    gateways: options.gateways,
    ...(options.riskCheck ? { riskCheck: options.riskCheck } : {}),
    ...(options.routing ? { routing: options.routing } : {}),
    encryption: encryptionOf(options.dataConverter),
    ...(options.store ? { store: options.store.backend } : {}),
  });
  const fleet = await startFleetWorker(options, member);
  try {
    await joinTaskQueueFleet(fleetClient, options.taskQueue, {
      worker: member,
      policy,
      liveForMs: Math.max(FLEET_LIVE_WITHIN_MS, 3 * reportInterval),
    });
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  options.logger.info(
    { taskQueue: options.taskQueue, worker: member, policy: describeFleetPolicy(policy) },
    'joined the task queue fleet',
  );
  reporter.start();
  try {
    return await startPaymentWorker(options, { gateways, router, reporter, fleet, metrics });
  } catch (err) {
    await reporter.stop();
    await fleet.stop();
    throw err;
  }
}

/** The small worker that serves the gateway-health workflow (fleet, health) of a task queue. */
async function startFleetWorker(options: PaymentWorkerOptions, identity: string) {
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: fleetTaskQueue(options.taskQueue),
    workflowBundle: await workflowBundle(
      require.resolve('./workflows/gateway-health-workflow'),
      options.dataConverter?.failureConverterPath,
      false,
    ),
    identity,
    // One workflow per task queue: a small cache, and a quick move elsewhere when its worker is gone.
    maxCachedWorkflows: 16,
    // A few workflow tasks a minute: the fewest pollers (one sticky, one not), not the default ten.
    workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: 2 },
    stickyQueueScheduleToStartTimeout: '2s',
    shutdownGraceTime: '1s',
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
  const running = worker.run();
  running.catch((err: unknown) =>
    options.logger.error({ err: (err as Error).message }, 'fleet worker stopped with an error'),
  );
  return {
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running.catch(() => undefined);
    },
  };
}

async function startPaymentWorker(
  options: PaymentWorkerOptions,
  parts: {
    gateways: GatewayRegistry;
    router: GatewayRouter;
    reporter: HealthReporter;
    fleet: { stop(): Promise<void> };
    metrics: PaymentMetrics | undefined;
  },
): Promise<Worker> {
  const { gateways, router, reporter, fleet, metrics } = parts;
  const tracing = options.tracing ? createTracing(options.tracing) : undefined;
  // The name only identifies the check in the fleet policy.
  const { name: _name, ...riskCheck } = options.riskCheck ?? {};
  const tracingOptions = tracing ? tracingWorkerOptions(tracing) : undefined;
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await workflowBundle(
      require.resolve('./workflows'),
      options.dataConverter?.failureConverterPath,
      !!tracing,
    ),
    activities: createActivities({
      gateways,
      router,
      logger: options.logger,
      ...(options.eventBus ? { eventBus: options.eventBus } : {}),
      ...(metrics ? { metrics } : {}),
      ...(options.riskCheck ? { riskCheck: parseOrThrow(riskCheckSchema, riskCheck, 'risk check') } : {}),
      ...(options.store ? { store: options.store } : {}),
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
    ...(tracingOptions?.interceptors ? { interceptors: tracingOptions.interceptors } : {}),
    sinks: { ...tracingOptions?.sinks, ...paymentMetricsSinks(metrics) },
  });
  // The metrics endpoint and span flushing live exactly as long as the worker runs; reports (fleet
  // membership) and the fleet worker from the join until it has drained and stopped.
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
    try {
      await run();
    } finally {
      await reporter.stop();
      await fleet.stop();
      server?.closeAllConnections();
      server?.close();
      await tracing?.shutdown();
    }
  };
  return worker;
}

/**
 * Opens the payment store, waiting for the database while it is down (a worker started during an
 * outage would otherwise exit, and no payment would be processed until someone restarts it).
 * Configuration mistakes (a bad URL, missing keys) are not waited out.
 */
async function openStoreWhenReachable(config: ParsedStoreConfig, logger: Logger): Promise<PaymentStore> {
  for (let pause = 500; ; pause = Math.min(pause * 2, 10_000)) {
    try {
      return await openPaymentStore(config);
    } catch (err) {
      if (err instanceof AegisPayError) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      logger.warn({ err: reason, retryInMs: pause }, 'payment store unreachable');
      await new Promise((resolve) => setTimeout(resolve, pause));
    }
  }
}

/** The gateways the settings name, each with its connector's settings. */
function gatewaysOf(settings: WorkerSettings) {
  const timeout = settings.gatewayHttpTimeoutMs;
  return settings.gateways.map((type) =>
    createGateway(type, { ...(timeout ? { timeout } : {}), ...settings.connectors[type] }),
  );
}

/** OTLP tracing when `tracing.exporter` is `otlp`; the exporter is loaded only then. */
async function tracingOf(settings: WorkerSettings) {
  if (settings.tracing.exporter !== 'otlp') return undefined;
  const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
  return { exporter: new OTLPTraceExporter(), serviceName: settings.tracing.serviceName };
}

/**
 * Runs the standalone worker until SIGINT/SIGTERM, then drains and exits. Its settings (src/config/worker.ts)
 * come from `code`, then the environment, then the JSON settings file `AEGISPAY_CONFIG_FILE` names.
 */
export async function runWorkerFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  code?: Record<string, unknown>,
): Promise<void> {
  const settings = loadSettings(workerSettings, {
    env,
    ...(code ? { code } : {}),
    file: settingsFileOf(env),
  });
  const encryption = encryptionConfigOf(settings.encryption);
  // The system of record, when one is configured (a PostgreSQL URL, or a kind).
  const storeConfig = namedStoreConfig(settings.store, encryption);
  const logLevel = settings.logging.level;
  const logger = createLogger(logLevel);
  const metricsPort = settings.metrics.port;
  const temporalMetricsPort = metricsPort ? (settings.metrics.temporalPort ?? (await freePort())) : undefined;
  installTemporalRuntime(logger, logLevel === 'DEBUG' ? 'DEBUG' : 'INFO', {
    ...(temporalMetricsPort ? { prometheusBindAddress: `127.0.0.1:${temporalMetricsPort}` } : {}),
  });
  const temporal = resolveConnection('env', temporalEnvOf(settings.temporal, env));
  const dataConverter = createDataConverter(encryption);
  const clientConnection = await connectClient(temporal);
  await ensureSearchAttributes(clientConnection, temporal.namespace);
  const gateways = gatewaysOf(settings);
  const connection = await connectWorker(temporal);
  const store = storeConfig ? await openStoreWhenReachable(storeConfig, logger) : undefined;
  const tracing = await tracingOf(settings);
  const { url: webhookUrl, secret: webhookSecret } = settings.webhook;
  const worker = await createPaymentWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue: settings.taskQueue,
    gateways,
    logger,
    shutdownGraceTime: settings.shutdownGraceMs,
    healthReporting: {
      client: new Client({ connection: clientConnection, namespace: temporal.namespace, dataConverter }),
      intervalMs: settings.healthReportIntervalMs,
    },
    routing: {
      ...(settings.routing ? { routing: settings.routing } : {}),
      ...(settings.circuitBreaker ? { circuitBreaker: settings.circuitBreaker } : {}),
    },
    dataConverter,
    ...(store ? { store } : {}),
    ...(metricsPort ? { metrics: { port: metricsPort } } : {}),
    ...(tracing ? { tracing } : {}),
    ...(webhookUrl && webhookSecret
      ? { eventBus: new WebhookEventBus({ url: webhookUrl, secret: webhookSecret }) }
      : {}),
  });
  logger.info(
    {
      taskQueue: settings.taskQueue,
      address: temporal.options.address,
      namespace: temporal.namespace,
      ...(metricsPort ? { metrics: `http://127.0.0.1:${metricsPort}/metrics` } : {}),
      gateways: settings.gateways,
      encryptionKeyId: encryption?.activeKeyId ?? 'off',
    },
    'worker started',
  );
  // Worker.run() returns once SIGINT/SIGTERM has drained in-flight tasks.
  await worker.run();
  await store?.close();
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
