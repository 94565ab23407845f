import type { Redis } from 'ioredis';
import { withTimeout } from '../timeout.ts';

/**
 * Fixed-window rate limiting: one counter per client and window, in Redis so every API
 * replica counts together. A fixed window rather than a sliding one because it costs one
 * INCR per request and one short-lived key per client, and its answer is exact: the window
 * ends at a known instant, which is what `Retry-After` and `RateLimit-Reset` must say. Its
 * known weakness — a client may spend its limit at the end of one window and again at the
 * start of the next, up to twice the limit in a short span — is acceptable here: the limits
 * stop floods and token guessing, they do not meter anything anyone pays for.
 */

/** Where `nowMs` falls: the window's number (part of the Redis key) and when it ends. */
export interface Window {
  index: number;
  endsAtMs: number;
}

export function windowAt(nowMs: number, windowMs: number): Window {
  const index = Math.floor(nowMs / windowMs);
  return { index, endsAtMs: (index + 1) * windowMs };
}

/** The verdict on one request, and what the `RateLimit-*` headers say. */
export interface Verdict {
  allowed: boolean;
  limit: number;
  /** requests left in this window after this one */
  remaining: number;
  /** whole seconds until the window ends (at least 1: "0" would invite an immediate retry) */
  resetSeconds: number;
}

/**
 * The verdict for the `count`-th request of a window (counting this one) under `limit`.
 * Pure, so the window maths is checked apart from Redis.
 */
export function verdictFor(count: number, limit: number, nowMs: number, windowMs: number): Verdict {
  const { endsAtMs } = windowAt(nowMs, windowMs);
  return {
    allowed: count <= limit,
    limit,
    remaining: Math.max(0, limit - count),
    resetSeconds: Math.max(1, Math.ceil((endsAtMs - nowMs) / 1000)),
  };
}

// INCR and the expiry in one step: a counter must never outlive its window for lack of a
// PEXPIRE that a crash or a lost connection skipped.
const hitScript = `local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return n`;

/** Redis answers within this or the limiter steps aside for the request (see `createRateLimiter`). */
const redisTimeoutMs = 250;

export interface RateLimiter {
  /** Counts one request of `bucket` (e.g. `ip:203.0.113.9`) and judges it; undefined when Redis cannot be asked. */
  hit(bucket: string, limit: number): Promise<Verdict | undefined>;
  /** Judges `bucket` without counting (the failed-authentication budget is spent only by failures); undefined when Redis cannot be asked. */
  peek(bucket: string, limit: number): Promise<Verdict | undefined>;
}

/**
 * Counters under `${namespace}:ratelimit:<bucket>:<window>`. `now` is the hub's clock, so
 * tests move from one window to the next without waiting. Errors and slow answers come
 * back as `undefined`: the caller decides to let the request through.
 */
export function createRateLimiter(redis: Redis, namespace: string, windowMs: number, now: () => Date): RateLimiter {
  const keyOf = (bucket: string, window: Window) => `${namespace}:ratelimit:${bucket}:${window.index}`;
  return {
    async hit(bucket, limit) {
      const nowMs = now().getTime();
      const window = windowAt(nowMs, windowMs);
      try {
        // Kept a window past its end, so a replica whose clock is a little behind still finds it.
        const count = Number(await withTimeout(redis.eval(hitScript, 1, keyOf(bucket, window), String(2 * windowMs)), redisTimeoutMs, 'redis'));
        return verdictFor(count, limit, nowMs, windowMs);
      } catch {
        return undefined;
      }
    },
    async peek(bucket, limit) {
      const nowMs = now().getTime();
      const window = windowAt(nowMs, windowMs);
      try {
        const count = Number((await withTimeout(redis.get(keyOf(bucket, window)), redisTimeoutMs, 'redis')) ?? 0);
        // The next failure would be number count + 1: refused once the budget is spent.
        return verdictFor(count + 1, limit, nowMs, windowMs);
      } catch {
        return undefined;
      }
    },
  };
}
