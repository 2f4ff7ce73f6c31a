/**
 * `npx tsx bench/profile-pay.ts [--n 400] [--concurrency 16] [--profile main.cpuprofile]`
 *
 * `pay()` against an AegisPay worker in this process (MOCK gateway, no store), on a fresh in-memory dev
 * server: the CPU per payment in this process and, with --profile, a CPU profile of the main thread
 * (client and activities) over the measured payments only. (`node --cpu-prof -r tsx/cjs` profiles the
 * workflow threads too, start-up included.)
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { promisify } from 'node:util';
import { parseArgs } from 'node:util';
import { AegisPay } from '../src/embedded/aegis-pay';
import { createLogger } from '../src/logging';
import { installTemporalRuntime } from '../src/temporal-runtime';
import { startDevServer } from '../src/toolchain/dev-server';
import { payRequest, runLoad, startMockPaymentWorker } from './lib';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '400' },
    concurrency: { type: 'string', default: '16' },
    profile: { type: 'string' },
  },
});

async function main() {
  const logger = createLogger('SILENT');
  installTemporalRuntime(logger);
  const server = await startDevServer({ port: 0, uiPort: false, dbFile: null });
  const taskQueue = `profile-${randomUUID().slice(0, 8)}`;
  const worker = await startMockPaymentWorker(server, taskQueue);
  const aegis = new AegisPay({
    temporal: { address: server.address, namespace: server.namespace },
    taskQueue,
    logging: { level: 'SILENT' },
  });
  // The main benchmark's request, so that a profile shows what `npm run bench` measures.
  const pay = (key: string) => aegis.pay(payRequest(key));
  try {
    await runLoad(40, 16, (i) => pay(`${taskQueue}_warm_${i}`));
    const session = new Session();
    session.connect();
    const post = promisify(session.post.bind(session)) as (method: string) => Promise<unknown>;
    if (args.profile) await post('Profiler.enable').then(() => post('Profiler.start'));
    const run = await runLoad(Number(args.n), Number(args.concurrency), (i) => pay(`${taskQueue}_${i}`));
    if (args.profile) {
      const { profile } = (await post('Profiler.stop')) as { profile: unknown };
      writeFileSync(args.profile, JSON.stringify(profile));
    }
    session.disconnect();
    console.log(
      `${run.ops} payments, ${run.errors} errors, ${(run.clientCpuMs / run.ops).toFixed(2)} ms CPU/payment in this process, ` +
        `${(run.ops / run.seconds).toFixed(1)} ops/s`,
    );
  } finally {
    await aegis.close();
    await worker.stop();
    await server.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
