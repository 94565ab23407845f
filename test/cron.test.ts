// The hub's cron arithmetic (core/scheduling/cron.ts) and the catch-up decision
// (core/scheduling/catch-up.ts), held to node-cron's own matcher and its own next-run
// search: random schedules in the grammar the hub uses, random instants, several time zones
// (with and without daylight saving time). Pure: no services.
import fc from 'fast-check';
import { createTask, validate, type ScheduledTask } from 'node-cron';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { missedRun } from '../core/scheduling/catch-up.ts';
import { CronError, cronMatches, nextRun, parseCron, previousRun } from '../core/scheduling/cron.ts';

afterEach(() => {
  vi.useRealTimers();
});

/** node-cron's own matcher for a schedule (the task is never started). */
function nodeCron<T>(schedule: string, timeZone: string, use: (task: ScheduledTask) => T): T {
  const task = createTask(schedule, () => undefined, { timezone: timeZone });
  try {
    return use(task);
  } finally {
    void task.destroy();
  }
}

/** What node-cron, started at `at`, would pick as its next run. */
function nodeCronNext(schedule: string, timeZone: string, at: Date): Date {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(at);
  try {
    return nodeCron(schedule, timeZone, (task) => task.getNextRuns(1)[0]!);
  } finally {
    vi.useRealTimers();
  }
}

