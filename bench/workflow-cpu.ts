/**
 * `npm run bench:workflow [-- --rounds 3 --awaits 100]`
 *
 * What workflow code costs a worker's CPU, without the server in the measurement: one history each of an
 * AegisPay payment (MOCK gateway, waiting in its refund window), of the floor, and of the floor with
 * `--awaits` more promises awaited in its update handler is recorded on an in-memory dev server, then
 * replayed many times (`replayCost`: CPU per workflow, and promises created by workflow code per workflow).
 * The floor pair prices one promise; AegisPay's extra promises at that price are the share of its CPU gap
 * that the promises explain. Rounds are interleaved; the table gives each round's median.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Client, Connection, WithStartWorkflowOperation } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { AegisPay } from '../src/embedded/aegis-pay';
import { createLogger } from '../src/logging';
import { installTemporalRuntime } from '../src/temporal-runtime';
import { startDevServer } from '../src/toolchain/dev-server';
import { floorUpdate, type FloorOptions, type floorWorkflow } from './floor-workflow';
import { median, payRequest, quietBundler, replayCost, round, startFloorWorker, writeResults } from './lib';

const { values: args } = parseArgs({
  options: { rounds: { type: 'string', default: '3' }, awaits: { type: 'string', default: '100' } },
});
const rounds = Number(args.rounds);
const awaits = Number(args.awaits);

async function main() {
  installTemporalRuntime(createLogger('SILENT'));
  const server = await startDevServer({ port: 0, uiPort: false, dbFile: null });
  const tag = randomUUID().slice(0, 8);
  // One bundle with both workflows, as in `npm run bench`: the floor pays for the same module graph.
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./floor-in-aegis-bundle'),
    logger: quietBundler,
  });
  const floorWorker = await startFloorWorker(server, `floor-${tag}`, code);
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const aegis = new AegisPay({
    temporal: { address: server.address, namespace: server.namespace },
    taskQueue: `aegis-${tag}`,
    logging: { level: 'SILENT' },
    store: false,
  });
  aegis.registerGateway('MOCK', { apiKey: 'bench', environment: 'sandbox' });
  try {
    const floorHistory = async (name: string, options: FloorOptions) => {
      const workflowId = `${name}-${tag}`;
      await client.workflow.executeUpdateWithStart(floorUpdate, {
        args: [{}],
        startWorkflowOperation: new WithStartWorkflowOperation<typeof floorWorkflow>('floorWorkflow', {
          workflowId,
          taskQueue: `floor-${tag}`,
          args: [options],
          workflowIdConflictPolicy: 'USE_EXISTING',
        }),
      });
      await client.workflow.getHandle(workflowId).result();
      return { workflowId, history: await client.workflow.getHandle(workflowId).fetchHistory() };
    };
    const payment = await aegis.pay(payRequest(`workflow_cpu_${tag}`));
    const subjects = [
      {
        name: 'AegisPay payment',
        workflowId: payment.id,
        history: await client.workflow.getHandle(payment.id).fetchHistory(),
      },
      { name: 'floor', ...(await floorHistory('floor', {})) },
      { name: `floor + ${awaits} awaits`, ...(await floorHistory('floor-awaits', { awaits })) },
    ];
    const measured = new Map(subjects.map((s) => [s.name, [] as Awaited<ReturnType<typeof replayCost>>[]]));
    for (let round = 0; round < rounds; round++) {
      for (const s of subjects) {
        const cost = await replayCost(code, s.workflowId, s.history);
        measured.get(s.name)!.push(cost);
        console.log(`round ${round + 1} ${s.name}: ${JSON.stringify(cost)}`);
      }
    }
    const rows = subjects.map((s) => {
      const runs = measured.get(s.name)!;
      return {
        name: s.name,
        cpuMs: median(runs.map((r) => r.cpuMsPerWorkflow))!,
        byRound: runs.map((r) => r.cpuMsPerWorkflow).join(' / '),
        promises: median(runs.map((r) => r.promisesPerWorkflow))!,
      };
    });
    const [aegisPay, floor, floorAwaits] = rows as [(typeof rows)[0], (typeof rows)[0], (typeof rows)[0]];
    const usPerPromise = ((floorAwaits.cpuMs - floor.cpuMs) * 1000) / (floorAwaits.promises - floor.promises);
    const extraPromises = aegisPay.promises - floor.promises;
    const explainedMs = (extraPromises * usPerPromise) / 1000;
    const markdown = report(rows, usPerPromise, extraPromises, explainedMs, aegisPay.cpuMs - floor.cpuMs);
    console.log('\n' + markdown);
    await writeResults(markdown);
  } finally {
    await aegis.close();
    await floorWorker.stop();
    await connection.close();
    await server.stop();
  }
}

function report(
  rows: { name: string; cpuMs: number; byRound: string; promises: number }[],
  usPerPromise: number,
  extraPromises: number,
  explainedMs: number,
  gapMs: number,
): string {
  const lines = rows.map((r) => `| ${r.name} | ${r.cpuMs} | ${r.byRound} | ${r.promises} |`);
  return `## Workflow CPU: what a promise in workflow code costs

Generated by \`npm run bench:workflow\` on ${new Date().toISOString()}: one history of each, replayed 150 and 50 times
(the difference counts), ${rounds} interleaved rounds, medians; all three in AegisPay's workflow bundle.

| history | CPU ms per workflow | by round | promises created by workflow code |
| --- | --- | --- | --- |
${lines.join('\n')}

- One promise created by workflow code costs the worker **${round(usPerPromise, 0)} µs** of CPU (the floor pair, at the
  floor's stack depth): the SDK's promise hook (\`@temporalio/worker\`'s \`vm-shared\`, installed for every
  workflow context) captures and source-maps a stack trace for each one, for the stack-trace query.
- AegisPay's payment creates ${extraPromises} more promises than the floor: at that price ${round(explainedMs, 1)} ms of its
  ${round(gapMs, 1)} ms more CPU per workflow.
`;
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
