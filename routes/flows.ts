import { Hono } from 'hono';
import type { Db } from '../core/db/pool.ts';
import { outboxBacklog } from '../core/db/sql/outbox-backlog.ts';
import type { QueueProbe } from '../core/messaging/queue-probe.ts';
import type { Topology } from '../core/messaging/topology.ts';
import type { FlowCounters } from '../core/redis/flow-counters.ts';
import { flowsReport } from '../core/reports/flows.ts';

/** Where the flows report reads from; `core/hub.ts` builds them. */
export interface FlowSources {
  topology: Topology;
  counters: FlowCounters;
  /** absent in a process without a broker: depths are then null */
  probe?: QueueProbe | undefined;
}

export interface FlowRoutesDeps extends FlowSources {
  db: Db;
  namespace: string;
  now: () => Date;
}

/**
 * `GET /flows` (mounted at `/api`, behind bearer auth): whether orders are flowing. Every
 * queue of the namespace with depth and consumers from the broker, traffic in and out with
 * retries and parkings over the last 1/5/15 minutes from the Redis counters; the outbox
 * backlog; every stage's throughput and latency. Reads only: nothing to audit.
 */
export function flowRoutes(deps: FlowRoutesDeps): Hono {
  const app = new Hono();
  const queues = deps.topology.queues.map((q) => q.name);
  app.get('/flows', async (c) => {
    const [depths, minutes, outbox] = await Promise.all([
      deps.probe ? deps.probe.depths(queues) : Promise.resolve(new Map<string, null>()),
      deps.counters.read(),
      outboxBacklog(deps.db),
    ]);
    return c.json(flowsReport({ namespace: deps.namespace, queues, depths, minutes, outbox, now: deps.now() }));
  });
  return app;
}
