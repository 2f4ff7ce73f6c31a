import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { MockGateway } from '../../src/activities/gateways/mock';
import type { AegisPay } from '../../src/client/aegis-pay';
import type { DomainEvent, Payment } from '../../src/domain/types';
import type { DevServer } from '../../src/toolchain/dev-server';
import {
  eventually,
  startTestServer,
  startTestWorker,
  TEST_CARDS,
  testClient,
  testTaskQueue,
  type RunningWorker,
} from '../helpers';

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const ROOT = join(__dirname, '..', '..');

let server: DevServer;
let worker: RunningWorker;
let aegis: AegisPay;
let env: NodeJS.ProcessEnv;
let unreachable: Promise<CliResult>;

/** Runs the CLI as a user would, against this file's dev server and task queue (set in the environment). */
function cli(...args: string[]): Promise<CliResult> {
  return cliWithEnv({}, ...args);
}

/** Runs the CLI with extra environment variables. */
function cliWithEnv(extra: NodeJS.ProcessEnv, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli.ts', ...args],
      { cwd: ROOT, env: { ...env, ...extra }, timeout: 60_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? -1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // Started first: the connect timeout makes it the slowest call, so it runs alongside everything else.
  env = { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' };
  unreachable = cli('get', 'payment:anything');
  server = await startTestServer();
  const taskQueue = testTaskQueue();
  worker = await startTestWorker(server, taskQueue, [new MockGateway()]);
  aegis = testClient(server, taskQueue);
  env = { ...process.env, TEMPORAL_ADDRESS: server.address, AEGISPAY_TASK_QUEUE: taskQueue };
}, 60_000);
afterAll(async () => {
  await unreachable;
  await aegis?.close();
  await worker?.stop();
  await server?.stop();
});

let paid: Payment;

test('pay with a good card exits 0 and prints the SUCCESS payment as JSON', async () => {
  const result = await cli('pay', '--amount', '99.99', '--customer', 'cust_cli_e2e', '--json');
  expect(result).toMatchObject({ code: 0, stderr: '' });
  paid = JSON.parse(result.stdout) as Payment;
  expect(paid).toMatchObject({
    state: 'SUCCESS',
    amount: { amount: 9999, currency: 'USD' },
    gateway: 'MOCK',
  });
});

test('pay with a declined card exits 1 and shows the FAILURE in the human-readable view', async () => {
  const result = await cli('pay', '--amount', '5', '--card', TEST_CARDS.declined);
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/state\s+FAILURE/);
  expect(result.stdout).toMatch(/failure\s+card_declined/);
  expect(result.stdout).toContain('visa ••0002');
  expect(result.stdout).not.toContain(TEST_CARDS.declined);
});

test('pay with an invalid amount exits 2 and names the amount field on stderr', async () => {
  const result = await cli('pay', '--amount', 'abc');
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/^\s+amount: /m);
  expect(result.stdout).toBe('');
});

test('get of an unknown payment exits 3', async () => {
  const result = await cli('get', 'payment:does_not_exist');
  expect(result.code).toBe(3);
  expect(result.stderr).toContain('payment:does_not_exist');
});

test('list --state SUCCESS --json contains the paid payment once visibility has it', async () => {
  // Wait through the client (cheap) so the CLI is spawned once.
  await eventually(async () =>
    (await aegis.listPayments({ state: 'SUCCESS' })).payments.some((p) => p.id === paid.id),
  );
  const result = await cli('list', '--state', 'SUCCESS', '--json');
  expect(result.code).toBe(0);
  const page = JSON.parse(result.stdout) as { payments: { id: string; state: string }[] };
  expect(page.payments).toContainEqual(expect.objectContaining({ id: paid.id, state: 'SUCCESS' }));
});

test('refund, then events --json shows REFUND_SUCCEEDED', async () => {
  const refunded = await cli('refund', paid.id, '--amount', '10', '--refund-id', 're_cli_1', '--json');
  expect(refunded.code).toBe(0);
  expect(JSON.parse(refunded.stdout)).toMatchObject({
    state: 'PARTIALLY_REFUNDED',
    amounts: { refunded: 1000 },
  });

  const result = await cli('events', paid.id, '--json');
  expect(result.code).toBe(0);
  const events = JSON.parse(result.stdout) as DomainEvent[];
  expect(events.map((e) => e.type)).toContain('REFUND_SUCCEEDED');
});

test('refund --amount "" exits 2 naming the amount, and nothing is refunded', async () => {
  const before = await aegis.getPayment(paid.id);
  const empty = await cli('refund', paid.id, '--amount', '', '--json');
  expect(empty.code).toBe(2);
  expect(empty.stderr).toMatch(/^\s+amount: amount or full: true is required/m);
  expect(JSON.parse(empty.stdout)).toMatchObject({ error: { code: 'VALIDATION_ERROR' } });

  const neither = await cli('refund', paid.id);
  expect(neither.code).toBe(2);
  expect(neither.stderr).toContain('--full');
  const both = await cli('refund', paid.id, '--amount', '1', '--full');
  expect(both.code).toBe(2);

  const after = await aegis.getPayment(paid.id);
  expect(after.amounts).toEqual(before.amounts);
  expect(after.version).toBe(before.version);
});

test('refund --full refunds what is left', async () => {
  const result = await cli('refund', paid.id, '--full', '--json');
  expect(result.code).toBe(0);
  expect(JSON.parse(result.stdout)).toMatchObject({ state: 'REFUNDED', amounts: { refunded: 9999 } });
});

test('pay --count runs several payments and prints a summary', async () => {
  const result = await cli('pay', '--amount', '1', '--count', '3', '--concurrency', '2', '--json');
  expect(result.code).toBe(0);
  const { summary, payments } = JSON.parse(result.stdout) as { summary: { byState: object }; payments: [] };
  expect(summary.byState).toEqual({ SUCCESS: 3 });
  expect(payments).toHaveLength(3);
});

test('an unreachable Temporal address exits 5 and says how to fix it', async () => {
  const result = await unreachable;
  expect(result.code).toBe(5);
  expect(result.stderr).toContain('127.0.0.1:1');
  expect(result.stderr).toContain('npm run temporal');
  expect(result.stderr).toContain('--address');
});

test('with an API key in the environment the CLI connects with TLS, which a plaintext server refuses', async () => {
  const plain = await cli('get', 'payment:nobody');
  expect(plain.code).toBe(3); // reached the server: not found
  const secured = await cliWithEnv({ TEMPORAL_API_KEY: 'key_for_cloud' }, 'get', 'payment:nobody');
  expect(secured.code).toBe(5); // the TLS handshake with the plaintext dev server fails
}, 60_000);
