import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { busiestMinute, throughputByMinute, type ThroughputEvent } from '../core/reports/throughput.ts';

// The status page's per-minute bars, as pure arithmetic over epoch milliseconds.
const minute = 60_000;
const nowArb = fc.integer({ min: 86_400_000, max: 4_000_000_000_000 });
const eventsAround = (now: number) => fc.array(fc.record({
  milestone: fc.constantFrom<ThroughputEvent['milestone']>('received', 'released'),
  at: fc.integer({ min: now - 3 * 3600_000, max: now + 3600_000 }),
}), { maxLength: 200 });

describe('throughputByMinute', () => {
  it('counts an event three minutes ago into the third bar from the right', () => {
    const now = Date.parse('2026-03-01T12:30:20Z');
    const buckets = throughputByMinute([{ milestone: 'released', at: Date.parse('2026-03-01T12:27:59Z') }], now, 60);
    expect(buckets).toHaveLength(60);
    expect(buckets[56]).toEqual({ start: Date.parse('2026-03-01T12:27:00Z'), received: 0, released: 1 });
    expect(buckets[59]?.start).toBe(Date.parse('2026-03-01T12:30:00Z'));
  });

  it('has one bar per minute, contiguous, ending with the minute of now', () => {
    fc.assert(fc.property(nowArb, fc.integer({ min: 1, max: 180 }), (now, minutes) => {
      const buckets = throughputByMinute([], now, minutes);
      expect(buckets).toHaveLength(minutes);
      buckets.forEach((b, i) => {
        expect(b.start % minute).toBe(0);
        if (i > 0) expect(b.start - (buckets[i - 1]?.start ?? 0)).toBe(minute);
      });
      const last = buckets[minutes - 1]!;
      expect(now >= last.start && now < last.start + minute).toBe(true);
    }));
  });

  it('counts every event inside the window exactly once, in its own minute, and none outside it', () => {
    fc.assert(fc.property(nowArb.chain((now) => fc.tuple(fc.constant(now), eventsAround(now))), ([now, events]) => {
      const buckets = throughputByMinute(events, now, 60);
      const first = buckets[0]!.start;
      const end = buckets[59]!.start + minute;
      for (const milestone of ['received', 'released'] as const) {
        const inside = events.filter((e) => e.milestone === milestone && e.at >= first && e.at < end);
        expect(buckets.reduce((sum, b) => sum + b[milestone], 0)).toBe(inside.length);
        for (const b of buckets) {
          expect(b[milestone]).toBe(inside.filter((e) => e.at >= b.start && e.at < b.start + minute).length);
        }
      }
    }));
  });

  it('scales to the busiest minute, never below 1', () => {
    fc.assert(fc.property(nowArb.chain((now) => fc.tuple(fc.constant(now), eventsAround(now))), ([now, events]) => {
      const buckets = throughputByMinute(events, now, 60);
      const top = busiestMinute(buckets);
      expect(top).toBeGreaterThanOrEqual(1);
      for (const b of buckets) expect(Math.max(b.received, b.released)).toBeLessThanOrEqual(top);
      if (top > 1) expect(buckets.some((b) => b.received === top || b.released === top)).toBe(true);
    }));
  });
});
