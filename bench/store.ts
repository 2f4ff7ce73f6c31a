/**
 * `npm run bench:store [-- --quick] [--n 120] [--rounds 2] [--concurrency 1,16,64]`
 *
 * What the payment store costs `pay()`: AegisPay without a store, with the embedded store (PGlite) and
 * with a PostgreSQL 15 store (a throwaway server), against the floor (Update-With-Start running one
 * no-op activity), interleaved in one process like `npm run bench`. The projection runs in the
 * background after the update returns, so each store run is followed by a drain (until the store
 * holds every payment as SUCCESS) whose time and CPU count towards that variant. Histories show
 * where the projection activities sit relative to the update's result. Writes the "Payment store"
 * section of bench/RESULTS.md.
 */
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { AegisPay } from '../src/embedded/aegis-pay';
import { paymentWorkflowId } from '../src/domain/ids';
import { createLogger } from '../src/logging';
import { openPaymentStore, type PaymentStore, type StoreConfig } from '../src/store';
import { installTemporalRuntime } from '../src/temporal-runtime';
import { startDevServer } from '../src/toolchain/dev-server';
import { postgresBinariesPresent, startPostgres } from '../test/helpers/postgres';
import { floorUpdate, type floorWorkflow } from './floor-workflow';
import {
  bundleFloorWorkflow,
  historySummary,
  payRequest,
  startFloorWorker,
  startMockPaymentWorker,
  round,
  type Run,
  runLoad,
  type Series,
  summarize,
  writeResults,
} from './lib';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    rounds: { type: 'string' },
    concurrency: { type: 'string' },
  },
});
const quick = args.quick ?? false;
const int = (value: string | undefined, fallback: number) => (value ? Number.parseInt(value, 10) : fallback);
const config = {
  quick,
  levels: args.concurrency ? args.concurrency.split(',').map(Number) : [1, 16, 64],
  /** Operations per run by concurrency: fewer at 1, where latency and not throughput is measured. */
  n: (c: number) => int(args.n, c === 1 ? (quick ? 8 : 30) : c <= 16 ? (quick ? 32 : 80) : quick ? 64 : 128),
  rounds: int(args.rounds, quick ? 1 : 2),
  warmup: quick ? 12 : 32,
  /** Histories per variant read for the placement of the projection. */
  samples: quick ? 6 : 16,
};

const logger = createLogger('SILENT');
const tag = randomUUID().slice(0, 8);
let instances = 0;
const progress = (line: string) =>
  console.log(`[bench:store ${(performance.now() / 1000).toFixed(0)}s] ${line}`);

// ---------------------------------------------------------------------------------------------------
// CPU of the other processes involved: the Temporal dev server and the PostgreSQL server.

interface ProcStat {
  comm: string;
  ppid: number;
  /** utime + stime, and the same of reaped children, in clock ticks. */
  ticks: number;
  childTicks: number;
}

function stat(pid: number): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return {
      comm: text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')),
      ppid: Number(fields[1]),
      ticks: Number(fields[11]) + Number(fields[12]),
      childTicks: Number(fields[13]) + Number(fields[14]),
    };
  } catch {
    return undefined; // gone since the directory was listed
  }
}

const pids = () =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** CPU ms of a process, its reaped children and its live children (PostgreSQL backends are children). */
function treeCpuMs(root: number | undefined): number {
  if (root === undefined) return 0;
  const own = stat(root);
  if (!own) return 0;
  let ticks: number = own.ticks + own.childTicks;
  for (const pid of pids()) {
    const child: ProcStat | undefined = pid === root ? undefined : stat(pid);
    if (child?.ppid === root) ticks += child.ticks;
  }
  return ticks * 10; // 100 ticks per second
}

function findTemporalServer(): number | undefined {
  return pids().find((pid) => {
    const s = stat(pid);
    return s?.comm === 'temporal' && s.ppid === process.pid;
  });
}

/** The postmaster listening on `port` (its command line names the port). */
function findPostmaster(port: number): number | undefined {
  return pids().find((pid) => {
    if (stat(pid)?.comm !== 'postgres') return false;
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv[argv.indexOf('-p') + 1] === String(port);
    } catch {
      return false;
    }
  });
}

// ---------------------------------------------------------------------------------------------------
// Variants

