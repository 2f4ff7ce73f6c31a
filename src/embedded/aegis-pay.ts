import { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { GatewayRegistry } from '../activities/gateway-registry';
import type { Gateway } from '../activities/gateways/gateway';
import { createGateway, type GatewayFactoryConfig } from '../activities/gateways';
import { PaymentsClient, type Connected } from '../client/payments-client';
import {
  aegisPayConfigSchema,
  embeddedWorkerConfigSchema,
  routerOptions,
  type AegisPayConfig,
  type ResolvedAegisPayConfig,
} from '../config';
import { ConfigurationError } from '../domain/errors';
import { parseOrThrow } from '../domain/validation';
import type { GatewayType } from '../domain/types';
import { freePort } from '../free-port';
import {
  connectWorker,
  ensureSearchAttributes,
  resolveConnection,
  type ResolvedConnection,
} from '../temporal/connection';
import type { DevServer } from '../toolchain/dev-server';

/** The fields of a (valid) `AegisPay` config that the client reads, as given (so defaults stay the client's). */
function clientPart(config: AegisPayConfig): AegisPayConfig {
  const workerOnly = new Set(Object.keys(embeddedWorkerConfigSchema.shape));
  return Object.fromEntries(Object.entries(config).filter(([key]) => !workerOnly.has(key)));
}

interface EmbeddedWorker {
  worker: Worker;
  connection: NativeConnection;
  running: Promise<void>;
}

/**
 * The AegisPay client plus what the deployment guide's one-object usage runs in this process: with
 * `temporal: 'embedded'` a local Temporal dev server, and once gateways are registered a payment worker
 * for them (started by the first call that needs Temporal). Production apps use it as a client only
 * and run `src/worker.ts` separately.
 */
export class AegisPay extends PaymentsClient {
  private readonly gateways = new GatewayRegistry();
  private devServer?: DevServer;
  private embeddedWorker?: Promise<EmbeddedWorker>;
  /** The whole config, the embedded worker's fields included. */
  private readonly workerConfig: ResolvedAegisPayConfig;

  constructor(config: AegisPayConfig = {}) {
    // Every bad field, the client's and the embedded worker's, in one error; the client gets its own.
    const resolved = parseOrThrow(aegisPayConfigSchema, config, 'AegisPay config');
    super(clientPart(config), 'AegisPay config');
    this.workerConfig = resolved;
    this.attachRuntime({
      coreOptions: () => this.coreOptions(),
      embeddedTarget: () => this.startDevServer(),
      connected: async (connected) => {
        if (this.gateways.all().length === 0) return;
        this.embeddedWorker ??= this.startWorker(connected);
        await this.embeddedWorker;
      },
    });
  }

  /** Adds a gateway to the worker this instance runs (started on the first call that needs Temporal). */
  registerGateway(type: GatewayType, config: GatewayFactoryConfig = {}): void {
    this.registerGatewayInstance(createGateway(type, config));
  }

  /** Adds a ready-made gateway implementation to this instance's worker. */
  registerGatewayInstance(gateway: Gateway): void {
    if (this.embeddedWorker) throw new ConfigurationError('Register gateways before the first payment call');
    this.gateways.register(gateway);
  }

  /** The Web UI address when this instance started the embedded Temporal server. */
  async webUiUrl(): Promise<string | undefined> {
    await this.connect();
    return this.devServer?.uiUrl || undefined;
  }

  /** Stops the embedded worker (letting in-flight activities finish), closes the client and the embedded server. */
  override async close(): Promise<void> {
    const embedded = await this.embeddedWorker?.catch(() => undefined);
    this.embeddedWorker = undefined;
    if (embedded) {
      if (embedded.worker.getState() === 'RUNNING') embedded.worker.shutdown();
      await embedded.running.catch(() => undefined);
      await embedded.connection.close();
    }
    await super.close();
    const devServer = this.devServer;
    this.devServer = undefined;
    await devServer?.stop();
  }

  /**
   * The Temporal core serves its own metrics on a loopback port of its own; the embedded worker's
   * /metrics appends them (only if this call installs the runtime: it can be installed once).
   */
  private async coreOptions(): Promise<{ prometheusBindAddress?: string }> {
    if (!this.workerConfig.metrics || this.gateways.all().length === 0) return {};
    return { prometheusBindAddress: `127.0.0.1:${await freePort()}` };
  }

  private async startDevServer(): Promise<ResolvedConnection> {
    // Loaded on demand: an application that connects elsewhere never loads the toolchain.
    const { startOrReuseDevServer } = await import('../toolchain/dev-server');
    const devServer = await startOrReuseDevServer();
    this.devServer = devServer;
    this.logger.info(
      { address: devServer.address, webUi: devServer.uiUrl },
      'embedded Temporal server ready',
    );
    return resolveConnection({ address: devServer.address, namespace: devServer.namespace });
  }

  private async startWorker(connected: Connected): Promise<EmbeddedWorker> {
    await ensureSearchAttributes(connected.connection, connected.namespace);
    // Loaded on demand: a client-only process never bundles workflow code.
    const { createPaymentWorker } = await import('../worker');
    const connection = await connectWorker(connected.target);
    const store = await this.store();
    const worker = await createPaymentWorker({
      connection,
      namespace: connected.namespace,
      taskQueue: this.config.taskQueue,
      gateways: this.gateways.all(),
      logger: this.logger,
      ...(store ? { store } : {}),
      ...(this.workerConfig.events?.bus ? { eventBus: this.workerConfig.events.bus } : {}),
      routing: routerOptions(this.workerConfig),
      // Health reports go through an untraced client: a span every few seconds would drown the payments'.
      healthReporting: {
        client: connected.tracing
          ? new Client({
              connection: connected.connection,
              namespace: connected.namespace,
              dataConverter: this.dataConverter,
            })
          : connected.client,
      },
      dataConverter: this.dataConverter,
      ...(this.workerConfig.metrics ? { metrics: this.workerConfig.metrics } : {}),
      ...(this.workerConfig.riskCheck ? { riskCheck: this.workerConfig.riskCheck } : {}),
      // The worker shares the client's provider, which this instance flushes and stops on close().
      ...(connected.tracing ? { tracing: { tracerProvider: connected.tracing.provider } } : {}),
    });
    const running = worker.run();
    running.catch((err) =>
      this.logger.error({ err: (err as Error).message }, 'embedded worker stopped with an error'),
    );
    return { worker, connection, running };
  }
}
