import { InvalidStateTransitionError } from './errors';
import { PaymentState } from './types';

/**
 * Every allowed move between payment states. Exhaustive over `PaymentState`: the compiler
 * rejects a state without an entry, and anything not listed here is an invalid transition.
 */
export const TRANSITIONS = {
  INITIATED: ['PROCESSING', 'CANCELLED'],
  PROCESSING: ['SUCCESS', 'FAILURE', 'AUTHORIZED', 'REQUIRES_ACTION', 'REQUIRES_REVIEW'],
  REQUIRES_ACTION: ['PROCESSING', 'SUCCESS', 'AUTHORIZED', 'FAILURE', 'CANCELLED', 'REQUIRES_REVIEW'],
  AUTHORIZED: ['SUCCESS', 'CANCELLED', 'REQUIRES_REVIEW'],
  SUCCESS: ['PARTIALLY_REFUNDED', 'REFUNDED', 'REQUIRES_REVIEW'],
  PARTIALLY_REFUNDED: ['PARTIALLY_REFUNDED', 'REFUNDED', 'REQUIRES_REVIEW'],
  // Review ends where the open operation's outcome leads, or back where it started when it did not happen.
  REQUIRES_REVIEW: [
    'SUCCESS',
    'FAILURE',
    'AUTHORIZED',
    'REQUIRES_ACTION',
    'CANCELLED',
    'PARTIALLY_REFUNDED',
    'REFUNDED',
  ],
  FAILURE: [],
  CANCELLED: [],
  REFUNDED: [],
} as const satisfies Record<PaymentState, readonly PaymentState[]>;

/** True when a payment may move from `from` to `to`. */
export function canTransition(from: PaymentState, to: PaymentState): boolean {
  return (TRANSITIONS[from] as readonly PaymentState[]).includes(to);
}

/** Throws `InvalidStateTransitionError` unless the move is allowed. */
export function assertTransition(from: PaymentState, to: PaymentState): void {
  if (!canTransition(from, to)) throw new InvalidStateTransitionError(from, to);
}

/** States no operation can leave. */
export function isTerminal(state: PaymentState): boolean {
  return TRANSITIONS[state].length === 0;
}

/** States in which processing has produced its outcome (what `processPayment` waits for). */
export function isSettled(state: PaymentState): boolean {
  return state !== PaymentState.INITIATED && state !== PaymentState.PROCESSING;
}
