/**
 * A throwaway PostgreSQL server for tests: initdb into a temp directory, `postgres` on a free loopback
 * port, stopped and deleted after (the recipe is in src/toolchain/postgres.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/toolchain/dev-server';
import {
  createDatabaseIfMissing,
  initDataDirectory,
  pgCommand,
  postgresArgs,
  postgresUrl,
  waitForPostgres,
} from '../../src/toolchain/postgres';

export { PG_BIN, pgCommand, postgresBinariesPresent } from '../../src/toolchain/postgres';

export interface TestPostgres {
  /** `postgres://aegispay@127.0.0.1:<port>/<database>` */
  url(database?: string): string;
  port: number;
  /** Creates an empty database and returns its URL. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'aegispay-pg-'));
  const dataDir = initDataDirectory(dir);
  const port = await freePort();
  const [postgres, args] = pgCommand('postgres', postgresArgs(dataDir, port, dir));
  const child: ChildProcess = spawn(postgres, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const url = (database = 'postgres') => postgresUrl(port, database);
  try {
    await waitForPostgres(
      url(),
      () => child.exitCode !== null,
      () => log,
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }

  return {
    port,
    url,
    async createDatabase(name: string) {
      await createDatabaseIfMissing(url(), name);
      return url(name);
    },
    async stop() {
      const [pgCtl, ctlArgs] = pgCommand('pg_ctl', ['stop', '-D', dataDir, '-m', 'immediate', '-w']);
      try {
        execFileSync(pgCtl, ctlArgs, { stdio: 'pipe' });
      } catch {
        child.kill('SIGKILL');
      }
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
