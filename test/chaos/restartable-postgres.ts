/**
 * A throwaway PostgreSQL server that can be stopped and started again on the same port and data
 * directory, as a database outage looks to its clients: connections refused while it is down, then
 * crash recovery (it stops in `immediate` mode, without a checkpoint) and the same data afterwards.
 * test/helpers/postgres.ts starts a server that only stops for good; this one follows its recipe
 * (initdb into a temporary directory, loopback only, run as the `postgres` user when this process is root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/toolchain/dev-server';
import {
  initDataDirectory,
  pgCommand,
  postgresArgs,
  postgresUrl,
  waitForPostgres,
} from '../../src/toolchain/postgres';

export { postgresBinariesPresent } from '../../src/toolchain/postgres';

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
  const dataDir = initDataDirectory(dir);
  const port = await freePort();
  const url = postgresUrl(port);
  let child: ChildProcess | undefined;
  let log = '';

  const start = async () => {
    const [postgres, args] = pgCommand('postgres', postgresArgs(dataDir, port, dir));
    const started = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = started;
    started.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
    try {
      await waitForPostgres(
        url,
        () => started.exitCode !== null,
        () => log,
      );
    } catch (err) {
      started.kill('SIGKILL');
      throw err;
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
