/** What a test card token does when charged, the same at both sandbox gateways. */
export type CardOutcome =
  | { kind: 'success' }
  | { kind: 'three_d_secure' }
  | { kind: 'processing_error' }
  | { kind: 'decline'; code: string; declineCode: string; message: string };

const DECLINES: Record<string, Extract<CardOutcome, { kind: 'decline' }>> = {
  tok_chargeDeclined: {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'generic_decline',
    message: 'Your card was declined.',
  },
  tok_chargeDeclinedInsufficientFunds: {
    kind: 'decline',
    code: 'card_declined',
    declineCode: 'insufficient_funds',
    message: 'Your card has insufficient funds.',
  },
  tok_chargeDeclinedExpiredCard: {
    kind: 'decline',
    code: 'expired_card',
    declineCode: 'expired_card',
    message: 'Your card has expired.',
  },
  tok_chargeDeclinedIncorrectCvc: {
    kind: 'decline',
    code: 'incorrect_cvc',
    declineCode: 'incorrect_cvc',
    message: "Your card's security code is incorrect.",
  },
};

const SUCCEEDING = new Set(['tok_visa', 'tok_visa_debit', 'tok_mastercard', 'tok_amex']);

/**
 * Stripe's test tokens (`tok_visa`, `tok_chargeDeclined`, …) and their `pm_card_*` twins; any
 * `tok_mock_*` from the MOCK tokenization succeeds. Undefined for a token the sandbox does not know.
 */
export function cardOutcome(token: string): CardOutcome | undefined {
  const name = token.startsWith('pm_card_') ? `tok_${token.slice('pm_card_'.length)}` : token;
  if (SUCCEEDING.has(name) || /^tok_mock_\w+$/.test(name)) return { kind: 'success' };
  if (name === 'tok_threeDSecure2Required') return { kind: 'three_d_secure' };
  if (name === 'tok_chargeDeclinedProcessingError') return { kind: 'processing_error' };
  return Object.hasOwn(DECLINES, name) ? DECLINES[name] : undefined;
}
