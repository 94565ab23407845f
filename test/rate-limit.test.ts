import { request as httpRequest } from 'node:http';
import { Writable } from 'node:stream';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../core/config/api-keys.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { loadConfig, parseConfig } from '../core/config/business.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { verdictFor, windowAt } from '../core/redis/rate-limit.ts';
import { addressBucket, clientAddress } from '../routes/rate-limit.ts';
import type { HubConfig } from '../schemas/config.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

// Rate limits on the operator API and the status page, against the real Redis and a hub
// listening on a real socket (limits apply to clients on the network). The hub's clock is
// the test's, so moving to the next window is a clock change, not a wait.
const windowMs = 60_000;
let clockMs = Math.floor(Date.now() / windowMs) * windowMs + 1_000;
const now = () => new Date(clockMs);

const keys = { a: newApiKey('key-a', 'viewer'), b: newApiKey('key-b', 'viewer'), c: newApiKey('key-c', 'viewer'), d: newApiKey('key-d', 'viewer') };
const limits = { windowSeconds: 60, perKey: 5, perIp: 8, failedAuthPerIp: 3, loginPerIp: 2 };

function configWith(rateLimits: Partial<NonNullable<HubConfig['rateLimits']>>): HubConfig {
  return parseConfig({ ...loadConfig(defaultConfigPath), apiKeys: Object.values(keys).map((k) => k.entry), rateLimits }, 'test config');
}

interface Answer { status: number; headers: Record<string, string | string[] | undefined>; body: string }

