/**
 * The chaos run: payments through a client-only AegisPay while standalone workers are SIGKILLed, the
 * Temporal dev server restarts on its database file and the sandbox PSP injects faults; then every
 * payment is checked against the sandbox ledger, which is the truth about money.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { AegisPay } from '../../src/client/aegis-pay';
import { paymentWorkflowId } from '../../src/domain/ids';
import type { CreatePaymentRequest, Payment } from '../../src/domain/types';
import { FaultInjector } from '../../src/sandbox/faults';
import { startSandbox, type Faults, type LedgerEntry, type Sandbox } from '../../src/sandbox/server';
import { freePort, startDevServer, type DevServer } from '../../src/toolchain/dev-server';
import { cardPayment, TEST_CARDS } from '../helpers';

/** How far the sandbox's Stripe search lags behind its writes during the run. */
const SEARCH_LAG_MS = 1000;

/** Options of {@link runChaos}; every field has a default. */
export interface ChaosOptions {
  /** Payments with distinct idempotency keys. */
  payments: number;
  /** How many of them are in flight at once. */
  concurrency: number;
  /** Spread the payments' starts over this long (0: as fast as `concurrency` allows). */
  durationMs: number;
  /** Keys that get concurrent duplicate `pay()` calls, and how many calls each. */
  duplicateKeys: number;
  duplicatesPerKey: number;
  /** One of the two workers is SIGKILLed about this long after each start. */
  killEveryMs: number;
  maxKills: number;
  /** Stop and restart the dev server on its database file once half the payments have finished. */
  serverRestart: boolean;
  /** How long the server stays down: beyond the SDK's own ~20 s of gRPC retries, calls fail and are retried here. */
  serverDownMs: number;
  /** Faults of both sandbox gateways while payments run. */
  faults: Faults;
  /** How long payments may take to settle once the faults are cleared. */
  settleTimeoutMs: number;
  log: (line: string) => void;
}

/** A broken invariant, with the payments involved. */
export interface Violation {
  rule: string;
  paymentIds: string[];
  detail: string;
}

/** What a chaos run did and found. */
export interface ChaosReport {
  violations: Violation[];
  /** Odd but not money-breaking outcomes (a success card that failed, a call that gave up). */
  anomalies: Violation[];
  payments: number;
  duplicateCalls: number;
  states: Record<string, number>;
  ledger: { charges: number; captures: number; voids: number; refunds: number; refundedMinor: number };
  workerKills: number;
  workerUnexpectedExits: number;
  serverRestarts: number;
  /** Time from the restarted server being ready to the client answering and both workers polling again. */
  reconnectMs: { client?: number; workers?: number };
  clientRetries: number;
  /** Payments whose charge took more than one attempt, or was settled by asking the gateway (getStatus). */
  retried: { attempts: number; reconciled: number; failedOver: number };
  /** Charges by gateway, from the ledger. */
  byGateway: Record<string, number>;
  faults: Record<string, number>;
  durationMs: number;
}

const DEFAULTS: ChaosOptions = {
  payments: 500,
  concurrency: 30,
  durationMs: 0,
  duplicateKeys: 20,
  duplicatesPerKey: 10,
  killEveryMs: 5000,
  maxKills: Infinity,
  serverRestart: true,
  serverDownMs: 25_000,
  // Stripe's search lags its writes, as the real one does: reconciliation must wait it out.
  faults: {
    errorRate: 0.1,
    commitThenTimeout: 0.1,
    latencyMs: { min: 0, max: 300 },
    searchLagMs: SEARCH_LAG_MS,
  },
  settleTimeoutMs: 180_000,
  log: (line) => console.log(line),
};

const ROOT = join(__dirname, '../..');
const TASK_QUEUE = 'aegispay-chaos';
/** Codes that are the payment's answer to a call: anything else (unavailable, timeouts) is retried. */
const ANSWERS = new Set([
  'VALIDATION_ERROR',
  'IDEMPOTENCY_CONFLICT',
  'INVALID_STATE_TRANSITION',
  'REFUND_EXCEEDS_CAPTURED',
  'PAYMENT_NOT_FOUND',
]);
const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const CAPTURED = new Set(['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED']);
const UNSETTLED = new Set(['INITIATED', 'PROCESSING']);

