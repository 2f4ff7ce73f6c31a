import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import type { Client } from '@temporalio/client';
import { bundleWorkflowCode, Worker, type WorkerOptions } from '@temporalio/worker';
import { temporal } from '@temporalio/proto';
import { build, type Histogram } from 'hdr-histogram-js';
import { format, resolveConfig } from 'prettier';
import { MockGateway } from '../src/activities/gateways/mock/adapter';
import type { CreatePaymentRequest } from '../src/domain/types';
import { paymentMetricsSinks } from '../src/metrics';
import type { PaymentStore } from '../src/store';
import { connectWorker } from '../src/temporal/connection';
import type { DevServer } from '../src/toolchain/dev-server';
import { runningWorker, startTestWorker, type RunningWorker } from '../test/helpers';
import { connectionOf } from '../test/helpers/cluster';

/** One measured run: `n` operations, `concurrency` at a time. */
export interface Run {
  histogram: Histogram; // microseconds
  seconds: number;
  ops: number;
  /** Completions between the 10th and 90th percentile completion, and the time between them. */
  steadyOps: number;
  steadySeconds: number;
  errors: number;
  firstError?: string;
  /** CPU time of this process (client and workers) and of the Temporal server, in ms. */
  clientCpuMs: number;
  serverCpuMs: number;
  /** The machine's 1-minute load average when the run ended. */
  load1: number;
}

/** Runs `op(0..n-1)` with `concurrency` in flight and records each latency. */
export async function runLoad(
  n: number,
  concurrency: number,
  op: (i: number) => Promise<unknown>,
  /** CPU ms used so far by the server the operations go to (default: the dev server this process started). */
  serverCpu: () => number = serverCpuMs,
): Promise<Run> {
  const histogram = build();
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const completions: number[] = [];
  const cpu = process.cpuUsage();
  const server = serverCpu();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: Math.min(concurrency, n) }, async () => {
      while (next < n) {
        const i = next++;
        const t = performance.now();
        try {
          await op(i);
          const now = performance.now();
          histogram.recordValue(Math.max(1, Math.round((now - t) * 1000)));
          completions.push(now);
        } catch (err) {
          errors++;
          firstError ??= err instanceof Error ? `${err.name}: ${err.message}` : String(err);
        }
      }
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  // The ramp-up (the first completions take a whole latency) and the drain at the end are left out.
  const first = Math.floor(completions.length * 0.1);
  const last = Math.max(first, Math.ceil(completions.length * 0.9) - 1);
  const steadySeconds = ((completions[last] ?? 0) - (completions[first] ?? 0)) / 1000;
  return {
    histogram,
    seconds,
    steadyOps: steadySeconds > 0 ? last - first : n - errors,
    steadySeconds: steadySeconds > 0 ? steadySeconds : seconds,
    ops: n - errors,
    errors,
    ...(firstError ? { firstError } : {}),
    clientCpuMs: (used.user + used.system) / 1000,
    serverCpuMs: serverCpu() - server,
    load1: os.loadavg()[0] ?? 0,
  };
}

/** Runs of one variant at one concurrency, summed over rounds. */
export interface Series {
  variant: string;
  concurrency: number;
  ops: number;
  errors: number;
  /** Steady-state throughput: completions between the 10th and 90th percentile completion per second. */
  opsPerSec: number;
  roundOpsPerSec: number[];
  /** All operations over the whole time of the runs, ramp-up and drain included. */
  wholeRunOpsPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  clientCpuMsPerOp: number;
  serverCpuMsPerOp: number;
  load1: number;
  firstError?: string;
}

