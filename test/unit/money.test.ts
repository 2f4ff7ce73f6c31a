import fc from 'fast-check';
import {
  CURRENCIES,
  Currency,
  currencyExponent,
  isCurrencyCode,
  type CurrencyCode,
} from '../../src/domain/currencies';
import {
  MAX_MAJOR_AMOUNT,
  formatMinor,
  formatMoney,
  money,
  parseMajorAmount,
  toMinorUnits,
} from '../../src/domain/money';

const rejection = (value: unknown, currency: CurrencyCode) => {
  const result = parseMajorAmount(value, currency);
  if (result.ok) throw new Error(`expected ${String(value)} to be rejected, got ${result.minor}`);
  return result.message;
};

describe('currency table', () => {
  const entries = Object.entries(CURRENCIES);

  it('lists more than 150 active ISO 4217 currencies', () => {
    expect(entries.length).toBeGreaterThan(150);
  });

  it('keys every entry by its own code, with an exponent between 0 and 4', () => {
    for (const [key, { code, exponent }] of entries) {
      expect(code).toBe(key);
      expect(key).toMatch(/^[A-Z]{3}$/);
      expect(Number.isInteger(exponent) && exponent >= 0 && exponent <= 4).toBe(true);
    }
  });

  it('contains the common and the unusual-exponent currencies', () => {
    for (const code of ['USD', 'EUR', 'GBP', 'INR', 'AUD', 'CAD', 'JPY', 'BHD', 'KWD', 'CLF']) {
      expect(isCurrencyCode(code)).toBe(true);
    }
  });

  it('uses the ISO minor units: 0 for JPY and KRW, 2 for USD and EUR, 3 for the dinars, 4 for CLF and UYW', () => {
    const expected: Partial<Record<CurrencyCode, number>> = {
      JPY: 0,
      KRW: 0,
      USD: 2,
      EUR: 2,
      BHD: 3,
      KWD: 3,
      JOD: 3,
      OMR: 3,
      TND: 3,
      LYD: 3,
      IQD: 3,
      CLF: 4,
      UYW: 4,
    };
    for (const [code, exponent] of Object.entries(expected)) {
      expect(currencyExponent(code as CurrencyCode)).toBe(exponent);
    }
  });

  it('leaves out codes whose minor unit is N.A.', () => {
    for (const code of ['XAU', 'XAG', 'XPT', 'XPD', 'XDR', 'XXX', 'XTS', 'XSU', 'XUA']) {
      expect(isCurrencyCode(code)).toBe(false);
    }
  });

  it('exposes Currency.X === "X" for every code', () => {
    expect(Currency.USD).toBe('USD');
    expect(Object.keys(Currency)).toEqual(Object.keys(CURRENCIES));
    for (const [key, value] of Object.entries(Currency)) expect(value).toBe(key);
  });

  it('does not mistake prototype keys, lower case or non-strings for currency codes', () => {
    for (const value of [
      '__proto__',
      'toString',
      'constructor',
      'hasOwnProperty',
      'usd',
      '',
      'USDX',
      840,
      null,
      undefined,
      {},
    ]) {
      expect(isCurrencyCode(value)).toBe(false);
    }
  });
});

