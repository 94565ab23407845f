import { createHash } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { AmazonOrder, AmazonOrderDocument } from '../../connectors/amazon.ts';
import type { AccessTokenSource } from '../../connectors/amazon-lwa.ts';
import { isObject } from '../../connectors/reader.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { loadCursor, saveCursor } from '../db/sql/cursors.ts';
import { HubError } from '../errors.ts';
import { acceptDelivery } from '../intake.ts';
import { retryAfterMs } from '../../connectors/http.ts';

export { retryAfterMs };

/**
 * The Amazon SP-API poller: reads the orders updated since it last looked (Orders v0
 * `getOrders` by `LastUpdatedAfter`, then `getOrderItems` for each) and stores each
 * order snapshot as a raw delivery with its `inbound.accepted` message (`acceptDelivery`),
 * so polled orders take exactly the path webhooks do.
 *
 * Where it has read up to lives in `channel_cursors` and only moves forward together with
 * the orders it covers: a crash or restart neither skips an order nor stores one twice.
 */

/** The operations the poller calls; each has its own Amazon rate limit. */
export type AmazonOperation = 'getOrders' | 'getOrderItems';

/** A token bucket: `rate` requests per second, at most `burst` at once. */
export interface RateLimit {
  rate: number;
  burst: number;
}

/**
 * Amazon's default usage plans (Orders v0 model: getOrders 0.0167/s burst 20, getOrderItems
 * 0.5/s burst 30). The `x-amzn-RateLimit-Limit` header of each answer replaces the rate; the
 * burst is never sent, so the documented one is assumed.
 */
export const AMAZON_RATE_LIMITS: Readonly<Record<AmazonOperation, RateLimit>> = {
  getOrders: { rate: 0.0167, burst: 20 },
  getOrderItems: { rate: 0.5, burst: 30 },
};

/** Amazon: `LastUpdatedBefore` must be at least 2 minutes before now, and most updates show up within 2 minutes. */
const SETTLE_MS = 120_000;

export interface AmazonPollerDeps {
  db: Db;
  namespace: string;
  channel: { code: string; poller: { baseUrl: string; marketplaceIds: string[]; startAt?: string } };
  /**
   * What is sent as `x-amz-access-token`: LWA access tokens from a source that refreshes them
   * (`createLwaTokenSource`), or one fixed token, which stops working an hour after LWA issued it
   */
  token: AccessTokenSource | string;
  fetch?: typeof fetch;
  now: () => Date;
  newId: () => string;
  logger: Logger;
  /** `getOrders` pages one `pollOnce` reads at most; the next one carries on where it stopped (default 10) */
  maxPages?: number;
  /** how far each poll reaches back before the last one's end, so late-visible updates are not missed (default 2 minutes) */
  overlapMs?: number;
  /** retries of one request after a 429, a 5xx or a network error (default 4) */
  retries?: number;
  /** the first backoff after a 5xx or network error, doubled at each retry (default 1 s) */
  backoffMs?: number;
  /** the longest wait a 429 may ask for; a longer one fails the run, the next tick tries again (default 2 minutes) */
  maxWaitMs?: number;
  /** per-request timeout (default 30 s) */
  timeoutMs?: number;
  rateLimits?: Partial<Record<AmazonOperation, RateLimit>>;
  sleep?: (ms: number) => Promise<void>;
}

/** What one poll did: `getOrders` pages read, orders listed, orders stored as new raw deliveries. */
export interface PollCounts {
  pages: number;
  orders: number;
  stored: number;
}

export interface AmazonPoller {
  pollOnce(): Promise<PollCounts>;
}

/** The poller's row in `channel_cursors`. */
export interface AmazonCursor {
  /** the `LastUpdatedAfter` of the next window: every update before it (plus the overlap) is stored */
  lastUpdatedAfter: string;
  /** the `LastUpdatedBefore` of the last window read to its end */
  readUpTo: string | null;
  /** a window read part way (page limit, crash): its bounds and the NextToken of its next page */
  window: ReadWindow | null;
}

interface ReadWindow {
  after: string;
  before: string;
  nextToken: string | null;
}

