import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small Amazon SP-API (Orders v0) on loopback for poller tests. It serves Amazon's own
 * example answers (test/fixtures/amazon-sp-api/, copied byte for byte with their notes) and
 * behaves as the real one does where the poller depends on it: `getOrders` filtered by
 * `LastUpdatedAfter`/`LastUpdatedBefore`, marketplace and fulfilment channel; NextToken
 * pages for orders and items; the `x-amz-access-token` check (a fixed token, or whatever
 * `acceptToken` says is current, for tokens that rotate); `x-amzn-RateLimit-Limit`;
 * throttling (429 with `Retry-After`) and server errors on demand. It records every request.
 */

export const SP_API_TOKEN = 'Atza|test-sp-api-access-token';

type Json = Record<string, unknown>;
export type SpApiOperation = 'getOrders' | 'getOrderItems';

/** One of Amazon's example answers from test/fixtures/amazon-sp-api/, freshly parsed. */
export function officialExample(name: string): Json {
  return JSON.parse(readFileSync(new URL(`../fixtures/amazon-sp-api/${name}`, import.meta.url), 'utf8')) as Json;
}

function payloadOf(name: string): Json {
  return officialExample(name).payload as Json;
}

/**
 * The official orders: the two Unshipped orders of the getOrders sandbox answer, then the
 * Pending order of the getOrders example (no OrderTotal).
 */
export function officialOrders(): Json[] {
  return [
    ...(payloadOf('getOrders.response.sandbox-TEST_CASE_200.json').Orders as Json[]),
    ...(payloadOf('getOrders.response.example.json').Orders as Json[]),
  ];
}

/**
 * Items for the official orders: the sandbox items (one USD 10.00 item + 1.01 tax, which is
 * the sandbox orders' OrderTotal of 11.01) for the Unshipped ones, the getOrderItems example
 * (two JPY items) for the Pending one.
 */
export function officialItems(orders: Json[] = officialOrders()): Record<string, Json[]> {
  const sandbox = payloadOf('getOrderItems.response.sandbox-TEST_CASE_200.json').OrderItems as Json[];
  const example = payloadOf('getOrderItems.response.example.json').OrderItems as Json[];
  return Object.fromEntries(orders.map((order) => [order.AmazonOrderId as string, order.OrderStatus === 'Pending' ? example : sandbox]));
}

/** What Amazon really sends for a Pending order: no OrderTotal, no buyer, no address. */
export function withoutBuyerData(order: Json): Json {
  const rest = { ...order };
  for (const field of ['OrderTotal', 'BuyerInfo', 'ShippingAddress']) delete rest[field];
  return rest;
}

export interface SpApiServerOptions {
  /** orders `getOrders` can list (default: {@link officialOrders}) */
  orders?: Json[];
  /** items by AmazonOrderId (default: {@link officialItems}) */
  items?: Record<string, Json[]>;
  /** orders per `getOrders` page (default 100, Amazon's default MaxResultsPerPage) */
  pageSize?: number;
  /** items per `getOrderItems` page (default 100) */
  itemsPageSize?: number;
  /** the `x-amzn-RateLimit-Limit` header (default "20"); null sends none */
  rateLimit?: string | null;
  /** answer the very first request 429 with this `Retry-After` (null: none) */
  throttleFirstCall?: { retryAfter: string | null };
  /** strip OrderTotal, BuyerInfo and ShippingAddress from Pending orders, as Amazon does */
  redactPending?: boolean;
  /** filter by the LastUpdated window (default true); false lists every order every time */
  filterByTime?: boolean;
  /** whether an access token is good, asked at every request (default: it is {@link SP_API_TOKEN}) */
  acceptToken?: (token: string) => boolean;
}

export interface RecordedRequest {
  operation: SpApiOperation | 'unknown';
  path: string;
  query: Record<string, string>;
  token: string | undefined;
  status: number;
  /** performance.now() when it arrived */
  at: number;
}

