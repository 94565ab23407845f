/** What the warehouse queue received for one order. */
export interface Arrival { externalId: string; at: number }

export interface ExactlyOnceReport {
  expected: number;
  arrived: number;
  missing: string[];
  /** orders that reached the warehouse more than once, with how many times */
  duplicates: { externalId: string; times: number }[];
  /** arrivals for orders the bench never sent */
  unexpected: string[];
  ok: boolean;
}

/**
 * Every order sent must reach the warehouse queue as exactly one `fulfillment.requested`
 * (the bench's orders have one line, so a split cannot explain a second request).
 */
export function checkExactlyOnce(sent: Iterable<string>, arrivals: readonly Arrival[]): ExactlyOnceReport {
  const expected = new Set(sent);
  const times = new Map<string, number>();
  for (const a of arrivals) times.set(a.externalId, (times.get(a.externalId) ?? 0) + 1);
  const missing = [...expected].filter((id) => !times.has(id));
  const duplicates = [...times].filter(([, n]) => n > 1).map(([externalId, n]) => ({ externalId, times: n }));
  const unexpected = [...times.keys()].filter((id) => !expected.has(id));
  return {
    expected: expected.size, arrived: arrivals.length, missing, duplicates, unexpected,
    ok: missing.length === 0 && duplicates.length === 0 && unexpected.length === 0,
  };
}
