/**
 * The cluster's PostgreSQL server (one data directory under the state directory, a loopback port) and
 * Temporal's two databases on it, created and migrated to the pinned server's schema with its SQL tool.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import {
  createDatabaseIfMissing,
  initDataDirectory,
  PG_BIN,
  pgCommand,
  postgresArgs,
  postgresUrl,
  waitForPostgres,
} from '../../src/toolchain/postgres';
import type { ClusterBinaries } from './binaries';
import { isRunning, spawnDetached, stopPid } from './processes';
import { TEMPORAL_DATABASE, VISIBILITY_DATABASE } from './server-config';
import { writeState, type ClusterState } from './state';

export const POSTGRES_COMMAND = join(PG_BIN, 'postgres');
const logFile = (state: ClusterState) => join(state.stateDir, 'logs', 'postgres.log');

/** Runs initdb into `<stateDir>/postgres/data` unless it holds a database already. */
export function initPostgres(stateDir: string): string {
  const dir = join(stateDir, 'postgres');
  if (existsSync(join(dir, 'data', 'PG_VERSION'))) return join(dir, 'data');
  mkdirSync(dir, { recursive: true });
  // As root PostgreSQL runs as the postgres user, which must be able to reach its directory.
  chmodSync(stateDir, 0o755);
  return initDataDirectory(dir);
}

/** Starts PostgreSQL (unless it runs) and records the postmaster's PID. */
export async function startPostgres(state: ClusterState): Promise<void> {
  if (isRunning(state.pids.postgres, POSTGRES_COMMAND)) return;
  const { dataDir, port } = state.postgres;
  const [command, args] = pgCommand('postgres', postgresArgs(dataDir, port, join(dataDir, '..')));
  const launcher = spawnDetached(command, args, logFile(state));
  const tail = () => readFileSync(logFile(state), 'utf8').slice(-3000);
  await waitForPostgres(postgresUrl(port), () => !isRunning(launcher), tail);
  // As root the launcher is runuser; the postmaster's own PID is the first line of postmaster.pid.
  const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  state.pids.postgres = pid;
  state.commands.postgres = POSTGRES_COMMAND;
  writeState(state);
}

/**
 * Stops PostgreSQL by its PID: `fast` (SIGINT: disconnects clients, checkpoints) or `immediate` (SIGQUIT:
 * no checkpoint, crash recovery on the next start; what an outage looks like).
 */
export async function stopPostgres(state: ClusterState, mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
  await stopPid(state.pids.postgres, POSTGRES_COMMAND, mode === 'fast' ? 'SIGINT' : 'SIGQUIT', 30_000);
  delete state.pids.postgres;
  writeState(state);
}

function sqlTool(binaries: ClusterBinaries, state: ClusterState, database: string, args: string[]): void {
  const connection = ['--plugin', 'postgres12', '--ep', '127.0.0.1', '-p', String(state.postgres.port)];
  execFileSync(binaries.sqlTool, [...connection, '-u', state.postgres.superuser, '--db', database, ...args], {
    stdio: 'pipe',
  });
}

/** Creates Temporal's databases and brings both schemas to the pinned server's version (idempotent). */
export async function migrateTemporalSchema(binaries: ClusterBinaries, state: ClusterState): Promise<void> {
  const admin = postgresUrl(state.postgres.port);
  for (const [database, schema] of [
    [TEMPORAL_DATABASE, 'temporal'],
    [VISIBILITY_DATABASE, 'visibility'],
  ] as const) {
    const fresh = !(await databaseHasSchema(postgresUrl(state.postgres.port, database)));
    await createDatabaseIfMissing(admin, database);
    if (fresh) sqlTool(binaries, state, database, ['setup-schema', '-v', '0.0']);
    sqlTool(binaries, state, database, [
      'update-schema',
      '-d',
      join(binaries.schemaDir, schema, 'versioned'),
    ]);
  }
}

async function databaseHasSchema(url: string): Promise<boolean> {
  const client = new Client({ connectionString: url });
  try {
    await client.connect();
    const found = await client.query(
      "SELECT 1 FROM information_schema.tables WHERE table_name = 'schema_version'",
    );
    return (found.rowCount ?? 0) > 0;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
