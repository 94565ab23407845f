/**
 * Cron arithmetic, pure: when a schedule fires next, and when it fired last. The grammar is
 * the part of node-cron's that the hub uses: 5 fields (minute hour day-of-month month
 * day-of-week) or 6 (seconds first); `*`, numbers, lists, ranges (wrapping ones too, as
 * `22-2`), steps (a range or a star, then `/n`: `10-40/10`), month and weekday names, `?` for a day field, 7 for
 * Sunday, and the nicknames `@hourly`, `@daily`… A time matches when every field matches —
 * day of month AND day of week, as node-cron has it (classic cron ORs those two). Times are
 * UTC unless a time zone is given.
 *
 * In the hour that a clock change repeats (autumn), every instant whose wall time matches is
 * a run; node-cron's own search walks wall time and skips the repeat, though its matcher
 * accepts those instants. Elsewhere the two agree (the tests compare them).
 *
 * node-cron 4 can tell whether a date matches (`task.match`) and when a *running* task fires
 * next from the current time (`getNextRun`), but not the next run after an arbitrary
 * instant, nor the previous one, which the catch-up after downtime and the jobs API need; the
 * tests hold this module to node-cron's own matcher.
 */

/** A schedule the hub cannot read: its text and what is wrong with it. */
export class CronError extends Error {
  constructor(readonly schedule: string, problem: string) {
    super(`schedule "${schedule}": ${problem}`);
    this.name = 'CronError';
  }
}

export interface CronOptions {
  /** IANA time zone the fields are read in (default UTC) */
  timeZone?: string | undefined;
}

/** A parsed schedule: the allowed values of each field, and its time zone. */
export interface CronSchedule {
  readonly expression: string;
  readonly seconds: ReadonlySet<number>;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  /** 0 = Sunday … 6 = Saturday */
  readonly daysOfWeek: ReadonlySet<number>;
  readonly timeZone: string;
}

const nicknames: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *', '@annually': '0 0 1 1 *', '@monthly': '0 0 1 * *', '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *', '@midnight': '0 0 * * *', '@hourly': '0 * * * *',
};
const monthNames = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const dayNames = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const longMonthNames = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const longDayNames = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];

interface FieldSpec { name: string; min: number; max: number; names?: readonly (readonly string[])[] }
const fieldSpecs: readonly FieldSpec[] = [
  { name: 'second', min: 0, max: 59 },
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: [longMonthNames, monthNames] },
  // 7 is Sunday too; it is folded into 0 after parsing
  { name: 'day of week', min: 0, max: 7, names: [longDayNames, dayNames] },
];
/** The longest each month can be (February: in a leap year). */
const longestMonth = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function valueOf(expression: string, field: FieldSpec, token: string): number {
  const lower = token.toLowerCase();
  const base = field.name === 'month' ? 1 : 0;
  for (const names of field.names ?? []) {
    const index = names.indexOf(lower);
    if (index >= 0) return index + base;
  }
  if (!/^\d{1,2}$/.test(token)) throw new CronError(expression, `"${token}" is not a valid ${field.name}`);
  const value = Number(token);
  if (value < field.min || value > field.max) throw new CronError(expression, `${field.name} ${value} is outside ${field.min}-${field.max}`);
  return value;
}

function parseField(expression: string, field: FieldSpec, text: string): Set<number> {
  const values = new Set<number>();
  for (const item of text.split(',')) {
    const match = /^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:\/(\d+))?$/i.exec(item);
    if (!match) throw new CronError(expression, `"${item}" is not a valid ${field.name}`);
    const [, range = '', stepText] = match;
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1) throw new CronError(expression, `step "${stepText}" must be a whole number of at least 1`);
    let first: number;
    let last: number;
    if (range === '*') {
      first = field.min;
      last = field.name === 'day of week' ? 6 : field.max;
    } else {
      const [from = '', to] = range.split('-');
      first = valueOf(expression, field, from);
      last = to === undefined ? first : valueOf(expression, field, to);
      // `5/15` means different things to different crons; node-cron does not take it either
      if (stepText !== undefined && to === undefined) throw new CronError(expression, `"${item}": a step needs a range or *`);
    }
    // A range that wraps (`22-2`, `fri-mon`) runs past the top of the field and round again.
    const size = field.max - field.min + 1;
    const span = first <= last ? last - first : size - first + last;
    for (let offset = 0; offset <= span; offset += step) {
      const value = first + offset;
      values.add(value > field.max ? value - size : value);
    }
  }
  return values;
}

