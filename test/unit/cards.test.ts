import {
  cardBrand,
  cvvFormatValid,
  expiryIsValid,
  isGatewayToken,
  luhnValid,
  normalizeCardNumber,
} from '../../src/domain/cards';

describe('luhnValid', () => {
  it.each([
    '4242424242424242',
    '4000000000000002',
    '4000000000009995',
    '4000000000000119',
    '378282246310005',
    '5555555555554444',
  ])('accepts the test card %s', (pan) => expect(luhnValid(pan)).toBe(true));

  it.each(['4242424242424241', '4000000000000003', '378282246310006'])(
    'rejects %s (bad check digit)',
    (pan) => {
      expect(luhnValid(pan)).toBe(false);
    },
  );

  it.each(['', '4242 4242 4242 4242', 'abcd', '42424242424242a2'])('rejects non-digit input %j', (s) => {
    expect(luhnValid(s)).toBe(false);
  });
});

describe('cardBrand', () => {
  it.each([
    ['4242424242424242', 'visa'],
    ['4000000000000002', 'visa'],
    ['4000000000009995', 'visa'],
    ['4000000000000119', 'visa'],
    ['378282246310005', 'amex'],
    ['371449635398431', 'amex'],
    ['5555555555554444', 'mastercard'],
    ['2223003122003222', 'mastercard'],
    ['6011111111111117', 'discover'],
    ['6445644564456445', 'discover'],
    ['6221260000000000', 'discover'],
    ['3056930009020004', 'diners'],
    ['36227206271667', 'diners'],
    ['3566002020360505', 'jcb'],
    ['6200000000000005', 'unionpay'],
    ['9999999999999995', 'unknown'],
    ['42', 'unknown'],
    ['tok_visa', 'unknown'],
  ])('%s is %s', (pan, brand) => expect(cardBrand(pan)).toBe(brand));

  it('ignores spaces and dashes', () => {
    expect(cardBrand('3782 822463 10005')).toBe('amex');
    expect(cardBrand('4242-4242-4242-4242')).toBe('visa');
  });
});

describe('isGatewayToken', () => {
  it.each([
    'tok_visa',
    'tok_mastercard',
    'tok_chargeDeclined',
    'pm_card_visa',
    'tok_mock_abc123',
    `tok_${'a'.repeat(100)}`,
  ])('accepts %s', (t) => expect(isGatewayToken(t)).toBe(true));

  it.each([
    '4242424242424242',
    'tok_',
    'tok_a b',
    'tok-visa',
    'sk_test_123',
    'TOK_visa',
    `tok_${'a'.repeat(101)}`,
    ' tok_visa',
  ])('rejects %j', (t) => expect(isGatewayToken(t)).toBe(false));
});

describe('normalizeCardNumber', () => {
  it('strips spaces and dashes only', () => {
    expect(normalizeCardNumber(' 4242 4242-4242-4242 ')).toBe('4242424242424242');
    expect(normalizeCardNumber('4242.4242')).toBe('4242.4242');
  });
});

describe('expiryIsValid', () => {
  const now = new Date('2025-03-15T12:00:00Z');

  it('is valid through the end of the expiry month', () => {
    expect(expiryIsValid(3, 2025, now)).toBe(true);
    expect(expiryIsValid(3, 2025, new Date('2025-03-31T23:59:59.999Z'))).toBe(true);
    expect(expiryIsValid(3, 2025, new Date('2025-04-01T00:00:00Z'))).toBe(false);
  });

  it('rejects past months and years, accepts future ones', () => {
    expect(expiryIsValid(2, 2025, now)).toBe(false);
    expect(expiryIsValid(12, 2024, now)).toBe(false);
    expect(expiryIsValid(4, 2025, now)).toBe(true);
    expect(expiryIsValid(1, 2026, now)).toBe(true);
  });

  it('reads 2-digit years as 20YY', () => {
    expect(expiryIsValid(3, 25, now)).toBe(true);
    expect(expiryIsValid(2, 25, now)).toBe(false);
    expect(expiryIsValid(1, 30, now)).toBe(true);
  });

  it.each([
    [0, 2030],
    [13, 2030],
    [1.5, 2030],
    [6, -1],
    [6, 2030.5],
  ])('rejects month %d year %d', (m, y) => expect(expiryIsValid(m, y, now)).toBe(false));
});

describe('cvvFormatValid', () => {
  it('wants 3 digits for most brands and 4 for amex', () => {
    expect(cvvFormatValid('123', 'visa')).toBe(true);
    expect(cvvFormatValid('1234', 'visa')).toBe(false);
    expect(cvvFormatValid('12', 'mastercard')).toBe(false);
    expect(cvvFormatValid('123', 'unknown')).toBe(true);
    expect(cvvFormatValid('1234', 'amex')).toBe(true);
    expect(cvvFormatValid('123', 'amex')).toBe(false);
  });

  it('rejects non-digits', () => {
    expect(cvvFormatValid('12a', 'visa')).toBe(false);
    expect(cvvFormatValid(' 123', 'visa')).toBe(false);
    expect(cvvFormatValid('', 'visa')).toBe(false);
  });
});
