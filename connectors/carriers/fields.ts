import { optionalText, toUtcTimestamp, type At } from '../reader.ts';

/** Field readers both tracking aggregators need. */

const DATE_OR_TIMESTAMP = /^(\d{4}-\d{2}-\d{2})(?:T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})?)?$/;

/** The `YYYY-MM-DD` a date or timestamp is written with, if it names a real day. */
export function calendarDate(text: string | null): string | null {
  const date = text === null ? undefined : DATE_OR_TIMESTAMP.exec(text)?.[1];
  return date !== undefined && toUtcTimestamp(`${date}T00:00:00Z`) !== null ? date : null;
}

/** An http(s) address, or null: the link is shown to customers, so nothing else (`javascript:`) gets through. */
export function webAddress(node: At): string | null {
  const text = optionalText(node);
  if (text === null) return null;
  try {
    const { protocol } = new URL(text);
    return protocol === 'https:' || protocol === 'http:' ? text : null;
  } catch {
    return null;
  }
}
