// The order state machine (one transitions table) and the hub's order numbers. Pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import { formatOrderNumber } from '../core/order/number.ts';
import {
  assertTransition,
  canTransition,
  finalStatuses,
  isOrderStatus,
  orderStatuses,
  reachableFrom,
  transitions,
  type OrderStatus,
} from '../core/order/status.ts';
import { thrownBy } from './support/errors.ts';

const anyStatus = fc.constantFrom(...orderStatuses);



/** A shortest path of statuses from `from` to `to`, or undefined. */
function pathBetween(from: OrderStatus, to: OrderStatus): OrderStatus[] | undefined {
  const previous = new Map<OrderStatus, OrderStatus | null>([[from, null]]);
  const queue: OrderStatus[] = [from];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (next === to) break;
    for (const n of transitions[next]) {
      if (!previous.has(n)) {
        previous.set(n, next);
        queue.push(n);
      }
    }
  }
  if (!previous.has(to)) return undefined;
  const path: OrderStatus[] = [];
  for (let s: OrderStatus | null | undefined = to; s; s = previous.get(s)) path.unshift(s);
  return path;
}

describe('the transitions table', () => {
  it('has an entry for every status, naming only known statuses, without self-loops or repeats', () => {
    expect(Object.keys(transitions).sort()).toEqual([...orderStatuses].sort());
    for (const from of orderStatuses) {
      const targets = transitions[from];
      expect(Array.isArray(targets), from).toBe(true);
      for (const to of targets) expect(isOrderStatus(to), `${from} → ${to}`).toBe(true);
      expect(targets, `${from} moves to itself`).not.toContain(from);
      expect(new Set(targets).size, `${from} lists a target twice`).toBe(targets.length);
    }
  });

  it('lists only known statuses as final: rejected, cancelled, returned', () => {
    for (const s of finalStatuses) expect(isOrderStatus(s), s).toBe(true);
    expect([...finalStatuses].sort()).toEqual(['cancelled', 'rejected', 'returned']);
  });

  it('gives rejected, cancelled and returned no way out', () => {
    for (const s of ['rejected', 'cancelled', 'returned'] as const) {
      expect(transitions[s], s).toEqual([]);
      for (const to of orderStatuses) expect(canTransition(s, to), `${s} → ${to}`).toBe(false);
    }
  });

  it('lets a completed order leave only for an after-sales return', () => {
    // DESIGN.md step 6: completion, then returns and exchanges.
    expect(transitions.completed).toEqual(['returned']);
  });

  it('gives every status in finalStatuses no way out at all', () => {
    for (const s of finalStatuses) expect(transitions[s], s).toEqual([]);
  });

  it('leads back to received (validate again) only from statuses before release', () => {
    // a person releases a hold, or the channel edits the order before it left for a warehouse
    const into = orderStatuses.filter((s) => transitions[s].includes('received'));
    expect(into).toEqual(['validated', 'on_hold', 'allocated', 'backordered', 'ready_to_ship']);
  });
});

