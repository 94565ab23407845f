import { isIPv6 } from 'node:net';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context, MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRateLimiter, type Verdict } from '../core/redis/rate-limit.ts';
import type { HubConfig } from '../schemas/config.ts';
import { principalOf } from './principal.ts';
import { problemResponse } from './problem.ts';

export interface RateLimitSettings {
  windowSeconds: number;
  perKey: number;
  perIp: number;
  failedAuthPerIp: number;
  loginPerIp: number;
  trustedProxies: readonly string[];
}

export const defaultRateLimits: RateLimitSettings = {
  windowSeconds: 60, perKey: 600, perIp: 1200, failedAuthPerIp: 10, loginPerIp: 5, trustedProxies: [],
};

export function rateLimitSettings(config: HubConfig['rateLimits']): RateLimitSettings {
  return { ...defaultRateLimits, ...(config ?? {}) };
}

/** Which budget a refusal spent: the API key's, the address's, its failed authentications', its logins'. */
export type LimitName = 'key' | 'ip' | 'failed_auth' | 'login';

/** `::ffff:192.0.2.1` (an IPv4 client on a dual-stack socket) is `192.0.2.1`. */
const plainAddress = (address: string) => address.trim().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

/**
 * The client's address. `X-Forwarded-For` is believed only when the socket's peer is one of
 * `trusted` — from anyone else it is whatever the client chose to write, and honouring it
 * would let every request claim a fresh address. Read right to left, each trusted proxy
 * vouches for the hop before it; the first address no trusted proxy owns is the client.
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trusted: ReadonlySet<string>): string {
  let client = plainAddress(peer);
  if (!trusted.has(client) || !forwardedFor) return client;
  const hops = forwardedFor.split(',').map(plainAddress).filter((hop) => hop !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    client = hops[i]!;
    if (!trusted.has(client)) return client;
  }
  return client;
}

/**
 * The budget an address spends: an IPv4 address its own, an IPv6 address its /64. A single
 * customer line or server is routinely given a whole /64, so counting each IPv6 address
 * apart would let one client rotate through 2^64 fresh budgets.
 */
export function addressBucket(address: string): string {
  if (!isIPv6(address)) return address;
  const [head = '', tail] = address.split('::');
  const groups = (part: string | undefined) => (part ? part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])) : []);
  const left = groups(head);
  const right = groups(tail);
  const full = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return `${full.slice(0, 4).map((g) => Number.parseInt(g, 16).toString(16)).join(':')}::/64`;
}

/** The socket's peer; undefined for a request made in-process (`app.request`), which has no client to limit. */
function socketPeer(c: Context): string | undefined {
  try {
    return getConnInfo(c).remote.address ?? undefined;
  } catch {
    return undefined;
  }
}

const verdictKey = 'rateLimitVerdict';

/** Keeps the tightest verdict of the request, the one its `RateLimit-*` headers report. */
function noteVerdict(c: Context, verdict: Verdict): void {
  const known = c.get(verdictKey as never) as Verdict | undefined;
  if (!known || verdict.remaining < known.remaining) c.set(verdictKey as never, verdict as never);
}

function setLimitHeaders(headers: Headers, verdict: Verdict): void {
  headers.set('ratelimit-limit', String(verdict.limit));
  headers.set('ratelimit-remaining', String(verdict.remaining));
  headers.set('ratelimit-reset', String(verdict.resetSeconds));
}

function applyNotedHeaders(c: Context): void {
  const verdict = c.get(verdictKey as never) as Verdict | undefined;
  if (!verdict) return;
  try {
    setLimitHeaders(c.res.headers, verdict);
  } catch {
    // A response with immutable headers (a redirect built by the platform): copy it first.
    c.res = new Response(c.res.body, c.res);
    setLimitHeaders(c.res.headers, verdict);
  }
}

const what: Record<LimitName, string> = {
  key: 'requests from this API key',
  ip: 'requests from this address',
  failed_auth: 'failed authentications from this address',
  login: 'login attempts from this address',
};

function tooManyRequests(limit: LimitName, verdict: Verdict, windowSeconds: number): Response {
  const response = problemResponse({
    type: 'https://order-hub.local/problems/rate_limited', title: 'Too Many Requests', status: 429, code: 'rate_limited',
    detail: `more than ${verdict.limit} ${what[limit]} in ${windowSeconds} s; retry in ${verdict.resetSeconds} s`,
    limit, limitPerWindow: verdict.limit, windowSeconds,
  });
  response.headers.set('retry-after', String(verdict.resetSeconds));
  setLimitHeaders(response.headers, verdict);
  return response;
}

