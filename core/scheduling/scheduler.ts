import cron from 'node-cron';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';
import { latestJobRuns, namespaceCreatedAt } from '../db/sql/job-runs.ts';
import { missedRun } from './catch-up.ts';
import { runJobOnce, type Job, type RunOutcome } from './jobs.ts';

export interface SchedulerDeps {
  db: Db;
  redis: Redis;
  namespace: string;
  logger: Logger;
  /** the clock the catch-up reads (default: the system clock) */
  now?: () => Date;
}

/** A tick a job had missed while no scheduler ran, and how making up for it went. */
export interface CaughtUp { job: string; tick: Date; outcome: RunOutcome }

/**
 * Runs, once, every job that missed a tick while no scheduler ran (see `missedRun`), each
 * through `runJobOnce` with the tick it makes up for: replicas starting together record
 * that tick once, so the job runs once.
 */
export async function catchUpMissedRuns(deps: SchedulerDeps, jobs: readonly Job[]): Promise<CaughtUp[]> {
  const now = (deps.now ?? (() => new Date()))();
  const since = await namespaceCreatedAt(deps.db);
  const latest = await latestJobRuns(deps.db, jobs.map((j) => j.name));
  const results = await Promise.all(jobs.map(async (job): Promise<CaughtUp | undefined> => {
    try {
      const tick = missedRun(job.schedule, latest.get(job.name)?.startedAt ?? null, now, { since, timeZone: job.timeZone });
      if (!tick) return undefined;
      deps.logger.info({ job: job.name, tick }, 'scheduled job missed a run: running it now');
      return { job: job.name, tick, outcome: await runJobOnce(deps, job, { tick }) };
    } catch (error) {
      deps.logger.warn({ job: job.name, err: (error as Error).message }, 'could not catch up on scheduled job');
      return undefined;
    }
  }));
  return results.filter((r) => r !== undefined);
}

/**
 * Schedules each job with node-cron (in UTC unless the job names a time zone); every tick
 * goes through `runJobOnce` with the tick's time, so each tick runs once across replicas.
 * At start, jobs that missed a tick while no scheduler ran catch up (`caughtUp` settles
 * when they have).
 */
export function startScheduler(deps: SchedulerDeps, jobs: readonly Job[]) {
  // Runs in flight, so that stopping waits for them instead of closing the pool under them.
  const inFlight = new Set<Promise<unknown>>();
  const track = (run: Promise<unknown>) => {
    inFlight.add(run);
    void run.finally(() => inFlight.delete(run));
  };
  const tasks = jobs.map((job) =>
    cron.schedule(job.schedule, (context) => {
      track(runJobOnce(deps, job, { tick: context.date }).catch((error: unknown) =>
        deps.logger.warn({ job: job.name, err: (error as Error).message }, 'could not run scheduled job')));
    }, { name: `${deps.namespace}:${job.name}`, noOverlap: true, timezone: job.timeZone ?? 'UTC' }),
  );
  const caughtUp = catchUpMissedRuns(deps, jobs).catch((error: unknown) => {
    deps.logger.warn({ err: (error as Error).message }, 'could not catch up on scheduled jobs');
    return [];
  });
  return {
    caughtUp,
    async stop() {
      for (const t of tasks) await t.destroy();
      await caughtUp;
      await Promise.all(inFlight);
    },
  };
}