describe('assertTransition', () => {
  it('throws a 409 illegal_transition HubError for every pair not in the table, and nothing for those in it', () => {
    fc.assert(
      fc.property(anyStatus, anyStatus, (from, to) => {
        const error = thrownBy(() => assertTransition(from, to));
        if (transitions[from].includes(to)) {
          expect(error).toBeUndefined();
          expect(canTransition(from, to)).toBe(true);
        } else {
          expect(error).toBeInstanceOf(HubError);
          expect(error).toMatchObject({ code: 'illegal_transition', status: 409, retryable: false });
          expect((error as HubError).details).toMatchObject({ from, to, allowed: transitions[from] });
          expect((error as HubError).message).toContain(from);
          expect((error as HubError).message).toContain(to);
          expect(canTransition(from, to)).toBe(false);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('agrees with the table on all 169 pairs, checked exhaustively', () => {
    let legal = 0;
    for (const from of orderStatuses) {
      for (const to of orderStatuses) {
        const error = thrownBy(() => assertTransition(from, to));
        if (transitions[from].includes(to)) {
          legal += 1;
          expect(error, `${from} → ${to}`).toBeUndefined();
        } else {
          expect(error, `${from} → ${to}`).toMatchObject({ code: 'illegal_transition', status: 409 });
        }
      }
    }
    expect(legal).toBe(Object.values(transitions).reduce((n, targets) => n + targets.length, 0));
  });
});

describe('the lifecycle as a graph', () => {
  it('reaches every status from received', () => {
    const reachable = reachableFrom('received');
    for (const s of orderStatuses) expect(reachable.has(s), `${s} unreachable from received`).toBe(true);
  });

  it('walks the happy path of DESIGN.md: received → … → completed', () => {
    const happy: OrderStatus[] = ['received', 'validated', 'allocated', 'ready_to_ship', 'released', 'shipped', 'delivered', 'completed'];
    for (let i = 1; i < happy.length; i++) expect(() => assertTransition(happy[i - 1]!, happy[i]!)).not.toThrow();
    expect(pathBetween('received', 'completed')).toEqual(['received', 'validated', 'allocated', 'released', 'shipped', 'delivered', 'completed']);
  });

  it('can reject or cancel straight from received', () => {
    expect(pathBetween('received', 'rejected')).toEqual(['received', 'rejected']);
    expect(pathBetween('received', 'cancelled')).toEqual(['received', 'cancelled']);
  });

  it('lets a backordered order be allocated once stock arrives, and an on-hold one be validated again', () => {
    expect(pathBetween('received', 'backordered')).toEqual(['received', 'backordered']);
    expect(canTransition('backordered', 'allocated')).toBe(true);
    expect(canTransition('on_hold', 'received')).toBe(true);
  });

  it('reaches a final status from every status (no order is stuck forever)', () => {
    for (const s of orderStatuses) {
      const reachable = reachableFrom(s);
      expect(finalStatuses.some((f) => reachable.has(f)), `${s} never ends`).toBe(true);
    }
  });

  it('cannot cancel once shipped: only delivery or a return follows', () => {
    for (const s of ['shipped', 'delivered', 'completed'] as const) expect(canTransition(s, 'cancelled'), s).toBe(false);
  });
});

describe('isOrderStatus', () => {
  it('knows exactly the statuses of DESIGN.md', () => {
    expect([...orderStatuses]).toEqual([
      'received', 'validated', 'on_hold', 'rejected', 'allocated', 'backordered', 'ready_to_ship',
      'released', 'shipped', 'delivered', 'completed', 'cancelled', 'returned',
    ]);
    for (const s of orderStatuses) expect(isOrderStatus(s)).toBe(true);
    for (const s of ['', 'Received', 'paid', 'pending', 'RECEIVED', 'received ']) expect(isOrderStatus(s), s).toBe(false);
  });
});

describe('formatOrderNumber', () => {
  it('is <prefix>-<yyyymmdd>-<8-digit sequence>', () => {
    expect(formatOrderNumber('HUB', new Date('2026-11-24T10:00:00Z'), 42)).toBe('HUB-20261124-00000042');
    expect(formatOrderNumber('HUB', new Date('2026-01-01T00:00:00Z'), 1)).toBe('HUB-20260101-00000001');
    expect(formatOrderNumber('SHOP2', new Date('2025-12-31T23:59:59.999Z'), 999_999)).toBe('SHOP2-20251231-00999999');
  });

  it('takes the day in UTC, whatever the offset the date was written with', () => {
    expect(formatOrderNumber('HUB', new Date('2026-03-01T01:30:00+02:00'), 7)).toBe('HUB-20260228-00000007');
    expect(formatOrderNumber('HUB', new Date('2026-02-28T23:30:00-05:00'), 7)).toBe('HUB-20260301-00000007');
  });

  it('widens the sequence past 999999 rather than cutting it (so numbers stay unique)', () => {
    expect(formatOrderNumber('HUB', new Date('2026-11-24T10:00:00Z'), 1_234_567)).toBe('HUB-20261124-01234567');
  });

  const day = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
  const sequence = fc.integer({ min: 1, max: 999_999 });

  it('sorts as text by day, then by sequence (for sequences up to 999999)', () => {
    fc.assert(
      fc.property(fc.tuple(day, sequence), fc.tuple(day, sequence), ([d1, s1], [d2, s2]) => {
        const a = formatOrderNumber('HUB', d1, s1);
        const b = formatOrderNumber('HUB', d2, s2);
        const dayA = d1.toISOString().slice(0, 10);
        const dayB = d2.toISOString().slice(0, 10);
        const expected = dayA === dayB ? Math.sign(s1 - s2) : dayA < dayB ? -1 : 1;
        const actual = a === b ? 0 : a < b ? -1 : 1;
        expect(actual, `${a} vs ${b}`).toBe(expected);
      }),
      { numRuns: 1000 },
    );
  });

  it('is injective: different (day, sequence) give different numbers', () => {
    fc.assert(
      fc.property(day, fc.integer({ min: 1, max: 100_000_000 }), fc.integer({ min: 1, max: 100_000_000 }), (d, s1, s2) => {
        fc.pre(s1 !== s2);
        expect(formatOrderNumber('HUB', d, s1)).not.toBe(formatOrderNumber('HUB', d, s2));
      }),
    );
  });

  // order_number_seq is one global sequence (001_foundation.sql), never reset per day: the
  // eight-digit padding keeps text order past the millionth order.
  it('keeps text order across the 999999 → 1000000 boundary within a day', () => {
    const d = new Date('2026-11-24T10:00:00Z');
    expect(formatOrderNumber('HUB', d, 999_999) < formatOrderNumber('HUB', d, 1_000_000)).toBe(true);
  });
});