type Kind =
  'success' | 'declined' | 'insufficient' | 'capture-full' | 'capture-half' | 'refund-part' | 'refund-all';
/** 20 slots: 60% plain success, 10% declines, 15% manual capture, 15% refunds. */
const MIX: Kind[] = [
  ...Array<Kind>(12).fill('success'),
  'declined',
  'insufficient',
  'capture-full',
  'capture-full',
  'capture-half',
  'refund-part',
  'refund-part',
  'refund-all',
];

interface Plan {
  key: string;
  id: string;
  kind: Kind;
  request: CreatePaymentRequest;
  /** Payment IDs every `pay()` call for this key answered with. */
  answeredIds: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Runs the chaos scenario and checks the invariants; never throws for a violation, only reports it. */
export async function runChaos(overrides: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const o: ChaosOptions = { ...DEFAULTS, ...overrides };
  const started = Date.now();
  const violations: Violation[] = [];
  const anomalies: Violation[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'aegispay-chaos-'));
  const faultCounts = countFaults();
  let sandbox: Sandbox | undefined;
  let server: DevServer | undefined;
  let workers: WorkerPool | undefined;
  let aegis: AegisPay | undefined;
  let serverRestarts = 0;
  let clientRetries = 0;
  const reconnectMs: ChaosReport['reconnectMs'] = {};
  try {
    sandbox = await startSandbox({ port: 0 });
    // A fixed port: clients and workers must find the restarted server where they left it.
    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    server = await startDevServer({ port, uiPort: false, dbFile });
    o.log(`dev server ${server.address} (db ${dbFile}), sandbox ${sandbox.url}`);
    workers = new WorkerPool(workerEnv(server.address, sandbox.url), o.log);
    await workers.start();
    aegis = new AegisPay({
      temporal: { address: server.address, namespace: server.namespace },
      taskQueue: TASK_QUEUE,
      logging: { level: 'SILENT' },
      retry: { maxRetries: 3, initialDelayMs: 200, maxDelayMs: 2000, backoffMultiplier: 2 },
      gatewayTimeoutMs: 8000,
    });
    const client = aegis;
    sandbox.setFaults(o.faults);
    faultCounts.reset();

    /** Calls until the payment answers: unavailable servers and lost responses are retried as they are. */
    const untilAnswered = async <T>(call: () => Promise<T>): Promise<T> => {
      const giveUpAt = Date.now() + o.settleTimeoutMs;
      for (let attempt = 0; ; attempt++) {
        try {
          return await call();
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if ((typeof code === 'string' && ANSWERS.has(code)) || Date.now() > giveUpAt) throw err;
          clientRetries++;
          await sleep(Math.min(250 * 2 ** attempt, 3000));
        }
      }
    };
    /** A same-request call answered with an error breaks the contract; one that never got an answer is odd. */
    const answerOrGaveUp = (err: unknown) =>
      ANSWERS.has(String((err as { code?: unknown }).code)) ? violations : anomalies;
    const runId = randomUUID().slice(0, 6);
    const plans = Array.from({ length: o.payments }, (_, i) =>
      plan(`chaos_${runId}_${i}`, MIX[i % MIX.length]!, i),
    );
    const dupPlans = Array.from({ length: o.duplicateKeys }, (_, i) =>
      plan(`chaos_${runId}_dup${i}`, 'success', i),
    );

    o.log(`${o.payments} payments, ${o.duplicateKeys * o.duplicatesPerKey} duplicate calls; chaos on`);
    workers.startKilling(o.killEveryMs, o.maxKills);
    let restart: Promise<void> | undefined;
    const duplicates = Promise.all(
      dupPlans.flatMap((p) =>
        Array.from({ length: o.duplicatesPerKey }, () =>
          untilAnswered(() => client.pay(p.request)).then(
            (paid) => void p.answeredIds.push(paid.id),
            (err: unknown) => answerOrGaveUp(err).push(problem('duplicate-call-failed', [p.id], err)),
          ),
        ),
      ),
    );
    let finished = 0;
    await pool(plans, o.concurrency, async (p, i) => {
      if (o.durationMs > 0) await sleep(started + (i * o.durationMs) / o.payments - Date.now());
      try {
        await drive(client, p, untilAnswered, anomalies);
      } catch (err) {
        answerOrGaveUp(err).push(problem('call-failed', [p.id], err));
      }
      // Halfway through, while the other half is in flight.
      if (o.serverRestart && !restart && ++finished >= o.payments / 2) {
        restart = restartServer().catch((err: unknown) => {
          violations.push(problem('server-restart-failed', [], err));
        });
      }
    });
    await duplicates;
    await restart;
    workers.stopKilling();
    sandbox.setFaults({});
    o.log(`all calls answered after ${secs(Date.now() - started)}; faults cleared, settling`);

    const all = [...plans, ...dupPlans];
    const finals = await settle(client, all, o.settleTimeoutMs, violations);
    verify(all, finals, sandbox.ledger(), violations, anomalies);
    const states: Record<string, number> = {};
    for (const p of finals.values()) states[p.state] = (states[p.state] ?? 0) + 1;
    const ledger = sandbox.ledger({ status: 'succeeded' });
    const kinds = (...k: LedgerEntry['kind'][]) => ledger.filter((e) => k.includes(e.kind));
    return {
      violations,
      anomalies,
      payments: all.length,
      duplicateCalls: o.duplicateKeys * o.duplicatesPerKey,
      states,
      ledger: {
        charges: kinds('charge', 'authorization').length,
        captures: kinds('capture').length,
        voids: kinds('void').length,
        refunds: kinds('refund').length,
        refundedMinor: kinds('refund').reduce((s, e) => s + e.amount, 0),
      },
      workerKills: workers.kills,
      workerUnexpectedExits: workers.unexpectedExits,
      serverRestarts,
      reconnectMs,
      clientRetries,
      retried: {
        attempts: [...finals.values()].filter((p) => p.attempts.length > 1).length,
        reconciled: [...finals.values()].filter((p) => p.attempts.some((a) => a.reconciliationChecks)).length,
        failedOver: [...finals.values()].filter((p) => new Set(p.attempts.map((a) => a.gateway)).size > 1)
          .length,
      },
      byGateway: Object.fromEntries(
        ['stripe', 'paypal'].map((g) => [
          g,
          kinds('charge', 'authorization').filter((e) => e.gateway === g).length,
        ]),
      ),
      faults: { ...faultCounts.counts },
      durationMs: Date.now() - started,
    };

    async function restartServer(): Promise<void> {
      o.log('stopping the dev server');
      await server!.stop();
      await sleep(o.serverDownMs);
      server = await startDevServer({ port, uiPort: false, dbFile });
      serverRestarts++;
      const ready = Date.now();
      o.log(`dev server restarted on ${server.address}; waiting for the client and the workers to reconnect`);
      const deadline = ready + 60_000;
      await eventually(async () => client.getPayment(plans[0]!.id).then(() => true), deadline).then(
        () => (reconnectMs.client = Date.now() - ready),
        () => violations.push({ rule: 'client-no-reconnect', paymentIds: [], detail: 'no answer in 60 s' }),
      );
      await eventually(() => workers!.allPolling(server!), deadline).then(
        () => (reconnectMs.workers = Date.now() - ready),
        () =>
          violations.push({
            rule: 'worker-no-reconnect',
            paymentIds: [],
            detail: `worker pids ${workers!.pids().join(', ')} not all polling 60 s after the restart`,
          }),
      );
      o.log(`reconnected: client ${reconnectMs.client ?? '-'} ms, workers ${reconnectMs.workers ?? '-'} ms`);
    }
  } finally {
    faultCounts.restore();
    await aegis?.close().catch(() => undefined);
    await workers?.stop();
    await server?.stop();
    await sandbox?.stop();
    if (violations.length === 0) rmSync(dir, { recursive: true, force: true });
    else {
      // The Temporal database is there already; the ledger (in memory) is kept beside it.
      if (sandbox) writeFileSync(join(dir, 'ledger.json'), JSON.stringify(sandbox.ledger(), null, 1));
      o.log(`kept ${dir} (temporal.db, ledger.json) for inspection`);
    }
  }
}