function assertTimeZone(expression: string, timeZone: string): void {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone });
  } catch {
    throw new CronError(expression, `"${timeZone}" is not an IANA time zone`);
  }
}

/** Reads a schedule; throws a CronError saying what is wrong with it. */
export function parseCron(expression: string, options: CronOptions = {}): CronSchedule {
  const text = nicknames[expression.trim().toLowerCase()] ?? expression;
  const raw = text.trim().split(/\s+/);
  if (raw.length !== 5 && raw.length !== 6) throw new CronError(expression, `expected 5 or 6 fields, got ${raw.length}`);
  const fields = raw.length === 5 ? ['0', ...raw] : raw;
  const [seconds, minutes, hours, daysOfMonth, months, daysOfWeek] = fields.map((f, i) => {
    const spec = fieldSpecs[i]!;
    return parseField(expression, spec, (i === 3 || i === 5) && f === '?' ? '*' : f);
  }) as [Set<number>, Set<number>, Set<number>, Set<number>, Set<number>, Set<number>];
  if (daysOfWeek.delete(7)) daysOfWeek.add(0);
  if (![...months].some((m) => [...daysOfMonth].some((d) => d <= longestMonth[m - 1]!))) {
    throw new CronError(expression, 'no month named has the day of month named');
  }
  const timeZone = options.timeZone ?? 'UTC';
  assertTimeZone(expression, timeZone);
  return { expression, seconds, minutes, hours, daysOfMonth, months, daysOfWeek, timeZone };
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
/** No time zone moves its clocks by more than this at once (beyond the odd date-line hop). */
const MAX_SHIFT = 3 * HOUR;
/** A schedule that parsed always fires within 28 years (29 February on a given weekday). */
const SEARCH_YEARS = 100;

const isUtc = (zone: string) => zone === 'UTC' || zone === 'Etc/UTC' || zone === 'GMT' || zone === 'Etc/GMT';

const formatters = new Map<string, Intl.DateTimeFormat>();
/** How far the zone's clock is ahead of UTC at the instant `ms`, in ms. */
function offsetAt(zone: string, ms: number): number {
  if (isUtc(zone)) return 0;
  let format = formatters.get(zone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(zone, format);
  }
  const parts = format.formatToParts(new Date(ms));
  const get = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((part) => part.type === type)?.value);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - (ms - (((ms % SECOND) + SECOND) % SECOND));
}

/** The wall-clock time in the zone at instant `ms`, as a UTC timestamp (fields read with getUTC*). */
const wallAt = (zone: string, ms: number) => ms + offsetAt(zone, ms);

/** The instants at which the zone's clock shows `wall`: none in a spring-forward gap, two in a repeated hour. */
function instantsOf(zone: string, wall: number): number[] {
  if (isUtc(zone)) return [wall];
  const found = new Set<number>();
  const guess = wall - offsetAt(zone, wall);
  for (const probe of [guess - MAX_SHIFT, guess, guess + MAX_SHIFT]) {
    const instant = wall - offsetAt(zone, probe);
    if (wallAt(zone, instant) === wall) found.add(instant);
  }
  return [...found].sort((a, b) => a - b);
}

function dayMatches(s: CronSchedule, d: Date): boolean {
  return s.daysOfMonth.has(d.getUTCDate()) && s.daysOfWeek.has(d.getUTCDay());
}

