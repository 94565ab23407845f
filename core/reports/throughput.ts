/**
 * Orders received and released per minute over a window that ends now: what the status
 * page draws as bars. Pure: the adapter reads the timeline moves and the clock.
 */

/** One minute of the window: its start (epoch ms) and how many orders were received and released in it. */
export interface MinuteBucket {
  start: number;
  received: number;
  released: number;
}

/** A move on an order's timeline that the chart counts. */
export interface ThroughputEvent {
  milestone: 'received' | 'released';
  /** epoch ms */
  at: number;
}

const minuteMs = 60_000;

/**
 * The `minutes` whole minutes before and including the one `now` falls in, oldest first,
 * with the events counted into the minute they happened in. Events outside the window are
 * left out rather than clamped, so a slow clock on one replica cannot inflate an edge bar.
 */
export function throughputByMinute(events: readonly ThroughputEvent[], now: number, minutes = 60): MinuteBucket[] {
  const last = Math.floor(now / minuteMs) * minuteMs;
  const first = last - (minutes - 1) * minuteMs;
  const buckets: MinuteBucket[] = Array.from({ length: minutes }, (_, i) => ({ start: first + i * minuteMs, received: 0, released: 0 }));
  for (const event of events) {
    const index = Math.floor((event.at - first) / minuteMs);
    const bucket = buckets[index];
    if (index < 0 || !bucket) continue;
    bucket[event.milestone] += 1;
  }
  return buckets;
}

/** The largest per-minute count in the window (at least 1, so bar heights never divide by zero). */
export function busiestMinute(buckets: readonly MinuteBucket[]): number {
  return buckets.reduce((max, b) => Math.max(max, b.received, b.released), 1);
}
