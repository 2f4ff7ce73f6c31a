#!/usr/bin/env node
/**
 * `aegispay`: the AegisPay command line, a thin wrapper over the `AegisPay` class.
 * Exit codes: 0 ok; 1 `pay` ended in FAILURE; 2 usage or validation error; 3 payment not found;
 * 4 conflict or state error; 5 Temporal unreachable; 6 any other error.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { AegisPay } from './embedded/aegis-pay';
import type { AegisPayConfig } from './config';
import type { ValidationIssue } from './domain/errors';
import { DEFAULT_TASK_QUEUE, DEV_TASK_QUEUE } from './domain/ids';
import type { RefundRequest } from './domain/messages';
import { GatewayType, type CreatePaymentRequest, type Payment } from './domain/types';
import { capturePaymentRequestSchema, parseOrThrow, refundPaymentRequestSchema } from './domain/validation';
import * as fmt from './cli-format';
import { encryptionConfigFromEnv } from './codec/encryption-codec';
import { namedStoreConfigFromEnv } from './store/config';
import { isSecuredConnectionFromEnv } from './config/temporal';
import { findProjectRoot, isInstalledPackage } from './toolchain/temporal-binaries';

/** The gateways with a connector, as the help texts name them. */
const GATEWAYS = Object.values(GatewayType).join(', ');

const EXIT = { OK: 0, FAILURE: 1, USAGE: 2, NOT_FOUND: 3, CONFLICT: 4, UNAVAILABLE: 5, ERROR: 6 } as const;

const EXIT_BY_CODE: Record<string, number> = {
  VALIDATION_ERROR: EXIT.USAGE,
  PAYMENT_NOT_FOUND: EXIT.NOT_FOUND,
  IDEMPOTENCY_CONFLICT: EXIT.CONFLICT,
  INVALID_STATE_TRANSITION: EXIT.CONFLICT,
  REFUND_EXCEEDS_CAPTURED: EXIT.CONFLICT,
  TEMPORAL_UNAVAILABLE: EXIT.UNAVAILABLE,
};

/**
 * The command as the user typed it, for hints they can copy: `npm run cli --` in the AegisPay project,
 * `npx aegispay` through npx, else the name this file was run under.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv): string {
  const script = basename(argv[1] ?? 'aegispay');
  if (env.npm_lifecycle_event === 'cli') return 'npm run cli --';
  if (script === 'cli.ts') return 'npx tsx src/cli.ts';
  if (env.npm_command === 'exec' || env.npm_lifecycle_event === 'npx') return 'npx aegispay';
  // dist/cli.js run through a symlink resolved by node, as package bins are.
  return script === 'cli.js' ? 'npx aegispay' : script;
}

/** Whether this CLI runs from the AegisPay source checkout (where `npm run …` scripts exist). */
function inSourceCheckout(): boolean {
  try {
    return !isInstalledPackage(findProjectRoot());
  } catch {
    return false;
  }
}

function hints(cli: string): Record<string, string> {
  const keys = 'AEGISPAY_ENCRYPTION_KEYS (or --keys-file) and AEGISPAY_ENCRYPTION_ACTIVE_KEY';
  const startServer = inSourceCheckout() ? `\`npm run temporal\` (or \`${cli} dev\`)` : `\`${cli} dev\``;
  return {
    PAYMENT_NOT_FOUND: `Check the payment ID (\`${cli} list\` shows recent payments) and --namespace.`,
    IDEMPOTENCY_CONFLICT:
      'This --key was used for a different request: pass a new --key, or repeat the original request exactly.',
    INVALID_STATE_TRANSITION: `Check the payment's state with \`${cli} get <paymentId>\`.`,
    REFUND_EXCEEDS_CAPTURED: `Refund at most what was captured minus what was refunded (\`${cli} get <paymentId>\`).`,
    TEMPORAL_UNAVAILABLE: `Start a local Temporal server with ${startServer}, or pass --address host:port.`,
    ENCRYPTION_REQUIRED: `This task queue's workers encrypt payloads: set ${keys} as on the workers.`,
    ENCRYPTION_MISMATCH: `Your keys differ from the workers': use the keys the workers hold (${keys}).`,
  };
}

