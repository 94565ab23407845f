import type { Redis } from 'ioredis';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { createRouteTable } from '../messaging/routing.ts';
import { names, type Topology } from '../messaging/topology.ts';
import {
  deliveryIncrements, flowField, minuteOf, parseMinute, stageOfQueue,
  type FlowOutcome, type MinuteCounters,
} from '../reports/flow-window.ts';

/** Minutes a bucket is kept: the longest window plus a margin for clocks and slow reads. */
const keepMinutes = 20;
const readMinutes = 15;

export interface FlowCounters {
  /**
   * A consumer finished a delivery from `queue`. One pipelined write, not awaited: the hot
   * path never waits for Redis, and a Redis outage costs counts, not messages.
   */
  finished(queue: string, outcome: FlowOutcome, event?: CloudEvent): void;
  /** The relay had these messages confirmed by the broker: count them into the queues they are routed to. */
  published(messages: readonly { exchange: string; routingKey: string }[]): void;
  /** The counters of the last 15 minutes, newest first. */
  read(): Promise<MinuteCounters>;
}

/**
 * Flow counters in Redis, shared by every replica: one hash per minute under
 * `<ns>:flows:<minute>`, expiring after 20 minutes. The minute comes from the hub's clock.
 */
export function createFlowCounters(deps: {
  redis: Redis;
  namespace: string;
  topology: Topology;
  now: () => Date;
  /** told each acknowledged delivery's latency (the Prometheus histogram) */
  onLatency?: (stage: string, seconds: number) => void;
}): FlowCounters {
  const n = names(deps.namespace);
  const routes = createRouteTable(deps.topology);
  const parkingQueues = routes(n.parking, '');
  const keyOf = (minute: number) => `${deps.namespace}:flows:${minute}`;

  function write(increments: ReadonlyMap<string, number>): void {
    if (increments.size === 0) return;
    const key = keyOf(minuteOf(deps.now()));
    const pipeline = deps.redis.pipeline();
    for (const [field, by] of increments) pipeline.hincrby(key, field, by);
    pipeline.expire(key, keepMinutes * 60);
    pipeline.exec().catch(() => {});
  }

  return {
    finished(queue, outcome, event) {
      const stage = stageOfQueue(deps.namespace, queue);
      let latencySeconds: number | undefined;
      if (outcome === 'ack' && event) {
        const created = Date.parse(event.time);
        if (Number.isFinite(created)) latencySeconds = Math.max(0, (deps.now().getTime() - created) / 1000);
      }
      if (latencySeconds !== undefined) deps.onLatency?.(stage, latencySeconds);
      write(deliveryIncrements({ queue, stage, outcome, latencySeconds, parkingQueues }));
    },
    published(messages) {
      const increments = new Map<string, number>();
      for (const m of messages) {
        for (const queue of routes(m.exchange, m.routingKey)) {
          const field = flowField.in(queue);
          increments.set(field, (increments.get(field) ?? 0) + 1);
        }
      }
      write(increments);
    },
    async read() {
      const current = minuteOf(deps.now());
      const pipeline = deps.redis.pipeline();
      for (let ago = 0; ago < readMinutes; ago++) pipeline.hgetall(keyOf(current - ago));
      const replies = (await pipeline.exec()) ?? [];
      return replies.map(([error, hash]) => (error || !hash ? new Map<string, number>() : parseMinute(hash as Record<string, string>)));
    },
  };
}
