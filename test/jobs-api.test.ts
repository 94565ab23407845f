// The scheduled-jobs API on a real hub (Postgres, Redis, RabbitMQ): the list with next and
// last run, a run now through the once-across-replicas lock (409 while another replica holds
// it), the run history, unknown jobs, and the bearer token.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../core/hub.ts';
import { lowStockThreshold } from '../core/pipeline/backorders.ts';
import { acquireLock } from '../core/redis/lock.ts';
import { nextRun } from '../core/scheduling/cron.ts';
import { jobLockKey } from '../core/scheduling/jobs.ts';
import { adminToken } from './support/env.ts';
import { startTestHub } from './support/hub.ts';

let hub: Hub;
let stop: () => Promise<void>;

beforeAll(async () => {
  const started = await startTestHub('jobs-api', ['api']);
  hub = started.hub;
  stop = () => started.stop();
});
afterAll(async () => {
  await stop?.();
});

const call = async (path: string, init: RequestInit = {}, token: string | null = adminToken) => {
  const response = await hub.app.request(`/api${path}`, { ...init, headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  return { status: response.status, type: response.headers.get('content-type'), body: (await response.json()) as Record<string, unknown> & { items?: Record<string, unknown>[] } };
};

interface JobItem { name: string; schedule: string; timeZone: string; nextRunAt: string | null; lastRun: null | { startedAt: string; finishedAt: string | null; outcome: string; counts: Record<string, number>; error: string | null }; running: boolean }
const listJobs = async () => (await call('/jobs')).body.items as unknown as JobItem[];

describe('GET /api/jobs', () => {
  it('lists every scheduled job of the hub, with its schedule and next run, never run yet', async () => {
    const before = new Date();
    const items = await listJobs();
    expect(items.map((j) => j.name)).toEqual(hub.jobs.map((j) => j.name));
    expect(items.map((j) => j.name)).toEqual(expect.arrayContaining([
      'exception-escalation', 'payment-timeout', 'unmatched-payments', 'logistics-delay', 'notifications', 'review-reminders',
      'sla-watchdog', 'low-stock', 'unmatched-payment-expiry',
    ]));
    for (const item of items) {
      const job = hub.jobs.find((j) => j.name === item.name)!;
      expect(item).toMatchObject({ schedule: job.schedule, timeZone: 'UTC', lastRun: null, running: false });
      // the next run by the schedule, from the moment of the request
      const next = new Date(item.nextRunAt!);
      expect(next.getTime()).toBeGreaterThan(before.getTime());
      expect([nextRun(job.schedule, before).getTime(), nextRun(job.schedule, new Date()).getTime()]).toContain(next.getTime());
    }
  });
});

describe('POST /api/jobs/:name/run', () => {
  it('runs the job now, answers with its outcome and counts, records and audits it', async () => {
    // given one SKU whose available stock went under its threshold without a stock change (held for orders)
    await hub.db.query(`UPDATE inventory SET reserved = on_hand - 1 WHERE (warehouse, sku) = (SELECT warehouse, sku FROM inventory WHERE on_hand > 10 ORDER BY warehouse, sku LIMIT 1)`);
    const ran = await call('/jobs/low-stock/run', { method: 'POST' });
    expect(ran.status).toBe(200);
    expect(ran.body).toMatchObject({ name: 'low-stock', outcome: 'ok', scheduledFor: null, error: null, counts: { checked: expect.any(Number), opened: expect.any(Number), resolved: 0 } });
    // every warehouse's SKU at or under its threshold now has its alert
    const { rows: levels } = await hub.db.query<{ sku: string; available: number }>(`SELECT sku, on_hand - reserved AS available FROM inventory`);
    const low = levels.filter((l) => l.available <= lowStockThreshold(hub.config.inventory, l.sku)).length;
    expect(low).toBe(1);
    expect(ran.body.counts).toEqual({ checked: levels.length, opened: low, resolved: 0 });
    expect((await hub.db.query(`SELECT 1 FROM exceptions WHERE type = 'low_stock' AND status = 'open'`)).rowCount).toBe(low);

    const item = (await listJobs()).find((j) => j.name === 'low-stock')!;
    expect(item.lastRun).toMatchObject({ outcome: 'ok', counts: ran.body.counts, error: null });
    expect(new Date(item.lastRun!.finishedAt!).getTime()).toBeGreaterThanOrEqual(new Date(item.lastRun!.startedAt).getTime());

    const { rows: audit } = await hub.db.query(`SELECT actor, action, target, detail FROM audit_log WHERE action = 'job.run'`);
    expect(audit).toEqual([{ actor: 'admin', action: 'job.run', target: 'job:low-stock', detail: { runId: ran.body.id, ok: true, counts: ran.body.counts } }]);

    // a second run finds nothing left to open
    const again = await call('/jobs/low-stock/run', { method: 'POST' });
    expect(again.body).toMatchObject({ outcome: 'ok', counts: { opened: 0, resolved: 0 } });

    // and Prometheus can alert on a job that stopped succeeding
    const metrics = await (await hub.app.request('/metrics')).text();
    const finished = /hub_job_last_finished_seconds\{job="low-stock",outcome="ok"\} (\S+)/.exec(metrics);
    expect(Number(finished?.[1]) * 1000).toBeCloseTo(new Date(((await listJobs()).find((j) => j.name === 'low-stock')!.lastRun!.finishedAt)!).getTime(), -3);
  });

  it('answers 409 while another replica holds the job, and shows it running; runs it once the lock is free', async () => {
    // given another replica running the escalation job (holding its lock)
    const lock = await acquireLock(hub.redis, jobLockKey(hub.namespace, 'exception-escalation'), 10_000);
    expect(lock).toBeDefined();
    try {
      const refused = await call('/jobs/exception-escalation/run', { method: 'POST' });
      expect(refused.status).toBe(409);
      expect(refused.type).toBe('application/problem+json');
      expect(refused.body).toMatchObject({ status: 409, code: 'job_running' });
      expect((await listJobs()).find((j) => j.name === 'exception-escalation')).toMatchObject({ running: true, lastRun: null });
      expect(await hub.db.query(`SELECT 1 FROM job_runs WHERE job = 'exception-escalation'`)).toMatchObject({ rowCount: 0 });
    } finally {
      await lock!.release();
    }
    const ran = await call('/jobs/exception-escalation/run', { method: 'POST' });
    expect(ran).toMatchObject({ status: 200, body: { name: 'exception-escalation', outcome: 'ok' } });
    expect((await listJobs()).find((j) => j.name === 'exception-escalation')).toMatchObject({ running: false, lastRun: { outcome: 'ok' } });
  });

  it('answers 404 for a job that does not exist', async () => {
    const missing = await call('/jobs/no-such-job/run', { method: 'POST' });
    expect(missing).toMatchObject({ status: 404, type: 'application/problem+json', body: { code: 'job_not_found' } });
  });
});

describe('GET /api/jobs/:name/runs', () => {
  it("lists a job's runs, newest first, as many as asked for", async () => {
    for (let i = 0; i < 3; i++) expect((await call('/jobs/sla-watchdog/run', { method: 'POST' })).status).toBe(200);
    const all = await call('/jobs/sla-watchdog/runs');
    expect(all.status).toBe(200);
    const ids = all.body.items!.map((r) => r.id as number);
    expect(ids).toHaveLength(3);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    expect(all.body.items![0]).toMatchObject({ outcome: 'ok', scheduledFor: null, counts: { overdue: 0, breached: 0, resolved: 0 } });
    expect((await call('/jobs/sla-watchdog/runs?limit=2')).body.items!.map((r) => r.id)).toEqual(ids.slice(0, 2));
  });

  it('answers 400 for a bad limit and 404 for an unknown job', async () => {
    for (const limit of ['0', '1001', 'ten', '1.5']) {
      expect(await call(`/jobs/sla-watchdog/runs?limit=${limit}`)).toMatchObject({ status: 400, type: 'application/problem+json', body: { code: 'invalid_query' } });
    }
    expect(await call('/jobs/nope/runs')).toMatchObject({ status: 404, body: { code: 'job_not_found' } });
  });
});

describe('without the bearer token', () => {
  it('answers 401 and runs nothing', async () => {
    const before = await hub.db.query(`SELECT count(*)::int AS n FROM job_runs`);
    for (const [path, method] of [['/jobs', 'GET'], ['/jobs/low-stock/runs', 'GET'], ['/jobs/low-stock/run', 'POST']] as const) {
      expect((await call(path, { method }, null)).status).toBe(401);
      expect((await call(path, { method }, 'wrong-token')).status).toBe(401);
    }
    expect((await hub.db.query(`SELECT count(*)::int AS n FROM job_runs`)).rows).toEqual(before.rows);
  });
});
