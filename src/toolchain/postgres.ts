/**
 * Running Debian's PostgreSQL 15 binaries on a loopback port with a data directory of our own: shared
 * by the tests' throwaway servers and the local cluster (scripts/cluster). PostgreSQL refuses to run
 * as root, so as root it runs as the `postgres` system user (via runuser) in a directory it owns.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { toolchainFromEnv } from '../config/toolchain';

/** Debian's PostgreSQL 15 binaries; AEGISPAY_PG_BIN points elsewhere. */
export const PG_BIN = toolchainFromEnv().pgBin;
/** The superuser `initDataDirectory` creates (trust authentication, loopback only). */
export const PG_SUPERUSER = 'aegispay';

const asRoot = process.getuid?.() === 0;

export function postgresBinariesPresent(): boolean {
  return existsSync(join(PG_BIN, 'postgres')) && existsSync(join(PG_BIN, 'initdb'));
}

/** Runs a PostgreSQL binary, as the postgres user when this process is root (PostgreSQL refuses root). */
export function pgCommand(binary: string, args: string[]): [string, string[]] {
  const path = join(PG_BIN, binary);
  return asRoot ? ['runuser', ['-u', 'postgres', '--', path, ...args]] : [path, args];
}

/** Hands `dir` to the postgres user when this process is root, then runs initdb into `<dir>/data`. */
export function initDataDirectory(dir: string): string {
  const dataDir = join(dir, 'data');
  if (asRoot) {
    const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
    chownSync(dir, id('-u'), id('-g'));
    chmodSync(dir, 0o700);
  }
  const [initdb, args] = pgCommand('initdb', [
    '-D',
    dataDir,
    '-U',
    PG_SUPERUSER,
    '--auth=trust',
    '-E',
    'UTF8',
  ]);
  execFileSync(initdb, args, { stdio: 'pipe' });
  return dataDir;
}

/** `postgres` arguments: loopback only on `port`, its socket in `socketDir`, no fsync (throwaway data). */
export function postgresArgs(dataDir: string, port: number, socketDir: string): string[] {
  return [
    ...['-D', dataDir, '-p', String(port), '-k', socketDir],
    ...['-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off', '-c', 'max_connections=300'],
  ];
}

export const postgresUrl = (port: number, database = 'postgres') =>
  `postgres://${PG_SUPERUSER}@127.0.0.1:${port}/${database}`;

/** Resolves once the server at `url` accepts connections; throws (with `describe()`) after `timeoutMs` or once `gone()`. */
export async function waitForPostgres(
  url: string,
  gone: () => boolean,
  describe: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Client({ connectionString: url });
    try {
      await client.connect();
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
      if (gone() || Date.now() > deadline)
        throw new Error(`PostgreSQL did not start at ${url}:\n${describe()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** Creates database `name` on the server at `url` unless it exists. */
export async function createDatabaseIfMissing(url: string, name: string): Promise<void> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`);
  } finally {
    await client.end();
  }
}
