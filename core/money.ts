import { HubError } from './errors.ts';

/**
 * Money as integer minor units of an ISO 4217 currency (cents for USD, yen for JPY,
 * fils for KWD). Amounts cross this module as decimal *strings* and are converted with
 * string arithmetic only: a float never touches an amount.
 */

/** ISO 4217 currencies whose minor unit is not 2 decimal places. Every other code uses 2. */
const EXPONENT_OTHER_THAN_TWO: Readonly<Record<string, number>> = {
  // no minor unit
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0,
  UGX: 0, UYI: 0, VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  // thousandths
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  // units of account quoted to 4 places
  CLF: 4, UYW: 4,
};

const CURRENCY_CODE = /^[A-Z]{3}$/;

/**
 * The number of decimal places of `code`'s minor unit (JPY 0, USD 2, KWD 3).
 * A well-formed code that is not in the table gets 2, the ISO 4217 norm.
 * @throws HubError `unknown_currency` (400) when `code` is not three uppercase letters.
 */
export function currencyExponent(code: string): number {
  if (typeof code !== 'string' || !CURRENCY_CODE.test(code)) {
    throw new HubError('unknown_currency', `not an ISO 4217 currency code: ${JSON.stringify(code)}`, {
      status: 400,
    });
  }
  return EXPONENT_OTHER_THAN_TWO[code] ?? 2;
}

// Plain decimal only: no sign other than a leading '-', no whitespace, no exponent, no
// bare '.5' or '5.'. `\d` without the `u` flag is ASCII-only, so no other scripts' digits.
const DECIMAL = /^(-?)(\d+)(?:\.(\d+))?$/;

// More integer digits than this cannot be a safe integer after scaling; checking the
// length first keeps BigInt away from megabyte-long digit strings.
const MAX_INTEGER_DIGITS = 16;

/**
 * Converts a decimal amount to integer minor units of `currency`: `"89.99"` USD → 8999,
 * `"1500"` JPY → 1500, `"1.234"` KWD → 1234.
 *
 * A number (as JSON parsing yields, e.g. `19.99`) is read through its shortest
 * round-trip decimal string, never multiplied. Extra fractional zeros are fine
 * (`"10.000"` USD → 1000); extra non-zero digits are not (`"10.005"` USD is refused, not
 * rounded). Negative amounts are returned negative; callers decide whether they allow them.
 *
 * @throws HubError `money_format` (400) for anything but a plain decimal (whitespace,
 *   exponent, `"+1"`, `".5"`, NaN…), `money_precision` (400) for digits below the minor
 *   unit, `money_out_of_range` (400) when the result is not a safe integer, and
 *   `unknown_currency` (400) for a malformed currency code.
 */
export function toMinorUnits(amount: string | number, currency: string): number {
  const exponent = currencyExponent(currency);
  const text = typeof amount === 'number' ? numberToDecimal(amount) : amount;
  const match = typeof text === 'string' ? DECIMAL.exec(text) : null;
  if (!match) {
    throw new HubError('money_format', `not a decimal amount: ${quoted(amount)}`, { status: 400 });
  }
  const [, sign = '', integerDigits = '', fractionDigits = ''] = match;

  const kept = fractionDigits.slice(0, exponent);
  if (/[^0]/.test(fractionDigits.slice(exponent))) {
    throw new HubError(
      'money_precision',
      `${quoted(amount)} has more than ${exponent} decimal place(s), the minor unit of ${currency}`,
      { status: 400 },
    );
  }
  const significant = integerDigits.replace(/^0+(?=\d)/, '');
  if (significant.length > MAX_INTEGER_DIGITS) throw outOfRange(amount);

  const minor = BigInt(significant + kept.padEnd(exponent, '0'));
  if (minor > BigInt(Number.MAX_SAFE_INTEGER)) throw outOfRange(amount);
  // BigInt has no -0, so "-0.00" comes out as a plain 0.
  return Number(sign === '-' ? -minor : minor);
}

/**
 * The inverse of {@link toMinorUnits}: 8999 USD → `"89.99"`, -5 USD → `"-0.05"`,
 * 1500 JPY → `"1500"`, 1234 KWD → `"1.234"`.
 * @throws HubError `money_out_of_range` (400) when `minor` is not a safe integer.
 */
export function formatMinorUnits(minor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  if (!Number.isSafeInteger(minor)) throw outOfRange(minor);
  const digits = String(Math.abs(minor)).padStart(exponent + 1, '0');
  const sign = minor < 0 ? '-' : '';
  if (exponent === 0) return sign + digits;
  return `${sign}${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * The exact decimal spelling of a finite number, from its shortest round-trip string.
 * `String(n)` switches to exponent notation below 1e-6 and from 1e21; shifting the
 * decimal point in the string keeps those exact too (and lets them fail with the right
 * code: precision or range, not format). Non-finite numbers return null.
 */
function numberToDecimal(n: number): string | null {
  if (!Number.isFinite(n)) return null;
  const text = String(n);
  const match = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!match) return text;
  const [, sign = '', lead = '', rest = '', exp = '0'] = match;
  const digits = lead + rest;
  const pointAt = 1 + Number(exp); // position of the decimal point within `digits`
  if (pointAt <= 0) return `${sign}0.${'0'.repeat(-pointAt)}${digits}`;
  return sign + digits.padEnd(pointAt, '0');
}

function outOfRange(amount: unknown): HubError {
  return new HubError('money_out_of_range', `amount out of range: ${quoted(amount)}`, { status: 400 });
}

function quoted(amount: unknown): string {
  const text = typeof amount === 'string' ? JSON.stringify(amount) : String(amount);
  return text.length > 64 ? `${text.slice(0, 61)}...` : text;
}