export function summarize(variant: string, concurrency: number, runs: Run[]): Series {
  const all = build();
  for (const run of runs) all.add(run.histogram);
  const sum = (f: (r: Run) => number) => runs.reduce((s, r) => s + f(r), 0);
  const ops = runs.reduce((s, r) => s + r.ops, 0);
  const ms = (percentile: number) => round(all.getValueAtPercentile(percentile) / 1000, 2);
  const firstError = runs.find((r) => r.firstError)?.firstError;
  return {
    variant,
    concurrency,
    ops,
    errors: runs.reduce((s, r) => s + r.errors, 0),
    opsPerSec: round(sum((r) => r.steadyOps) / sum((r) => r.steadySeconds), 1),
    roundOpsPerSec: runs.map((r) => round(r.steadyOps / r.steadySeconds, 1)),
    wholeRunOpsPerSec: round(ops / sum((r) => r.seconds), 1),
    p50: ms(50),
    p95: ms(95),
    p99: ms(99),
    max: round(all.maxValue / 1000, 2),
    clientCpuMsPerOp: round(runs.reduce((s, r) => s + r.clientCpuMs, 0) / Math.max(ops, 1), 3),
    serverCpuMsPerOp: round(runs.reduce((s, r) => s + r.serverCpuMs, 0) / Math.max(ops, 1), 3),
    load1: round(runs.reduce((s, r) => s + r.load1, 0) / runs.length, 1),
    ...(firstError ? { firstError } : {}),
  };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

let serverPid: number | undefined;

function statOf(pid: string): string {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return ''; // gone since the directory was listed
  }
}

/** CPU time used so far by the `temporal` dev server this process started (Linux /proc; 0 elsewhere). */
function serverCpuMs(): number {
  try {
    if (serverPid === undefined) {
      const pid = readdirSync('/proc').find((d) => {
        const m = /^(\d+) \((.*)\) \S (\d+)/.exec(/^\d+$/.test(d) ? statOf(d) : '');
        return m?.[2] === 'temporal' && Number(m[3]) === process.pid;
      });
      serverPid = pid === undefined ? undefined : Number(pid);
    }
    return serverPid === undefined ? 0 : processCpuMs(serverPid);
  } catch {
    return 0;
  }
}

/** CPU time used so far by process `pid` (Linux /proc; 0 elsewhere). */
export function processCpuMs(pid: number): number {
  const stat = statOf(String(pid));
  if (!stat) return 0;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10; // utime + stime, at 100 ticks per second
}

export interface HistoryEvent {
  type: string;
  detail: string;
  bytes: number;
  /** Server time since the first event. */
  atMs: number;
}

export interface HistorySummary {
  workflowId: string;
  events: HistoryEvent[];
  eventCount: number;
  historyBytes: number;
  workflowTasks: number;
  activities: number;
  localActivityMarkers: number;
  upserts: number;
  timers: number;
  inputBytes: number;
  updateResultBytes: number;
}

const { EventType } = temporal.api.enums.v1;

function eventName(type: number | null | undefined): string {
  const name = EventType[type ?? 0] ?? 'EVENT_TYPE_UNSPECIFIED';
  return name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/(^|_)(\w)/g, (_, __, c: string) => c.toUpperCase());
}

const payloadBytes = (p?: temporal.api.common.v1.IPayloads | null) =>
  (p?.payloads ?? []).reduce((s, x) => s + (x.data?.length ?? 0), 0);

function detail(e: temporal.api.history.v1.IHistoryEvent): string {
  if (e.markerRecordedEventAttributes) return e.markerRecordedEventAttributes.markerName ?? '';
  if (e.activityTaskScheduledEventAttributes)
    return e.activityTaskScheduledEventAttributes.activityType?.name ?? '';
  if (e.upsertWorkflowSearchAttributesEventAttributes)
    return Object.keys(
      e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields ?? {},
    ).join(', ');
  if (e.timerStartedEventAttributes)
    return `${Number(e.timerStartedEventAttributes.startToFireTimeout?.seconds ?? 0) / 86_400} d`;
  if (e.workflowExecutionStartedEventAttributes)
    return `input ${payloadBytes(e.workflowExecutionStartedEventAttributes.input)} B`;
  if (e.workflowExecutionUpdateCompletedEventAttributes)
    return `result ${payloadBytes(e.workflowExecutionUpdateCompletedEventAttributes.outcome?.success)} B`;
  return '';
}

