/**
 * A short chaos run (the full one is `npm run chaos`): 40 payments and 8 duplicate calls while one worker
 * is SIGKILLed once, the dev server restarts on its database file and the sandbox injects faults.
 */
import { formatReport, runChaos } from './chaos-run';

test('a short chaos run breaks no invariant: one charge per success, none per failure, no over-refund, nothing lost', async () => {
  const log: string[] = [];
  const report = await runChaos({
    payments: 40,
    concurrency: 10,
    duplicateKeys: 2,
    duplicatesPerKey: 4,
    killEveryMs: 3000,
    maxKills: 1,
    serverRestart: true,
    settleTimeoutMs: 60_000,
    log: (line) => log.push(line),
  });
  const summary = `${log.join('\n')}\n${formatReport(report)}`;
  expect({ violations: report.violations, summary }).toEqual({ violations: [], summary });

  const states = Object.values(report.states).reduce((a, b) => a + b, 0);
  expect(states).toBe(42);
  // 4 of the 40 use declining cards; every other payment holds exactly one charge.
  expect(report.states.FAILURE).toBeGreaterThanOrEqual(4);
  expect(report.ledger.charges).toBe(42 - report.states.FAILURE!);
  expect(report.ledger.captures).toBeGreaterThan(0);
  expect(report.ledger.refunds).toBeGreaterThan(0);
  expect(report).toMatchObject({ duplicateCalls: 8, workerKills: 1, serverRestarts: 1 });
  expect(report.reconnectMs.client).toBeDefined();
  expect(report.reconnectMs.workers).toBeDefined();
  expect(report.faults.errorRate).toBeGreaterThan(0);
  // The server stays down longer than the SDK's own gRPC retries: the calls in flight were retried as they were.
  expect(report.clientRetries).toBeGreaterThan(0);
}, 180_000);
