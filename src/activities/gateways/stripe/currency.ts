/** How Stripe writes amounts, where it differs from ISO 4217. Conversions are exact or refused, never rounded. */
import { currencyExponent, type CurrencyCode } from '../../../domain/currencies';
import type { Money } from '../../../domain/types';

/** Stripe's presentment currencies (docs.stripe.com/currencies) that AegisPay's currency table knows. */
// prettier-ignore
export const STRIPE_CURRENCIES = [
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
] as const satisfies readonly CurrencyCode[];

/** Stripe's decimals where they differ from ISO: ISK stays two-decimal in the API, MGA is zero-decimal. */
const STRIPE_EXPONENT: Partial<Record<CurrencyCode, number>> = { ISK: 2, MGA: 0 };

/** Stripe takes these in thousandths but only with a last digit of 0 (its card partners settle in hundredths). */
const STRIPE_THREE_DECIMAL: readonly CurrencyCode[] = ['BHD', 'JOD', 'KWD', 'OMR', 'TND'];

/**
 * The integer Stripe expects for `money`, or undefined when Stripe cannot represent it exactly
 * (a KWD amount not ending in 0, an MGA amount with cents): refusing is safer than rounding a charge.
 */
export function toStripeAmount(money: Money): number | undefined {
  const shift = stripeExponent(money.currency) - currencyExponent(money.currency);
  const amount = shift >= 0 ? money.amount * 10 ** shift : money.amount / 10 ** -shift;
  if (!Number.isSafeInteger(amount)) return undefined;
  if (STRIPE_THREE_DECIMAL.includes(money.currency) && amount % 10 !== 0) return undefined;
  return amount;
}

/** ISO minor units of a Stripe amount, or undefined when it is not valid for Stripe (ISK 150, KWD 1005). */
export function fromStripeAmount(amount: number, currency: CurrencyCode): Money | undefined {
  if (!Number.isSafeInteger(amount) || amount < 0) return undefined;
  const shift = stripeExponent(currency) - currencyExponent(currency);
  const minor = shift >= 0 ? amount / 10 ** shift : amount * 10 ** -shift;
  if (!Number.isSafeInteger(minor)) return undefined;
  if (STRIPE_THREE_DECIMAL.includes(currency) && amount % 10 !== 0) return undefined;
  return { amount: minor, currency };
}

function stripeExponent(currency: CurrencyCode): number {
  return STRIPE_EXPONENT[currency] ?? currencyExponent(currency);
}
