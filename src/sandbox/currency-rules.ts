/**
 * How the PSPs' APIs write amounts, as the sandbox enforces them. Written from the PSPs' documentation
 * on its own, not shared with the adapters (src/activities/gateways/currency-rules.ts), so that an
 * adapter's mistake about a currency is refused here instead of agreed with.
 */
import { currencyExponent, type CurrencyCode } from '../domain/currencies';
import { parseMajorAmount } from '../domain/money';

/** Stripe's presentment currencies (docs.stripe.com/currencies) that AegisPay's currency table knows. */
// prettier-ignore
export const STRIPE_API_CURRENCIES: ReadonlySet<string> = new Set([
  'USD', 'AED', 'AFN', 'ALL', 'AMD', 'AOA', 'ARS', 'AUD', 'AWG', 'AZN', 'BAM', 'BBD', 'BDT', 'BHD', 'BIF',
  'BMD', 'BND', 'BOB', 'BRL', 'BSD', 'BWP', 'BYN', 'BZD', 'CAD', 'CDF', 'CHF', 'CLP', 'CNY', 'COP', 'CRC',
  'CVE', 'CZK', 'DJF', 'DKK', 'DOP', 'DZD', 'EGP', 'ETB', 'EUR', 'FJD', 'FKP', 'GBP', 'GEL', 'GIP', 'GMD',
  'GNF', 'GTQ', 'GYD', 'HKD', 'HNL', 'HTG', 'HUF', 'IDR', 'ILS', 'INR', 'ISK', 'JMD', 'JOD', 'JPY', 'KES',
  'KGS', 'KHR', 'KMF', 'KRW', 'KWD', 'KYD', 'KZT', 'LAK', 'LBP', 'LKR', 'LRD', 'LSL', 'MAD', 'MDL', 'MGA',
  'MKD', 'MMK', 'MNT', 'MOP', 'MUR', 'MVR', 'MWK', 'MXN', 'MYR', 'MZN', 'NAD', 'NGN', 'NIO', 'NOK', 'NPR',
  'NZD', 'OMR', 'PAB', 'PEN', 'PGK', 'PHP', 'PKR', 'PLN', 'PYG', 'QAR', 'RON', 'RSD', 'RUB', 'RWF', 'SAR',
  'SBD', 'SCR', 'SEK', 'SGD', 'SHP', 'SLE', 'SOS', 'SRD', 'SZL', 'THB', 'TJS', 'TND', 'TOP', 'TRY', 'TTD',
  'TWD', 'TZS', 'UAH', 'UGX', 'UYU', 'UZS', 'VND', 'VUV', 'WST', 'XAF', 'XCD', 'XCG', 'XOF', 'XPF', 'YER',
  'ZAR', 'ZMW',
]);

/** Stripe's zero-decimal currencies (docs.stripe.com/currencies#zero-decimal). */
// prettier-ignore
const STRIPE_ZERO_DECIMAL = new Set([
  'BIF', 'CLP', 'DJF', 'GNF', 'JPY', 'KMF', 'KRW', 'MGA', 'PYG', 'RWF', 'UGX', 'VND', 'VUV', 'XAF', 'XOF', 'XPF',
]);

/** Stripe's three-decimal currencies: amounts in thousandths, last digit 0 (docs.stripe.com/currencies#three-decimal). */
const STRIPE_THREE_DECIMAL = new Set(['BHD', 'JOD', 'KWD', 'OMR', 'TND']);

/** ISO minor units of a Stripe API amount, or undefined when Stripe refuses it (ISK 150, KWD 1005). */
export function stripeApiAmount(amount: number, currency: CurrencyCode): number | undefined {
  const decimals = STRIPE_ZERO_DECIMAL.has(currency) ? 0 : STRIPE_THREE_DECIMAL.has(currency) ? 3 : 2;
  if (!Number.isSafeInteger(amount) || amount < 0) return undefined;
  if (decimals === 3 && amount % 10 !== 0) return undefined;
  const shift = decimals - currencyExponent(currency);
  const minor = shift >= 0 ? amount / 10 ** shift : amount * 10 ** -shift;
  return Number.isSafeInteger(minor) ? minor : undefined;
}

/** PayPal's currencies for card payments (developer.paypal.com/api/rest/reference/currency-codes). */
// prettier-ignore
export const PAYPAL_API_CURRENCIES: ReadonlySet<string> = new Set([
  'AUD', 'BRL', 'CAD', 'CHF', 'CNY', 'CZK', 'DKK', 'EUR', 'GBP', 'HKD', 'HUF', 'ILS', 'JPY', 'MXN', 'MYR',
  'NOK', 'NZD', 'PHP', 'PLN', 'SEK', 'SGD', 'THB', 'TWD', 'USD',
]);

/** PayPal's currencies without decimals (the same reference's "decimal support" notes). */
const PAYPAL_NO_DECIMALS = new Set(['HUF', 'JPY', 'TWD']);

/** ISO minor units of a PayPal API value ("10.99", "1000" for HUF), or undefined when PayPal refuses it. */
export function paypalApiAmount(value: string, currency: CurrencyCode): number | undefined {
  if (PAYPAL_NO_DECIMALS.has(currency) && !/^\d+$/.test(value)) return undefined;
  const parsed = parseMajorAmount(value, currency);
  return parsed.ok ? parsed.minor : undefined;
}
