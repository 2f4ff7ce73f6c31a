/**
 * The store's schema as an ordered list of migrations. `migrate` applies the missing ones in one
 * transaction under a transaction-scoped advisory lock, so processes that start together (a worker, the
 * CLI, a second worker) never apply a migration twice or see half a schema. Never edit a shipped
 * migration: append a new one.
 */
import type { SqlExecutor } from './sql';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** An arbitrary constant of our own: the advisory lock key every AegisPay process migrates under. */
export const MIGRATION_LOCK_KEY = 7_316_452_019;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'payments, events, attempts, refunds',
    sql: `
      CREATE TABLE payments (
        id              text PRIMARY KEY,
        idempotency_key text NOT NULL,
        merchant_scope  text,
        state           text NOT NULL,
        amount          bigint NOT NULL,
        currency        text NOT NULL,
        customer_id     text NOT NULL,
        gateway         text,
        authorized      bigint NOT NULL DEFAULT 0,
        captured        bigint NOT NULL DEFAULT 0,
        refunded        bigint NOT NULL DEFAULT 0,
        version         integer NOT NULL,
        created_at      timestamptz NOT NULL,
        updated_at      timestamptz NOT NULL,
        -- The payment view without the customer's email, name and phone (see customer_pii).
        view            jsonb NOT NULL,
        -- The customer's email, name and phone: a plain object, or an AES-256-GCM encrypted payload.
        customer_pii    jsonb
      );
      -- Listing pages newest first (created_at desc, id desc), alone or under one filter.
      CREATE INDEX payments_created_idx ON payments (created_at DESC, id DESC);
      CREATE INDEX payments_state_created_idx ON payments (state, created_at DESC, id DESC);
      CREATE INDEX payments_customer_created_idx ON payments (customer_id, created_at DESC, id DESC);
      CREATE INDEX payments_gateway_created_idx ON payments (gateway, created_at DESC, id DESC);
      CREATE INDEX payments_amount_idx ON payments (amount);
      CREATE INDEX payments_idempotency_key_idx ON payments (idempotency_key);

      CREATE TABLE payment_events (
        payment_id text NOT NULL REFERENCES payments (id),
        sequence   integer NOT NULL,
        event_id   text NOT NULL,
        type       text NOT NULL,
        at         timestamptz NOT NULL,
        data       jsonb NOT NULL,
        PRIMARY KEY (payment_id, sequence)
      );

      CREATE TABLE payment_attempts (
        payment_id              text NOT NULL REFERENCES payments (id),
        number                  integer NOT NULL,
        gateway                 text NOT NULL,
        gateway_idempotency_key text NOT NULL,
        outcome                 text NOT NULL,
        gateway_reference       text,
        error_code              text,
        latency_ms              integer NOT NULL,
        reconciliation_checks   integer,
        at                      timestamptz NOT NULL,
        PRIMARY KEY (payment_id, number)
      );

      -- Refunds the workflow made (succeeded, failed) and refunds reserved here after its window.
      CREATE TABLE payment_refunds (
        payment_id text NOT NULL REFERENCES payments (id),
        refund_id  text NOT NULL,
        amount     bigint NOT NULL CHECK (amount >= 0),
        status     text NOT NULL CHECK (status IN ('reserved', 'succeeded', 'failed')),
        reason     text,
        at         timestamptz NOT NULL,
        PRIMARY KEY (payment_id, refund_id)
      );
    `,
  },
];

/** Applies the migrations this database lacks; returns the versions it applied (none when up to date). */
export async function migrate(db: SqlExecutor): Promise<number[]> {
  return db.transaction(async (tx) => {
    // Held until COMMIT: a second process waits here, then finds every migration applied.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY]);
    await tx.query(`
      CREATE TABLE IF NOT EXISTS aegispay_schema_migrations (
        version    integer PRIMARY KEY,
        name       text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`);
    const applied = new Set(
      (await tx.query<{ version: number }>('SELECT version FROM aegispay_schema_migrations')).map((r) =>
        Number(r.version),
      ),
    );
    const missing = MIGRATIONS.filter((m) => !applied.has(m.version));
    for (const m of missing) {
      await tx.script(m.sql);
      await tx.query('INSERT INTO aegispay_schema_migrations (version, name) VALUES ($1, $2)', [
        m.version,
        m.name,
      ]);
    }
    return missing.map((m) => m.version);
  });
}
