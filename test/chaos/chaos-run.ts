/**
 * The chaos run: payments through a client-only AegisPay while standalone workers are SIGKILLed, the
 * Temporal dev server restarts on its database file, the sandbox PSP draws a new fault scenario per
 * gateway every few seconds (test/chaos/fault-schedule.ts) and an operator sends hostile signals,
 * updates and cancellations (test/chaos/operator.ts). The workers project every payment into the payment
 * store (PostgreSQL when its binaries are here, stopped for a few seconds mid-run; else the embedded
 * store). Then every payment is checked against the sandbox ledger, which is the truth about money
 * (test/chaos/money-invariants.ts), and the store against the workflow and the ledger
 * (test/chaos/store-check.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { AegisPay } from '../../src/embedded/aegis-pay';
import { resolveConnection, type TemporalConnectionConfig } from '../../src/temporal/connection';
import { environmentVariables } from '../../scripts/cluster/cluster';
import { clusterConnection } from '../../scripts/cluster/namespace';
import type { ClusterState } from '../../scripts/cluster/state';
import { clusterStoreDatabase, crashService, databaseOutage } from './cluster-faults';
import { paymentWorkflowId } from '../../src/domain/ids';
import type { CreatePaymentRequest, DomainEvent, Payment } from '../../src/domain/types';
import { startSandbox, type LedgerEntry, type Sandbox } from '../../src/sandbox/server';
import { openPaymentStore, type PaymentStore, type StoreConfig } from '../../src/store';
import { freePort, startDevServer, type DevServer } from '../../src/toolchain/dev-server';
import { cardPayment, TEST_CARDS } from '../helpers';
import { openWork } from '../helpers/open-work';
import { byKind, countFaults, FaultSchedule } from './fault-schedule';
import { refundAsk } from './hostile-payloads';
import { INVARIANTS, moneyViolations, sandboxBooks, type RefundAsks } from './money-invariants';
import { ChaosOperator } from './operator';
import {
  postgresBinariesPresent,
  startRestartablePostgres,
  type RestartablePostgres,
} from './restartable-postgres';
import { ledgerAmounts, projectionAttempts, STORE_RULES, storeViolations } from './store-check';

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
  /** Each gateway draws a new fault scenario this often; 0 runs without faults. */
  faultPhaseMs: number;
  /** One pending object in this many is settled as failed, the others as succeeded. */
  pendingFailEvery: number;
  /** The operator acts this often (0: never); this share of its actions are Temporal cancellations. */
  operatorEveryMs: number;
  cancelShare: number;
  /** Client settings that decide how soon an open outcome goes to review and is looked at again. */
  reconciliationWindowMs: number;
  reviewRecheckIntervalMs: number;
  /**
   * How long payments may take to settle once the faults are cleared; how long one in review is waited
   * for (by its driver before a follow-up, and at the end) before it counts as left for a person.
   */
  settleTimeoutMs: number;
  reviewGraceMs: number;
  /** The payment store: PostgreSQL when its binaries are present (`auto`), else the embedded one. */
  store: 'auto' | 'postgres' | 'embedded';
  /** PostgreSQL is stopped for this long once a quarter of the payments have finished (0: never). */
  storeDownMs: number;
  /** How long the store may take, after the run settled, to hold every workflow's last step. */
  storeCatchUpMs: number;
  /**
   * Run on the local cluster (`npm run cluster`) instead of a dev server: the server fault SIGKILLs and
   * restarts history, then matching; the store fault stops the cluster's PostgreSQL (Temporal's and the
   * store's database server) for `storeDownMs`.
   */
  cluster?: ClusterState;
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
  /** On the cluster: the same, after each service's SIGKILL and restart. */
  serviceRecoveryMs: Record<string, { client?: number; workers?: number }>;
  clientRetries: number;
  /** Payments whose charge took more than one attempt, or was settled by asking the gateway (getStatus). */
  retried: { attempts: number; reconciled: number; failedOver: number; declinesByLookup: number };
  /** Payments that went through REQUIRES_REVIEW, and how their reviews were settled. */
  reviews: { payments: number; byGateway: number; stillOpen: number };
  /** Charges by gateway, from the ledger. */
  byGateway: Record<string, number>;
  /** Injected faults by `kind on operations`, and summed by kind. */
  faults: Record<string, number>;
  faultsByKind: Record<string, number>;
  /** How often each fault scenario was drawn (per gateway and phase). */
  scenarios: Record<string, number>;
  /** Pending objects the run settled, by outcome. */
  pendingSettled: { succeeded: number; failed: number };
  /** The operator's actions by kind and outcome. */
  operator: Record<string, number>;
  store: StoreReport;
  /** Broken invariants by rule (payments), every rule listed. */
  violationsByRule: Record<string, number>;
  durationMs: number;
}

