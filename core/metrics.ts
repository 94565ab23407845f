import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from './db/pool.ts';

/**
 * The hub's Prometheus metrics, one registry per hub instance (tests run several hubs in
 * one process). Gauges that describe the database are read when Prometheus scrapes.
 */
export function createMetrics(options: { db?: Db; defaultMetrics?: boolean } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'hub_process_' });
  const db = options.db;
  const metrics = {
    registry,
    webhooks: new Counter({ name: 'hub_webhooks_total', help: 'Webhook deliveries by source and outcome', labelNames: ['source', 'outcome'], registers: [registry] }),
    messages: new Counter({ name: 'hub_messages_total', help: 'Messages consumed by queue and outcome', labelNames: ['queue', 'outcome'], registers: [registry] }),
    published: new Counter({ name: 'hub_outbox_published_total', help: 'Messages published by the outbox relay', registers: [registry] }),
    webhookSeconds: new Histogram({
      name: 'hub_webhook_duration_seconds', help: 'Time to answer a webhook', labelNames: ['source'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
    }),
  };
  if (db) {
    new Gauge({
      name: 'hub_outbox_pending', help: 'Messages committed but not yet published', registers: [registry],
      async collect() {
        const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
        this.set(rows[0]?.n ?? 0);
      },
    });
    new Gauge({
      name: 'hub_orders', help: 'Orders by status', labelNames: ['status'], registers: [registry],
      async collect() {
        const { rows } = await db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM orders GROUP BY status');
        this.reset();
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
    new Gauge({
      name: 'hub_exceptions_open', help: 'Open exceptions by type', labelNames: ['type'], registers: [registry],
      async collect() {
        const { rows } = await db.query<{ type: string; n: number }>(`SELECT type, count(*) AS n FROM exceptions WHERE status = 'open' GROUP BY type`);
        this.reset();
        for (const r of rows) this.set({ type: r.type }, r.n);
      },
    });
    // For alerts such as "no successful run of daily-report for 26 hours".
    new Gauge({
      name: 'hub_job_last_finished_seconds', help: 'Unix time of the last finished run of each scheduled job, by outcome', labelNames: ['job', 'outcome'], registers: [registry],
      async collect() {
        const { rows } = await db.query<{ job: string; outcome: string; at: number }>(
          `SELECT job, outcome, extract(epoch FROM max(finished_at))::float8 AS at FROM job_runs WHERE finished_at IS NOT NULL GROUP BY job, outcome`);
        this.reset();
        for (const r of rows) this.set({ job: r.job, outcome: r.outcome }, r.at);
      },
    });
    new Gauge({
      name: 'hub_returns', help: 'Returns (RMAs) by status', labelNames: ['status'], registers: [registry],
      async collect() {
        const { rows } = await db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM returns GROUP BY status');
        this.reset();
        for (const r of rows) this.set({ status: r.status }, r.n);
      },
    });
  }
  return metrics;
}
export type Metrics = ReturnType<typeof createMetrics>;
