/**
 * Records one payment workflow history per payment path, as replay fixtures for test/replay/replay.test.ts:
 *
 *   npm run record-histories -- v2                  # into test/replay/histories/v2/
 *   npm run record-histories -- v1 --out <dir>      # into any directory (e.g. from an older checkout)
 *
 * It starts its own in-memory Temporal dev server and sandbox PSP, runs workers of the code it is run
 * from, drives one payment per path with short timer settings so that most workflows close, and saves
 * each workflow's history as Temporal's JSON history format. Payments use gateway test tokens
 * (`tok_visa`, …), never card numbers. A path that cannot be driven is reported and makes the run fail;
 * the other paths are still saved.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { InMemoryEventBus } from '../src/activities/events';
import { createGateway } from '../src/activities/gateways';
import type { Gateway } from '../src/activities/gateways/gateway';
import { MockGateway } from '../src/activities/gateways/mock/adapter';
import { AegisPay } from '../src/embedded/aegis-pay';
import type { AegisPayConfig } from '../src/config';
import { connectWorker } from '../src/temporal/connection';
import { luhnValid } from '../src/domain/cards';
import { paymentWorkflowId } from '../src/domain/ids';
import { TRANSITIONS } from '../src/domain/state-machine';
import type { CreatePaymentRequest, Payment } from '../src/domain/types';
import { createLogger } from '../src/logging';
import { startSandbox, type Sandbox } from '../src/sandbox/server';
import { installTemporalRuntime } from '../src/temporal-runtime';
import { freePort, startDevServer, type DevServer } from '../src/toolchain/dev-server';
import { createPaymentWorker, type PaymentWorkerOptions } from '../src/worker';

/** Short enough that a path's workflow closes within seconds; the same order as the timer tests. */
const REFUND_WINDOW_MS = 2000;
const PENDING_TIMEOUT_MS = 1000;
const AUTHORIZATION_EXPIRY_MS = 1500;
const ACTION_TIMEOUT_MS = 1000;
const REVIEW_RECHECK_MS = 1000;
/**
 * An open outcome is looked up for a second before review (which takes some seconds with the Stripe
 * client's own retries); the refund window stays open meanwhile, so the review is waited out.
 */
const REVIEW_SETTINGS: AegisPayConfig = {
  reconciliationWindowMs: 1000,
  refundWindowMs: 20_000,
  retry: { maxRetries: 2, initialDelayMs: 100, maxDelayMs: 300, backoffMultiplier: 2 },
};
/** The sandbox adapters give up on an answer after this; the workflow then reconciles. */
const ADAPTER_TIMEOUT_MS = 1500;
const CLOSE_TIMEOUT_MS = 60_000;

/** The workers a path can run on: each is a task queue with its own gateways. */
type WorkerKind = 'mock' | 'stripe' | 'failover';

interface Recorder {
  sandbox: Sandbox;
  temporal: Client;
  /** An AegisPay client for the path's worker, with short timers plus the given settings. */
  aegis(kind: WorkerKind, config?: AegisPayConfig): AegisPay;
}

interface PaymentPath {
  /** The fixture's file name (without .json). */
  name: string;
  worker: WorkerKind;
  /** Whether the workflow is expected to close; an open one is saved as it stands. */
  closes: boolean;
  /** Only recorded when the code has what the path needs. */
  available?: () => boolean;
  /** Drives the payment; returns its workflow ID. */
  drive(recorder: Recorder, idempotencyKey: string): Promise<string>;
}

/** A payment request with a gateway test token instead of a card number. */
function tokenPayment(
  idempotencyKey: string,
  token: string,
  overrides: Partial<CreatePaymentRequest> = {},
): CreatePaymentRequest {
  return {
    idempotencyKey,
    amount: 20,
    currency: 'USD',
    customer: { id: 'cust_replay', email: 'customer@example.com', name: 'Replay Customer' },
    paymentMethod: {
      type: 'CARD',
      details: { cardNumber: token, expiryMonth: '12', expiryYear: String(new Date().getFullYear() + 2) },
    },
    metadata: { orderId: 'order_replay' },
    ...overrides,
  };
}

const hasState = (state: string) => () => Object.hasOwn(TRANSITIONS, state);

/** A throwaway directory for the embedded payment store of the paths that project into one. */
function storeDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'aegispay-record-store-')), 'store');
}

