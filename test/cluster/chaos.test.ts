/**
 * The chaos run on the cluster (mTLS, two standalone worker processes, the payment store in its own
 * database on the cluster's PostgreSQL): while payments, captures and refunds flow, workers are SIGKILLed,
 * PostgreSQL is stopped for 30 s, then history and matching are SIGKILLed and restarted. At the end no
 * money invariant is broken and the store equals the workflows and the sandbox ledger.
 */
import { formatReport, runChaos } from '../chaos/chaos-run';
import { clusterUnderTest } from '../helpers/cluster';

test('a chaos run on the cluster breaks no money invariant and leaves the store equal to workflows and books', async () => {
  const cluster = clusterUnderTest()!;
  const log: string[] = [];
  const report = await runChaos({
    cluster,
    payments: 60,
    concurrency: 10,
    durationMs: 40_000,
    duplicateKeys: 2,
    duplicatesPerKey: 4,
    killEveryMs: 4000,
    maxKills: 2,
    serverRestart: true,
    serverDownMs: 2000,
    storeDownMs: 30_000,
    faultPhaseMs: 1000,
    operatorEveryMs: 200,
    settleTimeoutMs: 120_000,
    storeCatchUpMs: 60_000,
    log: (line) => log.push(`${new Date().toISOString().slice(11, 19)} ${line}`),
  });
  const summary = `${log.join('\n')}\n${formatReport(report)}`;
  console.log(summary);
  expect({ violations: report.violations, summary }).toEqual({ violations: [], summary });

  expect(Object.values(report.states).reduce((a, b) => a + b, 0)).toBe(62);
  expect(report.ledger.charges).toBeGreaterThan(30);
  expect(report.ledger.captures + report.ledger.refunds).toBeGreaterThan(0);
  expect(report).toMatchObject({ duplicateCalls: 8, workerKills: 2, serverRestarts: 2 });
  // Both services were killed and came back: the client answered and both workers polled again.
  for (const service of ['history', 'matching']) {
    expect(report.serviceRecoveryMs[service]).toEqual({
      client: expect.any(Number),
      workers: expect.any(Number),
    });
  }
  // The database was gone for 30 s, and every payment was compared with its store row.
  expect(report.store).toMatchObject({ backend: 'postgres', restarts: 1, compared: 62 });
  expect(report.store.downMs).toBeGreaterThanOrEqual(30_000);
}, 480_000);
