// The flows report's arithmetic, pure: topic routing (core/messaging/routing.ts), the
// per-minute counters and latency buckets (core/reports/flow-window.ts) and the report
// assembled from them (core/reports/flows.ts). Counts, latencies and keys from fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createRouteTable, topicMatches } from '../core/messaging/routing.ts';
import { hubTopology, names } from '../core/messaging/topology.ts';
import {
  deliveryIncrements, flowField, latencyBoundsSeconds, latencyBucketOf, latencyOver, minuteOf,
  parseMinute, quantileOf, stageOfQueue, sumOver, windowCounts,
} from '../core/reports/flow-window.ts';
import { flowsReport, queueKindOf } from '../core/reports/flows.ts';

const word = fc.constantFrom('order', 'payment', 'received', 'validated', 'us-east', 'fulfillment', 'requested', 'x');
const routingKey = fc.array(word, { minLength: 1, maxLength: 5 }).map((w) => w.join('.'));
const bucketCount = latencyBoundsSeconds.length + 1;
const buckets = fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: bucketCount, maxLength: bucketCount });
const minutes = fc.array(fc.dictionary(fc.constantFrom('in|q', 'out|q', 'retry|q'), fc.integer({ min: 0, max: 10_000 })), { minLength: 0, maxLength: 15 })
  .map((hashes) => hashes.map((h) => new Map(Object.entries(h))));

describe('topicMatches', () => {
  it('follows the broker: * is one word, # any number of words', () => {
    expect(topicMatches('order.received', 'order.received')).toBe(true);
    expect(topicMatches('order.received', 'order.validated')).toBe(false);
    expect(topicMatches('fulfillment.*.us-east', 'fulfillment.requested.us-east')).toBe(true);
    expect(topicMatches('fulfillment.*.us-east', 'fulfillment.requested.us-west')).toBe(false);
    expect(topicMatches('shipment.*.dhl', 'shipment.dhl')).toBe(false);
    expect(topicMatches('#', 'a.b.c')).toBe(true);
    expect(topicMatches('order.#', 'order')).toBe(true);
    expect(topicMatches('order.#.done', 'order.a.b.done')).toBe(true);
    expect(topicMatches('order.#.done', 'order.a.b')).toBe(false);
  });

  it('a key matches itself, #, and one * per word, and no pattern with more words', () => {
    fc.assert(fc.property(routingKey, (key) => {
      const words = key.split('.');
      expect(topicMatches(key, key)).toBe(true);
      expect(topicMatches('#', key)).toBe(true);
      expect(topicMatches(words.map(() => '*').join('.'), key)).toBe(true);
      expect(topicMatches([...words, '*'].join('.'), key)).toBe(false);
    }));
  });
});

describe('createRouteTable', () => {
  const ns = 'flowpure';
  const topology = hubTopology(ns, { retryDelaysMs: [100], warehouses: ['us-east', 'us-west'] });
  const routes = createRouteTable(topology);
  it('routes an event to the stage queues bound to its type, and nowhere else', () => {
    expect(routes(names(ns).events, 'order.received')).toEqual([names(ns).stage('validate')]);
    expect(routes(names(ns).events, 'payment.captured')).toEqual([names(ns).stage('release')]);
    expect(routes(names(ns).events, 'fulfillment.requested.us-east')).toEqual([names(ns).warehouse('us-east')]);
    expect(routes(names(ns).events, 'nobody.listens')).toEqual([]);
    expect(routes('other.exchange', 'order.received')).toEqual([]);
  });
  it('a fanout exchange reaches every queue bound to it, whatever the key', () => {
    expect([...routes(names(ns).parking, 'anything')].sort()).toEqual([names(ns).parked, names(ns).parkingAudit].sort());
  });
});

