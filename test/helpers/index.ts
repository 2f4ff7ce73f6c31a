import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Client } from '@temporalio/client';
import type { NativeConnection, Worker } from '@temporalio/worker';
import type { Gateway } from '../../src/activities/gateways/gateway';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import { AegisPay } from '../../src/embedded/aegis-pay';
import type { AegisPayConfig } from '../../src/config';
import { createDataConverter } from '../../src/codec/data-converter';
import type { EncryptionConfig } from '../../src/codec/encryption-codec';
import { connectClient, connectWorker } from '../../src/temporal/connection';
import type { CreatePaymentRequest } from '../../src/domain/types';
import { createLogger } from '../../src/logging';
import { startDevServer, type DevServer } from '../../src/toolchain/dev-server';
import { createPaymentWorker, type PaymentWorkerOptions } from '../../src/worker';
import { clusterTestServer, clusterUnderTest, connectionOf } from './cluster';

export { connectionOf, temporalCliArgs } from './cluster';

/**
 * Starts a fresh in-memory dev server on free ports; call once per test file in `beforeAll`. Under
 * AEGISPAY_TEST_CLUSTER it is the local cluster instead (see ./cluster.ts).
 */
export async function startTestServer(
  options: Parameters<typeof startDevServer>[0] = {},
): Promise<DevServer> {
  const cluster = clusterUnderTest();
  if (cluster) return clusterTestServer(cluster);
  return startDevServer({ port: 0, uiPort: false, dbFile: null, ...options });
}

/** A task queue of its own for each test, so tests never pick up each other's tasks. */
export function testTaskQueue(): string {
  const name = expect.getState().currentTestName ?? 'test';
  return `${name.replace(/[^A-Za-z0-9]+/g, '-').slice(0, 60)}-${randomUUID().slice(0, 8)}`;
}

/** A unique idempotency key. */
export function uniqueKey(prefix = 'order'): string {
  return `${prefix}_${randomUUID().replace(/-/g, '')}`;
}

/** Fast retries so failure paths finish in a test's time. */
export const FAST_RETRY = { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50, backoffMultiplier: 2 };

/** An AegisPay client (no embedded worker) for a test server and task queue. */
export function testClient(server: DevServer, taskQueue: string, config: AegisPayConfig = {}): AegisPay {
  return new AegisPay({
    temporal: connectionOf(server),
    taskQueue,
    logging: { level: 'SILENT' },
    retry: FAST_RETRY,
    ...config,
  });
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/** Starts a payment worker in this process with the given gateways (and payload encryption, if given). */
export async function startTestWorker(
  server: DevServer,
  taskQueue: string,
  gateways: Gateway[],
  options: { encryption?: EncryptionConfig } & Partial<
    Pick<
      PaymentWorkerOptions,
      'eventBus' | 'routing' | 'healthReporting' | 'metrics' | 'tracing' | 'riskCheck' | 'store'
    >
  > = {},
): Promise<RunningWorker> {
  const connection = await connectWorker(connectionOf(server));
  const worker = await createPaymentWorker({
    connection,
    namespace: server.namespace,
    taskQueue,
    gateways,
    logger: createLogger('SILENT'),
    shutdownGraceTime: '1s',
    dataConverter: createDataConverter(options.encryption),
    ...(options.eventBus ? { eventBus: options.eventBus } : {}),
    ...(options.routing ? { routing: options.routing } : {}),
    ...(options.healthReporting ? { healthReporting: options.healthReporting } : {}),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.tracing ? { tracing: options.tracing } : {}),
    ...(options.riskCheck ? { riskCheck: options.riskCheck } : {}),
    ...(options.store ? { store: options.store } : {}),
  });
  return runningWorker(worker, connection);
}

