/**
 * JSON text Postgres will store as jsonb. jsonb cannot hold the NUL character or half of a
 * surrogate pair (`\ud800` alone: JSON.stringify writes one for a lone surrogate in a
 * string), and a diagnostic (a problem quoting a hostile payload, an excerpt of a parked
 * message) may carry either; they become U+FFFD so the record is kept rather than the
 * write failing.
 */
export function jsonb(value: unknown): string {
  // Escapes are read left to right as units, so an escaped backslash followed by "u0000"
  // (the text `\u0000`, not a NUL) is left alone; a proper surrogate pair is kept.
  return JSON.stringify(value).replace(/\\u(d[89ab][0-9a-f]{2})\\u(d[c-f][0-9a-f]{2})|\\u(0000|d[89a-f][0-9a-f]{2})|\\./g, (escape, _high, _low, bad) => (bad ? '\\ufffd' : escape));
}