export interface RateLimitDeps {
  redis: Redis;
  namespace: string;
  settings: RateLimitSettings;
  now: () => Date;
  logger: Pick<Logger, 'warn'>;
}

/**
 * The middlewares that hold `/api/*` and the status page to the configured limits.
 * `beforeAuth` counts the address and refuses an address whose failed authentications are
 * spent — before the token is checked, so guessing tokens is as limited as using one;
 * `afterAuth` counts the API key that authenticated; `login` counts status-page logins per
 * address; `page` counts the other status-page requests per address.
 *
 * When Redis cannot be asked, requests go through (with a warning in the log): the limiter
 * guards the hub against abuse, and an outage of it must not also lock operators out of the
 * API at the moment they may need it to fix orders.
 */
export function createRateLimits(deps: RateLimitDeps) {
  const { settings } = deps;
  const limiter = createRateLimiter(deps.redis, deps.namespace, settings.windowSeconds * 1000, deps.now);
  const trusted = new Set(settings.trustedProxies.map(plainAddress));
  let lastWarningMs = -Infinity;
  const failOpen = () => {
    // One warning a minute is enough to be seen; one per request would flood the log.
    const nowMs = Date.now();
    if (nowMs - lastWarningMs < 60_000) return;
    lastWarningMs = nowMs;
    deps.logger.warn('rate limiter cannot reach Redis: requests are let through unlimited until it answers');
  };
  const addressOf = (c: Context): string | undefined => {
    const peer = socketPeer(c);
    return peer === undefined ? undefined : addressBucket(clientAddress(peer, c.req.header('x-forwarded-for'), trusted));
  };
  /** Counts `bucket`; a refusal as a response, otherwise undefined (and the verdict noted). */
  const spend = async (c: Context, limit: LimitName, bucket: string, perWindow: number): Promise<Response | undefined> => {
    const verdict = await limiter.hit(bucket, perWindow);
    if (!verdict) {
      failOpen();
      return undefined;
    }
    // A refusal is the tightest verdict there is: the headers an outer middleware adds agree with it.
    noteVerdict(c, verdict);
    return verdict.allowed ? undefined : tooManyRequests(limit, verdict, settings.windowSeconds);
  };

  const beforeAuth: MiddlewareHandler = async (c, next) => {
    const address = addressOf(c);
    if (address === undefined) return next();
    const refused = await spend(c, 'ip', `ip:${address}`, settings.perIp);
    if (refused) return refused;
    const failures = await limiter.peek(`authfail:${address}`, settings.failedAuthPerIp);
    if (failures === undefined) failOpen();
    else if (!failures.allowed) return tooManyRequests('failed_auth', failures, settings.windowSeconds);
    await next();
    if (c.res.status === 401) await limiter.hit(`authfail:${address}`, settings.failedAuthPerIp);
    applyNotedHeaders(c);
    return undefined;
  };

  const afterAuth: MiddlewareHandler = async (c, next) => {
    if (socketPeer(c) === undefined) return next();
    const refused = await spend(c, 'key', `key:${principalOf(c).name}`, settings.perKey);
    if (refused) return refused;
    return next();
  };

  const page = (extra?: { limit: LimitName; bucket: string; perWindow: number }): MiddlewareHandler => async (c, next) => {
    const address = addressOf(c);
    if (address === undefined) return next();
    const refused = await spend(c, 'ip', `ip:${address}`, settings.perIp)
      ?? (extra ? await spend(c, extra.limit, `${extra.bucket}:${address}`, extra.perWindow) : undefined);
    if (refused) return refused;
    await next();
    applyNotedHeaders(c);
    return undefined;
  };

  const login = page({ limit: 'login', bucket: 'login', perWindow: settings.loginPerIp });
  const plainPage = page();
  return {
    beforeAuth,
    afterAuth,
    /** `/login`: a post spends the address's budget and, stricter, its login attempts */
    login: ((c, next) => (c.req.method === 'POST' ? login(c, next) : plainPage(c, next))) as MiddlewareHandler,
    page: plainPage,
  };
}
