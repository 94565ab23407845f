import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import { MAX_JSON_DEPTH, parseJsonLossless } from '../core/json.ts';
import { thrownBy } from './support/errors.ts';


/** true when `value` holds a number that JSON text would spell as an unsafe integer */
function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value);
  if (Array.isArray(value)) return value.some(hasUnsafeInteger);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnsafeInteger);
  return false;
}

describe('parseJsonLossless', () => {
  it('keeps integers beyond 2^53 as their exact digits', () => {
    const parsed = parseJsonLossless('{"id": 820982911946154508, "neg": -9007199254740993, "edge": 9007199254740992}');
    expect(parsed).toEqual({ id: '820982911946154508', neg: '-9007199254740993', edge: '9007199254740992' });
  });

  it('gives every other number as a normal number', () => {
    expect(parseJsonLossless('[9007199254740991, -9007199254740991, 0, -0, 19.99, 1e3, 1.5E-7, 1e400]')).toEqual([
      Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 0, -0, 19.99, 1000, 1.5e-7, Number.POSITIVE_INFINITY,
    ]);
  });

  it('reports malformed JSON as a 400 with the parser’s position', () => {
    for (const text of ['', '{', '{"a":1,}', '[1 2]', "{'a':1}", '01', 'NaN', '{"a":1}x', '"\u0001"']) {
      const error = thrownBy(() => parseJsonLossless(text));
      expect(error, JSON.stringify(text)).toBeInstanceOf(HubError);
      expect(error).toMatchObject({ code: 'malformed_json', status: 400 });
    }
    expect((thrownBy(() => parseJsonLossless('{"a":1,}')) as Error).message).toMatch(/position 7/);
  });

  it('refuses a key repeated with a different value (JSON.parse would keep the last one)', () => {
    expect(thrownBy(() => parseJsonLossless('{"a":1,"a":2}'))).toMatchObject({ code: 'malformed_json' });
  });

  it(`accepts ${MAX_JSON_DEPTH} levels of nesting and refuses one more, cheaply`, () => {
    const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
    expect(() => parseJsonLossless(nested(MAX_JSON_DEPTH))).not.toThrow();
    expect(thrownBy(() => parseJsonLossless(nested(MAX_JSON_DEPTH + 1)))).toMatchObject({
      code: 'json_too_deep',
      status: 400,
    });
    // far beyond what a recursive parser's stack survives, and unterminated
    expect(thrownBy(() => parseJsonLossless('{"a":'.repeat(1_000_000)))).toMatchObject({ code: 'json_too_deep' });
  });

  it('does not count brackets inside strings as nesting', () => {
    const text = JSON.stringify({ s: '['.repeat(1000), t: '\\"[[[', u: '"{{{{' });
    expect(parseJsonLossless(text)).toEqual(JSON.parse(text));
  });

  it('keeps a __proto__ key as plain data without touching any prototype', () => {
    const parsed = parseJsonLossless('{"__proto__": {"polluted": true}, "nested": {"__proto__": {"admin": true}}}') as Record<
      string,
      unknown
    >;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(Object.hasOwn(parsed, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toEqual({ polluted: true });
    expect((parsed as { polluted?: unknown }).polluted).toBeUndefined();
    const nested = parsed.nested as Record<string, unknown>;
    expect(Object.getPrototypeOf(nested)).toBe(Object.prototype);
    expect((nested as { admin?: unknown }).admin).toBeUndefined();
    expect(({} as { polluted?: unknown; admin?: unknown }).polluted).toBeUndefined();
  });

  it('property: agrees with JSON.parse on any JSON without unsafe integers', () => {
    fc.assert(
      fc.property(
        fc.jsonValue().filter((value) => !hasUnsafeInteger(value)),
        fc.boolean(),
        (value, pretty) => {
          const text = JSON.stringify(value, null, pretty ? 2 : undefined);
          expect(parseJsonLossless(text)).toStrictEqual(JSON.parse(text));
        },
      ),
    );
  });

  it('property: any unsafe integer comes back as its exact digits', () => {
    const unsafe = fc.oneof(
      fc.bigInt({ min: 2n ** 53n, max: 10n ** 40n }),
      fc.bigInt({ min: -(10n ** 40n), max: -(2n ** 53n) }),
    );
    fc.assert(
      fc.property(unsafe, (n) => {
        expect(parseJsonLossless(`{"id":${n},"list":[${n}]}`)).toEqual({ id: String(n), list: [String(n)] });
      }),
    );
  });
});
