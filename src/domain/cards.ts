/**
 * Card-number helpers: Luhn, brand detection, gateway tokens, expiry and CVV format.
 * Pure functions only, so they run in the workflow sandbox too.
 */

/** Card brands `cardBrand` can detect. */
export type CardBrand =
  'visa' | 'mastercard' | 'amex' | 'discover' | 'diners' | 'jcb' | 'unionpay' | 'unknown';

/** Returns true when a string of digits passes the Luhn (mod 10) checksum. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  // Walk from the right: every second digit is doubled, and 10..18 fold back to 1..9.
  for (let i = 0; i < digits.length; i++) {
    let d = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}

/**
 * Detects the card brand from the number's IIN prefix (spaces and dashes are ignored). Kept by hand
 * rather than card-validator: this module is in the workflow bundle (via `luhnValid`), and the
 * library's table names brands otherwise and moves numbers (622126–622925 from Discover to UnionPay,
 * Elo BINs out of Visa), so it would not be smaller and would change the brand some cards get.
 */
export function cardBrand(cardNumber: string): CardBrand {
  const n = normalizeCardNumber(cardNumber);
  if (!/^\d{6,}$/.test(n)) return 'unknown';
  const p2 = Number(n.slice(0, 2));
  const p3 = Number(n.slice(0, 3));
  const p4 = Number(n.slice(0, 4));
  const p6 = Number(n.slice(0, 6));
  // Order matters: the narrower Discover ranges inside 62xxxx win over UnionPay's 62.
  if (p2 === 34 || p2 === 37) return 'amex';
  if (n[0] === '4') return 'visa';
  if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return 'mastercard';
  if (p4 === 6011 || (p3 >= 644 && p3 <= 649) || p2 === 65 || (p6 >= 622126 && p6 <= 622925))
    return 'discover';
  if ((p3 >= 300 && p3 <= 305) || p4 === 3095 || p2 === 36 || p2 === 38 || p2 === 39) return 'diners';
  if (p4 >= 3528 && p4 <= 3589) return 'jcb';
  if (p2 === 62 || p2 === 81) return 'unionpay';
  return 'unknown';
}

/** Returns true for gateway card tokens such as `tok_visa`, `pm_card_visa` or `tok_mock_…`. */
export function isGatewayToken(value: string): boolean {
  return /^(tok|pm)_[A-Za-z0-9_]{1,100}$/.test(value);
}

/** Strips the spaces and dashes people type inside card numbers. */
export function normalizeCardNumber(s: string): string {
  return s.replace(/[\s-]/g, '');
}

/** Returns true while the card is usable: through the last day of its expiry month (UTC); 2-digit years mean 20YY. */
export function expiryIsValid(month: number, year: number, now: Date): boolean {
  if (!Number.isInteger(month) || month < 1 || month > 12 || !Number.isInteger(year) || year < 0)
    return false;
  const fullYear = year < 100 ? 2000 + year : year;
  const nowYear = now.getUTCFullYear();
  const nowMonth = now.getUTCMonth() + 1;
  return fullYear > nowYear || (fullYear === nowYear && month >= nowMonth);
}

/** Returns true when the CVV has the brand's length: 4 digits for amex, 3 for everything else. */
export function cvvFormatValid(cvv: string, brand: string): boolean {
  return brand === 'amex' ? /^\d{4}$/.test(cvv) : /^\d{3}$/.test(cvv);
}

/** Digits with the spaces and dashes people type between them, as long as a card number can be. */
const DIGIT_RUN = /\d[\d -]*\d/g;

/** True when a string holds 12-19 digits (spaces and dashes allowed) that pass the Luhn check. */
export function containsCardNumber(text: string): boolean {
  for (const run of text.match(DIGIT_RUN) ?? []) {
    const digits = run.replace(/[ -]/g, '');
    if (digits.length >= 12 && digits.length <= 19 && luhnValid(digits)) return true;
  }
  return false;
}
