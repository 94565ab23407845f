import { HubError } from '../errors.ts';

/**
 * A customer's notification preferences: which channels, which language, and when not to be
 * disturbed. Pure: the time comes in as `now`, time zones through `Intl`.
 */

export type Channel = 'email' | 'sms' | 'push';

/** Every channel, in the order a default prefers them. */
export const CHANNELS: readonly Channel[] = ['email', 'sms', 'push'];

/**
 * A daily window, in the customer's own time zone, in which SMS and push wait. `start` is
 * inclusive, `end` exclusive, both `HH:MM` (24 h). A window with `start` after `end` crosses
 * midnight (22:00–07:00); `start` equal to `end` is an empty window, not a whole day.
 */
export interface QuietHours {
  start: string;
  end: string;
  /** IANA time zone (`Asia/Taipei`) */
  timeZone: string;
}

/** What a customer chose; {@link defaultPreferences} for one who has not. */
export interface Preferences {
  /** the channels the customer accepts, in the order they prefer */
  channels: Channel[];
  /** BCP 47 tag (`zh-TW`); null: the order's locale, else English */
  locale: string | null;
  quietHours: QuietHours | null;
}

/** Where a customer can be reached; the pipeline's `to` has email and phone, an app adds a device. */
export interface Recipient {
  email: string | null;
  phone: string | null;
  /** a push token of the customer's device, when the app registered one */
  deviceToken?: string | null;
}

/**
 * For a customer who has not said: email and SMS (the pipeline only asks when the order has
 * an address that looks usable), any language of the order, no quiet hours.
 */
export const defaultPreferences: Preferences = { channels: ['email', 'sms'], locale: null, quietHours: null };

/** The address of `channel` in `to`, trimmed; null when there is none. */
export function addressFor(channel: Channel, to: Recipient): string | null {
  const raw = channel === 'email' ? to.email : channel === 'sms' ? to.phone : to.deviceToken;
  const value = typeof raw === 'string' ? raw.trim() : '';
  return value === '' ? null : value;
}

/** The channels the customer allows and has an address for, in their order, each once. */
export function channelsFor(to: Recipient, preferences: Preferences): Channel[] {
  return [...new Set(preferences.channels)].filter((channel) => CHANNELS.includes(channel) && addressFor(channel, to) !== null);
}

// --- quiet hours -----------------------------------------------------------------------------

const HH_MM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

function minutesOf(hhmm: string): number | null {
  const m = HH_MM.exec(hhmm);
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

/** What is wrong with `quietHours`, for the edge that reads preferences; null when nothing. */
export function quietHoursProblem(quietHours: QuietHours): string | null {
  if (minutesOf(quietHours.start) === null) return `quiet hours start "${quietHours.start}" is not HH:MM`;
  if (minutesOf(quietHours.end) === null) return `quiet hours end "${quietHours.end}" is not HH:MM`;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: quietHours.timeZone });
  } catch {
    return `quiet hours time zone "${quietHours.timeZone}" is not an IANA time zone`;
  }
  return null;
}

interface WallTime { year: number; month: number; day: number; hour: number; minute: number; second: number }

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  return new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
}

function wallTime(format: Intl.DateTimeFormat, instant: number): WallTime {
  const parts = format.formatToParts(instant);
  const part = (type: Intl.DateTimeFormatPartTypes) => Number(parts.find((p) => p.type === type)?.value ?? 0);
  return { year: part('year'), month: part('month'), day: part('day'), hour: part('hour'), minute: part('minute'), second: part('second') };
}

/** The zone's offset from UTC at `instant`, in ms (Taipei: +8 h), to the second. */
function offsetAt(format: Intl.DateTimeFormat, instant: number): number {
  const w = wallTime(format, instant);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(instant / 1000) * 1000;
}

