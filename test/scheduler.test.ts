// The scheduler on real Redis and Postgres: two schedulers (two replicas) running the same
// every-second job record exactly one run per tick, and after downtime a job that missed its
// ticks runs once at start — once, even when both replicas start together.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { createRedis } from '../core/redis/client.ts';
import { previousRun } from '../core/scheduling/cron.ts';
import { type Job } from '../core/scheduling/jobs.ts';
import { catchUpMissedRuns, startScheduler, type SchedulerDeps } from '../core/scheduling/scheduler.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

const namespace = testNamespace('scheduler');
const env = testEnv(namespace);
const logger = quietLogger();
let db: Db;
const replicas: Redis[] = [];
const DAY = 86_400_000;

const replica = (i: number, now?: () => Date): SchedulerDeps => {
  while (replicas.length <= i) replicas.push(createRedis(env.redisUrl));
  return { db, redis: replicas[i]!, namespace, logger, ...(now ? { now } : {}) };
};

interface Row { scheduledFor: Date | null; startedAt: Date; outcome: string; counts: Record<string, number> }
async function runsOf(job: string): Promise<Row[]> {
  const { rows } = await db.query<Row>(
    `SELECT scheduled_for AS "scheduledFor", started_at AS "startedAt", outcome, counts FROM job_runs WHERE job = $1 ORDER BY id`, [job]);
  return rows;
}
/** A run recorded in the past, as a scheduler that has since stopped left it. */
async function pastRun(job: string, startedAt: Date): Promise<void> {
  await db.query(`INSERT INTO job_runs (job, scheduled_for, started_at, finished_at, outcome, counts) VALUES ($1, $2, $2, $2, 'ok', '{}')`, [job, startedAt]);
}
/** A job that counts how often its body runs (and can take a moment). */
function countingJob(name: string, schedule: string, tookMs = 0): Job & { bodies: number[] } {
  const bodies: number[] = [];
  return {
    name, schedule, lockMs: 30_000, bodies,
    run: async () => {
      bodies.push(Date.now());
      if (tookMs > 0) await new Promise((r) => setTimeout(r, tookMs));
      return { done: 1 };
    },
  };
}

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, 10);
  await migrate(db, namespace);
});
afterAll(async () => {
  for (const r of replicas) r.disconnect();
  await db?.end();
  await removeNamespace(env);
});

describe('two schedulers on the same every-second job', () => {
  it('record exactly one run per tick, however fast the job is', async () => {
    // given two replicas scheduling the same job, which finishes at once (so the lock is free
    // again long before the other replica's timer fires)
    const job = countingJob('every-second', '* * * * * *');
    const a = startScheduler(replica(0), [job]);
    const b = startScheduler(replica(1), [job]);
    // when a few ticks go by
    await new Promise((r) => setTimeout(r, 4_200));
    await Promise.all([a.stop(), b.stop()]);
    // then every tick ran once: one run per tick in job_runs, one body per run
    const runs = await runsOf('every-second');
    const ticks = runs.map((r) => r.scheduledFor?.getTime());
    expect(runs.length).toBeGreaterThanOrEqual(3);
    expect(new Set(ticks).size).toBe(runs.length);
    expect(job.bodies).toHaveLength(runs.length);
    for (const r of runs) {
      expect(r).toMatchObject({ outcome: 'ok', counts: { done: 1 } });
      expect(r.scheduledFor!.getTime() % 1000).toBe(0);
    }
    // and the ticks are consecutive seconds: none was skipped by the other replica's refusal
    const sorted = ticks.map(Number).sort((x, y) => x - y);
    expect(sorted.at(-1)! - sorted[0]!).toBe((sorted.length - 1) * 1000);
  });
});

describe('catching up after downtime', () => {
  // A yearly job (1 January, 00:00 UTC) cannot tick by itself while the test runs.
  const yearly = '0 0 1 1 *';

  it('runs a job that missed its ticks once at start, for the latest tick it missed', async () => {
    // given the job last ran three years ago (two ticks missed since)
    const job = countingJob('yearly-summary', yearly);
    await pastRun(job.name, new Date(Date.now() - 3 * 366 * DAY));
    // when a scheduler starts
    const scheduler = startScheduler(replica(0), [job]);
    const caughtUp = await scheduler.caughtUp;
    await scheduler.stop();
    // then the job ran once, for the latest tick
    const tick = previousRun(yearly, new Date());
    expect(job.bodies).toHaveLength(1);
    expect(caughtUp).toEqual([{ job: job.name, tick, outcome: { ran: true, ok: true, counts: { done: 1 } } }]);
    const runs = await runsOf(job.name);
    expect(runs).toHaveLength(2);
    expect(runs[1]).toMatchObject({ scheduledFor: tick, outcome: 'ok' });
    // and a scheduler starting again has nothing to make up for
    const again = startScheduler(replica(0), [job]);
    expect(await again.caughtUp).toEqual([]);
    await again.stop();
    expect(job.bodies).toHaveLength(1);
  });

  it('runs it once when two replicas start together, whether the job is slow or quick', async () => {
    for (const [name, tookMs] of [['yearly-slow', 300], ['yearly-quick', 0]] as const) {
      // given a job that missed its tick
      const job = countingJob(name, yearly, tookMs);
      await pastRun(name, new Date(Date.now() - 400 * DAY));
      // when two schedulers start at the same moment
      const [a, b] = [startScheduler(replica(0), [job]), startScheduler(replica(1), [job])];
      const outcomes = (await Promise.all([a.caughtUp, b.caughtUp])).flat().map((c) => c.outcome);
      await Promise.all([a.stop(), b.stop()]);
      // then one ran it; the other found it locked, or that tick already run
      expect(job.bodies, name).toHaveLength(1);
      expect(outcomes.filter((o) => o.ran), name).toHaveLength(1);
      expect(outcomes.filter((o) => !o.ran).every((o) => !o.ran && ['locked', 'already_ran'].includes(o.reason)), name).toBe(true);
      expect((await runsOf(name)).filter((r) => r.scheduledFor?.getTime() === previousRun(yearly, new Date()).getTime()), name).toHaveLength(1);
    }
  });

  it('leaves a job alone when its last tick ran', async () => {
    const job = countingJob('yearly-done', yearly);
    await pastRun(job.name, new Date(previousRun(yearly, new Date()).getTime() + 5_000));
    expect(await catchUpMissedRuns(replica(0), [job])).toEqual([]);
    expect(job.bodies).toHaveLength(0);
  });

  it('runs a job that never ran only when a tick fell since the namespace was created', async () => {
    // given an hourly job that has never run, in a namespace created moments ago
    const job = countingJob('never-ran', '0 * * * *');
    const { rows } = await db.query<{ at: Date }>('SELECT min(applied_at) AS at FROM schema_migrations');
    const created = rows[0]!.at;
    // when the scheduler starts before the next hour: nothing to make up for
    const beforeTheHour = new Date(Math.max(created.getTime(), previousRun('0 * * * *', created).getTime() + 1_000));
    expect(await catchUpMissedRuns(replica(0, () => beforeTheHour), [job])).toEqual([]);
    // when it starts after the next hour went by with no scheduler: one run, for that hour
    const twoHoursLater = new Date(created.getTime() + 2 * 3_600_000);
    const caughtUp = await catchUpMissedRuns(replica(0, () => twoHoursLater), [job]);
    expect(caughtUp).toEqual([expect.objectContaining({ job: 'never-ran', tick: previousRun('0 * * * *', twoHoursLater), outcome: expect.objectContaining({ ran: true }) })]);
    expect(job.bodies).toHaveLength(1);
  });
});