// ---- generators: the grammar node-cron and the hub share --------------------------------
const field = (min: number, max: number, names: readonly string[] = []) => {
  const value = fc.integer({ min, max });
  const named = names.length > 0 ? fc.oneof(value.map(String), fc.constantFrom(...names)) : value.map(String);
  const item = fc.oneof(
    { weight: 3, arbitrary: fc.constant('*') },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: Math.max(2, Math.floor((max - min) / 2)) }).map((k) => `*/${k}`) },
    { weight: 3, arbitrary: named },
    { weight: 2, arbitrary: fc.tuple(value, value).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`) },
    { weight: 1, arbitrary: fc.tuple(value, value, fc.integer({ min: 1, max: 5 })).map(([a, b, k]) => `${Math.min(a, b)}-${Math.max(a, b)}/${k}`) },
  );
  return fc.array(item, { minLength: 1, maxLength: 3 }).map((items) => items.includes('*') ? '*' : items.join(','));
};
const months = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const days = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const fiveFields = fc.tuple(field(0, 59), field(0, 23), field(1, 31), field(1, 12, months), field(0, 7, days)).map((f) => f.join(' '));
const sixFields = fc.tuple(field(0, 59), fiveFields).map(([s, rest]) => `${s} ${rest}`);
/** schedules that fire at least daily, so a walk between two runs stays short */
const dailySchedule = fc.tuple(field(0, 59), field(0, 23)).map(([m, h]) => `${m} ${h} * * *`);
const schedule = fc.oneof({ weight: 3, arbitrary: fiveFields }, { weight: 1, arbitrary: sixFields });
const zone = fc.constantFrom('UTC', 'Asia/Kolkata', 'America/New_York', 'Europe/Berlin', 'Australia/Lord_Howe');
const instant = fc.integer({ min: Date.UTC(2001, 0, 1), max: Date.UTC(2080, 0, 1) }).map((ms) => new Date(ms));
/** instants near the daylight-saving changes of 2026, where wall time and real time part ways */
const nearClockChange = fc.tuple(
  fc.constantFrom(Date.UTC(2026, 2, 8, 7), Date.UTC(2026, 10, 1, 6), Date.UTC(2026, 2, 29, 1), Date.UTC(2026, 9, 25, 1), Date.UTC(2026, 3, 4, 15), Date.UTC(2026, 9, 3, 15)),
  fc.integer({ min: -4 * 3_600_000, max: 4 * 3_600_000 }),
).map(([at, offset]) => new Date(at + offset));

const readable = (s: string) => validate(s);

/** Does the zone's UTC offset change between the two instants? */
function offsetChanges(timeZone: string, from: Date, to: Date): boolean {
  const offset = (d: Date) => new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value;
  return offset(from) !== offset(to);
}

describe('parseCron', () => {
  it('reads what node-cron reads, and refuses what it refuses, over the shared grammar', () => {
    fc.assert(fc.property(schedule, (s) => {
      let ours = true;
      try {
        parseCron(s);
      } catch (error) {
        expect(error).toBeInstanceOf(CronError);
        ours = false;
      }
      expect(ours, s).toBe(readable(s));
    }), { numRuns: 500 });
  });

  it('says what is wrong', () => {
    expect(() => parseCron('* * * *')).toThrow('expected 5 or 6 fields, got 4');
    expect(() => parseCron('61 * * * *')).toThrow('minute 61 is outside 0-59');
    expect(() => parseCron('0 0 30 2 *')).toThrow('no month named has the day of month named');
    expect(() => parseCron('5/15 * * * *')).toThrow('a step needs a range or *');
    expect(() => parseCron('* * * * *', { timeZone: 'Mars/Olympus' })).toThrow('"Mars/Olympus" is not an IANA time zone');
  });

  it('reads names, 7 as Sunday, wrapping ranges, ? and nicknames', () => {
    const s = parseCron('0 22-2 ? jan-mar fri-sun');
    expect([...s.hours].sort((a, b) => a - b)).toEqual([0, 1, 2, 22, 23]);
    expect([...s.daysOfWeek].sort()).toEqual([0, 5, 6]);
    expect([...s.months].sort()).toEqual([1, 2, 3]);
    expect([...parseCron('0 0 * * 7').daysOfWeek]).toEqual([0]);
    expect(nextRun('@hourly', new Date('2026-01-15T10:20:00Z')).toISOString()).toBe('2026-01-15T11:00:00.000Z');
  });
});

describe('nextRun and previousRun', () => {
  it('previousRun(s, t) ≤ t < nextRun(s, previousRun(s, t)), both times node-cron matches', () => {
    fc.assert(fc.property(schedule, zone, instant, (s, timeZone, t) => {
      fc.pre(readable(s));
      const previous = previousRun(s, t, { timeZone });
      const next = nextRun(s, previous, { timeZone });
      expect(previous.getTime()).toBeLessThanOrEqual(t.getTime());
      expect(next.getTime()).toBeGreaterThan(t.getTime());
      nodeCron(s, timeZone, (task) => {
        expect(task.match(previous), `${s} ${timeZone} previous ${previous.toISOString()}`).toBe(true);
        expect(task.match(next), `${s} ${timeZone} next ${next.toISOString()}`).toBe(true);
      });
      expect(cronMatches(s, previous, { timeZone })).toBe(true);
    }), { numRuns: 300 });
  });

  it('picks the run node-cron itself would pick next', () => {
    fc.assert(fc.property(schedule, zone, fc.oneof(instant, nearClockChange), (s, timeZone, t) => {
      fc.pre(readable(s));
      const ours = nextRun(s, t, { timeZone });
      const theirs = nodeCronNext(s, timeZone, t);
      if (ours.getTime() === theirs.getTime()) return;
      // The one difference: in the hour a clock change repeats, node-cron's search walks wall
      // time and jumps over the repeat; a time its own matcher accepts, and that we keep.
      expect(ours.getTime(), `${s} in ${timeZone} after ${t.toISOString()}`).toBeLessThan(theirs.getTime());
      // (t may itself lie in the repeated hour, up to an hour after the change)
      expect(offsetChanges(timeZone, new Date(t.getTime() - 3_600_000), theirs), `${s} in ${timeZone} after ${t.toISOString()}`).toBe(true);
      nodeCron(s, timeZone, (task) => expect(task.match(ours)).toBe(true));
    }), { numRuns: 300 });
  });

  it('runs in the repeated hour even from its first instant (New York, 1 November 2026, 06:00 UTC)', () => {
    const change = new Date('2026-11-01T06:00:00.000Z');
    expect(nextRun('1 * 1-1 */2 */2', change, { timeZone: 'America/New_York' }).toISOString()).toBe('2026-11-01T06:01:00.000Z');
    expect(nodeCronNext('1 * 1-1 */2 */2', 'America/New_York', change).getTime()).toBeGreaterThan(change.getTime() + 60_000);
  });

  it('runs hourly through the hour the clocks repeat in autumn, where node-cron skips one run', () => {
    // Berlin, 25 October 2026: at 01:00 UTC the clocks go back from 03:00 CEST to 02:00 CET
    const after = new Date('2026-10-25T00:59:59.999Z');
    expect(nextRun('0 * * * *', after, { timeZone: 'Europe/Berlin' }).toISOString()).toBe('2026-10-25T01:00:00.000Z');
    expect(nodeCronNext('0 * * * *', 'Europe/Berlin', after).toISOString()).toBe('2026-10-25T02:00:00.000Z');
  });

  it('skips no run: node-cron matches no minute strictly between a time and its next run (minute walk)', () => {
    fc.assert(fc.property(dailySchedule, zone, fc.oneof(instant, nearClockChange), (s, timeZone, t) => {
      const next = nextRun(s, t, { timeZone }).getTime();
      const previous = previousRun(s, t, { timeZone }).getTime();
      nodeCron(s, timeZone, (task) => {
        for (let m = Math.floor(t.getTime() / 60_000) * 60_000 + 60_000; m < next; m += 60_000) {
          expect(task.match(new Date(m)), `${s} in ${timeZone}: ${new Date(m).toISOString()} is between ${t.toISOString()} and its next run`).toBe(false);
        }
        for (let m = Math.floor(t.getTime() / 60_000) * 60_000; m > previous; m -= 60_000) {
          expect(task.match(new Date(m)), `${s} in ${timeZone}: ${new Date(m).toISOString()} is between its previous run and ${t.toISOString()}`).toBe(false);
        }
      });
    }), { numRuns: 150 });
  });

  it('counts seconds with six fields, and a run exactly at t is the previous run, not the next', () => {
    const t = new Date('2026-01-15T10:00:05.000Z');
    expect(nextRun('*/5 * * * * *', t).toISOString()).toBe('2026-01-15T10:00:10.000Z');
    expect(previousRun('*/5 * * * * *', t).toISOString()).toBe('2026-01-15T10:00:05.000Z');
    expect(previousRun('*/5 * * * * *', new Date(t.getTime() - 1)).toISOString()).toBe('2026-01-15T10:00:00.000Z');
  });

  it('reads the fields in the time zone given: 02:30 in New York skips the day the clocks spring over it', () => {
    const s = '30 2 * * *';
    const timeZone = 'America/New_York';
    // 8 March 2026: 02:00 EST becomes 03:00 EDT; there is no 02:30 that day
    expect(nextRun(s, new Date('2026-03-07T12:00:00Z'), { timeZone }).toISOString()).toBe('2026-03-09T06:30:00.000Z');
    expect(previousRun(s, new Date('2026-03-09T00:00:00Z'), { timeZone }).toISOString()).toBe('2026-03-07T07:30:00.000Z');
    // UTC unless told otherwise
    expect(nextRun(s, new Date('2026-03-07T12:00:00Z')).toISOString()).toBe('2026-03-08T02:30:00.000Z');
  });

  it('finds a run decades away (29 February on a Monday)', () => {
    expect(nextRun('0 0 29 2 mon', new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2044-02-29T00:00:00.000Z');
    expect(previousRun('0 0 29 2 mon', new Date('2026-01-01T00:00:00Z')).toISOString()).toBe('2016-02-29T00:00:00.000Z');
  });
});

describe('missedRun (catch-up after downtime)', () => {
  const hourly = '0 * * * *';
  const at = (iso: string) => new Date(iso);

  it('makes up once for the latest tick when the last run started before it', () => {
    // down from 08:10 to 11:20: the 09:00, 10:00 and 11:00 ticks were missed; one run makes up for them
    expect(missedRun(hourly, at('2026-01-15T08:00:02Z'), at('2026-01-15T11:20:00Z'))).toEqual(at('2026-01-15T11:00:00Z'));
  });

  it('has nothing to make up for when the last tick ran', () => {
    expect(missedRun(hourly, at('2026-01-15T11:00:01Z'), at('2026-01-15T11:20:00Z'))).toBeUndefined();
    // a run by hand after the tick counts too
    expect(missedRun(hourly, at('2026-01-15T11:10:00Z'), at('2026-01-15T11:20:00Z'))).toBeUndefined();
  });

  it('runs a job that never ran only if a tick fell since the namespace was created', () => {
    expect(missedRun(hourly, null, at('2026-01-15T11:20:00Z'), { since: at('2026-01-15T10:59:30Z') })).toEqual(at('2026-01-15T11:00:00Z'));
    expect(missedRun(hourly, null, at('2026-01-15T11:20:00Z'), { since: at('2026-01-15T11:05:00Z') })).toBeUndefined();
    expect(missedRun(hourly, null, at('2026-01-15T11:20:00Z'))).toBeUndefined();
  });

  it('is due exactly when a tick fell after the last start, and then names the latest tick', () => {
    fc.assert(fc.property(schedule, zone, instant, fc.integer({ min: 0, max: 40 * 86_400_000 }), (s, timeZone, last, gap) => {
      fc.pre(readable(s));
      const now = new Date(last.getTime() + gap);
      const tick = missedRun(s, last, now, { timeZone });
      const tickFell = nextRun(s, last, { timeZone }).getTime() <= now.getTime();
      expect(tick !== undefined).toBe(tickFell);
      if (tick) {
        expect(tick).toEqual(previousRun(s, now, { timeZone }));
        expect(tick.getTime()).toBeGreaterThan(last.getTime());
        expect(tick.getTime()).toBeLessThanOrEqual(now.getTime());
      }
    }), { numRuns: 200 });
  });
});
