// Scheduled jobs run once across replicas: the Redis lock (acquireLock) and the run
// wrapper that records each run in Postgres (runJobOnce). Real Redis, real Postgres.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { createRedis } from '../core/redis/client.ts';
import { acquireLock } from '../core/redis/lock.ts';
import { runJobOnce, type Job, type RunOutcome } from '../core/scheduling/jobs.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

const namespace = testNamespace('scheduling');
const env = testEnv(namespace);
const logger = quietLogger();
let db: Db;
/** one Redis connection per simulated replica */
const replicas: Redis[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let keys = 0;
/** a fresh lock key inside the test namespace (removeNamespace deletes `<ns>:*`) */
const lockKey = (label: string) => `${namespace}:test-lock:${label}:${++keys}`;
const jobLockKey = (job: string) => `${namespace}:lock:job:${job}`;

function redis(replica = 0): Redis {
  while (replicas.length <= replica) replicas.push(createRedis(env.redisUrl));
  return replicas[replica]!;
}

const depsFor = (replica: number) => ({ db, redis: redis(replica), namespace, logger });

interface JobRunRow { job: string; outcome: string; counts: Record<string, number>; error: string | null; startedAt: Date; finishedAt: Date | null }

async function runsOf(job: string): Promise<JobRunRow[]> {
  const { rows } = await db.query<JobRunRow>(
    `SELECT job, outcome, counts, error, started_at AS "startedAt", finished_at AS "finishedAt" FROM job_runs WHERE job = $1 ORDER BY id`, [job]);
  return rows;
}

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, 5);
  await migrate(db, namespace);
});

afterAll(async () => {
  for (const r of replicas) r.disconnect();
  await db?.end();
  await removeNamespace(env);
});

describe('acquireLock', () => {
  it('refuses a second holder while the lock is held, and lets one in after release', async () => {
    // given a lock held by one replica
    const key = lockKey('release');
    const first = await acquireLock(redis(0), key, 10_000);
    expect(first).toBeDefined();
    // when another replica (and the same one) tries to take it
    // then both are refused
    expect(await acquireLock(redis(1), key, 10_000)).toBeUndefined();
    expect(await acquireLock(redis(0), key, 10_000)).toBeUndefined();
    // and once released, another replica gets it
    await first!.release();
    expect(await redis(0).exists(key)).toBe(0);
    const second = await acquireLock(redis(1), key, 10_000);
    expect(second).toBeDefined();
    await second!.release();
  });

  it('sets the expiry it was given', async () => {
    const key = lockKey('ttl');
    const lock = await acquireLock(redis(0), key, 5_000);
    const ttl = await redis(0).pttl(key);
    expect(ttl).toBeGreaterThan(4_000);
    expect(ttl).toBeLessThanOrEqual(5_000);
    await lock!.release();
  });

  it('frees the lock when it expires, so a dead holder does not block the others', async () => {
    // given a lock taken for 150 ms by a holder that never releases it
    const key = lockKey('expiry');
    expect(await acquireLock(redis(0), key, 150)).toBeDefined();
    expect(await acquireLock(redis(1), key, 10_000)).toBeUndefined();
    // when the expiry passes
    await sleep(300);
    // then another replica takes it
    const next = await acquireLock(redis(1), key, 10_000);
    expect(next).toBeDefined();
    await next!.release();
  });

  it('does not let a stale holder release the lock someone else took after its expiry', async () => {
    // given replica 0's lock expired and replica 1 took the key
    const key = lockKey('stale');
    const stale = await acquireLock(redis(0), key, 100);
    await sleep(250);
    const current = await acquireLock(redis(1), key, 10_000);
    expect(current).toBeDefined();
    // when the stale holder finishes and releases
    await stale!.release();
    // then replica 1 still holds the lock: nobody else gets in
    expect(await redis(2).exists(key)).toBe(1);
    expect(await acquireLock(redis(2), key, 10_000)).toBeUndefined();
    // and replica 1's own release does free it
    await current!.release();
    expect(await redis(2).exists(key)).toBe(0);
  });

  it('lets exactly one of many simultaneous replicas in', async () => {
    const key = lockKey('race');
    const attempts = await Promise.all(Array.from({ length: 8 }, (_, i) => acquireLock(redis(i), key, 10_000)));
    const winners = attempts.filter((l) => l !== undefined);
    expect(winners).toHaveLength(1);
    await winners[0]!.release();
  });

  it('makes a release idempotent: releasing twice does not free a newer holder', async () => {
    const key = lockKey('twice');
    const first = await acquireLock(redis(0), key, 10_000);
    await first!.release();
    const second = await acquireLock(redis(1), key, 10_000);
    await first!.release();
    expect(await acquireLock(redis(2), key, 10_000)).toBeUndefined();
    await second!.release();
  });
});

