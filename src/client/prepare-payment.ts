import { createHash } from 'node:crypto';
import { mockTokenizeCard } from './mock-tokenizer';
import { isGatewayToken } from '../domain/cards';
import { paymentWorkflowId } from '../domain/ids';
import { fingerprintSource } from '../domain/payment';
import type { NewPayment, StoredPaymentMethod, TokenizedCard } from '../domain/types';
import type { ValidatedCardDetails, ValidatedPaymentRequest } from '../domain/validation';

/** Turns validated card details into a gateway token, in the caller's process, before any workflow starts. */
export type CardTokenizer = (card: ValidatedCardDetails) => TokenizedCard | Promise<TokenizedCard>;

/** Stripe's test tokens name their brand: `tok_visa`, `tok_mastercard`, `tok_amex`. */
function brandOfToken(token: string): string {
  const match = /^tok_(visa|mastercard|amex|discover|diners|jcb|unionpay)/.exec(token);
  return match?.[1] ?? 'unknown';
}

/**
 * The card boundary: the validated request becomes the workflow's input. The card number and CVV
 * are used here once, by the tokenizer, and are not part of what this returns.
 */
export async function preparePayment(
  request: ValidatedPaymentRequest,
  tokenizer: CardTokenizer = mockTokenizeCard,
  merchantScope?: string,
): Promise<NewPayment> {
  const method = request.paymentMethod;
  let paymentMethod: StoredPaymentMethod;
  if (method.type === 'CARD') {
    const { cardNumber, expiryMonth, expiryYear, cardHolderName } = method.details;
    const card: TokenizedCard = isGatewayToken(cardNumber)
      ? {
          token: cardNumber,
          brand: brandOfToken(cardNumber),
          expiryMonth,
          expiryYear,
          ...(cardHolderName ? { cardHolderName } : {}),
        }
      : await tokenizer(method.details);
    paymentMethod = { type: 'CARD', card };
  } else {
    paymentMethod = { type: method.type, details: method.details ?? {} };
  }
  const payment: Omit<NewPayment, 'id' | 'fingerprint'> = {
    idempotencyKey: request.idempotencyKey,
    amount: { amount: request.amountMinor, currency: request.currency },
    customer: request.customer,
    paymentMethod,
    metadata: request.metadata,
    captureMethod: request.captureMethod,
    ...(request.gatewayType ? { gatewayType: request.gatewayType } : {}),
  };
  return {
    ...payment,
    id: paymentWorkflowId(request.idempotencyKey, merchantScope),
    fingerprint: createHash('sha256').update(fingerprintSource(payment)).digest('hex'),
  };
}
