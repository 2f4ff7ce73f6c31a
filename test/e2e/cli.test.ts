import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import type { DomainEvent, Payment } from '../../src/domain/types';
import type { DevServer } from '../../src/toolchain/dev-server';
import {
  cardPayment,
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

const GOOD_CARD = `${TEST_CARDS.success} 12/${new Date().getFullYear() + 2} 123\n`;

/** Runs the CLI as a user would, against this file's dev server and task queue (set in the environment). */
function cli(...args: string[]): Promise<CliResult> {
  return run({}, ...args);
}

/** Runs `pay` with the card piped to standard input, as a user would. */
function pay(card: string, ...args: string[]): Promise<CliResult> {
  return run({ input: card }, 'pay', ...args);
}

/** Runs the CLI with extra environment variables and what it reads on standard input (nothing by default). */
function run(options: { env?: NodeJS.ProcessEnv; input?: string }, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
      cwd: ROOT,
      env: { ...env, ...options.env },
      timeout: 60_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.stdin.end(options.input ?? '');
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
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
  const result = await pay(GOOD_CARD, '--amount', '99.99', '--customer', 'cust_cli_e2e', '--json');
  expect(result).toMatchObject({ code: 0, stderr: '' });
  paid = JSON.parse(result.stdout) as Payment;
  expect(paid).toMatchObject({
    state: 'SUCCESS',
    amount: { amount: 9999, currency: 'USD' },
    gateway: 'MOCK',
  });
});

test('pay with a declined card exits 1 and shows the FAILURE, money and times in the human-readable view', async () => {
  const result = await pay(`${TEST_CARDS.declined} 12/${new Date().getFullYear() + 2} 123`, '--amount', '5');
  expect(result.code).toBe(1);
  expect(result.stdout).toMatch(/state\s+FAILURE/);
  expect(result.stdout).toMatch(/failure\s+card_declined/);
  expect(result.stdout).toMatch(/amount\s+USD 5\.00$/m);
  expect(result.stdout).toMatch(/created\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \((just now|\d+ s ago)\)$/m);
  expect(result.stdout).toContain('visa ••0002');
  expect(result.stdout).not.toContain(TEST_CARDS.declined);
});

test('the card is never an argument: --card is refused, and pay without a card on stdin says how to give it', async () => {
  const asArgument = await run({}, 'pay', '--amount', '5', '--card', TEST_CARDS.success);
  expect(asArgument.code).toBe(2);
  expect(asArgument.stderr).toContain("unknown option '--card'");
  const none = await pay('', '--amount', '5');
  expect(none.code).toBe(2);
  expect(none.stderr).toContain('standard input');
});

test('a bad card on stdin exits 2 naming the card fields, and prints neither number nor CVV', async () => {
  const result = await pay('4242424242424241 13/20 98765', '--amount', '5');
  expect(result.code).toBe(2);
  expect(result.stderr).toMatch(/paymentMethod\.details\.cardNumber/);
  expect(result.stderr).toMatch(/paymentMethod\.details\.expiryMonth/);
  expect(result.stderr + result.stdout).not.toContain('4242424242424241');
  expect(result.stderr + result.stdout).not.toContain('98765');
});

test('pay with an invalid amount exits 2 and names the amount field on stderr', async () => {
  const result = await pay(GOOD_CARD, '--amount', 'abc');
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

test('list shows newest first, open and closed payments mixed by creation time', async () => {
  // An open (AUTHORIZED) payment created before a closed one (FAILURE): visibility lists the open one first.
  const older = await aegis.pay(cardPayment({ captureMethod: 'manual', customer: { id: 'cust_order' } }));
  const newer = await aegis.pay(
    cardPayment({ cardNumber: TEST_CARDS.declined, customer: { id: 'cust_order' } }),
  );
  await eventually(
    async () => (await aegis.listPayments({ customerId: 'cust_order' })).payments.length === 2,
  );
  const json = await cli('list', '--customer', 'cust_order', '--json');
  const ids = (JSON.parse(json.stdout) as { payments: { id: string }[] }).payments.map((p) => p.id);
  expect(ids).toEqual([newer.id, older.id]);
  const human = await cli('list', '--customer', 'cust_order');
  const lines = human.stdout.split('\n');
  expect(lines[1]).toContain('FAILURE');
  expect(lines[2]).toContain('AUTHORIZED');
  expect(lines[1]).toMatch(/USD 99\.99 .* UTC \(/);
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
  const result = await pay(GOOD_CARD, '--amount', '1', '--count', '3', '--concurrency', '2', '--json');
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

test('hints name the command as it was typed: npm run cli --, npx aegispay, or the bin name', async () => {
  const viaNpmRun = await run({ env: { npm_lifecycle_event: 'cli' } }, 'get', 'payment:nobody');
  expect(viaNpmRun.stderr).toContain('`npm run cli -- list`');
  const viaTsx = await cli('get', 'payment:nobody');
  expect(viaTsx.stderr).toContain('`npx tsx src/cli.ts list`');
  expect(viaTsx.stderr).not.toMatch(/`aegispay /);
});

test('the CLI reads payments of an encrypted task queue with keys from a key file or the environment', async () => {
  const key = randomBytes(32).toString('base64');
  const taskQueue = testTaskQueue();
  const encryption = { keys: { k1: key }, activeKeyId: 'k1' };
  const encryptedWorker = await startTestWorker(server, taskQueue, [new MockGateway()], { encryption });
  const client = testClient(server, taskQueue, { encryption });
  try {
    const payment = await client.pay(cardPayment({ amount: 12.5 }));
    const queueEnv = { AEGISPAY_TASK_QUEUE: taskQueue };
    const keyless = await run({ env: queueEnv }, 'get', payment.id);
    expect(keyless.code).not.toBe(0);
    expect(keyless.stderr).toContain('--keys-file');

    const dir = mkdtempSync(join(tmpdir(), 'aegispay-cli-keys-'));
    const keysFile = join(dir, 'keys');
    writeFileSync(keysFile, `k1:${key}\n`, { mode: 0o600 });
    const fromFile = await run({ env: queueEnv }, '--keys-file', keysFile, 'get', payment.id);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toMatch(/amount\s+USD 12\.50$/m);
    const fromEnv = await run(
      { env: { ...queueEnv, AEGISPAY_ENCRYPTION_KEYS: `k1:${key}` } },
      'get',
      payment.id,
      '--json',
    );
    expect(JSON.parse(fromEnv.stdout)).toMatchObject({ id: payment.id, state: 'SUCCESS' });
  } finally {
    await client.close();
    await encryptedWorker.stop();
  }
});

test('with an API key in the environment the CLI connects with TLS, which a plaintext server refuses', async () => {
  const plain = await cli('get', 'payment:nobody');
  expect(plain.code).toBe(3); // reached the server: not found
  const secured = await run({ env: { TEMPORAL_API_KEY: 'key_for_cloud' } }, 'get', 'payment:nobody');
  expect(secured.code).toBe(5); // the TLS handshake with the plaintext dev server fails
}, 60_000);
