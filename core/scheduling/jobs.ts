import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';
import { finishJobRun, startJobRun } from '../db/sql/job-runs.ts';
import { acquireLock } from '../redis/lock.ts';

/** A scheduled job is data: a name, a cron schedule and a plain function returning counts. */
export interface Job {
  name: string;
  schedule: string;
  /** IANA time zone the schedule is read in (default UTC) */
  timeZone?: string;
  /** how long the run may hold its lock; a run that takes longer may overlap another */
  lockMs: number;
  run: () => Promise<Record<string, number>>;
}

export type RunOutcome =
  | { ran: false; reason: 'locked' | 'already_ran' }
  | { ran: true; ok: boolean; counts: Record<string, number>; error?: string };

export interface RunOptions {
  /**
   * The tick this run is for (a scheduler's tick, or the one a catch-up makes up for). Each
   * tick of a job runs once: a replica that finds it already recorded does not run it again,
   * even when the lock was free because the first run had already finished.
   */
  tick?: Date;
  /** told the run's id once it is recorded (the jobs API answers with it) */
  onRecorded?: (runId: number) => void;
}

/** The Redis key of a job's run lock. */
export const jobLockKey = (namespace: string, job: string) => `${namespace}:lock:job:${job}`;

/**
 * Runs a job once across all replicas: takes the job's Redis lock, records the run (start,
 * end, outcome, counts) in Postgres, releases the lock. A replica that finds the lock taken
 * skips this tick, and so does one that finds the tick already run.
 */
export async function runJobOnce(deps: { db: Db; redis: Redis; namespace: string; logger: Logger }, job: Job, options: RunOptions = {}): Promise<RunOutcome> {
  const lock = await acquireLock(deps.redis, jobLockKey(deps.namespace, job.name), job.lockMs);
  if (!lock) return { ran: false, reason: 'locked' };
  let runId: number | undefined;
  try {
    const started = await startJobRun(deps.db, job.name, options.tick ?? null);
    if (!started) return { ran: false, reason: 'already_ran' };
    runId = started.id;
    options.onRecorded?.(runId);
    const counts = await job.run();
    await finishJobRun(deps.db, runId, { outcome: 'ok', counts });
    return { ran: true, ok: true, counts };
  } catch (error) {
    const message = (error as Error).message;
    deps.logger.warn({ job: job.name, err: message }, 'scheduled job failed');
    if (runId !== undefined) await finishJobRun(deps.db, runId, { outcome: 'failed', error: message }).catch(() => {});
    return { ran: true, ok: false, counts: {}, error: message };
  } finally {
    await lock.release().catch(() => {});
  }
}
