/**
 * The payment store against every backend with the same suite: the embedded PGlite (always) and a real
 * PostgreSQL 15 (in CI always; locally when its binaries exist).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  containsCardNumber,
  formatExport,
  migratePaymentStore,
  openPaymentStore,
  serverRecordPath,
  type ExportRow,
  type PaymentStore,
  type StoreConfig,
} from '../../src/store';
import type { SqlExecutor } from '../../src/store/sql';
import { MIGRATIONS } from '../../src/store/schema';
import type { DomainEvent, DomainEventType, Payment, PaymentState } from '../../src/domain/types';
import { postgresBinariesPresent, startPostgres, type TestPostgres } from '../helpers/postgres';

const PAN = '4242424242424242';
const ENCRYPTION = {
  keys: { k1: randomBytes(32).toString('base64') },
  activeKeyId: 'k1',
};

/** A fresh, empty database of one backend, as store configs (several opens share it where the backend allows). */
interface Backend {
  name: string;
  /** Several stores may open the same database at once (false: PGlite in-process, one opener only). */
  multiOpen: boolean;
  fresh(): Promise<(extra?: Partial<StoreConfig>) => StoreConfig>;
  teardown(): Promise<void>;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'aegispay-store-'));
  tempDirs.push(dir);
  return dir;
}
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

const embeddedBackend: Backend = {
  name: 'PGlite (embedded)',
  multiOpen: true,
  async fresh() {
    const dataDir = join(tempDir(), 'store');
    return (extra = {}) => ({ kind: 'embedded', dataDir, ...extra }) as StoreConfig;
  },
  async teardown() {},
};

let server: TestPostgres | undefined;
let databases = 0;
const postgresBackend: Backend = {
  name: 'PostgreSQL 15',
  multiOpen: true,
  async fresh() {
    server ??= await startPostgres();
    const url = await server.createDatabase(`store_${++databases}`);
    return (extra = {}) => ({ kind: 'postgres', connectionString: url, max: 30, ...extra }) as StoreConfig;
  },
  async teardown() {
    await server?.stop();
  },
};

const havePostgres = postgresBinariesPresent();
if (!havePostgres && process.env.CI) {
  throw new Error(
    'CI must run the PostgreSQL suite: PostgreSQL 15 binaries are missing (apt-get install postgresql)',
  );
}
if (!havePostgres) {
  console.warn(
    'Skipping the PostgreSQL payment store suite: no PostgreSQL binaries in /usr/lib/postgresql/15/bin',
  );
}

const backends: Backend[] = [embeddedBackend, postgresBackend];

function sqlOf(store: PaymentStore): SqlExecutor {
  return (store as unknown as { db: SqlExecutor }).db;
}

