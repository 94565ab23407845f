/**
 * The arithmetic behind "are orders flowing": per-minute counters (messages into and out
 * of each queue, retries, parkings, and a fixed-bucket latency histogram per stage) summed
 * over the last 1, 5 and 15 minutes. Pure: the Redis adapter stores one hash per minute
 * with the field names below, and hands the hashes back here to be read.
 */

/** The windows the flows report shows, in minutes. */
export const flowWindowsMinutes = [1, 5, 15] as const;
export type FlowWindow = (typeof flowWindowsMinutes)[number];
/** Counts per window: `m1`, `m5`, `m15`. */
export interface WindowCounts { m1: number; m5: number; m15: number }

/**
 * Upper bounds, in seconds, of the latency buckets kept per minute; one more bucket holds
 * everything slower. A few buckets keep the per-delivery write to three small increments.
 */
export const latencyBoundsSeconds = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600] as const;

/** What a delivery leaving a queue counts as. */
export type FlowOutcome = 'ack' | 'duplicate' | 'retry' | 'park';

/** Field names inside one minute's hash. */
export const flowField = {
  in: (queue: string) => `in|${queue}`,
  out: (queue: string) => `out|${queue}`,
  retry: (queue: string) => `retry|${queue}`,
  park: (queue: string) => `park|${queue}`,
  latencyCount: (stage: string) => `lat|${stage}|n`,
  latencySumMs: (stage: string) => `lat|${stage}|ms`,
  latencyBucket: (stage: string, bucket: number) => `lat|${stage}|b${bucket}`,
};

/** The minute a moment falls in, counted from the epoch: the bucket it is written to. */
export function minuteOf(at: Date): number {
  return Math.floor(at.getTime() / 60_000);
}

/** The latency bucket of `seconds`: the first whose bound is ≥ it, or the overflow bucket. */
export function latencyBucketOf(seconds: number): number {
  const index = latencyBoundsSeconds.findIndex((bound) => seconds <= bound);
  return index === -1 ? latencyBoundsSeconds.length : index;
}

/**
 * The stage a queue belongs to, as metrics label it: `<ns>.stage.validate` → `validate`,
 * other hub-consumed queues by their name without the namespace (`in.warehouse-events`).
 */
export function stageOfQueue(namespace: string, queue: string): string {
  const stagePrefix = `${namespace}.stage.`;
  if (queue.startsWith(stagePrefix)) return queue.slice(stagePrefix.length);
  return queue.startsWith(`${namespace}.`) ? queue.slice(namespace.length + 1) : queue;
}

/**
 * The field increments one finished delivery causes. A retried message leaves the queue
 * and comes back to it through a wait queue, so it is counted out and in again (its return
 * is counted when it is scheduled); a parked one lands in the parking queues. Latency is
 * taken for acknowledged messages only: the time from the event's creation to the stage
 * having finished it, outbox, queue and retries included.
 */
export function deliveryIncrements(input: {
  queue: string;
  stage: string;
  outcome: FlowOutcome;
  latencySeconds?: number | undefined;
  parkingQueues: readonly string[];
}): Map<string, number> {
  const increments = new Map<string, number>([[flowField.out(input.queue), 1]]);
  switch (input.outcome) {
    case 'ack':
    case 'duplicate':
      break;
    case 'retry':
      increments.set(flowField.retry(input.queue), 1);
      increments.set(flowField.in(input.queue), 1);
      break;
    case 'park':
      increments.set(flowField.park(input.queue), 1);
      for (const q of input.parkingQueues) increments.set(flowField.in(q), 1);
      break;
    default: {
      const unknown: never = input.outcome;
      throw new Error(`unknown outcome ${String(unknown)}`);
    }
  }
  if (input.outcome === 'ack' && input.latencySeconds !== undefined && Number.isFinite(input.latencySeconds)) {
    // a clock a little behind the publisher's must not make a negative latency
    const seconds = Math.max(0, input.latencySeconds);
    increments.set(flowField.latencyCount(input.stage), 1);
    increments.set(flowField.latencySumMs(input.stage), Math.round(seconds * 1000));
    increments.set(flowField.latencyBucket(input.stage, latencyBucketOf(seconds)), 1);
  }
  return increments;
}

/**
 * Counters of the minutes of a window, newest first: index 0 is the current minute, index
 * 14 the one fourteen minutes ago. A missing minute (expired, or nothing happened) is empty.
 */
export type MinuteCounters = readonly ReadonlyMap<string, number>[];

/** Reads a minute's hash as Redis returns it (strings); anything not an integer is ignored. */
export function parseMinute(hash: Readonly<Record<string, string>>): Map<string, number> {
  const counts = new Map<string, number>();
  for (const [field, text] of Object.entries(hash)) {
    const value = Number(text);
    if (Number.isSafeInteger(value)) counts.set(field, value);
  }
  return counts;
}

/** The sum of `field` over the last `minutes` minutes (the current one and those before it). */
export function sumOver(minutes: MinuteCounters, field: string, window: number): number {
  let total = 0;
  for (const minute of minutes.slice(0, window)) total += minute.get(field) ?? 0;
  return total;
}

/** `field` summed over each window of the report. */
export function windowCounts(minutes: MinuteCounters, field: string): WindowCounts {
  return { m1: sumOver(minutes, field, 1), m5: sumOver(minutes, field, 5), m15: sumOver(minutes, field, 15) };
}

/**
 * The `q` quantile (0 < q ≤ 1) of a bucketed latency distribution, interpolated linearly
 * inside the bucket that holds it (as Prometheus' histogram_quantile does). Null without
 * samples; a quantile in the overflow bucket is reported as the last bound.
 */
export function quantileOf(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    const inBucket = buckets[i] ?? 0;
    if (inBucket > 0 && below + inBucket >= rank) {
      const upper = latencyBoundsSeconds[i];
      if (upper === undefined) return latencyBoundsSeconds[latencyBoundsSeconds.length - 1] ?? null;
      const lower = i === 0 ? 0 : (latencyBoundsSeconds[i - 1] ?? 0);
      return lower + (upper - lower) * ((rank - below) / inBucket);
    }
    below += inBucket;
  }
  return latencyBoundsSeconds[latencyBoundsSeconds.length - 1] ?? null;
}

/** A stage's latency over one window. */
export interface LatencySummary { count: number; meanSeconds: number | null; p50Seconds: number | null; p90Seconds: number | null }

/** The latency of `stage` over the last `window` minutes. */
export function latencyOver(minutes: MinuteCounters, stage: string, window: number): LatencySummary {
  const count = sumOver(minutes, flowField.latencyCount(stage), window);
  const sumMs = sumOver(minutes, flowField.latencySumMs(stage), window);
  const buckets = Array.from({ length: latencyBoundsSeconds.length + 1 }, (_, i) => sumOver(minutes, flowField.latencyBucket(stage, i), window));
  const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    count,
    meanSeconds: count === 0 ? null : round(sumMs / count / 1000),
    p50Seconds: round(quantileOf(buckets, 0.5)),
    p90Seconds: round(quantileOf(buckets, 0.9)),
  };
}
