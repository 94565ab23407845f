import { previousRun, type CronOptions, type CronSchedule } from './cron.ts';

/**
 * Did the job miss a tick while no scheduler ran? Answers the tick to make up for — the
 * schedule's most recent time at or before `now` — when the job's last run started before
 * it, or undefined when nothing was missed. However many ticks went by, there is one tick to
 * make up for: a job catches up by running once, not once per tick.
 *
 * `lastStartedAt` is when the job's last recorded run started; a job that never ran counts
 * from `since` (when the hub's namespace was created), so a job added to a hub that has run
 * for a while catches up at once, and a brand-new hub does not run every job the moment it
 * first starts.
 */
export function missedRun(
  schedule: string | CronSchedule,
  lastStartedAt: Date | null,
  now: Date,
  options: CronOptions & { since?: Date | null } = {},
): Date | undefined {
  const reference = lastStartedAt ?? options.since ?? null;
  if (reference === null) return undefined;
  const tick = previousRun(schedule, now, options);
  return tick.getTime() > reference.getTime() ? tick : undefined;
}
