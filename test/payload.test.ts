import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodePayload } from '../core/payload.ts';

describe('decodePayload', () => {
  it('reads JSON losslessly and a form as its fields', () => {
    expect(decodePayload(Buffer.from('{"a":1,"b":["x"]}'))).toEqual({ ok: true, value: { a: 1, b: ['x'] } });
    expect(decodePayload(Buffer.from('trade_status=TRADE_SUCCESS&total_amount=88.88'), 'form')).toEqual({
      ok: true,
      value: { trade_status: 'TRADE_SUCCESS', total_amount: '88.88' },
    });
  });

  it('refuses bytes that are not UTF-8, JSON that does not parse, and NUL however it is written', () => {
    const refusal = (body: Buffer, format?: 'json' | 'form') => {
      const result = decodePayload(body, format);
      return result.ok ? null : result.problems[0]?.message;
    };
    expect(refusal(Buffer.from([0x7b, 0xff, 0x7d]))).toBe('the body is not valid UTF-8');
    expect(refusal(Buffer.from('{"a":'))).toMatch(/JSON/i);
    expect(refusal(Buffer.from('{"a":"x\\u0000y"}'))).toMatch(/NUL/);
    expect(refusal(Buffer.from('{"a\u0000":"x"}'))).not.toBeNull();
    expect(refusal(Buffer.from('out_trade_no=A%00B'), 'form')).toMatch(/NUL/);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.constantFrom('json' as const, 'form' as const), (bytes, format) => {
        const result = decodePayload(Buffer.from(bytes), format);
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) expect(result.problems.length).toBeGreaterThan(0);
      }),
    );
  });
});
