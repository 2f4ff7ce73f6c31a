import type { HistorySummary, Phases, Series } from './lib';

/** Median server-side phases of sampled executions of one variant at one concurrency. */
export interface PhaseRow extends Phases {
  variant: string;
  concurrency: number;
  samples: number;
  attribution?: boolean;
}

export interface Results {
  date: string;
  durationSeconds: number;
  machine: { cpus: number; cpuModel: string; totalMemGb: number; platform: string };
  versions: { node: string; temporalCli: string; temporalio: string };
  config: {
    quick: boolean;
    /** The command-line arguments of the run. */
    args: string;
    n: number;
    nAtConcurrency1: number;
    rounds: number;
    levels: number[];
    warmup: number;
    attribution: { n: number; nAtConcurrency1: number; rounds: number; levels: number[] };
    samples: number;
    open: number;
    openFloor: number;
    dbFile: boolean;
    /** The dev server's dynamic config (temporal-dev.yml's, or none with --server-defaults). */
    dynamicConfig: Record<string, string>;
  };
  main: Series[];
  attribution: Series[];
  phases: PhaseRow[];
  histories: Record<string, HistorySummary>;
  bundleBytes: { aegisPay: number; floor: number };
  clientPrepareMicros: number;
  /** Replaying one history many times: the workflow code's own cost per workflow. */
  replay: { name: string; msPerWorkflow: number; cpuMsPerWorkflow: number; promisesPerWorkflow: number }[];
  memory: {
    withoutWorkers: Memory;
    phases: MemoryPhase[];
    maxCachedWorkflows: number;
    stickyQueueScheduleToStartTimeoutMs: number;
    reuseV8Context: boolean;
    workflowTaskSlots: unknown;
    v8HeapLimitMb: number;
  };
}

interface Memory {
  rssMb: number;
  heapUsedMb: number;
  gc: boolean;
}

/** One kind of workflow opened on a fresh worker: the process's memory before and after. */
interface MemoryPhase {
  name: string;
  count: number;
  opening: Series;
  idle: Memory;
  after: Memory;
  cachedWorkflows: number;
  kbPerCachedWorkflow: number;
}

export const TARGETS = { throughputRatio: 0.9, p50Ratio: 1.2, cpuRatio: 1.3, concurrencies: [16, 64] };

const A = 'AegisPay pay()';
const B = 'floor';

const table = (header: string[], rows: (string | number)[][]) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

const ratio = (x: number, y: number) => (y ? Math.round((x / y) * 100) / 100 : NaN);
const signed = (x: number, digits = 2) => `${x >= 0 ? '+' : ''}${x.toFixed(digits)}`;

/** A/B ratios per concurrency, with PASS/MISS for the targets at the target concurrency. */
export function ratios(main: Series[]) {
  const levels = [...new Set(main.map((s) => s.concurrency))];
  return levels.map((c) => {
    const a = main.find((s) => s.concurrency === c && s.variant === A)!;
    const b = main.find((s) => s.concurrency === c && s.variant === B)!;
    const throughput = ratio(a.opsPerSec, b.opsPerSec);
    const p50 = ratio(a.p50, b.p50);
    const cpu = ratio(a.clientCpuMsPerOp, b.clientCpuMsPerOp);
    const judged = TARGETS.concurrencies.includes(c);
    const verdict = (ok: boolean) => (judged ? (ok ? 'PASS' : 'MISS') : '');
    return {
      concurrency: c,
      throughput,
      p50,
      p99: ratio(a.p99, b.p99),
      cpu,
      throughputTarget: verdict(throughput >= TARGETS.throughputRatio),
      p50Target: verdict(p50 <= TARGETS.p50Ratio),
      cpuTarget: verdict(cpu <= TARGETS.cpuRatio),
    };
  });
}

