/**
 * The payment store: the system of record that outlives the payment workflows. It keeps each payment's
 * latest view, every domain event in version order, the charge attempts and the refunds, in the same
 * SQL on PostgreSQL and on the embedded PGlite.
 */
import { AegisPayError, ErrorCode, ValidationError } from '../domain/errors';
import { paymentWorkflowId, parsePaymentWorkflowId } from '../domain/ids';
import type { DomainEvent, Payment, PaymentState, Refund } from '../domain/types';
import { assertNoCardData } from './card-data';
import type { ExportRow } from './export-format';
import type { PiiSealer } from './pii';
import { migrate } from './schema';
import type { Queryable, Row, SqlExecutor } from './sql';

export interface ListPaymentsFilter {
  state?: PaymentState;
  customerId?: string;
  gatewayType?: string;
  /** Amount bounds in minor units, inclusive. */
  minAmount?: number;
  maxAmount?: number;
  /** Creation time bounds (ISO 8601): `from` inclusive, `to` exclusive. */
  from?: string;
  to?: string;
  /** Page size, 1-1000 (default 50). */
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface PaymentPage {
  payments: Payment[];
  /** Present when more payments match: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export type StoredRefundStatus = 'reserved' | 'succeeded' | 'failed';

export interface RefundReservation {
  refundId: string;
  amount: number;
  /** `reserved` for a new (or repeated) reservation; a settled refund reports how it ended. */
  status: StoredRefundStatus;
  /** False when this refund ID was already reserved (or settled): the call changed nothing. */
  created: boolean;
  /** What is left to refund after this reservation. */
  refundable: number;
}

export interface RefundOutcome {
  status: 'succeeded' | 'failed';
  reason?: string;
  /** When the gateway answered (ISO 8601); default now. */
  at?: string;
}

const DEFAULT_PAGE = 50;
const MAX_PAGE = 1000;
const EXPORT_PAGE = 200;
/** States in which captured money can be refunded. */
const REFUNDABLE_STATES: readonly string[] = ['SUCCESS', 'PARTIALLY_REFUNDED'];

interface PaymentRow extends Row {
  view: Payment;
  customer_pii: unknown;
  created_key: string;
}

export class PaymentStore {
  constructor(
    private readonly db: SqlExecutor,
    private readonly pii: PiiSealer,
    /** Which backend this store runs on, for logs and reports. */
    readonly backend: 'embedded' | 'postgres',
  ) {}

  /** Applies missing schema migrations (also done when the store opens, unless `migrate: false`). */
  async migrate(): Promise<number[]> {
    return migrate(this.db);
  }

  /**
   * Records a payment's view and its events. Idempotent: the payment row is replaced only by a higher
   * version (a late or repeated call never takes it back in time), events already stored are kept as
   * they are, attempts and refunds follow the newest view. Returns the version stored afterwards.
   * Throws VALIDATION_ERROR when anything holds card data, and IDEMPOTENCY_CONFLICT when an event
   * number is already taken by another event (a second writer).
   */
  async project(view: Payment, events: readonly DomainEvent[] = []): Promise<number> {
    checkProjection(view, events);
    assertNoCardData('payment view', view);
    assertNoCardData('payment events', events);
    const { customer, sealed } = await this.pii.seal(view.customer);
    const stored: Payment = { ...view, customer };
    const scope = parsePaymentWorkflowId(view.id)?.merchantScope ?? null;
    return this.db.transaction(async (tx) => {
      const written = await tx.query(
        `INSERT INTO payments (id, idempotency_key, merchant_scope, state, amount, currency, customer_id, gateway,
           authorized, captured, refunded, version, created_at, updated_at, view, customer_pii)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::jsonb, $16::jsonb)
         ON CONFLICT (id) DO UPDATE SET
           idempotency_key = EXCLUDED.idempotency_key, merchant_scope = EXCLUDED.merchant_scope,
           state = EXCLUDED.state, amount = EXCLUDED.amount, currency = EXCLUDED.currency,
           customer_id = EXCLUDED.customer_id, gateway = EXCLUDED.gateway, authorized = EXCLUDED.authorized,
           captured = EXCLUDED.captured, refunded = EXCLUDED.refunded, version = EXCLUDED.version,
           updated_at = EXCLUDED.updated_at, view = EXCLUDED.view, customer_pii = EXCLUDED.customer_pii
         WHERE payments.version < EXCLUDED.version
         RETURNING version`,
        [
          view.id,
          view.idempotencyKey,
          scope,
          view.state,
          view.amount.amount,
          view.amount.currency,
          view.customer.id,
          view.gateway ?? null,
          view.amounts.authorized,
          view.amounts.captured,
          view.amounts.refunded,
          view.version,
          view.createdAt,
          view.updatedAt,
          JSON.stringify(stored),
          sealed === null ? null : JSON.stringify(sealed),
        ],
      );
      await insertEvents(tx, view.id, events);
      if (written.length === 0) return currentVersion(tx, view.id);
      await upsertAttempts(tx, view);
      await upsertRefunds(tx, view.id, view.refunds);
      return view.version;
    });
  }

