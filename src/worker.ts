import {
  bundleWorkflowCode,
  NativeConnection,
  Worker,
  type WorkflowBundleWithSourceMap,
} from '@temporalio/worker';
import type { DataConverter, Duration } from '@temporalio/common';
import { z } from 'zod';
import { createActivities } from './activities';
import { WebhookEventBus, type EventBus } from './activities/events';
import { GatewayRegistry } from './activities/gateway-registry';
import type { Gateway } from './activities/gateways/gateway';
import { MockGateway } from './activities/gateways/mock';
import {
  connectClient,
  connectWorker,
  ensureSearchAttributes,
  temporalConnectionSchema,
} from './client/connection';
import { DEFAULT_TASK_QUEUE } from './domain/ids';
import { parseOrThrow } from './domain/validation';
import { createLogger, type Logger } from './logging';
import { installTemporalRuntime } from './temporal-runtime';
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
}

const workflowBundles = new Map<string, Promise<WorkflowBundleWithSourceMap>>();

/** Bundles the workflow code once per process and failure converter: workers in it share the bundle. */
function paymentWorkflowBundle(failureConverterPath?: string): Promise<WorkflowBundleWithSourceMap> {
  let bundle = workflowBundles.get(failureConverterPath ?? '');
  if (!bundle) {
    bundle = bundleWorkflowCode({
      workflowsPath: require.resolve('./workflows'),
      logger: quietBundlerLogger,
      // Failures raised in workflow code are converted inside the sandbox, so the converter must be bundled.
      ...(failureConverterPath ? { failureConverterPath } : {}),
    });
    workflowBundles.set(failureConverterPath ?? '', bundle);
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
  return Worker.create({
    connection: options.connection,
    namespace: options.namespace,
    taskQueue: options.taskQueue,
    workflowBundle: await paymentWorkflowBundle(options.dataConverter?.failureConverterPath),
    activities: createActivities({
      gateways: new GatewayRegistry(options.gateways),
      logger: options.logger,
      ...(options.eventBus ? { eventBus: options.eventBus } : {}),
    }),
    shutdownGraceTime: options.shutdownGraceTime ?? '30s',
    ...(options.identity ? { identity: options.identity } : {}),
    ...(options.dataConverter ? { dataConverter: options.dataConverter } : {}),
  });
}

const booleanFromEnv = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const intFromEnv = z.coerce.number().int().nonnegative();

/** The standalone worker's environment, validated: every bad variable is reported at once. */
export const workerEnvSchema = z.object({
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
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
    .pipe(z.array(z.enum(['MOCK'])).min(1)),
  AEGISPAY_MOCK_LATENCY_MS: intFromEnv.default(0),
  AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS: intFromEnv.default(0),
  AEGISPAY_MOCK_LEDGER_FILE: z.string().min(1).optional(),
  AEGISPAY_WEBHOOK_URL: z.url().optional(),
  AEGISPAY_WEBHOOK_SECRET: z.string().min(16).optional(),
  AEGISPAY_LOG_LEVEL: z.enum(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']).default('INFO'),
  AEGISPAY_SHUTDOWN_GRACE_MS: intFromEnv.default(30_000),
});
export type WorkerEnv = z.output<typeof workerEnvSchema>;

/** Runs the standalone worker from environment variables until SIGINT/SIGTERM, then drains and exits. */
export async function runWorkerFromEnv(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const config = parseOrThrow(workerEnvSchema, env, 'worker environment');
  const encryption = encryptionConfigFromEnv(env);
  const logger = createLogger(config.AEGISPAY_LOG_LEVEL);
  installTemporalRuntime(logger, config.AEGISPAY_LOG_LEVEL === 'DEBUG' ? 'DEBUG' : 'INFO');
  const temporal = temporalConnectionSchema.parse({
    address: config.TEMPORAL_ADDRESS,
    namespace: config.TEMPORAL_NAMESPACE,
    apiKey: config.TEMPORAL_API_KEY,
    tls:
      config.TEMPORAL_TLS_CLIENT_CERT_PATH && config.TEMPORAL_TLS_CLIENT_KEY_PATH
        ? {
            clientCertPath: config.TEMPORAL_TLS_CLIENT_CERT_PATH,
            clientKeyPath: config.TEMPORAL_TLS_CLIENT_KEY_PATH,
            serverRootCACertPath: config.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
            serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME,
          }
        : config.TEMPORAL_TLS,
  });
  const client = await connectClient(temporal);
  await ensureSearchAttributes(client, temporal.namespace).finally(() => client.close());
  const gateways = config.AEGISPAY_GATEWAYS.map(
    () =>
      new MockGateway({
        latencyMs: config.AEGISPAY_MOCK_LATENCY_MS,
        delayAfterCommitMs: config.AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS,
        ...(config.AEGISPAY_MOCK_LEDGER_FILE ? { ledgerFile: config.AEGISPAY_MOCK_LEDGER_FILE } : {}),
      }),
  );
  const connection = await connectWorker(temporal);
  const worker = await createPaymentWorker({
    connection,
    namespace: temporal.namespace,
    taskQueue: config.AEGISPAY_TASK_QUEUE,
    gateways,
    logger,
    shutdownGraceTime: config.AEGISPAY_SHUTDOWN_GRACE_MS,
    dataConverter: createDataConverter(encryption),
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
      address: temporal.address,
      gateways: config.AEGISPAY_GATEWAYS,
      encryptionKeyId: encryption?.activeKeyId ?? 'off',
    },
    'worker started',
  );
  // Worker.run() returns once SIGINT/SIGTERM has drained in-flight tasks.
  await worker.run();
  await connection.close();
  logger.info('worker stopped');
}

if (require.main === module) {
  runWorkerFromEnv().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
