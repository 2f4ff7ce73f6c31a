/**
 * The client's default tokenizer, for the MOCK gateway and tests: Stripe's test card numbers become
 * the Stripe test tokens the MOCK gateway answers by; any other card a random `tok_mock_…` token.
 */
import { randomUUID } from 'node:crypto';
import { cardBrand, normalizeCardNumber } from '../domain/cards';
import type { CardDetails, TokenizedCard } from '../domain/types';

/** Stripe's test card numbers and the Stripe test tokens that stand for them. */
export const MOCK_TEST_CARDS = {
  '4242424242424242': 'tok_visa',
  '4000002760003184': 'tok_threeDSecure2Required',
  '4000000000000002': 'tok_chargeDeclined',
  '4000000000009995': 'tok_chargeDeclinedInsufficientFunds',
  '4000000000000119': 'tok_chargeDeclinedProcessingError',
} as const satisfies Record<string, string>;

/**
 * The MOCK gateway's tokenization, run by the client before a workflow starts: the card number and
 * CVV stay in the caller's process, the workflow sees only the token, brand, last 4 and expiry.
 */
export function mockTokenizeCard(details: CardDetails): TokenizedCard {
  const number = normalizeCardNumber(details.cardNumber);
  const brand = cardBrand(number);
  const known = (MOCK_TEST_CARDS as Record<string, string>)[number];
  return {
    token: known ?? `tok_mock_${randomUUID().replace(/-/g, '')}`,
    brand,
    last4: number.slice(-4),
    expiryMonth: Number(details.expiryMonth),
    expiryYear: normalizeYear(Number(details.expiryYear)),
    ...(details.cardHolderName ? { cardHolderName: details.cardHolderName } : {}),
  };
}

function normalizeYear(year: number): number {
  return year < 100 ? 2000 + year : year;
}