  async getPayment(id: string): Promise<Payment | undefined> {
    const [row] = await this.db.query<PaymentRow>(`${SELECT_PAYMENT} WHERE id = $1`, [id]);
    return row ? this.toPayment(row) : undefined;
  }

  /** The payment created with this idempotency key (and merchant scope, when the client uses one). */
  async getPaymentByIdempotencyKey(key: string, merchantScope?: string): Promise<Payment | undefined> {
    let id: string;
    try {
      id = paymentWorkflowId(key, merchantScope);
    } catch {
      return undefined; // not a valid key: no payment can have it
    }
    return this.getPayment(id);
  }

  /** The payment's events in order (empty for an unknown payment). */
  async getEvents(id: string): Promise<DomainEvent[]> {
    const rows = await this.db.query(
      `SELECT payment_id, sequence, event_id, type, at, data FROM payment_events
       WHERE payment_id = $1 ORDER BY sequence`,
      [id],
    );
    return rows.map(toEvent);
  }

  /**
   * One page of payments, newest first (created_at desc, then id desc). The cursor is the position of
   * the page's last payment, so pages never repeat or skip a payment whatever is inserted meanwhile
   * (payments created after the first page simply belong before it).
   */
  async listPayments(filter: ListPaymentsFilter = {}): Promise<PaymentPage> {
    const limit = pageSize(filter.limit);
    const where = new Conditions();
    if (filter.state !== undefined) where.add('state = $?', filter.state);
    if (filter.customerId !== undefined) where.add('customer_id = $?', filter.customerId);
    if (filter.gatewayType !== undefined) where.add('gateway = $?', filter.gatewayType);
    if (filter.minAmount !== undefined) where.add('amount >= $?', minorUnits(filter.minAmount, 'minAmount'));
    if (filter.maxAmount !== undefined) where.add('amount <= $?', minorUnits(filter.maxAmount, 'maxAmount'));
    if (filter.from !== undefined) where.add('created_at >= $?::timestamptz', isoDate(filter.from, 'from'));
    if (filter.to !== undefined) where.add('created_at < $?::timestamptz', isoDate(filter.to, 'to'));
    if (filter.cursor !== undefined) {
      const [createdKey, id] = decodeCursor(filter.cursor);
      where.add('(created_at, id) < ($?::timestamptz, $?)', createdKey, id);
    }
    const rows = await this.db.query<PaymentRow>(
      `${SELECT_PAYMENT} ${where.sql()} ORDER BY created_at DESC, id DESC LIMIT ${limit + 1}`,
      where.params,
    );
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      payments: await Promise.all(page.map((row) => this.toPayment(row))),
      ...(rows.length > limit && last ? { nextCursor: encodeCursor(last.created_key, last.view.id) } : {}),
    };
  }

