/**
 * `npm run bench [-- --quick] [--n 200] [--rounds 3] [--open 10000] [--concurrency 1,16,64] [--in-memory]
 *   [--server-defaults]`
 *
 * AegisPay `pay()` (A) against the floor (B: Update-With-Start of a workflow whose update runs one
 * no-op activity), on one Temporal dev server with a database file, both workers in this process.
 * Then attributes the gap with floor variants, and measures worker memory with many open payments.
 * Writes bench/results.json and bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { AegisPay } from '../src/embedded/aegis-pay';
import { preparePayment } from '../src/client/prepare-payment';
import { paymentWorkflowId } from '../src/domain/ids';
import {
  PAYMENT_AMOUNT,
  PAYMENT_CURRENCY,
  PAYMENT_CUSTOMER_ID,
  PAYMENT_STATE,
} from '../src/domain/search-attributes';
import { validateCreatePaymentRequest } from '../src/domain/validation';
import { createLogger } from '../src/logging';
import { installTemporalRuntime } from '../src/temporal-runtime';
import { loadDevServerSettings, startDevServer } from '../src/toolchain/dev-server';
import { findProjectRoot, findTemporalCli } from '../src/toolchain/temporal-binaries';
import type { RunningWorker } from '../test/helpers';
import { floorUpdate, type FloorOptions, type floorWorkflow } from './floor-workflow';
import {
  bundleFloorWorkflow,
  replayCost,
  startFloorWorker,
  startMockPaymentWorker,
  historySummary,
  type HistorySummary,
  medianPhases,
  payRequest,
  phases,
  quietBundler,
  round,
  type Run,
  runLoad,
  type Series,
  summarize,
  writeResults,
} from './lib';
import { renderReport, type PhaseRow, type Results } from './report';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    n: { type: 'string' },
    rounds: { type: 'string' },
    open: { type: 'string' },
    concurrency: { type: 'string' },
    'in-memory': { type: 'boolean', default: false },
    /** Temporal's dynamic config instead of temporal-dev.yml's, for the before/after of the server settings. */
    'server-defaults': { type: 'boolean', default: false },
  },
});
const quick = args.quick ?? false;
const int = (value: string | undefined, fallback: number) => (value ? Number.parseInt(value, 10) : fallback);
const open = int(args.open, quick ? 1000 : 10_000);
const config = {
  quick,
  args: process.argv.slice(2).join(' '),
  n: int(args.n, quick ? 100 : 200),
  /** Concurrency 1 measures latency, not throughput: fewer operations do, and save minutes. */
  nAtConcurrency1: int(args.n, quick ? 40 : 60),
  rounds: int(args.rounds, quick ? 2 : 3),
  levels: args.concurrency ? args.concurrency.split(',').map(Number) : [1, 16, 64],
  warmup: quick ? 20 : 60,
  attribution: quick
    ? { n: 48, nAtConcurrency1: 0, rounds: 1, levels: [16] }
    : { n: 100, nAtConcurrency1: 40, rounds: 2, levels: [1, 64] },
  /** Histories per series read for the phase breakdown. */
  samples: quick ? 8 : 20,
  /** Open payments for the memory measurement, and open floor workflows of each bundle. */
  open,
  openFloor: Math.min(1000, Math.ceil(open / 10)),
  dbFile: !args['in-memory'],
  dynamicConfig: args['server-defaults'] ? {} : loadDevServerSettings().dynamicConfig,
};

const SHAPED = 'floor shaped like AegisPay (all above)';
const BUNDLE = "+ AegisPay's workflow bundle";
const logger = createLogger('SILENT');
const tag = randomUUID().slice(0, 8);
let instances = 0;
const progress = (line: string) => console.log(`[bench ${(performance.now() / 1000).toFixed(0)}s] ${line}`);

/** A fresh set of operations (new IDs) for one run: `run(i)` does operation i on workflow `workflowId(i)`. */
interface Ops {
  run(i: number): Promise<unknown>;
  workflowId(i: number): string;
}
interface Variant {
  name: string;
  ops(): Ops;
}

/** A: one `pay()` with a fresh idempotency key; anything but SUCCESS is an error. */
function payVariant(name: string, aegis: AegisPay): Variant {
  return {
    name,
    ops() {
      const prefix = `bench_${tag}_${++instances}`;
      return {
        workflowId: (i) => paymentWorkflowId(`${prefix}_${i}`),
        async run(i) {
          const payment = await aegis.pay(payRequest(`${prefix}_${i}`));
          if (payment.state !== 'SUCCESS') throw new Error(`payment ${payment.id} is ${payment.state}`);
        },
      };
    },
  };
}

