/**
 * Where a page of an order search ended: the last row's received time (as Postgres keeps
 * it, to the microsecond, UTC) and its id, which breaks ties between orders received in
 * the same transaction. The next page starts strictly after it in (receivedAt, id) order.
 */
export interface SearchPosition {
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ` */
  receivedAt: string;
  id: string;
}

// Microseconds, not a JS Date: two orders a few microseconds apart would otherwise look
// equal and one of them would be skipped or repeated between pages.
const microInstant = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.\d{6}Z$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const base64url = /^[A-Za-z0-9_-]+$/;

const toBase64url = (text: string): string => btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/** The opaque cursor a client sends back for the next page: base64url of `[receivedAt, id]`. */
export function encodeSearchCursor(position: SearchPosition): string {
  return toBase64url(JSON.stringify([position.receivedAt, position.id]));
}

/**
 * The position a cursor names, or undefined for anything `encodeSearchCursor` cannot have
 * made (edited, truncated, or invented): the caller answers 400 rather than guess a page.
 */
export function decodeSearchCursor(cursor: string): SearchPosition | undefined {
  if (cursor.length > 200 || !base64url.test(cursor)) return undefined;
  let text: string;
  try {
    text = atob(cursor.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const [receivedAt, id] = value as unknown[];
  if (typeof receivedAt !== 'string' || typeof id !== 'string' || !uuid.test(id)) return undefined;
  const m = microInstant.exec(receivedAt);
  if (!m || !isCalendarTime(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) return undefined;
  const position = { receivedAt, id };
  // Only the exact bytes the hub hands out: a cursor that decodes the same but is spelled
  // differently (padding bits, whitespace in the JSON) was not made here.
  return encodeSearchCursor(position) === cursor ? position : undefined;
}

/** A real calendar date and time of day (no 30 February, no 24:00, no leap seconds). */
export function isCalendarTime(year: number, month: number, day: number, hour = 0, minute = 0, second = 0): boolean {
  if (year < 1 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}
