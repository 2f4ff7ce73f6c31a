/**
 * A throwaway PostgreSQL server that can be stopped and started again on the same port and data
 * directory, as a database outage looks to its clients: connections refused while it is down, then
 * crash recovery (it stops in `immediate` mode, without a checkpoint) and the same data afterwards.
 * test/helpers/postgres.ts starts a server that only stops for good; this one follows its recipe
 * (initdb into a temporary directory, loopback only, run as the `postgres` user when this process is root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { freePort } from '../../src/toolchain/dev-server';
import { pgCommand } from '../helpers/postgres';

export { postgresBinariesPresent } from '../helpers/postgres';

const SUPERUSER = 'aegispay';
const asRoot = process.getuid?.() === 0;

export interface RestartablePostgres {
  /** `postgres://aegispay@127.0.0.1:<port>/postgres`, the same before and after a restart. */
  url: string;
  /** The temporary directory holding the data directory (kept on request for inspection). */
  dir: string;
  /** Stops the server abruptly (no checkpoint): clients see refused connections. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data directory; resolves once it accepts connections. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory unless `keep`. */
  destroy(keep?: boolean): Promise<void>;
}

export async function startRestartablePostgres(): Promise<RestartablePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'aegispay-chaos-pg-'));
  const dataDir = join(dir, 'data');
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
    chmodSync(dir, 0o700);
  }
  const [initdb, initArgs] = pgCommand('initdb', [
    '-D',
    dataDir,
    '-U',
    SUPERUSER,
    '--auth=trust',
    '-E',
    'UTF8',
  ]);
  execFileSync(initdb, initArgs, { stdio: 'pipe' });
  const port = await freePort();
  const url = `postgres://${SUPERUSER}@127.0.0.1:${port}/postgres`;
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    const [postgres, args] = pgCommand('postgres', [
      ...['-D', dataDir, '-p', String(port), '-k', dir],
      ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=200'],
    ]);
    const started = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    const deadline = Date.now() + 30_000;
    for (;;) {
      const client = new Client({ connectionString: url });
      try {
        await client.connect();
        await client.end();
        return;
      } catch {
        await client.end().catch(() => undefined);
        if (started.exitCode !== null || Date.now() > deadline) {
          started.kill('SIGKILL');
          throw new Error(`PostgreSQL did not start on port ${port}:\n${log}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const stop = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    const [pgCtl, ctlArgs] = pgCommand('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
    try {
      execFileSync(pgCtl, ctlArgs, { stdio: 'pipe' });
    } catch {
      running.kill('SIGKILL');
    }
    if (running.exitCode === null) await new Promise((r) => running.once('exit', r));
  };

  await start();
  // Whatever happens to the run, no server outlives this process.
  const killOnExit = () => child?.kill('SIGKILL');
  process.on('exit', killOnExit);
  return {
    url,
    dir,
    stop,
    start,
    async destroy(keep = false) {
      await stop();
      process.off('exit', killOnExit);
      if (!keep) rmSync(dir, { recursive: true, force: true });
    },
  };
}
