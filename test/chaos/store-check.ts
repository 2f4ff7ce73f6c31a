/**
 * The system of record against the truth: once the chaos run has settled, the payment store must hold
 * what the workflow holds (state, amounts, refunds, and every event once, in order, under its number)
 * and what the gateways' books say was collected and refunded. Also reads, from a workflow's history,
 * how often its store projections had to be retried.
 */
import { isDeepStrictEqual } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { DomainEvent, Payment } from '../../src/domain/types';
import type { LedgerEntry, Sandbox } from '../../src/sandbox/server';

/** The rules, in the order they are reported. */
export const STORE_RULES = [
  'store-differs-from-workflow',
  'store-differs-from-ledger',
  'store-events-differ',
] as const;
export type StoreRule = (typeof STORE_RULES)[number];

/** What the gateways' books say of one payment, in minor units, summed over gateways. */
export interface LedgerAmounts {
  /** Succeeded charges and captures. */
  collected: number;
  /** Succeeded refunds. */
  refunded: number;
  /** Authorizations neither captured nor voided. */
  heldOnCard: number;
}

export interface StoreComparison {
  workflow: Payment;
  workflowEvents: DomainEvent[];
  stored: Payment | undefined;
  storedEvents: DomainEvent[];
  ledger: LedgerAmounts;
}

/** States whose money is still in question: the books may know more than the payment does yet. */
const IN_QUESTION = new Set(['INITIATED', 'PROCESSING', 'REQUIRES_REVIEW']);

/** Every store rule one payment breaks, with what was seen. */
export function storeViolations({
  workflow,
  workflowEvents,
  stored,
  storedEvents,
  ledger,
}: StoreComparison): { rule: StoreRule; detail: string }[] {
  if (!stored) return [{ rule: 'store-differs-from-workflow', detail: 'not in the store' }];
  const found: { rule: StoreRule; detail: string }[] = [];
  const money = (p: Payment) => ({ state: p.state, amounts: p.amounts, refunds: p.refunds });
  if (!isDeepStrictEqual(money(stored), money(workflow))) {
    found.push({
      rule: 'store-differs-from-workflow',
      detail: `store ${JSON.stringify(money(stored))}, workflow ${JSON.stringify(money(workflow))}`,
    });
  }

  if (!IN_QUESTION.has(stored.state)) {
    const succeededRefunds = stored.refunds
      .filter((r) => r.status === 'succeeded')
      .reduce((s, r) => s + r.amount, 0);
    const held = stored.state === 'AUTHORIZED' ? stored.amounts.authorized : 0;
    if (
      stored.amounts.captured !== ledger.collected ||
      stored.amounts.refunded !== ledger.refunded ||
      succeededRefunds !== ledger.refunded ||
      held !== ledger.heldOnCard
    ) {
      found.push({
        rule: 'store-differs-from-ledger',
        detail:
          `${stored.state}: store captured ${stored.amounts.captured}, refunded ${stored.amounts.refunded} ` +
          `(refunds ${succeededRefunds}), held ${held}; books ${JSON.stringify(ledger)}`,
      });
    }
  }

  const problem = eventsProblem(storedEvents, workflowEvents);
  if (problem) found.push({ rule: 'store-events-differ', detail: problem });
  return found;
}

/** How the store's events differ from the workflow's (undefined when they are the same). */
function eventsProblem(stored: DomainEvent[], workflow: DomainEvent[]): string | undefined {
  const ids = stored.map((e) => e.id);
  const duplicated = ids.filter((id, i) => ids.indexOf(id) !== i);
  if (duplicated.length > 0) return `stored more than once: ${[...new Set(duplicated)].join(', ')}`;
  const gaps = stored.filter((e, i) => e.sequence !== i + 1).map((e) => e.sequence);
  if (gaps.length > 0) return `sequence numbers not 1..${stored.length}: ${gaps.slice(0, 5).join(', ')}`;
  const first = Array.from({ length: Math.max(stored.length, workflow.length) }, (_, i) => i).find(
    (i) => !isDeepStrictEqual(stored[i], workflow[i]),
  );
  if (first === undefined) return undefined;
  const brief = (e?: DomainEvent) => (e ? `${e.sequence} ${e.type} (${e.id})` : 'nothing');
  return (
    `${stored.length} stored, ${workflow.length} in the workflow; first difference at #${first + 1}: ` +
    `store ${brief(stored[first])}, workflow ${brief(workflow[first])}`
  );
}

/** One payment's money in the sandbox PSP's books, over both gateways. */
export function ledgerAmounts(sandbox: Sandbox, paymentId: string): LedgerAmounts {
  const holdings = sandbox.holdings({ paymentId });
  const sum = (entries: { amount: number }[]) => entries.reduce((s, e) => s + e.amount, 0);
  return {
    collected: holdings.reduce((s, h) => s + h.collected, 0),
    refunded: holdings.reduce((s, h) => s + h.refunded, 0),
    heldOnCard: sum(sandbox.openAuthorizations({ paymentId }) as LedgerEntry[]),
  };
}

/** Store projections of one workflow: how many ran, how many needed more than one attempt, and why. */
export interface ProjectionAttempts {
  projections: number;
  retried: number;
  extraAttempts: number;
  /** The last failure before the successful attempt, by kind: `timeout` or the error's first words. */
  lastFailures: Record<string, number>;
}

const EventType = temporal.api.enums.v1.EventType;

/** Reads the `projectPayment` activities from the workflow's history (attempts are on their started events). */
export async function projectionAttempts(handle: WorkflowHandle): Promise<ProjectionAttempts> {
  const history = await handle.fetchHistory();
  const projections = new Set<string>();
  const result: ProjectionAttempts = { projections: 0, retried: 0, extraAttempts: 0, lastFailures: {} };
  for (const event of history.events ?? []) {
    if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED) {
      if (event.activityTaskScheduledEventAttributes?.activityType?.name !== 'projectPayment') continue;
      projections.add(String(event.eventId));
      result.projections++;
    } else if (event.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) {
      const started = event.activityTaskStartedEventAttributes!;
      if (!projections.has(String(started.scheduledEventId)) || (started.attempt ?? 1) <= 1) continue;
      result.retried++;
      result.extraAttempts += started.attempt! - 1;
      const failure = started.lastFailure;
      const kind = failure?.timeoutFailureInfo
        ? 'timeout'
        : (failure?.message ?? 'unknown')
            .split(/[:(\n]/)[0]!
            .trim()
            .slice(0, 60);
      result.lastFailures[kind] = (result.lastFailures[kind] ?? 0) + 1;
    }
  }
  return result;
}
