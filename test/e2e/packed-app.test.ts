/**
 * AegisPay as an app gets it: `npm pack`, `npm install <tarball>` into an empty app in a temporary
 * folder, then a payment there with the embedded Temporal server, whose CLI the package installs by
 * itself into an empty user cache on first use; and `npx aegispay` works in that app.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const ROOT = join(__dirname, '..', '..');
const run = promisify(execFile);

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end, with its output kept whatever the exit code. */
function runToEnd(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Result> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** The app: ESM importing the package by name, embedded Temporal, the MOCK gateway, one payment. */
const APP = `
import { AegisPay, MockGateway } from 'aegispay';

const aegis = new AegisPay({ temporal: 'embedded', logging: { level: 'SILENT' } });
aegis.registerGatewayInstance(new MockGateway());
try {
  const payment = await aegis.pay({
    idempotencyKey: 'packed-app-' + Date.now(),
    amount: '12.34',
    currency: 'EUR',
    customer: { id: 'cust_packed' },
    paymentMethod: {
      type: 'CARD',
      details: { cardNumber: '4242424242424242', expiryMonth: '12', expiryYear: String(new Date().getFullYear() + 2), cvv: '123' },
    },
  });
  console.log(JSON.stringify({ state: payment.state, amount: payment.amount, gateway: payment.gateway }));
} finally {
  await aegis.close();
}
`;

let work: string;
let app: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'aegispay-packed-'));
  app = join(work, 'app');
  // No Temporal CLI from this checkout or PATH: the installed package must find or install its own,
  // into an empty user cache. pip keeps its own download cache, so a later run installs from it.
  const path = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => !readdirSafe(dir).includes('temporal'))
    .join(delimiter);
  const { AEGISPAY_TEMPORAL_BIN: _bin, ...rest } = process.env;
  env = {
    ...rest,
    PATH: path,
    AEGISPAY_CACHE_DIR: join(work, 'cache'),
    // A free port of its own: never another run's server on the default port.
    AEGISPAY_TEMPORAL_PORT: '0',
    AEGISPAY_TEMPORAL_DB_FILE: '',
  };
}, 30_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

test('the packed tarball installs into an empty app, which pays with the embedded server and runs npx aegispay', async () => {
  const packed = await run('npm', ['pack', '--silent', '--pack-destination', work], {
    cwd: ROOT,
    maxBuffer: 16 * 1024 * 1024,
  });
  const tarball = join(work, packed.stdout.trim().split('\n').at(-1)!);
  const listing = await run('tar', ['-tzf', tarball]);
  expect(listing.stdout).toContain('package/dist/index.js');
  expect(listing.stdout).toContain('package/dist/cli.js');
  expect(listing.stdout).toContain('package/scripts/temporal-toolchain.cjs');
  expect(listing.stdout).not.toMatch(/package\/(src|test)\//);
  expect(listing.stdout).not.toMatch(/(?<!\.d)\.ts\n/); // only declarations, no sources that need tsx

  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  writeFileSync(join(app, 'app.js'), APP);
  const started = Date.now();
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball], {
    cwd: app,
    env,
    maxBuffer: 16 * 1024 * 1024,
  });
  const installed = Date.now();

  const paid = await runToEnd(process.execPath, ['app.js'], { cwd: app, env });
  const firstPayment = Date.now();
  process.stderr.write(
    `packed app: npm install ${Math.round((installed - started) / 1000)} s, ` +
      `then the first payment (installing the Temporal CLI) ${Math.round((firstPayment - installed) / 1000)} s: ` +
      `${Math.round((firstPayment - started) / 1000)} s from npm install to the first payment\n`,
  );
  expect(paid.stderr).toMatch(/aegispay: installing Temporal CLI [\d.]+ into .*cache/);
  expect(paid.code).toBe(0);
  expect(JSON.parse(paid.stdout.trim().split('\n').at(-1)!)).toEqual({
    state: 'SUCCESS',
    amount: { amount: 1234, currency: 'EUR' },
    gateway: 'MOCK',
  });

  const help = await runToEnd('npx', ['aegispay', '--help'], { cwd: app, env });
  expect(help.code).toBe(0);
  expect(help.stdout).toContain('Usage: npx aegispay');
  expect(help.stdout).toContain('setup');

  // The explicit command finds what the first run installed, in the user cache.
  const setup = await runToEnd('npx', ['aegispay', 'setup'], { cwd: app, env });
  expect(setup.code).toBe(0);
  expect(setup.stdout).toContain(join(work, 'cache', 'temporal'));
  expect(setup.stderr).not.toContain('installing');
}, 600_000);