/** The workflow's history, event by event, with the counts that matter for cost. */
export async function historySummary(client: Client, workflowId: string): Promise<HistorySummary> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const raw = history.events ?? [];
  const time = (e?: temporal.api.history.v1.IHistoryEvent) =>
    Number(e?.eventTime?.seconds ?? 0) * 1000 + (e?.eventTime?.nanos ?? 0) / 1e6;
  const events = raw.map((e) => ({
    type: eventName(e.eventType),
    detail: detail(e),
    bytes: temporal.api.history.v1.HistoryEvent.encode(e).finish().length,
    atMs: round(time(e) - time(raw[0]), 1),
  }));
  const count = (type: string) => events.filter((e) => e.type === type).length;
  const started = raw[0]?.workflowExecutionStartedEventAttributes;
  const update = raw.find(
    (e) => e.workflowExecutionUpdateCompletedEventAttributes,
  )?.workflowExecutionUpdateCompletedEventAttributes;
  return {
    workflowId,
    events,
    eventCount: events.length,
    historyBytes: temporal.api.history.v1.History.encode(history).finish().length,
    workflowTasks: count('WorkflowTaskCompleted'),
    activities: count('ActivityTaskScheduled'),
    localActivityMarkers: events.filter((e) => e.type === 'MarkerRecorded' && /local/i.test(e.detail)).length,
    upserts: count('UpsertWorkflowSearchAttributes'),
    timers: count('TimerStarted'),
    inputBytes: payloadBytes(started?.input),
    updateResultBytes: payloadBytes(update?.outcome?.success),
  };
}

/** Where one execution's server-side time went, up to the update's result. */
export interface Phases {
  /** Workflow tasks waiting for a worker: WorkflowTaskScheduled → WorkflowTaskStarted. */
  wftWaitMs: number;
  /** Workflow tasks in the worker (local activities included): WorkflowTaskStarted → Completed. */
  wftWorkMs: number;
  /** Activities: ActivityTaskScheduled → ActivityTaskCompleted. */
  activityMs: number;
  /** WorkflowExecutionStarted → WorkflowExecutionUpdateCompleted. */
  toUpdateResultMs: number;
}

export function phases(events: HistoryEvent[]): Phases {
  const end = events.findIndex((e) => e.type === 'WorkflowExecutionUpdateCompleted');
  const upTo = end < 0 ? events : events.slice(0, end + 1);
  const gaps = (from: string, to: string) => {
    let total = 0;
    let since: number | undefined;
    for (const e of upTo) {
      if (e.type === from) {
        since = e.atMs;
      } else if (e.type === to && since !== undefined) {
        total += e.atMs - since;
        since = undefined;
      }
    }
    return round(total, 1);
  };
  return {
    wftWaitMs: gaps('WorkflowTaskScheduled', 'WorkflowTaskStarted'),
    wftWorkMs: gaps('WorkflowTaskStarted', 'WorkflowTaskCompleted'),
    activityMs: gaps('ActivityTaskScheduled', 'ActivityTaskCompleted'),
    toUpdateResultMs: upTo.at(-1)?.atMs ?? 0,
  };
}

