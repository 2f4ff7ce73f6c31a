/**
 * The embedded store: PostgreSQL compiled to WebAssembly (PGlite) in a data directory.
 *
 * PGlite is a single session inside one process, so two processes must never open one directory. To let
 * a demo, a standalone worker and the CLI share it, the first process to open it becomes its server:
 * it creates `<dataDir>.server.json` exclusively (O_EXCL), opens PGlite on a worker thread, serves it on a
 * loopback port with pglite-socket and records the port in that file. The port has no password: it is
 * reachable from this host only, and the embedded store is meant for development and single hosts. Every process, the server's own included,
 * talks to it through a `pg` Pool, so transactions of all processes go through one queue (the socket
 * server keeps a transaction's statements together). A record whose process is dead, or whose port stays
 * silent, is stale: the next process moves it aside and takes over. When the serving process closes
 * its store, the others' next query fails to connect; they elect a new server and retry it (every
 * store operation is idempotent, so a retry after a lost answer is safe).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { Pool } from 'pg';
import { ConfigurationError } from '../domain/errors';
import { PgExecutor, type Queryable, type Row, type SqlExecutor } from './sql';

/** What `<dataDir>.server.json` holds. `port` is null while the server is starting. */
export interface ServerRecord {
  pid: number;
  host: string;
  port: number | null;
  startedAt: string;
}

const LOOPBACK = '127.0.0.1';
/** How long a process waits for a starting server, or for a silent one before calling it stale. */
const SILENCE_BEFORE_STALE_MS = 10_000;
const ELECTION_TIMEOUT_MS = 60_000;
const CONNECT_TIMEOUT_MS = 2_000;
/** How long a query may wait for the one connection while others use it. */
const QUEUE_WAIT_MS = 60_000;
/**
 * One connection per store a process opens: the embedded server (pglite-socket) runs one database
 * session and keeps a connection's protocol messages together only inside a transaction, so queries of
 * several connections at once can interleave ("portal does not exist"). One connection serializes them.
 */
const CLIENT_POOL_MAX = 1;
const SERVER_MAX_CONNECTIONS = 200;
/** Tries of one operation across servers that stop under it (each store operation is idempotent). */
const RECONNECT_ATTEMPTS = 4;

/** The file naming the process that serves an embedded data directory. */
export function serverRecordPath(dataDir: string): string {
  return `${resolve(dataDir)}.server.json`;
}

/** Opens the embedded store, serving it from this process or connecting to the process that does. */
export async function openEmbedded(dataDir: string): Promise<SqlExecutor> {
  await mkdir(dirname(resolve(dataDir)), { recursive: true });
  const shared = new SharedEmbeddedExecutor(resolve(dataDir));
  await shared.connect();
  return shared;
}

interface Hosting {
  server: PgliteServer;
  record: string;
}

/** A `pg` Pool to whichever process serves the directory, this one or another. */
export class SharedEmbeddedExecutor implements SqlExecutor {
  private pool?: PgExecutor;
  private hosting?: Hosting;
  private connecting?: Promise<void>;
  private closed = false;

  constructor(readonly dataDir: string) {}

  /** True while this process serves the directory. */
  get isServer(): boolean {
    return this.hosting !== undefined;
  }

  async connect(): Promise<void> {
    this.connecting ??= this.elect().finally(() => (this.connecting = undefined));
    await this.connecting;
  }

