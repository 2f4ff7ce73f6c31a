import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { parse } from 'yaml';
import { devServerSettings } from '../config/dev-server';
import { loadSettings } from '../config/loader';
import { ConfigurationError, TemporalUnavailableError } from '../domain/errors';
import { freePort } from '../free-port';
import { ensureTemporalCli } from './install-temporal';
import { findProjectRoot, isInstalledPackage } from './temporal-binaries';

/** Settings of the local Temporal dev service, as kept in `x-aegispay` of temporal-dev.yml. */
export interface DevServerSettings {
  namespace: string;
  ip: string;
  port: number;
  uiPort: number;
  /** Absolute path, or undefined for an in-memory server. */
  dbFile?: string;
  logLevel: string;
  searchAttributes: { name: string; type: string }[];
  /** Server dynamic config, `KEY` → value as the CLI's `--dynamic-config-value KEY=VALUE` takes it (JSON). */
  dynamicConfig: Record<string, string>;
  /** SQLite pragmas for a server with a database file, as the CLI's `--sqlite-pragma KEY=VALUE` takes them. */
  sqlitePragmas: Record<string, string>;
  codecEndpoint?: string;
}

/** Per-start changes to the settings from temporal-dev.yml. */
export interface DevServerOptions {
  /** gRPC port; 0 picks a free one (and then a free UI port too, unless uiPort says otherwise). */
  port?: number;
  /** Web UI port; 0 picks a free one; false runs headless. */
  uiPort?: number | false;
  /** SQLite file (relative to the cwd); null keeps state in memory. */
  dbFile?: string | null;
  namespace?: string;
  /** Show the server's output on this process's stdout/stderr instead of buffering it. */
  inheritOutput?: boolean;
  /** Settings file; defaults to <projectRoot>/temporal-dev.yml. */
  settingsFile?: string;
  /** Dynamic config for this start instead of temporal-dev.yml's (`{}`: Temporal's defaults); values are JSON-encoded. */
  dynamicConfig?: Record<string, unknown>;
}

/** A running dev server. */
export interface DevServer {
  /** `ip:port` of the frontend, for `Connection.connect({ address })`. */
  address: string;
  /** Web UI URL, or '' when headless. */
  uiUrl: string;
  namespace: string;
  settings: DevServerSettings;
  /** The server's process ID (to stop or kill it in fault tests); undefined for a reused server. */
  pid?: number;
  /** Resolves with the exit code (or signal) when the server process ends; never, for a reused server. */
  exited: Promise<number | string>;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_LINES_KEPT = 200;

/**
 * Reads `x-aegispay` from temporal-dev.yml (default: the one in the project root) through the settings
 * loader, with the environment's overrides (src/config/dev-server.ts).
 */
export function loadDevServerSettings(file?: string): DevServerSettings {
  const path = resolve(file ?? join(findProjectRoot(), 'temporal-dev.yml'));
  let doc: unknown;
  try {
    doc = parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigurationError(`Cannot read dev server settings from ${path}: ${(err as Error).message}`);
  }
  const values = (doc as Record<string, unknown> | null)?.['x-aegispay'];
  if (!values || typeof values !== 'object')
    throw new ConfigurationError(`${path}: missing the x-aegispay block`);
  const { grpcPort, dbFile, ...settings } = loadSettings(devServerSettings, {
    env: process.env,
    file: { path, values: values as Record<string, unknown> },
  });
  // Relative to the project root in the AegisPay checkout; in an app, to the app's folder (the working
  // directory), never inside node_modules where a reinstall would wipe it.
  const dbBase = isInstalledPackage(dirname(path)) ? process.cwd() : dirname(path);
  return {
    ...settings,
    port: grpcPort,
    dbFile: dbFile ? (isAbsolute(dbFile) ? dbFile : resolve(dbBase, dbFile)) : undefined,
  };
}

export { freePort };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Starts `temporal server start-dev` with the settings from temporal-dev.yml and resolves once it serves requests. */
export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const anyPort = (options.port ?? loadDevServerSettings(options.settingsFile).port) === 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await startDevServerOnce(options);
    } catch (err) {
      // A free port is only free until someone binds it: another process (or one of the server's own
      // internal listeners) can take it between the pick and the bind. Then pick again.
      const taken = /address already in use/.test((err as Error).message);
      if (!anyPort || !taken || attempt >= PORT_ATTEMPTS) throw err;
    }
  }
}

