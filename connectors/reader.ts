import type { InputProblem } from '../core/errors.ts';
import { HubError } from '../core/errors.ts';
import { currencyExponent, toMinorUnits } from '../core/money.ts';

/**
 * Reading an untrusted channel payload (the output of `parseJsonLossless`): every reader
 * reports what is wrong at its JSON pointer and returns a placeholder, so one pass finds
 * every problem and nothing throws.
 */

/** The first value that is not null. */
export function firstOf(values: (string | null)[]): string | null {
  return values.find((value) => value !== null) ?? null;
}

/** A value inside the payload with its JSON pointer, so every problem can name its place. */
export interface At {
  value: unknown;
  path: string;
}

/** The child `key` of `parent`; own properties only, so `constructor` or `__proto__` never leak in. */
export function at(parent: At, key: string | number): At {
  const { value } = parent;
  const child =
    typeof value === 'object' && value !== null && Object.hasOwn(value, key)
      ? (value as Record<string | number, unknown>)[key]
      : undefined;
  return { value: child, path: `${parent.path}/${key}` };
}

/** A JSON object: not null, not an array. */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** a string with something in it, or null for anything else */
export function optionalText(node: At): string | null {
  const { value } = node;
  return typeof value === 'string' && value.trim() !== '' ? value : null;
}

/** a string that is not blank; '' after reporting it */
export function requiredText(read: Reader, node: At): string {
  const { value } = node;
  if (typeof value === 'string' && value.trim() !== '') return value;
  read.report(node.path, value == null ? 'is required' : typeof value === 'string' ? 'must not be blank' : 'must be a string');
  return '';
}

export type Reader = ReturnType<typeof createReader>;

/**
 * Readers that report what is wrong and return a placeholder instead of throwing, so one
 * pass finds every problem. Absent and `null` mean the same thing in channel payloads.
 */
export function createReader() {
  const problems: InputProblem[] = [];
  const report = (path: string, message: string): void => {
    problems.push({ path: path || '/', message });
  };

  /** a JSON object, or null (reported unless optional and absent) */
  function object(node: At, presence: 'required' | 'optional'): Record<string, unknown> | null {
    const { value } = node;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    if (value == null && presence === 'optional') return null;
    report(node.path, value == null ? 'is required' : 'must be a JSON object');
    return null;
  }

  /** the elements of an array; absent means none, which is reported when at least one is required */
  function list(node: At, presence: 'required' | 'optional'): At[] {
    const { value } = node;
    if (value != null && !Array.isArray(value)) {
      report(node.path, 'must be an array');
      return [];
    }
    const items = value ?? [];
    if (items.length === 0 && presence === 'required') report(node.path, 'needs at least one item');
    return items.map((_, index) => at(node, index));
  }

  /** optional text; blank counts as absent */
  function text(node: At): string | null {
    const { value } = node;
    if (typeof value === 'string') return value === '' ? null : value;
    if (value != null) report(node.path, 'must be a string');
    return null;
  }

  /**
   * An id as exact decimal digits. Ids above 2^53 arrive as digit strings from the
   * lossless parser, smaller ones as numbers; both are accepted.
   */
  function id(node: At): string | null {
    const { value } = node;
    if (value == null) return null;
    const digits = idDigits(value);
    if (digits === null) report(node.path, 'must be a numeric id');
    return digits;
  }

  /** shop currency; null when unusable, which also silences every amount that depends on it */
  function currency(node: At): string | null {
    const code = text(node);
    try {
      if (code !== null) {
        currencyExponent(code);
        return code;
      }
    } catch {
      // reported below
    }
    report(node.path, 'must be an ISO 4217 currency code');
    return null;
  }

  /** a non-negative decimal amount in minor units of `currencyCode`; 0 after a problem */
  function amount(node: At, currencyCode: string | null): number {
    const { value } = node;
    if (value == null) {
      report(node.path, 'is required');
      return 0;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      report(node.path, 'must be a decimal amount');
      return 0;
    }
    if (currencyCode === null) return 0;
    try {
      const minor = toMinorUnits(value, currencyCode);
      if (minor >= 0) return minor;
      report(node.path, 'must not be negative');
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      report(node.path, error.message);
    }
    return 0;
  }

  /** the sum of amounts, reported at `path` if it leaves the safe integer range */
  function sum(amounts: number[], path: string): number {
    const total = amounts.reduce((a, b) => a + b, 0);
    if (Number.isSafeInteger(total)) return total;
    report(path, 'the amounts add up to more than can be represented');
    return 0;
  }

  /**
   * An ISO-8601 timestamp as UTC `YYYY-MM-DDTHH:mm:ss.sssZ`. With `zoneless: 'utc'` a time
   * without an offset is read as UTC (WooCommerce's `*_gmt` fields); otherwise it needs one.
   */
  function timestamp(node: At, options: { zoneless?: 'utc' } = {}): string {
    const raw = text(node);
    const withZone = raw !== null && options.zoneless === 'utc' && ZONELESS.test(raw) ? `${raw}Z` : raw;
    const utc = withZone === null ? null : toUtcTimestamp(withZone);
    if (utc === null) report(node.path, options.zoneless === 'utc' ? 'must be an ISO-8601 timestamp' : 'must be an ISO-8601 timestamp with a UTC offset');
    return utc ?? '';
  }

  /** "first_name last_name", or null when both are blank */
  function personName(node: At): string | null {
    const parts = [text(at(node, 'first_name')), text(at(node, 'last_name'))];
    const name = parts.filter((part) => part !== null).join(' ').trim();
    return name === '' ? null : name;
  }

  return { problems, report, object, list, text, id, currency, amount, sum, timestamp, personName };
}

export function idDigits(value: unknown): string | null {
  if (typeof value === 'string') return /^\d{1,128}$/.test(value) ? value : null;
  if (Number.isSafeInteger(value) && (value as number) >= 0) return String(value);
  return null;
}

const ZONELESS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Channels stamp times with their own offset (Shopify: "2021-12-31T19:00:00-05:00"); the
 * hub keeps UTC. The regex and calendar check come first because `Date` alone accepts far too much
 * ("March 7", and "02-30" silently becomes March 2).
 */
export function toUtcTimestamp(text: string): string | null {
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return null;
  const utc = new Date(ms).toISOString();
  // An offset can push year 0000 or 9999 out of the four-digit form ("-000001-…").
  return utc.length === 24 ? utc : null;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}