function plan(key: string, kind: Kind, i: number): Plan {
  const manual = kind === 'capture-full' || kind === 'capture-half';
  const cardNumber =
    kind === 'declined'
      ? TEST_CARDS.declined
      : kind === 'insufficient'
        ? TEST_CARDS.insufficientFunds
        : TEST_CARDS.success;
  const request = cardPayment({
    idempotencyKey: key,
    amount: (1000 + ((i * 3701) % 49_000)) / 100,
    cardNumber,
    customer: { id: `chaos_cust_${i % 10}`, email: 'chaos@example.com', name: 'Chaos Monkey' },
    ...(manual ? { captureMethod: 'manual' as const } : {}),
  });
  return { key, id: paymentWorkflowId(key), kind, request, answeredIds: [] };
}

/** One payment's life: pay, then capture or refund as its kind says, each call retried until answered. */
async function drive(
  aegis: AegisPay,
  p: Plan,
  untilAnswered: <T>(call: () => Promise<T>) => Promise<T>,
  anomalies: Violation[],
): Promise<void> {
  let payment = await untilAnswered(() => aegis.pay(p.request));
  p.answeredIds.push(payment.id);
  if (UNSETTLED.has(payment.state)) {
    anomalies.push({
      rule: 'pay-answered-unsettled',
      paymentIds: [p.id],
      detail: `pay() returned ${payment.state}`,
    });
    return;
  }
  if (payment.state === 'AUTHORIZED') {
    const amount = p.kind === 'capture-half' ? Math.floor(payment.amount.amount / 2) / 100 : undefined;
    // A retried capture whose first try went through finds the payment captured: that is the answer.
    payment = await untilAnswered(() =>
      aegis.capturePayment(p.id, amount === undefined ? {} : { amount }).catch(async (err: unknown) => {
        const now = await aegis.getPayment(p.id);
        if (now.state === 'SUCCESS') return now;
        throw err;
      }),
    );
  }
  if (payment.state !== 'SUCCESS' || !p.kind.startsWith('refund')) return;
  // refundId makes the retries idempotent; the second refund takes whatever is left.
  await untilAnswered(() => aegis.refundPayment(p.id, { amount: 1, refundId: `${p.key}_r1` }));
  if (p.kind === 'refund-all')
    await untilAnswered(() => aegis.refundPayment(p.id, { refundId: `${p.key}_r2` }));
}

