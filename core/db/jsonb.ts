/**
 * JSON text Postgres will store as jsonb. jsonb cannot hold the NUL character, and a
 * diagnostic (a problem quoting a hostile payload, an excerpt of a parked message) may
 * carry one; it becomes U+FFFD so the record is kept rather than the write failing.
 */
export function jsonb(value: unknown): string {
  return JSON.stringify(value).replaceAll('\\u0000', '\\ufffd');
}