  /**
   * Every payment created in [from, to), oldest first, each with its events: the input of
   * `formatExport`. Reads page by page, so an export of years holds one page in memory.
   */
  async *exportRows({ from, to }: { from?: string; to?: string } = {}): AsyncGenerator<ExportRow> {
    let after: [string, string] | undefined;
    for (;;) {
      const where = new Conditions();
      if (from !== undefined) where.add('created_at >= $?::timestamptz', isoDate(from, 'from'));
      if (to !== undefined) where.add('created_at < $?::timestamptz', isoDate(to, 'to'));
      if (after) where.add('(created_at, id) > ($?::timestamptz, $?)', ...after);
      const rows = await this.db.query<PaymentRow>(
        `${SELECT_PAYMENT} ${where.sql()} ORDER BY created_at, id LIMIT ${EXPORT_PAGE}`,
        where.params,
      );
      if (rows.length === 0) return;
      const events = await this.db.query(
        `SELECT payment_id, sequence, event_id, type, at, data FROM payment_events
         WHERE payment_id IN (SELECT jsonb_array_elements_text($1::jsonb))
         ORDER BY payment_id, sequence`,
        [JSON.stringify(rows.map((r) => r.view.id))],
      );
      const byPayment = new Map<string, DomainEvent[]>();
      for (const e of events.map(toEvent)) {
        byPayment.set(e.paymentId, [...(byPayment.get(e.paymentId) ?? []), e]);
      }
      for (const row of rows) {
        yield { payment: await this.toPayment(row), events: byPayment.get(row.view.id) ?? [] };
      }
      const last = rows[rows.length - 1]!;
      after = [last.created_key, last.view.id];
      if (rows.length < EXPORT_PAGE) return;
    }
  }

  /**
   * What can still be refunded: captured minus refunded minus reserved (0 when nothing). Throws
   * PAYMENT_NOT_FOUND for an unknown payment.
   */
  async refundableAmount(id: string): Promise<number> {
    const [payment] = await this.db.query(`SELECT captured, refunded FROM payments WHERE id = $1`, [id]);
    if (!payment) throw notFound(id);
    return refundable(payment, await refundSums(this.db, id));
  }