/** Polls every payment until none is INITIATED or PROCESSING, or the deadline passes. */
async function settle(
  aegis: AegisPay,
  plans: Plan[],
  timeoutMs: number,
  violations: Violation[],
): Promise<Map<string, Payment>> {
  const finals = new Map<string, Payment>();
  const deadline = Date.now() + timeoutMs;
  let pending = plans;
  while (pending.length > 0) {
    const lost: string[] = [];
    await pool(pending, 20, async (p) => {
      try {
        finals.set(p.id, await aegis.getPayment(p.id));
      } catch (err) {
        if ((err as { code?: string }).code === 'PAYMENT_NOT_FOUND') lost.push(p.id);
      }
    });
    if (lost.length > 0)
      violations.push({ rule: 'payment-lost', paymentIds: lost, detail: 'no workflow for the key' });
    pending = pending.filter(
      (p) => !lost.includes(p.id) && (!finals.has(p.id) || UNSETTLED.has(finals.get(p.id)!.state)),
    );
    if (pending.length === 0) break;
    if (Date.now() > deadline) {
      violations.push({
        rule: 'unsettled',
        paymentIds: pending.map((p) => p.id),
        detail: `not settled ${timeoutMs / 1000} s after the faults were cleared`,
      });
      break;
    }
    await sleep(1000);
  }
  return finals;
}