/**
 * Pays, then asks for a refund the gateway never answers (5xx on every try) until the workflow stops
 * looking and sends the payment to review; then the gateway answers again.
 */
async function refundIntoReview(r: Recorder, aegis: AegisPay, key: string): Promise<Payment> {
  const paid = expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS');
  r.sandbox.setFaults({ errorRate: 1 }, 'stripe');
  try {
    return expectState(
      await aegis.refundPayment(paid.id, { amount: 5, refundId: 'refund_in_review' }),
      'REQUIRES_REVIEW',
    );
  } finally {
    r.sandbox.setFaults({}, 'stripe');
  }
}

/** Runs a client call and closes the client, whatever happens. */
async function using<T>(aegis: AegisPay, fn: (aegis: AegisPay) => Promise<T>): Promise<T> {
  try {
    return await fn(aegis);
  } finally {
    await aegis.close();
  }
}

async function until<T>(check: () => Promise<T | undefined | false>, what: string): Promise<T> {
  const deadline = Date.now() + CLOSE_TIMEOUT_MS;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const inState = (aegis: AegisPay, id: string, state: string) =>
  until(async () => {
    const p = await aegis.getPayment(id);
    return p.state === state ? p : undefined;
  }, `payment ${id} to be ${state}`);

function expectState(payment: Payment, state: string): Payment {
  if (payment.state !== state)
    throw new Error(`payment ${payment.id} is ${payment.state}, expected ${state}`);
  return payment;
}

const PATHS: PaymentPath[] = [
  {
    name: 'success-mock',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) =>
        expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS'),
      ).then((p) => p.id),
  },
  {
    name: 'success-mock-events-published',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock', { events: { publish: true } }), async (aegis) =>
        expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS'),
      ).then((p) => p.id),
  },
  {
    // With a payment store configured, every step is also projected (the projectPayment activity).
    name: 'success-projected-to-store',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(
        r.aegis('mock', { store: { kind: 'embedded', dataDir: storeDir() } }),
        async (aegis) => expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS').id,
      ),
  },
  {
    name: 'success-stripe',
    worker: 'stripe',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('stripe'), async (aegis) =>
        expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS'),
      ).then((p) => p.id),
  },
  {
    name: 'decline',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) =>
        expectState(await aegis.pay(tokenPayment(key, 'tok_chargeDeclined')), 'FAILURE'),
      ).then((p) => p.id),
  },
  {
    // The cheaper PAYPAL refuses connections (definitely not charged): the payment fails over to STRIPE.
    name: 'failover',
    worker: 'failover',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('failover'), async (aegis) => {
        const paid = expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS');
        if (paid.attempts.map((a) => a.gateway).join() !== 'PAYPAL,STRIPE')
          throw new Error(`expected a failover from PAYPAL to STRIPE, got ${JSON.stringify(paid.attempts)}`);
        return paid.id;
      }),
  },
  {
    // The charge is booked and its answer lost; same-key retries meet 5xx until they are spent, so only
    // the lookup (getOperationStatus) can tell, and it finds the charge.
    name: 'reconciliation-finds-charge',
    worker: 'stripe',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('stripe'), async (aegis) => {
        const charges = () => r.sandbox.ledger({ gateway: 'stripe', kind: 'charge', status: 'succeeded' });
        const before = charges().length;
        r.sandbox.setFaults({ commitThenTimeout: { next: 1 } }, 'stripe');
        const paying = aegis.pay(tokenPayment(key, 'tok_visa'));
        try {
          await until(async () => charges().length > before, 'the charge to be booked');
          r.sandbox.setFaults({ errorRate: 1 }, 'stripe');
          const id = paymentWorkflowId(key);
          await until(
            async () =>
              (await r.temporal.workflow.getHandle(id).fetchHistory()).events?.some(
                (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'getOperationStatus',
              ),
            'a status lookup',
          );
        } finally {
          r.sandbox.setFaults({}, 'stripe');
        }
        const paid = expectState(await paying, 'SUCCESS');
        if (!paid.attempts[0]?.reconciliationChecks) throw new Error('the charge was not reconciled');
        return paid.id;
      }),
  },
  {
    name: 'manual-capture-full',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const authorized = await aegis.pay(tokenPayment(key, 'tok_visa', { captureMethod: 'manual' }));
        expectState(authorized, 'AUTHORIZED');
        return expectState(await aegis.capturePayment(authorized.id), 'SUCCESS').id;
      }),
  },
  {
    name: 'manual-capture-partial',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const authorized = await aegis.pay(tokenPayment(key, 'tok_visa', { captureMethod: 'manual' }));
        expectState(authorized, 'AUTHORIZED');
        return expectState(await aegis.capturePayment(authorized.id, { amount: 12.5 }), 'SUCCESS').id;
      }),
  },
  {
    name: 'cancel-voids-authorization',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const authorized = await aegis.pay(tokenPayment(key, 'tok_visa', { captureMethod: 'manual' }));
        expectState(authorized, 'AUTHORIZED');
        return expectState(await aegis.cancelPayment(authorized.id), 'CANCELLED').id;
      }),
  },
  {
    // A partial refund by update, then the rest by the operator's `refund` signal.
    name: 'refund-partial-then-full',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const paid = expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS');
        expectState(await aegis.refundPayment(paid.id, { amount: 5 }), 'PARTIALLY_REFUNDED');
        // The rest, named explicitly: the signal's payload is plain JSON from an operator's tool.
        await r.temporal.workflow
          .getHandle(paid.id)
          .signal('refund', { amount: 15, reason: 'requested_by_customer' });
        return (await inState(aegis, paid.id, 'REFUNDED')).id;
      }),
  },
  {
    name: 'refund-idempotent-refund-id',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const paid = expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS');
        await aegis.refundPayment(paid.id, { amount: 5, refundId: 'refund_once' });
        const again = await aegis.refundPayment(paid.id, { amount: 5, refundId: 'refund_once' });
        if (again.refunds.length !== 1) throw new Error('the repeated refund ID refunded twice');
        return paid.id;
      }),
  },
  {
    name: 'three-d-secure-completed',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const pending = await aegis.pay(tokenPayment(key, 'tok_threeDSecure2Required'));
        expectState(pending, 'REQUIRES_ACTION');
        return expectState(await aegis.completePaymentAction(pending.id, { succeeded: true }), 'SUCCESS').id;
      }),
  },
  {
    name: 'three-d-secure-failed',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const pending = await aegis.pay(tokenPayment(key, 'tok_threeDSecure2Required'));
        expectState(pending, 'REQUIRES_ACTION');
        return expectState(await aegis.completePaymentAction(pending.id, { succeeded: false }), 'FAILURE').id;
      }),
  },
  {
    name: 'timer-abandoned-initiated',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock', { pendingTimeoutMs: PENDING_TIMEOUT_MS }), async (aegis) => {
        const created = await aegis.createPayment(tokenPayment(key, 'tok_visa'));
        return (await inState(aegis, created.id, 'CANCELLED')).id;
      }),
  },
  {
    name: 'timer-authorization-expiry',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock', { authorizationExpiryMs: AUTHORIZATION_EXPIRY_MS }), async (aegis) => {
        const authorized = await aegis.pay(tokenPayment(key, 'tok_visa', { captureMethod: 'manual' }));
        expectState(authorized, 'AUTHORIZED');
        return (await inState(aegis, authorized.id, 'CANCELLED')).id;
      }),
  },
  {
    name: 'timer-action-timeout',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock', { actionTimeoutMs: ACTION_TIMEOUT_MS }), async (aegis) => {
        const pending = await aegis.pay(tokenPayment(key, 'tok_threeDSecure2Required'));
        expectState(pending, 'REQUIRES_ACTION');
        return (await inState(aegis, pending.id, 'FAILURE')).id;
      }),
  },
  {
    // An operator's `cancel` signal on a captured payment is not allowed: recorded as REQUEST_REJECTED.
    name: 'operator-signal-rejected',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const paid = expectState(await aegis.pay(tokenPayment(key, 'tok_visa')), 'SUCCESS');
        await r.temporal.workflow.getHandle(paid.id).signal('cancel', { reason: 'operator' });
        await until(
          async () => (await aegis.getPaymentEvents(paid.id)).some((e) => e.type === 'REQUEST_REJECTED'),
          'the rejected request',
        );
        return paid.id;
      }),
  },
  {
    // Temporal cancellation of the workflow itself (not the payment's cancel update) while it holds an authorization.
    name: 'workflow-cancelled-while-authorized',
    worker: 'mock',
    closes: true,
    drive: (r, key) =>
      using(r.aegis('mock'), async (aegis) => {
        const authorized = await aegis.pay(tokenPayment(key, 'tok_visa', { captureMethod: 'manual' }));
        expectState(authorized, 'AUTHORIZED');
        await r.temporal.workflow.getHandle(authorized.id).cancel();
        return authorized.id;
      }),
  },
  {
    // A refund whose answer stays unknown sends the payment to REQUIRES_REVIEW; once the gateway
    // answers again, the review's recheck timer asks it and settles the review.
    name: 'review-resolved-by-recheck',
    worker: 'stripe',
    closes: true,
    available: hasState('REQUIRES_REVIEW'),
    drive: (r, key) =>
      using(
        r.aegis('stripe', { ...REVIEW_SETTINGS, reviewRecheckIntervalMs: REVIEW_RECHECK_MS }),
        async (aegis) => {
          const paid = await refundIntoReview(r, aegis, key);
          return (await inState(aegis, paid.id, 'PARTIALLY_REFUNDED')).id;
        },
      ),
  },
  {
    // The same open refund, settled by an operator's `resolveReview` signal: it did not happen.
    name: 'review-resolved-by-operator',
    worker: 'stripe',
    closes: true,
    available: hasState('REQUIRES_REVIEW'),
    drive: (r, key) =>
      using(r.aegis('stripe', REVIEW_SETTINGS), async (aegis) => {
        const paid = await refundIntoReview(r, aegis, key);
        await r.temporal.workflow.getHandle(paid.id).signal('resolveReview', {
          outcome: 'not_done',
          operator: 'ops@example.com',
          note: 'not in settlement report',
        });
        return (await inState(aegis, paid.id, 'SUCCESS')).id;
      }),
  },
];