  /**
   * Reserves `amount` (minor units) of the payment's captured money for refund `refundId`, before the
   * gateway is asked. Atomic: the payment row is locked (SELECT … FOR UPDATE) while the remainder is
   * checked, so concurrent reservations never exceed the captured amount. Idempotent per refund ID: a
   * repeat with the same amount returns the existing reservation (or settled refund) and changes
   * nothing. Throws REFUND_EXCEEDS_CAPTURED (details.refundable), INVALID_STATE_TRANSITION when the
   * payment is not SUCCESS or PARTIALLY_REFUNDED, IDEMPOTENCY_CONFLICT when the refund ID was used for
   * another amount, PAYMENT_NOT_FOUND.
   */
  async reserveRefund(id: string, refundId: string, amount: number): Promise<RefundReservation> {
    checkRefundId(refundId);
    minorUnits(amount, 'amount', 1);
    return this.db.transaction(async (tx) => {
      const [payment] = await tx.query(
        `SELECT state, captured, refunded FROM payments WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!payment) throw notFound(id);
      const [existing] = await tx.query(
        `SELECT amount, status FROM payment_refunds WHERE payment_id = $1 AND refund_id = $2`,
        [id, refundId],
      );
      const left = refundable(payment, await refundSums(tx, id));
      if (existing) {
        if (Number(existing.amount) !== amount) throw refundIdReused(refundId);
        const status = existing.status as StoredRefundStatus;
        return { refundId, amount, status, created: false, refundable: left };
      }
      if (!REFUNDABLE_STATES.includes(String(payment.state))) {
        throw new AegisPayError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Payment ${id} is ${String(payment.state)}: only SUCCESS or PARTIALLY_REFUNDED payments can be refunded`,
        );
      }
      if (amount > left) {
        throw new AegisPayError(
          ErrorCode.REFUND_EXCEEDS_CAPTURED,
          `Refund of ${amount} exceeds what payment ${id} has left to refund (${left})`,
          { refundable: left, requested: amount },
        );
      }
      await tx.query(
        `INSERT INTO payment_refunds (payment_id, refund_id, amount, status, at)
         VALUES ($1, $2, $3, 'reserved', now())`,
        [id, refundId, amount],
      );
      return { refundId, amount, status: 'reserved', created: true, refundable: left - amount };
    });
  }

  /**
   * Records the gateway's answer for a reserved refund: the reservation becomes a succeeded or failed
   * refund, the payment's view gains it (amounts, refunds, state PARTIALLY_REFUNDED or REFUNDED) and
   * a REFUND_SUCCEEDED or REFUND_FAILED event is appended at the next version. Idempotent: settling
   * again the same way returns the payment unchanged. For payments whose workflow has closed: a running
   * workflow owns its view and its event numbers.
   */
  async settleRefund(id: string, refundId: string, outcome: RefundOutcome): Promise<Payment> {
    checkRefundId(refundId);
    if (outcome.status !== 'succeeded' && outcome.status !== 'failed') {
      throw new ValidationError(
        [{ path: 'status', message: 'must be succeeded or failed' }],
        'refund outcome',
      );
    }
    const at = isoDate(outcome.at ?? new Date().toISOString(), 'at');
    return this.db.transaction(async (tx) => {
      const [row] = await tx.query<PaymentRow>(`${SELECT_PAYMENT} WHERE id = $1 FOR UPDATE`, [id]);
      if (!row) throw notFound(id);
      const [refund] = await tx.query(
        `SELECT amount, status FROM payment_refunds WHERE payment_id = $1 AND refund_id = $2`,
        [id, refundId],
      );
      if (!refund) {
        throw new AegisPayError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `No refund ${refundId} is reserved on ${id}`,
        );
      }
      if (refund.status === outcome.status) return this.toPayment(row);
      if (refund.status !== 'reserved') {
        throw new AegisPayError(
          ErrorCode.INVALID_STATE_TRANSITION,
          `Refund ${refundId} of ${id} already ${String(refund.status)}`,
        );
      }
      const amount = Number(refund.amount);
      const view = structuredClone(row.view);
      const entry: Refund = { id: refundId, amount, status: outcome.status, at };
      if (outcome.reason !== undefined) entry.reason = outcome.reason;
      view.refunds = [...view.refunds, entry];
      if (outcome.status === 'succeeded') {
        view.amounts = { ...view.amounts, refunded: view.amounts.refunded + amount };
        view.state = view.amounts.refunded >= view.amounts.captured ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
      }
      view.version += 1;
      view.updatedAt = at;
      assertNoCardData('refund outcome', entry);
      await tx.query(
        `UPDATE payment_refunds SET status = $3, reason = $4, at = $5 WHERE payment_id = $1 AND refund_id = $2`,
        [id, refundId, outcome.status, outcome.reason ?? null, at],
      );
      await tx.query(
        `UPDATE payments SET state = $2, refunded = $3, version = $4, updated_at = $5, view = $6::jsonb
         WHERE id = $1`,
        [id, view.state, view.amounts.refunded, view.version, at, JSON.stringify(view)],
      );
      await insertEvents(tx, id, [
        {
          // Not the workflow's `<id>:<version>`, so a running workflow's event at this number conflicts.
          id: `${id}:${view.version}:store`,
          type: outcome.status === 'succeeded' ? 'REFUND_SUCCEEDED' : 'REFUND_FAILED',
          paymentId: id,
          sequence: view.version,
          at,
          data: { refundId, amount, ...(outcome.reason !== undefined ? { reason: outcome.reason } : {}) },
        },
      ]);
      return this.toPayment({ ...row, view });
    });
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  private async toPayment(row: PaymentRow): Promise<Payment> {
    const view = row.view;
    return { ...view, customer: await this.pii.open(view.customer, row.customer_pii) };
  }
}

/** `created_key` is created_at to the microsecond in UTC: the exact position a cursor records. */
const SELECT_PAYMENT = `SELECT view, customer_pii,
  to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS created_key FROM payments`;

/** WHERE clauses with numbered parameters (`$?` placeholders are numbered as they are added). */
class Conditions {
  readonly params: unknown[] = [];
  private readonly clauses: string[] = [];

