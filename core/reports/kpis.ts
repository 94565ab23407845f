/**
 * The arithmetic of the KPIs: percentiles, means, rates and money sums. Pure and total:
 * an empty input gives `null`, never `NaN` or a division by zero.
 */

/** p50, p90 and p99 of a set of durations, with how many there were. */
export interface Percentiles {
  count: number;
  p50: number | null;
  p90: number | null;
  p99: number | null;
}

/**
 * The `p`-th percentile (0 < p ≤ 100) of `values` by the nearest-rank method: the smallest
 * value such that at least p % of the values are at or below it, i.e. the value at rank
 * ⌈p·n/100⌉ of the sorted values. Always one of the values, never an interpolation.
 * `null` for no values.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`a percentile is over (0, 100], not ${p}`);
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  // p·n first, then / 100: 0.9 * 10 is 9.000000000000002 in floating point, 90 * 10 / 100 is 9.
  const rank = Math.max(1, Math.ceil((p * sorted.length) / 100));
  return sorted[rank - 1]!;
}

/** p50, p90, p99 (nearest rank) and the count of `values`. */
export function percentiles(values: readonly number[]): Percentiles {
  return { count: values.length, p50: percentile(values, 50), p90: percentile(values, 90), p99: percentile(values, 99) };
}

/** The arithmetic mean, or `null` for no values. */
export function mean(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/**
 * `numerator ÷ denominator`, or `null` when the denominator is 0: a day without orders has
 * no cancellation rate, which is not the same as a rate of 0.
 */
export function rate(numerator: number, denominator: number): number | null {
  return denominator === 0 ? null : numerator / denominator;
}

/**
 * Amounts summed per ISO 4217 currency, in minor units. Currencies are never added to
 * each other; a currency appears only when at least one amount is in it.
 */
export function sumByCurrency(amounts: readonly { currency: string; amount: number }[]): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const { currency, amount } of amounts) sums[currency] = (sums[currency] ?? 0) + amount;
  return sums;
}