/** One HTTP request to the hub's socket; `from` binds the client to another loopback address. */
function send(port: number, method: string, path: string, options: { headers?: Record<string, string>; body?: string; from?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: options.headers ?? {}, ...(options.from ? { localAddress: options.from } : {}) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const namespace = testNamespace('ratelimit');
const env = testEnv(namespace);
let hub: Hub;
let port: number;

beforeAll(async () => {
  const config = configWith({ ...limits, trustedProxies: ['127.0.0.1'] });
  hub = await startHub(env, { roles: ['api'], port: 0, logger: quietLogger(), config, now });
  port = hub.port!;
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

/** `GET /api/orders` with `key`'s token, as the client at `ip` behind the trusted proxy. */
const ordersAs = (key: { token: string }, ip: string, extra: Record<string, string> = {}) => send(port, 'GET', '/api/orders?limit=1', {
  headers: { authorization: `Bearer ${key.token}`, 'x-forwarded-for': ip, ...extra },
});
const statuses = async (calls: (() => Promise<Answer>)[]) => {
  const out: number[] = [];
  for (const call of calls) out.push((await call()).status);
  return out;
};
const times = <T>(n: number, f: (i: number) => T) => Array.from({ length: n }, (_, i) => f(i));
const problemOf = (answer: Answer) => JSON.parse(answer.body) as { status: number; type: string; code: string; limit: string; limitPerWindow: number; detail: string };

describe('per API key', () => {
  it('allows perKey requests a window from one key, from any address, then answers 429 naming the key limit', async () => {
    const answers = await statuses(times(5, (i) => () => ordersAs(keys.a, `198.51.100.${i + 1}`)));
    expect(answers).toEqual([200, 200, 200, 200, 200]);
    const refused = await ordersAs(keys.a, '198.51.100.99');
    expect(refused.status).toBe(429);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    const problem = problemOf(refused);
    expect(problem).toMatchObject({ status: 429, code: 'rate_limited', limit: 'key', limitPerWindow: 5 });
    expect(problem.detail).toContain('API key');
    expect(refused.headers['retry-after']).toBe('59');
    expect(refused.headers['ratelimit-limit']).toBe('5');
    expect(refused.headers['ratelimit-remaining']).toBe('0');
    expect(refused.headers['ratelimit-reset']).toBe('59');
    // Another key from the same address is not affected.
    expect((await ordersAs(keys.b, '198.51.100.99')).status).toBe(200);
  });

  it('reports the tightest budget on every limited answer', async () => {
    const answer = await ordersAs(keys.c, '198.51.100.150');
    expect(answer.status).toBe(200);
    // The key has 5 a window and the address 8: the key's is the one that runs out first.
    expect(answer.headers['ratelimit-limit']).toBe('5');
    expect(answer.headers['ratelimit-remaining']).toBe('4');
    expect(answer.headers['ratelimit-reset']).toBe('59');
  });
});

describe('per address', () => {
  it('allows perIp requests a window from one address, whatever the keys, then answers 429 naming the address limit', async () => {
    const ip = '203.0.113.10';
    const answers = await statuses([...times(4, () => () => ordersAs(keys.c, ip)), ...times(4, () => () => ordersAs(keys.d, ip))]);
    expect(answers).toEqual([200, 200, 200, 200, 200, 200, 200, 200]);
    const refused = await ordersAs(keys.d, ip);
    expect(refused.status).toBe(429);
    expect(problemOf(refused)).toMatchObject({ limit: 'ip', limitPerWindow: 8 });
    expect(refused.headers['retry-after']).toBe('59');
    // A neighbour behind the same proxy has its own budget.
    expect((await send(port, 'GET', '/', { headers: { 'x-forwarded-for': '203.0.113.11' } })).status).toBe(200);
  });

  it('counts failed authentications more strictly, before the token is even checked', async () => {
    const ip = '203.0.113.20';
    const bad = () => send(port, 'GET', '/api/orders', { headers: { authorization: 'Bearer guess', 'x-forwarded-for': ip } });
    expect(await statuses([bad, bad, bad])).toEqual([401, 401, 401]);
    // A valid token does not help an address that has spent its failures: guessing stops here.
    const refused = await ordersAs(keys.d, ip);
    expect(refused.status).toBe(429);
    expect(problemOf(refused)).toMatchObject({ limit: 'failed_auth', limitPerWindow: 3 });
    expect(refused.headers['retry-after']).toBe('59');
    // Another address is not held by this one's failures.
    expect((await send(port, 'GET', '/api/orders', { headers: { authorization: 'Bearer guess', 'x-forwarded-for': '203.0.113.21' } })).status).toBe(401);
  });

  it('limits status-page logins per address (brute force on the login form)', async () => {
    const login = (ip: string) => () => send(port, 'POST', '/login', {
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': ip }, body: 'token=not-a-token',
    });
    expect(await statuses([login('192.0.2.50'), login('192.0.2.50')])).toEqual([401, 401]);
    const refused = await login('192.0.2.50')();
    expect(refused.status).toBe(429);
    expect(problemOf(refused)).toMatchObject({ limit: 'login', limitPerWindow: 2 });
    expect(refused.headers['retry-after']).toBe('59');
    expect((await login('192.0.2.51')()).status).toBe(401);
  });

  it('puts the RateLimit headers on the status page too', async () => {
    const answer = await send(port, 'GET', '/', { headers: { 'x-forwarded-for': '192.0.2.60' } });
    expect(answer.status).toBe(200);
    expect(answer.headers['ratelimit-limit']).toBe('8');
    expect(answer.headers['ratelimit-remaining']).toBe('7');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', async () => {
    // 127.0.0.2 is not trusted: every request counts against it, whatever address it claims.
    const forged = (i: number) => () => send(port, 'GET', '/', { from: '127.0.0.2', headers: { 'x-forwarded-for': `100.64.0.${i}` } });
    expect(await statuses(times(8, forged))).toEqual(times(8, () => 200));
    const refused = await forged(99)();
    expect(refused.status).toBe(429);
    expect(problemOf(refused).limit).toBe('ip');
  });
});

describe('windows and keys', () => {
  it('starts afresh in the next window', async () => {
    const ip = '198.51.100.200';
    const key = keys.b;
    while ((await ordersAs(key, ip)).status === 200);
    expect((await ordersAs(key, ip)).status).toBe(429);
    clockMs += windowMs;
    const answer = await ordersAs(key, ip);
    expect(answer.status).toBe(200);
    expect(answer.headers['ratelimit-remaining']).toBe('4');
  });

  it('keeps its counters under the namespace, with an expiry', async () => {
    const redis = new Redis(env.redisUrl);
    try {
      const found: string[] = [];
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${namespace}:ratelimit:*`, 'COUNT', 500);
        cursor = next;
        found.push(...batch);
      } while (cursor !== '0');
      expect(found.some((k) => k.startsWith(`${namespace}:ratelimit:key:key-a:`))).toBe(true);
      expect(found.some((k) => k.startsWith(`${namespace}:ratelimit:ip:203.0.113.10:`))).toBe(true);
      expect(found.some((k) => k.startsWith(`${namespace}:ratelimit:authfail:203.0.113.20:`))).toBe(true);
      expect(found.some((k) => k.startsWith(`${namespace}:ratelimit:login:192.0.2.50:`))).toBe(true);
      for (const key of found) expect(await redis.pttl(key)).toBeGreaterThan(0);
    } finally {
      redis.disconnect();
    }
  });

  it('does not limit webhooks', async () => {
    const answers = await statuses(times(12, () => () => send(port, 'POST', '/webhooks/orders/nowhere', { headers: { 'x-forwarded-for': '198.51.100.250' }, body: '{}' })));
    expect(answers.every((s) => s !== 429)).toBe(true);
  });
});

describe('when Redis is down', () => {
  it('lets requests through (fail open) and says so in the log', async () => {
    const downNamespace = testNamespace('ratelimitdown');
    // Nothing listens on port 1: every Redis command fails.
    const downEnv = testEnv(downNamespace, { REDIS_URL: 'redis://127.0.0.1:1' });
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString('utf8')); done(); } });
    const down = await startHub(downEnv, { roles: ['api'], port: 0, logger: pino({ level: 'warn' }, sink), config: configWith({ perKey: 1, perIp: 1, failedAuthPerIp: 1, trustedProxies: [] }), now });
    try {
      const answers = await statuses(times(3, () => () => send(down.port!, 'GET', '/api/orders?limit=1', { headers: { authorization: `Bearer ${keys.a.token}` } })));
      expect(answers).toEqual([200, 200, 200]);
      expect(lines.join('')).toContain('rate limiter cannot reach Redis');
    } finally {
      await down.stop();
      await removeNamespace({ ...downEnv, redisUrl: env.redisUrl }, down.topology);
    }
  });
});

describe('the window maths', () => {
  const instant = fc.integer({ min: 0, max: 4_102_444_800_000 });
  const windowLength = fc.integer({ min: 1, max: 86_400 }).map((s) => s * 1000);

  it('puts every instant in exactly one window, which ends after it', () => {
    fc.assert(fc.property(instant, windowLength, (nowMs, w) => {
      const { index, endsAtMs } = windowAt(nowMs, w);
      expect(endsAtMs - w).toBeLessThanOrEqual(nowMs);
      expect(endsAtMs).toBeGreaterThan(nowMs);
      expect(windowAt(endsAtMs - w, w).index).toBe(index);
      expect(windowAt(endsAtMs, w).index).toBe(index + 1);
    }));
  });

  it('allows exactly `limit` requests a window, and says when the window ends', () => {
    fc.assert(fc.property(instant, windowLength, fc.integer({ min: 1, max: 10_000 }), fc.integer({ min: 1, max: 20_000 }), (nowMs, w, limit, count) => {
      const verdict = verdictFor(count, limit, nowMs, w);
      expect(verdict.allowed).toBe(count <= limit);
      expect(verdict.remaining).toBe(Math.max(0, limit - count));
      expect(verdict.limit).toBe(limit);
      expect(verdict.resetSeconds).toBeGreaterThanOrEqual(1);
      expect(verdict.resetSeconds).toBeLessThanOrEqual(w / 1000);
      // Retrying after `resetSeconds` lands in a later window, never earlier than its start.
      expect(windowAt(nowMs + verdict.resetSeconds * 1000, w).index).toBeGreaterThan(windowAt(nowMs, w).index);
    }));
  });

  it('believes X-Forwarded-For only from trusted proxies', () => {
    const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((p) => p.join('.'));
    fc.assert(fc.property(ipv4, fc.array(ipv4, { maxLength: 5 }), fc.array(ipv4, { maxLength: 3 }), (peer, hops, proxies) => {
      const trusted = new Set(proxies);
      const answer = clientAddress(peer, hops.join(', '), trusted);
      if (!trusted.has(peer)) expect(answer).toBe(peer);
      else expect([peer, ...hops]).toContain(answer);
      // The answer is a trusted proxy only when every hop is one.
      if (trusted.has(answer)) expect([peer, ...hops].every((h) => trusted.has(h))).toBe(true);
    }));
    expect(clientAddress('::ffff:10.0.0.1', '203.0.113.5, 10.0.0.2', new Set(['10.0.0.1', '10.0.0.2']))).toBe('203.0.113.5');
  });

  it('counts an IPv6 client by its /64, however it writes the address, and an IPv4 client by its address', () => {
    const group = fc.integer({ min: 0, max: 0xffff });
    const ipv6 = fc.array(group, { minLength: 8, maxLength: 8 });
    // any two addresses of one /64, each written out in full or with its longest zero run as `::`
    const written = (groups: number[], compress: boolean) => {
      const hex = groups.map((g) => g.toString(16));
      if (!compress) return hex.join(':');
      let best = { at: -1, length: 0 };
      for (let i = 0; i < 8; i++) {
        let n = 0;
        while (i + n < 8 && groups[i + n] === 0) n++;
        if (n > best.length) best = { at: i, length: n };
      }
      return best.length < 2 ? hex.join(':') : `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.length).join(':')}`;
    };
    fc.assert(fc.property(ipv6, fc.array(group, { minLength: 4, maxLength: 4 }), fc.boolean(), fc.boolean(), (a, otherHost, compressA, compressB) => {
      const b = [...a.slice(0, 4), ...otherHost];
      expect(addressBucket(written(a, compressA))).toBe(addressBucket(written(b, compressB)));
      expect(addressBucket(written(a, compressA))).toBe(`${a.slice(0, 4).map((g) => g.toString(16)).join(':')}::/64`);
    }));
    expect(addressBucket('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressBucket('::1')).toBe('0:0:0:0::/64');
    expect(addressBucket('2001:db8:1:2::')).not.toBe(addressBucket('2001:db8:1:3::'));
    expect(addressBucket('203.0.113.5')).toBe('203.0.113.5');
  });
});