interface GlobalOptions {
  address: string;
  namespace: string;
  taskQueue: string;
  json?: boolean;
  keysFile?: string;
  logLevel: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR' | 'SILENT';
}

/** Card details, read from standard input or a prompt: arguments would show in `ps` and shell history. */
interface Card {
  cardNumber: string;
  expiryMonth: string;
  expiryYear: string;
  cvv?: string;
}

interface PayOptions {
  amount: string;
  currency: string;
  customer: string;
  email?: string;
  key?: string;
  capture?: 'manual' | 'automatic';
  gateway?: string;
  count: number;
  concurrency: number;
}

/** An error the CLI raises itself, with the exit code it means. */
class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** The environment with `--keys-file` applied, for `encryptionConfigFromEnv` and the store. */
function keyEnv(g: GlobalOptions): NodeJS.ProcessEnv {
  return g.keysFile ? { ...process.env, AEGISPAY_ENCRYPTION_KEYS_FILE: g.keysFile } : process.env;
}

/** The AegisPay config for the global options; logs go to stderr so stdout carries only results. */
function clientConfig(g: GlobalOptions): AegisPayConfig {
  // With credentials or a profile in the environment (Temporal Cloud, mTLS), connect through
  // Temporal's environment configuration; the address and namespace options still win.
  const secured = isSecuredConnectionFromEnv();
  const temporal: Pick<AegisPayConfig, 'temporal' | 'temporalEnv'> = secured
    ? {
        temporal: 'env',
        temporalEnv: { ...process.env, TEMPORAL_ADDRESS: g.address, TEMPORAL_NAMESPACE: g.namespace },
      }
    : { temporal: { address: g.address, namespace: g.namespace } };
  // The same keys as the workers (AEGISPAY_ENCRYPTION_KEYS or a key file): a keyless CLI cannot read
  // encrypted payments, and on an encrypted fleet it is refused.
  const encryption = encryptionConfigFromEnv(keyEnv(g));
  // The payment store, when the environment names one: reads and refunds of payments whose workflows are gone.
  const store = namedStoreConfigFromEnv(keyEnv(g));
  return {
    ...temporal,
    taskQueue: g.taskQueue,
    logging: { level: g.logLevel },
    logDestination: process.stderr,
    ...(encryption ? { encryption } : {}),
    ...(store ? { store } : {}),
  };
}

async function withClient(g: GlobalOptions, use: (aegis: AegisPay) => Promise<number>): Promise<number> {
  const aegis = new AegisPay(clientConfig(g));
  try {
    return await use(aegis);
  } finally {
    await aegis.close();
  }
}

/** Prints one result: a JSON document with --json, else the human-readable view. */
function print<T>(g: GlobalOptions, value: T, human: (value: T) => string): void {
  process.stdout.write(`${g.json ? JSON.stringify(value, null, 2) : human(value)}\n`);
}

function newKey(): string {
  return `cli_${randomUUID().replace(/-/g, '')}`;
}

/** `<number> <MM/YYYY> <cvv>` (a gateway token needs no CVV), as piped in or typed at the prompt; validation happens in `pay`. */
function parseCard(text: string): Card {
  const [cardNumber = '', expiry = '', cvv] = text.trim().split(/\s+/);
  const [expiryMonth = '', expiryYear = ''] = expiry.split('/');
  return { cardNumber, expiryMonth, expiryYear, ...(cvv ? { cvv } : {}) };
}

/** The card from standard input (one line: number, MM/YYYY, CVV) or, on a terminal, a prompt. */
async function readCard(): Promise<Card> {
  if (!process.stdin.isTTY) {
    let text = '';
    for await (const chunk of process.stdin) text += String(chunk);
    if (!text.trim()) {
      throw new CliError(
        'pay: give the card on standard input: `echo "4242424242424242 12/2030 123" | … pay …`',
        EXIT.USAGE,
      );
    }
    return parseCard(text);
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const number = await rl.question('Card number: ');
    const expiry = await rl.question('Expiry (MM/YYYY): ');
    const cvv = await rl.question('CVV: ');
    return parseCard(`${number.replace(/\s+/g, '')} ${expiry.trim()} ${cvv.trim()}`);
  } finally {
    rl.close();
  }
}