/** The payment store's part of the run. */
export interface StoreReport {
  backend: 'postgres' | 'embedded';
  /** On the cluster: the Temporal services that died while the database was down (and were restarted). */
  servicesRestarted?: string[];
  /** Database stops and starts, and how long it was unreachable in all. */
  restarts: number;
  downMs: number;
  /** `projectPayment` activities in the workflows' histories; those that needed more than one attempt. */
  projections: number;
  retriedProjections: number;
  extraAttempts: number;
  /** Why a retried projection's last failed attempt failed (`timeout` or the error's first words). */
  lastFailures: Record<string, number>;
  /** Payments compared, and how long until the store held the last workflow's last step. */
  compared: number;
  catchUpMs: number;
  /** Payments whose store row never reached the workflow's version within `storeCatchUpMs`. */
  behind: number;
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
  faultPhaseMs: 2000,
  pendingFailEvery: 4,
  operatorEveryMs: 100,
  cancelShare: 0.1,
  reconciliationWindowMs: 3000,
  reviewRecheckIntervalMs: 1000,
  settleTimeoutMs: 180_000,
  reviewGraceMs: 20_000,
  store: 'auto',
  storeDownMs: 5000,
  storeCatchUpMs: 60_000,
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
/** A follow-up the gateway keeps refusing is given up after this many tries (the payment stays as it is). */
const FOLLOW_UP_TRIES = 8;
/** Queries of a settled payment are tried this often before its workflow counts as unreadable. */
const QUERY_TRIES = 5;
const ANSI_COLOR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const CAPTURED = new Set(['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED']);
const UNSETTLED = new Set(['INITIATED', 'PROCESSING', 'REQUIRES_REVIEW']);

type Kind =
  'success' | 'declined' | 'insufficient' | 'capture-full' | 'capture-half' | 'refund-part' | 'refund-all';
/** 20 slots: 55% plain success, 15% declines, 15% manual capture, 15% refunds. */
const MIX: Kind[] = [
  ...Array<Kind>(11).fill('success'),
  'declined',
  'insufficient',
  'declined',
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
  /** Set once the first `pay()` call went out: from then on the operator may pick it. */
  started: boolean;
  /** Every refund asked for, whoever asked. */
  asks: RefundAsks;
}

type UntilAnswered = <T>(call: () => Promise<T>, tries?: number) => Promise<T>;

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
  let raw: Client | undefined;
  let schedule: FaultSchedule | undefined;
  let operator: ChaosOperator | undefined;
  let postgres: RestartablePostgres | undefined;
  let checkStore: PaymentStore | undefined;
  let serverRestarts = 0;
  let clientRetries = 0;
  const cluster = o.cluster;
  const backend = cluster
    ? 'postgres'
    : o.store === 'auto'
      ? postgresBinariesPresent()
        ? 'postgres'
        : 'embedded'
      : o.store;
  const storeOutage: Pick<StoreReport, 'restarts' | 'downMs' | 'servicesRestarted'> = {
    restarts: 0,
    downMs: 0,
  };
  const recovery: ChaosReport['serviceRecoveryMs'] = {};
  const reconnectMs: ChaosReport['reconnectMs'] = {};
  try {
    sandbox = await startSandbox({ port: 0 });
    // A fixed port: clients and workers must find the restarted server where they left it.
    const port = await freePort();
    const dbFile = join(dir, 'temporal.db');
    let temporal: TemporalConnectionConfig;
    let temporalEnv: NodeJS.ProcessEnv;
    if (cluster) {
      temporal = clusterConnection(cluster);
      temporalEnv = environmentVariables(cluster);
      o.log(`cluster ${temporal.address} (mTLS ${cluster.tls ? 'on' : 'off'}), sandbox ${sandbox.url}`);
    } else {
      server = await startDevServer({ port, uiPort: false, dbFile });
      temporal = { address: server.address, namespace: server.namespace };
      temporalEnv = { TEMPORAL_ADDRESS: server.address };
      o.log(`dev server ${server.address} (db ${dbFile}), sandbox ${sandbox.url}`);
    }
    if (backend === 'postgres' && !cluster) postgres = await startRestartablePostgres();
    const storeConfig: StoreConfig = cluster
      ? { kind: 'postgres', connectionString: await clusterStoreDatabase(cluster) }
      : postgres
        ? { kind: 'postgres', connectionString: postgres.url }
        : { kind: 'embedded', dataDir: join(dir, 'store') };
    o.log(
      `payment store: ${storeConfig.kind === 'postgres' ? storeConfig.connectionString : `embedded in ${join(dir, 'store')}`}`,
    );
    workers = new WorkerPool(workerEnv(temporalEnv, sandbox.url, storeConfig), o.log);
    await workers.start();
    aegis = new AegisPay({
      temporal,
      taskQueue: TASK_QUEUE,
      logging: { level: 'SILENT' },
      retry: { maxRetries: 3, initialDelayMs: 200, maxDelayMs: 2000, backoffMultiplier: 2 },
      gatewayTimeoutMs: 8000,
      reconciliationWindowMs: o.reconciliationWindowMs,
      reviewRecheckIntervalMs: o.reviewRecheckIntervalMs,
      store: storeConfig,
    });
    const client = aegis;
    // The client opens its store on first use and keeps the first attempt's outcome, so that first use
    // happens here (as it does long before any outage in a service that has been running a while).
    await client.listPayments({ limit: 1 });
    // The operator's own Temporal client: what it sends bypasses AegisPay's checks, as the Web UI's does.
    // Histories with megabyte signals in them exceed gRPC's default 4 MB per message.
    raw = new Client({
      connection: await Connection.connect({
        ...resolveConnection(temporal).options,
        channelArgs: { 'grpc.max_receive_message_length': 64 * 1024 * 1024 },
      }),
      namespace: temporal.namespace!,
    });
    const operatorClient = raw;
    const thePlans = new Map<string, Plan>();
    const asked = (id: string, payload: unknown) => {
      const plan = thePlans.get(id);
      const ask = refundAsk(payload);
      if (plan) plan.asks = { minor: plan.asks.minor + ask.minor, full: plan.asks.full || ask.full };
    };

    /** Calls until the payment answers: unavailable servers and lost responses are retried as they are. */
    const untilAnswered: UntilAnswered = async (call, tries = Infinity) => {
      const giveUpAt = Date.now() + o.settleTimeoutMs;
      for (let attempt = 0; ; attempt++) {
        try {
          return await call();
        } catch (err) {
          const code = (err as { code?: unknown }).code;
          if (
            (typeof code === 'string' && ANSWERS.has(code)) ||
            Date.now() > giveUpAt ||
            attempt + 1 >= tries
          )
            throw err;
          clientRetries++;
          await sleep(Math.min(250 * 2 ** attempt, 3000));
        }
      }
    };
    /** A same-request pay() answered with an error breaks the contract; one that never got an answer is odd. */
    const answerOrGaveUp = (err: unknown) =>
      ANSWERS.has(String((err as { code?: unknown }).code)) ? violations : anomalies;
    const runId = randomUUID().slice(0, 6);
    const plans = Array.from({ length: o.payments }, (_, i) =>
      plan(`chaos_${runId}_${i}`, MIX[i % MIX.length]!, i),
    );
    const dupPlans = Array.from({ length: o.duplicateKeys }, (_, i) =>
      plan(`chaos_${runId}_dup${i}`, 'success', i),
    );
    const all = [...plans, ...dupPlans];
    for (const p of all) thePlans.set(p.id, p);

    if (o.faultPhaseMs > 0) {
      schedule = new FaultSchedule(sandbox, {
        phaseMs: o.faultPhaseMs,
        searchLagMs: SEARCH_LAG_MS,
        failEvery: o.pendingFailEvery,
      });
      faultCounts.start();
      schedule.start();
    }
    if (o.operatorEveryMs > 0) {
      const startedIds = () => all.filter((p) => p.started);
      operator = new ChaosOperator(
        () => operatorClient,
        () => {
          const ids = startedIds();
          return ids.length === 0 ? undefined : ids[Math.floor(Math.random() * ids.length)]!.id;
        },
        { everyMs: o.operatorEveryMs, cancelShare: o.cancelShare, maxInFlight: 8 },
      );
      operator.start();
    }

    o.log(`${o.payments} payments, ${o.duplicateKeys * o.duplicatesPerKey} duplicate calls; chaos on`);
    workers.startKilling(o.killEveryMs, o.maxKills);
    let restart: Promise<void> | undefined;
    let storeRestart: Promise<void> | undefined;
    const duplicates = Promise.all(
      dupPlans.flatMap((p) =>
        Array.from({ length: o.duplicatesPerKey }, () => {
          p.started = true;
          return untilAnswered(() => client.pay(p.request)).then(
            (paid) => void p.answeredIds.push(paid.id),
            (err: unknown) => answerOrGaveUp(err).push(problem('duplicate-call-failed', [p.id], err)),
          );
        }),
      ),
    );
    let finished = 0;
    await pool(plans, o.concurrency, async (p, i) => {
      if (o.durationMs > 0) await sleep(started + (i * o.durationMs) / o.payments - Date.now());
      try {
        await drive(client, p, untilAnswered, anomalies, asked, o.reviewGraceMs);
      } catch (err) {
        // The operator cancelled the payment before its processing ran: refusing to process it is right.
        const cancelledFirst =
          operator?.cancelRequested(p.id) && (err as { code?: string }).code === 'INVALID_STATE_TRANSITION';
        if (!cancelledFirst) answerOrGaveUp(err).push(problem('pay-failed', [p.id], err));
      }
      finished++;
      // A quarter of the way through the database goes down for a while, away from the server restart.
      if ((postgres || cluster) && o.storeDownMs > 0 && !storeRestart && finished >= o.payments / 4) {
        storeRestart = restartStore().catch((err: unknown) => {
          violations.push(problem('store-restart-failed', [], err));
        });
      }
      // Halfway through, while the other half is in flight.
      if (o.serverRestart && !restart && finished >= o.payments / 2) {
        restart = restartServer().catch((err: unknown) => {
          violations.push(problem('server-restart-failed', [], err));
        });
      }
    });
    await duplicates;
    await restart;
    await storeRestart;
    await operator?.stop();
    workers.stopKilling();
    schedule?.calm();
    o.log(`all calls answered after ${secs(Date.now() - started)}; faults cleared, settling`);

    const timeouts = { timeoutMs: o.settleTimeoutMs, reviewGraceMs: o.reviewGraceMs };
    const finals = await settle(client, all, timeouts, violations, anomalies, () => schedule?.stop());
    schedule?.stop();
    verify(all, finals, sandbox.ledger(), violations, anomalies);
    const byRule = await checkInvariants(all, finals, sandbox, operatorClient, violations);
    checkStore = await openPaymentStore(storeConfig);
    const storeCheck = await compareStore(
      {
        plans: all.filter((p) => finals.has(p.id)),
        aegis: client,
        raw: operatorClient,
        store: checkStore,
        sandbox,
      },
      o.storeCatchUpMs,
      untilAnswered,
      violations,
    );
    Object.assign(byRule, storeCheck.byRule);
    const events = new Map<string, DomainEvent[]>();
    await pool([...finals.keys()], 10, async (id) => {
      // A workflow whose tasks keep failing answers no query: reported, not a reason to stop the report.
      await untilAnswered(() => client.getPaymentEvents(id), QUERY_TRIES).then(
        (list) => void events.set(id, list),
        (err: unknown) => flag(violations, 'workflow-unreadable', id, `events query failed: ${String(err)}`),
      );
    });
    for (const [id, list] of events) operator?.checkEvents(id, finals.get(id)!.state, list);
    for (const list of [operator?.violations ?? [], operator?.anomalies ?? []]) {
      const target = list === operator?.violations ? violations : anomalies;
      for (const v of list) flag(target, v.rule, v.paymentId, v.detail);
    }
    for (const v of violations) byRule[v.rule] = Math.max(byRule[v.rule] ?? 0, v.paymentIds.length || 1);

    const states: Record<string, number> = {};
    for (const p of finals.values()) states[p.state] = (states[p.state] ?? 0) + 1;
    const ledger = sandbox.ledger({ status: 'succeeded' });
    const kinds = (...k: LedgerEntry['kind'][]) => ledger.filter((e) => k.includes(e.kind));
    const views = [...finals.values()];
    const reviewed = views.map((p) => (events.get(p.id) ?? []).filter((e) => e.type === 'REVIEW_RESOLVED'));
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
      serviceRecoveryMs: recovery,
      clientRetries,
      retried: {
        attempts: views.filter((p) => p.attempts.length > 1).length,
        reconciled: views.filter((p) => p.attempts.some((a) => a.reconciliationChecks)).length,
        failedOver: views.filter((p) => new Set(p.attempts.map((a) => a.gateway)).size > 1).length,
        declinesByLookup: views.filter((p) =>
          p.attempts.some((a) => a.outcome === 'declined' && a.reconciliationChecks),
        ).length,
      },
      reviews: {
        payments: reviewed.filter((r) => r.length > 0).length + (states.REQUIRES_REVIEW ?? 0),
        byGateway: reviewed.flat().filter((e) => e.data.by === 'gateway').length,
        stillOpen: states.REQUIRES_REVIEW ?? 0,
      },
      byGateway: Object.fromEntries(
        ['stripe', 'paypal'].map((g) => [
          g,
          kinds('charge', 'authorization').filter((e) => e.gateway === g).length,
        ]),
      ),
      faults: { ...faultCounts.counts },
      faultsByKind: byKind(faultCounts.counts),
      scenarios: { ...(schedule?.phases ?? {}) },
      pendingSettled: { ...(schedule?.settled ?? { succeeded: 0, failed: 0 }) },
      operator: { ...(operator?.counts ?? {}) },
      store: { backend, ...storeOutage, ...storeCheck.report },
      violationsByRule: byRule,
      durationMs: Date.now() - started,
    };