describe('parseMajorAmount', () => {
  it('converts decimals exactly without float multiplication', () => {
    expect(toMinorUnits(0.29, 'USD')).toBe(29);
    expect(toMinorUnits(19.99, 'USD')).toBe(1999);
    expect(toMinorUnits(99.99, 'USD')).toBe(9999);
    expect(toMinorUnits(1.1, 'USD')).toBe(110);
    expect(toMinorUnits(0.57, 'USD')).toBe(57);
    expect(toMinorUnits(1.234, 'BHD')).toBe(1234);
    expect(toMinorUnits(1000, 'JPY')).toBe(1000);
    expect(toMinorUnits(0.0001, 'CLF')).toBe(1);
  });

  it('accepts plain decimal strings', () => {
    expect(toMinorUnits('99.99', 'USD')).toBe(9999);
    expect(toMinorUnits('0.05', 'USD')).toBe(5);
    expect(toMinorUnits('5', 'USD')).toBe(500);
    expect(toMinorUnits('1.234', 'BHD')).toBe(1234);
    expect(toMinorUnits('007.50', 'USD')).toBe(750);
  });

  it('accepts trailing zeros beyond the exponent because the value is still exact', () => {
    expect(toMinorUnits('10.50', 'USD')).toBe(1050);
    expect(toMinorUnits('10.500', 'USD')).toBe(1050);
    expect(toMinorUnits('1000.00', 'JPY')).toBe(1000);
  });

  it('rejects more decimals than the currency allows', () => {
    expect(rejection(1.005, 'USD')).toBe('USD allows at most 2 decimal places');
    expect(rejection('1.005', 'USD')).toBe('USD allows at most 2 decimal places');
    expect(rejection(1.5, 'JPY')).toBe('JPY allows no decimal places');
    expect(rejection('1.2345', 'BHD')).toBe('BHD allows at most 3 decimal places');
  });

  it('rejects float artefacts such as 0.1 + 0.2', () => {
    expect(rejection(0.1 + 0.2, 'USD')).toBe('USD allows at most 2 decimal places');
    expect(rejection(0.30000000000000004, 'BHD')).toBe('BHD allows at most 3 decimal places');
  });

  it('reads exponent notation produced by String(n) exactly', () => {
    expect(rejection(1e-7, 'USD')).toBe('USD allows at most 2 decimal places');
    expect(rejection(1.5e-7, 'CLF')).toBe('CLF allows at most 4 decimal places');
    expect(rejection(5e-324, 'USD')).toBe('USD allows at most 2 decimal places');
    expect(rejection(1e21, 'USD')).toBe(`must be at most ${MAX_MAJOR_AMOUNT}`);
    expect(rejection(1.5e21, 'JPY')).toBe(`must be at most ${MAX_MAJOR_AMOUNT}`);
  });

  it('requires an amount greater than 0', () => {
    for (const value of [0, -0, -1, -0.01, '0', '0.00']) {
      expect(rejection(value, 'USD')).toBe('must be greater than 0');
    }
  });

  it(`accepts exactly ${MAX_MAJOR_AMOUNT} and rejects one smallest unit more`, () => {
    expect(toMinorUnits(MAX_MAJOR_AMOUNT, 'USD')).toBe(99_999_999_900);
    expect(toMinorUnits(MAX_MAJOR_AMOUNT, 'CLF')).toBe(9_999_999_990_000);
    expect(rejection(999_999_999.01, 'USD')).toBe('must be at most 999999999');
    expect(rejection('999999999.001', 'BHD')).toBe('must be at most 999999999');
    expect(rejection('999999999.0001', 'CLF')).toBe('must be at most 999999999');
    expect(rejection(1_000_000_000, 'JPY')).toBe('must be at most 999999999');
    expect(rejection('1' + '0'.repeat(400), 'USD')).toBe('must be at most 999999999');
  });

  it('rejects NaN, Infinity and 1e308', () => {
    expect(rejection(NaN, 'USD')).toBe('must be a finite number');
    expect(rejection(Infinity, 'USD')).toBe('must be a finite number');
    expect(rejection(-Infinity, 'USD')).toBe('must be a finite number');
    expect(rejection(1e308, 'USD')).toBe('must be at most 999999999');
  });

  it('rejects strings that are not plain decimals', () => {
    for (const value of [
      '',
      ' ',
      ' 1',
      '1 ',
      '+1',
      '-1',
      '1.',
      '.5',
      '1e3',
      '0x10',
      '1,000',
      'abc',
      'NaN',
      'Infinity',
      '١',
    ]) {
      expect(rejection(value, 'USD')).toBe('must be a decimal number');
    }
  });

  it('rejects values that are neither numbers nor strings', () => {
    for (const value of [true, false, null, undefined, {}, [], [1], 10n, Symbol('x')]) {
      expect(rejection(value, 'USD')).toBe('must be a number or a decimal string');
    }
  });

  it('rejects an unknown currency instead of crashing', () => {
    expect(rejection(1, '__proto__' as CurrencyCode)).toMatch(/not a supported currency/);
  });

  it('throws a RangeError with the message from toMinorUnits', () => {
    expect(() => toMinorUnits(1.005, 'USD')).toThrow(new RangeError('USD allows at most 2 decimal places'));
  });
});

describe('formatting', () => {
  it('formats minor units as exact decimal strings with the currency decimals', () => {
    expect(formatMinor(9999, 'USD')).toBe('99.99');
    expect(formatMinor(5, 'USD')).toBe('0.05');
    expect(formatMinor(9990, 'USD')).toBe('99.90');
    expect(formatMinor(0, 'USD')).toBe('0.00');
    expect(formatMinor(1000, 'JPY')).toBe('1000');
    expect(formatMinor(1234, 'BHD')).toBe('1.234');
    expect(formatMinor(1, 'CLF')).toBe('0.0001');
  });

  it('refuses to format non-integers', () => {
    expect(() => formatMinor(1.5, 'USD')).toThrow(RangeError);
    expect(() => formatMinor(Number.MAX_SAFE_INTEGER + 1, 'USD')).toThrow(RangeError);
  });

  it('formats money as "CODE amount"', () => {
    expect(formatMoney(money(9999, 'USD'))).toBe('USD 99.99');
    expect(formatMoney(money(1000, Currency.JPY))).toBe('JPY 1000');
  });

  it('builds Money only from safe non-negative integers and known currencies', () => {
    expect(money(0, 'USD')).toEqual({ amount: 0, currency: 'USD' });
    for (const bad of [-1, 1.5, NaN, Infinity, Number.MAX_SAFE_INTEGER + 1]) {
      expect(() => money(bad, 'USD')).toThrow(RangeError);
    }
    expect(() => money(1, 'XAU' as CurrencyCode)).toThrow(RangeError);
  });
});

describe('round trips', () => {
  const classes: Array<[CurrencyCode, number]> = [
    ['JPY', 0],
    ['USD', 2],
    ['BHD', 3],
    ['CLF', 4],
  ];

  it.each(classes)('parses back every formatted %s amount in range (exponent %i)', (currency, exponent) => {
    const maxMinor = MAX_MAJOR_AMOUNT * 10 ** exponent;
    fc.assert(
      fc.property(fc.integer({ min: 1, max: maxMinor }), (minor) => {
        expect(toMinorUnits(formatMinor(minor, currency), currency)).toBe(minor);
      }),
    );
  });

  it.each(classes)(
    'accepts the number form of every formatted %s amount (exponent %i)',
    (currency, exponent) => {
      const maxMinor = MAX_MAJOR_AMOUNT * 10 ** exponent;
      fc.assert(
        fc.property(fc.integer({ min: 1, max: maxMinor }), (minor) => {
          // Number("19.99") is the double nearest 19.99, and String() of it gives "19.99" back.
          expect(toMinorUnits(Number(formatMinor(minor, currency)), currency)).toBe(minor);
        }),
      );
    },
  );

  it('holds at the edges for every currency in the table', () => {
    for (const code of Object.keys(CURRENCIES) as CurrencyCode[]) {
      const maxMinor = MAX_MAJOR_AMOUNT * 10 ** currencyExponent(code);
      for (const minor of [1, 10, maxMinor - 1, maxMinor]) {
        expect(toMinorUnits(formatMinor(minor, code), code)).toBe(minor);
      }
    }
  });
});
