import { holdsNul } from '../json.ts';

/**
 * CloudEvents 1.0, structured JSON mode: the envelope of every message the hub sends.
 * `id` is fixed when the message is written to the outbox, so it is stable across
 * redeliveries and consumers de-duplicate on it.
 */
export interface CloudEvent<T = Record<string, unknown>> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  datacontenttype: 'application/json';
  data: T;
}

export function cloudEvent<T>(fields: { id: string; source: string; type: string; subject?: string; time: Date; data: T }): CloudEvent<T> {
  return {
    specversion: '1.0',
    id: fields.id,
    source: fields.source,
    type: fields.type,
    ...(fields.subject === undefined ? {} : { subject: fields.subject }),
    time: fields.time.toISOString(),
    datacontenttype: 'application/json',
    data: fields.data,
  };
}

/** Reads a message body as a CloudEvent, or says why it is not one. */
export function parseCloudEvent(body: Buffer): CloudEvent | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    // Not the parser's message: V8 quotes the start of the input in it, which may be anyone's name.
    return { problem: `body is not JSON (${body.length} bytes)` };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { problem: 'body is not a JSON object' };
  const e = value as Partial<CloudEvent>;
  if (e.specversion !== '1.0') return { problem: 'specversion is not "1.0"' };
  if (typeof e.id !== 'string' || e.id === '') return { problem: 'id is missing' };
  if (typeof e.type !== 'string' || e.type === '') return { problem: 'type is missing' };
  if (typeof e.data !== 'object' || e.data === null) return { problem: 'data is not an object' };
  // No field the hub stores can hold a NUL character (Postgres text refuses it): refused
  // here, a webhook gets its 422 and a queued event is parked at once, not retried into
  // the same database error. In JSON a NUL can only be written `\u0000`: the byte search
  // first, so an ordinary message costs nothing more. Half of a surrogate pair (an emoji a
  // sender cut in two) is let through, as in webhooks: it is stored as U+FFFD.
  if (body.includes('\\u0000') && holdsNul(value)) return { problem: 'the body contains a NUL character (\\u0000), which no field can hold' };
  return value as CloudEvent;
}
