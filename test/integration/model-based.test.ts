/**
 * Model-based test: fast-check drives random command sequences against the real payment workflow (dev
 * server + in-process worker with a MOCK gateway) and compares, after every step, the payment view and
 * the gateway's ledger with a small model of the rules. A failing sequence is shrunk and printed with
 * each command's toString(), ready to be pasted into a regular test.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import fc from 'fast-check';
import { MockGateway } from '../../src/activities/gateways/mock';
import type { AegisPay } from '../../src/client/aegis-pay';
import { paymentWorkflowId } from '../../src/domain/ids';
import { cancelSignal, refundSignal } from '../../src/domain/messages';
import type { CreatePaymentRequest, Payment, PaymentState } from '../../src/domain/types';
import {
  cardPayment,
  rawClient,
  useTestServer,
  startTestWorker,
  testClient,
  TEST_CARDS,
  type RunningWorker,
} from '../helpers';

const testServer = useTestServer();
let raw: Client;
beforeAll(async () => {
  raw = await rawClient(testServer.server);
});
afterAll(async () => {
  await raw?.connection.close();
});

// ---------------------------------------------------------------------------------------------
// The model

/** What a generated payment is: amount in whole major units, capture method, and whether its card declines. */
interface Template {
  amount: number;
  manual: boolean;
  declined: boolean;
}

interface ModelPayment extends Template {
  id: string;
  request: CreatePaymentRequest;
  state: PaymentState | 'NONE';
  /** Whether a charge was attempted (a payment cancelled before that can never be processed). */
  processed: boolean;
  /** Minor units. */
  authorized: number;
  captured: number;
  refunded: number;
  refunds: number;
  refundIds: Set<string>;
  voided: boolean;
}

interface Model {
  payments: ModelPayment[];
}

interface Real {
  aegis: AegisPay;
  gateway: MockGateway;
  taskQueue: string;
  worker: RunningWorker;
}

/** What the model says a call returns: the payment (its state is compared) or an error code. */
type Expected = { ok: true } | { error: string };
const OK: Expected = { ok: true };
const failWith = (error: string): Expected => ({ error });

const TERMINAL = new Set(['FAILURE', 'CANCELLED', 'REFUNDED']);
const REFUNDABLE = new Set(['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED']);

function modelProcess(p: ModelPayment): Expected {
  if (p.state === 'NONE') return failWith('PAYMENT_NOT_FOUND');
  if (p.state === 'CANCELLED' && !p.processed) return failWith('INVALID_STATE_TRANSITION');
  if (p.state !== 'INITIATED') return OK;
  p.processed = true;
  const minor = p.amount * 100;
  if (p.declined) p.state = 'FAILURE';
  else if (p.manual) Object.assign(p, { state: 'AUTHORIZED', authorized: minor });
  else Object.assign(p, { state: 'SUCCESS', authorized: minor, captured: minor });
  return OK;
}

function modelCapture(p: ModelPayment, kind: CaptureKind): Expected {
  if (p.state === 'NONE') return failWith('PAYMENT_NOT_FOUND');
  if (p.state !== 'AUTHORIZED') return failWith('INVALID_STATE_TRANSITION');
  const minor = captureMinor(p, kind);
  if (minor > p.authorized) return failWith('VALIDATION_ERROR');
  Object.assign(p, { state: 'SUCCESS', captured: minor });
  return OK;
}

function modelCancel(p: ModelPayment): Expected {
  if (p.state === 'NONE') return failWith('PAYMENT_NOT_FOUND');
  // A repeated cancel is answered with the cancelled payment: the same operation, never an error.
  if (p.state === 'CANCELLED') return OK;
  if (p.state !== 'INITIATED' && p.state !== 'AUTHORIZED') return failWith('INVALID_STATE_TRANSITION');
  p.voided = p.state === 'AUTHORIZED';
  p.state = 'CANCELLED';
  return OK;
}

/** The refund rules in their order: a known refundId first, then the state, then the amount. */
function modelRefund(p: ModelPayment, amount: RefundAmount, refundId?: string): Expected {
  if (p.state === 'NONE') return failWith('PAYMENT_NOT_FOUND');
  if (refundId !== undefined && p.refundIds.has(refundId)) return OK;
  if (!REFUNDABLE.has(p.state)) return failWith('INVALID_STATE_TRANSITION');
  const available = p.captured - p.refunded;
  const minor = refundMinor(p, amount);
  if (minor > available || minor <= 0) return failWith('REFUND_EXCEEDS_CAPTURED');
  p.refunded += minor;
  p.refunds += 1;
  if (refundId !== undefined) p.refundIds.add(refundId);
  p.state = p.refunded >= p.captured ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
  return OK;
}