export function renderReport(r: Results): string {
  const m = r.memory;
  const h = r.histories;
  const histCols = Object.keys(h);
  const seriesHeader = [
    'conc.',
    'variant',
    'ops/s',
    'ops/s by round',
    'ops/s whole run',
    'p50 ms',
    'p95 ms',
    'p99 ms',
  ];
  const cpuHeader = ['CPU ms/op bench proc', 'CPU ms/op server', 'load', 'errors'];
  const seriesRow = (s: Series) => [
    s.concurrency,
    s.variant,
    s.opsPerSec,
    s.roundOpsPerSec.join(' / '),
    s.wholeRunOpsPerSec,
    s.p50,
    s.p95,
    s.p99,
    s.clientCpuMsPerOp,
    s.serverCpuMsPerOp,
    s.load1,
    s.errors,
  ];
  const floorOf = (list: Series[], c: number) => list.find((f) => f.concurrency === c && f.variant === B)!;
  const attributionRows = r.attribution.map((s) => {
    const floor = floorOf(r.attribution, s.concurrency);
    return [
      s.concurrency,
      s.variant,
      s.opsPerSec,
      `${signed(((s.opsPerSec - floor.opsPerSec) / floor.opsPerSec) * 100, 0)} %`,
      s.p50,
      signed(s.p50 - floor.p50),
      s.p99,
      signed(s.clientCpuMsPerOp - floor.clientCpuMsPerOp, 2),
      signed(s.serverCpuMsPerOp - floor.serverCpuMsPerOp, 2),
      s.errors,
    ];
  });
  const phaseRows = r.phases.map((p) => {
    const series = (p.attribution ? r.attribution : r.main).find(
      (s) => s.variant === p.variant && s.concurrency === p.concurrency,
    );
    const other = p.toUpdateResultMs - p.wftWaitMs - p.wftWorkMs - p.activityMs;
    return [
      p.concurrency,
      p.variant + (p.attribution ? ' (attribution)' : ''),
      p.samples,
      p.toUpdateResultMs,
      p.wftWaitMs,
      p.wftWorkMs,
      p.activityMs,
      other.toFixed(1),
      series ? series.p50 : '',
    ];
  });
  const maxEvents = Math.max(...histCols.map((k) => h[k]!.events.length));
  const eventRows = Array.from({ length: maxEvents }, (_, i) => [
    i + 1,
    ...histCols.map((k) => {
      const e = h[k]!.events[i];
      return e ? `${e.type}${e.detail ? ` (${e.detail})` : ''} · +${e.atMs} ms · ${e.bytes} B` : '';
    }),
  ]);
  type Count = {
    [K in keyof HistorySummary]: HistorySummary[K] extends number ? K : never;
  }[keyof HistorySummary];
  const historyRow = (label: string, key: Count) => [label, ...histCols.map((k) => h[k]![key])];
  const gap = r.config.attribution.levels.map((c) => {
    const floor = floorOf(r.attribution, c);
    const line = (label: string, s: Series | undefined) =>
      s
        ? `${label} ${signed(s.p50 - floor.p50)} ms p50, ${signed(((s.opsPerSec - floor.opsPerSec) / floor.opsPerSec) * 100, 0)} % ops/s, ` +
          `${signed(s.clientCpuMsPerOp - floor.clientCpuMsPerOp)} ms CPU/op in the bench process`
        : '';
    const find = (prefix: string) =>
      r.attribution.find((s) => s.concurrency === c && s.variant.startsWith(prefix));
    return [
      `- concurrency ${c}:`,
      `  - ${line('AegisPay − floor:', find(A))}`,
      `  - ${line("AegisPay's workflow bundle alone:", find("+ AegisPay's workflow bundle"))}`,
      `  - ${line('floor shaped like AegisPay:', find('floor shaped'))}`,
    ].join('\n');
  });
  return `# AegisPay benchmark results

Generated by \`npm run bench${r.config.args ? ` -- ${r.config.args}` : ''}\` on ${r.date} (${r.durationSeconds} s).
Machine: ${r.machine.cpus} cores (${r.machine.cpuModel}), ${r.machine.totalMemGb} GB RAM, ${r.machine.platform}.
Node ${r.versions.node}; ${r.versions.temporalCli}; @temporalio/* ${r.versions.temporalio}.
One Temporal dev server ${r.config.dbFile ? 'with a SQLite database file' : 'in memory (--in-memory)'}, dynamic config
${
  Object.keys(r.config.dynamicConfig).length
    ? Object.entries(r.config.dynamicConfig)
        .map(([k, v]) => `\`${k}=${v}\``)
        .join(', ')
    : "Temporal's defaults (--server-defaults)"
}; client,
AegisPay worker (\`MockGateway\`, zero latency) and floor worker in the benchmark's process. N = ${r.config.n} operations
(${r.config.nAtConcurrency1} at concurrency 1) per round, ${r.config.rounds} rounds per variant and concurrency, variants interleaved (rotating order), after a
warm-up of ${r.config.warmup} each. "load" is the machine's 1-minute load average at the end of the runs. The benchmark
alone keeps both cores busy from concurrency 16 on (load ≈ 2-3); more means other processes competed for
the CPU: absolute numbers suffer, ratios of interleaved runs much less.

**A** = \`AegisPay.pay()\` (Update-With-Start of \`process\`: validation, tokenization, routing local activity,
charge activity, then the payment stays open for refunds). **B** = the floor: Update-With-Start of a workflow
whose update runs one no-op activity and returns; then the workflow completes.

## Throughput and latency

${table([...seriesHeader, ...cpuHeader], r.main.map(seriesRow))}

ops/s is the steady-state throughput: operations completed between the 10th and the 90th percentile
completion, per second, so the ramp-up (the first completions take a whole latency) and the drain at the
end do not count; "whole run" is all operations over the run's whole time. At concurrency 64 a run needs
well over 64 operations to reach a steady state; below that it is a burst, and p50 is then a queueing time.
CPU per op: CPU time of the whole benchmark process (client, both workers, core threads) and of the Temporal
server during the run, divided by its operations.

## A/B

${table(
  [
    'conc.',
    'throughput A/B',
    'p50 A/B',
    'p99 A/B',
    'CPU/op A/B (bench proc)',
    `throughput ≥ ${TARGETS.throughputRatio}`,
    `p50 ≤ ${TARGETS.p50Ratio}×`,
    `CPU ≤ ${TARGETS.cpuRatio}×`,
  ],
  ratios(r.main).map((x) => [
    x.concurrency,
    x.throughput,
    x.p50,
    x.p99,
    x.cpu,
    x.throughputTarget,
    x.p50Target,
    x.cpuTarget,
  ]),
)}

## History per happy-path payment

${table(
  ['', ...histCols],
  [
    historyRow('events', 'eventCount'),
    historyRow('workflow tasks', 'workflowTasks'),
    historyRow('activities (ActivityTaskScheduled)', 'activities'),
    historyRow('local activity markers', 'localActivityMarkers'),
    historyRow('search-attribute upserts', 'upserts'),
    historyRow('timers started', 'timers'),
    historyRow('history bytes', 'historyBytes'),
    historyRow('start input bytes', 'inputBytes'),
    historyRow('update result bytes', 'updateResultBytes'),
  ],
)}

AegisPay's history is read while the payment waits in its refund window; the floor's after it completed.
Workflow bundles (code and inline source map): AegisPay's workflows ${Math.round(r.bundleBytes.aegisPay / 1024)} KB, floor ${Math.round(r.bundleBytes.floor / 1024)} KB. With
\`reuseV8Context\` the SDK evaluates the bundle's modules (all but its own) once per workflow and keeps them
while the workflow is cached, so what the workflow code imports costs CPU per new or replayed workflow and
memory per cached one: the "AegisPay's workflow bundle" rows below measure exactly that.
Client-side work per \`pay()\` before the RPC (validation, tokenization, fingerprint): ${r.clientPrepareMicros} µs.

${table(['#', ...histCols], eventRows)}

Workflow code alone, replaying one history 100 times (what a worker does for a workflow that has left its
cache; the first workflow task of a new workflow does the same work, plus the server round trips):

${table(
  ['history', 'CPU ms per workflow', 'ms per workflow', 'promises created by workflow code'],
  r.replay.map((x) => [x.name, x.cpuMsPerWorkflow, x.msPerWorkflow, x.promisesPerWorkflow]),
)}

What a promise costs there is measured by \`npm run bench:workflow\` (section "Workflow CPU" below).

## Where the time goes (server-side phases, medians of ${r.config.samples} sampled histories)

Up to the update's result: WFT wait = workflow tasks waiting for a worker poll; WFT in worker = workflow
tasks being processed (local activities run inside them); activity = scheduled → completed; other = the
rest (start, update admission, gaps between events). Client p50 − server time ≈ RPCs and client work.

${table(
  [
    'conc.',
    'variant',
    'samples',
    'server ms to update result',
    'WFT wait',
    'WFT in worker',
    'activity',
    'other',
    'client p50 ms',
  ],
  phaseRows,
)}

## Attribution: the floor plus one AegisPay cost at a time

${r.config.attribution.rounds} round(s) of ${r.config.attribution.n} (${r.config.attribution.nAtConcurrency1} at concurrency 1) per variant, all variants interleaved. Deltas against the floor of
the same rounds. Wall-clock deltas (ops/s, p50) of a few runs on a shared 2-core machine are noisy: a delta
within ±30 % can be noise. CPU time per operation is the steadier signal: it barely depends on what else runs.

${table(
  [
    'conc.',
    'variant',
    'ops/s',
    'Δ ops/s',
    'p50 ms',
    'Δ p50 ms',
    'p99 ms',
    'Δ CPU bench proc',
    'Δ CPU server',
    'errors',
  ],
  attributionRows,
)}

${gap.join('\n')}

## Worker memory with open workflows

Each kind of workflow opened at concurrency 64 on a fresh worker (the others stopped) after 10 to warm it up;
they stay open (payments in their 30-day refund window, floor workflows on a 30-day timer). RSS of the whole
process ${m.withoutWorkers.gc ? 'after forced GC of the main thread (node --expose-gc)' : '(no forced GC available)'};
the workflow sandbox runs in a worker thread whose heap V8 collects on its own.
Client only, no workers running: RSS ${m.withoutWorkers.rssMb} MB.

${table(
  [
    'workflows',
    'opened',
    'ops/s',
    'p50 ms',
    'errors',
    'RSS before MB',
    'RSS after MB',
    'cached',
    'KB RSS per cached workflow',
  ],
  m.phases.map((p) => [
    p.name,
    p.count,
    p.opening.opsPerSec,
    p.opening.p50,
    p.opening.errors,
    p.idle.rssMb,
    p.after.rssMb,
    p.cachedWorkflows,
    p.kbPerCachedWorkflow,
  ]),
)}

Sticky cache: \`maxCachedWorkflows\` = ${m.maxCachedWorkflows} (the SDK's default from the V8 heap limit of
${m.v8HeapLimitMb} MB; reuseV8Context ${m.reuseV8Context}); sticky schedule-to-start timeout
${m.stickyQueueScheduleToStartTimeoutMs} ms; workflow task slots ${JSON.stringify(m.workflowTaskSlots)}.
The worker keeps at most \`maxCachedWorkflows\` workflows in memory; the others cost it nothing until their
next task (a refund, the window's timer), when they are replayed from history.
`;
}