/** The median of some numbers (the upper one of an even count); undefined for none. */
export function median(values: number[]): number | undefined {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** The median of each phase over several executions. */
export function medianPhases(all: Phases[]): Phases {
  const of = (key: keyof Phases) => median(all.map((p) => p[key])) ?? 0;
  return {
    wftWaitMs: of('wftWaitMs'),
    wftWorkMs: of('wftWorkMs'),
    activityMs: of('activityMs'),
    toUpdateResultMs: of('toUpdateResultMs'),
  };
}

const RESULTS_FILE = join(__dirname, 'RESULTS.md');

/** A section's identity: its heading without the parenthesis that carries this run's numbers. */
const sectionKey = (section: string) =>
  section
    .slice(0, section.indexOf('\n') < 0 ? undefined : section.indexOf('\n'))
    .replace(/\(.*$/, '')
    .trim();

/** Splits markdown into its preamble (title and text before the first `## `) and its `## ` sections. */
function sections(markdown: string): { preamble: string; sections: string[] } {
  const parts = ('\n' + markdown.trim()).split(/\n(?=## )/);
  return { preamble: parts[0]!.trim(), sections: parts.slice(1).map((s) => s.trim()) };
}

/**
 * Writes `markdown` into bench/RESULTS.md: its `## ` sections replace the file's sections of the same
 * heading (or are added), its title and preamble (if it has one) replace the file's, and every other
 * section stays, so each benchmark (`bench`, `bench:store`, …) rewrites only its own part.
 */
export async function writeResults(markdown: string): Promise<string> {
  const old = existsSync(RESULTS_FILE) ? sections(readFileSync(RESULTS_FILE, 'utf8')) : undefined;
  const next = sections(markdown);
  const ours = new Map(next.sections.map((s) => [sectionKey(s), s]));
  const kept = (old?.sections ?? []).map((s) => ours.get(sectionKey(s)) ?? s);
  const added = next.sections.filter((s) => !old?.sections.some((o) => sectionKey(o) === sectionKey(s)));
  const preamble = next.preamble || old?.preamble || '# AegisPay benchmark results';
  const text = [preamble, ...kept, ...added].join('\n\n') + '\n';
  const formatted = await format(text, { ...(await resolveConfig(RESULTS_FILE)), filepath: RESULTS_FILE });
  writeFileSync(RESULTS_FILE, formatted);
  return formatted;
}

/** A valid card payment (Stripe's 4242 test card, which the MOCK gateway charges at once). */
export function payRequest(idempotencyKey: string): CreatePaymentRequest {
  return {
    idempotencyKey,
    amount: 99.99,
    currency: 'USD',
    customer: { id: 'cust_bench', email: 'bench@example.com', name: 'Bench Customer' },
    paymentMethod: {
      type: 'CARD',
      details: {
        cardNumber: '4242424242424242',
        expiryMonth: '12',
        expiryYear: String(new Date().getFullYear() + 1),
        cvv: '123',
        cardHolderName: 'Bench Customer',
      },
    },
    metadata: { orderId: idempotencyKey },
  };
}

/** A bundler logger that keeps only warnings and errors. */
export const quietBundler = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: console.warn,
  error: console.error,
};

/** The floor workflow's bundle code (bench/floor-workflow.ts), for a floor worker. */
export async function bundleFloorWorkflow(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./floor-workflow'),
    logger: quietBundler,
  });
  return code;
}

/** An AegisPay worker with the MOCK gateway (zero latency), projecting into `store` when given one. */
export function startMockPaymentWorker(
  server: DevServer,
  taskQueue: string,
  store?: PaymentStore,
): Promise<RunningWorker> {
  return startTestWorker(server, taskQueue, [new MockGateway()], store ? { store } : {});
}

/** A floor worker running `code` (a bundle with the floor workflow), with any other worker options. */
export async function startFloorWorker(
  server: DevServer,
  taskQueue: string,
  code: string,
  options: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const connection = await connectWorker(connectionOf(server));
  const worker = await Worker.create({
    connection,
    namespace: server.namespace,
    taskQueue,
    workflowBundle: { code },
    activities: { noop: async () => undefined },
    shutdownGraceTime: '1s',
    ...options,
  });
  return runningWorker(worker, connection);
}

/**
 * CPU and time per workflow to replay `history` (as a worker does for a workflow that is not in its cache),
 * and how many promises the workflow's code created: the difference between replaying 150 and 50 copies,
 * so the replay worker's start-up cancels out. Replays run their workflows on this thread, each in its own
 * V8 context, so a promise of another realm than this one's is a workflow's.
 */
export async function replayCost(code: string, workflowId: string, history: unknown) {
  const measure = async (n: number) => {
    // Under its own workflow ID: a payment workflow refuses an input that names another payment.
    const histories = Array.from({ length: n }, () => ({ workflowId, history }));
    let promises = 0;
    const stopCounting = v8.promiseHooks.onInit((promise) => {
      if (!(promise instanceof Promise)) promises++;
    });
    const cpu = process.cpuUsage();
    const start = performance.now();
    // The payment workflow reports to the worker's metrics sinks, which a replay needs too.
    const options = { workflowBundle: { code }, sinks: paymentMetricsSinks() };
    try {
      for await (const result of Worker.runReplayHistories(options, histories)) {
        if (result.error) throw result.error;
      }
    } finally {
      stopCounting();
    }
    const used = process.cpuUsage(cpu);
    return { ms: performance.now() - start, cpuMs: (used.user + used.system) / 1000, promises };
  };
  const [small, large] = [await measure(50), await measure(150)];
  return {
    msPerWorkflow: round((large.ms - small.ms) / 100, 2),
    cpuMsPerWorkflow: round((large.cpuMs - small.cpuMs) / 100, 2),
    promisesPerWorkflow: round((large.promises - small.promises) / 100, 0),
  };
}
