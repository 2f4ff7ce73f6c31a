/** How PayPal writes amounts, where it differs from ISO 4217. Conversions are exact or refused, never rounded. */
import { currencyExponent, type CurrencyCode } from '../../../domain/currencies';
import { formatMinor, parseMajorAmount } from '../../../domain/money';
import type { Money } from '../../../domain/types';

/** PayPal's currencies for card payments (developer.paypal.com/api/rest/reference/currency-codes). */
// prettier-ignore
export const PAYPAL_CURRENCIES = [
  'AUD', 'BRL', 'CAD', 'CHF', 'CNY', 'CZK', 'DKK', 'EUR', 'GBP', 'HKD', 'HUF', 'ILS', 'JPY', 'MXN', 'MYR',
  'NOK', 'NZD', 'PHP', 'PLN', 'SEK', 'SGD', 'THB', 'TWD', 'USD',
] as const satisfies readonly CurrencyCode[];

/** PayPal accepts no decimals for these, although ISO gives them two. */
const PAYPAL_WHOLE_UNITS: readonly CurrencyCode[] = ['HUF', 'TWD'];

/** The decimal string PayPal expects ("10.99", "1000" for JPY), or undefined when PayPal cannot take it exactly. */
export function toPaypalValue(money: Money): string | undefined {
  if (!PAYPAL_WHOLE_UNITS.includes(money.currency)) return formatMinor(money.amount, money.currency);
  const scale = 10 ** currencyExponent(money.currency);
  return money.amount % scale === 0 ? String(money.amount / scale) : undefined;
}

/** ISO minor units of a PayPal decimal string, or undefined when PayPal would reject it. */
export function fromPaypalValue(value: string, currency: CurrencyCode): Money | undefined {
  if (PAYPAL_WHOLE_UNITS.includes(currency) && !/^\d+$/.test(value)) return undefined;
  const parsed = parseMajorAmount(value, currency);
  return parsed.ok ? { amount: parsed.minor, currency } : undefined;
}
