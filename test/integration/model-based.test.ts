/**
 * Model-based test: fast-check drives random command sequences against the real payment workflow (dev
 * server + in-process worker with a MOCK gateway) and compares, after every step, the payment view and
 * the gateway's ledger with a small model of the rules, and checks the money invariants against the
 * gateway's books (test/chaos/money-invariants.ts). Besides the customer's calls, the commands open the
 * doors an operator or attacker uses: hostile signal and update payloads, Temporal's own cancellation,
 * and faults on the gateway's follow-up calls. A failing sequence is shrunk and printed with each
 * command's toString(), ready to be pasted into a regular test.
 */
import { randomUUID } from 'node:crypto';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import fc from 'fast-check';
import type { AegisPay } from '../../src/embedded/aegis-pay';
import { paymentWorkflowId } from '../../src/domain/ids';
import { cancelSignal, refundSignal } from '../../src/domain/messages';
import type { CreatePaymentRequest, Payment, PaymentState } from '../../src/domain/types';
import {
  answeredAsCaptureRepeat,
  HOSTILE_PAYLOADS,
  refundAsk,
  SIGNAL_TARGETS,
  UPDATE_TARGETS,
  updateOutcome,
  type HostileTarget,
} from '../chaos/hostile-payloads';
import { mockBooks, moneyViolations, type RefundAsks } from '../chaos/money-invariants';
import {
  cardPayment,
  rawClient,
  useTestServer,
  startTestWorker,
  testClient,
  TEST_CARDS,
  type RunningWorker,
} from '../helpers';
import { FlakyMockGateway, type FollowUpFault } from '../helpers/flaky-mock';
import { openWork } from '../helpers/open-work';

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
  /** Whether Temporal was asked to cancel the workflow (it delivers that once). */
  temporalCancelRequested: boolean;
  /** What valid refund requests asked for: the books may never show more refunded. */
  asks: RefundAsks;
}

interface Model {
  payments: ModelPayment[];
  /** The next refund that reaches the gateway is declined. */
  refundDeclineArmed: boolean;
}

