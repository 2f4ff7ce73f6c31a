/**
 * The sandbox faults of a chaos run, generated rather than fixed: every phase, each gateway gets a
 * scenario drawn from a list that covers every fault kind on every operation (lost answers after commit
 * on charge, capture, void and refund; in-progress answers settled later either way; declines behind a
 * reset; 5xx and rate limits on follow-ups; lookups that lag or fail). Faults are counted as they fire,
 * by kind and operation, and pending objects are settled as succeeded or failed a little later.
 */
import { FaultInjector, type Operation } from '../../src/sandbox/faults';
import type { Faults, Sandbox, SandboxGateway } from '../../src/sandbox/server';

/** A named set of faults for one gateway. */
export interface FaultScenario {
  name: string;
  faults: Faults;
}

const FOLLOW_UPS: Operation[] = ['capture', 'void', 'refund', 'confirm'];

/**
 * Every scenario keeps injected latency below the adapters' timeout on operations that commit, so a
 * request never commits after its caller gave up unseen; only lookups (which commit nothing) get
 * latency beyond it.
 */
export const SCENARIOS: FaultScenario[] = [
  { name: 'calm', faults: {} },
  {
    name: 'charge: 5xx, 429, resets, latency',
    faults: {
      errorRate: 0.15,
      rateLimitRate: 0.1,
      resetConnection: 0.1,
      latencyMs: { min: 0, max: 300 },
      operations: ['charge'],
    },
  },
  // Declining cards go through these too: a decline behind a lost answer must stay a decline.
  { name: 'charge: answer lost after commit', faults: { commitThenTimeout: 0.5, operations: ['charge'] } },
  { name: 'charge: reset after commit', faults: { commitThenReset: 0.5, operations: ['charge'] } },
  { name: 'charge: in progress', faults: { pending: 0.5, operations: ['charge'] } },
  { name: 'capture: in progress', faults: { pending: 0.6, operations: ['capture'] } },
  {
    name: 'capture: answer lost after commit',
    faults: { commitThenTimeout: 0.4, commitThenReset: 0.4, operations: ['capture'] },
  },
  {
    name: 'void: answer lost after commit',
    faults: { commitThenTimeout: 0.4, commitThenReset: 0.4, operations: ['void'] },
  },
  { name: 'refund: in progress', faults: { pending: 0.6, operations: ['refund'] } },
  {
    name: 'refund: answer lost after commit',
    faults: { commitThenTimeout: 0.4, commitThenReset: 0.4, operations: ['refund'] },
  },
  {
    name: 'follow-ups: 5xx, 429, resets',
    faults: { errorRate: 0.4, rateLimitRate: 0.3, resetConnection: 0.1, operations: FOLLOW_UPS },
  },
  {
    name: 'lookups: slow beyond the timeout, 5xx',
    faults: { errorRate: 0.3, latencyMs: { min: 0, max: 3000 }, operations: ['lookup'] },
  },
  { name: 'lookups: outage', faults: { outage: true, operations: ['lookup'] } },
];

/** Counts of injected faults, as `kind on operations` → count (and `latency (ms) on …` → total ms). */
export type FaultCounts = Record<string, number>;

/**
 * Counts what the sandbox's fault injector does, by wrapping its methods (the sandbox counts nothing):
 * each firing is labelled with its kind and the operations the gateway's faults were restricted to.
 */