const PORT_ATTEMPTS = 3;

async function startDevServerOnce(options: DevServerOptions): Promise<DevServer> {
  const base = loadDevServerSettings(options.settingsFile);
  // First, since a first run may install it: free ports picked before a long install could be taken.
  const cli = await ensureTemporalCli();
  const wanted = options.port ?? base.port;
  const port = wanted === 0 ? await freePort() : wanted;
  // Otherwise the readiness probe could be answered by the server already there while ours dies.
  if (await tcpOpen(base.ip, port)) {
    throw new TemporalUnavailableError(
      `Port ${base.ip}:${port} is already in use (is \`npm run temporal\` running?). ` +
        `Stop it, pick another port, or use startOrReuseDevServer() to connect to it.`,
    );
  }
  // Two servers cannot share a UI port, so a free gRPC port implies a free UI port too.
  const uiPort =
    options.uiPort === false
      ? undefined
      : (options.uiPort ?? base.uiPort) === 0 || (options.uiPort === undefined && wanted === 0)
        ? await freePort()
        : (options.uiPort ?? base.uiPort);
  const settings = withOptions(base, options, port, uiPort);
  if (settings.dbFile) mkdirSync(dirname(settings.dbFile), { recursive: true });
  const args = startDevArgs(settings, uiPort);

  const child = spawn(cli, args, {
    stdio: options.inheritOutput ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
  });
  // Keep the tail of the output for error messages instead of flooding the console.
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    output.splice(0, Math.max(0, output.length - OUTPUT_LINES_KEPT));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let spawnError: Error | undefined;
  child.on('error', (err) => (spawnError = err));
  // A dev server must never outlive the process that started it.
  const killOnExit = () => child.kill('SIGKILL');
  process.on('exit', killOnExit);

  const exitPromise = new Promise<number | string>((r) =>
    child.once('close', (code, signal) => r(code ?? signal ?? 'unknown')),
  );
  const stop = async () => {
    process.off('exit', killOnExit);
    if (!exited(child)) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exitPromise;
      clearTimeout(timer);
    }
  };

  const address = `${settings.ip}:${port}`;
  try {
    await waitUntilReady(address, settings, child, () => spawnError);
  } catch (err) {
    await stop();
    // The CLI's own "Error: ..." lines can be buried above a usage dump, so they come first.
    const errors = [...new Set(output.filter((line) => line.startsWith('Error:')))].join('\n');
    const tail = output.slice(-20).join('\n');
    throw new TemporalUnavailableError(
      `Temporal dev server (${cli} ${args.join(' ')}) did not become ready: ${(err as Error).message}` +
        (errors ? `\n${errors}` : '') +
        (tail ? `\n--- last server output ---\n${tail}` : ''),
    );
  }
  return {
    address,
    uiUrl: uiPort === undefined ? '' : `http://${settings.ip}:${uiPort}`,
    namespace: settings.namespace,
    settings,
    ...(child.pid ? { pid: child.pid } : {}),
    exited: exitPromise,
    stop,
  };
}

/** The settings from temporal-dev.yml overridden by the caller's options and the ports picked. */
function withOptions(
  base: DevServerSettings,
  options: DevServerOptions,
  port: number,
  uiPort: number | undefined,
): DevServerSettings {
  return {
    ...base,
    namespace: options.namespace ?? base.namespace,
    port,
    uiPort: uiPort ?? 0,
    dbFile: options.dbFile === null ? undefined : options.dbFile ? resolve(options.dbFile) : base.dbFile,
    dynamicConfig: options.dynamicConfig
      ? Object.fromEntries(Object.entries(options.dynamicConfig).map(([k, v]) => [k, JSON.stringify(v)]))
      : base.dynamicConfig,
  };
}