/** B: Update-With-Start of the floor workflow, started as AegisPay starts a payment. */
function floorVariant(
  name: string,
  client: Client,
  taskQueue: string,
  options: FloorOptions,
  startAttributes = false,
): Variant {
  return {
    name,
    ops() {
      const prefix = `floor-${tag}-${++instances}`;
      const workflowId = (i: number) => `${prefix}-${i}`;
      return {
        workflowId,
        run: (i) =>
          client.workflow.executeUpdateWithStart(floorUpdate, {
            args: [{}],
            startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
              workflowId: workflowId(i),
              taskQueue,
              args: [options],
              workflowIdConflictPolicy: 'USE_EXISTING',
              workflowIdReusePolicy: 'REJECT_DUPLICATE',
              ...(startAttributes
                ? {
                    typedSearchAttributes: [
                      { key: PAYMENT_STATE, value: 'INITIATED' },
                      { key: PAYMENT_AMOUNT, value: 9999 },
                      { key: PAYMENT_CURRENCY, value: 'USD' },
                      { key: PAYMENT_CUSTOMER_ID, value: 'cust_bench' },
                    ],
                    staticSummary: 'USD 99.99 · card visa ••4242',
                  }
                : {}),
            }),
          }),
      };
    },
  };
}

/**
 * Runs each variant once per round, in a rotating order, so drift and noise hit all alike; then reads
 * a few histories of each variant's last run for the phase breakdown.
 */
async function interleave(
  client: Client,
  variants: Variant[],
  n: number,
  concurrency: number,
  rounds: number,
): Promise<{ series: Series[]; phases: PhaseRow[] }> {
  const runs = variants.map(() => [] as Run[]);
  const last: Ops[] = [];
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (r + k) % variants.length;
      const ops = variants[v]!.ops();
      runs[v]!.push(await runLoad(n, concurrency, (i) => ops.run(i)));
      last[v] = ops;
    }
  }
  const series = variants.map((v, i) => summarize(v.name, concurrency, runs[i]!));
  for (const s of series) {
    const err = s.errors ? ` ERRORS ${s.errors} (${s.firstError})` : '';
    progress(
      `c=${concurrency} ${s.variant}: ${s.opsPerSec} ops/s, p50 ${s.p50} ms, p99 ${s.p99} ms, load ${s.load1}${err}`,
    );
  }
  const phaseRows: PhaseRow[] = [];
  for (const [v, variant] of variants.entries()) {
    const picks = Array.from({ length: Math.min(config.samples, n) }, (_, k) =>
      Math.floor((k * n) / Math.min(config.samples, n)),
    );
    const sampled = await Promise.all(
      picks.map(async (i) => phases((await historySummary(client, last[v]!.workflowId(i))).events)),
    );
    phaseRows.push({ variant: variant.name, concurrency, samples: sampled.length, ...medianPhases(sampled) });
  }
  return { series, phases: phaseRows };
}

const gc = (globalThis as { gc?: () => void }).gc;

/** Memory of this whole process (client, workers, workflow isolates) after garbage collection, in MB. */
async function memory() {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  const m = process.memoryUsage();
  const mb = (bytes: number) => round(bytes / 2 ** 20, 1);
  return { rssMb: mb(m.rss), heapUsedMb: mb(m.heapUsed), gc: Boolean(gc) };
}

/** Opens `count` workflows of one kind on a fresh worker and measures the process's memory before and after. */
async function openPhase(variant: Variant, start: () => Promise<RunningWorker>, count: number) {
  const worker = await start();
  const warm = variant.ops();
  await runLoad(10, 1, (i) => warm.run(i));
  const idle = await memory();
  const ops = variant.ops();
  const opening = summarize(variant.name, 64, [await runLoad(count, 64, (i) => ops.run(i))]);
  const after = await memory();
  const { numCachedWorkflows } = worker.worker.getStatus();
  const options = worker.worker.options;
  await worker.stop();
  progress(
    `${count} open ${variant.name}: RSS ${idle.rssMb} → ${after.rssMb} MB, ${numCachedWorkflows} cached`,
  );
  return {
    name: variant.name,
    count,
    opening,
    idle,
    after,
    cachedWorkflows: numCachedWorkflows,
    kbPerCachedWorkflow: round(((after.rssMb - idle.rssMb) * 1024) / Math.max(1, numCachedWorkflows - 10), 1),
    options,
  };
}