let counter = 0;
function uniqueKey(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${(++counter).toString(36)}-${randomBytes(3).toString('hex')}`;
}

/** A payment view at version 1 (PAYMENT_INITIATED), tokenized card, customer with personal data. */
function newPayment(
  over: { key?: string; customerId?: string; amount?: number; createdAt?: string } = {},
): Payment {
  const key = over.key ?? uniqueKey('pay');
  const createdAt = over.createdAt ?? new Date().toISOString();
  return {
    id: `payment:${key}`,
    idempotencyKey: key,
    state: 'INITIATED',
    amount: { amount: over.amount ?? 1000, currency: 'USD' },
    customer: {
      id: over.customerId ?? 'cust-1',
      email: 'ada@example.com',
      name: 'Ada Lovelace',
      phone: '+44 20 7946 0958',
      country: 'GB',
    },
    paymentMethod: {
      type: 'CARD',
      card: { token: 'tok_visa', brand: 'visa', last4: '4242', expiryMonth: 12, expiryYear: 2030 },
    },
    metadata: { order: 'A-1' },
    captureMethod: 'automatic',
    attempts: [],
    amounts: { authorized: 0, captured: 0, refunded: 0 },
    refunds: [],
    fingerprint: 'fp',
    createdAt,
    updatedAt: createdAt,
    version: 1,
  };
}

function event(p: Payment, type: DomainEventType, data: Record<string, unknown> = {}): DomainEvent {
  return { id: `${p.id}:${p.version}`, type, paymentId: p.id, sequence: p.version, at: p.updatedAt, data };
}

/** The views and events of a payment that goes INITIATED → … → SUCCESS (captured) in five versions. */
function lifecycle(p0: Payment = newPayment()): { views: Payment[]; events: DomainEvent[] } {
  const views: Payment[] = [p0];
  const events: DomainEvent[] = [event(p0, 'PAYMENT_INITIATED')];
  const step = (type: DomainEventType, patch: (p: Payment) => void) => {
    const p = structuredClone(views[views.length - 1]!);
    patch(p);
    p.version += 1;
    p.updatedAt = new Date(Date.parse(p0.createdAt) + p.version * 1000).toISOString();
    views.push(p);
    events.push(event(p, type, { step: p.version }));
  };
  step('PAYMENT_ROUTED', (p) => (p.gateway = 'STRIPE'));
  step('PAYMENT_PROCESSING', (p) => {
    p.state = 'PROCESSING';
    p.attempts = [
      {
        number: 1,
        gateway: 'STRIPE',
        gatewayIdempotencyKey: `${p.id}:charge:1`,
        outcome: 'unknown',
        latencyMs: 12.5,
        at: p.createdAt,
      },
    ];
  });
  step('PAYMENT_AUTHORIZED', (p) => {
    p.state = 'AUTHORIZED';
    p.attempts = [{ ...p.attempts[0]!, outcome: 'succeeded', gatewayReference: 'pi_123' }];
    p.amounts = { ...p.amounts, authorized: p.amount.amount };
  });
  step('PAYMENT_SUCCEEDED', (p) => {
    p.state = 'SUCCESS';
    p.gatewayReference = 'pi_123';
    p.amounts = { ...p.amounts, captured: p.amount.amount };
  });
  return { views, events };
}

/** A payment projected straight to SUCCESS with `captured` captured. */
async function capturedPayment(store: PaymentStore, amount: number): Promise<Payment> {
  const { views, events } = lifecycle(newPayment({ amount }));
  await store.project(views[4]!, events);
  return views[4]!;
}

async function rejection(
  promise: Promise<unknown>,
): Promise<{ code?: string; message: string; details?: unknown }> {
  try {
    await promise;
  } catch (err) {
    return err as { code?: string; message: string };
  }
  throw new Error('expected a rejection');
}

describe.each(backends)('payment store on $name', (backend) => {
  const run = backend === postgresBackend && !havePostgres ? describe.skip : describe;

  run('suite', () => {
    let config: (extra?: Partial<StoreConfig>) => StoreConfig;
    let store: PaymentStore;

    beforeAll(async () => {
      config = await backend.fresh();
      store = await openPaymentStore(config());
    }, 60_000);

    afterAll(async () => {
      await store?.close();
      if (backend === postgresBackend) await backend.teardown();
    });

    test('migrations run twice and concurrently, each applied once', async () => {
      expect(await store.migrate()).toEqual([]);
      const fresh = await backend.fresh();
      if (backend.multiOpen) {
        const applied = await Promise.all(Array.from({ length: 4 }, () => migratePaymentStore(fresh())));
        expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version));
        const stores = await Promise.all(Array.from({ length: 3 }, () => openPaymentStore(fresh())));
        const rows = await sqlOf(stores[0]!).query('SELECT version FROM aegispay_schema_migrations');
        expect(rows.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version));
        await Promise.all(stores.map((s) => s.close()));
      } else {
        const other = await openPaymentStore(fresh({ migrate: false }));
        const applied = await Promise.all(Array.from({ length: 4 }, () => other.migrate()));
        expect(applied.flat()).toEqual(MIGRATIONS.map((m) => m.version));
        expect(await other.migrate()).toEqual([]);
        await other.close();
      }
    });

    test('projection is idempotent under retries and out-of-order versions', async () => {
      const { views, events } = lifecycle();
      const id = views[0]!.id;
      // Each projection carries only the events of its own version, delivered out of order and twice.
      const order = [2, 0, 4, 1, 4, 3, 0, 2];
      const stored: number[] = [];
      for (const i of order) stored.push(await store.project(views[i]!, [events[i]!]));
      expect(stored).toEqual([3, 3, 5, 5, 5, 5, 5, 5]);
      const payment = await store.getPayment(id);
      expect(payment).toEqual(views[4]);
      expect(await store.getEvents(id)).toEqual(events);
      // Replaying everything, or an old view with its events, changes nothing.
      expect(await store.project(views[4]!, events)).toBe(5);
      expect(await store.project(views[1]!, events.slice(0, 2))).toBe(5);
      expect(await store.getPayment(id)).toEqual(views[4]);
      const attempts = await sqlOf(store).query(
        'SELECT outcome FROM payment_attempts WHERE payment_id = $1',
        [id],
      );
      expect(attempts).toEqual([{ outcome: 'succeeded' }]);
      expect(await store.getPaymentByIdempotencyKey(views[0]!.idempotencyKey)).toEqual(views[4]);
    });

    test('merchant-scoped payments are found by key and scope', async () => {
      const key = uniqueKey('scoped');
      const p = { ...newPayment({ key }), id: `payment:shop_1:${key}` };
      await store.project(p, [event(p, 'PAYMENT_INITIATED')]);
      expect((await store.getPaymentByIdempotencyKey(key, 'shop_1'))?.id).toBe(p.id);
      expect(await store.getPaymentByIdempotencyKey(key)).toBeUndefined();
      expect(await store.getPaymentByIdempotencyKey('not a key!')).toBeUndefined();
    });

    test('concurrent projections of many payments keep the newest view and every event once', async () => {
      const runs = Array.from({ length: 8 }, () => lifecycle());
      const calls = runs.flatMap(({ views, events }) =>
        views.flatMap((v, i) => [
          () => store.project(v, events.slice(0, i + 1)),
          () => store.project(v, [events[i]!]),
        ]),
      );
      // Shuffled, all at once.
      calls.sort(() => Math.random() - 0.5);
      await Promise.all(calls.map((call) => call()));
      for (const { views, events } of runs) {
        expect(await store.getPayment(views[0]!.id)).toEqual(views[4]);
        expect(await store.getEvents(views[0]!.id)).toEqual(events);
      }
    });

    test('another event under a stored event number is refused', async () => {
      const { views, events } = lifecycle();
      await store.project(views[1]!, events.slice(0, 2));
      const other = { ...events[1]!, id: `${views[0]!.id}:2:elsewhere` };
      const err = await rejection(store.project(views[2]!, [other, events[2]!]));
      expect(err.code).toBe('IDEMPOTENCY_CONFLICT');
      // The failed projection left nothing behind.
      expect((await store.getPayment(views[0]!.id))?.version).toBe(2);
      expect(await store.getEvents(views[0]!.id)).toEqual(events.slice(0, 2));
    });

    test('20 concurrent reservations never reserve more than was captured', async () => {
      const p = await capturedPayment(store, 1000);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => store.reserveRefund(p.id, `r-${i}`, 100)),
      );
      const reserved = results.filter((r) => r.status === 'fulfilled');
      const refused = results.filter((r) => r.status === 'rejected');
      expect(reserved).toHaveLength(10);
      expect(refused.map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
        Array(10).fill('REFUND_EXCEEDS_CAPTURED'),
      );
      expect(await store.refundableAmount(p.id)).toBe(0);
      const sum = await sqlOf(store).query(
        `SELECT SUM(amount) AS total FROM payment_refunds WHERE payment_id = $1 AND status = 'reserved'`,
        [p.id],
      );
      expect(Number(sum[0]!.total)).toBe(1000);
    });

    test('reservations are idempotent per refund ID and settle into the view and the events', async () => {
      const p = await capturedPayment(store, 1000);
      const first = await store.reserveRefund(p.id, 'r-a', 300);
      expect(first).toEqual({
        refundId: 'r-a',
        amount: 300,
        status: 'reserved',
        created: true,
        refundable: 700,
      });
      expect(await store.reserveRefund(p.id, 'r-a', 300)).toMatchObject({ created: false, refundable: 700 });
      expect((await rejection(store.reserveRefund(p.id, 'r-a', 200))).code).toBe('IDEMPOTENCY_CONFLICT');
      await store.reserveRefund(p.id, 'r-b', 700);
      expect((await rejection(store.reserveRefund(p.id, 'r-c', 1))).code).toBe('REFUND_EXCEEDS_CAPTURED');

      const afterA = await store.settleRefund(p.id, 'r-a', { status: 'succeeded' });
      expect(afterA).toMatchObject({ state: 'PARTIALLY_REFUNDED', version: 6, amounts: { refunded: 300 } });
      expect(await store.settleRefund(p.id, 'r-a', { status: 'succeeded' })).toEqual(afterA);
      expect(await store.refundableAmount(p.id)).toBe(0);

      await store.settleRefund(p.id, 'r-b', { status: 'failed', reason: 'gateway declined' });
      expect(await store.refundableAmount(p.id)).toBe(700);
      expect((await rejection(store.settleRefund(p.id, 'r-b', { status: 'succeeded' }))).code).toBe(
        'INVALID_STATE_TRANSITION',
      );
      await store.reserveRefund(p.id, 'r-d', 700);
      const done = await store.settleRefund(p.id, 'r-d', { status: 'succeeded' });
      expect(done).toMatchObject({ state: 'REFUNDED', version: 8, amounts: { refunded: 1000 } });
      expect(done.refunds.map((r) => [r.id, r.status])).toEqual([
        ['r-a', 'succeeded'],
        ['r-b', 'failed'],
        ['r-d', 'succeeded'],
      ]);
      expect(done.customer.email).toBe('ada@example.com');
      const events = await store.getEvents(p.id);
      expect(events.map((e) => [e.sequence, e.type])).toEqual([
        [1, 'PAYMENT_INITIATED'],
        [2, 'PAYMENT_ROUTED'],
        [3, 'PAYMENT_PROCESSING'],
        [4, 'PAYMENT_AUTHORIZED'],
        [5, 'PAYMENT_SUCCEEDED'],
        [6, 'REFUND_SUCCEEDED'],
        [7, 'REFUND_FAILED'],
        [8, 'REFUND_SUCCEEDED'],
      ]);
      expect((await rejection(store.reserveRefund(p.id, 'r-e', 1))).code).toBe('INVALID_STATE_TRANSITION');
      expect((await rejection(store.refundableAmount('payment:nope'))).code).toBe('PAYMENT_NOT_FOUND');
    });

    test('a refund the workflow reports for a reserved ID is counted once', async () => {
      const p = await capturedPayment(store, 1000);
      await store.reserveRefund(p.id, 'wf-1', 400);
      const view: Payment = {
        ...structuredClone(p),
        state: 'PARTIALLY_REFUNDED',
        version: 6,
        amounts: { ...p.amounts, refunded: 400 },
        refunds: [{ id: 'wf-1', amount: 400, status: 'succeeded', at: p.updatedAt }],
      };
      await store.project(view, [event(view, 'REFUND_SUCCEEDED', { refundId: 'wf-1', amount: 400 })]);
      expect(await store.refundableAmount(p.id)).toBe(600);
    });

    test('keyset pages never skip or repeat while payments are inserted', async () => {
      const customerId = uniqueKey('pager');
      const base = Date.parse('2031-03-01T00:00:00.000Z');
      // Several payments share a creation time: the ID breaks the tie.
      const originals = Array.from({ length: 25 }, (_, i) =>
        newPayment({ customerId, createdAt: new Date(base + Math.floor(i / 3) * 1000).toISOString() }),
      );
      await Promise.all(originals.map((p) => store.project(p, [event(p, 'PAYMENT_INITIATED')])));
      const seen: Payment[] = [];
      let cursor: string | undefined;
      let inserted = 0;
      do {
        const page = await store.listPayments({ customerId, limit: 7, ...(cursor ? { cursor } : {}) });
        seen.push(...page.payments);
        cursor = page.nextCursor;
        // Newer payments and ties with the newest page arrive meanwhile.
        const late = [
          newPayment({ customerId, createdAt: new Date(base + 60_000 + inserted).toISOString() }),
          newPayment({ customerId, createdAt: originals[24]!.createdAt }),
        ];
        inserted += 1;
        await Promise.all(late.map((p) => store.project(p, [event(p, 'PAYMENT_INITIATED')])));
      } while (cursor);
      const ids = seen.map((p) => p.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of originals) expect(ids).toContain(p.id);
      const keys = seen.map((p) => [p.createdAt, p.id] as const);
      for (let i = 1; i < keys.length; i++) {
        const [prev, cur] = [keys[i - 1]!, keys[i]!];
        expect(prev[0] > cur[0] || (prev[0] === cur[0] && prev[1] > cur[1])).toBe(true);
      }
      expect((await rejection(store.listPayments({ cursor: 'junk' }))).code).toBe('VALIDATION_ERROR');
    });

    test('list filters: state, customer, gateway, amount range, creation range', async () => {
      const customerId = uniqueKey('filter');
      const day = (d: number) => new Date(Date.parse('2032-01-01T00:00:00Z') + d * 86_400_000).toISOString();
      const a = lifecycle(newPayment({ customerId, amount: 500, createdAt: day(0) })).views[4]!; // SUCCESS STRIPE
      const b = {
        ...newPayment({ customerId, amount: 1500, createdAt: day(1) }),
        gateway: 'PAYPAL' as const,
      };
      const c = {
        ...newPayment({ customerId, amount: 2500, createdAt: day(2) }),
        state: 'FAILURE' as PaymentState,
      };
      const other = newPayment({ customerId: `${customerId}-x`, amount: 1500, createdAt: day(1) });
      for (const p of [a, b, c, other]) await store.project(p);
      const ids = async (f: Parameters<PaymentStore['listPayments']>[0]) =>
        (await store.listPayments({ customerId, ...f })).payments.map((p) => p.id);
      expect(await ids({})).toEqual([c.id, b.id, a.id]);
      expect(await ids({ state: 'SUCCESS' })).toEqual([a.id]);
      expect(await ids({ state: 'FAILURE' })).toEqual([c.id]);
      expect(await ids({ gatewayType: 'PAYPAL' })).toEqual([b.id]);
      expect(await ids({ minAmount: 1000 })).toEqual([c.id, b.id]);
      expect(await ids({ maxAmount: 1500 })).toEqual([b.id, a.id]);
      expect(await ids({ minAmount: 1500, maxAmount: 1500 })).toEqual([b.id]);
      expect(await ids({ from: day(1), to: day(2) })).toEqual([b.id]);
      expect(await ids({ from: day(1) })).toEqual([c.id, b.id]);
      const page = await store.listPayments({ customerId, limit: 2 });
      expect(page.payments).toHaveLength(2);
      expect(page.nextCursor).toBeDefined();
      expect((await store.listPayments({ customerId, limit: 3 })).nextCursor).toBeUndefined();
    });

    test('export yields payments with their events, as CSV and JSON lines', async () => {
      const from = '2033-05-01T00:00:00.000Z';
      const runs = Array.from({ length: 3 }, (_, i) =>
        lifecycle(newPayment({ createdAt: new Date(Date.parse(from) + i * 1000).toISOString() })),
      );
      for (const { views, events } of runs) await store.project(views[4]!, events);
      const rows: ExportRow[] = [];
      for await (const row of store.exportRows({ from, to: '2033-05-02T00:00:00.000Z' })) rows.push(row);
      expect(rows.map((r) => r.payment.id)).toEqual(runs.map((r) => r.views[0]!.id));
      expect(rows[0]!.events).toEqual(runs[0]!.events);

      const csv = formatExport(rows, 'csv').trimEnd().split('\n');
      expect(csv[0]).toBe(
        'id,idempotency_key,state,amount,currency,customer_id,gateway,gateway_reference,authorized,captured,refunded,attempts,refunds,events,failure_code,created_at,updated_at,version',
      );
      expect(csv).toHaveLength(4);
      expect(csv[1]).toContain(`${rows[0]!.payment.id},`);
      expect(csv[1]).toContain(',SUCCESS,1000,USD,cust-1,STRIPE,pi_123,1000,1000,0,1,0,5,,');
      const jsonl = formatExport(rows, 'jsonl').trimEnd().split('\n');
      expect(jsonl.map((line) => JSON.parse(line) as ExportRow)).toEqual(rows);
      // Spreadsheet formulas and quotes are neutralized.
      const hostile = structuredClone(rows[0]!);
      hostile.payment.customer.id = '=HYPERLINK("x")';
      expect(formatExport([hostile], 'csv', { header: false })).toContain(`,"'=HYPERLINK(""x"")",`);
    });

    test('no card number is stored anywhere; card data is refused without being echoed', async () => {
      const withPan = newPayment();
      withPan.metadata = { note: `card ${PAN.replace(/(\d{4})/g, '$1 ')}` };
      const err = await rejection(store.project(withPan));
      expect(err.code).toBe('VALIDATION_ERROR');
      expect(err.message).toContain('metadata.note');
      expect(err.message).not.toContain('4242 4242');
      const asToken = newPayment();
      if (asToken.paymentMethod.type === 'CARD') asToken.paymentMethod.card.token = PAN;
      expect((await rejection(store.project(asToken))).code).toBe('VALIDATION_ERROR');
      const cvv = newPayment();
      expect(
        (await rejection(store.project(cvv, [event(cvv, 'PAYMENT_INITIATED', { cvv: '123' })]))).code,
      ).toBe('VALIDATION_ERROR');
      expect(await store.getPayment(withPan.id)).toBeUndefined();

      // Scan every column of every table as text.
      const db = sqlOf(store);
      const tables = [
        'payments',
        'payment_events',
        'payment_attempts',
        'payment_refunds',
        'aegispay_schema_migrations',
      ];
      let cells = 0;
      for (const table of tables) {
        for (const row of await db.query(`SELECT t::text AS row FROM ${table} t`)) {
          cells += 1;
          expect(String(row.row)).not.toContain(PAN);
          expect(containsCardNumber(String(row.row).replace(/\+44 20 7946 0958/g, ''))).toBe(false);
        }
      }
      expect(cells).toBeGreaterThan(50);
    });

    test('customer email, name and phone are encrypted at rest with encryption keys', async () => {
      const plainView = await capturedPayment(store, 100);
      const [plainRow] = await sqlOf(store).query(
        'SELECT view::text AS v, customer_pii::text AS pii FROM payments WHERE id = $1',
        [plainView.id],
      );
      expect(plainRow!.v).not.toContain('ada@example.com');
      expect(plainRow!.pii).toContain('ada@example.com');

      const encConfig = backend.multiOpen
        ? config({ encryption: ENCRYPTION })
        : (await backend.fresh())({ encryption: ENCRYPTION });
      const encrypted = await openPaymentStore(encConfig);
      try {
        const p = newPayment({ customerId: uniqueKey('enc') });
        await encrypted.project(p, [event(p, 'PAYMENT_INITIATED')]);
        expect((await encrypted.getPayment(p.id))?.customer).toEqual(p.customer);
        expect(
          (await encrypted.listPayments({ customerId: p.customer.id })).payments.map((x) => x.id),
        ).toEqual([p.id]);
        const [row] = await sqlOf(encrypted).query(
          'SELECT t::text AS row, customer_id, customer_pii FROM payments t WHERE id = $1',
          [p.id],
        );
        for (const secret of ['ada@example.com', 'Ada Lovelace', '7946'])
          expect(row!.row).not.toContain(secret);
        expect(row!.customer_id).toBe(p.customer.id);
        const metadata = (row!.customer_pii as { metadata: Record<string, string> }).metadata;
        expect(Buffer.from(metadata['encryption-key-id']!, 'base64').toString()).toBe('k1');
        if (backend.multiOpen) {
          // Without the keys the personal data cannot be read, and the store says why.
          expect((await rejection(store.getPayment(p.id))).code).toBe('ENCRYPTION_REQUIRED');
          // With the keys, rows written before encryption still read.
          expect((await encrypted.getPayment(plainView.id))?.customer.email).toBe('ada@example.com');
        }
      } finally {
        await encrypted.close();
      }
    });

    test('project() timing, median of 200', async () => {
      const times: number[] = [];
      for (let i = 0; i < 200; i++) {
        const { views, events } = lifecycle();
        const v = views[i % 5]!;
        const started = performance.now();
        await store.project(v, events.slice(0, (i % 5) + 1));
        times.push(performance.now() - started);
      }
      times.sort((x, y) => x - y);
      const median = (times[99]! + times[100]!) / 2;
      console.log(
        `${backend.name}: project() median ${median.toFixed(2)} ms, p95 ${times[189]!.toFixed(2)} ms`,
      );
      expect(median).toBeLessThan(250);
    }, 120_000);
  });
});

describe('shared embedded store between processes', () => {
  test('a stale server record (dead process) is taken over', async () => {
    const dataDir = join(tempDir(), 'store');
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const deadPid = Number(dead.stdout.toString());
    writeFileSync(
      serverRecordPath(dataDir),
      JSON.stringify({ pid: deadPid, host: '127.0.0.1', port: 1, startedAt: new Date().toISOString() }),
    );
    const store = await openPaymentStore({ kind: 'embedded', dataDir });
    try {
      const p = newPayment();
      await store.project(p);
      expect((await store.getPayment(p.id))?.id).toBe(p.id);
    } finally {
      await store.close();
    }
  });

  test('when the serving store closes, the others elect a new server and carry on', async () => {
    const dataDir = join(tempDir(), 'store');
    const first = await openPaymentStore({ kind: 'embedded', dataDir });
    const second = await openPaymentStore({ kind: 'embedded', dataDir });
    const p = newPayment();
    await second.project(p);
    expect((await first.getPayment(p.id))?.id).toBe(p.id);
    await first.close();
    // The next call finds the server gone, serves the directory itself and retries.
    expect((await second.getPayment(p.id))?.id).toBe(p.id);
    const third = await openPaymentStore({ kind: 'embedded', dataDir });
    expect((await third.getPayment(p.id))?.id).toBe(p.id);
    await third.close();
    await second.close();
  });
});
