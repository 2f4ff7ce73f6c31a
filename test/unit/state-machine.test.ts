import { assertTransition, canTransition, isSettled, isTerminal } from '../../src/domain/state-machine';
import { PaymentState } from '../../src/domain/types';

const STATES = Object.values(PaymentState);

/**
 * The allowed moves, written out from the spec (deliberately not derived from TRANSITIONS).
 * Everything not listed here must be refused.
 */
const EXPECTED_ALLOWED: Record<PaymentState, readonly PaymentState[]> = {
  INITIATED: ['PROCESSING', 'CANCELLED'],
  PROCESSING: ['SUCCESS', 'FAILURE', 'AUTHORIZED', 'REQUIRES_ACTION', 'REQUIRES_REVIEW'],
  REQUIRES_ACTION: ['PROCESSING', 'SUCCESS', 'AUTHORIZED', 'FAILURE', 'CANCELLED', 'REQUIRES_REVIEW'],
  AUTHORIZED: ['SUCCESS', 'CANCELLED', 'REQUIRES_REVIEW'],
  SUCCESS: ['PARTIALLY_REFUNDED', 'REFUNDED', 'REQUIRES_REVIEW'],
  PARTIALLY_REFUNDED: ['PARTIALLY_REFUNDED', 'REFUNDED', 'REQUIRES_REVIEW'],
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
};

const EXPECTED_TERMINAL: readonly PaymentState[] = ['FAILURE', 'CANCELLED', 'REFUNDED'];
const EXPECTED_UNSETTLED: readonly PaymentState[] = ['INITIATED', 'PROCESSING'];

const PAIRS: [PaymentState, PaymentState, boolean][] = STATES.flatMap((from) =>
  STATES.map((to): [PaymentState, PaymentState, boolean] => [from, to, EXPECTED_ALLOWED[from].includes(to)]),
);

/** Runs `fn` and returns what it threw, or undefined. */
function thrownBy(fn: () => void): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Matches the state name as a whole word, so REFUNDED does not match inside PARTIALLY_REFUNDED. */
function namesState(message: string, state: string): boolean {
  return new RegExp(`(^|[^A-Z_])${state}([^A-Z_]|$)`).test(message);
}

describe('payment state machine', () => {
  it('covers all ten payment states', () => {
    expect(STATES).toHaveLength(10);
    expect(PAIRS).toHaveLength(100);
    expect([...STATES].sort()).toEqual(Object.keys(EXPECTED_ALLOWED).sort());
  });

  test.each(PAIRS)('canTransition(%s, %s) is %s', (from, to, allowed) => {
    expect(canTransition(from, to)).toBe(allowed);
  });

  test.each(PAIRS)(
    'assertTransition(%s, %s) throws INVALID_STATE_TRANSITION naming both states exactly when not allowed (allowed: %s)',
    (from, to, allowed) => {
      const err = thrownBy(() => assertTransition(from, to));
      if (allowed) {
        expect(err).toBeUndefined();
        return;
      }
      expect(err).toBeDefined();
      expect((err as { code?: unknown }).code).toBe('INVALID_STATE_TRANSITION');
      const message = (err as { message?: unknown }).message;
      expect(typeof message).toBe('string');
      expect(namesState(message as string, from)).toBe(true);
      expect(namesState(message as string, to)).toBe(true);
    },
  );

  test.each(STATES.map((s) => [s, EXPECTED_TERMINAL.includes(s)] as const))(
    'isTerminal(%s) is %s',
    (state, terminal) => {
      expect(isTerminal(state)).toBe(terminal);
    },
  );

  test.each(STATES.map((s) => [s, !EXPECTED_UNSETTLED.includes(s)] as const))(
    'isSettled(%s) is %s',
    (state, settled) => {
      expect(isSettled(state)).toBe(settled);
    },
  );

  it('every terminal state is also settled', () => {
    for (const state of EXPECTED_TERMINAL) expect(isSettled(state)).toBe(true);
  });
});