/** Checks every payment's view against the sandbox ledger. */
function verify(
  plans: Plan[],
  finals: Map<string, Payment>,
  ledger: LedgerEntry[],
  violations: Violation[],
  anomalies: Violation[],
): void {
  const flag = (list: Violation[], rule: string, id: string, detail: string) => {
    const found = list.find((v) => v.rule === rule);
    if (found) found.paymentIds.push(id);
    else list.push({ rule, paymentIds: [id], detail });
  };
  const known = new Set(plans.map((p) => p.id));
  const orphans = ledger.filter((e) => e.status === 'succeeded' && (!e.paymentId || !known.has(e.paymentId)));
  if (orphans.length > 0) {
    violations.push({
      rule: 'orphan-ledger-entry',
      paymentIds: [...new Set(orphans.map((e) => e.paymentId ?? e.payment))],
      detail: 'money moved for a payment the driver never made',
    });
  }
  const byPayment = new Map<string, LedgerEntry[]>();
  for (const e of ledger)
    if (e.status === 'succeeded' && e.paymentId)
      byPayment.set(e.paymentId, [...(byPayment.get(e.paymentId) ?? []), e]);

  for (const p of plans) {
    const ids = new Set(p.answeredIds);
    if (ids.size > 1 || (ids.size === 1 && !ids.has(p.id))) {
      flag(
        violations,
        'one-key-two-payments',
        p.id,
        `calls for one key answered with ${[...ids].join(', ')}`,
      );
    }
    const view = finals.get(p.id);
    if (!view) continue;
    const entries = byPayment.get(p.id) ?? [];
    const sum = (kind: LedgerEntry['kind']) =>
      entries.filter((e) => e.kind === kind).reduce((s, e) => s + e.amount, 0);
    const charges = entries.filter((e) => e.kind === 'charge' || e.kind === 'authorization');
    const captured = sum('charge') + sum('capture');
    const refunded = sum('refund');
    if (CAPTURED.has(view.state)) {
      if (charges.length !== 1) {
        flag(
          violations,
          'not-exactly-one-charge',
          p.id,
          'a captured payment needs exactly one charge (both gateways)',
        );
      } else if (charges[0]!.amount !== view.amount.amount)
        flag(violations, 'charge-amount', p.id, 'ledger charge differs from the payment amount');
      if (captured !== view.amounts.captured)
        flag(violations, 'captured-mismatch', p.id, 'ledger captures differ from amounts.captured');
    } else if (charges.length > 1) {
      flag(violations, 'not-exactly-one-charge', p.id, 'more than one charge in the ledger');
    }
    if (view.state === 'FAILURE' && charges.length > 0)
      flag(violations, 'failed-but-charged', p.id, 'a FAILURE holds a charge');
    if (view.state === 'CANCELLED' && (captured > 0 || (charges.length > 0 && sum('void') === 0))) {
      flag(
        violations,
        'cancelled-but-held',
        p.id,
        'a CANCELLED payment was captured or its authorization not voided',
      );
    }
    if (refunded > captured)
      flag(violations, 'over-refund-ledger', p.id, 'ledger refunds exceed ledger captures');
    if (view.amounts.refunded > view.amounts.captured)
      flag(violations, 'over-refund-view', p.id, 'amounts.refunded > amounts.captured');
    if (refunded !== view.amounts.refunded)
      flag(violations, 'refunded-mismatch', p.id, 'ledger refunds differ from amounts.refunded');
    const declined = p.kind === 'declined' || p.kind === 'insufficient';
    if (declined && view.state !== 'FAILURE')
      flag(violations, 'declined-card-not-failed', p.id, 'a declining card did not end in FAILURE');
    if (!declined && view.state === 'FAILURE') {
      flag(
        anomalies,
        'success-card-failed',
        p.id,
        `a succeeding card ended in FAILURE (${view.failure?.code})`,
      );
    }
    if (view.state === 'AUTHORIZED')
      flag(anomalies, 'never-captured', p.id, 'the capture never went through');
    if (view.refunds.some((r) => r.status === 'failed'))
      flag(anomalies, 'refund-failed', p.id, 'a refund ended REFUND_FAILED');
  }
}

function problem(rule: string, paymentIds: string[], err: unknown): Violation {
  const e = err as { code?: string; message?: string };
  return { rule, paymentIds, detail: `${e.code ?? 'error'}: ${e.message ?? String(err)}` };
}

/** Runs `fn` over `items` with at most `n` at once. */
async function pool<T>(items: T[], n: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}

