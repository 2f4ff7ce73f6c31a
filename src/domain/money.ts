/**
 * Exact money helpers: amounts are integers in minor units and are never computed with float arithmetic.
 * Sandbox-safe: bundled into workflows, so no Node built-ins and no I/O.
 */
import { currencyExponent, isCurrencyCode, type CurrencyCode } from './currencies';
import type { Money } from './types';

/** Max payment amount in major units, as the deployment guide set it (docs/migrating.md): amount > 0 and <= 999,999,999. */
export const MAX_MAJOR_AMOUNT = 999_999_999;

const PLAIN_DECIMAL = /^(\d+)(?:\.(\d+))?$/;
const EXPONENT_NOTATION = /^(\d+)(?:\.(\d+))?e([+-]\d+)$/;

/** Result of {@link parseMajorAmount}: the exact minor-unit integer, or why the input was refused. */
export type ParseAmountResult = { ok: true; minor: number } | { ok: false; message: string };

/** Converts a major-unit amount (99.99 or "99.99") to integer minor units exactly, or explains why it cannot. */
export function parseMajorAmount(value: unknown, currency: CurrencyCode): ParseAmountResult {
  if (!isCurrencyCode(currency)) return fail(`${String(currency)} is not a supported currency`);
  let text: string;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) return fail('must be a finite number');
    if (value <= 0) return fail('must be greater than 0');
    // String(n) is the shortest decimal that round-trips to n, so it is the value the caller meant.
    text = toPlainDecimal(String(value));
  } else if (typeof value === 'string') {
    text = value;
  } else {
    return fail('must be a number or a decimal string');
  }

  const match = PLAIN_DECIMAL.exec(text);
  if (!match) return fail('must be a decimal number');
  const whole = (match[1] ?? '').replace(/^0+/, '');
  // Trailing zeros beyond the exponent are accepted ("10.500" USD): the value is still exact.
  const fraction = (match[2] ?? '').replace(/0+$/, '');

  const exponent = currencyExponent(currency);
  if (fraction.length > exponent) {
    return fail(
      exponent === 0
        ? `${currency} allows no decimal places`
        : `${currency} allows at most ${exponent} decimal places`,
    );
  }
  // Compare digit counts first so absurdly long strings never reach Number().
  if (whole.length > String(MAX_MAJOR_AMOUNT).length || Number(whole) > MAX_MAJOR_AMOUNT) {
    return fail(`must be at most ${MAX_MAJOR_AMOUNT}`);
  }
  if (Number(whole) === MAX_MAJOR_AMOUNT && fraction !== '')
    return fail(`must be at most ${MAX_MAJOR_AMOUNT}`);

  // At most 9 + 4 digits, so the integer is always safe.
  const minor = Number(whole + fraction.padEnd(exponent, '0'));
  if (minor === 0) return fail('must be greater than 0');
  return { ok: true, minor };
}

/** Like {@link parseMajorAmount} but throws a RangeError carrying the message on bad input. */
export function toMinorUnits(value: number | string, currency: CurrencyCode): number {
  const result = parseMajorAmount(value, currency);
  if (!result.ok) throw new RangeError(result.message);
  return result.minor;
}

/** Formats integer minor units as an exact decimal string with the currency's decimals ("99.99", "1000" for JPY). */
export function formatMinor(minor: number, currency: CurrencyCode): string {
  if (!Number.isSafeInteger(minor)) throw new RangeError(`minor amount must be a safe integer, got ${minor}`);
  const exponent = currencyExponent(currency);
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const sign = minor < 0 ? '-' : '';
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/** Formats money for people and logs: "USD 99.99". */
export function formatMoney(money: Money): string {
  return `${money.currency} ${formatMinor(money.amount, money.currency)}`;
}

/** Builds a Money value, throwing a RangeError unless `minor` is a safe non-negative integer and the currency is known. */
export function money(minor: number, currency: CurrencyCode): Money {
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new RangeError(`minor amount must be a safe non-negative integer, got ${minor}`);
  }
  if (!isCurrencyCode(currency)) throw new RangeError(`${String(currency)} is not a supported currency`);
  return { amount: minor, currency };
}

function fail(message: string): ParseAmountResult {
  return { ok: false, message };
}

/** Rewrites exponent notation from String(n) ("1e-7", "1.5e+21") as a plain decimal; other text is returned as is. */
function toPlainDecimal(text: string): string {
  const match = EXPONENT_NOTATION.exec(text);
  if (!match) return text;
  const whole = match[1] ?? '';
  const fraction = match[2] ?? '';
  const digits = whole + fraction;
  const point = whole.length + Number(match[3]);
  if (point <= 0) return `0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return digits + '0'.repeat(point - digits.length);
  return `${digits.slice(0, point)}.${digits.slice(point)}`;
}
