/**
 * `npm run test:cluster`: brings a cluster up with mTLS in a temporary state directory (the binaries come
 * from the per-user cache, built on first use), runs the cluster suites against it with
 * AEGISPAY_TEST_CLUSTER set, and takes it down again whatever happened. Exits with jest's code.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { down, up } from '../../scripts/cluster/cluster';
import { findProjectRoot } from '../../src/toolchain/temporal-binaries';

/** The suites that run on the cluster as they run on the dev server, plus the cluster's own (test/cluster). */
export const CLUSTER_SUITES = [
  'test/integration/money-safety.test.ts',
  'test/integration/lifecycle.test.ts',
  'test/integration/encryption.test.ts',
  'test/cluster/',
];

async function main(): Promise<number> {
  const stateDir = mkdtempSync(join(tmpdir(), 'aegispay-cluster-test-'));
  const log = (line: string) => console.log(`[cluster] ${line}`);
  try {
    const started = Date.now();
    await up({ stateDir, tls: true, log });
    log(`up with mTLS in ${((Date.now() - started) / 1000).toFixed(1)} s (${stateDir})`);
    // Arguments narrow the run (e.g. `npm run test:cluster -- test/cluster/`); by default every cluster suite.
    const suites = process.argv.length > 2 ? process.argv.slice(2) : CLUSTER_SUITES;
    const jest = spawnSync('npx', ['jest', ...suites], {
      cwd: findProjectRoot(),
      stdio: 'inherit',
      env: { ...process.env, AEGISPAY_TEST_CLUSTER: stateDir },
    });
    return jest.status ?? 1;
  } finally {
    await down(stateDir, log);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
