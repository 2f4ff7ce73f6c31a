/**
 * A careless or hostile operator for the chaos run: while payments flow, it sends the payment workflow
 * signals and updates with invalid payloads (to refund, cancel, capture and resolveReview, straight
 * through Temporal as the Web UI or `temporal workflow signal|update` would), and asks Temporal to cancel
 * random payments ("Request Cancellation"). It records what it sent, so the run can check afterwards
 * that every delivered signal left a REQUEST_REJECTED event and every cancellation was handled.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { DomainEvent, PaymentState } from '../../src/domain/types';
import {
  answeredAsCaptureRepeat,
  HOSTILE_PAYLOADS,
  SIGNAL_TARGETS,
  UPDATE_TARGETS,
  updateOutcome,
  type HostilePayload,
  type HostileTarget,
} from './hostile-payloads';

/** What the operator did to one payment. */
export interface OperatorRecord {
  /** Hostile signals the server accepted, and those whose answer was lost (they may have arrived). */
  signalsDelivered: number;
  signalsUncertain: number;
  cancelRequested: 'no' | 'delivered' | 'uncertain';
  /** Megabyte payloads sent to it (signals stay in history, so each payment gets at most one). */
  megabytes: number;
}

export interface OperatorProblem {
  rule: string;
  paymentId: string;
  detail: string;
}

const FINAL = new Set<PaymentState>(['CANCELLED', 'FAILURE', 'REFUNDED']);

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!;

export class ChaosOperator {
  /** Actions by kind and outcome, e.g. `update refund → VALIDATION_ERROR`. */
  readonly counts: Record<string, number> = {};
  readonly records = new Map<string, OperatorRecord>();
  readonly violations: OperatorProblem[] = [];
  readonly anomalies: OperatorProblem[] = [];
  private timer?: NodeJS.Timeout;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly client: () => Client,
    /** A payment that has been started, or undefined when none has yet. */
    private readonly somePayment: () => string | undefined,
    private readonly options: { everyMs: number; cancelShare: number; maxInFlight: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      const id = this.somePayment();
      if (!id || this.inFlight.size >= this.options.maxInFlight) return;
      const action = this.act(id).finally(() => this.inFlight.delete(action));
      this.inFlight.add(action);
    }, this.options.everyMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await Promise.all(this.inFlight);
  }

  /**
   * Checks a payment's events against what was sent to it: each delivered hostile signal left exactly one
   * REQUEST_REJECTED (up to the uncertain ones), and a delivered cancellation left CANCELLATION_REQUESTED
   * unless the payment is final (a cancellation that reaches a workflow already returning is dropped).
   */
  checkEvents(paymentId: string, state: PaymentState, events: DomainEvent[]): void {
    const r = this.records.get(paymentId);
    if (!r) return;
    const rejected = events.filter(
      (e) => e.type === 'REQUEST_REJECTED' && e.data.request !== 'workflow-cancel',
    ).length;
    if (rejected < r.signalsDelivered || rejected > r.signalsDelivered + r.signalsUncertain) {
      this.violations.push({
        rule: 'hostile-signal-not-recorded',
        paymentId,
        detail: `${r.signalsDelivered} (+${r.signalsUncertain} uncertain) hostile signals, ${rejected} REQUEST_REJECTED events`,
      });
    }
    if (
      r.cancelRequested === 'delivered' &&
      !FINAL.has(state) &&
      !events.some((e) => e.type === 'CANCELLATION_REQUESTED')
    ) {
      this.violations.push({
        rule: 'workflow-cancel-not-handled',
        paymentId,
        detail: 'Temporal delivered the cancellation; the payment has no CANCELLATION_REQUESTED event',
      });
    }
  }

  /** Whether a Temporal cancellation was (or may have been) sent to the payment. */
  cancelRequested(paymentId: string): boolean {
    return (this.records.get(paymentId)?.cancelRequested ?? 'no') !== 'no';
  }

  private record(paymentId: string): OperatorRecord {
    let r = this.records.get(paymentId);
    if (!r) {
      r = { signalsDelivered: 0, signalsUncertain: 0, cancelRequested: 'no', megabytes: 0 };
      this.records.set(paymentId, r);
    }
    return r;
  }

  private count(label: string): void {
    this.counts[label] = (this.counts[label] ?? 0) + 1;
  }

  private async act(paymentId: string): Promise<void> {
    const handle = this.client().workflow.getHandle(paymentId);
    const r = this.record(paymentId);
    const roll = Math.random();
    if (roll < this.options.cancelShare && r.cancelRequested === 'no') {
      const sent = await handle.cancel().then(
        () => 'delivered' as const,
        (err: unknown) =>
          err instanceof WorkflowNotFoundError ? ('closed' as const) : ('uncertain' as const),
      );
      this.count(`workflow cancel → ${sent}`);
      if (sent !== 'closed') r.cancelRequested = sent;
      return;
    }
    if (roll < 0.5) {
      const target = pick(SIGNAL_TARGETS);
      const { payload } = this.pickPayload(r, target);
      const sent = await handle.signal(target, payload).then(
        () => 'delivered' as const,
        (err: unknown) =>
          err instanceof WorkflowNotFoundError ? ('closed' as const) : ('uncertain' as const),
      );
      this.count(`signal ${target} → ${sent}`);
      if (sent === 'delivered') r.signalsDelivered++;
      if (sent === 'uncertain') r.signalsUncertain++;
      return;
    }
    await this.hostileUpdate(paymentId, r, pick(UPDATE_TARGETS));
  }

  /**
   * A payload for the target; a megabyte one only if the payment had none yet: a signal's payload stays
   * in the workflow's history however it is judged, and a few of them make the history larger than a
   * default client will read in one message.
   */
  private pickPayload(r: OperatorRecord, target: HostileTarget): HostilePayload {
    const all = HOSTILE_PAYLOADS[target];
    const chosen = pick(r.megabytes > 0 ? all.filter((p) => !p.name.includes('1 MB')) : all);
    if (chosen.name.includes('1 MB')) r.megabytes++;
    return chosen;
  }

  private async hostileUpdate(paymentId: string, r: OperatorRecord, target: HostileTarget): Promise<void> {
    const { name, payload } = this.pickPayload(r, target);
    const handle = this.client().workflow.getHandle(paymentId);
    const outcome = await updateOutcome(handle.executeUpdate(target, { args: [payload] }));
    if ('closed' in outcome) return this.count(`update ${target} → closed`);
    if ('answered' in outcome) {
      // Only a capture repeat may be answered, and it moves nothing (the invariants check the books).
      if (target === 'capture' && answeredAsCaptureRepeat(payload))
        return this.count(`update capture → answered as a repeat`);
      this.count(`update ${target} → ACCEPTED`);
      this.violations.push({ rule: 'hostile-update-accepted', paymentId, detail: `${target} ${name}` });
      return;
    }
    if (outcome.code.startsWith('uncoded')) return this.count(`update ${target} → no answer`);
    this.count(`update ${target} → ${outcome.code}`);
    if (outcome.code !== 'VALIDATION_ERROR') {
      this.anomalies.push({
        rule: 'hostile-update-refused-otherwise',
        paymentId,
        detail: `${target} ${name}: ${outcome.code}`,
      });
    }
  }
}