export function countFaults() {
  const proto = FaultInjector.prototype;
  const original = { rate: proto.rate, roll: proto.roll, latency: proto.latency, applies: proto.applies };
  const counts: FaultCounts = {};
  let on = false;
  const where = (injector: FaultInjector, gateway: SandboxGateway) =>
    (injector.get(gateway).operations ?? ['all']).join('+');
  const bump = (label: string, by = 1) => on && (counts[label] = (counts[label] ?? 0) + by);
  proto.rate = function (gateway, name) {
    const hit = original.rate.call(this, gateway, name);
    if (hit) bump(`${name} on ${where(this, gateway)}`);
    return hit;
  };
  proto.roll = function (gateway, name) {
    const hit = original.roll.call(this, gateway, name);
    if (hit) bump(`${name} on ${where(this, gateway)}`);
    return hit;
  };
  proto.latency = function (gateway) {
    const ms = original.latency.call(this, gateway);
    if (ms > 0) bump(`latency (ms) on ${where(this, gateway)}`, Math.round(ms));
    return ms;
  };
  // An outage answers every request in scope, without rolling a die: count the requests it met.
  proto.applies = function (gateway, operation) {
    const inScope = original.applies.call(this, gateway, operation);
    if (inScope && this.get(gateway).outage) bump(`outage on ${where(this, gateway)}`);
    return inScope;
  };
  return {
    counts,
    start: () => ((on = true), Object.keys(counts).forEach((k) => delete counts[k])),
    restore: () => Object.assign(proto, original),
  };
}

/** Sums counts by fault kind (the part before " on "). */
export function byKind(counts: FaultCounts): FaultCounts {
  const out: FaultCounts = {};
  for (const [label, n] of Object.entries(counts)) {
    const kind = label.split(' on ')[0]!;
    out[kind] = (out[kind] ?? 0) + n;
  }
  return out;
}

/**
 * Draws a scenario per gateway every `phaseMs` from a shuffled deck (Stripe's search lag always on), and settles what the
 * `pending` fault left in progress: each pending object 0.5–6 s after it appeared (often after the
 * reconciliation window, so the payment waits in review), as succeeded or, one
 * time in `failEvery`, failed.
 */
export class FaultSchedule {
  readonly phases: Record<string, number> = {};
  readonly settled = { succeeded: 0, failed: 0 };
  private timer?: NodeJS.Timeout;
  private settler?: NodeJS.Timeout;
  private readonly dueAt = new Map<string, number>();
  private settledCount = 0;
  private deck: FaultScenario[] = [];

  constructor(
    private readonly sandbox: Sandbox,
    private readonly options: {
      phaseMs: number;
      searchLagMs: number;
      failEvery: number;
      random?: () => number;
    },
  ) {}

  start(): void {
    const next = () => {
      for (const gateway of ['stripe', 'paypal'] as const) {
        const scenario = this.draw();
        this.phases[scenario.name] = (this.phases[scenario.name] ?? 0) + 1;
        const lag = gateway === 'stripe' ? { searchLagMs: this.options.searchLagMs } : {};
        this.sandbox.setFaults({ ...scenario.faults, ...lag }, gateway);
      }
    };
    next();
    this.timer = setInterval(next, this.options.phaseMs);
    this.settler = setInterval(() => this.settleDue(false), 250);
  }

  /** Stops drawing scenarios and clears every fault but the search lag; pending objects keep settling. */
  calm(): void {
    clearInterval(this.timer);
    this.sandbox.setFaults({});
    this.sandbox.setFaults({ searchLagMs: this.options.searchLagMs }, 'stripe');
  }

  /** Settles everything still pending now, and stops. */
  stop(): void {
    clearInterval(this.timer);
    clearInterval(this.settler);
    this.settleDue(true);
  }

  private settleDue(all: boolean): void {
    const now = Date.now();
    for (const entry of this.sandbox.ledger({ status: 'pending' })) {
      if (!this.dueAt.has(entry.reference)) this.dueAt.set(entry.reference, now + 500 + this.random() * 5500);
      if (!all && this.dueAt.get(entry.reference)! > now) continue;
      const outcome = ++this.settledCount % this.options.failEvery === 0 ? 'failed' : 'succeeded';
      if (this.sandbox.settle(entry.reference, outcome)) this.settled[outcome]++;
    }
  }

  /** The next scenario from a shuffled deck of all of them: every one comes up once per round. */
  private draw(): FaultScenario {
    if (this.deck.length === 0) {
      this.deck = [...SCENARIOS];
      for (let i = this.deck.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [this.deck[i], this.deck[j]] = [this.deck[j]!, this.deck[i]!];
      }
    }
    return this.deck.pop()!;
  }

  private random(): number {
    return (this.options.random ?? Math.random)();
  }
}
