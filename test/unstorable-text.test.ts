// NUL characters, which no Postgres text or jsonb field can hold, in webhook payloads
// (decodePayload) and in the CloudEvents every stage reads (parseCloudEvent): found in any
// key or value at any depth, and only the character itself — not text that merely spells
// it, nor an emoji, nor half of one (stored as U+FFFD).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { holdsNul } from '../core/json.ts';
import { parseCloudEvent } from '../core/messaging/cloudevent.ts';
import { decodePayload } from '../core/payload.ts';

// Text that looks like the trouble but is not: the six characters of `\u0000`, an emoji (a
// proper surrogate pair), half an emoji, a backslash at the end.
const lookalikes = ['\\u0000', '\\ud800', '😀', 'cut \ud83d', 'x\\', '\\'];

/** A string with no NUL: any code points. */
const cleanString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }).map((s) => s.replaceAll('\u0000', '')),
  fc.constantFrom(...lookalikes),
);

/** Any JSON value with no NUL in its strings, keys included. */
const { value: cleanJson } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'medium', maxDepth: 6 },
    cleanString,
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(cleanString, tie('value'), { maxKeys: 5 }),
  ),
}));

/**
 * `value` with a NUL planted in one place chosen by `choice`: inside a string value or a key
 * (at `at`), or as a new element or entry of an array or object, at any depth.
 */
function plantNul(value: unknown, choice: number, at: number): unknown {
  const splice = (s: string) => { const i = at % (s.length + 1); return `${s.slice(0, i)}\u0000${s.slice(i)}`; };
  const slots: ((root: unknown) => unknown)[] = [];
  const walk = (node: unknown, set: (root: unknown, replacement: unknown) => unknown) => {
    if (typeof node === 'string') slots.push((root) => set(root, splice(node)));
    else if (Array.isArray(node)) {
      slots.push((root) => set(root, [...node, splice('')]));
      node.forEach((item, i) => walk(item, (root, r) => set(root, node.map((x, j) => (j === i ? r : x)))));
    } else if (typeof node === 'object' && node !== null) {
      const entries = Object.entries(node);
      slots.push((root) => set(root, Object.fromEntries([...entries, [splice('k'), 0]])));
      entries.forEach(([key, item], i) => {
        slots.push((root) => set(root, Object.fromEntries(entries.map((e, j) => (j === i ? [splice(key), item] : e)))));
        walk(item, (root, r) => set(root, Object.fromEntries(entries.map((e, j) => (j === i ? [key, r] : e)))));
      });
    }
  };
  walk(value, (_root, replacement) => replacement);
  // a lone number, boolean or null has no text: the NUL replaces it
  if (slots.length === 0) return '\u0000';
  return slots[choice % slots.length]!(value);
}

/** A container at the root, so most plantings land below it. */
const cleanTree = fc.oneof(fc.array(cleanJson, { minLength: 1, maxLength: 5 }), fc.dictionary(cleanString, cleanJson, { minKeys: 1, maxKeys: 5 }), cleanJson);

function envelope(data: unknown): Buffer {
  return Buffer.from(JSON.stringify({ specversion: '1.0', id: 'evt-1', source: '/test', type: 'test.happened', time: '2024-05-01T00:00:00.000Z', datacontenttype: 'application/json', data: { value: data } }));
}
const problemOf = (body: Buffer) => { const parsed = parseCloudEvent(body); return 'problem' in parsed ? parsed.problem : undefined; };

describe('NUL characters', () => {
  it('none in a value with no NUL, whatever else its strings hold: every reader accepts it', () => {
    fc.assert(fc.property(cleanJson, (value) => {
      expect(holdsNul(value)).toBe(false);
      expect(problemOf(envelope(value))).toBeUndefined();
      expect(decodePayload(Buffer.from(JSON.stringify(value))).ok).toBe(true);
    }), { numRuns: 300 });
  });

  it('a NUL planted in any key or value at any depth is found: a CloudEvent is refused with why, a webhook payload too', () => {
    fc.assert(fc.property(cleanTree, fc.nat(), fc.nat(), (tree, choice, at) => {
      const value = plantNul(tree, choice, at);
      expect(holdsNul(value)).toBe(true);
      expect(problemOf(envelope(value))).toMatch(/NUL character/);
      expect(decodePayload(Buffer.from(JSON.stringify(value)))).toEqual({ ok: false, problems: [{ path: '/', message: 'the payload contains a NUL character (\\u0000)' }] });
    }), { numRuns: 500 });
  });

  it('accepts the text \\u0000 (a backslash and u0000), which is not a NUL', () => {
    const text = '{"note":"\\\\u0000","\\\\u0000":"\\\\ud800"}';
    expect(JSON.parse(text)).toEqual({ note: '\\u0000', '\\u0000': '\\ud800' });
    expect(holdsNul(JSON.parse(text))).toBe(false);
    expect(decodePayload(Buffer.from(text))).toEqual({ ok: true, value: { note: '\\u0000', '\\u0000': '\\ud800' } });
    expect(problemOf(Buffer.from(`{"specversion":"1.0","id":"e","type":"t","data":${text}}`))).toBeUndefined();
  });

  it('accepts an emoji and half of one, written raw or as escapes in any case', () => {
    for (const text of ['😀', '\\ud83d\\ude00', '\\uD83D\\uDE00', '\\ud83d', 'cut \\uDE00 off']) {
      const data = `{"note":"${text}","${text}":1}`;
      expect(decodePayload(Buffer.from(data)).ok).toBe(true);
      expect(problemOf(Buffer.from(`{"specversion":"1.0","id":"e","type":"t","data":${data}}`))).toBeUndefined();
    }
  });

  it('walks nesting as deep as JSON.parse allows without running out of stack', () => {
    const depth = 100_000;
    expect(holdsNul(JSON.parse(`${'['.repeat(depth)}"\\u0000"${']'.repeat(depth)}`) as unknown)).toBe(true);
    expect(holdsNul(JSON.parse(`${'['.repeat(depth)}"x"${']'.repeat(depth)}`) as unknown)).toBe(false);
  });
});