async function waitUntilClosed(handle: WorkflowHandle): Promise<string> {
  return until(async () => {
    const status = (await handle.describe()).status.name;
    return status === 'RUNNING' ? undefined : status;
  }, `workflow ${handle.workflowId} to close`);
}

/**
 * Luhn-valid runs of 13-19 digits (standing alone, not inside a hex hash) in the decoded payloads:
 * there must be none. Payload data is base64, so a plain grep of the file would not find a card number.
 */
function cardNumbersIn(history: { events?: unknown[] | null }): string[] {
  const found: string[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (!value || typeof value !== 'object') return;
    for (const [key, inner] of Object.entries(value)) {
      if (key !== 'data' || typeof inner !== 'string') visit(inner);
      else found.push(...decodedCardNumbers(inner));
    }
  };
  visit(history);
  return found;
}

function decodedCardNumbers(base64: string): string[] {
  const text = Buffer.from(base64, 'base64').toString('utf8');
  return (text.match(/(?<![0-9A-Za-z])\d{13,19}(?![0-9A-Za-z])/g) ?? []).filter(luhnValid);
}

/** Temporal's JSON history format, laid out by the project's Prettier settings (which `npm run lint` checks). */
async function formatHistory(json: string, file: string): Promise<string> {
  return format(json, { ...(await resolveConfig(file)), filepath: file });
}