describe('runJobOnce', () => {
  it('runs the body exactly once when 5 replicas fire the same tick, and records the run', async () => {
    // given a job that takes a moment and counts its runs
    let bodies = 0;
    const job: Job = {
      name: 'nightly-report',
      schedule: '* * * * *',
      lockMs: 10_000,
      run: async () => {
        bodies += 1;
        await sleep(200);
        return { reports: 3, skipped: 0 };
      },
    };
    // when 5 replicas run it at once
    const outcomes = await Promise.all([0, 1, 2, 3, 4].map((replica) => runJobOnce(depsFor(replica), job)));
    // then one ran it, the other four were locked out
    expect(bodies).toBe(1);
    expect(outcomes.filter((o) => o.ran)).toEqual([{ ran: true, ok: true, counts: { reports: 3, skipped: 0 } }]);
    expect(outcomes.filter((o) => !o.ran)).toEqual(Array.from({ length: 4 }, () => ({ ran: false, reason: 'locked' })));
    // and the run is recorded, ok, with its counts
    const runs = await runsOf('nightly-report');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ job: 'nightly-report', outcome: 'ok', counts: { reports: 3, skipped: 0 }, error: null });
    expect(runs[0]!.finishedAt).toBeInstanceOf(Date);
    expect(runs[0]!.finishedAt!.getTime()).toBeGreaterThanOrEqual(runs[0]!.startedAt.getTime());
    // and the lock is released: the next tick runs again
    expect(await redis(0).exists(jobLockKey('nightly-report'))).toBe(0);
    expect(await runJobOnce(depsFor(3), job)).toMatchObject({ ran: true, ok: true });
    expect(bodies).toBe(2);
    expect(await runsOf('nightly-report')).toHaveLength(2);
  });

  it('shows a run in progress as running', async () => {
    // given a job that waits until the test lets it finish
    let finish!: () => void;
    const gate = new Promise<void>((r) => { finish = r; });
    const job: Job = { name: 'slow-sync', schedule: '* * * * *', lockMs: 10_000, run: async () => { await gate; return { synced: 1 }; } };
    const running: Promise<RunOutcome> = runJobOnce(depsFor(0), job);
    // when it is looked at mid-run
    const during = await (async () => {
      for (let i = 0; i < 100; i++) {
        const runs = await runsOf('slow-sync');
        if (runs.length > 0) return runs;
        await sleep(20);
      }
      return [];
    })();
    // then it is recorded as running, not finished, and another replica is locked out
    expect(during).toEqual([expect.objectContaining({ outcome: 'running', finishedAt: null })]);
    expect(await runJobOnce(depsFor(1), job)).toEqual({ ran: false, reason: 'locked' });
    finish();
    expect(await running).toEqual({ ran: true, ok: true, counts: { synced: 1 } });
    expect(await runsOf('slow-sync')).toEqual([expect.objectContaining({ outcome: 'ok', counts: { synced: 1 } })]);
  });

  it('records a throwing job as failed, with the error, and releases the lock', async () => {
    // given a job that fails
    const job: Job = {
      name: 'carrier-poll',
      schedule: '*/5 * * * *',
      lockMs: 60_000,
      run: async () => {
        await sleep(20);
        throw new Error('carrier API answered 503');
      },
    };
    // when it runs
    const outcome = await runJobOnce(depsFor(0), job);
    // then the caller hears it failed (no throw), and the run says why
    expect(outcome).toEqual({ ran: true, ok: false, counts: {}, error: 'carrier API answered 503' });
    const runs = await runsOf('carrier-poll');
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ outcome: 'failed', error: 'carrier API answered 503', counts: {} });
    expect(runs[0]!.finishedAt).toBeInstanceOf(Date);
    // and the lock is free at once, not after its 60 s expiry
    expect(await redis(0).exists(jobLockKey('carrier-poll'))).toBe(0);
    expect(await runJobOnce(depsFor(1), { ...job, run: async () => ({ polled: 1 }) })).toEqual({ ran: true, ok: true, counts: { polled: 1 } });
  });

  it('locks per job: different jobs run side by side', async () => {
    const slow = (name: string): Job => ({ name, schedule: '* * * * *', lockMs: 10_000, run: async () => { await sleep(100); return { done: 1 }; } });
    const outcomes = await Promise.all([runJobOnce(depsFor(0), slow('job-a')), runJobOnce(depsFor(1), slow('job-b'))]);
    expect(outcomes).toEqual([{ ran: true, ok: true, counts: { done: 1 } }, { ran: true, ok: true, counts: { done: 1 } }]);
  });

  it('keeps namespaces apart: the same job in another namespace is not locked out', async () => {
    const job: Job = { name: 'shared-name', schedule: '* * * * *', lockMs: 10_000, run: async () => { await sleep(100); return {}; } };
    const otherNamespace = `${namespace}:other`; // still under <ns>:* so removeNamespace cleans it
    const [mine, theirs] = await Promise.all([
      runJobOnce(depsFor(0), job),
      // the other "hub" shares the database here only to record its run; the lock is what matters
      runJobOnce({ ...depsFor(1), namespace: otherNamespace }, job),
    ]);
    expect(mine).toMatchObject({ ran: true });
    expect(theirs).toMatchObject({ ran: true });
  });

  // When Postgres refuses even the run record (down, failing over, no table yet), the run
  // is reported failed and the lock released at once, so the next tick can try again.
  it('releases the lock when the run cannot even be recorded', async () => {
    // given a database where job_runs does not exist (an unmigrated schema)
    const brokenDb = createPool(env.databaseUrl, `${namespace}_nodb`, 1);
    try {
      const job: Job = { name: 'unrecordable', schedule: '* * * * *', lockMs: 60_000, run: async () => ({}) };
      // when the job is run
      const outcome = await runJobOnce({ db: brokenDb, redis: redis(0), namespace, logger }, job);
      expect(outcome).toMatchObject({ ran: true, ok: false, error: expect.stringMatching(/job_runs/) });
      // then the lock must not be left behind for a minute
      expect(await redis(0).exists(jobLockKey('unrecordable'))).toBe(0);
    } finally {
      await brokenDb.end();
    }
  });
});
