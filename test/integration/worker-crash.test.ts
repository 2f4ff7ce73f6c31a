import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockGateway, type MockLedgerEntry } from '../../src/activities/gateways/mock/adapter';
import {
  cardPayment,
  eventually,
  useTestServer,
  startTestWorker,
  testClient,
  testTaskQueue,
  spawnWorkerProcess,
} from '../helpers';

const testServer = useTestServer();

function ledger(file: string): MockLedgerEntry[] {
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as MockLedgerEntry[]) : [];
}

test('a worker killed after the gateway charged, but before it answered, is replaced and the payment ends with exactly one charge', async () => {
  const taskQueue = testTaskQueue();
  const ledgerFile = join(mkdtempSync(join(tmpdir(), 'aegispay-crash-')), 'ledger.json');
  const first = spawnWorkerProcess({
    TEMPORAL_ADDRESS: testServer.server.address,
    AEGISPAY_TASK_QUEUE: taskQueue,
    AEGISPAY_GATEWAYS: 'MOCK',
    AEGISPAY_MOCK_LEDGER_FILE: ledgerFile,
    // The charge is recorded, then the worker hangs before answering: the window a crash hurts most.
    AEGISPAY_MOCK_DELAY_AFTER_COMMIT_MS: '600000',
    AEGISPAY_LOG_LEVEL: 'INFO',
  });
  await first.ready;

  const aegis = testClient(testServer.server, taskQueue, { gatewayTimeoutMs: 3000 });
  const paying = aegis.pay(cardPayment({ amount: 42 }));
  await eventually(async () => ledger(ledgerFile).length === 1, 30_000);
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const gateway = new MockGateway({ ledgerFile });
  const replacement = await startTestWorker(testServer.server, taskQueue, [gateway]);
  try {
    const payment = await paying;
    expect(payment.state).toBe('SUCCESS');
    expect(payment.amounts.captured).toBe(4200);
    const charges = ledger(ledgerFile).filter((e) => e.paymentId === payment.id);
    expect(charges).toHaveLength(1);
    expect(payment.attempts).toHaveLength(1);
    expect(payment.attempts[0]!.gatewayReference).toBe(
      (charges[0]!.outcome as { reference: string }).reference,
    );
  } finally {
    await aegis.close();
    await replacement.stop();
  }
}, 90_000);