type CaptureKind = 'full' | 'partial' | 'over';
type RefundAmount = 'all' | 'over' | 1 | 2.5;
type Via = 'update' | 'signal';

function captureMinor(p: ModelPayment, kind: CaptureKind): number {
  if (kind === 'full') return p.authorized;
  return kind === 'partial' ? Math.max(1, Math.floor(p.amount / 2)) * 100 : p.authorized + 100;
}

function refundMinor(p: ModelPayment, amount: RefundAmount): number {
  const available = p.captured - p.refunded;
  return amount === 'all' ? available : amount === 'over' ? available + 100 : Math.round(amount * 100);
}

/** The major-unit amount a caller sends, or none ("everything"). */
const major = (minor: number | undefined) => (minor === undefined ? undefined : minor / 100);

// ---------------------------------------------------------------------------------------------
// Comparing model and reality

const CALL_TIMEOUT_MS = 30_000;

/** Fails a hung call instead of hanging the whole property. */
function timed<T>(what: string, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: no answer in ${CALL_TIMEOUT_MS} ms`)),
      CALL_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs a call and checks its outcome against the model's: the same error code, or a payment in the model's state. */
async function expectOutcome(
  what: string,
  call: () => Promise<Payment>,
  expected: Expected,
  p: ModelPayment,
): Promise<void> {
  const outcome = await timed(what, call()).then(
    (payment) => ({ payment }),
    (err: { code?: string; message?: string }) => ({ error: err.code ?? `uncoded: ${err.message}` }),
  );
  if ('error' in expected) {
    expect({
      what,
      outcome: 'error' in outcome ? outcome.error : `payment in ${outcome.payment.state}`,
    }).toEqual({
      what,
      outcome: expected.error,
    });
  } else {
    expect({
      what,
      outcome: 'payment' in outcome ? [outcome.payment.id, outcome.payment.state] : outcome.error,
    }).toEqual({
      what,
      outcome: [p.id, p.state],
    });
  }
}

async function waitUntil<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + CALL_TIMEOUT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${CALL_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Compares every payment's view, workflow status and ledger entries with the model. */
async function compare(model: Model, real: Real): Promise<void> {
  for (const [index, p] of model.payments.entries()) {
    const ledger = (kind: 'charge' | 'capture' | 'void' | 'refund') =>
      real.gateway.operations(kind).filter((e) => e.paymentId === p.id);
    const sum = (kind: 'capture' | 'refund') => ledger(kind).reduce((s, e) => s + e.amount.amount, 0);
    const actual = {
      payment: `p${index}`,
      view: undefined as unknown,
      ledger: {
        charges: ledger('charge').length,
        captured: sum('capture'),
        voids: ledger('void').length,
        refunded: sum('refund'),
      },
    };
    if (p.state !== 'NONE') {
      const view = await timed('getPayment', real.aegis.getPayment(p.id));
      actual.view = {
        state: view.state,
        amounts: view.amounts,
        refunds: view.refunds.filter((r) => r.status === 'succeeded').length,
      };
    }
    const charged = p.processed && !p.declined;
    expect(actual).toEqual({
      payment: `p${index}`,
      view:
        p.state === 'NONE'
          ? undefined
          : {
              state: p.state,
              amounts: { authorized: p.authorized, captured: p.captured, refunded: p.refunded },
              refunds: p.refunds,
            },
      ledger: {
        charges: charged ? 1 : 0,
        captured: p.manual && p.captured > 0 ? p.captured : 0,
        voids: p.voided ? 1 : 0,
        refunded: p.refunded,
      },
    });
    // A payment in a terminal state completes its workflow (its handlers finish first).
    if (p.state !== 'NONE' && TERMINAL.has(p.state)) {
      await waitUntil(
        `p${index} workflow closes`,
        () => raw.workflow.getHandle(p.id).describe(),
        (d) => d.status.name !== 'RUNNING',
      );
    }
  }
}

/**
 * Sends a signal and waits until the workflow has handled it: its version moves (a state change or a
 * REQUEST_REJECTED event). A closed workflow refuses signals; the model then must say it is terminal.
 */
async function signal(
  real: Real,
  p: ModelPayment,
  send: () => Promise<void>,
  expected: Expected,
  wasState: PaymentState | 'NONE',
  changed: boolean,
): Promise<void> {
  const before = wasState === 'NONE' ? undefined : await timed('getPayment', real.aegis.getPayment(p.id));
  const sent = await send().then(
    () => true,
    (err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    },
  );
  if (!sent) {
    expect({ signal: 'refused: no running workflow', modelState: wasState, closed: true }).toEqual({
      signal: 'refused: no running workflow',
      modelState: wasState,
      closed: wasState === 'NONE' || TERMINAL.has(wasState),
    });
    return;
  }
  expect({ signal: 'accepted', modelState: wasState, running: true }).toEqual({
    signal: 'accepted',
    modelState: wasState,
    running: wasState !== 'NONE' && !TERMINAL.has(wasState),
  });
  if (!changed) {
    // A repeated refundId changes nothing: an update queued behind the signal shows it was handled.
    await timed('process (barrier)', real.aegis.processPayment({ paymentId: p.id }));
    return;
  }
  await waitUntil(
    'signal handled',
    () => real.aegis.getPayment(p.id),
    (v) => v.version > before!.version,
  );
  if ('error' in expected) {
    const events = await timed('events', real.aegis.getPaymentEvents(p.id));
    expect(events.at(-1)).toMatchObject({ type: 'REQUEST_REJECTED', data: { code: expected.error } });
  }
}

/** The fields a command can change, to tell a no-op from a change. */
const snapshot = (p: ModelPayment) => JSON.stringify([p.state, p.captured, p.refunded, p.voided]);

// ---------------------------------------------------------------------------------------------
// The commands

type Command = fc.AsyncCommand<Model, Real>;

/** Follow-up commands need a payment: on a missing one they could only ever say PAYMENT_NOT_FOUND (process covers that). */
const exists = (m: Readonly<Model>, i: number) => m.payments[i]!.state !== 'NONE';

class Create implements Command {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    if (p.state === 'NONE') p.state = 'INITIATED';
    await expectOutcome(this.toString(), () => r.aegis.createPayment(p.request), OK, p);
    await compare(m, r);
  }
  toString = () => `create(p${this.i})`;
}

class Pay implements Command {
  constructor(
    readonly i: number,
    readonly copies: number,
  ) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    if (p.state === 'NONE') p.state = 'INITIATED';
    const expected = modelProcess(p);
    // Concurrent duplicates all get the one outcome.
    await Promise.all(
      Array.from({ length: this.copies }, () =>
        expectOutcome(this.toString(), () => r.aegis.pay(p.request), expected, p),
      ),
    );
    await compare(m, r);
  }
  toString = () => `pay(p${this.i})${this.copies > 1 ? ` ×${this.copies} concurrently` : ''}`;
}

class Process implements Command {
  constructor(readonly i: number) {}
  check = () => true;
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const expected = modelProcess(p);
    await expectOutcome(this.toString(), () => r.aegis.processPayment({ paymentId: p.id }), expected, p);
    await compare(m, r);
  }
  toString = () => `process(p${this.i})`;
}

/** The same idempotency key with another amount. */
class Conflict implements Command {
  constructor(
    readonly i: number,
    readonly via: 'create' | 'pay',
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const other = { ...p.request, amount: p.amount + 1 };
    const call = () => (this.via === 'pay' ? r.aegis.pay(other) : r.aegis.createPayment(other));
    await expectOutcome(this.toString(), call, failWith('IDEMPOTENCY_CONFLICT'), p);
    await compare(m, r);
  }
  toString = () => `${this.via}(p${this.i}, conflicting request)`;
}

class Capture implements Command {
  constructor(
    readonly i: number,
    readonly kind: CaptureKind,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const amount = this.kind === 'full' ? undefined : major(captureMinor(p, this.kind));
    const expected = modelCapture(p, this.kind);
    await expectOutcome(
      `${this} amount=${amount ?? 'all'}`,
      () => r.aegis.capturePayment(p.id, amount === undefined ? {} : { amount }),
      expected,
      p,
    );
    await compare(m, r);
  }
  toString = () => `capture(p${this.i}, ${this.kind})`;
}

class Cancel implements Command {
  constructor(
    readonly i: number,
    readonly via: Via,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const [was, before] = [p.state, snapshot(p)];
    const expected = modelCancel(p);
    if (this.via === 'update') {
      await expectOutcome(
        this.toString(),
        () => r.aegis.cancelPayment(p.id, { reason: 'model' }),
        expected,
        p,
      );
    } else {
      const send = () => raw.workflow.getHandle(p.id).signal(cancelSignal, { reason: 'model' });
      await signal(r, p, send, expected, was, snapshot(p) !== before || 'error' in expected);
    }
    await compare(m, r);
  }
  toString = () => `cancel(p${this.i}, ${this.via})`;
}

class Refund implements Command {
  constructor(
    readonly i: number,
    readonly via: Via,
    readonly amount: RefundAmount,
    readonly refundId: string | undefined,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const [was, before] = [p.state, snapshot(p)];
    // 'all' asks for everything explicitly; 'over' asks for 1.00 more than is left.
    const amount = this.amount === 'all' ? undefined : major(refundMinor(p, this.amount));
    const request = {
      ...(amount === undefined ? { full: true as const } : { amount }),
      ...(this.refundId ? { refundId: this.refundId } : {}),
    };
    const expected = modelRefund(p, this.amount, this.refundId);
    if (this.via === 'update') {
      await expectOutcome(
        `${this} ${JSON.stringify(request)}`,
        () => r.aegis.refundPayment(p.id, request),
        expected,
        p,
      );
    } else {
      const send = () => raw.workflow.getHandle(p.id).signal(refundSignal, request);
      await signal(r, p, send, expected, was, snapshot(p) !== before || 'error' in expected);
    }
    await compare(m, r);
  }
  toString = () =>
    `refund(p${this.i}, ${this.via}, amount=${this.amount}${this.refundId ? `, refundId=${this.refundId}` : ''})`;
}

/** Stops the worker and starts a new one on the same task queue and the same gateway (its ledger survives). */
class RestartWorker implements Command {
  check = () => true;
  async run(m: Model, r: Real) {
    await r.worker.stop();
    r.worker = await startTestWorker(testServer.server, r.taskQueue, [r.gateway]);
    await compare(m, r);
  }
  toString = () => 'restartWorker()';
}

const SLOTS = 2;
/** 30 runs take about 40 s; AEGISPAY_MBT_RUNS=300 explores longer. */
const RUNS = Number(process.env.AEGISPAY_MBT_RUNS ?? 30);
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const via = fc.constantFrom<Via>('update', 'signal');
const refund = fc
  .tuple(
    slot,
    via,
    fc.constantFrom<RefundAmount>('all', 'over', 1, 2.5),
    fc.constantFrom(undefined, 'rf_a', 'rf_b'),
  )
  .map(([i, v, amount, id]) => new Refund(i, v, amount, id));
const capture = fc
  .tuple(slot, fc.constantFrom<CaptureKind>('full', 'partial', 'over'))
  .map(([i, k]) => new Capture(i, k));
// Entries repeat to weigh them: the interesting sequences pay, capture and refund.
const commands = [
  slot.map((i) => new Create(i)),
  fc.tuple(slot, fc.constantFrom(1, 1, 2)).map(([i, n]) => new Pay(i, n)),
  fc.tuple(slot, fc.constantFrom(1, 2)).map(([i, n]) => new Pay(i, n)),
  fc.tuple(slot, fc.constantFrom(1, 2)).map(([i, n]) => new Pay(i, n)),
  slot.map((i) => new Process(i)),
  fc.tuple(slot, fc.constantFrom<'create' | 'pay'>('create', 'pay')).map(([i, v]) => new Conflict(i, v)),
  capture,
  capture,
  fc.tuple(slot, via).map(([i, v]) => new Cancel(i, v)),
  refund,
  refund,
  refund,
  fc.constant(new RestartWorker()),
];

const templates = fc.array(
  fc.record({
    amount: fc.integer({ min: 5, max: 50 }),
    manual: fc.boolean(),
    declined: fc.oneof(
      { weight: 5, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
  }),
  { minLength: SLOTS, maxLength: SLOTS },
);

/** Fresh keys, gateway, worker and task queue per run: runs (and shrinking's re-runs) never share payments. */
async function setup(ts: Template[]): Promise<{ model: Model; real: Real }> {
  const run = randomUUID().slice(0, 8);
  const taskQueue = `model-based-${run}`;
  const gateway = new MockGateway();
  const worker = await startTestWorker(testServer.server, taskQueue, [gateway]);
  const payments = ts.map((t, i): ModelPayment => {
    const request = cardPayment({
      idempotencyKey: `mbt_${run}_p${i}`,
      amount: t.amount,
      cardNumber: t.declined ? TEST_CARDS.declined : TEST_CARDS.success,
      ...(t.manual ? { captureMethod: 'manual' as const } : {}),
    });
    return {
      ...t,
      id: paymentWorkflowId(request.idempotencyKey),
      request,
      state: 'NONE',
      processed: false,
      authorized: 0,
      captured: 0,
      refunded: 0,
      refunds: 0,
      refundIds: new Set(),
      voided: false,
    };
  });
  return {
    model: { payments },
    real: { aegis: testClient(testServer.server, taskQueue), gateway, taskQueue, worker },
  };
}

test(
  'random command sequences keep the payment, its rules and the gateway ledger in step with the model',
  async () => {
    await fc.assert(
      fc.asyncProperty(
        templates,
        fc.commands(commands, { maxCommands: 14, size: 'max' }),
        async (ts, cmds) => {
          const { model, real } = await setup(ts);
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
          } finally {
            await real.aegis.close();
            await real.worker.stop();
          }
        },
      ),
      { numRuns: RUNS, interruptAfterTimeLimit: 8 * 60_000 },
    );
  },
  10 * 60_000,
);
