import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import { currencyExponent, formatMinorUnits, toMinorUnits } from '../core/money.ts';
import { thrownBy } from './support/errors.ts';

/** one currency per exponent the tests care about */
const CURRENCY_BY_EXPONENT = { 0: 'JPY', 2: 'USD', 3: 'KWD' } as const;
const anyCurrency = fc.constantFrom('JPY', 'USD', 'KWD');


function errorCodeOf(run: () => unknown): string | undefined {
  const error = thrownBy(run);
  if (error === undefined) return undefined;
  return error instanceof HubError ? error.code : `not a HubError: ${(error as Error).message}`;
}

describe('currencyExponent', () => {
  it('knows the ISO 4217 minor units', () => {
    for (const code of ['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF', 'PYG']) {
      expect(currencyExponent(code), code).toBe(0);
    }
    for (const code of ['KWD', 'BHD', 'OMR', 'JOD', 'TND', 'LYD', 'IQD']) {
      expect(currencyExponent(code), code).toBe(3);
    }
    for (const code of ['USD', 'EUR', 'GBP', 'CNY', 'CHF']) {
      expect(currencyExponent(code), code).toBe(2);
    }
  });

  it('gives 2 to a well-formed code it does not know', () => {
    expect(currencyExponent('QQQ')).toBe(2);
  });

  it('refuses what is not three uppercase letters, with a 400', () => {
    for (const code of ['usd', 'US', 'USDT', '', ' USD', 'U1D']) {
      expect(thrownBy(() => currencyExponent(code)), code).toMatchObject({ code: 'unknown_currency', status: 400 });
    }
  });
});

