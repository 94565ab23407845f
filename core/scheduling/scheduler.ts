import cron from 'node-cron';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Db } from '../db/pool.ts';
import { runJobOnce, type Job } from './jobs.ts';

/** Schedules each job with node-cron; every tick goes through `runJobOnce`. */
export function startScheduler(deps: { db: Db; redis: Redis; namespace: string; logger: Logger }, jobs: readonly Job[]) {
  const tasks = jobs.map((job) =>
    cron.schedule(job.schedule, () => {
      void runJobOnce(deps, job).catch((error: unknown) =>
        deps.logger.warn({ job: job.name, err: (error as Error).message }, 'could not run scheduled job'));
    }, { name: `${deps.namespace}:${job.name}`, noOverlap: true }),
  );
  return {
    async stop() {
      for (const t of tasks) await t.stop();
    },
  };
}