function payRequest(o: PayOptions, card: Card, idempotencyKey: string): CreatePaymentRequest {
  return {
    idempotencyKey,
    amount: o.amount,
    currency: o.currency.toUpperCase() as CreatePaymentRequest['currency'],
    customer: { id: o.customer, ...(o.email ? { email: o.email } : {}) },
    paymentMethod: {
      type: 'CARD',
      details: card,
    },
    ...(o.capture ? { captureMethod: o.capture } : {}),
    ...(o.gateway ? { gatewayType: o.gateway.toUpperCase() as CreatePaymentRequest['gatewayType'] } : {}),
  };
}

async function pay(g: GlobalOptions & PayOptions): Promise<number> {
  const card = await readCard();
  return withClient(g, async (aegis) => {
    if (g.count > 1) return payMany(aegis, g, card);
    const payment = await aegis.pay(payRequest(g, card, g.key ?? newKey()));
    print(g, payment, fmt.formatPayment);
    // A decline is a result, not an error, but scripts still want to branch on it.
    return payment.state === 'FAILURE' ? EXIT.FAILURE : EXIT.OK;
  });
}

/** `pay --count N`: N payments with keys `<key>_1..N`, `--concurrency` at a time, then a summary. */
async function payMany(aegis: AegisPay, g: GlobalOptions & PayOptions, card: Card): Promise<number> {
  const base = g.key ?? newKey();
  const bar = fmt.progressBar(g.count);
  const payments: Payment[] = [];
  const latencies: number[] = [];
  const byState: Record<string, number> = {};
  const errors: Record<string, number> = {};
  let firstError: unknown;
  let next = 0;
  const started = performance.now();
  const lane = async () => {
    while (next < g.count) {
      const key = `${base}_${++next}`;
      const t0 = performance.now();
      try {
        const payment = await aegis.pay(payRequest(g, card, key));
        payments.push(payment);
        byState[payment.state] = (byState[payment.state] ?? 0) + 1;
      } catch (err) {
        const code = errorCode(err) ?? 'ERROR';
        errors[code] = (errors[code] ?? 0) + 1;
        firstError ??= err;
      }
      latencies.push(Math.round(performance.now() - t0));
      bar.tick();
    }
  };
  await Promise.all(Array.from({ length: Math.min(g.concurrency, g.count) }, lane));
  bar.finish();
  const summary: fmt.BatchSummary = {
    count: g.count,
    byState,
    errors,
    p50Ms: fmt.percentile(latencies, 50),
    p95Ms: fmt.percentile(latencies, 95),
    totalMs: Math.round(performance.now() - started),
  };
  print(g, { summary, payments }, () => fmt.formatBatchSummary(summary));
  if (firstError) return report(firstError, false);
  return byState.FAILURE ? EXIT.FAILURE : EXIT.OK;
}

async function get(g: GlobalOptions, paymentId: string): Promise<number> {
  return withClient(g, async (aegis) => {
    print(g, await aegis.getPayment(paymentId), fmt.formatPayment);
    return EXIT.OK;
  });
}

async function list(
  g: GlobalOptions & {
    state?: string;
    customer?: string;
    gateway?: string;
    limit?: number;
    pageToken?: string;
  },
): Promise<number> {
  return withClient(g, async (aegis) => {
    const page = await aegis.listPayments({
      ...(g.state ? { state: g.state.toUpperCase() as Payment['state'] } : {}),
      ...(g.customer ? { customerId: g.customer } : {}),
      ...(g.gateway ? { gatewayType: g.gateway.toUpperCase() as Payment['gateway'] } : {}),
      ...(g.limit ? { limit: g.limit } : {}),
      ...(g.pageToken ? { pageToken: g.pageToken } : {}),
    });
    // Visibility lists open workflows before closed ones; people read a list newest first.
    const newestFirst = { ...page, payments: fmt.newestFirst(page.payments) };
    print(g, newestFirst, (p) => fmt.formatPaymentList(p, invokedAs()));
    return EXIT.OK;
  });
}