interface Measured {
  /** The caller's view: latency and throughput of the operations alone. */
  run: Run;
  /** After the last operation returned: until the store held every payment (0 without a store). */
  drainMs: number;
  /** CPU over the run and the drain. */
  processCpuMs: number;
  temporalCpuMs: number;
  postgresCpuMs: number;
  /** Why the drain took longer than STALL_MS, if it did. */
  stall?: string;
}

const STUCK_ACTIVITY_TIMEOUT_MS = 5_000;
/** A drain longer than this means a projection was stuck or retried, not just queued. */
const STALL_MS = 2_000;

interface Variant {
  name: string;
  /** One run of `n` operations at `concurrency`, with fresh IDs; keeps the workflow IDs for history samples. */
  measure(n: number, concurrency: number): Promise<Measured>;
  lastWorkflowIds: string[];
}

let temporalPid: number | undefined;
let postmasterPid: number | undefined;

/**
 * Runs `op(0..n-1)` and then waits until the workflows `workflowId(i)` have no activity pending (with a
 * store: their last projection is done), measuring CPU of this process, Temporal and PostgreSQL
 * throughout. Every variant waits the same way, so the wait's own cost (one describe per workflow)
 * cancels out between them.
 */
async function measured(
  client: Client,
  n: number,
  concurrency: number,
  workflowId: (i: number) => string,
  op: (i: number) => Promise<unknown>,
): Promise<Measured> {
  const cpu = process.cpuUsage();
  const [temporal0, postgres0] = [treeCpuMs(temporalPid), treeCpuMs(postmasterPid)];
  const run = await runLoad(n, concurrency, op);
  const drainStart = performance.now();
  const stall = await drain(
    client,
    Array.from({ length: n }, (_, i) => workflowId(i)),
  );
  const drainMs = performance.now() - drainStart;
  const used = process.cpuUsage(cpu);
  return {
    run,
    drainMs,
    processCpuMs: (used.user + used.system) / 1000,
    temporalCpuMs: treeCpuMs(temporalPid) - temporal0,
    postgresCpuMs: treeCpuMs(postmasterPid) - postgres0,
    ...(stall ? { stall } : {}),
  };
}

/**
 * Waits until none of the workflows has an activity pending; Temporal is asked rather than the store,
 * so the wait adds no queries beside the projections. Answers why, if it took longer than STALL_MS.
 */
async function drain(client: Client, ids: string[]): Promise<string | undefined> {
  const start = Date.now();
  let stall: string | undefined;
  for (const id of ids) {
    for (let pause = 20; ; pause = Math.min(pause * 2, 500)) {
      const pending = await client.workflow
        .getHandle(id)
        .describe()
        .then(
          ({ raw }) => raw.pendingActivities ?? [],
          () => [], // never started: its operation failed before the start
        );
      if (pending.length === 0) break;
      if (Date.now() - start > 120_000) throw new Error(`${id} still has activities pending after 120 s`);
      if (!stall && Date.now() - start > STALL_MS) {
        stall = pending
          .map(
            (a) =>
              `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? 'no failure yet'}`,
          )
          .join('; ');
        progress(`  slow drain: ${id} ${stall}`);
      }
      await new Promise((r) => setTimeout(r, pause));
    }
  }
  return stall;
}

/** `pay()` with a fresh idempotency key; anything but SUCCESS is an error. With a store, checks it after the drain. */
function payVariant(name: string, aegis: AegisPay, client: Client, store?: PaymentStore): Variant {
  const variant: Variant = {
    name,
    lastWorkflowIds: [],
    async measure(n, concurrency) {
      const prefix = `bench_${tag}_${++instances}`;
      const paid: string[] = [];
      const result = await measured(
        client,
        n,
        concurrency,
        (i) => paymentWorkflowId(`${prefix}_${i}`),
        async (i) => {
          const payment = await aegis.pay(payRequest(`${prefix}_${i}`));
          if (payment.state !== 'SUCCESS') throw new Error(`payment ${payment.id} is ${payment.state}`);
          paid.push(payment.id);
        },
      );
      variant.lastWorkflowIds = paid;
      for (const id of store ? paid : []) {
        const state = (await store!.getPayment(id))?.state;
        if (state !== 'SUCCESS') throw new Error(`payment ${id} is ${state ?? 'missing'} in the store`);
      }
      return result;
    },
  };
  return variant;
}

