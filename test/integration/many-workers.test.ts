import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { MockLedgerEntry } from '../../src/activities/gateways/mock/adapter';
import { paymentWorkflowId } from '../../src/domain/ids';
import type { Payment } from '../../src/domain/types';
import { cardPayment, eventually, rawClient, useTestServer, testClient, testTaskQueue } from '../helpers';

const PAYMENTS = 40;

const testServer = useTestServer();
let raw: Client;
beforeAll(async () => {
  raw = await rawClient(testServer.server);
});
afterAll(async () => {
  await raw?.connection.close();
});

interface WorkerProcess {
  child: ChildProcess;
  ledgerFile: string;
  /** The identity Temporal records for it: the SDK's default, `pid@host`. */
  identity: string;
  ready: Promise<void>;
  exited: Promise<number | null>;
}

/** Starts `src/worker.ts` as its own process with a MOCK gateway keeping a ledger of its own. */
function spawnWorker(taskQueue: string, latencyMs: number): WorkerProcess {
  const ledgerFile = join(mkdtempSync(join(tmpdir(), 'aegispay-many-')), 'ledger.json');
  const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, '../../src/worker.ts')], {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: testServer.server.address,
      AEGISPAY_TASK_QUEUE: taskQueue,
      AEGISPAY_GATEWAYS: 'MOCK',
      AEGISPAY_MOCK_LEDGER_FILE: ledgerFile,
      AEGISPAY_MOCK_LATENCY_MS: String(latencyMs),
      AEGISPAY_SHUTDOWN_GRACE_MS: '20000',
      AEGISPAY_LOG_LEVEL: 'INFO',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker started')) resolve();
    });
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    void exited.then((code) =>
      reject(new Error(`worker exited with ${code} before it was ready:\n${output}`)),
    );
  });
  return { child, ledgerFile, identity: `${child.pid}@${hostname()}`, ready, exited };
}

function charges(worker: WorkerProcess): MockLedgerEntry[] {
  if (!existsSync(worker.ledgerFile)) return [];
  const entries = JSON.parse(readFileSync(worker.ledgerFile, 'utf8')) as MockLedgerEntry[];
  return entries.filter((e) => e.operation === 'charge' && e.outcome.status === 'succeeded');
}

/** Payments whose charge activity is running right now on the worker with this identity. */
async function chargingOn(identity: string, paymentIds: string[]): Promise<string[]> {
  const running = await Promise.all(
    paymentIds.map(async (id) => {
      const { raw: description } = await raw.workflow
        .getHandle(id)
        .describe()
        .catch(() => ({ raw: { pendingActivities: [] } }));
      return (description.pendingActivities ?? []).some(
        (a) =>
          a.activityType?.name === 'chargePayment' &&
          a.state === temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED &&
          a.lastWorkerIdentity === identity,
      )
        ? id
        : undefined;
    }),
  );
  return running.filter((id): id is string => id !== undefined);
}

test('two worker processes share one task queue; SIGTERM drains one of them and no payment is lost or charged twice', async () => {
  const taskQueue = testTaskQueue();
  // A's gateway is slower, so the charges seen running on it are still running when it gets SIGTERM,
  // however long it takes this (possibly busy) machine to look.
  const [a, b] = [spawnWorker(taskQueue, 1500), spawnWorker(taskQueue, 200)];
  const aegis = testClient(testServer.server, taskQueue);
  try {
    await Promise.all([a.ready, b.ready]);

    // Payments arrive over about a second, so both workers are busy when A is asked to stop.
    const requests = Array.from({ length: PAYMENTS }, (_, i) => cardPayment({ amount: 10 + i }));
    const paying: Promise<Payment>[] = [];
    const ids = requests.map((r) => paymentWorkflowId(r.idempotencyKey));
    const started = (async () => {
      for (const request of requests) {
        paying.push(aegis.pay(request));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();

    // Stop A at a moment it has a charge in flight: the payment it belongs to must still finish on A.
    const paymentIds = await eventually(async () => {
      const inFlight = await chargingOn(a.identity, ids);
      return inFlight.length > 0 ? inFlight : undefined;
    }, 30_000);
    const chargedByABeforeStop = charges(a).map((c) => c.paymentId);
    a.child.kill('SIGTERM');

    await started;
    const payments = await Promise.all(paying);
    expect(await a.exited).toBe(0);

    // Every payment succeeded with exactly one charge across both workers' ledgers.
    expect(payments.map((p) => p.state)).toEqual(Array(PAYMENTS).fill('SUCCESS'));
    const all = [...charges(a), ...charges(b)];
    expect(all).toHaveLength(PAYMENTS);
    for (const p of payments) expect(all.filter((c) => c.paymentId === p.id)).toHaveLength(1);

    // Both workers took work, and the charges A had in flight at SIGTERM were finished by A itself
    // (a retry elsewhere would have landed in B's ledger).
    expect(charges(a).length).toBeGreaterThan(0);
    expect(charges(b).length).toBeGreaterThan(0);
    const drained = paymentIds.filter((id) => !chargedByABeforeStop.includes(id));
    expect(drained.length).toBeGreaterThan(0);
    for (const id of drained) expect(charges(a).map((c) => c.paymentId)).toContain(id);
  } finally {
    await aegis.close();
    for (const w of [a, b]) if (w.child.exitCode === null) w.child.kill('SIGTERM');
    await Promise.all([a.exited, b.exited]);
  }
}, 120_000);