async function capture(g: GlobalOptions & { amount?: string }, paymentId: string): Promise<number> {
  // Checked before connecting: `--amount ""` is a mistake to report, never "capture everything".
  const request = parseOrThrow(
    capturePaymentRequestSchema,
    g.amount === undefined ? {} : { amount: g.amount },
    'capture request',
  );
  return withClient(g, async (aegis) => {
    print(g, await aegis.capturePayment(paymentId, request), fmt.formatPayment);
    return EXIT.OK;
  });
}

async function cancel(g: GlobalOptions & { reason?: string }, paymentId: string): Promise<number> {
  return withClient(g, async (aegis) => {
    print(g, await aegis.cancelPayment(paymentId, g.reason ? { reason: g.reason } : {}), fmt.formatPayment);
    return EXIT.OK;
  });
}

interface RefundOptions {
  amount?: string;
  full?: boolean;
  reason?: string;
  refundId?: string;
}

/** The refund the options ask for: exactly one of --amount and --full, checked before anything is sent. */
function refundRequest(o: RefundOptions): RefundRequest {
  if (o.full && o.amount !== undefined) {
    throw new CliError('refund: give either --amount or --full, not both', EXIT.USAGE);
  }
  if (!o.full && o.amount === undefined) {
    throw new CliError(
      'refund: give --amount <major> for a partial refund, or --full to refund everything still refundable',
      EXIT.USAGE,
    );
  }
  const request: RefundRequest = {
    ...(o.full ? { full: true as const } : { amount: o.amount }),
    ...(o.reason !== undefined ? { reason: o.reason } : {}),
    ...(o.refundId !== undefined ? { refundId: o.refundId } : {}),
  };
  return parseOrThrow(refundPaymentRequestSchema, request, 'refund request');
}

async function refund(g: GlobalOptions & RefundOptions, paymentId: string): Promise<number> {
  const request = refundRequest(g);
  return withClient(g, async (aegis) => {
    print(g, await aegis.refundPayment(paymentId, request), fmt.formatPayment);
    return EXIT.OK;
  });
}

interface ReviewOptions {
  outcome: string;
  operator: string;
  note?: string;
  reference?: string;
}

async function review(g: GlobalOptions & ReviewOptions, paymentId: string): Promise<number> {
  const { outcome, operator, note, reference } = g;
  if (outcome !== 'done' && outcome !== 'not_done') {
    throw new CliError('review: --outcome must be done or not_done', EXIT.USAGE);
  }
  return withClient(g, async (aegis) => {
    const request = {
      outcome,
      operator,
      ...(note ? { note } : {}),
      ...(reference ? { reference } : {}),
    } as const;
    print(g, await aegis.resolveReview(paymentId, request), fmt.formatPayment);
    return EXIT.OK;
  });
}

async function recover(g: GlobalOptions, paymentId: string): Promise<number> {
  return withClient(g, async (aegis) => {
    print(g, await aegis.recoverPayment(paymentId), fmt.formatPayment);
    return EXIT.OK;
  });
}

interface ExportOptions {
  from?: string;
  to?: string;
  format: string;
}

/**
 * Streams payments (created in [from, to)) and their events from the payment store, for accounting:
 * the store named by AEGISPAY_STORE_URL / AEGISPAY_STORE, the embedded one by default.
 */