  add(clause: string, ...values: unknown[]): void {
    let next = 0;
    this.clauses.push(clause.replace(/\$\?/g, () => `$${this.params.push(values[next++])}`));
  }

  sql(): string {
    return this.clauses.length ? `WHERE ${this.clauses.join(' AND ')}` : '';
  }
}

async function insertEvents(tx: Queryable, paymentId: string, events: readonly DomainEvent[]): Promise<void> {
  if (events.length === 0) return;
  const json = JSON.stringify(
    events.map(({ id, type, sequence, at, data }) => ({ id, type, sequence, at, data })),
  );
  const inserted = await tx.query(
    `INSERT INTO payment_events (payment_id, sequence, event_id, type, at, data)
     SELECT $1, e.sequence, e.id, e.type, e.at, e.data
     FROM jsonb_to_recordset($2::jsonb) AS e(sequence integer, id text, type text, at timestamptz, data jsonb)
     ON CONFLICT (payment_id, sequence) DO NOTHING
     RETURNING sequence`,
    [paymentId, json],
  );
  if (inserted.length === events.length) return;
  // Replays of stored events are expected; the same number holding another event is not.
  const [clash] = await tx.query(
    `SELECT s.sequence FROM payment_events s
     JOIN jsonb_to_recordset($2::jsonb) AS e(sequence integer, id text) ON e.sequence = s.sequence
     WHERE s.payment_id = $1 AND s.event_id <> e.id LIMIT 1`,
    [paymentId, json],
  );
  if (clash) {
    throw new AegisPayError(
      ErrorCode.IDEMPOTENCY_CONFLICT,
      `Event ${String(clash.sequence)} of ${paymentId} is already stored as another event: two writers for one payment`,
    );
  }
}

async function upsertAttempts(tx: Queryable, view: Payment): Promise<void> {
  if (view.attempts.length === 0) return;
  await tx.query(
    `INSERT INTO payment_attempts (payment_id, number, gateway, gateway_idempotency_key, outcome,
       gateway_reference, error_code, latency_ms, reconciliation_checks, at)
     SELECT $1, a.number, a.gateway, a."gatewayIdempotencyKey", a.outcome, a."gatewayReference", a."errorCode",
       round(a."latencyMs")::integer, a."reconciliationChecks", a.at
     FROM jsonb_to_recordset($2::jsonb) AS a(number integer, gateway text, "gatewayIdempotencyKey" text,
       outcome text, "gatewayReference" text, "errorCode" text, "latencyMs" double precision,
       "reconciliationChecks" integer, at timestamptz)
     ON CONFLICT (payment_id, number) DO UPDATE SET
       gateway = EXCLUDED.gateway, gateway_idempotency_key = EXCLUDED.gateway_idempotency_key,
       outcome = EXCLUDED.outcome, gateway_reference = EXCLUDED.gateway_reference,
       error_code = EXCLUDED.error_code, latency_ms = EXCLUDED.latency_ms,
       reconciliation_checks = EXCLUDED.reconciliation_checks, at = EXCLUDED.at`,
    [view.id, JSON.stringify(view.attempts)],
  );
}

/** The view's refunds; a succeeded refund stays succeeded (it may have been settled here first). */
async function upsertRefunds(tx: Queryable, paymentId: string, refunds: readonly Refund[]): Promise<void> {
  if (refunds.length === 0) return;
  await tx.query(
    `INSERT INTO payment_refunds (payment_id, refund_id, amount, status, reason, at)
     SELECT $1, r.id, r.amount, r.status, r.reason, r.at
     FROM jsonb_to_recordset($2::jsonb) AS r(id text, amount bigint, status text, reason text, at timestamptz)
     ON CONFLICT (payment_id, refund_id) DO UPDATE SET
       amount = EXCLUDED.amount, status = EXCLUDED.status, reason = EXCLUDED.reason, at = EXCLUDED.at
     WHERE payment_refunds.status <> 'succeeded'`,
    [paymentId, JSON.stringify(refunds)],
  );
}

async function currentVersion(tx: Queryable, id: string): Promise<number> {
  const [row] = await tx.query(`SELECT version FROM payments WHERE id = $1`, [id]);
  return Number(row!.version);
}