describe('latency buckets', () => {
  it('a latency falls in the first bucket whose bound holds it', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 10_000, noNaN: true }), (seconds) => {
      const i = latencyBucketOf(seconds);
      const upper = latencyBoundsSeconds[i];
      const lower = i === 0 ? -Infinity : latencyBoundsSeconds[i - 1]!;
      expect(seconds).toBeGreaterThan(lower);
      if (upper !== undefined) expect(seconds).toBeLessThanOrEqual(upper);
      else expect(seconds).toBeGreaterThan(latencyBoundsSeconds[latencyBoundsSeconds.length - 1]!);
    }));
  });

  it('quantiles grow with q and stay within the bounds', () => {
    fc.assert(fc.property(buckets, fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double({ min: 0.01, max: 1, noNaN: true }), (b, q1, q2) => {
      const [lo, hi] = q1 <= q2 ? [q1, q2] : [q2, q1];
      const a = quantileOf(b, lo);
      const z = quantileOf(b, hi);
      if (b.every((x) => x === 0)) {
        expect(a).toBeNull();
        return;
      }
      expect(a).not.toBeNull();
      expect(a!).toBeLessThanOrEqual(z!);
      expect(a!).toBeGreaterThanOrEqual(0);
      expect(z!).toBeLessThanOrEqual(latencyBoundsSeconds[latencyBoundsSeconds.length - 1]!);
    }));
  });

  it('when every sample is in one bucket, every quantile is inside that bucket', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: latencyBoundsSeconds.length - 1 }), fc.integer({ min: 1, max: 500 }), fc.double({ min: 0.01, max: 1, noNaN: true }), (i, count, q) => {
      const b = Array.from({ length: bucketCount }, (_, j) => (j === i ? count : 0));
      const value = quantileOf(b, q)!;
      expect(value).toBeGreaterThanOrEqual(i === 0 ? 0 : latencyBoundsSeconds[i - 1]!);
      expect(value).toBeLessThanOrEqual(latencyBoundsSeconds[i]!);
    }));
  });
});

describe('deliveryIncrements', () => {
  const parkingQueues = ['ns.parked', 'ns.parked.audit'];
  it('every finished delivery is one out; a retry comes back in; a park lands in the parking queues', () => {
    expect(Object.fromEntries(deliveryIncrements({ queue: 'ns.stage.validate', stage: 'validate', outcome: 'duplicate', parkingQueues })))
      .toEqual({ 'out|ns.stage.validate': 1 });
    expect(Object.fromEntries(deliveryIncrements({ queue: 'ns.stage.validate', stage: 'validate', outcome: 'retry', latencySeconds: 3, parkingQueues })))
      .toEqual({ 'out|ns.stage.validate': 1, 'retry|ns.stage.validate': 1, 'in|ns.stage.validate': 1 });
    expect(Object.fromEntries(deliveryIncrements({ queue: 'ns.stage.validate', stage: 'validate', outcome: 'park', parkingQueues })))
      .toEqual({ 'out|ns.stage.validate': 1, 'park|ns.stage.validate': 1, 'in|ns.parked': 1, 'in|ns.parked.audit': 1 });
  });

  it('an acknowledged delivery adds its latency to the count, the sum and its bucket; never below zero', () => {
    fc.assert(fc.property(fc.double({ min: -5, max: 5_000, noNaN: true }), (seconds) => {
      const inc = deliveryIncrements({ queue: 'ns.stage.allocate', stage: 'allocate', outcome: 'ack', latencySeconds: seconds, parkingQueues });
      const kept = Math.max(0, seconds);
      expect(inc.get(flowField.latencyCount('allocate'))).toBe(1);
      expect(inc.get(flowField.latencySumMs('allocate'))).toBe(Math.round(kept * 1000));
      expect(inc.get(flowField.latencyBucket('allocate', latencyBucketOf(kept)))).toBe(1);
    }));
  });
});