async function exportPayments(g: GlobalOptions & ExportOptions): Promise<number> {
  if (g.format !== 'csv' && g.format !== 'jsonl')
    throw new CliError('export: --format is csv or jsonl', EXIT.USAGE);
  for (const [name, value] of [
    ['--from', g.from],
    ['--to', g.to],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) {
      throw new CliError(`export: ${name} must be an ISO 8601 date or time`, EXIT.USAGE);
    }
  }
  const { openPaymentStore, formatExport } = await import('./store');
  const store = await openPaymentStore();
  try {
    let header = true;
    const batch: Parameters<typeof formatExport>[0] extends Iterable<infer R> ? R[] : never = [];
    const flush = () => {
      if (batch.length === 0 && !header) return;
      process.stdout.write(formatExport(batch, g.format as 'csv' | 'jsonl', { header }));
      header = false;
      batch.length = 0;
    };
    const range = {
      ...(g.from ? { from: new Date(g.from).toISOString() } : {}),
      ...(g.to ? { to: new Date(g.to).toISOString() } : {}),
    };
    for await (const row of store.exportRows(range)) {
      batch.push(row);
      if (batch.length >= 200) flush();
    }
    flush();
    return EXIT.OK;
  } finally {
    await store.close();
  }
}

/** Applies the payment store's migrations (the store also does on open): for a deploy step. */
async function migrateStore(g: GlobalOptions): Promise<number> {
  const { migratePaymentStore, storeConfigFromEnv } = await import('./store');
  const applied = await migratePaymentStore(storeConfigFromEnv());
  print(g, { applied }, ({ applied: a }) => (a.length ? `applied migrations ${a.join(', ')}` : 'up to date'));
  return EXIT.OK;
}

async function events(g: GlobalOptions, paymentId: string): Promise<number> {
  return withClient(g, async (aegis) => {
    print(g, await aegis.getPaymentEvents(paymentId), fmt.formatEvents);
    return EXIT.OK;
  });
}

async function health(g: GlobalOptions): Promise<number> {
  return withClient(g, async (aegis) => {
    print(g, await aegis.getHealthSummary(), fmt.formatObject);
    return EXIT.OK;
  });
}

/** `dev`: a local Temporal dev server (reused if one answers), the sandbox PSP and a worker, until Ctrl-C. */
async function dev(g: GlobalOptions): Promise<number> {
  // Loaded on demand: only `dev` needs the toolchain, the sandbox and the gateway adapters.
  const { startOrReuseDevServer } = await import('./toolchain/dev-server');
  const { startSandbox } = await import('./sandbox/server');
  const { CONNECTOR_TYPES, CONNECTORS, createGateway } = await import('./activities/gateways');
  const server = await startOrReuseDevServer();
  const sandbox = await startSandbox({ port: 0 });
  const aegis = new AegisPay({
    ...clientConfig(g),
    temporal: { address: server.address, namespace: server.namespace },
  });
  try {
    for (const type of CONNECTOR_TYPES) {
      aegis.registerGatewayInstance(createGateway(type, CONNECTORS[type].sandboxOptions(sandbox.url)));
    }
    // The in-process worker starts on the first call that needs Temporal.
    await aegis.listPayments({ limit: 1 });
    const ready = {
      address: server.address,
      namespace: server.namespace,
      taskQueue: g.taskQueue,
      webUi: server.uiUrl || undefined,
      sandbox: sandbox.url,
      gateways: CONNECTOR_TYPES,
    };
    print(
      g,
      ready,
      (r) =>
        `${fmt.formatObject(r)}\n\nAegisPay dev environment is ready. Ctrl-C stops it.\n` +
        `Its worker serves task queue "${r.taskQueue}": pay with --task-queue ${r.taskQueue} ` +
        `(or AEGISPAY_TASK_QUEUE=${r.taskQueue}).`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return EXIT.OK;
  } finally {
    await aegis.close();
    await sandbox.stop();
    await server.stop();
  }
}

/** `worker`: the standalone worker (src/worker.ts) with the global options as its environment. */
async function worker(g: GlobalOptions, logLevelGiven: boolean): Promise<number> {
  const { runWorkerFromEnv } = await import('./worker');
  await runWorkerFromEnv(process.env, {
    temporal: { address: g.address, namespace: g.namespace },
    taskQueue: g.taskQueue,
    // The worker's logs are its output, so the CLI's SILENT default does not apply.
    ...(logLevelGiven ? { logging: { level: g.logLevel } } : {}),
  });
  return EXIT.OK;
}

/** `setup`: installs the pinned Temporal CLI where embedded mode and `dev` look for it. */
async function setup(g: GlobalOptions): Promise<number> {
  const { installTemporalToolchain } = await import('./toolchain/install-temporal');
  const { findTemporalCli } = await import('./toolchain/temporal-binaries');
  let found: string | undefined;
  try {
    found = findTemporalCli();
  } catch {
    await installTemporalToolchain();
    found = findTemporalCli();
  }
  print(g, { temporal: found }, (r) => `Temporal CLI: ${r.temporal}`);
  return EXIT.OK;
}

/** `temporal …`: the Temporal CLI that AegisPay found or installed, with the arguments given. */
async function temporal(args: string[]): Promise<number> {
  const { ensureTemporalCli } = await import('./toolchain/install-temporal');
  const child = spawn(await ensureTemporalCli(), args, { stdio: 'inherit' });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code ?? EXIT.ERROR));
  });
}