async function eventually(check: () => Promise<boolean>, deadline: number): Promise<void> {
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(250);
  }
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Counts the faults the sandbox injects, by wrapping its fault injector (the sandbox does not count them). */
function countFaults() {
  const proto = FaultInjector.prototype;
  const original = { rate: proto.rate, roll: proto.roll, latency: proto.latency };
  const counts: Record<string, number> = {};
  let on = false;
  const bump = (name: string, by = 1) => on && (counts[name] = (counts[name] ?? 0) + by);
  proto.rate = function (gateway, name) {
    const hit = original.rate.call(this, gateway, name);
    if (hit) bump(name);
    return hit;
  };
  proto.roll = function (gateway, name) {
    const hit = original.roll.call(this, gateway, name);
    if (hit) bump(name);
    return hit;
  };
  proto.latency = function (gateway) {
    const ms = original.latency.call(this, gateway);
    if (ms > 0) bump('latencyTotalMs', Math.round(ms));
    return ms;
  };
  return {
    counts,
    reset: () => ((on = true), Object.keys(counts).forEach((k) => delete counts[k])),
    restore: () => Object.assign(proto, original),
  };
}

function workerEnv(address: string, sandboxUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TEMPORAL_ADDRESS: address,
    AEGISPAY_TASK_QUEUE: TASK_QUEUE,
    AEGISPAY_GATEWAYS: 'STRIPE,PAYPAL',
    STRIPE_API_KEY: 'sk_test_chaos',
    STRIPE_BASE_URL: sandboxUrl,
    // Set above the sandbox's search lag, as a deployment sets it above Stripe's.
    STRIPE_LOOKUP_LAG_MS: String(SEARCH_LAG_MS * 2),
    PAYPAL_CLIENT_ID: 'chaos',
    PAYPAL_CLIENT_SECRET: 'chaos-secret',
    PAYPAL_BASE_URL: sandboxUrl,
    AEGISPAY_GATEWAY_TIMEOUT_MS: '2000',
    // Round-robin keeps both gateways busy, so faults and failover hit both.
    AEGISPAY_ROUTING: JSON.stringify({ strategy: 'round-robin' }),
    AEGISPAY_LOG_LEVEL: 'INFO',
    AEGISPAY_SHUTDOWN_GRACE_MS: '1000',
  };
}

interface Slot {
  child?: ChildProcess;
  ready: boolean;
  killedOnPurpose: boolean;
  output: string[];
}

/**
 * Two `src/worker.ts` processes, each restarted whenever it exits; slot 0 is SIGKILLed on a timer.
 * Every child is killed when the pool stops or this process exits.
 */
