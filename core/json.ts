import { parse } from 'lossless-json';
import { HubError } from './errors.ts';

/** Deepest array/object nesting accepted; real payloads stay far below it. */
export const MAX_JSON_DEPTH = 64;

/**
 * Parses JSON from a channel without losing digits: an integer literal outside the safe
 * range (Shopify's `820982911946154508`) becomes a **string** of its exact digits, every
 * other number a normal JS number. `JSON.parse` would silently round those ids.
 *
 * Also refuses, as `malformed_json`, an object with the same key twice and different
 * values (lossless-json's default; `JSON.parse` keeps the last one, so two readers of the
 * same bytes could disagree). A `__proto__` key becomes an ordinary own property, as with
 * `JSON.parse`, and never changes a prototype.
 *
 * @throws HubError `malformed_json` (400) with the parser's position message, or
 *   `json_too_deep` (400) when arrays/objects nest deeper than {@link MAX_JSON_DEPTH}.
 */
export function parseJsonLossless(text: string): unknown {
  assertNestingAtMost(text, MAX_JSON_DEPTH);
  try {
    return parse(text, null, parseNumberLossless);
  } catch (error) {
    if (error instanceof SyntaxError) {
      throw new HubError('malformed_json', `malformed JSON: ${error.message}`, { status: 400, cause: error });
    }
    throw error;
  }
}

const INTEGER_LITERAL = /^-?\d+$/;

function parseNumberLossless(literal: string): number | string {
  const value = Number(literal);
  return INTEGER_LITERAL.test(literal) && !Number.isSafeInteger(value) ? literal : value;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;

/**
 * One linear pass over the text, counting brackets outside strings. lossless-json is a
 * recursive parser, so without this `[[[[…` a few thousand deep would overflow the stack.
 * Unbalanced or otherwise broken text is left for the parser to report.
 */
function assertNestingAtMost(text: string, maxDepth: number): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === BACKSLASH) i++; // skip the escaped character, which may be a quote
      else if (code === QUOTE) inString = false;
    } else if (code === QUOTE) {
      inString = true;
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      depth++;
      if (depth > maxDepth) {
        throw new HubError('json_too_deep', `JSON nests deeper than ${maxDepth} levels at position ${i}`, {
          status: 400,
        });
      }
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
}

/**
 * Whether a string of a parsed JSON value — an object key or a value, at any depth — holds
 * a NUL character, which no Postgres text or jsonb field can store. The characters, not
 * their JSON spelling: the text `\u0000` (a backslash and five characters) is no NUL.
 * A loop over its own stack, so nesting costs heap, not call stack.
 */
export function holdsNul(value: unknown): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const next = pending.pop();
    if (typeof next === 'string') {
      if (next.includes('\u0000')) return true;
    } else if (Array.isArray(next)) {
      for (const item of next) pending.push(item);
    } else if (typeof next === 'object' && next !== null) {
      for (const [key, item] of Object.entries(next)) pending.push(key, item);
    }
  }
  return false;
}