interface CodecServerCliOptions {
  host?: string;
  port?: number;
  insecureNoAuth?: boolean;
}

/** `codec-server`: decodes encrypted payloads for the Web UI and the `temporal` CLI until Ctrl-C. */
async function codecServer(g: GlobalOptions & CodecServerCliOptions): Promise<number> {
  const { codecServerOptionsFromEnv, startCodecServer } = await import('./codec/codec-server');
  const options = codecServerOptionsFromEnv(keyEnv(g), {
    ...(g.host ? { host: g.host } : {}),
    ...(g.port !== undefined ? { port: g.port } : {}),
    ...(g.insecureNoAuth ? { insecureNoAuth: true } : {}),
  });
  if (!options.token && !options.insecureNoAuth) {
    throw new CliError(
      'codec-server: set AEGISPAY_CODEC_TOKEN (16+ URL-safe characters, e.g. `openssl rand -hex 24`), ' +
        'or pass --insecure-no-auth to serve any local process without one',
      EXIT.USAGE,
    );
  }
  const server = await startCodecServer(options);
  const cli = invokedAs();
  print(
    g,
    { url: server.url, webUiEndpoint: server.uiEndpoint, allowedOrigins: options.allowedOrigins },
    (r) =>
      `${fmt.formatObject(r)}\n\nWeb UI: AEGISPAY_CODEC_ENDPOINT=${r.webUiEndpoint} ${inSourceCheckout() ? 'npm run temporal' : `${cli} dev`}\n` +
      `CLI:    ${cli} temporal workflow show -w <paymentId> --codec-endpoint ${r.url}` +
      (options.token ? ' --codec-auth "Bearer $AEGISPAY_CODEC_TOKEN"' : '') +
      `\n${options.token ? '' : 'WARNING: no token (--insecure-no-auth): any local process can decrypt payments.\n'}Ctrl-C stops it.`,
  );
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop();
  return EXIT.OK;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  // A gRPC UNAVAILABLE (14) on a call after connecting: the server went away.
  if (code === 14 || (err as { cause?: { code?: unknown } })?.cause?.code === 14)
    return 'TEMPORAL_UNAVAILABLE';
  return undefined;
}