/** Runs a worker; `stop` shuts it down (if it still runs) and closes the connection it owns. */
export function runningWorker(worker: Worker, connection: NativeConnection): RunningWorker {
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

/** What `startTestPayments` starts on a task queue of the test's own. */
export interface TestPayments {
  aegis: AegisPay;
  worker: RunningWorker;
  taskQueue: string;
  /** Closes the client and stops the worker. */
  close(): Promise<void>;
}

/** A worker with these gateways and a client for it, on a task queue of the test's own. */
export async function startTestPayments(
  server: DevServer,
  gateways: Gateway[],
  options: { worker?: Parameters<typeof startTestWorker>[3]; client?: AegisPayConfig } = {},
): Promise<TestPayments> {
  const taskQueue = testTaskQueue();
  const worker = await startTestWorker(server, taskQueue, gateways, options.worker);
  const aegis = testClient(server, taskQueue, options.client);
  return {
    aegis,
    worker,
    taskQueue,
    async close() {
      await aegis.close();
      await worker.stop();
    },
  };
}

/** A raw Temporal client, for what tests check behind AegisPay's back (history, describe). */
export async function rawClient(server: DevServer): Promise<Client> {
  const connection = await connectClient(connectionOf(server));
  return new Client({ connection, namespace: server.namespace });
}

/** Asserts that a promise rejects with an AegisPay error of this code, and returns the error. */
export async function expectAegisError(
  promise: Promise<unknown>,
  code: string,
): Promise<Error & { code: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeDefined();
  expect((err as { code?: string }).code).toBe(code);
  return err as Error & { code: string };
}

/** The Stripe test cards the MOCK gateway understands. */
export const TEST_CARDS = {
  success: '4242424242424242',
  declined: '4000000000000002',
  insufficientFunds: '4000000000009995',
  processingError: '4000000000000119',
} as const;

/** A valid card payment request (expiring next year), with overrides. */
export function cardPayment(
  overrides: Partial<CreatePaymentRequest> & { cardNumber?: string; cvv?: string } = {},
): CreatePaymentRequest {
  const { cardNumber = TEST_CARDS.success, cvv = '123', ...rest } = overrides;
  return {
    idempotencyKey: uniqueKey(),
    amount: 99.99,
    currency: 'USD',
    customer: { id: 'cust_123', email: 'customer@example.com', name: 'John Doe' },
    paymentMethod: {
      type: 'CARD',
      details: {
        cardNumber,
        expiryMonth: '12',
        expiryYear: String(new Date().getFullYear() + 1),
        cvv,
        cardHolderName: 'John Doe',
      },
    },
    metadata: { orderId: 'order_123' },
    ...rest,
  };
}

/** Polls until `check` returns a truthy value (visibility is eventually consistent). */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** What `useMockHarness` gives each test. */
export interface MockHarness {
  server: DevServer;
  gateway: MockGateway;
  worker: RunningWorker;
  aegis: AegisPay;
}

/** One dev server for the test file: started before its first test, stopped after its last. */
export function useTestServer(): { readonly server: DevServer } {
  const t = {} as { server: DevServer };
  beforeAll(async () => {
    t.server = await startTestServer();
  });
  afterAll(async () => {
    await t.server?.stop();
  });
  return t;
}

/**
 * The common test setup: one dev server per file; per test, a fresh MOCK gateway (its ledger is
 * what the test counts), a worker on the test's own task queue, and a client for it.
 */
export function useMockHarness(): MockHarness {
  const h = {} as MockHarness;
  const t = useTestServer();
  beforeAll(() => {
    h.server = t.server;
  });
  let payments: TestPayments | undefined;
  beforeEach(async () => {
    h.gateway = new MockGateway();
    payments = await startTestPayments(h.server, [h.gateway]);
    h.worker = payments.worker;
    h.aegis = payments.aegis;
  });
  afterEach(async () => {
    await payments?.close();
  });
  return h;
}

/** A standalone worker (`src/worker.ts`) in a process of its own: one node process, so SIGKILL really kills it. */
export function spawnWorkerProcess(env: Record<string, string>): {
  child: ChildProcess;
  ready: Promise<void>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../src/worker.ts')], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker started')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('exit', (code) =>
      reject(new Error(`worker exited with ${code} before it was ready:\n${output}`)),
    );
  });
  return { child, ready };
}
