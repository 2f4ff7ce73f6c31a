/**
 * The chaos run's store rules find what they name: a store row that differs from its workflow, store
 * amounts the ledger does not back, and events missing, duplicated, renumbered or reordered.
 */
import type { DomainEvent, Payment, Refund } from '../../src/domain/types';
import { storeViolations, type StoreComparison } from './store-check';

const ID = 'payment:chaos_check';

function event(sequence: number, type: DomainEvent['type']): DomainEvent {
  return { id: `${ID}:${sequence}`, type, paymentId: ID, sequence, at: '2025-01-01T00:00:00.000Z', data: {} };
}

const EVENTS = [event(1, 'PAYMENT_INITIATED'), event(2, 'PAYMENT_SUCCEEDED'), event(3, 'REFUND_SUCCEEDED')];
const REFUND: Refund = { id: 'r1', amount: 100, status: 'succeeded', at: '2025-01-01T00:00:01.000Z' };

/** Only what the rules read: the comparator looks at state, amounts, refunds and version. */
function view(over: Partial<Payment> = {}): Payment {
  return {
    id: ID,
    state: 'PARTIALLY_REFUNDED',
    amounts: { authorized: 1000, captured: 1000, refunded: 100 },
    refunds: [REFUND],
    version: 3,
    ...over,
  } as Payment;
}

/** A run where store, workflow and books agree. */
function agreeing(): StoreComparison {
  return {
    workflow: view(),
    workflowEvents: EVENTS,
    stored: view(),
    storedEvents: [...EVENTS],
    ledger: { collected: 1000, refunded: 100, heldOnCard: 0 },
  };
}

const rules = (input: StoreComparison) => storeViolations(input).map((v) => v.rule);

test('a store that agrees with its workflow and the books breaks no rule', () => {
  expect(storeViolations(agreeing())).toEqual([]);
});

test('a store row missing, in another state, with other amounts or refunds differs from the workflow', () => {
  expect(rules({ ...agreeing(), stored: undefined })).toEqual(['store-differs-from-workflow']);
  // The workflow refunded everything; the store still says partly (and the books side with the workflow).
  const refunded = {
    ...agreeing(),
    workflow: view({ state: 'REFUNDED', amounts: { authorized: 1000, captured: 1000, refunded: 1000 } }),
  };
  expect(rules(refunded)).toContain('store-differs-from-workflow');
  const failedRefund = { ...agreeing(), stored: view({ refunds: [{ ...REFUND, status: 'failed' }] }) };
  expect(rules(failedRefund)).toEqual(['store-differs-from-workflow', 'store-differs-from-ledger']);
});

test('store amounts the books do not back differ from the ledger, wherever the workflow stands', () => {
  const overCollected = { ...agreeing(), ledger: { collected: 2000, refunded: 100, heldOnCard: 0 } };
  expect(rules(overCollected)).toEqual(['store-differs-from-ledger']);
  const unbookedRefund = { ...agreeing(), ledger: { collected: 1000, refunded: 0, heldOnCard: 0 } };
  expect(rules(unbookedRefund)).toEqual(['store-differs-from-ledger']);
  const authorized = view({
    state: 'AUTHORIZED',
    amounts: { authorized: 1000, captured: 0, refunded: 0 },
    refunds: [],
  });
  const held = { ...agreeing(), workflow: authorized, stored: authorized };
  expect(rules({ ...held, ledger: { collected: 0, refunded: 0, heldOnCard: 1000 } })).toEqual([]);
  expect(rules({ ...held, ledger: { collected: 0, refunded: 0, heldOnCard: 0 } })).toEqual([
    'store-differs-from-ledger',
  ]);
  // Money in question (review) is not compared with the books.
  const inReview = view({ state: 'REQUIRES_REVIEW' });
  expect(rules({ ...overCollected, workflow: inReview, stored: inReview })).toEqual([]);
});

test('events missing, duplicated, renumbered or reordered in the store differ', () => {
  const [created, succeeded, refunded] = EVENTS as [DomainEvent, DomainEvent, DomainEvent];
  const variants: DomainEvent[][] = [
    [created, succeeded],
    [created, succeeded, refunded, { ...refunded, sequence: 4 }],
    [created, { ...succeeded, sequence: 3 }, { ...refunded, sequence: 2 }],
    [created, { ...refunded, sequence: 2 }, { ...succeeded, sequence: 3 }],
    [created, succeeded, { ...refunded, data: { amount: 1 } }],
  ];
  for (const storedEvents of variants)
    expect(rules({ ...agreeing(), storedEvents })).toEqual(['store-events-differ']);
});