/** A started worker, to stop once every path is recorded. */
interface StartedWorker {
  stop(): Promise<void>;
}

/**
 * Starts one payment worker for each kind, on its `replay-<kind>` task queue. Each is added to `workers`
 * as soon as it runs, so that a failure later still stops the ones started.
 */
async function startWorkers(
  server: DevServer,
  sandboxUrl: string,
  kinds: Set<WorkerKind>,
  workers: StartedWorker[],
): Promise<void> {
  const stripe = (): Gateway =>
    createGateway('STRIPE', {
      apiKey: 'sk_test_aegispay',
      baseUrl: sandboxUrl,
      timeout: ADAPTER_TIMEOUT_MS,
      lookupLagMs: 0,
    });
  const refusingPaypal = createGateway('PAYPAL', {
    clientId: 'aegispay',
    clientSecret: 'secret',
    baseUrl: `http://127.0.0.1:${await freePort()}`,
    timeout: ADAPTER_TIMEOUT_MS,
  });
  const workerSetups: Record<WorkerKind, Pick<PaymentWorkerOptions, 'gateways' | 'routing'>> = {
    mock: { gateways: [new MockGateway()] },
    stripe: { gateways: [stripe()] },
    failover: {
      gateways: [refusingPaypal, stripe()],
      routing: {
        routing: {
          strategy: 'cost-optimized',
          costs: { PAYPAL: { fixed: 0, percentage: 1 }, STRIPE: { fixed: 30, percentage: 2.9 } },
        },
      },
    },
  };
  for (const kind of kinds) {
    const workerConnection = await connectWorker({ address: server.address, namespace: server.namespace });
    const worker = await createPaymentWorker({
      connection: workerConnection,
      namespace: server.namespace,
      taskQueue: `replay-${kind}`,
      logger: createLogger('SILENT'),
      shutdownGraceTime: '1s',
      eventBus: new InMemoryEventBus(),
      ...workerSetups[kind],
    });
    const running = worker.run();
    workers.push({
      async stop() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
        await workerConnection.close();
      },
    });
  }
}

