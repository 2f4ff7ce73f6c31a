/**
 * `npx tsx bench/server-settings.ts [--n 200] [--rounds 3] [--concurrency 1,16,64] [--in-memory] [--dc KEY=JSON …]`
 *
 * The floor (bare Temporal, no AegisPay code) on two dev servers side by side: one with Temporal's
 * dynamic config, one with temporal-dev.yml's. Runs interleave (rotating order) so noise hits both;
 * prints throughput, p50 and each server's CPU per operation, and the ratios tuned / defaults.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { loadDevServerSettings, startDevServer, type DevServer } from '../src/toolchain/dev-server';
import { floorUpdate, type floorWorkflow } from './floor-workflow';
import {
  bundleFloorWorkflow,
  processCpuMs,
  round,
  type Run,
  runLoad,
  startFloorWorker,
  summarize,
} from './lib';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '1,16,64' },
    'in-memory': { type: 'boolean', default: false },
    /** Dynamic config of the tuned side on top of temporal-dev.yml's, KEY=JSON. */
    dc: { type: 'string', multiple: true, default: [] },
  },
});

interface Side {
  name: string;
  server: DevServer;
  client: Client;
  taskQueue: string;
  stop(): Promise<void>;
}

async function side(name: string, dynamicConfig: Record<string, unknown>, code: string, dir: string) {
  const dbFile = args['in-memory'] ? null : join(dir, `${name}.db`);
  const server = await startDevServer({ port: 0, uiPort: false, dbFile, dynamicConfig });
  const taskQueue = `settings-${name}-${randomUUID().slice(0, 8)}`;
  const worker = await startFloorWorker(server, taskQueue, code);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const stop = async () => {
    await worker.stop();
    await connection.close();
    await server.stop();
  };
  return { name, server, client, taskQueue, stop } satisfies Side;
}

function floorRun(s: Side, n: number, concurrency: number): Promise<Run> {
  const prefix = `${s.taskQueue}-${randomUUID().slice(0, 8)}`;
  return runLoad(
    n,
    concurrency,
    (i) =>
      s.client.workflow.executeUpdateWithStart(floorUpdate, {
        args: [{}],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
          workflowId: `${prefix}-${i}`,
          taskQueue: s.taskQueue,
          args: [{}],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      }),
    () => (s.server.pid ? processCpuMs(s.server.pid) : 0),
  );
}

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'aegispay-settings-'));
  const code = await bundleFloorWorkflow();
  const tuned = Object.fromEntries(
    [...Object.entries(loadDevServerSettings().dynamicConfig).map(([k, v]) => `${k}=${v}`), ...args.dc!].map(
      (kv) => [kv.slice(0, kv.indexOf('=')), JSON.parse(kv.slice(kv.indexOf('=') + 1)) as unknown],
    ),
  );
  const sides = [await side('defaults', {}, code, dir), await side('tuned', tuned, code, dir)];
  try {
    for (const s of sides) await floorRun(s, 40, 16); // warm-up
    console.log(`tuned: ${JSON.stringify(tuned)}; ${args['in-memory'] ? 'in memory' : 'database files'}`);
    console.log(
      '| conc. | server | ops/s | p50 ms | p99 ms | server CPU ms/op | ops/s tuned/defaults | p50 tuned/defaults | server CPU tuned/defaults |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const c of args.concurrency!.split(',').map(Number)) {
      const runs: Run[][] = sides.map(() => []);
      const n = c === 1 ? Math.min(60, Number(args.n)) : Number(args.n);
      for (let r = 0; r < Number(args.rounds); r++) {
        for (let k = 0; k < sides.length; k++) {
          const v = (r + k) % sides.length;
          runs[v]!.push(await floorRun(sides[v]!, n, c));
        }
      }
      const [d, t] = sides.map((s, i) => summarize(s.name, c, runs[i]!));
      for (const x of [d!, t!]) {
        const ratios =
          x === t
            ? [
                round(t.opsPerSec / d!.opsPerSec, 2),
                round(t.p50 / d!.p50, 2),
                round(t.serverCpuMsPerOp / d!.serverCpuMsPerOp, 2),
              ]
            : ['', '', ''];
        console.log(
          `| ${c} | ${x.variant} | ${x.opsPerSec} | ${x.p50} | ${x.p99} | ${x.serverCpuMsPerOp} | ${ratios.join(' | ')} |`,
        );
      }
    }
    console.log(
      `load ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
  } finally {
    for (const s of sides) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