interface Real {
  aegis: AegisPay;
  gateway: FlakyMockGateway;
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
  // The capture already made, asked again (no amount after a full capture, or the same amount): the
  // same operation, answered.
  const captured = ['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED'].includes(p.state);
  const repeat =
    kind === 'full'
      ? p.captured === p.authorized
      : kind === 'partial' && captureMinor(p, kind) === p.captured;
  if (captured && p.request.captureMethod === 'manual' && repeat) return OK;
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

/**
 * The refund rules in their order: a known refundId first, then the state, then the amount. A refund the
 * gateway declines is answered with the payment unchanged (REFUND_FAILED), its refundId used up.
 */
function modelRefund(m: Model, p: ModelPayment, amount: RefundAmount, refundId?: string): Expected {
  if (p.state === 'NONE') return failWith('PAYMENT_NOT_FOUND');
  if (refundId !== undefined && p.refundIds.has(refundId)) return OK;
  if (!REFUNDABLE.has(p.state)) return failWith('INVALID_STATE_TRANSITION');
  const available = p.captured - p.refunded;
  const minor = refundMinor(p, amount);
  if (minor > available || minor <= 0) return failWith('REFUND_EXCEEDS_CAPTURED');
  if (m.refundDeclineArmed) {
    m.refundDeclineArmed = false;
    if (refundId !== undefined) p.refundIds.add(refundId);
    return OK;
  }
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
    let view: Payment | undefined;
    if (p.state !== 'NONE') {
      view = await timed('getPayment', real.aegis.getPayment(p.id));
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
    if (view) await expectMoneyInvariants(`p${index}`, p, view, real);
  }
}

/** The money invariants of one payment against the MOCK gateway's books. */
async function expectMoneyInvariants(
  name: string,
  p: ModelPayment,
  view: Payment,
  real: Real,
): Promise<void> {
  const handle = raw.workflow.getHandle(p.id);
  const running = (await handle.describe()).status.name === 'RUNNING';
  const work = running ? await openWork(handle) : { activities: 0, timers: 0 };
  const found = moneyViolations({
    view,
    books: mockBooks(real.gateway, p.id),
    asks: p.asks,
    work: { running, ...work },
  });
  expect({ payment: name, violations: found }).toEqual({ payment: name, violations: [] });
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

/** A fault on the gateway's answer that is asked again under the same key: the caller sees no difference. */
type SilentFault = Exclude<FollowUpFault, 'declined'> | 'none';

class Capture implements Command {
  constructor(
    readonly i: number,
    readonly kind: CaptureKind,
    readonly fault: SilentFault,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const amount = this.kind === 'full' ? undefined : major(captureMinor(p, this.kind));
    const expected = modelCapture(p, this.kind);
    if (this.fault !== 'none') r.gateway.arm('capture', this.fault);
    await expectOutcome(
      `${this} amount=${amount ?? 'all'}`,
      () => r.aegis.capturePayment(p.id, amount === undefined ? {} : { amount }),
      expected,
      p,
    );
    r.gateway.disarm('capture');
    await compare(m, r);
  }
  toString = () => `capture(p${this.i}, ${this.kind}${faultText(this.fault)})`;
}

const faultText = (fault: FollowUpFault | 'none') => (fault === 'none' ? '' : `, gateway ${fault}`);

class Cancel implements Command {
  constructor(
    readonly i: number,
    readonly via: Via,
    readonly fault: Exclude<SilentFault, 'in-progress'>,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const [was, before] = [p.state, snapshot(p)];
    const expected = modelCancel(p);
    if (this.fault !== 'none') r.gateway.arm('void', this.fault);
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
    r.gateway.disarm('void');
    await compare(m, r);
  }
  toString = () => `cancel(p${this.i}, ${this.via}${faultText(this.fault)})`;
}

class Refund implements Command {
  constructor(
    readonly i: number,
    readonly via: Via,
    readonly amount: RefundAmount,
    readonly refundId: string | undefined,
    readonly fault: FollowUpFault | 'none',
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const [was, before] = [p.state, snapshot(p)];
    if (this.fault !== 'none') r.gateway.arm('refund', this.fault);
    m.refundDeclineArmed = this.fault === 'declined';
    // 'all' asks for everything explicitly; 'over' asks for 1.00 more than is left.
    const amount = this.amount === 'all' ? undefined : major(refundMinor(p, this.amount));
    const request = {
      ...(amount === undefined ? { full: true as const } : { amount }),
      ...(this.refundId ? { refundId: this.refundId } : {}),
    };
    const declineArmed = m.refundDeclineArmed;
    const expected = modelRefund(m, p, this.amount, this.refundId);
    const declined = declineArmed && !m.refundDeclineArmed;
    const ask = refundAsk(request);
    p.asks = { minor: p.asks.minor + ask.minor, full: p.asks.full || ask.full };
    if (this.via === 'update') {
      await expectOutcome(
        `${this} ${JSON.stringify(request)}`,
        () => r.aegis.refundPayment(p.id, request),
        expected,
        p,
      );
    } else {
      const send = () => raw.workflow.getHandle(p.id).signal(refundSignal, request);
      // A declined refund changes no amount, but leaves a REFUND_FAILED event.
      await signal(r, p, send, expected, was, snapshot(p) !== before || 'error' in expected || declined);
    }
    // A refund refused before the gateway leaves its fault unused: it must not hit a later call.
    m.refundDeclineArmed = false;
    r.gateway.disarm('refund');
    await compare(m, r);
  }
  toString = () =>
    `refund(p${this.i}, ${this.via}, amount=${this.amount}${this.refundId ? `, refundId=${this.refundId}` : ''}${faultText(this.fault)})`;
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

/**
 * A hostile payload as a signal: refused without a change, and recorded as REQUEST_REJECTED with a
 * VALIDATION_ERROR; a closed workflow refuses the signal itself.
 */
class HostileSignal implements Command {
  constructor(
    readonly i: number,
    readonly target: (typeof SIGNAL_TARGETS)[number],
    readonly which: number,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const { payload } = hostile(this.target, this.which);
    const send = () => raw.workflow.getHandle(p.id).signal(this.target, payload);
    await signal(r, p, send, failWith('VALIDATION_ERROR'), p.state, true);
    if (!TERMINAL.has(p.state)) {
      const events = await timed('events', r.aegis.getPaymentEvents(p.id));
      expect(events.at(-1)).toMatchObject({ type: 'REQUEST_REJECTED', data: { request: this.target } });
    }
    await compare(m, r);
  }
  toString = () => `signal ${this.target}(p${this.i}, ${hostile(this.target, this.which).name})`;
}

/**
 * A hostile payload as a raw update (no client-side checks): VALIDATION_ERROR and no change. A capture
 * without an amount on a fully captured payment is answered as a repeat of that capture; a closed
 * workflow takes no update.
 */
class HostileUpdate implements Command {
  constructor(
    readonly i: number,
    readonly target: HostileTarget,
    readonly which: number,
  ) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const { payload } = hostile(this.target, this.which);
    const fullyCaptured = p.manual && p.captured > 0 && p.captured === p.authorized;
    const expected = TERMINAL.has(p.state)
      ? { closed: true }
      : this.target === 'capture' && fullyCaptured && answeredAsCaptureRepeat(payload)
        ? { answered: true }
        : { code: 'VALIDATION_ERROR' };
    const handle = raw.workflow.getHandle(p.id);
    const outcome = await timed(
      String(this),
      updateOutcome(handle.executeUpdate(this.target, { args: [payload] })),
    );
    expect({ what: String(this), state: p.state, outcome }).toEqual({
      what: String(this),
      state: p.state,
      outcome: expected,
    });
    await compare(m, r);
  }
  toString = () => `update ${this.target}(p${this.i}, ${hostile(this.target, this.which).name})`;
}

/**
 * Temporal's own cancellation (Web UI "Request Cancellation"): INITIATED and AUTHORIZED payments are
 * cancelled (an authorization voided); any other running payment refuses it and records the refusal.
 * Temporal delivers one cancellation per workflow: a second request changes nothing.
 */
class TemporalCancel implements Command {
  constructor(readonly i: number) {}
  check = (m: Readonly<Model>) => exists(m, this.i);
  async run(m: Model, r: Real) {
    const p = m.payments[this.i]!;
    const handle = raw.workflow.getHandle(p.id);
    const sent = await handle.cancel().then(
      () => 'delivered',
      (err: unknown) => (err instanceof WorkflowNotFoundError ? 'closed' : Promise.reject(err)),
    );
    // A running workflow takes the request; a closed one refuses it, or (the server's choice) takes it
    // with no effect: either way a final payment stays as it is.
    expect({ cancel: sent, state: p.state }).toEqual({
      cancel: TERMINAL.has(p.state) ? sent : 'delivered',
      state: p.state,
    });
    if (TERMINAL.has(p.state)) {
      // Nothing to wait for: the payment is final.
    } else if (sent === 'delivered' && !p.temporalCancelRequested) {
      p.temporalCancelRequested = true;
      const cancels = p.state === 'INITIATED' || p.state === 'AUTHORIZED';
      if (cancels) modelCancel(p);
      await waitUntil(
        'cancellation handled',
        () => r.aegis.getPaymentEvents(p.id),
        (events) =>
          events.some((e) => e.type === 'CANCELLATION_REQUESTED') &&
          events.some((e) =>
            cancels
              ? e.type === 'PAYMENT_CANCELLED'
              : e.type === 'REQUEST_REJECTED' && e.data.request === 'workflow-cancel',
          ),
      );
    } else if (sent === 'delivered') {
      // Nothing to wait for: a query answered after the request shows the state it left.
      await timed('process (barrier)', r.aegis.processPayment({ paymentId: p.id }));
    }
    await compare(m, r);
  }
  toString = () => `temporalCancel(p${this.i})`;
}

function hostile(target: HostileTarget, which: number) {
  const list = HOSTILE_PAYLOADS[target];
  return list[which % list.length]!;
}

const SLOTS = 2;
/**
 * 30 runs take about a minute on an idle machine; on a busy one, runs that would start after
 * TIME_LIMIT_MS pass without running, so the test stays within its time (every run started is finished:
 * no worker is left behind). AEGISPAY_MBT_RUNS=300 AEGISPAY_MBT_SECONDS=1800 explores longer.
 */
const RUNS = Number(process.env.AEGISPAY_MBT_RUNS ?? 30);
const TIME_LIMIT_MS = Number(process.env.AEGISPAY_MBT_SECONDS ?? 100) * 1000;
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const via = fc.constantFrom<Via>('update', 'signal');
const refund = fc
  .tuple(
    slot,
    via,
    fc.constantFrom<RefundAmount>('all', 'over', 1, 2.5),
    fc.constantFrom(undefined, 'rf_a', 'rf_b'),
    fc.constantFrom<FollowUpFault | 'none'>(
      'none',
      'none',
      'unavailable',
      'answer-lost',
      'in-progress',
      'declined',
    ),
  )
  .map(([i, v, amount, id, fault]) => new Refund(i, v, amount, id, fault));
const capture = fc
  .tuple(
    slot,
    fc.constantFrom<CaptureKind>('full', 'partial', 'over'),
    fc.constantFrom<SilentFault>('none', 'none', 'unavailable', 'answer-lost', 'in-progress'),
  )
  .map(([i, k, fault]) => new Capture(i, k, fault));
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
  fc
    .tuple(
      slot,
      via,
      fc.constantFrom<Exclude<SilentFault, 'in-progress'>>('none', 'none', 'unavailable', 'answer-lost'),
    )
    .map(([i, v, fault]) => new Cancel(i, v, fault)),
  refund,
  refund,
  refund,
  fc.constant(new RestartWorker()),
  fc
    .tuple(slot, fc.constantFrom(...SIGNAL_TARGETS), fc.nat())
    .map(([i, target, which]) => new HostileSignal(i, target, which)),
  fc
    .tuple(slot, fc.constantFrom(...UPDATE_TARGETS), fc.nat())
    .map(([i, target, which]) => new HostileUpdate(i, target, which)),
  slot.map((i) => new TemporalCancel(i)),
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
  const gateway = new FlakyMockGateway();
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
      temporalCancelRequested: false,
      asks: { minor: 0, full: false },
    };
  });
  return {
    model: { payments, refundDeclineArmed: false },
    real: { aegis: testClient(testServer.server, taskQueue), gateway, taskQueue, worker },
  };
}

test(
  'random command sequences keep the payment, its rules and the gateway ledger in step with the model',
  async () => {
    const started = Date.now();
    const done = { runs: 0, commands: 0, faults: {} as Record<string, number> };
    await fc.assert(
      fc.asyncProperty(
        templates,
        fc.commands(commands, { maxCommands: 14, size: 'max' }),
        async (ts, cmds) => {
          if (Date.now() - started > TIME_LIMIT_MS) return;
          const { model, real } = await setup(ts);
          try {
            await fc.asyncModelRun(() => ({ model, real }), cmds);
            done.runs += 1;
            done.commands += [...cmds].length;
            for (const [k, n] of Object.entries(real.gateway.fired))
              done.faults[k] = (done.faults[k] ?? 0) + n;
          } finally {
            await real.aegis.close();
            await real.worker.stop();
          }
        },
      ),
      { numRuns: RUNS },
    );
    console.log(
      `model-based: ${done.runs} runs, ${done.commands} commands in ${Math.round((Date.now() - started) / 1000)} s; ` +
        `gateway faults fired: ${JSON.stringify(done.faults)}`,
    );
  },
  TIME_LIMIT_MS + 5 * 60_000,
);
