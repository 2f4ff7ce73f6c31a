/**
 * The chaos suite: `npm run chaos -- [--payments 500] [--duration 60] [--kill-every-ms 5000]
 * [--fault-phase-ms 2000] [--operator-every-ms 100] [--no-faults] [--no-operator] [--no-server-restart]
 * [--store auto|postgres|embedded] [--store-down-ms 5000] [--quick]`. `--duration` spreads the payments' starts over that many seconds (default: as fast as 30
 * at a time allow); each gateway draws a new fault scenario every `--fault-phase-ms`; the hostile
 * operator acts every `--operator-every-ms`; `--quick` is 60 payments and 20 duplicate calls. The
 * workers project into PostgreSQL when its binaries are present (stopped for `--store-down-ms` mid-run;
 * 0 keeps it up), else into the embedded store; `--store` picks one.
 * Exits 1 when any invariant is broken, listing the payments involved (see test/chaos/chaos-run.ts).
 */
import { parseArgs } from 'node:util';
import { formatReport, runChaos, type ChaosOptions } from '../test/chaos/chaos-run';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      payments: { type: 'string' },
      duration: { type: 'string' },
      'kill-every-ms': { type: 'string' },
      'fault-phase-ms': { type: 'string' },
      'operator-every-ms': { type: 'string' },
      'no-faults': { type: 'boolean' },
      'no-operator': { type: 'boolean' },
      'no-server-restart': { type: 'boolean' },
      store: { type: 'string' },
      'store-down-ms': { type: 'string' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: chaos [--payments N] [--duration SECONDS] [--kill-every-ms MS] [--fault-phase-ms MS]\n' +
        '             [--operator-every-ms MS] [--no-faults] [--no-operator] [--no-server-restart]\n' +
        '             [--store auto|postgres|embedded] [--store-down-ms MS] [--quick]',
    );
    return 0;
  }
  const options: Partial<ChaosOptions> = values.quick
    ? { payments: 60, duplicateKeys: 4, duplicatesPerKey: 5, killEveryMs: 4000 }
    : {};
  if (values.payments) options.payments = positive('--payments', values.payments);
  if (values.duration) options.durationMs = positive('--duration', values.duration) * 1000;
  if (values['kill-every-ms']) options.killEveryMs = positive('--kill-every-ms', values['kill-every-ms']);
  if (values['no-server-restart']) options.serverRestart = false;
  if (values['fault-phase-ms']) options.faultPhaseMs = positive('--fault-phase-ms', values['fault-phase-ms']);
  if (values['operator-every-ms'])
    options.operatorEveryMs = positive('--operator-every-ms', values['operator-every-ms']);
  if (values['no-faults']) options.faultPhaseMs = 0;
  if (values['no-operator']) options.operatorEveryMs = 0;
  if (values.store) options.store = storeKind(values.store);
  if (values['store-down-ms']) options.storeDownMs = atLeastZero('--store-down-ms', values['store-down-ms']);

  const report = await runChaos(options);
  console.log(`\nAegisPay chaos run\n${formatReport(report)}`);
  console.log(report.violations.length === 0 ? '\nPASS: no invariant broken' : '\nFAIL: invariants broken');
  return report.violations.length === 0 ? 0 : 1;
}

function storeKind(text: string): ChaosOptions['store'] {
  if (text === 'auto' || text === 'postgres' || text === 'embedded') return text;
  throw new Error(`--store must be auto, postgres or embedded, not "${text}"`);
}

function atLeastZero(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number of 0 or more, not "${text}"`);
  return n;
}

function positive(flag: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, not "${text}"`);
  return n;
}

// Exiting through process.exit runs the 'exit' hooks that SIGKILL the workers and the dev server.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? err.stack : err);
    process.exit(1);
  },
);