  async query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]> {
    return this.withReconnect((db) => db.query<T>(sql, params));
  }

  async script(sql: string): Promise<void> {
    return this.withReconnect((db) => db.script(sql));
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    return this.withReconnect((db) => db.transaction(work));
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.pool?.close();
    this.pool = undefined;
    await this.stopHosting();
  }

  private async withReconnect<T>(run: (db: SqlExecutor) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new ConfigurationError('The payment store is closed');
      if (!this.pool) await this.connect();
      const pool = this.pool!;
      try {
        return await run(pool);
      } catch (err) {
        if (!isConnectionError(err) || this.closed || attempt >= RECONNECT_ATTEMPTS) throw err;
        // The serving process went away: elect a new one (maybe this process) and retry.
        if (this.pool === pool) {
          this.pool = undefined;
          void pool.close().catch(() => undefined);
        }
      }
    }
  }

  private async elect(): Promise<void> {
    const file = serverRecordPath(this.dataDir);
    const deadline = Date.now() + ELECTION_TIMEOUT_MS;
    let silentSince: { text: string; at: number } | undefined;
    while (!this.closed) {
      if (Date.now() > deadline) {
        throw new ConfigurationError(
          `Cannot open the embedded payment store ${this.dataDir}: ${file} names a server that does not ` +
            'answer. If no AegisPay process uses the store, delete that file.',
        );
      }
      const mine: ServerRecord = {
        pid: process.pid,
        host: LOOPBACK,
        port: null,
        startedAt: new Date().toISOString(),
      };
      if (await createExclusive(file, JSON.stringify(mine))) {
        await this.host(file, mine);
        return;
      }
      const text = await readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // removed in between: try to create it again
      const record = parseRecord(text);
      if (record?.port) {
        const pool = await connectPool(record.host, record.port);
        if (pool) {
          this.pool = new PgExecutor(pool);
          return;
        }
      }
      if (silentSince?.text !== text) silentSince = { text, at: Date.now() };
      const dead = record !== undefined && !processAlive(record.pid);
      const silentTooLong = Date.now() - silentSince.at > SILENCE_BEFORE_STALE_MS;
      // An unreadable record is a server that crashed between creating the file and writing it.
      const unreadable = record === undefined && (await ageMs(file)) > SILENCE_BEFORE_STALE_MS;
      if (dead || silentTooLong || unreadable) {
        await moveAsideIfUnchanged(file, text);
        continue;
      }
      await sleep(100);
    }
    throw new ConfigurationError('The payment store is closed');
  }

  private async host(file: string, starting: ServerRecord): Promise<void> {
    let server: PgliteServer | undefined;
    try {
      server = await PgliteServer.start(this.dataDir);
      const record = JSON.stringify({ ...starting, port: server.port } satisfies ServerRecord);
      // Written aside and renamed over, so readers see the old record or the whole new one.
      const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
      await writeFile(tmp, record);
      await rename(tmp, file);
      this.hosting = { server, record };
      const pool = await connectPool(LOOPBACK, server.port);
      if (!pool)
        throw new ConfigurationError(`The embedded payment store on port ${server.port} does not answer`);
      this.pool = new PgExecutor(pool);
    } catch (err) {
      this.hosting = undefined;
      await server?.stop().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      throw err;
    }
  }

  private async stopHosting(): Promise<void> {
    const hosting = this.hosting;
    if (!hosting) return;
    this.hosting = undefined;
    const file = serverRecordPath(this.dataDir);
    // Remove the record first so no one connects to a server about to stop; only if it is still ours.
    if ((await readFile(file, 'utf8').catch(() => undefined)) === hosting.record) {
      await unlink(file).catch(() => undefined);
    }
    await hosting.server.stop();
  }
}

/**
 * PGlite and its socket server on a worker thread. There its WebAssembly work does not hold up this
 * thread's event loop (the Temporal worker's activities, the client), and it loads its modules with
 * dynamic import(), which runtimes that run CommonJS in a VM (Jest) refuse on the main thread. The
 * worker is plain JavaScript loading the packages by absolute path, so it runs the same from src/ and dist/.
 */
class PgliteServer {
  private constructor(
    private readonly worker: Worker,
    readonly port: number,
  ) {}

