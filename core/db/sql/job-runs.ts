import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

/** One recorded run of a scheduled job. */
export interface JobRun {
  id: number;
  job: string;
  /** the tick the run was for; null for a run asked for by hand */
  scheduledFor: Date | null;
  startedAt: Date;
  finishedAt: Date | null;
  outcome: 'running' | 'ok' | 'failed';
  counts: Record<string, number>;
  error: string | null;
}

const runColumns = `id::int AS id, job, scheduled_for AS "scheduledFor", started_at AS "startedAt", finished_at AS "finishedAt", outcome, counts, error`;

/**
 * Records that a run starts. A run for a tick is recorded once per job and tick: a second
 * replica (or a catch-up) claiming the same tick gets undefined and must not run the job.
 */
export async function startJobRun(db: Queryable, job: string, scheduledFor: Date | null): Promise<{ id: number; startedAt: Date } | undefined> {
  const { rows } = await db.query<{ id: number; startedAt: Date }>(
    `INSERT INTO job_runs (job, scheduled_for, started_at, outcome) VALUES ($1, $2, now(), 'running')
     ON CONFLICT (job, scheduled_for) DO NOTHING RETURNING id::int AS id, started_at AS "startedAt"`,
    [job, scheduledFor]);
  return rows[0];
}

export async function finishJobRun(db: Queryable, id: number, result: { outcome: 'ok'; counts: Record<string, number> } | { outcome: 'failed'; error: string }): Promise<void> {
  await db.query(
    `UPDATE job_runs SET finished_at = now(), outcome = $2, counts = $3, error = $4 WHERE id = $1`,
    [id, result.outcome, jsonb(result.outcome === 'ok' ? result.counts : {}), result.outcome === 'failed' ? result.error : null]);
}

/** The latest run of each of these jobs (jobs never run are absent). */
export async function latestJobRuns(db: Queryable, jobs: readonly string[]): Promise<Map<string, JobRun>> {
  const { rows } = await db.query<JobRun>(
    `SELECT DISTINCT ON (job) ${runColumns} FROM job_runs WHERE job = ANY($1::text[]) ORDER BY job, started_at DESC, id DESC`, [jobs]);
  return new Map(rows.map((r) => [r.job, r]));
}

/** A job's runs, newest first. */
export async function jobRunHistory(db: Queryable, job: string, limit: number): Promise<JobRun[]> {
  const { rows } = await db.query<JobRun>(
    `SELECT ${runColumns} FROM job_runs WHERE job = $1 ORDER BY started_at DESC, id DESC LIMIT $2`, [job, limit]);
  return rows;
}

export async function getJobRun(db: Queryable, id: number): Promise<JobRun | undefined> {
  const { rows } = await db.query<JobRun>(`SELECT ${runColumns} FROM job_runs WHERE id = $1`, [id]);
  return rows[0];
}

/** When the namespace's schema was created: its first migration. */
export async function namespaceCreatedAt(db: Queryable): Promise<Date | null> {
  const { rows } = await db.query<{ at: Date | null }>('SELECT min(applied_at) AS at FROM schema_migrations');
  return rows[0]?.at ?? null;
}