/**
 * The first instant after `after` at which the zone's clock reads `wall` or later. Where
 * the clock reads `wall` twice (DST ends) that is the first reading after `after`; where it
 * skips `wall` (DST starts) it is the moment of the jump.
 */
function instantOfWallTime(format: Intl.DateTimeFormat, wall: Omit<WallTime, 'second'>, after: number): number {
  const asUtc = Date.UTC(wall.year, wall.month - 1, wall.day, wall.hour, wall.minute);
  // the wall time read as UTC, less each offset the zone may have around it
  const offsets = new Set([offsetAt(format, asUtc), offsetAt(format, asUtc - offsetAt(format, asUtc)), offsetAt(format, after)]);
  const candidates = [...offsets].map((o) => asUtc - o).sort((a, b) => a - b);
  const readsAtLeast = (t: number) => {
    const w = wallTime(format, t);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) >= asUtc;
  };
  const exact = candidates.filter((t) => t > after && offsetAt(format, t) === asUtc - t);
  if (exact.length > 0) return Math.min(...exact);
  // a gap: the jump lies between the candidates (at most a few hours apart), on a whole minute
  const lo = Math.max(candidates[0] ?? after, after);
  const hi = Math.max(candidates[candidates.length - 1] ?? after, after);
  for (let t = Math.ceil(lo / 60_000) * 60_000; t <= hi; t += 60_000) {
    if (t > after && readsAtLeast(t)) return t;
  }
  return hi;
}

/**
 * When a message on `channel` may go: email at once; SMS and push at once unless `now` falls
 * in the customer's quiet hours, then at the end of that window: the first moment their
 * clock, in their time zone, reads outside it (across midnight; on a DST night the jump, when
 * the end is skipped; the first reading, when it comes twice). Throws a 400
 * `invalid_quiet_hours` for a malformed window: it is the edge's job to refuse those, and
 * guessing would wake someone up.
 */
export function whenToSend(channel: Channel, preferences: Preferences, now: Date): Date {
  switch (channel) {
    case 'email':
      return now;
    case 'sms':
    case 'push':
      break;
    default: {
      const never: never = channel;
      throw new HubError('unknown_channel', `unknown notification channel ${String(never)}`, { status: 400 });
    }
  }
  const quiet = preferences.quietHours;
  if (quiet === null) return now;
  const problem = quietHoursProblem(quiet);
  if (problem !== null) throw new HubError('invalid_quiet_hours', problem, { status: 400, details: { quietHours: quiet } });
  const start = minutesOf(quiet.start) ?? 0;
  const end = minutesOf(quiet.end) ?? 0;
  if (start === end) return now;

  const format = formatterFor(quiet.timeZone);
  let at = now.getTime();
  // once more when the clock jumps back into the window at the end (a day skipped, as Samoa did in 2011)
  for (let round = 0; round < 3; round++) {
    const until = quietUntil(format, start, end, at);
    if (until === null) break;
    at = until;
  }
  return at === now.getTime() ? now : new Date(at);
}

/** When the window that `instant` falls in ends; null when it falls in none. */
function quietUntil(format: Intl.DateTimeFormat, start: number, end: number, instant: number): number | null {
  const local = wallTime(format, instant);
  const minute = local.hour * 60 + local.minute;
  const crossesMidnight = start > end;
  const inside = crossesMidnight ? minute >= start || minute < end : minute >= start && minute < end;
  if (!inside) return null;
  // the window ends on the next local day when it crosses midnight and `instant` is before midnight
  const endsTomorrow = crossesMidnight && minute >= start;
  const endDay = new Date(Date.UTC(local.year, local.month - 1, local.day + (endsTomorrow ? 1 : 0)));
  const endWall = {
    year: endDay.getUTCFullYear(),
    month: endDay.getUTCMonth() + 1,
    day: endDay.getUTCDate(),
    hour: Math.floor(end / 60),
    minute: end % 60,
  };
  return instantOfWallTime(format, endWall, instant);
}
