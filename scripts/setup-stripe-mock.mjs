#!/usr/bin/env node
// Builds the pinned stripe-mock (Stripe's mock server, which checks every request against Stripe's
// OpenAPI spec) into .temporal/stripe-mock/bin (git-ignored) from the Go module proxy.
// A no-op when that version is already built. Plain Node ESM with no npm dependencies, like setup-temporal.mjs.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STRIPE_MOCK_VERSION = '0.203.0';

const MODULE = `github.com/stripe/stripe-mock@v${STRIPE_MOCK_VERSION}`;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const target = join(root, '.temporal', 'stripe-mock');
const binDir = join(target, 'bin');
const binary = join(binDir, 'stripe-mock');
const stampFile = join(target, '.aegispay-version');
const stamp = `${MODULE}\n`;

function isExecutable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function isInstalled() {
  return existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && isExecutable(binary);
}

function fail(what, output = '') {
  const details = output.trim() ? `\n--- go output ---\n${output.trim()}\n-----------------` : '';
  console.error(`[setup-stripe-mock] ERROR: ${what}${details}
It needs Go (1.22 or later) on PATH and access to the Go module proxy. To build it by hand:
  GOFLAGS=-mod=mod GOBIN=${binDir} go install ${MODULE}
`);
  process.exit(1);
}

if (!isInstalled()) {
  mkdirSync(binDir, { recursive: true });
  const started = Date.now();
  const res = spawnSync('go', ['install', MODULE], {
    encoding: 'utf8',
    env: {
      ...process.env,
      GOBIN: binDir,
      // -mod=mod: resolve the module's dependencies from the proxy rather than a vendor folder.
      GOFLAGS: [process.env.GOFLAGS, '-mod=mod'].filter(Boolean).join(' '),
    },
  });
  if (res.error) fail(`could not run go: ${res.error.code === 'ENOENT' ? 'not found' : res.error.message}`);
  if (res.status !== 0) fail(`go install ${MODULE} failed`, `${res.stdout}${res.stderr}`);
  if (!isExecutable(binary)) fail(`go install succeeded but ${binary} is missing or not executable`);
  writeFileSync(stampFile, stamp);
  console.log(`[setup-stripe-mock] built in ${Math.round((Date.now() - started) / 1000)} s`);
}
console.log(`[setup-stripe-mock] stripe-mock ${STRIPE_MOCK_VERSION} is ${binary}`);
