/**
 * A short chaos run (the full one is `npm run chaos`): 80 payments over 35 s and 8 duplicate calls while
 * one worker is SIGKILLed once, the dev server restarts on its database file, the sandbox draws a fault
 * scenario per gateway every second and an operator sends hostile signals, updates and cancellations.
 * The workers project into PostgreSQL (when its binaries are present), which is stopped for 4 s a
 * quarter of the way through; else into the embedded store.
 */
import { formatReport, runChaos } from './chaos-run';
import { postgresBinariesPresent } from './restartable-postgres';

test('a short chaos run breaks no money invariant: one gateway holds a payment, books match, nothing open, nothing refunded unasked, nothing lost; the store matches workflows and books', async () => {
  const log: string[] = [];
  const report = await runChaos({
    payments: 80,
    concurrency: 12,
    // Spread over the run, so that payments meet many fault scenarios (and the server restart).
    durationMs: 35_000,
    duplicateKeys: 2,
    duplicatesPerKey: 4,
    killEveryMs: 3000,
    maxKills: 1,
    serverRestart: true,
    faultPhaseMs: 1000,
    operatorEveryMs: 150,
    settleTimeoutMs: 60_000,
    storeDownMs: 4000,
    storeCatchUpMs: 30_000,
    log: (line) => log.push(line),
  });
  const summary = `${log.join('\n')}\n${formatReport(report)}`;
  console.log(summary);
  expect({ violations: report.violations, summary }).toEqual({ violations: [], summary });

  const states = Object.values(report.states).reduce((a, b) => a + b, 0);
  expect(states).toBe(82);
  // 12 of the 80 use declining cards. Each ends FAILURE, unless the operator cancelled it before its charge
  // or its charge is still in review (that no declining card is charged is checked per payment above).
  const { FAILURE = 0, CANCELLED = 0, REQUIRES_REVIEW = 0 } = report.states;
  expect(FAILURE + CANCELLED + REQUIRES_REVIEW).toBeGreaterThanOrEqual(12);
  expect(FAILURE).toBeGreaterThan(0);
  expect(report.ledger.charges).toBeGreaterThan(40);
  expect(report).toMatchObject({ duplicateCalls: 8, workerKills: 1, serverRestarts: 1 });
  expect(report.reconnectMs.client).toBeDefined();
  expect(report.reconnectMs.workers).toBeDefined();
  // The server stays down longer than the SDK's own gRPC retries: the calls in flight were retried as they were.
  expect(report.clientRetries).toBeGreaterThan(0);
  // The doors were really opened: faults of several kinds fired, and the operator got through.
  expect(Object.keys(report.faultsByKind).length).toBeGreaterThanOrEqual(4);
  const operator = (prefix: string) =>
    Object.entries(report.operator)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((s, [, n]) => s + n, 0);
  expect(operator('signal')).toBeGreaterThan(0);
  expect(operator('update')).toBeGreaterThan(0);
  expect(operator('workflow cancel')).toBeGreaterThan(0);
  expect(report.operator['update refund → VALIDATION_ERROR']).toBeGreaterThan(0);
  // Every payment was compared with its store row (the store rules are in `violations` above).
  expect(report.store.compared).toBe(82);
  expect(report.store.projections).toBeGreaterThan(82);
  if (postgresBinariesPresent()) {
    // The database was really gone for a while, and projections caught by it were retried.
    expect(report.store).toMatchObject({ backend: 'postgres', restarts: 1 });
    expect(report.store.downMs).toBeGreaterThanOrEqual(4000);
    expect(report.store.retriedProjections).toBeGreaterThan(0);
  }
}, 240_000);