/** Drives one path and writes its history to `outDir`, unless the history holds card-number-like digits. */
async function record(path: PaymentPath, recorder: Recorder, outDir: string, version: string): Promise<void> {
  const started = Date.now();
  const id = await path.drive(recorder, `replay_${version}_${path.name.replace(/-/g, '_')}`);
  const handle = recorder.temporal.workflow.getHandle(id);
  const status = path.closes ? await waitUntilClosed(handle) : (await handle.describe()).status.name;
  const file = join(outDir, `${path.name}.json`);
  const json = await formatHistory(historyToJSON(await handle.fetchHistory()), file);
  const cardNumbers = cardNumbersIn(JSON.parse(json) as { events: unknown[] });
  if (cardNumbers.length > 0) throw new Error(`card-number-like digits in history: ${cardNumbers.join()}`);
  writeFileSync(file, json);
  console.log(
    `${path.name}: ${status}, ${Math.round(json.length / 1024)} KB, ${Date.now() - started} ms -> ${file}`,
  );
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { out: { type: 'string' }, only: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const version = positionals[0];
  if (values.help || !version) {
    console.log('usage: record-histories <version> [--out <dir>] [--only name,name]');
    process.exitCode = values.help ? 0 : 1;
    return;
  }
  const outDir = resolve(values.out ?? join(__dirname, '../test/replay/histories', version));
  const only = values.only?.split(',');
  const paths = PATHS.filter((p) => (p.available?.() ?? true) && (!only || only.includes(p.name)));
  const skipped = PATHS.filter((p) => !(p.available?.() ?? true)).map((p) => p.name);

  installTemporalRuntime(createLogger('ERROR'), 'ERROR');
  const server: DevServer = await startDevServer({ port: 0, uiPort: false, dbFile: null });
  const sandbox = await startSandbox({ port: 0 });
  const connection = await Connection.connect({ address: server.address });
  const temporal = new Client({ connection, namespace: server.namespace });
  const workers: StartedWorker[] = [];
  const failures: string[] = [];
  try {
    await startWorkers(server, sandbox.url, new Set(paths.map((p) => p.worker)), workers);
    const recorder: Recorder = {
      sandbox,
      temporal,
      aegis: (kind, config = {}) =>
        new AegisPay({
          temporal: { address: server.address, namespace: server.namespace },
          taskQueue: `replay-${kind}`,
          logging: { level: 'SILENT' },
          retry: { maxRetries: 2, initialDelayMs: 10, maxDelayMs: 50, backoffMultiplier: 2 },
          gatewayTimeoutMs: 5000,
          refundWindowMs: REFUND_WINDOW_MS,
          ...config,
        }),
    };
    mkdirSync(outDir, { recursive: true });
    for (const path of paths) {
      try {
        await record(path, recorder, outDir, version);
      } catch (err) {
        failures.push(path.name);
        console.error(`${path.name}: FAILED: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  } finally {
    for (const worker of workers) await worker.stop();
    await connection.close();
    await sandbox.stop();
    await server.stop();
  }
  if (skipped.length > 0) console.log(`not in this code, skipped: ${skipped.join(', ')}`);
  if (failures.length > 0) {
    console.error(`${failures.length} path(s) not recorded: ${failures.join(', ')}`);
    process.exitCode = 1;
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
