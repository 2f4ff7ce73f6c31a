/**
 * `npm run bench:cluster [-- --rounds 2] [--concurrency 1,16] [--n 64]`
 *
 * `pay()` against the floor (Update-With-Start of a workflow whose update runs one no-op activity) on
 * the local cluster (`npm run cluster -- up [--tls]`: four Temporal services on PostgreSQL, mTLS if it
 * has it) and on a dev server started here, all four variants interleaved in rotating order in one
 * process, so the ratios compare like with like. Prints a table; the cluster must be up.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import { parseArgs } from 'node:util';
import { Client, WithStartWorkflowOperation } from '@temporalio/client';
import { MockGateway } from '../src/activities/gateways/mock/adapter';
import { connectClient } from '../src/temporal/connection';
import { createLogger } from '../src/logging';
import { installTemporalRuntime } from '../src/temporal-runtime';
import type { DevServer } from '../src/toolchain/dev-server';
import { cardPayment, connectionOf, startTestServer, startTestWorker, testClient } from '../test/helpers';
import { clusterTestServer } from '../test/helpers/cluster';
import { processStatus } from '../scripts/cluster/cluster';
import { clusterStateDir, readState } from '../scripts/cluster/state';
import { floorUpdate, type floorWorkflow } from './floor-workflow';
import {
  bundleFloorWorkflow,
  round,
  type Run,
  runLoad,
  type Series,
  startFloorWorker,
  summarize,
} from './lib';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string' }, concurrency: { type: 'string' }, n: { type: 'string' } },
});
const rounds = Number(args.rounds ?? 2);
const levels = (args.concurrency ?? '1,16').split(',').map(Number);
const opsAt = (c: number) => Number(args.n ?? (c === 1 ? 20 : 64));
const tag = randomUUID().slice(0, 8);
let batches = 0;

interface Variant {
  name: string;
  run(n: number, concurrency: number): Promise<Run>;
}

/** The floor and AegisPay (MOCK gateway, no store) on one server, each with a worker of its own. */
async function variantsOn(
  label: string,
  server: DevServer,
  closers: (() => Promise<unknown>)[],
): Promise<Variant[]> {
  const slug = label.replace(/\W+/g, '-');
  const floorQueue = `bench-floor-${slug}-${tag}`;
  const payQueue = `bench-pay-${slug}-${tag}`;
  const floorWorker = await startFloorWorker(server, floorQueue, await bundleFloorWorkflow());
  closers.push(() => floorWorker.stop());
  const worker = await startTestWorker(server, payQueue, [new MockGateway()]);
  closers.push(() => worker.stop());
  const aegis = testClient(server, payQueue, { store: false });
  closers.push(() => aegis.close());
  const connection = await connectClient(connectionOf(server));
  closers.push(() => connection.close());
  const client = new Client({ connection, namespace: server.namespace });
  const floor: Variant = {
    name: `floor (${label})`,
    run: (n, c) => {
      const prefix = `floor-${slug}-${tag}-${++batches}`;
      return runLoad(n, c, (i) =>
        client.workflow.executeUpdateWithStart(floorUpdate, {
          args: [{}],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
            workflowId: `${prefix}-${i}`,
            taskQueue: floorQueue,
            args: [{}],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        }),
      );
    },
  };
  const pay: Variant = {
    name: `AegisPay (${label})`,
    run: (n, c) => {
      const prefix = `bench_${slug}_${tag}_${++batches}`;
      return runLoad(n, c, async (i) => {
        const payment = await aegis.pay(cardPayment({ idempotencyKey: `${prefix}_${i}` }));
        if (payment.state !== 'SUCCESS') throw new Error(`payment ${payment.id} is ${payment.state}`);
      });
    },
  };
  return [floor, pay];
}

async function interleave(variants: Variant[], n: number, c: number): Promise<Series[]> {
  const runs = variants.map(() => [] as Run[]);
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < variants.length; k++) {
      const v = (r + k) % variants.length;
      runs[v]!.push(await variants[v]!.run(n, c));
    }
  }
  return variants.map((variant, v) => summarize(variant.name, c, runs[v]!));
}

function report(rows: Series[]): void {
  const find = (c: number, name: string) => rows.find((s) => s.concurrency === c && s.variant === name)!;
  console.log('\n| concurrency | variant | ops/s | p50 ms | p99 ms | errors |\n|---|---|---|---|---|---|');
  for (const s of rows)
    console.log(`| ${s.concurrency} | ${s.variant} | ${s.opsPerSec} | ${s.p50} | ${s.p99} | ${s.errors} |`);
  console.log(
    '\n| concurrency | where | AegisPay/floor throughput | AegisPay/floor p50 |\n|---|---|---|---|',
  );
  for (const c of levels) {
    for (const where of ['cluster', 'dev server']) {
      const floor = find(c, `floor (${where})`);
      const pay = find(c, `AegisPay (${where})`);
      console.log(
        `| ${c} | ${where} | ${round(pay.opsPerSec / floor.opsPerSec, 2)} | ${round(pay.p50 / floor.p50, 2)} |`,
      );
    }
  }
}

async function main(): Promise<void> {
  const state = readState(clusterStateDir());
  if (!state || !Object.values(processStatus(state)).every(Boolean)) {
    throw new Error(`no running cluster in ${clusterStateDir()}: run \`npm run cluster -- up --tls\` first`);
  }
  installTemporalRuntime(createLogger('ERROR'), 'ERROR');
  const closers: (() => Promise<unknown>)[] = [];
  const dev = await startTestServer();
  closers.push(() => dev.stop());
  try {
    const variants = [
      ...(await variantsOn('cluster', clusterTestServer(state), closers)),
      ...(await variantsOn('dev server', dev, closers)),
    ];
    console.log(
      `cluster mTLS ${state.tls ? 'on' : 'off'}; ${rounds} round(s); load ${os.loadavg()[0]?.toFixed(1)}`,
    );
    await interleave(variants, 16, 8); // warm-up
    const rows: Series[] = [];
    for (const c of levels) {
      rows.push(...(await interleave(variants, opsAt(c), c)));
      console.log(`concurrency ${c} done, load ${os.loadavg()[0]?.toFixed(1)}`);
    }
    report(rows);
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
