/**
 * `npx tsx bench/latency-floor.ts [--calls 40] [--server-defaults] [--dc KEY=JSON ...] [--no-activity] [--start-then-update]
 *   [--no-sticky] [--pollers N] [--wait accepted]`
 *
 * Bare Temporal, no AegisPay code: Update-With-Start calls one after another (concurrency 1) against the
 * floor workflow on a fresh in-memory dev server, with the latency of each call and, for one late call,
 * the server time of each history event. For finding what a call's time at concurrency 1 is spent on,
 * one server flag or worker/client option at a time.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { loadDevServerSettings, startDevServer } from '../src/toolchain/dev-server';
import { floorUpdate, type floorWorkflow } from './floor-workflow';
import { bundleFloorWorkflow, historySummary, median, round, startFloorWorker } from './lib';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '40' },
    dc: { type: 'string', multiple: true, default: [] },
    'server-defaults': { type: 'boolean', default: false },
    'no-activity': { type: 'boolean', default: false },
    'start-then-update': { type: 'boolean', default: false },
    'no-sticky': { type: 'boolean', default: false },
    'no-eager-activities': { type: 'boolean', default: false },
    pollers: { type: 'string' },
    timeline: { type: 'string', multiple: true, default: [] },
  },
});

async function main() {
  // Without --server-defaults, temporal-dev.yml's dynamic config applies, with --dc on top.
  const fromFile = args['server-defaults'] ? {} : loadDevServerSettings().dynamicConfig;
  const dynamicConfig = Object.fromEntries(
    [...Object.entries(fromFile).map(([k, v]) => `${k}=${v}`), ...(args.dc ?? [])].map((kv) => {
      const at = kv.indexOf('=');
      return [kv.slice(0, at), JSON.parse(kv.slice(at + 1)) as unknown];
    }),
  );
  const server = await startDevServer({ port: 0, uiPort: false, dbFile: null, dynamicConfig });
  const taskQueue = `latency-${randomUUID().slice(0, 8)}`;
  const code = await bundleFloorWorkflow();
  const pollers = args.pollers ? Number(args.pollers) : undefined;
  const worker = await startFloorWorker(server, taskQueue, code, {
    ...(args['no-sticky'] ? { maxCachedWorkflows: 0 } : {}),
    ...(args['no-eager-activities']
      ? { maxTaskQueueActivitiesPerSecond: undefined, maxConcurrentActivityTaskExecutions: 100 }
      : {}),
    ...(pollers
      ? {
          workflowTaskPollerBehavior: { type: 'simple-maximum', maximum: pollers },
          activityTaskPollerBehavior: { type: 'simple-maximum', maximum: pollers },
        }
      : {}),
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const options = { localActivity: false, noActivity: args['no-activity'] };
  const calls = Number(args.calls);
  const latencies: number[] = [];
  const ids: string[] = [];
  try {
    for (let i = 0; i < calls; i++) {
      const workflowId = `${taskQueue}-${i}`;
      ids.push(workflowId);
      const t = performance.now();
      if (args['start-then-update']) {
        const handle = await client.workflow.start<typeof floorWorkflow>('floorWorkflow', {
          workflowId,
          taskQueue,
          args: [options],
        });
        await handle.executeUpdate(floorUpdate, { args: [{}] });
      } else {
        await client.workflow.executeUpdateWithStart(floorUpdate, {
          args: [{}],
          startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
            workflowId,
            taskQueue,
            args: [options],
            workflowIdConflictPolicy: 'USE_EXISTING',
          }),
        });
      }
      latencies.push(round(performance.now() - t, 1));
    }
    console.log(`dynamic config ${JSON.stringify(dynamicConfig)} options ${JSON.stringify(args)}`);
    console.log(`latencies ms: ${latencies.join(' ')}`);
    console.log(`median after call 15: ${median(latencies.slice(15))} ms`);
    const picks = args.timeline?.length ? args.timeline.map(Number) : [2, calls - 2];
    for (const i of picks) {
      const h = await historySummary(client, ids[i]!);
      console.log(
        `call ${i} (${latencies[i]} ms): ` + h.events.map((e) => `${e.type} +${e.atMs}`).join(' | '),
      );
    }
  } finally {
    await worker.stop();
    await connection.close();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
