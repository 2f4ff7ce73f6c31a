/**
 * `npx tsx bench/embedded-latency.ts [--calls 40] [--server-defaults] [--no-store]`
 *
 * An embedded AegisPay (its own worker, MOCK gateway, the embedded payment store) paying one payment at a
 * time on a fresh in-memory dev server with temporal-dev.yml's dynamic config (or Temporal's defaults):
 * the latency of each `pay()` at concurrency 1.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { AegisPay } from '../src/embedded/aegis-pay';
import { paymentWorkflowId } from '../src/domain/ids';
import { startDevServer } from '../src/toolchain/dev-server';
import { historySummary, median, payRequest, round } from './lib';

const { values: args } = parseArgs({
  options: {
    calls: { type: 'string', default: '40' },
    'server-defaults': { type: 'boolean', default: false },
    'no-store': { type: 'boolean', default: false },
  },
});

async function main() {
  const dir = mkdtempSync(join(os.tmpdir(), 'aegispay-latency-'));
  const server = await startDevServer({
    port: 0,
    uiPort: false,
    dbFile: null,
    ...(args['server-defaults'] ? { dynamicConfig: {} } : {}),
  });
  const aegis = new AegisPay({
    temporal: { address: server.address, namespace: server.namespace },
    taskQueue: `latency-${process.pid}`,
    logging: { level: 'SILENT' },
    store: args['no-store'] ? false : { kind: 'embedded', dataDir: join(dir, 'store') },
  });
  aegis.registerGateway('MOCK', { apiKey: 'bench', environment: 'sandbox' });
  const latencies: number[] = [];
  try {
    for (let i = 0; i < Number(args.calls); i++) {
      const t = performance.now();
      const payment = await aegis.pay(payRequest(`latency_${process.pid}_${i}`));
      if (payment.state !== 'SUCCESS') throw new Error(`payment ${payment.id} is ${payment.state}`);
      latencies.push(round(performance.now() - t, 1));
    }
    console.log(`options ${JSON.stringify(args)}`);
    console.log(`latencies ms: ${latencies.join(' ')}`);
    console.log(`median after call 15: ${median(latencies.slice(15))} ms`);
    const client = new Client({ connection: await Connection.connect({ address: server.address }) });
    const last = paymentWorkflowId(`latency_${process.pid}_${latencies.length - 2}`);
    const h = await historySummary(client, last);
    console.log(
      `call ${latencies.length - 2} (${latencies.at(-2)} ms): ` +
        h.events.map((e) => `${e.type}${e.detail ? ` (${e.detail})` : ''} +${e.atMs}`).join(' | '),
    );
    await client.connection.close();
  } finally {
    await aegis.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