/** A fault to inject: the next `times` matching requests get `status`. */
export interface Fault {
  status: number;
  operation?: SpApiOperation;
  times?: number;
  retryAfter?: string | null;
}

export interface SpApiServer {
  url: string;
  requests: RecordedRequest[];
  /** orders and items now served (edit freely between polls) */
  orders: Json[];
  items: Record<string, Json[]>;
  fail(fault: Fault): void;
  clearFaults(): void;
  /** forget every NextToken handed out, as if they had expired */
  expireTokens(): void;
  close(): Promise<void>;
}

interface PendingPage {
  kind: SpApiOperation;
  ids: string[];
  offset: number;
}

/** Starts the server on 127.0.0.1 at a free port. */
export async function startSpApiServer(options: SpApiServerOptions = {}): Promise<SpApiServer> {
  const pageSize = options.pageSize ?? 100;
  const itemsPageSize = options.itemsPageSize ?? 100;
  const rateLimit = options.rateLimit === undefined ? '20' : options.rateLimit;
  const acceptToken = options.acceptToken ?? ((token: string) => token === SP_API_TOKEN);
  const tokens = new Map<string, PendingPage>();
  const faults: { status: number; operation: SpApiOperation | undefined; times: number; retryAfter: string | null }[] = [];
  if (options.throttleFirstCall) faults.push({ status: 429, operation: undefined, times: 1, retryAfter: options.throttleFirstCall.retryAfter });

  const orders = options.orders ?? officialOrders();
  const state = {
    orders,
    items: options.items ?? officialItems(orders),
    requests: [] as RecordedRequest[],
  };

  function send(res: ServerResponse, record: RecordedRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    record.status = status;
    res.writeHead(status, {
      'content-type': 'application/json',
      'x-amzn-requestid': randomUUID(),
      ...(rateLimit === null ? {} : { 'x-amzn-ratelimit-limit': rateLimit }),
      ...headers,
    });
    res.end(JSON.stringify(body));
  }
  const error = (code: string, message: string) => ({ errors: [{ code, message, details: '' }] });

  function visibleOrders(query: Record<string, string>): Json[] {
    const marketplaces = (query.MarketplaceIds ?? '').split(',');
    const channels = query.FulfillmentChannels?.split(',');
    const after = query.LastUpdatedAfter ? Date.parse(query.LastUpdatedAfter) : Number.NEGATIVE_INFINITY;
    const before = query.LastUpdatedBefore ? Date.parse(query.LastUpdatedBefore) : Number.POSITIVE_INFINITY;
    return state.orders.filter((order) => {
      const updated = Date.parse(String(order.LastUpdateDate));
      return marketplaces.includes(String(order.MarketplaceId))
        && (!channels || channels.includes(String(order.FulfillmentChannel)))
        && (options.filterByTime === false || (updated >= after && updated <= before));
    });
  }

  function page(kind: SpApiOperation, ids: string[], offset: number, size: number): { ids: string[]; nextToken?: string } {
    const slice = ids.slice(offset, offset + size);
    if (offset + size >= ids.length) return { ids: slice };
    const nextToken = Buffer.from(randomUUID()).toString('base64url');
    tokens.set(nextToken, { kind, ids, offset: offset + size });
    return { ids: slice, nextToken };
  }

  function handleGetOrders(res: ServerResponse, record: RecordedRequest): void {
    const { query } = record;
    if (!query.MarketplaceIds) return send(res, record, 400, error('InvalidInput', 'Missing required MarketplaceIds'));
    let ids: string[];
    let offset = 0;
    if (query.NextToken !== undefined) {
      const pending = tokens.get(query.NextToken);
      if (!pending || pending.kind !== 'getOrders') return send(res, record, 400, error('InvalidInput', 'Invalid NextToken'));
      tokens.delete(query.NextToken);
      ({ ids, offset } = pending);
    } else {
      if (!query.LastUpdatedAfter && !query.CreatedAfter) {
        return send(res, record, 400, error('InvalidInput', 'Either CreatedAfter or LastUpdatedAfter must be specified'));
      }
      ids = visibleOrders(query).map((order) => String(order.AmazonOrderId));
    }
    const { ids: pageIds, nextToken } = page('getOrders', ids, offset, pageSize);
    const listed = pageIds
      .map((id) => state.orders.find((order) => order.AmazonOrderId === id))
      .filter((order) => order !== undefined)
      .map((order) => (options.redactPending && order.OrderStatus === 'Pending' ? withoutBuyerData(order) : order));
    send(res, record, 200, {
      payload: { Orders: listed, ...(nextToken ? { NextToken: nextToken } : {}), ...(query.LastUpdatedBefore ? { LastUpdatedBefore: query.LastUpdatedBefore } : {}) },
    });
  }

  function handleGetOrderItems(res: ServerResponse, record: RecordedRequest, orderId: string): void {
    const all = state.items[orderId];
    if (!all) return send(res, record, 404, error('NotFound', `Order ${orderId} not found`));
    let offset = 0;
    if (record.query.NextToken !== undefined) {
      const pending = tokens.get(record.query.NextToken);
      if (!pending || pending.kind !== 'getOrderItems') return send(res, record, 400, error('InvalidInput', 'Invalid NextToken'));
      tokens.delete(record.query.NextToken);
      offset = pending.offset;
    }
    const indexes = all.map((_, i) => String(i));
    const { ids, nextToken } = page('getOrderItems', indexes, offset, itemsPageSize);
    send(res, record, 200, {
      payload: { AmazonOrderId: orderId, OrderItems: ids.map((i) => all[Number(i)]), ...(nextToken ? { NextToken: nextToken } : {}) },
    });
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const itemsMatch = /^\/orders\/v0\/orders\/([^/]+)\/orderItems$/.exec(url.pathname);
    const operation: RecordedRequest['operation'] = url.pathname === '/orders/v0/orders' ? 'getOrders' : itemsMatch ? 'getOrderItems' : 'unknown';
    const token = req.headers['x-amz-access-token'];
    const record: RecordedRequest = {
      operation, path: url.pathname, query: Object.fromEntries(url.searchParams), token: Array.isArray(token) ? token[0] : token, status: 0, at: performance.now(),
    };
    state.requests.push(record);

    if (req.method !== 'GET' || operation === 'unknown') return send(res, record, 404, error('NotFound', 'Resource not found'));
    if (record.token === undefined) return send(res, record, 401, error('Unauthorized', 'Access to requested resource is denied.'));
    if (!acceptToken(record.token)) return send(res, record, 403, error('Unauthorized', 'The access token you provided is revoked, malformed or invalid.'));
    const fault = faults.find((f) => f.times > 0 && (f.operation === undefined || f.operation === operation));
    if (fault) {
      fault.times -= 1;
      if (fault.status === 429) {
        return send(res, record, 429, error('QuotaExceeded', 'You exceeded your quota for the requested resource.'),
          fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter });
      }
      if (fault.status === 401 || fault.status === 403) return send(res, record, fault.status, error('Unauthorized', 'Access to requested resource is denied.'));
      return send(res, record, fault.status, error('InternalFailure', 'We encountered an internal error. Please try again.'));
    }
    if (operation === 'getOrders') return handleGetOrders(res, record);
    return handleGetOrderItems(res, record, decodeURIComponent(itemsMatch?.[1] ?? ''));
  }

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    get requests() {
      return state.requests;
    },
    get orders() {
      return state.orders;
    },
    set orders(value: Json[]) {
      state.orders = value;
    },
    get items() {
      return state.items;
    },
    set items(value: Record<string, Json[]>) {
      state.items = value;
    },
    fail(fault) {
      faults.push({ status: fault.status, operation: fault.operation, times: fault.times ?? 1, retryAfter: fault.retryAfter ?? null });
    },
    clearFaults() {
      faults.length = 0;
    },
    expireTokens() {
      tokens.clear();
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