/** What the client does per pay() before any RPC: validation, tokenization, fingerprint. */
async function clientPrepareMicros(n: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) await preparePayment(validateCreatePaymentRequest(payRequest(`prep_${i}`)));
  return round(((performance.now() - start) * 1000) / n, 1);
}

async function main() {
  const started = new Date();
  installTemporalRuntime(logger);
  const dir = mkdtempSync(join(os.tmpdir(), 'aegispay-bench-'));
  const dbFile = config.dbFile ? join(dir, 'bench.db') : null;
  progress(`config ${JSON.stringify(config)}; dev server database ${dbFile ?? 'in memory'}`);
  const server = await startDevServer({
    port: 0,
    uiPort: false,
    dbFile,
    ...(args['server-defaults'] ? { dynamicConfig: {} } : {}),
  });
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup); // the dev server kills itself on exit too
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
  const temporal = { address: server.address, namespace: server.namespace };
  const closers: (() => Promise<unknown>)[] = [];
  try {
    const [floorBundle, bigBundle] = await Promise.all([
      bundleFloorWorkflow(),
      bundleWorkflowCode({ workflowsPath: require.resolve('./floor-in-aegis-bundle'), logger: quietBundler }),
    ]);
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: server.namespace });
    closers.push(() => connection.close());
    const aegisFor = (taskQueue: string) => {
      const aegis = new AegisPay({ temporal, taskQueue, logging: { level: 'SILENT' } });
      closers.push(() => aegis.close());
      return aegis;
    };
    const queue = (name: string) => `bench-${name}-${tag}`;
    const workers = [
      await startMockPaymentWorker(server, queue('aegis')),
      await startFloorWorker(server, queue('floor'), floorBundle),
      await startFloorWorker(server, queue('floor-big'), bigBundle.code),
    ];
    const aegis = aegisFor(queue('aegis'));

    const A = payVariant('AegisPay pay()', aegis);
    const B = floorVariant('floor', client, queue('floor'), {});
    progress(`warm-up: ${config.warmup} of each`);
    await interleave(client, [A, B], config.warmup, 16, 1);

    // One happy-path history of each, compared event by event.
    const ids: Record<string, string> = {};
    const one = async (name: string, variant: Variant) => {
      const ops = variant.ops();
      await ops.run(0);
      ids[name] = ops.workflowId(0);
      return historySummary(client, ops.workflowId(0));
    };
    const histories: Record<string, HistorySummary> = {
      aegisPay: await one('aegisPay', A),
      floor: await one('floor', B),
    };

    const main: Series[] = [];
    const phaseRows: PhaseRow[] = [];
    for (const c of config.levels) {
      const n = c === 1 ? config.nAtConcurrency1 : config.n;
      progress(`A/B at concurrency ${c}: ${config.rounds} rounds of ${n}`);
      const result = await interleave(client, [A, B], n, c, config.rounds);
      main.push(...result.series);
      phaseRows.push(...result.phases);
    }

    // Attribution: the floor with one AegisPay cost added at a time, then all of them.
    const a = histories.aegisPay!;
    const f = histories.floor!;
    const shaped: FloorOptions = {
      localActivity: a.localActivityMarkers > 0,
      upserts: a.upserts,
      stayOpen: !a.events.some((e) => e.type === 'WorkflowExecutionCompleted'),
      // JSON overhead of the padding fields ({"padding":""} and the extra argument) taken off.
      resultPadding: Math.max(0, a.updateResultBytes - f.updateResultBytes - 14),
      inputPadding: 'x'.repeat(Math.max(0, a.inputBytes - f.inputBytes - 18)),
    };
    const floorWith = (name: string, options: FloorOptions, startAttributes = false) =>
      floorVariant(name, client, queue('floor'), options, startAttributes);
    const shapedFloor = floorVariant(SHAPED, client, queue('floor-big'), shaped, true);
    histories.shapedFloor = await one('shapedFloor', shapedFloor);
    const variants = [
      A,
      B,
      floorWith('+ local activity', { localActivity: true }),
      floorWith(`+ ${a.upserts} upserts`, { upserts: a.upserts }),
      floorWith(`+ payload sizes (${a.inputBytes} B in, ${a.updateResultBytes} B out)`, {
        resultPadding: shaped.resultPadding!,
        inputPadding: shaped.inputPadding!,
      }),
      floorWith('+ stays open (30-day timer)', { stayOpen: true }),
      floorWith('+ start search attributes & summary', {}, true),
      floorVariant(BUNDLE, client, queue('floor-big'), {}),
      shapedFloor,
    ];
    const attribution: Series[] = [];
    for (const c of config.attribution.levels) {
      const { rounds } = config.attribution;
      const n = c === 1 ? config.attribution.nAtConcurrency1 : config.attribution.n;
      progress(`attribution at concurrency ${c}: ${rounds} round(s) of ${n}`);
      const result = await interleave(client, variants, n, c, rounds);
      attribution.push(...result.series);
      phaseRows.push(...result.phases.map((p) => ({ ...p, attribution: true })));
    }
    const prepareMicros = await clientPrepareMicros(quick ? 500 : 2000);

    // Memory: each kind of workflow on a fresh worker, alone in this process, kept open in its cache.
    progress(`memory: ${config.open} open payments, ${config.openFloor} of each other kind`);
    await Promise.all(workers.map((w) => w.stop()));
    const withoutWorkers = await memory();
    const stayOpen = { stayOpen: true };
    const memoryPhases = [
      await openPhase(
        payVariant('AegisPay payments', aegisFor(queue('open'))),
        () => startMockPaymentWorker(server, queue('open')),
        config.open,
      ),
      await openPhase(
        floorVariant('floor workflows', client, queue('open-floor'), stayOpen),
        () => startFloorWorker(server, queue('open-floor'), floorBundle),
        config.openFloor,
      ),
      await openPhase(
        floorVariant("floor workflows in AegisPay's bundle", client, queue('open-big'), stayOpen),
        () => startFloorWorker(server, queue('open-big'), bigBundle.code),
        config.openFloor,
      ),
    ];
    const options = memoryPhases[0]!.options;

    // Workflow code alone: replaying one history many times, no server or activities involved.
    progress('replay cost of the workflow code');
    const history = async (name: string) => client.workflow.getHandle(ids[name]!).fetchHistory();
    const [aegisHistory, floorHistory] = [await history('aegisPay'), await history('floor')];
    const replay = [
      { name: 'AegisPay payment', ...(await replayCost(bigBundle.code, ids.aegisPay!, aegisHistory)) },
      { name: 'floor', ...(await replayCost(floorBundle, ids.floor!, floorHistory)) },
      { name: "floor in AegisPay's bundle", ...(await replayCost(bigBundle.code, ids.floor!, floorHistory)) },
    ];
    for (const r of replay)
      progress(`replay ${r.name}: ${r.cpuMsPerWorkflow} ms CPU, ${r.msPerWorkflow} ms per workflow`);

    const results: Results = {
      date: started.toISOString(),
      durationSeconds: round((Date.now() - started.getTime()) / 1000, 0),
      machine: {
        cpus: os.cpus().length,
        cpuModel: os.cpus()[0]?.model ?? 'unknown',
        totalMemGb: round(os.totalmem() / 2 ** 30, 1),
        platform: `${os.platform()} ${os.release()}`,
      },
      versions: {
        node: process.version,
        temporalCli: execFileSync(findTemporalCli(), ['--version'], { encoding: 'utf8' }).trim(),
        temporalio: packageVersion('@temporalio/worker'),
      },
      config,
      main,
      attribution,
      phases: phaseRows,
      histories,
      bundleBytes: { aegisPay: bigBundle.code.length, floor: floorBundle.length },
      clientPrepareMicros: prepareMicros,
      replay,
      memory: {
        withoutWorkers,
        phases: memoryPhases.map(({ options: _, ...phase }) => phase),
        maxCachedWorkflows: options.maxCachedWorkflows,
        stickyQueueScheduleToStartTimeoutMs: options.stickyQueueScheduleToStartTimeoutMs,
        reuseV8Context: options.reuseV8Context,
        workflowTaskSlots: options.tuner.workflowTaskSlotSupplier,
        v8HeapLimitMb: round(v8.getHeapStatistics().heap_size_limit / 2 ** 20, 0),
      },
    };
    writeFileSync(join(__dirname, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    // Sections other benchmarks wrote (the payment store's) stay.
    const markdown = await writeResults(renderReport(results));
    console.log('\n' + markdown);
    progress('wrote bench/results.json and bench/RESULTS.md');
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    await server.stop();
  }
}

function packageVersion(name: string): string {
  const file = join(findProjectRoot(), 'node_modules', name, 'package.json');
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
