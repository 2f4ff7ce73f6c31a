/**
 * The payment store: AegisPay's system of record. Temporal's retention deletes closed workflows; the
 * store keeps every payment's view, its domain events (append-only, numbered by the payment's version),
 * attempts and refunds for as long as the business needs them.
 *
 * Backends (the same SQL on both):
 * - `{ kind: 'postgres', connectionString | host/port/user/password/database, max, ssl }`: a `pg` Pool.
 * - `{ kind: 'embedded', dataDir? }`: PostgreSQL in WebAssembly (PGlite) under `dataDir`, default
 *   `<project root>/.aegispay/store`. Local processes share it: the first to open it serves it on a
 *   loopback port written to `<dataDir>.server.json`, the others connect to that port; a stale file
 *   (dead process, silent port) is taken over (see embedded.ts). PGlite runs on a worker thread.
 * `openPaymentStore()` without arguments reads the environment (`storeConfigFromEnv`:
 * AEGISPAY_STORE_URL, AEGISPAY_STORE, AEGISPAY_STORE_DIR, …, AEGISPAY_ENCRYPTION_KEYS).
 * Migrations run when a store opens (under an advisory lock, so concurrent starts are safe), or
 * explicitly with `migratePaymentStore(config)` together with `migrate: false` elsewhere.
 *
 * What is stored in clear, and why: payment ID, idempotency key, merchant scope, state, amounts,
 * currency, gateway, customer ID and country, metadata, routing, attempts, refunds and events — what
 * listing, filtering, export, reconciliation and refunds need. Cards are stored only as token, brand,
 * last 4 and expiry; a card number or CVV anywhere in a view or an event is refused (VALIDATION_ERROR,
 * naming the path, never the value). The customer's email, name and phone are kept out of the view
 * in `customer_pii`: AES-256-GCM encrypted with the payload encryption keys when configured (a
 * Temporal payload in protobuf JSON, readable by the codec server), plain otherwise.
 *
 * How the rest of AegisPay uses it:
 * - Worker: open one store per worker (`openPaymentStore(config.store)`) and give it to the activities.
 *   A projection activity calls `store.project(view, newEvents)` after each step the workflow records
 *   (or once per workflow task with the events since the last call; replaying all events is also
 *   fine). Projections are idempotent, so activity retries and replays are safe; run it as a regular
 *   activity with retries. A VALIDATION_ERROR (card data) or IDEMPOTENCY_CONFLICT is not retryable.
 * - Client: `getPayment` / `listPayments` / `getEvents` answer for payments whose workflow is gone
 *   (fall back to the store when Temporal says the workflow is not found). `aegispay export` streams
 *   `store.exportRows({ from, to })` through `formatExport(rows, 'csv' | 'jsonl')`.
 * - Refunds after the workflow's refund window (workflow closed): `reserveRefund(id, refundId, amount)`
 *   before asking the gateway (with the gateway idempotency key derived from the refund ID), then
 *   `settleRefund(id, refundId, { status })` with the gateway's answer. While the workflow runs it owns
 *   the payment: send refunds to it instead (a settle here would take the event number the workflow's
 *   next event needs, and its next projection fails with IDEMPOTENCY_CONFLICT).
 * - Shut down: `await store.close()` (the embedded server process stops serving; others take over).
 */
import { ConfigurationError } from '../domain/errors';
import { defaultEmbeddedDataDir, parseStoreConfig, storeConfigFromEnv, type StoreConfig } from './config';
import { openEmbedded } from './embedded';
import { openPostgres } from './postgres';
import { PiiSealer } from './pii';
import { PaymentStore } from './payment-store';
import { migrate } from './schema';
import type { SqlExecutor } from './sql';

export {
  storeConfigSchema,
  storeConfigFromEnv,
  parseStoreConfig,
  defaultEmbeddedDataDir,
  type StoreConfig,
} from './config';
export {
  PaymentStore,
  type ListPaymentsFilter,
  type PaymentPage,
  type RefundReservation,
  type RefundOutcome,
  type StoredRefundStatus,
} from './payment-store';
export { formatExport, CSV_COLUMNS, type ExportRow, type ExportFormat } from './export-format';
export { MIGRATIONS, type Migration } from './schema';
export { serverRecordPath, type ServerRecord } from './embedded';
export { cardDataPaths, containsCardNumber } from './card-data';

/** Opens the payment store `config` describes (default: from the environment), migrated unless `migrate: false`. */
export async function openPaymentStore(config?: StoreConfig): Promise<PaymentStore> {
  const parsed = config === undefined ? storeConfigFromEnv() : parseStoreConfig(config);
  const db = await openExecutor(parsed);
  const store = new PaymentStore(db, new PiiSealer(parsed.encryption), parsed.kind);
  try {
    if (parsed.migrate !== false) await store.migrate();
    return store;
  } catch (err) {
    await store.close().catch(() => undefined);
    throw err;
  }
}

/** Applies missing migrations and closes: for a deploy step, with `migrate: false` in the services. */
export async function migratePaymentStore(config?: StoreConfig): Promise<number[]> {
  const parsed = config === undefined ? storeConfigFromEnv() : parseStoreConfig(config);
  const db = await openExecutor(parsed);
  try {
    return await migrate(db);
  } finally {
    await db.close();
  }
}

async function openExecutor(config: ReturnType<typeof parseStoreConfig>): Promise<SqlExecutor> {
  if (config.kind === 'embedded') {
    return openEmbedded(config.dataDir ?? defaultEmbeddedDataDir());
  }
  if (config.kind === 'postgres') return openPostgres(config);
  throw new ConfigurationError('Unknown payment store kind');
}
