/**
 * The store's last check that no card number or CVV reaches a row. The client tokenizes cards and the
 * workflow refuses card numbers as tokens, so this never fires on a correct path; it exists because
 * the store keeps rows for years, so a card number written by a bug would sit there that long.
 */
import { containsCardNumber } from '../domain/cards';

export { containsCardNumber };
import { ValidationError } from '../domain/errors';

/** Fields that hold raw card data wherever they appear (the deployment guide's names and common synonyms). */
const CARD_FIELDS = new Set(['cardnumber', 'card_number', 'pan', 'cvv', 'cvc', 'cvv2', 'securitycode']);
/**
 * Paths skipped by the Luhn scan: phone numbers are digits too (one in ten long ones passes Luhn),
 * and they are validated by the client and encrypted with the other personal data.
 */
const SKIPPED_PATHS = new Set(['customer.phone']);
/**
 * Fields skipped wherever they appear: identifiers and times the merchant or AegisPay chose
 * (`order_1733500000000` is 13 digits, and one long number in ten passes Luhn), which also name the
 * payment in Temporal. A card number put there by a caller would already be in a workflow ID.
 */
const IDENTIFIER_FIELDS = new Set([
  'id',
  'idempotencyKey',
  'paymentId',
  'gatewayIdempotencyKey',
  'gatewayReference',
  'reference',
  'refundId',
  'fingerprint',
  'at',
  'createdAt',
  'updatedAt',
  'since',
]);

/** Paths of `value` that hold a card number or a card field (never the values themselves). */
export function cardDataPaths(value: unknown, path = ''): string[] {
  if (typeof value === 'string') {
    return !SKIPPED_PATHS.has(path) && containsCardNumber(value) ? [path] : [];
  }
  if (typeof value === 'number') return containsCardNumber(String(value)) ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => cardDataPaths(v, `${path}[${i}]`));
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, v]) => {
    const at = path ? `${path}.${key}` : key;
    const named = CARD_FIELDS.has(key.toLowerCase()) && v !== undefined && v !== null && v !== '';
    if (named) return [at];
    if (IDENTIFIER_FIELDS.has(key) && (typeof v === 'string' || typeof v === 'number')) return [];
    return [...(containsCardNumber(key) ? [at] : []), ...cardDataPaths(v, at)];
  });
}

/** Throws (naming paths, never values) when anything about to be stored holds card data. */
export function assertNoCardData(what: string, value: unknown): void {
  const paths = cardDataPaths(value);
  if (paths.length === 0) return;
  throw new ValidationError(
    paths.slice(0, 10).map((path) => ({
      path,
      message: 'holds a card number or CVV, which the payment store never keeps',
    })),
    what,
  );
}