/** Prints an error to stderr (and as JSON on stdout with --json) and returns its exit code. */
function report(err: unknown, json: boolean): number {
  if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE; // already printed
  const code = errorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const issues = (err as { issues?: ValidationIssue[] }).issues;
  if (code === 'VALIDATION_ERROR' && issues?.length) {
    process.stderr.write(
      `error: invalid input\n${issues.map((i) => `  ${i.path || '(root)'}: ${i.message}`).join('\n')}\n`,
    );
  } else {
    process.stderr.write(`error: ${message}\n`);
  }
  const hint = code ? hints(invokedAs())[code] : undefined;
  if (hint) process.stderr.write(`${hint}\n`);
  if (json)
    process.stdout.write(`${JSON.stringify({ error: { code: code ?? 'ERROR', message, issues } })}\n`);
  if (err instanceof CliError) return err.exitCode;
  return (code ? EXIT_BY_CODE[code] : undefined) ?? EXIT.ERROR;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number');
  return n;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** Wraps a command's run function so that Commander calls it and its exit code lands in the result. */
type Action = <O extends object>(
  run: (opts: O, ...args: string[]) => Promise<number>,
) => (...params: unknown[]) => Promise<void>;

/** Builds the command tree; every action stores its exit code in `result.code`. */
function buildProgram(result: { code: number }): Command {
  const program = withGlobalOptions(new Command(invokedAs()));
  const action: Action =
    <O extends object>(run: (opts: O, ...args: string[]) => Promise<number>) =>
    async (...params: unknown[]) => {
      // Commander passes the arguments, then the command's options, then the command itself.
      const command = params.at(-1) as Command;
      result.code = await run(
        command.optsWithGlobals<O & Record<string, unknown>>(),
        ...(params.slice(0, -2) as string[]),
      );
    };
  // Registration order is the order `--help` lists the commands in.
  registerLocalCommands(program, action);
  registerPaymentCommands(program, action);
  registerOperationsCommands(program, action);
  return program;
}

/** The options every command accepts: where Temporal is, the task queue, output, keys and logging. */
function withGlobalOptions(program: Command): Command {
  return program
    .description('AegisPay command line: payments on Temporal')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .addOption(
      new Option('--address <host:port>', 'Temporal frontend')
        .env('TEMPORAL_ADDRESS')
        .default('localhost:7233'),
    )
    .addOption(
      new Option('--namespace <name>', 'Temporal namespace').env('TEMPORAL_NAMESPACE').default('default'),
    )
    .addOption(
      new Option('--task-queue <name>', 'AegisPay task queue')
        .env('AEGISPAY_TASK_QUEUE')
        .default(DEFAULT_TASK_QUEUE),
    )
    .option('--json', 'print exactly one JSON document on stdout')
    .addOption(
      new Option(
        '--keys-file <path>',
        'encryption keys as on the workers (keyId:base64Key, comma- or line-separated); or AEGISPAY_ENCRYPTION_KEYS',
      ).env('AEGISPAY_ENCRYPTION_KEYS_FILE'),
    )
    .addOption(
      new Option('--log-level <level>', 'AegisPay log level (logs go to stderr)')
        .choices(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT'])
        .default('SILENT'),
    );
}

/** Commands that run things on this machine: the dev stack, the Temporal CLI, the codec server, a worker. */
function registerLocalCommands(program: Command, action: Action): void {
  program
    .command('dev')
    .description(`run a local Temporal dev server, the sandbox PSP and a worker (${GATEWAYS}) until Ctrl-C`)
    .action(
      action((g: GlobalOptions) =>
        dev(
          program.getOptionValueSource('taskQueue') === 'default' ? { ...g, taskQueue: DEV_TASK_QUEUE } : g,
        ),
      ),
    );
  program
    .command('setup')
    .description('install the pinned Temporal CLI (into the user cache when installed as a package)')
    .action(action(setup));
  program
    .command('temporal')
    .description('run the Temporal CLI that AegisPay uses, e.g. `temporal workflow list`')
    .argument('[args...]', 'passed to the Temporal CLI as they are (main() routes them there)');
  program
    .command('codec-server')
    .description(
      'decode encrypted payments for the Web UI and the Temporal CLI (token: AEGISPAY_CODEC_TOKEN)',
    )
    .option('--host <ip>', 'interface to listen on (env AEGISPAY_CODEC_HOST, default 127.0.0.1)')
    .option('--port <n>', 'port (env AEGISPAY_CODEC_PORT, default 8888; 0 picks one)', nonNegativeInt)
    .option('--insecure-no-auth', 'serve without a token (loopback only)')
    .action(action(codecServer));
  program
    .command('worker')
    .description('run the standalone worker (environment variables as for `npm run worker`)')
    .action(action((g: GlobalOptions) => worker(g, program.getOptionValueSource('logLevel') !== 'default')));
}

/** Commands on one payment's life: pay, look up, list, capture, cancel, refund. */
function registerPaymentCommands(program: Command, action: Action): void {
  program
    .command('pay')
    .description(
      'create and process a card payment; the card comes from standard input as one line ' +
        '"<number> <MM/YYYY> <cvv>" (or a prompt on a terminal); exits 1 when it ends in FAILURE',
    )
    .requiredOption('--amount <major>', 'amount in major units, e.g. 99.99')
    .option('--currency <code>', 'ISO 4217 currency', 'USD')
    .option('--customer <id>', 'customer ID', 'cust_cli')
    .option('--email <email>', 'customer email')
    .option('--key <idempotencyKey>', 'idempotency key (default: generated)')
    .addOption(new Option('--capture <method>', 'capture method').choices(['automatic', 'manual']))
    .option('--gateway <type>', `pin a gateway: ${GATEWAYS}`)
    .option('--count <n>', 'make n payments (keys <key>_1..n) and print a summary', positiveInt, 1)
    .option('--concurrency <n>', 'payments in flight at once with --count', positiveInt, 1)
    .action(action(pay));
  program.command('get <paymentId>').description('show a payment').action(action(get));
  program
    .command('list')
    .description('list payments from Temporal visibility (eventually consistent)')
    .option('--state <state>', 'e.g. SUCCESS, FAILURE, AUTHORIZED')
    .option('--customer <id>', 'customer ID')
    .option('--gateway <type>', 'gateway type')
    .option('--limit <n>', 'page size (1-1000, default 50)', positiveInt)
    .option('--page-token <token>', 'next page, as printed by the previous page')
    .action(action(list));
  program
    .command('capture <paymentId>')
    .description('capture an AUTHORIZED payment')
    .option('--amount <major>', 'partial amount in major units (default: all)')
    .action(action(capture));
  program
    .command('cancel <paymentId>')
    .description('cancel a payment before capture')
    .option('--reason <text>', 'why')
    .action(action(cancel));
  program
    .command('refund <paymentId>')
    .description('refund a payment: --amount <major> or --full (one of them is required)')
    .option('--amount <major>', 'amount to refund, in major units')
    .option('--full', 'refund everything still refundable')
    .option('--reason <text>', 'why')
    .option('--refund-id <id>', 'makes the refund idempotent')
    .action(action(refund));
}

/** Commands for operators: export, store migrations, manual review, recovery, audit trail, health. */
function registerOperationsCommands(program: Command, action: Action): void {
  program
    .command('export')
    .description('export payments and their events from the payment store (accounting): CSV or JSON lines')
    .option('--from <date>', 'created at or after (ISO 8601)')
    .option('--to <date>', 'created before (ISO 8601)')
    .option('--format <csv|jsonl>', 'output format', 'csv')
    .action(action(exportPayments));
  program
    .command('migrate')
    .description('apply the payment store migrations (AEGISPAY_STORE_URL, or the embedded store)')
    .action(action(migrateStore));
  program
    .command('review <paymentId>')
    .description('settle a payment in REQUIRES_REVIEW with what the gateway shows (recorded with your name)')
    .requiredOption('--outcome <done|not_done>', 'done: the open operation happened at the gateway')
    .requiredOption('--operator <name>', 'who decides, kept in the audit trail')
    .option('--note <text>', 'why, or where it was seen')
    .option('--reference <id>', "the gateway's charge reference, when a charge is declared done")
    .action(action(review));
  program
    .command('recover <paymentId>')
    .description('continue a payment whose workflow was terminated, reconciling it with the gateway')
    .action(action(recover));
  program
    .command('events <paymentId>')
    .description("show a payment's domain events (its audit trail)")
    .action(action(events));
  program.command('health').description('show the gateway health summary').action(action(health));
}

async function main(argv: string[]): Promise<number> {
  const result = { code: EXIT.OK as number };
  const program = buildProgram(result);
  try {
    // Everything after `temporal` belongs to the Temporal CLI, options included.
    if (argv[2] === 'temporal') return await temporal(argv.slice(3));
    await program.parseAsync(argv);
    return result.code;
  } catch (err) {
    return report(err, Boolean(program.opts().json));
  }
}

main(process.argv).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(EXIT.ERROR);
  },
);
