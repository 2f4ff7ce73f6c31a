/**
 * The chaos suite: `npm run chaos -- [--payments 500] [--duration 60] [--kill-every-ms 5000]
 * [--no-server-restart] [--quick]`. `--duration` spreads the payments' starts over that many seconds
 * (default: as fast as 30 at a time allow); `--quick` is 60 payments and 20 duplicate calls.
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
      'no-server-restart': { type: 'boolean' },
      quick: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(
      'usage: chaos [--payments N] [--duration SECONDS] [--kill-every-ms MS] [--no-server-restart] [--quick]',
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

  const report = await runChaos(options);
  console.log(`\nAegisPay chaos run\n${formatReport(report)}`);
  console.log(report.violations.length === 0 ? '\nPASS: no invariant broken' : '\nFAIL: invariants broken');
  return report.violations.length === 0 ? 0 : 1;
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
