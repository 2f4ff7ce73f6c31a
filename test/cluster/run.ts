/**
 * `npm run test:cluster`: brings a cluster up with mTLS in a temporary state directory (the binaries come
 * from the per-user cache, built on first use), runs the cluster suites against it with
 * AEGISPAY_TEST_CLUSTER set, and takes it down again whatever happened. Exits with jest's code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up } from '../../scripts/cluster/cluster';
import { findProjectRoot } from '../../src/toolchain/temporal-binaries';

/**
 * The suites that run on the cluster as they run on the dev server, and the cluster's own (test/cluster),
 * in two jest runs: the chaos run kills services and stops the database, so nothing else runs beside it.
 */
export const CLUSTER_PHASES = [
  [
    'test/integration/money-safety.test.ts',
    'test/integration/lifecycle.test.ts',
    'test/integration/encryption.test.ts',
    'test/cluster/web-ui.test.ts',
    'test/cluster/cluster-command.test.ts',
  ],
  ['test/cluster/chaos.test.ts'],
];

function jest(suites: string[], stateDir: string): number {
  const run = spawnSync('npx', ['jest', ...suites], {
    cwd: findProjectRoot(),
    stdio: 'inherit',
    env: { ...process.env, AEGISPAY_TEST_CLUSTER: stateDir },
  });
  return run.status ?? 1;
}

async function main(): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), 'aegispay-cluster-test-'));
  const log = (line: string) => console.log(`[cluster] ${line}`);
  try {
    const started = Date.now();
    await up({ stateDir, tls: true, log });
    log(`up with mTLS in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
    // Arguments narrow the run (e.g. `npm run test:cluster -- test/cluster/web-ui.test.ts`).
    const phases = process.argv.length > 2 ? [process.argv.slice(2)] : CLUSTER_PHASES;
    let code = 0;
    for (const suites of phases) {
      const phaseStart = Date.now();
      const phaseCode = jest(suites, stateDir);
      code ||= phaseCode;
      log(`${suites.join(' ')}: ${((Date.now() - phaseStart) / 1000).toFixed(0)} s`);
    }
    return code;
  } finally {
    await down(stateDir, log);
    // `down` removes a cluster's directory; this also removes one whose `up` failed before its state file.
    rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
