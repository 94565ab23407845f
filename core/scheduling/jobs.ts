import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';
import { acquireLock } from '../redis/lock.ts';

/** A scheduled job is data: a name, a cron schedule and a plain function returning counts. */
export interface Job {
  name: string;
  schedule: string;
  /** how long the run may hold its lock; a run that takes longer may overlap another */
  lockMs: number;
  run: () => Promise<Record<string, number>>;
}

export type RunOutcome = { ran: false; reason: 'locked' } | { ran: true; ok: boolean; counts: Record<string, number>; error?: string };

/**
 * Runs a job once across all replicas: takes the job's Redis lock, records the run (start,
 * end, outcome, counts) in Postgres, releases the lock. A replica that finds the lock taken
 * skips this tick.
 */
export async function runJobOnce(deps: { db: Db; redis: Redis; namespace: string; logger: Logger }, job: Job): Promise<RunOutcome> {
  const lock = await acquireLock(deps.redis, `${deps.namespace}:lock:job:${job.name}`, job.lockMs);
  if (!lock) return { ran: false, reason: 'locked' };
  let runId: number | undefined;
  try {
    const { rows } = await deps.db.query<{ id: number }>(
      `INSERT INTO job_runs (job, started_at, outcome) VALUES ($1, now(), 'running') RETURNING id`, [job.name]);
    runId = rows[0]!.id;
    const counts = await job.run();
    await deps.db.query(`UPDATE job_runs SET finished_at = now(), outcome = 'ok', counts = $2 WHERE id = $1`, [runId, JSON.stringify(counts)]);
    return { ran: true, ok: true, counts };
  } catch (error) {
    const message = (error as Error).message;
    deps.logger.warn({ job: job.name, err: message }, 'scheduled job failed');
    if (runId !== undefined) {
      await deps.db.query(`UPDATE job_runs SET finished_at = now(), outcome = 'failed', error = $2 WHERE id = $1`, [runId, message]).catch(() => {});
    }
    return { ran: true, ok: false, counts: {}, error: message };
  } finally {
    await lock.release().catch(() => {});
  }
}