class WorkerPool {
  kills = 0;
  unexpectedExits = 0;
  private readonly slots: Slot[] = [0, 1].map(() => ({ ready: false, killedOnPurpose: false, output: [] }));
  private running: Promise<void>[] = [];
  private stopping = false;
  private killing = false;
  private killer?: Promise<void>;
  private readonly killAll = () => this.slots.forEach((s) => s.child?.kill('SIGKILL'));

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly log: (line: string) => void,
  ) {}

  /** Starts both workers and resolves once both are ready. */
  async start(): Promise<void> {
    process.on('exit', this.killAll);
    this.running = this.slots.map((slot, i) => this.keepAlive(slot, i));
    await eventually(async () => this.slots.every((s) => s.ready), Date.now() + 120_000);
  }

  /** SIGKILLs slot 0 a random 0.5–1.5 × `everyMs` after each time it is ready, up to `max` times. */
  startKilling(everyMs: number, max: number): void {
    this.killing = true;
    const victim = this.slots[0]!;
    this.killer = (async () => {
      while (this.killing && this.kills < max) {
        await eventually(async () => victim.ready || !this.killing, Infinity);
        await sleep(everyMs * (0.5 + Math.random()));
        if (!this.killing || !victim.ready) continue;
        victim.killedOnPurpose = true;
        victim.child?.kill('SIGKILL');
        victim.ready = false;
        this.kills++;
      }
    })();
  }

  stopKilling(): Promise<void> | undefined {
    this.killing = false;
    return this.killer;
  }

  pids(): number[] {
    return this.slots.map((s) => s.child?.pid ?? 0);
  }

  /** True when every worker process is running and polls the task queue of the given server. */
  async allPolling(server: DevServer): Promise<boolean> {
    if (!this.slots.every((s) => s.ready)) return false;
    const connection = await Connection.connect({ address: server.address, connectTimeout: 2000 });
    try {
      // Workflow (1) and activity (2) task pollers; a worker's default identity is `pid@host`.
      for (const taskQueueType of [1, 2]) {
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: server.namespace,
          taskQueue: { name: TASK_QUEUE },
          taskQueueType,
        });
        const polling = new Set((pollers ?? []).map((p) => Number(p.identity?.split('@')[0])));
        if (!this.pids().every((pid) => polling.has(pid))) return false;
      }
      return true;
    } finally {
      await connection.close();
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.killing = false;
    await this.killer;
    for (const s of this.slots) s.child?.kill('SIGKILL');
    await Promise.all(this.running);
    process.off('exit', this.killAll);
  }

  private async keepAlive(slot: Slot, index: number): Promise<void> {
    while (!this.stopping) {
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/worker.ts')], {
        cwd: ROOT,
        env: this.env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      slot.child = child;
      slot.output = [];
      // The output is drained (a full pipe would block the worker) and its tail kept for diagnosis.
      const keep = (chunk: Buffer) => {
        slot.output.push(...chunk.toString().split('\n').filter(Boolean));
        slot.output.splice(0, Math.max(0, slot.output.length - 50));
        if (!slot.ready && slot.output.some((line) => line.includes('worker started'))) slot.ready = true;
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      const code = await new Promise<number | string>((r) => child.once('exit', (c, s) => r(c ?? s ?? '?')));
      slot.ready = false;
      if (this.stopping) return;
      if (!slot.killedOnPurpose) {
        this.unexpectedExits++;
        const last = (slot.output.at(-1) ?? '').replace(ANSI_COLOR, '').slice(0, 300);
        this.log(`worker ${index} exited on its own (${code}), restarting it: ${last}`);
        await sleep(1000);
      }
      slot.killedOnPurpose = false;
    }
  }
}

/** The run's summary table. */
export function formatReport(r: ChaosReport): string {
  const rows: [string, string][] = [
    ['payments (distinct keys)', String(r.payments)],
    ...Object.entries(r.states)
      .sort()
      .map(([state, n]): [string, string] => [`  ${state}`, String(n)]),
    ['duplicate pay() calls', String(r.duplicateCalls)],
    [
      'ledger charges + authorizations',
      `${r.ledger.charges} (${Object.entries(r.byGateway)
        .map(([g, n]) => `${g} ${n}`)
        .join(', ')})`,
    ],
    ['ledger captures / voids', `${r.ledger.captures} / ${r.ledger.voids}`],
    ['ledger refunds (minor units)', `${r.ledger.refunds} (${r.ledger.refundedMinor})`],
    ['worker kills (SIGKILL)', String(r.workerKills)],
    ['worker exits on their own', String(r.workerUnexpectedExits)],
    ['server restarts', String(r.serverRestarts)],
    ['reconnect client / workers (ms)', `${r.reconnectMs.client ?? '-'} / ${r.reconnectMs.workers ?? '-'}`],
    ['client call retries', String(r.clientRetries)],
    ['payments charged in >1 attempt', String(r.retried.attempts)],
    ['  reconciled via getStatus', String(r.retried.reconciled)],
    ['  failed over to the other gateway', String(r.retried.failedOver)],
    ['faults: 5xx', String(r.faults.errorRate ?? 0)],
    ['faults: commit-then-timeout', String(r.faults.commitThenTimeout ?? 0)],
    ['faults: latency injected (s)', ((r.faults.latencyTotalMs ?? 0) / 1000).toFixed(1)],
    ['duration', secs(r.durationMs)],
    ['violations', String(r.violations.length)],
    ['anomalies', String(r.anomalies.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const list = (title: string, items: Violation[]) =>
    items.map((v) => `${title} ${v.rule}: ${v.detail}\n    ${v.paymentIds.join(', ') || '(no payment)'}`);
  return [...lines, ...list('VIOLATION', r.violations), ...list('anomaly', r.anomalies)].join('\n');
}
