import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MockLedgerEntry } from '../../src/activities/gateways/mock/adapter';
import { cardPayment, spawnWorkerProcess, testClient, testTaskQueue, useTestServer } from '../helpers';

const testServer = useTestServer();
const dir = mkdtempSync(join(tmpdir(), 'aegispay-worker-settings-'));

function settingsFile(name: string, worker: Record<string, unknown>): string {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify({ worker }));
  return file;
}

test('the standalone worker takes its settings from the file AEGISPAY_CONFIG_FILE names, its variables winning', async () => {
  const taskQueue = testTaskQueue();
  const ledgerFile = join(dir, 'ledger.json');
  const file = settingsFile('aegispay.json', {
    gateways: ['MOCK'],
    taskQueue: 'a-queue-no-client-uses',
    connectors: { MOCK: { ledgerFile } },
  });
  const worker = spawnWorkerProcess({
    AEGISPAY_CONFIG_FILE: file,
    AEGISPAY_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: testServer.server.address,
  });
  const aegis = testClient(testServer.server, taskQueue);
  try {
    await worker.ready;
    const payment = await aegis.pay(cardPayment({ amount: 12 }));
    expect(payment.state).toBe('SUCCESS');
    // The file's ledger setting reached the MOCK adapter: the charge is in it.
    const ledger = existsSync(ledgerFile)
      ? (JSON.parse(readFileSync(ledgerFile, 'utf8')) as MockLedgerEntry[])
      : [];
    expect(ledger.filter((e) => e.paymentId === payment.id)).toHaveLength(1);
  } finally {
    await aegis.close();
    worker.child.kill('SIGTERM');
    await new Promise((resolve) => worker.child.once('exit', resolve));
  }
}, 90_000);

test('a bad field of the settings file and a bad variable stop the worker before it connects, both named', async () => {
  const file = settingsFile('bad.json', { gateways: ['VISA'], shutdownGraceMs: -1 });
  const worker = spawnWorkerProcess({
    AEGISPAY_CONFIG_FILE: file,
    AEGISPAY_METRICS_PORT: 'ninety',
    TEMPORAL_ADDRESS: testServer.server.address,
  });
  const failure = await worker.ready.then(
    () => new Error('the worker started'),
    (err: Error) => err,
  );
  expect(failure.message).toMatch(/worker exited with 1/);
  expect(failure.message).toContain('AEGISPAY_METRICS_PORT: must be a number');
  expect(failure.message).toContain(`gateways.0 in ${file}`);
  expect(failure.message).toContain(`shutdownGraceMs in ${file}`);
  expect(failure.message).not.toContain('worker started');
}, 60_000);