/** The floor: Update-With-Start of a workflow whose update runs one no-op activity. */
function floorVariant(client: Client, taskQueue: string): Variant {
  const variant: Variant = {
    name: 'floor',
    lastWorkflowIds: [],
    async measure(n, concurrency) {
      const prefix = `floor-${tag}-${++instances}`;
      const workflowId = (i: number) => `${prefix}-${i}`;
      variant.lastWorkflowIds = Array.from({ length: n }, (_, i) => workflowId(i));
      return measured(client, n, concurrency, workflowId, (i) =>
        client.workflow.executeUpdateWithStart(floorUpdate, {
          args: [{}],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
            workflowId: workflowId(i),
            taskQueue,
            args: [{}],
            workflowIdConflictPolicy: 'USE_EXISTING',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          }),
        }),
      );
    },
  };
  return variant;
}

/**
 * The store read `pay()` makes before its update (does the store hold this key's payment already?),
 * timed alone on a store opened as a client opens it, for keys the store does not hold.
 */
async function storeReads(name: string, storeConfig: StoreConfig, n: number, concurrency: number) {
  const store = await openPaymentStore(storeConfig);
  try {
    await runLoad(20, 1, (i) => store.getPayment(paymentWorkflowId(`warm_${tag}_${i}`)));
    const run = await runLoad(n, concurrency, (i) =>
      store.getPayment(paymentWorkflowId(`absent_${tag}_${concurrency}_${i}`)),
    );
    return summarize(name, concurrency, [run]);
  } finally {
    await store.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Where the projection sits in a payment's history

interface Placement {
  /** Workflow tasks completed before the update's result. */
  tasksBeforeResult: number;
  /** projectPayment activities scheduled by an earlier workflow task than the result's: they run beside the charge. */
  besideCharge: number;
  /** Of those, completed before the charge did: their completion needs a workflow task of its own first. */
  doneBeforeCharge: number;
  /** Scheduled by the workflow task that returns the result, or later: they run after pay() has its answer. */
  afterResult: number;
  /** Projection attempts beyond the first (a failure or a start-to-close timeout). */
  retries: number;
  /** Server time from start to the update's result. */
  toResultMs: number;
}

const { EventType } = temporal.api.enums.v1;

interface Placements {
  concurrency: number;
  variant: string;
  samples: Placement[];
}

async function placement(client: Client, workflowId: string): Promise<Placement> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const is = (e: temporal.api.history.v1.IHistoryEvent, type: temporal.api.enums.v1.EventType) =>
    e.eventType === type;
  const result = events.findIndex((e) => is(e, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED));
  const end = result < 0 ? events.length : result;
  const tasks = events.flatMap((e, i) => (is(e, EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED) ? [i] : []));
  const resultTask = tasks.filter((i) => i < end).at(-1) ?? end;
  const scheduledIndex = new Map<string, { index: number; name: string }>();
  const completedIndex = new Map<string, number>();
  let retries = 0;
  events.forEach((e, index) => {
    const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
    if (name) scheduledIndex.set(String(e.eventId), { index, name });
    const completed = e.activityTaskCompletedEventAttributes;
    if (completed) completedIndex.set(String(completed.scheduledEventId), index);
    const started = e.activityTaskStartedEventAttributes;
    if (started && scheduledIndex.get(String(started.scheduledEventId))?.name === 'projectPayment')
      retries += Math.max(0, (started.attempt ?? 1) - 1);
  });
  const ofType = (name: string) => [...scheduledIndex].filter(([, s]) => s.name === name);
  const chargeDone = Math.min(...ofType('chargePayment').map(([id]) => completedIndex.get(id) ?? Infinity));
  const projections = ofType('projectPayment');
  const beside = projections.filter(([, s]) => s.index < resultTask);
  const time = (e?: temporal.api.history.v1.IHistoryEvent) =>
    Number(e?.eventTime?.seconds ?? 0) * 1000 + (e?.eventTime?.nanos ?? 0) / 1e6;
  return {
    tasksBeforeResult: tasks.filter((i) => i < end).length,
    besideCharge: beside.length,
    doneBeforeCharge: beside.filter(([id]) => (completedIndex.get(id) ?? Infinity) < chargeDone).length,
    afterResult: projections.length - beside.length,
    retries,
    toResultMs: time(events[end]) - time(events[0]),
  };
}

// ---------------------------------------------------------------------------------------------------
// Workers

// ---------------------------------------------------------------------------------------------------
// Measurement and report

interface Row {
  series: Series;
  drainMs: number;
  processCpuMsPerOp: number;
  temporalCpuMsPerOp: number;
  postgresCpuMsPerOp: number;
  /** Payments per second until the last one was in the store (the run's whole time plus the drain). */
  projectedOpsPerSec: number;
  /** Runs whose drain took longer than STALL_MS, and why the first did. */
  stalls: number;
  firstStall?: string;
}

async function interleave(variants: Variant[], n: number, concurrency: number, rounds: number) {
  const measurements = variants.map(() => [] as Measured[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (r + k) % variants.length;
      const m = await variants[v]!.measure(n, concurrency);
      measurements[v]!.push(m);
      if (process.env.BENCH_VERBOSE)
        progress(`  ${variants[v]!.name}: ${m.run.seconds.toFixed(1)} s, drain ${m.drainMs.toFixed(0)} ms`);
    }
  }
  return variants.map((variant, v): Row => {
    const ms = measurements[v]!;
    const sum = (f: (m: Measured) => number) => ms.reduce((s, m) => s + f(m), 0);
    const series = summarize(
      variant.name,
      concurrency,
      ms.map((m) => m.run),
    );
    const ops = Math.max(series.ops, 1);
    return {
      series,
      drainMs: round(sum((m) => m.drainMs) / ms.length, 0),
      processCpuMsPerOp: round(sum((m) => m.processCpuMs) / ops, 2),
      temporalCpuMsPerOp: round(sum((m) => m.temporalCpuMs) / ops, 2),
      postgresCpuMsPerOp: round(sum((m) => m.postgresCpuMs) / ops, 2),
      projectedOpsPerSec: round(series.ops / (sum((m) => m.run.seconds) + sum((m) => m.drainMs) / 1000), 1),
      stalls: ms.filter((m) => m.stall).length,
      ...(ms.find((m) => m.stall) ? { firstStall: ms.find((m) => m.stall)!.stall! } : {}),
    };
  });
}

const ratio = (x: number, y: number) => (y ? round(x / y, 2) : NaN);
const signed = (x: number, digits = 2) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

const table = (header: string[], rows: (string | number)[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const SECTION = '## Payment store: what projecting costs pay()';

function render(r: {
  date: string;
  seconds: number;
  loadBefore: number[];
  loadAfter: number[];
  rows: Row[];
  placements: Placements[];
  reads: Series[];
  example: { variant: string; events: { type: string; detail: string; atMs: number }[] };
}): string {
  const byLevel = [...new Set(r.rows.map((x) => x.series.concurrency))];
  const find = (c: number, name: string) =>
    r.rows.find((x) => x.series.concurrency === c && x.series.variant === name)!;
  const sum = (values: number[]) => values.reduce((a, b) => a + b, 0);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const load = (l: number[]) => l.map((x) => x.toFixed(2)).join(' / ');
  const ratioRows = byLevel.flatMap((c) => {
    const floor = find(c, FLOOR);
    const bare = find(c, NO_STORE);
    return STORE_VARIANTS.map((name) => {
      const s = find(c, name);
      return [
        c,
        name,
        ratio(s.series.opsPerSec, floor.series.opsPerSec),
        ratio(s.series.p50, floor.series.p50),
        ratio(s.series.p99, floor.series.p99),
        ratio(s.series.opsPerSec, bare.series.opsPerSec),
        ratio(s.series.p50, bare.series.p50),
        ratio(s.series.p99, bare.series.p99),
        signed(s.processCpuMsPerOp - bare.processCpuMsPerOp),
        signed(s.temporalCpuMsPerOp - bare.temporalCpuMsPerOp),
        s.postgresCpuMsPerOp,
      ];
    });
  });
  const bareRows = byLevel.map((c) => {
    const floor = find(c, FLOOR);
    const bare = find(c, NO_STORE);
    return [
      c,
      ratio(bare.series.opsPerSec, floor.series.opsPerSec),
      ratio(bare.series.p50, floor.series.p50),
      ratio(bare.series.p99, floor.series.p99),
    ];
  });
  const problems = r.rows.flatMap((x) => [
    ...(x.series.errors
      ? [`- c=${x.series.concurrency} ${x.series.variant}, error: ${x.series.firstError}`]
      : []),
    ...(x.firstStall
      ? [`- c=${x.series.concurrency} ${x.series.variant}, stalled drain: ${x.firstStall}`]
      : []),
  ]);
  const placementRows = r.placements.map(({ concurrency, variant, samples }) => [
    concurrency,
    variant,
    samples.length,
    median(samples.map((s) => s.tasksBeforeResult)),
    samples.filter((s) => s.tasksBeforeResult > TASKS_BEFORE_RESULT_WITHOUT_STORE).length,
    sum(samples.map((s) => s.besideCharge)),
    sum(samples.map((s) => s.doneBeforeCharge)),
    sum(samples.map((s) => s.afterResult)),
    sum(samples.map((s) => s.retries)),
    round(median(samples.map((s) => s.toResultMs)), 1),
  ]);
  return `${SECTION}

Generated by \`npm run bench:store${quick ? ' -- --quick' : ''}\` on ${r.date} (${r.seconds} s), same machine and method
as above: one Temporal dev server with a SQLite file, all workers and clients in the benchmark's process,
variants interleaved in rotating order, ${config.rounds} round(s) per variant and concurrency
(${config.levels.map((c) => `${config.n(c)} operations at ${c}`).join(', ')}), after a warm-up of ${config.warmup} each.
Variants: the **floor**; **${NO_STORE}**; **${EMBEDDED}** (PGlite on a worker thread of the
benchmark's process, its own data directory); **${POSTGRES}** (a throwaway PostgreSQL 15 server on
loopback, \`fsync=off\` like the tests' server, pool of 10). Each AegisPay variant has its own worker and
task queue; the store variants' client has \`store\` set, so the workflow projects every step.
Load average (1 / 5 / 15 min) before: ${load(r.loadBefore)}; after: ${load(r.loadAfter)}: the machine
(2 cores) was shared with other jobs, so absolute numbers are low and noisy; the interleaved ratios less so.

Most of the projection runs after \`pay()\` returns, so every run (of every variant alike) is followed by
a **drain**: the benchmark waits until none of the run's workflows has an activity pending (asking
Temporal, one describe per workflow, so the wait adds no store queries), and the drain's time and CPU
count towards the run. Then it checks that the store holds every paid payment as SUCCESS. "ops/s" and
the latencies are the caller's view (as in the main table); "ops/s until stored" counts the drain's time
too; "drain ms" is the mean time from the last operation returning to nothing pending (for the variants
without a store, the cost of the check itself). "stalled drains": runs whose drain took over
${STALL_MS / 1000} s, i.e. a projection was stuck or retried, not just queued (the clients set \`gatewayTimeoutMs\`,
the activities' start-to-close timeout, to ${STUCK_ACTIVITY_TIMEOUT_MS / 1000} s instead of 30 s, so a stuck projection is retried sooner). CPU per op: this process (client,
workers, PGlite thread), the Temporal server, and the PostgreSQL server (postmaster and backends), over
run and drain.

${table(
  [
    'conc.',
    'variant',
    'ops/s',
    'ops/s by round',
    'ops/s until stored',
    'drain ms',
    'p50 ms',
    'p99 ms',
    'CPU ms/op process',
    'CPU ms/op Temporal',
    'CPU ms/op PostgreSQL',
    'load',
    'errors',
    'stalled drains',
  ],
  r.rows.map((x) => [
    x.series.concurrency,
    x.series.variant,
    x.series.opsPerSec,
    x.series.roundOpsPerSec.join(' / '),
    x.projectedOpsPerSec,
    x.drainMs,
    x.series.p50,
    x.series.p99,
    x.processCpuMsPerOp,
    x.temporalCpuMsPerOp,
    x.postgresCpuMsPerOp,
    x.series.load1,
    x.series.errors,
    x.stalls,
  ]),
)}

${problems.length ? `Errors and stalls, first of each:\n\n${problems.join('\n')}\n` : 'No errors and no stalled drains.'}

The store read \`pay()\` makes before its update, when the client has a store (\`getPayment\` of the new
payment's ID, in \`updateWithStart\`: a payment whose workflow retention deleted is answered from the
store), timed alone: a store opened as a client opens it, reads of IDs the store does not hold, after the
runs above.

${table(
  ['store', 'conc.', 'reads', 'p50 ms', 'p99 ms', 'errors', 'first error'],
  r.reads.map((x) => [
    x.variant,
    x.concurrency,
    x.ops + x.errors,
    x.p50,
    x.p99,
    x.errors,
    x.firstError ?? '',
  ]),
)}

Ratios (throughput: higher is better; latency: lower is better). "vs floor" compares with the floor of the
same rounds, "vs no store" with AegisPay without a store; Δ CPU is per payment against AegisPay without a store.

${table(
  [
    'conc.',
    'variant',
    'ops/s vs floor',
    'p50 vs floor',
    'p99 vs floor',
    'ops/s vs no store',
    'p50 vs no store',
    'p99 vs no store',
    'Δ CPU ms/op process',
    'Δ CPU ms/op Temporal',
    'CPU ms/op PostgreSQL',
  ],
  ratioRows,
)}

${NO_STORE} against the floor in the same rounds:

${table(['conc.', 'ops/s vs floor', 'p50 vs floor', 'p99 vs floor'], bareRows)}

### Is the projection in \`pay()\`'s latency?

Up to ${config.samples} sampled histories per variant and concurrency (the last round of each). \`pay()\` has its
answer at \`WorkflowExecutionUpdateCompleted\` (the update's result). Workflow tasks before it: a happy-path
payment without a store needs ${TASKS_BEFORE_RESULT_WITHOUT_STORE} (start, then the charge's result); a projection that completes before the charge
adds one the charge's result then waits behind. \`projectPayment\` activities: "beside the charge" =
scheduled by an earlier workflow task than the result's, so they run in parallel with routing and the
charge; "before the charge" = of those, completed before the charge did; "after the result" = scheduled by
the workflow task that returns the result (the command after it) or later, so they run after \`pay()\` has
returned.

${table(
  [
    'conc.',
    'variant',
    'histories',
    'workflow tasks before the result (median)',
    `histories with more than ${TASKS_BEFORE_RESULT_WITHOUT_STORE}`,
    'projections beside the charge',
    'of which done before the charge',
    'projections after the result',
    'projection retries',
    'server ms to the result (median)',
  ],
  placementRows,
)}

One payment with the ${r.example.variant}, concurrency 1:

${table(
  ['#', 'event', '+ms'],
  r.example.events.map((e, i) => [i + 1, `${e.type}${e.detail ? ` (${e.detail})` : ''}`, e.atMs]),
)}
`;
}

/** Start, then the charge's result (see the main benchmark's history table). */
const TASKS_BEFORE_RESULT_WITHOUT_STORE = 2;
const FLOOR = 'floor';
const NO_STORE = 'AegisPay, no store';
const EMBEDDED = 'AegisPay + embedded store';
const POSTGRES = 'AegisPay + PostgreSQL store';
const STORE_VARIANTS = [EMBEDDED, POSTGRES];

async function main() {
  if (!postgresBinariesPresent()) throw new Error('PostgreSQL 15 binaries not found (AEGISPAY_PG_BIN)');
  const started = new Date();
  const loadBefore = os.loadavg();
  installTemporalRuntime(logger);
  const dir = mkdtempSync(join(os.tmpdir(), 'aegispay-bench-store-'));
  const closers: (() => Promise<unknown>)[] = [];
  // Bounded: a wedged embedded store can keep its close from ever returning.
  const closeAll = () =>
    Promise.race([
      (async () => {
        for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
      })(),
      new Promise((r) => setTimeout(r, 20_000).unref()),
    ]);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  // Interrupted, it still stops the PostgreSQL server it started (the dev server dies with this process).
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => void closeAll().finally(() => process.exit(130)));
  progress(`config ${JSON.stringify({ ...config, n: config.levels.map(config.n) })}; load ${load()}`);
  const server = await startDevServer({ port: 0, uiPort: false, dbFile: join(dir, 'temporal.db') });
  closers.push(() => server.stop());
  try {
    const postgres = await startPostgres();
    closers.push(() => postgres.stop());
    temporalPid = findTemporalServer();
    postmasterPid = findPostmaster(postgres.port);
    progress(`Temporal pid ${temporalPid}, PostgreSQL pid ${postmasterPid} on port ${postgres.port}`);

    const embeddedConfig: StoreConfig = { kind: 'embedded', dataDir: join(dir, 'store') };
    const postgresConfig: StoreConfig = {
      kind: 'postgres',
      connectionString: await postgres.createDatabase('bench'),
    };
    const embeddedStore = await openPaymentStore(embeddedConfig);
    closers.push(() => embeddedStore.close());
    const postgresStore = await openPaymentStore(postgresConfig);
    closers.push(() => postgresStore.close());

    const temporalOptions = { address: server.address, namespace: server.namespace };
    const connection = await Connection.connect({ address: server.address });
    closers.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    const queue = (name: string) => `bench-${name}-${tag}`;
    const aegisFor = (taskQueue: string, store?: StoreConfig) => {
      const aegis = new AegisPay({
        temporal: temporalOptions,
        taskQueue,
        logging: { level: 'SILENT' },
        store: store ?? false,
        // A stuck projection is retried after its start-to-close timeout (this, 30 s by default): 5 s
        // keeps a run short. The MOCK gateway answers at once, so the charge never comes near it.
        gatewayTimeoutMs: STUCK_ACTIVITY_TIMEOUT_MS,
      });
      closers.push(() => aegis.close());
      return aegis;
    };
    const workers = [
      await startFloorWorker(server, queue('floor'), await bundleFloorWorkflow()),
      await startMockPaymentWorker(server, queue('bare')),
      await startMockPaymentWorker(server, queue('embedded'), embeddedStore),
      await startMockPaymentWorker(server, queue('postgres'), postgresStore),
    ];
    closers.push(() => Promise.all(workers.map((w) => w.stop())));

    const floor = floorVariant(client, queue('floor'));
    const bare = payVariant(NO_STORE, aegisFor(queue('bare')), client);
    const embedded = payVariant(EMBEDDED, aegisFor(queue('embedded'), embeddedConfig), client, embeddedStore);
    const pgVariant = payVariant(
      POSTGRES,
      aegisFor(queue('postgres'), postgresConfig),
      client,
      postgresStore,
    );
    const variants = [floor, bare, embedded, pgVariant];

    progress(`warm-up: ${config.warmup} of each at concurrency 16`);
    await interleave(variants, config.warmup, 16, 1);

    // One payment alone, for the event-by-event example.
    await embedded.measure(1, 1);
    const exampleId = embedded.lastWorkflowIds[0]!;
    const example = { variant: EMBEDDED, events: (await historySummary(client, exampleId)).events };

    const rows: Row[] = [];
    const placements: Placements[] = [];
    for (const c of config.levels) {
      const n = config.n(c);
      progress(`concurrency ${c}: ${config.rounds} round(s) of ${n}, load ${load()}`);
      const levelRows = await interleave(variants, n, c, config.rounds);
      for (const x of levelRows) {
        const s = x.series;
        const err = s.errors ? ` ERRORS ${s.errors} (${s.firstError})` : '';
        progress(
          `c=${c} ${s.variant}: ${s.opsPerSec} ops/s (${x.projectedOpsPerSec} until stored, drain ${x.drainMs} ms), ` +
            `p50 ${s.p50} ms, p99 ${s.p99} ms, CPU/op ${x.processCpuMsPerOp} proc ${x.temporalCpuMsPerOp} temporal ` +
            `${x.postgresCpuMsPerOp} pg, load ${s.load1}${err}`,
        );
      }
      rows.push(...levelRows);
      placements.push(
        ...(await Promise.all(
          [bare, embedded, pgVariant].map(async (v) => {
            const ids = v.lastWorkflowIds;
            const picks = Array.from({ length: Math.min(config.samples, ids.length) }, (_, k) =>
              Math.floor((k * ids.length) / Math.min(config.samples, ids.length)),
            );
            return {
              concurrency: c,
              variant: v.name,
              samples: await Promise.all(picks.map((i) => placement(client, ids[i]!))),
            };
          }),
        )),
      );
    }

    progress('store reads alone');
    const reads: Series[] = [];
    for (const c of [1, 16]) {
      const n = (quick ? 100 : 300) * (c === 1 ? 1 : 2);
      reads.push(await storeReads('embedded', embeddedConfig, n, c));
      reads.push(await storeReads('PostgreSQL', postgresConfig, n, c));
    }
    for (const x of reads)
      progress(`read ${x.variant} c=${x.concurrency}: p50 ${x.p50} ms, p99 ${x.p99} ms, errors ${x.errors}`);

    const markdown = render({
      date: started.toISOString(),
      seconds: round((Date.now() - started.getTime()) / 1000, 0),
      loadBefore,
      loadAfter: os.loadavg(),
      rows,
      placements,
      reads,
      example,
    });
    console.log('\n' + markdown);
    await writeResults(markdown);
    progress('wrote the payment store section of bench/RESULTS.md');
  } finally {
    await closeAll();
  }
}

const load = () =>
  os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');

// The embedded store's pool and the Temporal runtime keep handles open after they are closed.
main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