async function refundSums(db: Queryable, id: string): Promise<{ succeeded: number; reserved: number }> {
  const [sums] = await db.query(
    `SELECT COALESCE(SUM(amount) FILTER (WHERE status = 'succeeded'), 0) AS succeeded,
            COALESCE(SUM(amount) FILTER (WHERE status = 'reserved'), 0) AS reserved
     FROM payment_refunds WHERE payment_id = $1`,
    [id],
  );
  return { succeeded: Number(sums!.succeeded), reserved: Number(sums!.reserved) };
}

/** The view's refunded total and the succeeded rows can differ for a moment; the larger one counts. */
function refundable(payment: Row, sums: { succeeded: number; reserved: number }): number {
  const refunded = Math.max(Number(payment.refunded), sums.succeeded);
  return Math.max(0, Number(payment.captured) - refunded - sums.reserved);
}

function toEvent(row: Row): DomainEvent {
  return {
    id: String(row.event_id),
    type: row.type as DomainEvent['type'],
    paymentId: String(row.payment_id),
    sequence: Number(row.sequence),
    at: toIso(row.at),
    data: row.data as Record<string, unknown>,
  };
}

function toIso(value: unknown): string {
  return (value instanceof Date ? value : new Date(String(value))).toISOString();
}

function checkProjection(view: Payment, events: readonly DomainEvent[]): void {
  const issues: { path: string; message: string }[] = [];
  if (typeof view?.id !== 'string' || view.id.length === 0)
    issues.push({ path: 'id', message: 'is required' });
  if (!Number.isInteger(view?.version) || view.version < 0) {
    issues.push({ path: 'version', message: 'must be a whole number of events' });
  }
  events.forEach((e, i) => {
    if (e.paymentId !== view?.id)
      issues.push({ path: `events[${i}].paymentId`, message: 'is another payment' });
    if (!Number.isInteger(e.sequence) || e.sequence < 1 || e.sequence > view?.version) {
      issues.push({ path: `events[${i}].sequence`, message: 'must be between 1 and the view version' });
    }
  });
  if (issues.length) throw new ValidationError(issues, 'payment projection');
}

function checkRefundId(refundId: string): void {
  if (typeof refundId !== 'string' || !/^[A-Za-z0-9_:.-]{1,255}$/.test(refundId)) {
    throw new ValidationError(
      [{ path: 'refundId', message: 'must be 1-255 letters, digits, _, :, . or -' }],
      'refund',
    );
  }
}

function minorUnits(value: number, path: string, min = 0): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(
      [{ path, message: `must be a whole number of minor units, at least ${min}` }],
      'request',
    );
  }
  return value;
}

function isoDate(value: string, path: string): string {
  const time = typeof value === 'string' ? Date.parse(value) : NaN;
  if (Number.isNaN(time))
    throw new ValidationError([{ path, message: 'must be an ISO 8601 date' }], 'request');
  return new Date(time).toISOString();
}

function pageSize(limit: number | undefined): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) {
    throw new ValidationError([{ path: 'limit', message: `must be 1-${MAX_PAGE}` }], 'request');
  }
  return limit;
}

function encodeCursor(createdKey: string, id: string): string {
  return Buffer.from(JSON.stringify([createdKey, id])).toString('base64url');
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (
      Array.isArray(value) &&
      value.length === 2 &&
      typeof value[0] === 'string' &&
      !Number.isNaN(Date.parse(value[0])) &&
      typeof value[1] === 'string'
    ) {
      return [value[0], value[1]];
    }
  } catch {
    // reported below
  }
  throw new ValidationError([{ path: 'cursor', message: 'is not a cursor this store returned' }], 'request');
}

function notFound(id: string): AegisPayError {
  return new AegisPayError(ErrorCode.PAYMENT_NOT_FOUND, `Payment ${id} is not in the payment store`);
}

function refundIdReused(refundId: string): AegisPayError {
  return new AegisPayError(
    ErrorCode.IDEMPOTENCY_CONFLICT,
    `Refund ID ${refundId} was already used for another amount`,
  );
}