/** The `temporal server start-dev` arguments for these settings; no UI port means headless. */
function startDevArgs(settings: DevServerSettings, uiPort: number | undefined): string[] {
  // --http-port and --metrics-port are left out: the CLI already picks free ones for each server.
  const args = [
    'server',
    'start-dev',
    '--ip',
    settings.ip,
    '--port',
    String(settings.port),
    '--namespace',
    settings.namespace,
  ];
  args.push('--log-level', settings.logLevel);
  args.push(...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (settings.dbFile) {
    args.push('--db-filename', settings.dbFile);
    for (const [key, value] of Object.entries(settings.sqlitePragmas))
      args.push('--sqlite-pragma', `${key}=${value}`);
  }
  if (settings.codecEndpoint) args.push('--ui-codec-endpoint', settings.codecEndpoint);
  for (const sa of settings.searchAttributes) args.push('--search-attribute', `${sa.name}=${sa.type}`);
  for (const [key, value] of Object.entries(settings.dynamicConfig))
    args.push('--dynamic-config-value', `${key}=${value}`);
  return args;
}

/** Reuses a dev server already answering at the configured address (e.g. `npm run temporal`), else starts one; stop() leaves a reused server running. */
export async function startOrReuseDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const settings = loadDevServerSettings(options.settingsFile);
  const port = options.port ?? settings.port;
  const address = `${settings.ip}:${port}`;
  if (port !== 0 && (await answers(settings.ip, port))) {
    const uiPort = options.uiPort ?? settings.uiPort;
    return {
      address,
      uiUrl: uiPort === false ? '' : `http://${settings.ip}:${uiPort}`,
      namespace: options.namespace ?? settings.namespace,
      settings: { ...settings, port },
      exited: new Promise(() => undefined),
      stop: async () => undefined, // someone else's server: not ours to stop
    };
  }
  return startDevServer(options);
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    socket.setTimeout(1_000);
    socket.once('connect', () => (socket.destroy(), done(true)));
    socket.once('timeout', () => (socket.destroy(), done(false)));
    socket.once('error', () => done(false));
  });
}

async function answers(ip: string, port: number): Promise<boolean> {
  // A refused TCP connect is instant, while the gRPC client keeps retrying until its timeout.
  if (!(await tcpOpen(ip, port))) return false;
  const address = `${ip}:${port}`;
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.workflowService.getSystemInfo({});
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}

async function waitUntilReady(
  address: string,
  settings: DevServerSettings,
  child: ChildProcess,
  spawnError: () => Error | undefined,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const wanted = settings.searchAttributes.map((sa) => sa.name);
  let lastError = 'no answer yet';
  while (Date.now() < deadline) {
    const err = spawnError();
    if (err) throw err;
    if (exited(child)) throw new Error(`server exited with ${child.exitCode ?? child.signalCode}`);
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.workflowService.getSystemInfo({});
      // The CLI registers search attributes during start-up; wait for them so callers can use them at once.
      const { customAttributes } = await connection.operatorService.listSearchAttributes({
        namespace: settings.namespace,
      });
      const missing = wanted.filter((name) => !customAttributes?.[name]);
      if (missing.length === 0) return;
      lastError = `search attributes not registered yet: ${missing.join(', ')}`;
      // A database file made before an attribute joined the settings keeps its old set: the server
      // registers the rest only in a new database, so AegisPay's are added here (loaded on demand).
      const { ensureSearchAttributes } = await import('../temporal/connection');
      await ensureSearchAttributes(connection, settings.namespace).catch((e: Error) => {
        lastError += ` (adding them: ${e.message})`;
      });
    } catch (e) {
      lastError = (e as Error).message;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await sleep(100);
  }
  throw new Error(`no answer from ${address} within ${READY_TIMEOUT_MS / 1000} s (last: ${lastError})`);
}
