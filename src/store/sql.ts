/**
 * The one SQL surface the payment store needs, implemented over a `pg` Pool: PostgreSQL, or the
 * embedded PGlite behind its loopback socket. The store's SQL is the same
 * for every backend: parameters are numbered (`$1`), JSON goes in as text cast to jsonb.
 */
import type { Pool, PoolClient } from 'pg';

export type Row = Record<string, unknown>;

/** Runs one statement and returns its rows. */
export interface Queryable {
  query<T extends Row = Row>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs a script of several statements without parameters (migrations). */
  script(sql: string): Promise<void>;
}

/** A connection pool (or a single embedded database) that can also run a function in one transaction. */
export interface SqlExecutor extends Queryable {
  /** Runs `work` between BEGIN and COMMIT; any throw rolls back. */
  transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/** A `pg` Pool as an executor: each transaction holds one pooled connection from BEGIN to COMMIT. */
export class PgExecutor implements SqlExecutor {
  constructor(private readonly pool: Pool) {}

  async query<T extends Row = Row>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.pool.query<T>(sql, params)).rows;
  }

  async script(sql: string): Promise<void> {
    await this.pool.query(sql);
  }

  async transaction<T>(work: (tx: Queryable) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    // A connection lost mid-transaction rejects the pending query; without a listener it would also
    // be thrown as an unhandled 'error' event.
    const ignore = () => undefined;
    client.on('error', ignore);
    const tx: Queryable = {
      query: async <R extends Row = Row>(sql: string, params: unknown[] = []) =>
        (await client.query<R>(sql, params)).rows,
      // Without parameters pg uses the simple protocol, which takes several statements.
      script: async (sql: string) => void (await client.query(sql)),
    };
    try {
      await client.query('BEGIN');
      const result = await work(tx);
      await client.query('COMMIT');
      client.off('error', ignore);
      client.release();
      return result;
    } catch (err) {
      client.off('error', ignore);
      await rollbackAndRelease(client, err);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

async function rollbackAndRelease(client: PoolClient, cause: unknown): Promise<void> {
  try {
    await client.query('ROLLBACK');
    client.release();
  } catch {
    // The connection is broken (the usual reason the transaction failed): drop it from the pool.
    client.release(cause instanceof Error ? cause : true);
  }
}
