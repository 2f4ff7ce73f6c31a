/**
 * The money invariants, checked against a gateway's books (the sandbox PSP's ledger, or the MOCK
 * gateway's) rather than against the payment's own view of itself. The chaos run checks them once the
 * run has settled; the model-based test after every step.
 */
import type { MockGateway } from '../../src/activities/gateways/mock/adapter';
import type { Payment } from '../../src/domain/types';
import type { Sandbox } from '../../src/sandbox/server';

/** What one gateway's books say of one payment, in minor units. */
export interface GatewayHolding {
  gateway: string;
  /** Succeeded charges and captures. */
  collected: number;
  /** Succeeded refunds. */
  refunded: number;
  /** Pending charges and captures count positive, pending refunds negative. */
  pending: number;
}

/** The books of every gateway for one payment. */
export interface PaymentBooks {
  holdings: GatewayHolding[];
  /** Authorizations neither captured nor voided: money still held on the card. */
  openAuthorizations: number;
}

/** What callers asked to refund: explicit amounts (minor units), and whether anyone said `full: true`. */
export interface RefundAsks {
  minor: number;
  full: boolean;
}

/** Whether the workflow still runs, and what it has under way (see test/helpers/open-work.ts). */
export interface WorkflowWork {
  running: boolean;
  activities: number;
  timers: number;
}

export interface InvariantInput {
  view: Payment;
  books: PaymentBooks;
  asks: RefundAsks;
  work: WorkflowWork;
}

/** The rules, in the order they are reported. */
export const INVARIANTS = [
  'two-gateways-hold-money',
  'authorization-open-after-end',
  'ended-but-holds-money',
  'refunded-more-than-captured',
  'stuck-without-work',
  'books-differ-from-payment',
  'refund-nobody-asked-for',
] as const;
export type Invariant = (typeof INVARIANTS)[number];

const ENDED = new Set(['CANCELLED', 'FAILURE']);
const FINAL = new Set(['CANCELLED', 'FAILURE', 'REFUNDED']);
const CAPTURED = new Set(['SUCCESS', 'PARTIALLY_REFUNDED', 'REFUNDED']);

const holds = (h: GatewayHolding) => h.collected - h.refunded !== 0 || h.pending !== 0;

/** Every invariant one payment breaks, with what was seen. */
export function moneyViolations({
  view,
  books,
  asks,
  work,
}: InvariantInput): { rule: Invariant; detail: string }[] {
  const found: { rule: Invariant; detail: string }[] = [];
  const flag = (rule: Invariant, detail: string) => found.push({ rule, detail });
  const holding = books.holdings.filter(holds);
  const state = view.state;

  if (holding.length > 1)
    flag('two-gateways-hold-money', `held by ${holding.map((h) => h.gateway).join(' and ')}`);
  if (ENDED.has(state) && books.openAuthorizations > 0) {
    flag('authorization-open-after-end', `${state} with ${books.openAuthorizations} open authorization(s)`);
  }
  if (ENDED.has(state) && holding.length > 0) {
    flag('ended-but-holds-money', `${state}, books: ${JSON.stringify(holding)}`);
  }
  const pendingRefunds = (h: GatewayHolding) => Math.max(0, -h.pending);
  if (
    view.amounts.refunded > view.amounts.captured ||
    books.holdings.some((h) => h.refunded + pendingRefunds(h) > h.collected)
  ) {
    flag(
      'refunded-more-than-captured',
      `view ${view.amounts.refunded}/${view.amounts.captured}, books ${JSON.stringify(books.holdings)}`,
    );
  }
  const open = work.activities + work.timers;
  if (work.running && !FINAL.has(state) && state !== 'REQUIRES_REVIEW' && open === 0) {
    flag('stuck-without-work', `${state} with no pending activity and no timer`);
  }
  if (CAPTURED.has(state)) {
    const own = books.holdings.filter((h) => h.gateway.toUpperCase() === view.gateway);
    const collected = own.reduce((s, h) => s + h.collected, 0);
    const refunded = own.reduce((s, h) => s + h.refunded, 0);
    const pending = own.reduce((s, h) => s + Math.abs(h.pending), 0);
    const elsewhere = holding.filter((h) => h.gateway.toUpperCase() !== view.gateway);
    if (
      collected !== view.amounts.captured ||
      refunded !== view.amounts.refunded ||
      pending !== 0 ||
      elsewhere.length > 0
    ) {
      flag(
        'books-differ-from-payment',
        `${state} at ${view.gateway}: captured ${view.amounts.captured}, refunded ${view.amounts.refunded}; ` +
          `books ${JSON.stringify(books.holdings)}`,
      );
    }
  }
  const refundedAnywhere = books.holdings.reduce((s, h) => s + h.refunded + pendingRefunds(h), 0);
  if (!asks.full && refundedAnywhere > asks.minor) {
    flag(
      'refund-nobody-asked-for',
      `refunded ${refundedAnywhere}, asked for ${asks.minor} and never in full`,
    );
  }
  return found;
}

/** One payment's books at the sandbox PSP. */
export function sandboxBooks(sandbox: Sandbox, paymentId: string): PaymentBooks {
  return {
    holdings: sandbox.holdings({ paymentId }),
    openAuthorizations: sandbox.openAuthorizations({ paymentId }).length,
  };
}

/** One payment's books at a MOCK gateway, in the sandbox's terms. */
export function mockBooks(gateway: MockGateway, paymentId: string): PaymentBooks {
  const of = (kind: Parameters<MockGateway['operations']>[0]) =>
    gateway.operations(kind).filter((e) => e.paymentId === paymentId);
  const total = (entries: ReturnType<typeof of>) => entries.reduce((s, e) => s + e.amount.amount, 0);
  const charges = of('charge');
  const autoCaptured = charges.filter((e) => e.outcome.status === 'succeeded');
  const authorizations = charges.filter((e) => e.outcome.status === 'authorized');
  const closed = of('capture').length + of('void').length;
  const collected = total(autoCaptured) + total(of('capture'));
  const refunded = total(of('refund'));
  return {
    holdings: charges.length === 0 ? [] : [{ gateway: 'MOCK', collected, refunded, pending: 0 }],
    openAuthorizations: Math.max(0, authorizations.length - closed),
  };
}
