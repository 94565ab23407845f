import { expect } from 'vitest';
import type { NormalizeResult } from '../../connectors/types.ts';
import { canonicalOrderProblems } from '../../core/order/canonical.ts';

/** Every path (as keys) to a value inside `value`, the root excluded: where a mutation can go. */
export function keyPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (typeof value !== 'object' || value === null) return [];
  const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
  return entries.flatMap(([key, child]) => [[...prefix, key], ...keyPaths(child, [...prefix, key])]);
}

/** A copy of `body` with the value at `path` replaced. */
export function replaced(body: unknown, path: (string | number)[], replacement: unknown): unknown {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path as [string | number, ...(string | number)[]];
  const copy = (Array.isArray(body) ? [...(body as unknown[])] : { ...(body as object) }) as Record<string | number, unknown>;
  copy[head] = replaced(copy[head], rest, replacement);
  return copy;
}

/** Every number inside `value`. */
export function numbersIn(value: unknown): number[] {
  if (typeof value === 'number') return [value];
  if (typeof value !== 'object' || value === null) return [];
  return Object.values(value).flatMap(numbersIn);
}

/**
 * What every normalizer promises, whatever it is fed: an accepted order passes the
 * canonical schema and the money rules, with nothing but safe integers in it (no NaN, no
 * floats); a refusal names at least one problem, each with a JSON pointer and a message.
 */
export function expectSoundOutcome(result: NormalizeResult): void {
  if (result.ok) {
    expect(canonicalOrderProblems(result.order)).toEqual([]);
    for (const n of numbersIn(result.order)) expect(Number.isSafeInteger(n), `number ${n}`).toBe(true);
    if (result.updatedAt !== null) expect(result.updatedAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
  } else {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) {
      expect(problem.path).toMatch(/^\//);
      expect(problem.message).not.toBe('');
      // normalizeDelivery turns a throwing connector into a problem; a connector must not throw
      expect(problem.message).not.toMatch(/connector failed/);
    }
  }
}
