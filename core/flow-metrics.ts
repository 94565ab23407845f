import { Gauge, Histogram, type Registry } from 'prom-client';
import type { Db } from './db/pool.ts';
import { outboxBacklog } from './db/sql/outbox-backlog.ts';
import type { QueueProbe } from './messaging/queue-probe.ts';
import { latencyBoundsSeconds } from './reports/flow-window.ts';

/**
 * The flow series of `/metrics`: stage latency (a histogram fed by the consumers), queue
 * depths (asked of the broker at each scrape) and the outbox lag (the age of the oldest
 * unpublished message, read at each scrape).
 */
export function registerFlowMetrics(registry: Registry, deps: { db: Db; probe?: QueueProbe | undefined; queues: readonly string[]; now: () => Date }) {
  const stageLatency = new Histogram({
    name: 'hub_stage_latency_seconds',
    help: 'From an event\'s creation to a stage having acknowledged it (outbox, queue and retries included), by stage',
    labelNames: ['stage'], buckets: [...latencyBoundsSeconds], registers: [registry],
  });
  const probe = deps.probe;
  if (probe) {
    new Gauge({
      name: 'hub_queue_depth', help: 'Messages ready in each queue of the namespace, read from the broker at scrape', labelNames: ['queue'], registers: [registry],
      async collect() {
        const depths = await probe.depths(deps.queues);
        this.reset();
        for (const [queue, depth] of depths) if (depth) this.set({ queue }, depth.messages);
      },
    });
  }
  new Gauge({
    name: 'hub_outbox_lag_seconds', help: 'Age of the oldest message committed to the outbox and not yet published (0 when none)', registers: [registry],
    async collect() {
      const { oldestCreatedAt } = await outboxBacklog(deps.db);
      this.set(oldestCreatedAt ? Math.max(0, (deps.now().getTime() - oldestCreatedAt.getTime()) / 1000) : 0);
    },
  });
  return { stageLatency };
}