/**
 * The poller for one Amazon channel. `pollOnce` reads from the stored cursor (or
 * `poller.startAt`, or now, the first time) to 2 minutes ago, page by page.
 */
export function createAmazonPoller(deps: AmazonPollerDeps): AmazonPoller {
  const log = deps.logger.child({ component: 'amazon-poller', channel: deps.channel.code });
  const maxPages = deps.maxPages ?? 10;
  const overlapMs = deps.overlapMs ?? 120_000;
  const sleep = deps.sleep ?? ((ms: number) => delay(ms));
  const api = createSpApiClient({
    baseUrl: deps.channel.poller.baseUrl,
    token: deps.token,
    fetch: deps.fetch ?? fetch,
    now: deps.now,
    sleep,
    logger: log,
    retries: deps.retries ?? 4,
    backoffMs: deps.backoffMs ?? 1_000,
    maxWaitMs: deps.maxWaitMs ?? 120_000,
    timeoutMs: deps.timeoutMs ?? 30_000,
    limiter: createRateLimiter({ ...AMAZON_RATE_LIMITS, ...deps.rateLimits }, sleep),
  });
  const marketplaceIds = deps.channel.poller.marketplaceIds.join(',');
  let running = false;

  /** Lists one page of orders: the window's first page by its bounds, later ones by NextToken. */
  async function listOrders(window: ReadWindow): Promise<{ orders: unknown[]; nextToken: string | null; requestId: string | null }> {
    const query: Record<string, string> = window.nextToken === null
      ? {
          MarketplaceIds: marketplaceIds,
          LastUpdatedAfter: window.after,
          LastUpdatedBefore: window.before,
          // FBA (AFN) orders are shipped by Amazon: the hub must never send them to a warehouse.
          FulfillmentChannels: 'MFN',
        }
      : { MarketplaceIds: marketplaceIds, NextToken: window.nextToken };
    const { body, requestId } = await api.get('getOrders', '/orders/v0/orders', query);
    const payload = payloadOf(body, 'getOrders');
    const orders = payload.Orders ?? [];
    if (!Array.isArray(orders)) throw badResponse('getOrders', 'payload.Orders is not an array');
    return { orders, nextToken: tokenOf(payload.NextToken, 'getOrders'), requestId };
  }

  /** Every item of one order, across NextToken pages. */
  async function listItems(orderId: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let nextToken: string | null = null;
    for (let page = 0; page < 100; page++) {
      const path = `/orders/v0/orders/${encodeURIComponent(orderId)}/orderItems`;
      const { body } = await api.get('getOrderItems', path, nextToken === null ? {} : { NextToken: nextToken });
      const payload = payloadOf(body, 'getOrderItems');
      if (payload.AmazonOrderId !== undefined && payload.AmazonOrderId !== orderId) {
        throw badResponse('getOrderItems', `items of ${JSON.stringify(payload.AmazonOrderId)} returned for ${orderId}`);
      }
      const pageItems: unknown = payload.OrderItems ?? [];
      if (!Array.isArray(pageItems)) throw badResponse('getOrderItems', 'payload.OrderItems is not an array');
      items.push(...(pageItems as unknown[]));
      nextToken = tokenOf(payload.NextToken, 'getOrderItems');
      if (nextToken === null) return items;
    }
    throw badResponse('getOrderItems', `order ${orderId} has more than 100 pages of items`);
  }

  /** Stores one order snapshot; with `cursor`, moves the cursor in the same transaction. */
  async function storeOrder(order: unknown, requestId: string | null, cursor: { next: AmazonCursor; previous: AmazonCursor | null } | null): Promise<boolean> {
    const { id, updated } = orderIdentity(order);
    const items = id === null ? [] : await listItems(id);
    const document = { order, items } as AmazonOrderDocument;
    const body = Buffer.from(JSON.stringify(document), 'utf8');
    // An order without its id or update time is stored anyway (the normalize stage reports
    // it with an exception, and the bytes can be replayed); its key is then its content.
    const dedupeKey = id !== null && updated !== null ? `${id}:${updated}` : `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return withTransaction(deps.db, async (tx) => {
      const raw = await acceptDelivery(tx, deps, {
        source: deps.channel.code,
        kind: 'order',
        topic: 'order',
        dedupeKey,
        headers: { 'content-type': 'application/json', ...(requestId ? { 'x-amzn-requestid': requestId } : {}) },
        body,
      });
      if (cursor) await saveCursor(tx, deps.channel.code, cursor.next, cursor.previous, deps.now());
      return raw.isNew;
    });
  }

  async function poll(): Promise<PollCounts> {
    const counts: PollCounts = { pages: 0, orders: 0, stored: 0 };
    let cursor = await loadCursor<AmazonCursor>(deps.db, deps.channel.code);
    const now = deps.now();
    let window: ReadWindow = cursor?.window ?? {
      after: cursor?.lastUpdatedAfter ?? amazonTime(deps.channel.poller.startAt ? new Date(deps.channel.poller.startAt) : new Date(now.getTime() - SETTLE_MS - overlapMs)),
      before: amazonTime(new Date(now.getTime() - SETTLE_MS)),
      nextToken: null,
    };
    if (Date.parse(window.before) <= Date.parse(window.after)) {
      log.debug({ window }, 'nothing to read yet');
      return counts;
    }
    let resumed = window.nextToken !== null;

    while (counts.pages < maxPages) {
      let page: Awaited<ReturnType<typeof listOrders>>;
      try {
        page = await listOrders(window);
      } catch (error) {
        // A NextToken saved by an earlier run may have expired: read the window again from
        // its start (what was stored already is a no-op the second time).
        if (!(resumed && error instanceof HubError && error.details?.httpStatus === 400)) throw error;
        log.warn({ window, err: error.message }, 'saved NextToken refused; reading the window again from its start');
        window = { ...window, nextToken: null };
        resumed = false;
        continue;
      }
      resumed = false;
      counts.pages += 1;
      counts.orders += page.orders.length;

      const next: AmazonCursor = page.nextToken !== null
        ? { lastUpdatedAfter: cursor?.lastUpdatedAfter ?? window.after, readUpTo: cursor?.readUpTo ?? null, window: { ...window, nextToken: page.nextToken } }
        : {
            // The next window reaches back by the overlap, never before this one's start.
            lastUpdatedAfter: amazonTime(new Date(Math.max(Date.parse(window.after), Date.parse(window.before) - overlapMs))),
            readUpTo: window.before,
            window: null,
          };
      const move = { next, previous: cursor };
      if (page.orders.length === 0) {
        await withTransaction(deps.db, (tx) => saveCursor(tx, deps.channel.code, next, cursor, deps.now()));
      }
      for (const [index, order] of page.orders.entries()) {
        // The cursor moves with the page's last order: everything before it is stored.
        if (await storeOrder(order, page.requestId, index === page.orders.length - 1 ? move : null)) counts.stored += 1;
      }
      cursor = next;
      log.info({ page: counts.pages, orders: page.orders.length, stored: counts.stored, more: page.nextToken !== null }, 'amazon orders page stored');
      if (next.window === null) break;
      window = next.window;
    }
    return counts;
  }

  return {
    async pollOnce() {
      if (running) throw new HubError('poll_in_progress', `the ${deps.channel.code} poller is already running`, { status: 409 });
      running = true;
      try {
        const counts = await poll();
        log.info(counts, 'amazon poll done');
        return counts;
      } finally {
        running = false;
      }
    },
  };
}

// --- SP-API client ------------------------------------------------------------------------

interface SpApiClientOptions {
  baseUrl: string;
  token: AccessTokenSource | string;
  fetch: typeof fetch;
  now: () => Date;
  sleep: (ms: number) => Promise<void>;
  logger: Logger;
  retries: number;
  backoffMs: number;
  maxWaitMs: number;
  timeoutMs: number;
  limiter: RateLimiter;
}

/**
 * GET with Amazon's rules: the access token header, each operation's rate limit, a 429
 * waited out (its `Retry-After`, else a backoff no shorter than one request's share of the
 * rate), a 5xx or network error retried with a doubling backoff, all of it bounded. A 401
 * or 403 with a refreshable token gets one fresh token and the request once more.
 */
function createSpApiClient(o: SpApiClientOptions) {
  const base = o.baseUrl.replace(/\/+$/, '');
  const source = o.token;
  return {
    async get(operation: AmazonOperation, path: string, query: Record<string, string>): Promise<{ body: unknown; requestId: string | null }> {
      const search = new URLSearchParams(query).toString();
      const url = `${base}${path}${search ? `?${search}` : ''}`;
      let refreshed = false;
      for (let attempt = 0; ; attempt++) {
        const backoff = o.backoffMs * 2 ** attempt;
        await o.limiter.take(operation);
        // Asked for at every attempt: a poll paced by the rate limits can outlast a token. An
        // LWA failure ends the poll as it is (LWA's own trouble was retried by its client);
        // the next tick tries again.
        const token = typeof source === 'string' ? source : await source.token();
        let response: Response;
        try {
          response = await o.fetch(url, {
            headers: { 'x-amz-access-token': token, accept: 'application/json' },
            signal: AbortSignal.timeout(o.timeoutMs),
          });
        } catch (error) {
          if (attempt < o.retries) {
            o.logger.warn({ operation, attempt, err: (error as Error).message }, 'SP-API unreachable; retrying');
            await o.sleep(backoff);
            continue;
          }
          throw new HubError('amazon_unreachable', `${operation}: ${(error as Error).message} (after ${attempt + 1} attempts)`, {
            status: 502, retryable: true, cause: error,
          });
        }
        o.limiter.observe(operation, response.headers.get('x-amzn-ratelimit-limit'));
        const requestId = response.headers.get('x-amzn-requestid');
        if (response.ok) return { body: await jsonOf(response, operation), requestId };
        const text = await response.text().catch(() => '');
        if ((response.status === 401 || response.status === 403) && typeof source !== 'string' && !refreshed) {
          // The token expired early, was revoked, or the clocks disagree: one fresh token, and
          // the same request again. A second refusal is not about the token's age, and is
          // reported. The refusal is not one of the retries, which are for Amazon's trouble.
          refreshed = true;
          source.invalidate(token);
          o.logger.warn({ operation, status: response.status }, 'SP-API refused the access token; fetching a fresh one and sending the request again');
          attempt -= 1;
          continue;
        }
        if (response.status === 429 && attempt < o.retries) {
          o.limiter.drain(operation);
          const wait = retryAfterMs(response.headers.get('retry-after'), o.now()) ?? Math.max(backoff, o.limiter.intervalMs(operation));
          if (wait > o.maxWaitMs) throw httpError(operation, response.status, text, `asked to wait ${wait} ms, more than ${o.maxWaitMs}`);
          o.logger.warn({ operation, attempt, waitMs: wait }, 'SP-API throttled (429); waiting');
          await o.sleep(wait);
          continue;
        }
        if (response.status >= 500 && attempt < o.retries) {
          o.logger.warn({ operation, attempt, status: response.status }, 'SP-API server error; retrying');
          await o.sleep(backoff);
          continue;
        }
        throw httpError(operation, response.status, text, `after ${attempt + 1} attempt(s)`);
      }
    },
  };
}

async function jsonOf(response: Response, operation: AmazonOperation): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw badResponse(operation, `the answer is not JSON: ${text.slice(0, 100)}`);
  }
}

/** Amazon's error body is `{ "errors": [{ "code", "message", "details" }] }`. */
function httpError(operation: AmazonOperation, status: number, text: string, when: string): HubError {
  let detail = text.slice(0, 200);
  try {
    const first = (JSON.parse(text) as { errors?: { code?: string; message?: string }[] }).errors?.[0];
    if (first) detail = `${first.code ?? ''}: ${first.message ?? ''}`;
  } catch {
    // not JSON: keep the text
  }
  const hint = status === 401 || status === 403 ? ' (is the access token valid and current?)' : '';
  return new HubError('amazon_http_error', `${operation} answered ${status}${hint} ${when}: ${detail}`, {
    status: 502, retryable: status === 429 || status >= 500, details: { httpStatus: status, operation },
  });
}

function badResponse(operation: AmazonOperation, message: string): HubError {
  return new HubError('amazon_bad_response', `${operation}: ${message}`, { status: 502, retryable: true });
}

function payloadOf(body: unknown, operation: AmazonOperation): Record<string, unknown> {
  const payload = isObject(body) ? body.payload : undefined;
  if (!isObject(payload)) throw badResponse(operation, 'the answer has no payload object');
  return payload;
}

function tokenOf(value: unknown, operation: AmazonOperation): string | null {
  if (value == null || value === '') return null;
  if (typeof value !== 'string') throw badResponse(operation, 'NextToken is not a string');
  return value;
}

/** The id and update time that identify one snapshot of an order, when the order has them. */
function orderIdentity(order: unknown): { id: string | null; updated: string | null } {
  if (!isObject(order)) return { id: null, updated: null };
  const o = order as Partial<AmazonOrder>;
  const id = typeof o.AmazonOrderId === 'string' && o.AmazonOrderId !== '' ? o.AmazonOrderId : null;
  const updated = typeof o.LastUpdateDate === 'string' && o.LastUpdateDate !== '' ? o.LastUpdateDate : null;
  return { id, updated };
}

/** ISO 8601 to the second, in UTC, as Amazon's examples write it (floored, so a window only grows). */
export function amazonTime(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new HubError('invalid_time', 'not a valid time for SP-API', { status: 400 });
  return `${date.toISOString().slice(0, 19)}Z`;
}

// --- rate limiting --------------------------------------------------------------------------

export interface RateLimiter {
  /** waits until the operation may be called, and counts the call */
  take(operation: AmazonOperation): Promise<void>;
  /** takes the rate from an `x-amzn-RateLimit-Limit` header (requests per second) */
  observe(operation: AmazonOperation, header: string | null): void;
  /** after a 429: the bucket is empty, whatever was assumed */
  drain(operation: AmazonOperation): void;
  /** milliseconds one request's share of the rate takes to come back */
  intervalMs(operation: AmazonOperation): number;
}

/** One token bucket per operation, as Amazon's usage plans work. */
export function createRateLimiter(
  limits: Readonly<Record<AmazonOperation, RateLimit>>,
  sleep: (ms: number) => Promise<void>,
  clock: () => number = () => performance.now(),
): RateLimiter {
  const buckets = new Map<AmazonOperation, { rate: number; burst: number; tokens: number; at: number }>();
  /** the operation's bucket, refilled up to now at `rate` (default: its own) */
  const bucket = (operation: AmazonOperation, rate?: number) => {
    let b = buckets.get(operation);
    if (!b) {
      const limit = limits[operation];
      b = { rate: limit.rate, burst: limit.burst, tokens: limit.burst, at: clock() };
      buckets.set(operation, b);
    }
    const t = clock();
    b.tokens = Math.min(b.burst, b.tokens + ((t - b.at) / 1000) * (rate ?? b.rate));
    b.at = t;
    return b;
  };
  return {
    async take(operation) {
      let b = bucket(operation);
      if (b.tokens < 1) {
        await sleep(Math.ceil(((1 - b.tokens) / b.rate) * 1000));
        b = bucket(operation);
        b.tokens = Math.max(b.tokens, 1);
      }
      b.tokens -= 1;
    },
    observe(operation, header) {
      const rate = header === null ? Number.NaN : Number(header);
      if (!(Number.isFinite(rate) && rate > 0)) return;
      // The time since the last call is credited at the lower of the assumed and the stated
      // rate: a bucket never fills faster than Amazon said it does.
      const current = buckets.get(operation)?.rate ?? limits[operation].rate;
      bucket(operation, Math.min(current, rate)).rate = rate;
    },
    drain(operation) {
      bucket(operation).tokens = 0;
    },
    intervalMs(operation) {
      return Math.ceil(1000 / bucket(operation).rate);
    },
  };
}