/** The first wall-clock time at or after `from` (whole seconds) that the fields match. */
function nextWall(s: CronSchedule, from: number): number {
  let t = Math.ceil(from / SECOND) * SECOND;
  const limit = new Date(t).getUTCFullYear() + SEARCH_YEARS;
  for (;;) {
    const d = new Date(t);
    const [y, mo, day, h, mi] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
    if (y > limit) throw new CronError(s.expression, `never fires within ${SEARCH_YEARS} years`);
    if (!s.months.has(mo + 1)) t = Date.UTC(y, mo + 1, 1);
    else if (!dayMatches(s, d)) t = Date.UTC(y, mo, day + 1);
    else if (!s.hours.has(h)) t = Date.UTC(y, mo, day, h + 1);
    else if (!s.minutes.has(mi)) t = Date.UTC(y, mo, day, h, mi + 1);
    else if (!s.seconds.has(d.getUTCSeconds())) t += SECOND;
    else return t;
  }
}

/** The last wall-clock time at or before `from` (whole seconds) that the fields match. */
function previousWall(s: CronSchedule, from: number): number {
  let t = Math.floor(from / SECOND) * SECOND;
  const limit = new Date(t).getUTCFullYear() - SEARCH_YEARS;
  for (;;) {
    const d = new Date(t);
    const [y, mo, day, h, mi] = [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes()];
    if (y < limit) throw new CronError(s.expression, `never fired within ${SEARCH_YEARS} years`);
    if (!s.months.has(mo + 1)) t = Date.UTC(y, mo, 1) - SECOND;
    else if (!dayMatches(s, d)) t = Date.UTC(y, mo, day) - SECOND;
    else if (!s.hours.has(h)) t = Date.UTC(y, mo, day, h) - SECOND;
    else if (!s.minutes.has(mi)) t = Date.UTC(y, mo, day, h, mi) - SECOND;
    else if (!s.seconds.has(d.getUTCSeconds())) t -= SECOND;
    else return t;
  }
}

const scheduleOf = (schedule: string | CronSchedule, options: CronOptions) => typeof schedule === 'string' ? parseCron(schedule, options) : schedule;

/** Does the schedule fire at this instant (to the second)? */
export function cronMatches(schedule: string | CronSchedule, at: Date, options: CronOptions = {}): boolean {
  const s = scheduleOf(schedule, options);
  const wall = wallAt(s.timeZone, at.getTime());
  return nextWall(s, Math.floor(wall / SECOND) * SECOND) === Math.floor(wall / SECOND) * SECOND;
}

/** The first time the schedule fires strictly after `after`. */
export function nextRun(schedule: string | CronSchedule, after: Date, options: CronOptions = {}): Date {
  const s = scheduleOf(schedule, options);
  const afterMs = after.getTime();
  const zone = s.timeZone;
  // Where the zone's clock does not move around `after`, wall time and instants keep step.
  const steady = offsetAt(zone, afterMs - MAX_SHIFT) === offsetAt(zone, afterMs + MAX_SHIFT);
  let wall = nextWall(s, steady ? Math.floor(wallAt(zone, afterMs) / SECOND) * SECOND + SECOND : wallAt(zone, afterMs) - MAX_SHIFT);
  let best: number | undefined;
  // Around a change of the clocks wall order is not time order (a repeated hour), so look
  // at every wall time that could still map to an earlier instant than the best so far.
  for (;;) {
    for (const instant of instantsOf(zone, wall)) if (instant > afterMs && (best === undefined || instant < best)) best = instant;
    if (best !== undefined && (steady || wall > wallAt(zone, best) + MAX_SHIFT)) return new Date(best);
    wall = nextWall(s, wall + SECOND);
  }
}

/** The last time the schedule fired at or before `atOrBefore`. */
export function previousRun(schedule: string | CronSchedule, atOrBefore: Date, options: CronOptions = {}): Date {
  const s = scheduleOf(schedule, options);
  const limitMs = atOrBefore.getTime();
  const zone = s.timeZone;
  const steady = offsetAt(zone, limitMs - MAX_SHIFT) === offsetAt(zone, limitMs + MAX_SHIFT);
  let wall = previousWall(s, steady ? wallAt(zone, limitMs) : wallAt(zone, limitMs) + MAX_SHIFT);
  let best: number | undefined;
  for (;;) {
    for (const instant of instantsOf(zone, wall)) if (instant <= limitMs && (best === undefined || instant > best)) best = instant;
    if (best !== undefined && (steady || wall < wallAt(zone, best) - MAX_SHIFT)) return new Date(best);
    wall = previousWall(s, wall - SECOND);
  }
}
