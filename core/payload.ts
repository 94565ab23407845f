import type { InputProblem } from './errors.ts';
import { HubError } from './errors.ts';
import { holdsNul, parseJsonLossless } from './json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export type DecodedPayload = { ok: true; value: unknown } | { ok: false; problems: InputProblem[] };

/**
 * Raw webhook bytes → the value a connector reads: strict UTF-8, then lossless JSON, or a
 * form's fields (Alipay). Shared by every inbound path so orders, payments and tracking
 * refuse the same bad bytes with the same words.
 */
export function decodePayload(body: Buffer, format: 'json' | 'form' = 'json'): DecodedPayload {
  let value: unknown;
  try {
    const text = utf8.decode(body);
    value = format === 'form' ? Object.fromEntries(new URLSearchParams(text)) : parseJsonLossless(text);
  } catch (error) {
    const message = error instanceof HubError ? error.message : error instanceof TypeError ? 'the body is not valid UTF-8' : String(error);
    return { ok: false, problems: [{ path: '/', message }] };
  }
  // No platform sends NUL characters; they cannot be stored, and they hide text from people.
  // Checked after decoding, so `\u0000` in JSON and `%00` in a form are caught too.
  // Half of a surrogate pair is let through: a platform's truncation can split one in a real
  // order, and it is stored as U+FFFD.
  if (holdsNul(value)) {
    return { ok: false, problems: [{ path: '/', message: 'the payload contains a NUL character (\\u0000)' }] };
  }
  return { ok: true, value };
}

/** A connector must not throw; if one does, the payload is still kept and reported as a problem. */
export function connectorFailure(name: string, error: unknown): { ok: false; problems: InputProblem[] } {
  return { ok: false, problems: [{ path: '/', message: `the ${name} connector failed on this payload: ${(error as Error).message}` }] };
}