describe('toMinorUnits', () => {
  it('converts the usual decimal strings', () => {
    expect(toMinorUnits('89.99', 'USD')).toBe(8999);
    expect(toMinorUnits('0.5', 'USD')).toBe(50);
    expect(toMinorUnits('-0.5', 'USD')).toBe(-50);
    expect(toMinorUnits('10', 'USD')).toBe(1000);
    expect(toMinorUnits('10.000', 'USD')).toBe(1000);
    expect(toMinorUnits('-0.00', 'USD')).toBe(0);
    expect(Object.is(toMinorUnits('-0', 'USD'), 0)).toBe(true);
  });

  it('follows the exponent of each currency (KWD 3, JPY 0)', () => {
    expect(toMinorUnits('1.234', 'KWD')).toBe(1234);
    expect(toMinorUnits('0.001', 'KWD')).toBe(1);
    expect(toMinorUnits('5', 'KWD')).toBe(5000);
    expect(toMinorUnits('1500', 'JPY')).toBe(1500);
    expect(toMinorUnits('1500.00', 'JPY')).toBe(1500);
    expect(errorCodeOf(() => toMinorUnits('1.2345', 'KWD'))).toBe('money_precision');
    expect(errorCodeOf(() => toMinorUnits('1500.5', 'JPY'))).toBe('money_precision');
  });

  it('reads JSON numbers through their shortest decimal string, not by multiplying', () => {
    // 19.99 * 100 is 1998.9999999999998 in floating point
    expect(toMinorUnits(19.99, 'USD')).toBe(1999);
    expect(toMinorUnits(0.29, 'USD')).toBe(29);
    expect(toMinorUnits(1.005, 'KWD')).toBe(1005);
    expect(toMinorUnits(1500, 'JPY')).toBe(1500);
    expect(errorCodeOf(() => toMinorUnits(1e-7, 'USD'))).toBe('money_precision');
    expect(errorCodeOf(() => toMinorUnits(1e21, 'USD'))).toBe('money_out_of_range');
    expect(errorCodeOf(() => toMinorUnits(Number.NaN, 'USD'))).toBe('money_format');
    expect(errorCodeOf(() => toMinorUnits(Number.POSITIVE_INFINITY, 'USD'))).toBe('money_format');
  });

  it('refuses digits below the minor unit instead of rounding', () => {
    expect(errorCodeOf(() => toMinorUnits('10.005', 'USD'))).toBe('money_precision');
    expect(errorCodeOf(() => toMinorUnits('0.001', 'USD'))).toBe('money_precision');
  });

  it('refuses amounts that are not safe integers in minor units', () => {
    expect(toMinorUnits('90071992547409.91', 'USD')).toBe(Number.MAX_SAFE_INTEGER);
    expect(errorCodeOf(() => toMinorUnits('90071992547409.92', 'USD'))).toBe('money_out_of_range');
    expect(errorCodeOf(() => toMinorUnits('9'.repeat(10_000), 'USD'))).toBe('money_out_of_range');
  });

  it('refuses anything but a plain decimal', () => {
    const garbage = [
      '', ' ', '1e3', '1E3', '  12.3 ', '12.3 ', '+1', '.5', '5.', '1,000.00', '1_000', '0x10', 'NaN',
      'Infinity', '--1', '1.2.3', '١٢', '12.3\n', 'null',
    ];
    for (const text of garbage) {
      expect(errorCodeOf(() => toMinorUnits(text, 'USD')), JSON.stringify(text)).toBe('money_format');
    }
  });

  it('property: parses generated decimal strings exactly (BigInt reference)', () => {
    const decimal = fc.record({
      negative: fc.boolean(),
      integerPart: fc.bigInt({ min: 0n, max: 10n ** 12n }),
      fraction: fc.stringMatching(/^\d{0,3}$/),
      trailingZeros: fc.nat({ max: 4 }),
      exponent: fc.constantFrom(0, 2, 3),
    });
    fc.assert(
      fc.property(decimal, ({ negative, integerPart, fraction, trailingZeros, exponent }) => {
        const currency = CURRENCY_BY_EXPONENT[exponent];
        const digits = fraction.slice(0, exponent) + '0'.repeat(trailingZeros);
        const text = `${negative ? '-' : ''}${integerPart}${digits ? `.${digits}` : ''}`;
        const scaled = integerPart * 10n ** BigInt(exponent) + BigInt(fraction.slice(0, exponent).padEnd(exponent, '0') || '0');
        expect(toMinorUnits(text, currency)).toBe(Number(negative ? -scaled : scaled));
      }),
    );
  });

  it('property: refuses non-zero digits beyond the exponent', () => {
    fc.assert(
      fc.property(fc.nat(), fc.constantFrom(0, 2, 3), fc.integer({ min: 1, max: 9 }), (whole, exponent, digit) => {
        const text = `${whole}.${'0'.repeat(exponent)}${digit}`;
        expect(errorCodeOf(() => toMinorUnits(text, CURRENCY_BY_EXPONENT[exponent]))).toBe('money_precision');
      }),
    );
  });

  it('property: refuses float-like garbage', () => {
    const floatLike = fc.oneof(
      fc.double().map((n) => n.toExponential()),
      fc.double({ noNaN: true }).map((n) => ` ${n}`),
      fc.double({ noNaN: true }).map((n) => `${n}\t`),
      fc.integer().map((n) => `${n}.`),
      fc.nat().map((n) => `.${n}`),
      fc.nat().map((n) => `+${n}`),
      fc.nat().map((n) => `${n}e${n % 5}`),
    );
    fc.assert(
      fc.property(floatLike, anyCurrency, (text, currency) => {
        expect(errorCodeOf(() => toMinorUnits(text, currency))).toBe('money_format');
      }),
    );
  });

  it('property: agrees with the number’s own decimal spelling for JSON numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e9, max: 1e9 }), anyCurrency, (minor, currency) => {
        const asNumber = Number(formatMinorUnits(minor, currency));
        expect(toMinorUnits(asNumber, currency)).toBe(minor);
      }),
    );
  });
});

describe('formatMinorUnits', () => {
  it('is the inverse of toMinorUnits', () => {
    expect(formatMinorUnits(8999, 'USD')).toBe('89.99');
    expect(formatMinorUnits(5, 'USD')).toBe('0.05');
    expect(formatMinorUnits(-5, 'USD')).toBe('-0.05');
    expect(formatMinorUnits(0, 'USD')).toBe('0.00');
    expect(formatMinorUnits(1500, 'JPY')).toBe('1500');
    expect(formatMinorUnits(1234, 'KWD')).toBe('1.234');
    expect(formatMinorUnits(1, 'KWD')).toBe('0.001');
  });

  it('refuses what is not a safe integer', () => {
    expect(errorCodeOf(() => formatMinorUnits(0.5, 'USD'))).toBe('money_out_of_range');
    expect(errorCodeOf(() => formatMinorUnits(2 ** 53, 'USD'))).toBe('money_out_of_range');
    expect(errorCodeOf(() => formatMinorUnits(Number.NaN, 'USD'))).toBe('money_out_of_range');
  });

  it('property: format → parse round-trips every safe integer for exponents 0, 2 and 3', () => {
    fc.assert(
      fc.property(fc.maxSafeInteger(), anyCurrency, (minor, currency) => {
        expect(toMinorUnits(formatMinorUnits(minor, currency), currency)).toBe(minor);
      }),
    );
  });
});