describe('windows', () => {
  it('the 1-minute window is within the 5-minute one, which is within the 15-minute one', () => {
    fc.assert(fc.property(minutes, (m) => {
      const c = windowCounts(m, 'in|q');
      expect(c.m1).toBeLessThanOrEqual(c.m5);
      expect(c.m5).toBeLessThanOrEqual(c.m15);
      expect(c.m15).toBe(m.reduce((sum, minute) => sum + (minute.get('in|q') ?? 0), 0));
      expect(c.m1).toBe(m[0]?.get('in|q') ?? 0);
    }));
  });

  it('a minute is read from Redis strings, ignoring what is not a count', () => {
    expect(parseMinute({ 'in|q': '12', 'out|q': 'x', 'lat|s|ms': '1500' })).toEqual(new Map([['in|q', 12], ['lat|s|ms', 1500]]));
  });

  it('buckets are minutes since the epoch', () => {
    expect(minuteOf(new Date('1970-01-01T00:01:59.999Z'))).toBe(1);
    expect(minuteOf(new Date('2026-03-01T10:00:00Z')) - minuteOf(new Date('2026-03-01T09:59:59Z'))).toBe(1);
  });

  it('latency over a window: mean from the sums, percentiles from the buckets', () => {
    const stage = 'validate';
    const now = new Map([[flowField.latencyCount(stage), 2], [flowField.latencySumMs(stage), 300], [flowField.latencyBucket(stage, latencyBucketOf(0.1)), 2]]);
    const earlier = new Map([[flowField.latencyCount(stage), 1], [flowField.latencySumMs(stage), 20_000], [flowField.latencyBucket(stage, latencyBucketOf(20)), 1]]);
    const m = [now, new Map(), earlier];
    expect(latencyOver(m, stage, 1)).toEqual({ count: 2, meanSeconds: 0.15, p50Seconds: 0.075, p90Seconds: 0.095 });
    const five = latencyOver(m, stage, 5);
    expect(five.count).toBe(3);
    expect(five.meanSeconds).toBeCloseTo(6.767, 3);
    expect(five.p90Seconds!).toBeGreaterThan(10);
    expect(latencyOver(m, 'allocate', 15)).toEqual({ count: 0, meanSeconds: null, p50Seconds: null, p90Seconds: null });
    expect(sumOver(m, flowField.latencyCount(stage), 2)).toBe(2);
  });
});

describe('flowsReport', () => {
  const ns = 'flowpure';
  it('names queues by kind and stage, and ages the outbox backlog by the clock', () => {
    expect(queueKindOf(ns, `${ns}.stage.validate`)).toBe('stage');
    expect(queueKindOf(ns, `${ns}.wait.100`)).toBe('wait');
    expect(queueKindOf(ns, `${ns}.parked.audit`)).toBe('parking');
    expect(queueKindOf(ns, `${ns}.in.warehouse-events`)).toBe('inbound');
    expect(queueKindOf(ns, `${ns}.out.warehouse.us-east`)).toBe('outbound');
    expect(stageOfQueue(ns, `${ns}.stage.validate`)).toBe('validate');
    expect(stageOfQueue(ns, `${ns}.out.warehouse.us-east`)).toBe('out.warehouse.us-east');

    const validate = `${ns}.stage.validate`;
    const outbound = `${ns}.out.warehouse.us-east`;
    const wait = `${ns}.wait.100`;
    const report = flowsReport({
      namespace: ns,
      queues: [validate, wait, outbound],
      depths: new Map([[validate, { messages: 4, consumers: 2 }], [wait, null]]),
      minutes: [new Map([[flowField.in(validate), 7], [flowField.out(validate), 5], [flowField.out(outbound), 1]])],
      outbox: { pending: 3, oldestCreatedAt: new Date('2026-03-01T10:00:00Z') },
      now: new Date('2026-03-01T10:00:42.5Z'),
    });
    expect(report.outbox).toEqual({ pending: 3, oldestAgeSeconds: 42.5 });
    expect(report.queues[0]).toMatchObject({ name: validate, kind: 'stage', depth: 4, consumers: 2, in: { m1: 7, m5: 7, m15: 7 }, out: { m1: 5, m5: 5, m15: 5 } });
    expect(report.queues[1]).toMatchObject({ name: wait, depth: null, consumers: null });
    // a stage for the stage queue, and for the outbound queue a hub consumer drained
    expect(report.stages.map((s) => s.stage)).toEqual(['validate', 'out.warehouse.us-east']);
    expect(flowsReport({ namespace: ns, queues: [], depths: new Map(), minutes: [], outbox: { pending: 0, oldestCreatedAt: null }, now: new Date() }).outbox)
      .toEqual({ pending: 0, oldestAgeSeconds: null });
  });
});