  static async start(dataDir: string): Promise<PgliteServer> {
    const worker = new Worker(SERVER_SOURCE, {
      eval: true,
      workerData: {
        dataDir,
        host: LOOPBACK,
        maxConnections: SERVER_MAX_CONNECTIONS,
        pglite: require.resolve('@electric-sql/pglite'),
        socket: require.resolve('@electric-sql/pglite-socket'),
      },
    });
    const port = await new Promise<number>((resolvePort, reject) => {
      worker.once('message', (msg: { port?: number; error?: string }) =>
        msg.port
          ? resolvePort(msg.port)
          : reject(new ConfigurationError(`Cannot open the embedded payment store ${dataDir}: ${msg.error}`)),
      );
      worker.once('error', reject);
      worker.once('exit', (code) =>
        reject(new ConfigurationError(`The embedded payment store stopped (exit ${code})`)),
      );
    });
    return new PgliteServer(worker, port);
  }

  /** Stops serving and closes the database cleanly (a checkpoint), then ends the thread. */
  async stop(): Promise<void> {
    const exited = new Promise((r) => this.worker.once('exit', r));
    this.worker.postMessage('stop');
    await exited;
  }
}

const SERVER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require(workerData.pglite);
const { PGLiteSocketServer } = require(workerData.socket);
(async () => {
  const db = await PGlite.create(workerData.dataDir);
  const server = new PGLiteSocketServer({
    db, host: workerData.host, port: 0, maxConnections: workerData.maxConnections,
  });
  await server.start();
  parentPort.on('message', async (message) => {
    if (message !== 'stop') return;
    await server.stop().catch(() => undefined);
    await db.close().catch(() => undefined);
    process.exit(0);
  });
  parentPort.postMessage({ port: Number(server.getServerConn().split(':').pop()) });
})().catch((err) => {
  parentPort.postMessage({ error: String((err && err.message) || err) });
  process.exit(1);
});
`;

async function createExclusive(file: string, text: string): Promise<boolean> {
  try {
    await writeFile(file, text, { flag: 'wx' });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
}

/**
 * Moves a stale record aside. Two processes may find the same stale record; if the one that comes
 * second moved a fresh record instead (created in between), it puts that one back.
 */
async function moveAsideIfUnchanged(file: string, staleText: string): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch {
    return; // someone else moved it already
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined);
  if (moved !== staleText) await link(aside, file).catch(() => undefined);
  await unlink(aside).catch(() => undefined);
}

function parseRecord(text: string): ServerRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<ServerRecord>;
    if (typeof r.pid !== 'number' || typeof r.host !== 'string') return undefined;
    return {
      pid: r.pid,
      host: r.host,
      port: typeof r.port === 'number' ? r.port : null,
      startedAt: String(r.startedAt),
    };
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: alive, under another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function ageMs(file: string): Promise<number> {
  const s = await stat(file).catch(() => undefined);
  return s ? Date.now() - s.mtimeMs : 0;
}

/** A pool to a serving process, or undefined when nothing answers a query there. */
async function connectPool(host: string, port: number): Promise<Pool | undefined> {
  const pool = new Pool({
    host,
    port,
    user: 'postgres',
    database: 'postgres',
    max: CLIENT_POOL_MAX,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
  });
  // Without a listener a dropped idle connection is an uncaught error; the next query reconnects.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
    // pg-pool applies the same timeout to waiting for its one connection: a burst of queries queued
    // behind it would fail after 2 s. The quick timeout was for telling a stale server; this one is not.
    pool.options.connectionTimeoutMillis = QUEUE_WAIT_MS;
    return pool;
  } catch {
    await pool.end().catch(() => undefined);
    return undefined;
  }
}

/** Errors that mean the connection (not the statement) failed. */
export function isConnectionError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  if (typeof e?.code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', '57P01'].includes(e.code)) {
    return true;
  }
  return (
    typeof e?.message === 'string' &&
    /Connection terminated|connection timeout|Client has encountered a connection error|not queryable/i.test(
      e.message,
    )
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
