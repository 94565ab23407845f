import { Hono, type Context } from 'hono';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../core/db/pool.ts';
import { appendAudit } from '../core/db/sql/audit.ts';
import { getJobRun, jobRunHistory, latestJobRuns, type JobRun } from '../core/db/sql/job-runs.ts';
import { badRequest, conflict, HubError, notFound } from '../core/errors.ts';
import { nextRun } from '../core/scheduling/cron.ts';
import { jobLockKey, runJobOnce, type Job } from '../core/scheduling/jobs.ts';
import { actorOf } from './principal.ts';

export interface JobRoutesDeps {
  db: Db;
  redis: Redis;
  namespace: string;
  logger: Logger;
  /** the hub's scheduled jobs (`scheduledJobs` in core/hub.ts) */
  jobs: readonly Job[];
  now: () => Date;
}

/** A run as the API shows it. */
const runView = (r: JobRun) => ({
  id: r.id, scheduledFor: r.scheduledFor, startedAt: r.startedAt, finishedAt: r.finishedAt, outcome: r.outcome, counts: r.counts, error: r.error,
});

/** When the job runs next by its schedule; null for a schedule the hub cannot read (node-cron extensions such as `L`). */
function nextRunAt(job: Job, now: Date): Date | null {
  try {
    return nextRun(job.schedule, now, { timeZone: job.timeZone });
  } catch {
    return null;
  }
}

/** `limit` of the run history: 1..1000, 20 by default. */
function limitParam(c: Context): number {
  const text = c.req.query('limit');
  const limit = text === undefined || text === '' ? 20 : Number(text);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid_query', 'limit must be an integer 1..1000');
  return limit;
}

/**
 * The scheduled jobs for operators (behind bearer auth, mounted at `/api`): each with its
 * schedule, next and last run and whether it is running now; a job's run history; and a run
 * now, through the same once-across-replicas lock as a scheduled tick, audited.
 */
export function jobRoutes(deps: JobRoutesDeps): Hono {
  const app = new Hono();
  const byName = new Map(deps.jobs.map((j) => [j.name, j]));
  const jobNamed = (name: string): Job => {
    const job = byName.get(name);
    if (!job) throw notFound('job_not_found', `no scheduled job named "${name.slice(0, 100)}"`);
    return job;
  };

  app.get('/jobs', async (c) => {
    const now = deps.now();
    const latest = await latestJobRuns(deps.db, deps.jobs.map((j) => j.name));
    const items = await Promise.all(deps.jobs.map(async (job) => {
      const last = latest.get(job.name);
      return {
        name: job.name,
        schedule: job.schedule,
        timeZone: job.timeZone ?? 'UTC',
        nextRunAt: nextRunAt(job, now),
        lastRun: last ? { startedAt: last.startedAt, finishedAt: last.finishedAt, outcome: last.outcome, counts: last.counts, error: last.error } : null,
        // the lock, not the last run's outcome: a run whose process died stays "running" in its row
        running: (await deps.redis.exists(jobLockKey(deps.namespace, job.name))) === 1,
      };
    }));
    return c.json({ items });
  });

  app.get('/jobs/:name/runs', async (c) => {
    const job = jobNamed(c.req.param('name'));
    const runs = await jobRunHistory(deps.db, job.name, limitParam(c));
    return c.json({ items: runs.map(runView) });
  });

  app.post('/jobs/:name/run', async (c) => {
    const job = jobNamed(c.req.param('name'));
    let runId: number | undefined;
    const outcome = await runJobOnce(deps, job, { onRecorded: (id) => { runId = id; } });
    if (!outcome.ran) throw conflict('job_running', `${job.name} is running on another replica; try again when it has finished`);
    if (runId === undefined) throw new HubError('run_not_recorded', `${job.name} could not be started: ${outcome.error ?? 'its run was not recorded'}`, { status: 503 });
    await appendAudit(deps.db, {
      actor: actorOf(c), action: 'job.run', target: `job:${job.name}`,
      detail: { runId, ok: outcome.ok, counts: outcome.counts, ...(outcome.error ? { error: outcome.error } : {}) },
    });
    const run = await getJobRun(deps.db, runId);
    return c.json({ name: job.name, ...(run ? runView(run) : { id: runId, outcome: outcome.ok ? 'ok' : 'failed', counts: outcome.counts, error: outcome.error ?? null }) });
  });

  return app;
}
