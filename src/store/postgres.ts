/** The PostgreSQL backend: a `pg` Pool built from the validated config. */
import { Pool, type PoolConfig } from 'pg';
import type { ParsedStoreConfig } from './config';
import { PgExecutor } from './sql';

type PostgresConfig = Extract<ParsedStoreConfig, { kind: 'postgres' }>;

export function poolConfig(config: PostgresConfig): PoolConfig {
  const { connectionString, host, port, user, password, database, max, ssl } = config;
  return {
    ...(connectionString !== undefined ? { connectionString } : {}),
    ...(host !== undefined ? { host } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(user !== undefined ? { user } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(database !== undefined ? { database } : {}),
    max: max ?? 10,
    ...(ssl !== undefined ? { ssl } : {}),
    application_name: 'aegispay',
  };
}

export async function openPostgres(config: PostgresConfig): Promise<PgExecutor> {
  const pool = new Pool(poolConfig(config));
  // An idle connection the server drops is reported here; the next query opens a new one.
  pool.on('error', () => undefined);
  return new PgExecutor(pool);
}