    async function restartServer(): Promise<void> {
      if (cluster) return crashClusterServices(cluster);
      o.log('stopping the dev server');
      await server!.stop();
      await sleep(o.serverDownMs);
      server = await startDevServer({ port, uiPort: false, dbFile });
      serverRestarts++;
      o.log(`dev server restarted on ${server.address}; waiting for the client and the workers to reconnect`);
      await awaitReconnect(Date.now());
    }

    /** SIGKILLs history, then matching, each restarted after `serverDownMs`; measures each recovery. */
    async function crashClusterServices(state: ClusterState): Promise<void> {
      // One fault at a time: a service cannot start while its database is down.
      await storeRestart;
      for (const service of ['history', 'matching'] as const) {
        o.log(`SIGKILL ${service}`);
        await crashService(state, service, o.serverDownMs);
        serverRestarts++;
        o.log(`${service} restarted; waiting for the client and the workers to reconnect`);
        delete reconnectMs.client;
        delete reconnectMs.workers;
        await awaitReconnect(Date.now());
        recovery[service] = { ...reconnectMs };
      }
    }

    async function awaitReconnect(ready: number): Promise<void> {
      const deadline = ready + 60_000;
      await eventually(async () => client.getPayment(plans[0]!.id).then(() => true), deadline).then(
        () => (reconnectMs.client = Date.now() - ready),
        () => violations.push({ rule: 'client-no-reconnect', paymentIds: [], detail: 'no answer in 60 s' }),
      );
      await eventually(() => workers!.allPolling(temporal), deadline).then(
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

    /** Stops PostgreSQL abruptly and starts it again on the same port and data directory. */
    async function restartStore(): Promise<void> {
      o.log('stopping PostgreSQL');
      const down = Date.now();
      if (cluster) {
        const died = await databaseOutage(cluster, o.storeDownMs);
        if (died.length > 0) o.log(`restarted after the outage: ${died.join(', ')}`);
        storeOutage.servicesRestarted = died;
      } else {
        await postgres!.stop();
        await sleep(o.storeDownMs);
        await postgres!.start();
      }
      storeOutage.restarts++;
      storeOutage.downMs += Date.now() - down;
      o.log(`PostgreSQL accepts connections again after ${secs(Date.now() - down)}`);
    }
  } finally {
    schedule?.stop();
    await operator?.stop();
    faultCounts.restore();
    await aegis?.close().catch(() => undefined);
    await raw?.connection.close().catch(() => undefined);
    await workers?.stop();
    await checkStore?.close().catch(() => undefined);
    await postgres?.destroy(violations.length > 0);
    await server?.stop();
    await sandbox?.stop();
    if (postgres && violations.length > 0) o.log(`kept ${postgres.dir} (PostgreSQL data) for inspection`);
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
  return {
    key,
    id: paymentWorkflowId(key),
    kind,
    request,
    answeredIds: [],
    started: false,
    asks: { minor: 0, full: false },
  };
}

/**
 * One payment's life: pay, then capture or refund as its kind says. pay() is retried until answered and
 * must answer; a follow-up may be refused (the operator cancelled the payment, a review is open, the
 * gateway kept refusing), which is an anomaly, not a broken contract.
 */
async function drive(
  aegis: AegisPay,
  p: Plan,
  untilAnswered: UntilAnswered,
  anomalies: Violation[],
  asked: (id: string, payload: unknown) => void,
  timeoutMs: number,
): Promise<void> {
  p.started = true;
  let payment = await untilAnswered(() => aegis.pay(p.request));
  p.answeredIds.push(payment.id);
  if (payment.state === 'INITIATED' || payment.state === 'PROCESSING') {
    flag(anomalies, 'pay-answered-unsettled', p.id, `pay() returned ${payment.state}`);
    return;
  }
  const followUp = async (what: string, call: () => Promise<Payment>) => {
    // An open outcome settles by itself (a recheck, a settled pending object): wait for it first.
    payment = await outOfReview(aegis, payment, timeoutMs);
    try {
      payment = await untilAnswered(call, FOLLOW_UP_TRIES);
    } catch (err) {
      flag(anomalies, `${what}-refused`, p.id, `${(err as { code?: string }).code ?? 'error'}`);
    }
  };
  payment = await outOfReview(aegis, payment, timeoutMs);
  if (payment.state === 'AUTHORIZED') {
    const amount = p.kind === 'capture-half' ? Math.floor(payment.amount.amount / 2) / 100 : undefined;
    // A retried capture whose first try went through finds the payment captured: that is the answer.
    await followUp('capture', () =>
      aegis.capturePayment(p.id, amount === undefined ? {} : { amount }).catch(async (err: unknown) => {
        const now = await aegis.getPayment(p.id);
        if (now.state === 'SUCCESS') return now;
        throw err;
      }),
    );
  }
  payment = await outOfReview(aegis, payment, timeoutMs);
  if (payment.state !== 'SUCCESS' || !p.kind.startsWith('refund')) return;
  // refundId makes the retries idempotent; the second refund takes whatever is left.
  const part = { amount: 1, refundId: `${p.key}_r1` };
  asked(p.id, part);
  await followUp('refund', () => aegis.refundPayment(p.id, part));
  if (p.kind === 'refund-all') {
    const rest = { full: true as const, refundId: `${p.key}_r2` };
    asked(p.id, rest);
    await followUp('refund', () => aegis.refundPayment(p.id, rest));
  }
}

/** The payment once it left REQUIRES_REVIEW, or as it is after `timeoutMs`. */
async function outOfReview(aegis: AegisPay, payment: Payment, timeoutMs: number): Promise<Payment> {
  const deadline = Date.now() + timeoutMs;
  while (payment.state === 'REQUIRES_REVIEW' && Date.now() < deadline) {
    await sleep(500);
    payment = await aegis.getPayment(payment.id).catch(() => payment);
  }
  return payment;
}

/**
 * Polls every payment until none is INITIATED or PROCESSING and none is in review, or a deadline passes.
 * Whatever is still pending at the sandbox is settled first. A payment in review is a settled answer
 * ("a person must look"), so it is waited for only `reviewGraceMs` (its rechecks run every second or so)
 * and then reported as an anomaly, with what it waits for; one still INITIATED or PROCESSING after
 * `timeoutMs` is a violation.
 */
async function settle(
  aegis: AegisPay,
  plans: Plan[],
  timeouts: { timeoutMs: number; reviewGraceMs: number },
  violations: Violation[],
  anomalies: Violation[],
  settlePending: () => void,
): Promise<Map<string, Payment>> {
  settlePending();
  const finals = new Map<string, Payment>();
  const started = Date.now();
  const inReview = (p: Plan) => finals.get(p.id)?.state === 'REQUIRES_REVIEW';
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
    const elapsed = Date.now() - started;
    if (elapsed > timeouts.reviewGraceMs && pending.every(inReview)) break;
    if (elapsed > timeouts.timeoutMs) {
      const stuck = pending.filter((p) => !inReview(p));
      const detail = `not settled ${timeouts.timeoutMs / 1000} s after the faults were cleared`;
      violations.push({ rule: 'unsettled', paymentIds: stuck.map((p) => p.id), detail });
      break;
    }
    if (pending.length > 0) await sleep(1000);
  }
  for (const p of pending.filter(inReview)) {
    const review = finals.get(p.id)!.review;
    // Nothing settled it, though the faults are gone: worth a look (which gateway, which operation).
    flag(
      anomalies,
      'still-in-review',
      p.id,
      `in review ${timeouts.reviewGraceMs / 1000} s after the faults were cleared and pending objects settled ` +
        `(first: ${review?.operation ?? '-'} at ${review?.gateway ?? '-'}, ${review?.code ?? ''})`,
    );
  }
  return finals;
}

/** The money invariants of every payment against the sandbox's books; returns the count per rule (all listed). */
async function checkInvariants(
  plans: Plan[],
  finals: Map<string, Payment>,
  sandbox: Sandbox,
  client: Client,
  violations: Violation[],
): Promise<Record<string, number>> {
  const byRule: Record<string, number> = Object.fromEntries(INVARIANTS.map((rule) => [rule, 0]));
  await pool(plans, 10, async (p) => {
    const view = finals.get(p.id);
    if (!view) return;
    const handle = client.workflow.getHandle(p.id);
    let work: { running: boolean; activities: number; timers: number };
    try {
      const running = (await handle.describe()).status.name === 'RUNNING';
      work = { running, ...(running ? await openWork(handle) : { activities: 0, timers: 0 }) };
    } catch (err) {
      flag(
        violations,
        'workflow-unreadable',
        p.id,
        `describe or history failed: ${String(err)}`.slice(0, 300),
      );
      return;
    }
    const found = moneyViolations({
      view,
      books: sandboxBooks(sandbox, p.id),
      asks: p.asks,
      work,
    });
    for (const v of found) {
      byRule[v.rule] = (byRule[v.rule] ?? 0) + 1;
      flag(violations, v.rule, p.id, v.detail);
    }
  });
  return byRule;
}

/**
 * The store against each workflow and the ledger. Projections run after the steps they record, so each
 * payment is first given until `catchUpMs` (from the start of the check) for its store row to reach the
 * workflow's version; one that does not is reported as differing. Also sums the projections' retries.
 */
async function compareStore(
  run: { plans: Plan[]; aegis: AegisPay; raw: Client; store: PaymentStore; sandbox: Sandbox },
  catchUpMs: number,
  untilAnswered: UntilAnswered,
  violations: Violation[],
): Promise<{ byRule: Record<string, number>; report: Omit<StoreReport, 'backend' | 'restarts' | 'downMs'> }> {
  const { aegis, store } = run;
  const byRule: Record<string, number> = Object.fromEntries(STORE_RULES.map((rule) => [rule, 0]));
  const report = {
    projections: 0,
    retriedProjections: 0,
    extraAttempts: 0,
    lastFailures: {} as Record<string, number>,
    compared: 0,
    catchUpMs: 0,
    behind: 0,
  };
  const started = Date.now();
  const deadline = started + catchUpMs;
  await pool(run.plans, 10, async (p) => {
    await catchUpAndCompare(p).catch((err: unknown) =>
      flag(
        violations,
        'store-unreadable',
        p.id,
        `store or workflow read failed: ${String(err)}`.slice(0, 300),
      ),
    );
    const attempts = await projectionAttempts(run.raw.workflow.getHandle(p.id)).catch(() => undefined);
    if (!attempts) return; // unreadable histories are reported by the invariants' check
    report.projections += attempts.projections;
    report.retriedProjections += attempts.retried;
    report.extraAttempts += attempts.extraAttempts;
    for (const [kind, n] of Object.entries(attempts.lastFailures))
      report.lastFailures[kind] = (report.lastFailures[kind] ?? 0) + n;
  });
  return { byRule, report };

  async function catchUpAndCompare(p: Plan): Promise<void> {
    for (;;) {
      const workflow = await untilAnswered(() => aegis.getPayment(p.id), QUERY_TRIES);
      const stored = await store.getPayment(p.id);
      const late = Date.now() > deadline;
      if (stored?.version === workflow.version) {
        const [workflowEvents, storedEvents] = await Promise.all([
          untilAnswered(() => aegis.getPaymentEvents(p.id), QUERY_TRIES),
          store.getEvents(p.id),
        ]);
        // A running workflow may take another step between the reads (a review's recheck): read again,
        // unless time is up (then the events' difference is what is reported).
        const last = [workflowEvents, storedEvents].map((events) => events.at(-1)?.sequence);
        if (late || last.every((sequence) => sequence === workflow.version)) {
          report.catchUpMs = Math.max(report.catchUpMs, Date.now() - started);
          report.compared++;
          const ledger = ledgerAmounts(run.sandbox, p.id);
          for (const v of storeViolations({ workflow, workflowEvents, stored, storedEvents, ledger })) {
            byRule[v.rule]!++;
            flag(violations, v.rule, p.id, v.detail);
          }
          return;
        }
      } else if (late) {
        report.behind++;
        byRule['store-differs-from-workflow']!++;
        flag(
          violations,
          'store-differs-from-workflow',
          p.id,
          `store at version ${stored?.version ?? '-'}, workflow (${workflow.state}) at ${workflow.version} ` +
            `${secs(catchUpMs)} after the run settled`,
        );
        return;
      }
      await sleep(250);
    }
  }
}

/** Checks what the invariants do not: one key one payment, one charge per captured payment, the charge's amount. */
function verify(
  plans: Plan[],
  finals: Map<string, Payment>,
  ledger: LedgerEntry[],
  violations: Violation[],
  anomalies: Violation[],
): void {
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
    const charges = (byPayment.get(p.id) ?? []).filter(
      (e) => e.kind === 'charge' || e.kind === 'authorization',
    );
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
    } else if (charges.length > 1) {
      flag(violations, 'not-exactly-one-charge', p.id, 'more than one charge in the ledger');
    }
    const declined = p.kind === 'declined' || p.kind === 'insufficient';
    if (declined && (CAPTURED.has(view.state) || view.state === 'AUTHORIZED'))
      flag(violations, 'declining-card-charged', p.id, `a declining card ended ${view.state}`);
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

/** Adds a payment to the list entry of its rule (one entry per rule). */
function flag(list: Violation[], rule: string, id: string, detail: string): void {
  const found = list.find((v) => v.rule === rule);
  if (found) found.paymentIds.push(id);
  else list.push({ rule, paymentIds: [id], detail });
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

function workerEnv(temporal: NodeJS.ProcessEnv, sandboxUrl: string, store: StoreConfig): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ...temporal,
    ...(store.kind === 'postgres'
      ? { AEGISPAY_STORE: 'postgres', AEGISPAY_STORE_URL: store.connectionString }
      : { AEGISPAY_STORE: 'embedded', AEGISPAY_STORE_URL: '', AEGISPAY_STORE_DIR: store.dataDir }),
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
  async allPolling(temporal: TemporalConnectionConfig): Promise<boolean> {
    if (!this.slots.every((s) => s.ready)) return false;
    const connection = await Connection.connect({
      ...resolveConnection(temporal).options,
      connectTimeout: 2000,
    });
    try {
      // Workflow (1) and activity (2) task pollers; a worker's default identity is `pid@host`.
      for (const taskQueueType of [1, 2]) {
        const { pollers } = await connection.workflowService.describeTaskQueue({
          namespace: temporal.namespace!,
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

/** One line of the summary table: label and value. */
type Row = [string, string];

/** The run's summary table. */
export function formatReport(r: ChaosReport): string {
  const counts = (title: string, c: Record<string, number>): Row[] => [
    [title, String(Object.values(c).reduce((a, b) => a + b, 0))],
    ...Object.entries(c)
      .sort()
      .map(([k, n]): Row => [`  ${k}`, String(n)]),
  ];
  const faultKinds = Object.fromEntries(
    Object.entries(r.faultsByKind).filter(([k]) => !k.startsWith('latency')),
  );
  const latencyMs = Object.entries(r.faults)
    .filter(([k]) => k.startsWith('latency'))
    .reduce((s, [, n]) => s + n, 0);
  const rows: Row[] = [
    ['payments (distinct keys)', String(r.payments)],
    ...Object.entries(r.states)
      .sort()
      .map(([state, n]): Row => [`  ${state}`, String(n)]),
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
    ...Object.entries(r.serviceRecoveryMs).map(([service, ms]): Row => [
      `  after SIGKILL of ${service} (ms)`,
      `${ms.client ?? '-'} / ${ms.workers ?? '-'}`,
    ]),
    ['client call retries', String(r.clientRetries)],
    ['payments charged in >1 attempt', String(r.retried.attempts)],
    ['  reconciled via getStatus', String(r.retried.reconciled)],
    ['  declines learned by lookup', String(r.retried.declinesByLookup)],
    ['  failed over to the other gateway', String(r.retried.failedOver)],
    ['payments through review', String(r.reviews.payments)],
    ['  reviews settled by the gateway', String(r.reviews.byGateway)],
    ['  still in review at the end', String(r.reviews.stillOpen)],
    ...counts('fault scenarios drawn', r.scenarios),
    ...counts('faults injected, by kind', faultKinds),
    ['  latency injected (s)', (latencyMs / 1000).toFixed(1)],
    ...counts(
      'faults injected, by kind and operation',
      Object.fromEntries(Object.entries(r.faults).filter(([k]) => !k.startsWith('latency'))),
    ),
    ['pending objects settled ok / failed', `${r.pendingSettled.succeeded} / ${r.pendingSettled.failed}`],
    ...counts('operator actions', r.operator),
    ['payment store', r.store.backend],
    ['  database restarts / time down', `${r.store.restarts} / ${secs(r.store.downMs)}`],
    ...(r.store.servicesRestarted
      ? [['  services restarted after it', r.store.servicesRestarted.join(', ') || 'none'] as Row]
      : []),
    [
      '  projections / retried / extra attempts',
      `${r.store.projections} / ${r.store.retriedProjections} / ${r.store.extraAttempts}`,
    ],
    // One level deeper than `counts` puts them: these belong to the store.
    ...counts('retried projections, by last failure', r.store.lastFailures).map(([k, v]): Row => [
      `  ${k}`,
      v,
    ]),
    ['  payments compared / store behind', `${r.store.compared} / ${r.store.behind}`],
    ['  store caught up after', secs(r.store.catchUpMs)],
    ['duration', secs(r.durationMs)],
    ...counts('violations (payments), by rule', r.violationsByRule),
    ['anomalies', String(r.anomalies.length)],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  const lines = rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`);
  const list = (title: string, items: Violation[]) =>
    items.map((v) => `${title} ${v.rule}: ${v.detail}\n    ${v.paymentIds.join(', ') || '(no payment)'}`);
  return [...lines, ...list('VIOLATION', r.violations), ...list('anomaly', r.anomalies)].join('\n');
}
