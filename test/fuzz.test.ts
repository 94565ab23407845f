import { execFileSync } from 'node:child_process';
import { createPrivateKey, generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../core/config/api-keys.ts';
import { loadConfig, parseConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import type { HubConfig } from '../schemas/config.ts';
import { eventually, quietLogger, removeNamespace, shopifySecret, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import {
  FamilyTally, adyenItemSignature, alipayForm, base64Hmac, contentTypes, escapedErrors, fuzzParameters, fuzzRuns, headerValue, hexHmac, hostileBody, hostileJsonText,
  hostileString, hubSignature, orderFingerprint, pathSegment, paypalHeaders, queryString, randomHeaders, stripeSignature,
} from './support/fuzz.ts';

/*
 * Every route the hub serves, under generated input: bodies of any shape and encoding,
 * headers, query strings and path segments. For every case: never a 5xx, every 4xx a
 * problem+json (the status page's HTML forms excepted, by design), nothing escapes to the
 * process, and — compared per family against a hub seeded with real orders — not one row of
 * an order, its lines, payments, stock, reservations, shipments, refunds or returns changes.
 *
 * The fuzzed hub runs the API role only: what a webhook accepts is committed with its
 * outbox message and stops there, so an accidentally valid delivery cannot change an order
 * either; what the API does synchronously is what is under test. Writes that could be valid
 * by accident are kept away from real records (see `apiWrites`).
 *
 * `FUZZ_RUNS` sets the cases per family (200 here, 10,000 in `npm run fuzz`); a failure
 * prints fast-check's seed and path: `FUZZ_SEED=… FUZZ_PATH=… npx vitest run test/fuzz.test.ts`.
 */

const secrets = {
  WOOCOMMERCE_WEBHOOK_SECRET: 'wc-secret', WEBSITE_WEBHOOK_SECRET: 'web-secret', APP_WEBHOOK_SECRET: 'app-secret',
  STRIPE_WEBHOOK_SECRET: 'whsec_fuzz', ADYEN_HMAC_KEY: '3B6A0F3C1E9D4A7B8C2D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819A2B', PAYPAL_WEBHOOK_ID: '8PT597110X687430LKGECATA',
  EASYPOST_WEBHOOK_SECRET: 'ｅａｓｙ-secret', AFTERSHIP_WEBHOOK_SECRET: 'aftership-secret', WAREHOUSE_WEBHOOK_SECRET: 'wms-secret',
};
const viewer = newApiKey('fuzz-viewer', 'viewer');
const namespace = testNamespace('fuzz');
const fixture = (path: string) => readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8');
const example = (name: string) => readFileSync(new URL(`../docs/examples/${name}`, import.meta.url), 'utf8');

let hub: Hub;
let config: HubConfig;
let env: ReturnType<typeof testEnv>;
let workDir: string;
let paypalKey: KeyObject;
let alipayKey: KeyObject;
const escaped = escapedErrors();
/** Ids of the seeded records, for cases aimed at real rows. */
const real = { orderIds: [] as string[], orderNumbers: [] as string[], externalIds: [] as string[], exceptionIds: [] as string[], rawIds: [] as string[] };

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'hub-fuzz-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(workDir, 'k.pem'), '-out', join(workDir, 'c.pem'), '-days', '2', '-subj', '/CN=paypal-fuzz'], { stdio: 'ignore' });
  paypalKey = createPrivateKey(readFileSync(join(workDir, 'k.pem')));
  const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
  alipayKey = alipay.privateKey;
  env = testEnv(namespace, {
    ...secrets,
    PAYPAL_CERT_PEM: readFileSync(join(workDir, 'c.pem'), 'utf8'),
    ALIPAY_PUBLIC_KEY_PEM: alipay.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  });
  const demo = { ...loadConfig(defaultConfigPath), apiKeys: [viewer.entry] };
  // Rate limits far above the run, so every case reaches its handler (a 429 would be a fine
  // answer, but it would stop the fuzz at the door).
  const generous = { windowSeconds: 1, perKey: 1e9, perIp: 1e9, failedAuthPerIp: 1e9, loginPerIp: 1e9 };
  config = parseConfig({ ...demo, rateLimits: generous }, 'fuzz config');

  hub = await startHub(env, { roles: ['api'], port: 0, logger: quietLogger(), config });
  // Real orders to aim at and to fingerprint: made by a worker that stops before the fuzz.
  const worker = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
  try {
    const skus = ['SKU2006-001', 'TSHIRT-BLK-M', 'NOT-A-SKU'];
    for (const [i, sku] of skus.entries()) {
      const order = anOrder({ channel: 'website', externalId: `W-FUZZ-${i}`, lines: [orderLine(sku, 1 + i)], shippingAddress: shippingAddress('US', 'NY', { postalCode: '10001' }) });
      expect((await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `seed-${i}`)).status).toBe(200);
    }
    await eventually(async () => {
      const { rows } = await hub.db.query<{ n: number }>("SELECT count(*)::int AS n FROM orders WHERE status <> 'received'");
      return rows[0]!.n === skus.length ? true : undefined;
    }, 30_000, 'the seeded orders');
    await settled(worker);
  } finally {
    await worker.stop();
  }
  const ids = async (sql: string) => (await hub.db.query<{ v: string }>(sql)).rows.map((r) => String(r.v));
  real.orderIds = await ids('SELECT id::text AS v FROM orders');
  real.orderNumbers = await ids('SELECT order_number AS v FROM orders');
  real.externalIds = await ids('SELECT external_id AS v FROM orders');
  real.exceptionIds = await ids('SELECT id::text AS v FROM exceptions');
  real.rawIds = await ids('SELECT id::text AS v FROM raw_inbound');
}, 120_000);

afterAll(async () => {
  escaped.stop();
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

// ── Requests, and the properties every answer must have ────────────────────────────────

interface Case {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Uint8Array;
}

const typeHeader = (type: string | undefined): Record<string, string> => (type === undefined ? {} : { 'content-type': type });

/** Drops undefined header values (no header at all) and returns the request's init. */
function init(c: Case): RequestInit {
  const headers = Object.fromEntries(Object.entries(c.headers).filter(([, v]) => v !== undefined));
  return { method: c.method, headers, ...(c.body && !['GET', 'HEAD'].includes(c.method) ? { body: c.body } : {}) };
}

/** One case: the answer is no 5xx, and a 4xx says why the way clients parse it. */
async function exercise(tally: FamilyTally, c: Case, errorType: 'problem' | 'html' = 'problem'): Promise<void> {
  const response = await hub.app.request(c.path, init(c));
  tally.count(response.status);
  const what = `${c.method} ${c.path.slice(0, 200)} → ${response.status}`;
  await response.arrayBuffer();
  expect(response.status, what).toBeLessThan(500);
  if (response.status >= 400) {
    const type = response.headers.get('content-type') ?? '';
    if (errorType === 'problem') expect(type, what).toBe('application/problem+json');
    else expect(type, what).toMatch(/^text\/html/);
  }
}

interface Family {
  name: string;
  /** whether a route of the app (method and Hono path) is fuzzed by this family */
  covers(method: string, path: string): boolean;
  /** the generated requests; built once the app's routes and the seeded ids are known */
  cases(): fc.Arbitrary<Case>;
  /** how a 4xx of this case says why (problem+json unless the family says otherwise) */
  errorType?(c: Case): 'problem' | 'html';
  /** per-case work before the request (a fresh UI session) */
  prepare?(c: Case): Promise<Case>;
}

const catalogue = () => {
  const seen = new Map<string, { method: string; path: string }>();
  for (const r of hub.app.routes) seen.set(`${r.method} ${r.path}`, { method: r.method, path: r.path });
  return [...seen.values()];
};
const fill = (path: string, params: Record<string, string>) => path.replace(/:([A-Za-z]+)/g, (_m, name: string) => params[name] ?? 'x');
const paramsOf = (path: string) => [...path.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1]!);
const oneOf = <T>(values: readonly T[]) => fc.constantFrom(...values);
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 3 });
const eventId = fc.oneof(fc.uuid(), headerValue);
/** Signed four times in five: most cases reach the parsers, some test the refusal. */
const mostly = fc.oneof({ arbitrary: fc.constant(true), weight: 4 }, { arbitrary: fc.constant(false), weight: 1 });

// ── Webhooks: every body signed correctly for its route, so it reaches the parsers ───

const orderSamples = () => [fixture('shopify/orders-create.sample.json'), fixture('woocommerce/order-created.sample.json'), example('website-order.json'), example('app-order.json')];
const ownSigners: Record<string, string> = { website: secrets.WEBSITE_WEBHOOK_SECRET, app: secrets.APP_WEBHOOK_SECRET };

const orderWebhooks: Family = {
  name: 'order-channel webhooks',
  covers: (_m, p) => p === '/webhooks/orders/:source',
  cases: () => fc.record({
    source: fc.oneof({ arbitrary: oneOf(['shopify', 'woocommerce', 'website', 'app']), weight: 8 }, { arbitrary: fc.oneof(oneOf(['amazon', 'nope', 'SHOPIFY']), pathSegment), weight: 1 }),
    body: hostileBody(orderSamples()),
    topic: fc.oneof(oneOf(['orders/create', 'orders/updated', 'orders/paid', 'orders/cancelled', 'order.created', 'order.updated', 'order.cancelled', 'order.restored', 'products/update', '', 'constructor', '__proto__']), headerValue),
    signed: mostly,
    type: contentTypes, id: eventId, extra: randomHeaders,
  }).map(({ source, body, topic, signed, type, id, extra }) => {
    const signature: Record<string, string> = !signed ? {} : source === 'shopify' ? { 'x-shopify-hmac-sha256': base64Hmac(shopifySecret, body) }
      : source === 'woocommerce' ? { 'x-wc-webhook-signature': base64Hmac(secrets.WOOCOMMERCE_WEBHOOK_SECRET, body) }
        : Object.hasOwn(ownSigners, source) ? { 'x-hub-signature': hubSignature(ownSigners[source]!, body) } : {};
    return {
      method: 'POST', path: `/webhooks/orders/${source}`, body,
      headers: { ...extra, ...signature, 'x-shopify-topic': topic, 'x-wc-webhook-topic': topic, 'x-hub-topic': topic, 'x-shopify-event-id': id, 'x-hub-event-id': id, ...typeHeader(type) },
    };
  }),
};

const stripeSample = JSON.stringify({
  id: 'evt_fuzz', object: 'event', api_version: '2024-06-20', created: 1767225600, type: 'payment_intent.succeeded', livemode: false,
  data: { object: { id: 'pi_fuzz', object: 'payment_intent', amount: 2599, amount_received: 2599, currency: 'usd', status: 'succeeded', latest_charge: 'ch_fuzz', metadata: { order_id: 'no-such-order', order_number: 'HUB-NOPE' } } },
});
const adyenItem = fc.record({
  pspReference: fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.constant(null)),
  originalReference: optional(fc.string({ maxLength: 20 })),
  merchantAccountCode: fc.oneof(fc.constant('OrderHubEU'), fc.string({ maxLength: 10 })),
  merchantReference: fc.oneof(fc.constant('no-such-order'), hostileString),
  amount: fc.oneof(
    fc.record({ value: fc.oneof(fc.integer(), fc.double(), fc.string({ maxLength: 10 }), fc.constant(null)), currency: fc.oneof(oneOf(['EUR', 'USD', 'JPY', 'KWD', 'eur', '']), fc.string({ maxLength: 5 })) }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
  eventCode: fc.oneof(oneOf(['AUTHORISATION', 'CAPTURE', 'REFUND', 'CANCELLATION', 'CHARGEBACK', 'NOTIFICATIONOFCHARGEBACK', 'REPORT_AVAILABLE']), fc.string({ maxLength: 12 })),
  success: fc.oneof(oneOf(['true', 'false', 'TRUE', '']), fc.boolean()),
  eventDate: optional(fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 25 }))),
  additionalData: optional(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })),
}, { requiredKeys: ['pspReference', 'merchantAccountCode', 'merchantReference', 'amount', 'eventCode', 'success'] });
const alipaySample = JSON.parse(fixture('alipay/trade_status_sync.notify.json')) as Record<string, string>;
const alipayFields = fc.tuple(fc.nat(), fc.oneof(hostileString, hostileJsonText), fc.boolean(), fc.array(fc.tuple(fc.oneof(oneOf(['__proto__', 'constructor', 'charset', 'out_trade_no']), fc.string({ maxLength: 8 })), fc.string({ maxLength: 20 })), { maxLength: 2 }))
  .map(([at, value, drop, extra]): [string, string][] => {
    const fields = Object.entries({ ...alipaySample, out_trade_no: 'no-such-order' }).filter(([k]) => k !== 'sign' && k !== 'sign_type');
    const index = at % fields.length;
    if (drop) fields.splice(index, 1);
    else fields[index] = [fields[index]![0], value];
    return [...fields, ...extra];
  });

const paymentWebhooks: Family = {
  name: 'payment webhooks',
  covers: (_m, p) => p === '/webhooks/payments/:provider',
  cases: (): fc.Arbitrary<Case> => fc.oneof<fc.Arbitrary<Case>[]>(
    fc.record({ body: hostileBody([stripeSample, fixture('stripe/event.openapi-fixture.json')]), signed: mostly, type: contentTypes }).map(({ body, signed, type }) => ({
      method: 'POST', path: '/webhooks/payments/stripe', body, headers: { ...(signed ? { 'stripe-signature': stripeSignature(secrets.STRIPE_WEBHOOK_SECRET, body) } : {}), ...typeHeader(type) },
    })),
    fc.record({ body: hostileBody([fixture('paypal/PAYMENT.CAPTURE.COMPLETED.json'), fixture('paypal/PAYMENT.CAPTURE.REFUNDED.json')]), id: fc.oneof(fc.uuid(), headerValue.filter((v) => v !== '')), type: contentTypes }).map(({ body, id, type }) => ({
      method: 'POST', path: '/webhooks/payments/paypal', body, headers: { ...paypalHeaders(body, secrets.PAYPAL_WEBHOOK_ID, paypalKey, id), ...typeHeader(type) },
    })),
    fc.record({ items: fc.array(adyenItem, { minLength: 1, maxLength: 3 }), live: fc.jsonValue({ maxDepth: 1 }), signed: mostly }).map(({ items, live, signed }) => {
      const wrapped = items.map((item) => ({ NotificationRequestItem: { ...item, additionalData: { ...(item.additionalData ?? {}), hmacSignature: signed ? adyenItemSignature(item, secrets.ADYEN_HMAC_KEY) : 'bad' } } }));
      return { method: 'POST', path: '/webhooks/payments/adyen', body: new TextEncoder().encode(JSON.stringify({ live, notificationItems: wrapped })), headers: { 'content-type': 'application/json' } };
    }),
    fc.record({ fields: alipayFields, type: contentTypes }).map(({ fields, type }) => ({
      method: 'POST', path: '/webhooks/payments/alipay', body: alipayForm(fields, alipayKey), headers: typeHeader(type),
    })),
    fc.record({ provider: fc.oneof(oneOf(['stripe', 'adyen', 'paypal', 'alipay', 'klarna']), pathSegment), body: hostileBody(), headers: fc.dictionary(oneOf(['stripe-signature', 'paypal-transmission-sig', 'paypal-transmission-id', 'paypal-transmission-time', 'paypal-auth-algo', 'content-type']), headerValue, { maxKeys: 4 }) })
      .map(({ provider, body, headers }) => ({ method: 'POST', path: `/webhooks/payments/${provider}`, body, headers })),
  ),
};

const carrierWebhooks: Family = {
  name: 'carrier webhooks',
  covers: (_m, p) => p === '/webhooks/carriers/:carrier',
  cases: (): fc.Arbitrary<Case> => fc.oneof<fc.Arbitrary<Case>[]>(
    fc.record({ body: hostileBody([fixture('easypost/tracker.updated.event.json')]), signed: mostly, type: contentTypes }).map(({ body, signed, type }) => ({
      method: 'POST', path: '/webhooks/carriers/easypost', body,
      headers: { ...(signed ? { 'x-hmac-signature': `hmac-sha256-hex=${hexHmac(secrets.EASYPOST_WEBHOOK_SECRET.normalize('NFKD'), body)}` } : {}), ...typeHeader(type) },
    })),
    fc.record({ body: hostileBody([fixture('aftership/tracking_update.json')]), signed: mostly, type: contentTypes }).map(({ body, signed, type }) => ({
      method: 'POST', path: '/webhooks/carriers/aftership', body,
      headers: { ...(signed ? { 'aftership-hmac-sha256': base64Hmac(secrets.AFTERSHIP_WEBHOOK_SECRET, body) } : {}), ...typeHeader(type) },
    })),
    fc.record({ carrier: fc.oneof(oneOf(['easypost', 'aftership', 'ups']), pathSegment), body: hostileBody(), headers: fc.dictionary(oneOf(['x-hmac-signature', 'aftership-hmac-sha256', 'content-type']), headerValue, { maxKeys: 3 }) })
      .map(({ carrier, body, headers }) => ({ method: 'POST', path: `/webhooks/carriers/${carrier}`, body, headers })),
  ),
};

const cloudEventSamples = [
  JSON.stringify({ specversion: '1.0', id: 'wms-fuzz-1', source: '/wms/us-east', type: 'fulfillment.shipped', time: '2026-01-01T00:00:00Z', datacontenttype: 'application/json', data: { warehouse: 'us-east', orderId: '00000000-0000-4000-8000-000000000000', shipmentId: '00000000-0000-4000-8000-000000000000:us-east', carrier: 'ups', trackingNumber: '1Z', lines: [{ sku: 'SKU2006-001', quantity: 1 }] } }),
  JSON.stringify({ specversion: '1.0', id: 'wms-fuzz-2', source: '/wms/us-east', type: 'inventory.adjusted', time: '2026-01-01T00:00:00Z', data: { warehouse: 'us-east', sku: 'NO-SUCH-SKU', delta: 5, reason: 'count' } }),
  JSON.stringify({ specversion: '1.0', id: 'wms-fuzz-3', source: '/wms/us-east', type: 'return.received', time: '2026-01-01T00:00:00Z', data: { warehouse: 'us-east', rmaId: 'NOPE-R1', lines: [{ sku: 'SKU2006-001', quantity: 1, resellable: true }] } }),
];
const warehouseWebhooks: Family = {
  name: 'warehouse webhooks',
  covers: (_m, p) => p === '/webhooks/warehouses/:code',
  cases: () => fc.record({
    code: fc.oneof({ arbitrary: oneOf(['us-east', 'us-west', 'eu-central']), weight: 8 }, { arbitrary: pathSegment, weight: 1 }),
    body: hostileBody(cloudEventSamples), signed: mostly, type: fc.oneof(contentTypes, fc.constant('application/cloudevents+json')),
    ceId: optional(eventId), ceType: optional(fc.oneof(oneOf(['fulfillment.shipped', 'inventory.snapshot', '__proto__']), headerValue)),
  }).map(({ code, body, signed, type, ceId, ceType }) => ({
    method: 'POST', path: `/webhooks/warehouses/${code}`, body,
    headers: {
      ...(signed ? { 'x-hub-signature': hubSignature(secrets.WAREHOUSE_WEBHOOK_SECRET, body) } : {}),
      ...typeHeader(type), ...(ceId === undefined ? {} : { 'ce-id': ceId }), ...(ceType === undefined ? {} : { 'ce-type': ceType }),
    },
  })),
};

// Calls for orders that do not exist; a real order is only named in a call whose type is not
// one the hub takes (a valid call could legitimately complete or return a real order).
const customerSamples = [
  JSON.stringify({ type: 'receipt.confirmed', externalId: 'W-NO-SUCH-ORDER' }),
  JSON.stringify({ type: 'feedback.given', externalId: 'W-NO-SUCH-ORDER', rating: 5, comment: 'fine' }),
  JSON.stringify({ type: 'return.requested', externalId: 'W-NO-SUCH-ORDER', kind: 'refund', reason: 'damaged', lines: [{ sku: 'SKU2006-001', quantity: 1 }] }),
];
const customerWebhooks: Family = {
  name: 'customer webhooks',
  covers: (_m, p) => p === '/webhooks/customers/:source',
  cases: () => fc.record({
    source: fc.oneof({ arbitrary: oneOf(['website', 'app']), weight: 8 }, { arbitrary: fc.oneof(oneOf(['shopify', 'amazon']), pathSegment), weight: 1 }),
    body: fc.oneof(
      { arbitrary: hostileBody(customerSamples), weight: 4 },
      { arbitrary: fc.tuple(oneOf(real.externalIds), hostileJsonText).map(([externalId, type]) => new TextEncoder().encode(`{"externalId":${JSON.stringify(externalId)},"type":${type},"rating":5}`)), weight: 1 },
    ),
    signed: mostly, type: contentTypes, id: optional(eventId),
  }).map(({ source, body, signed, type, id }) => {
    const secret = Object.hasOwn(ownSigners, source) ? ownSigners[source] : undefined;
    return {
      method: 'POST', path: `/webhooks/customers/${source}`, body,
      headers: {
        ...(secret && (signed) ? { 'x-hub-signature': hubSignature(secret, body) } : {}),
        ...typeHeader(type), ...(id === undefined ? {} : { 'x-hub-event-id': id }),
      },
    };
  }),
};

// ── The operator API: routes read from the app, an admin token mostly ──────────────────

// Tokens are known only once the hub runs: placeholders, swapped in per case.
const authorization = fc.oneof(
  { arbitrary: fc.constant('ADMIN'), weight: 16 },
  { arbitrary: fc.constant('VIEWER'), weight: 2 },
  { arbitrary: fc.constant(undefined), weight: 1 },
  { arbitrary: headerValue, weight: 1 },
).map((v) => (v === 'ADMIN' ? `Bearer ${env.adminToken}` : v === 'VIEWER' ? `Bearer ${viewer.token}` : v));

/** A value for a path parameter: garbage, or (for reads, and for writes with invalid bodies only) a real id. */
function paramValue(name: string, realToo: boolean): fc.Arbitrary<string> {
  const realValues: Record<string, () => string[]> = {
    id: () => [...real.orderIds, ...real.orderNumbers, ...real.exceptionIds, ...real.rawIds],
    warehouse: () => ['us-east', 'us-west', 'eu-central'], sku: () => ['SKU2006-001', 'TSHIRT-BLK-M'], provider: () => ['stripe', 'adyen'],
    name: () => ['daily-report', 'low-stock'], email: () => ['ada@example.com'],
  };
  const known = realValues[name]?.() ?? [];
  return realToo && known.length > 0 ? fc.oneof(oneOf(known), pathSegment) : pathSegment;
}

const apiReads: Family = {
  name: '/api reads',
  covers: (m, p) => p.startsWith('/api/') && (m === 'GET' || m === 'ALL'),
  cases: () => {
    const routes = catalogue().filter((r) => r.method === 'GET' && r.path.startsWith('/api/'));
    return oneOf(routes).chain((route) => fc.record({
      params: fc.record(Object.fromEntries(paramsOf(route.path).map((name) => [name, paramValue(name, true)]))),
      query: queryString(['status', 'channel', 'externalId', 'sku', 'warehouse', 'source', 'q', 'type', 'owner', 'assignee', 'overdue', 'orderId', 'queue', 'fresh']),
      method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 9 }, { arbitrary: oneOf(['HEAD', 'OPTIONS']), weight: 1 }),
      auth: authorization, extra: randomHeaders,
    }).map(({ params, query, method, auth, extra }) => ({
      method, path: `${fill(route.path, params as Record<string, string>)}${query}`, headers: { ...extra, ...(auth === undefined ? {} : { authorization: auth }) },
    })));
  },
};

/** Bodies shaped like what each write takes, to get past the first checks. Used on ids that do not exist only. */
const writeSamples: Record<string, string[]> = {
  '/api/orders/:id/shortage-remedy': ['{"choice":"wait"}'],
  '/api/orders/:id/payments': ['{"amount":1000,"currency":"USD","method":"bank_transfer","reference":"fuzz"}'],
  '/api/customers/:email/preferences': ['{"channels":["email","sms"],"locale":"en","quietHours":{"start":"22:00","end":"07:00","timeZone":"Europe/Berlin"}}'],
  '/api/orders/:id/allocation': ['{"warehouse":"us-east","carrier":"ups","serviceLevel":"ground","reason":"fuzz"}'],
  '/api/products/:sku': ['{"name":"Fuzz","category":"apparel","weightGrams":100}'],
  '/api/inventory/:warehouse/:sku': ['{"onHand":5}'],
  '/api/orders/:id/feedback': ['{"rating":5,"comment":"x"}'],
  '/api/orders/:id/returns': ['{"kind":"refund","reason":"damaged","lines":[{"sku":"SKU2006-001","quantity":1}]}'],
  '/api/returns/:id/label': ['{"carrier":"ups","trackingCode":"1Z","labelUrl":"https://example.com/l.pdf"}'],
  '/api/exceptions/:id/assign': ['{"assignee":"fuzz"}'],
  '/api/exceptions/:id/comment': ['{"text":"fuzz"}'],
  '/api/exceptions/:id/resolve': ['{"action":{"type":"acknowledge"},"note":"fuzz"}', '{"action":{"type":"mark_paid","amount":100,"currency":"USD","method":"cash_on_delivery","reference":"r"}}'],
  '/api/dead-letters/replay': ['{"ids":["1","2"]}', '{"queue":"x.stage.validate","status":"parked"}'],
  '/api/dead-letters/:id/discard': ['{"reason":"fuzz"}'],
};
const csvSamples = ['stripe-balance-transactions.csv', 'stripe-balance-change-itemized.csv', 'adyen-settlement-details.csv'].map((f) => fixture(`settlements/${f}`));
const csvBody = fc.tuple(oneOf(csvSamples), fc.nat(), fc.oneof(hostileString, fc.constantFrom(',', '"', '\n', '\r\n', '""', ',,,,', '1e308', '-0', '9'.repeat(40))), fc.nat({ max: 40 }))
  .map(([csv, at, insert, cut]) => {
    const i = at % csv.length;
    return new TextEncoder().encode(csv.slice(0, i) + insert + csv.slice(i + cut));
  });

/*
 * Writes. A write that is valid by accident on a real record may legitimately change it,
 * so: on ids that do not exist (generated segments), bodies shaped like the real thing and
 * mutated; on real ids (seeded orders, exceptions, deliveries; real warehouse AND real SKU
 * together), only bodies that cannot be a valid request (hostile values, never a mutated
 * sample). Real job names are never run (a job acts on every order), and the settlement
 * import compares with the ledger without writing to it, so any CSV goes.
 */
const apiWrites: Family = {
  name: '/api writes',
  covers: (m, p) => p.startsWith('/api/') && m !== 'GET',
  cases: () => {
    const routes = catalogue().filter((r) => r.method !== 'GET' && r.method !== 'ALL' && r.path.startsWith('/api/'));
    const realSet = new Set([...real.orderIds, ...real.orderNumbers, ...real.exceptionIds, ...real.rawIds, 'us-east', 'us-west', 'eu-central', 'SKU2006-001', 'TSHIRT-BLK-M']);
    const jobNames = new Set(hub.jobs.map((j) => j.name));
    return oneOf(routes).chain((route) => fc.record({
      params: fc.record(Object.fromEntries(paramsOf(route.path).map((name) => [name, paramValue(name, true).filter((v) => !(name === 'name' && jobNames.has(v)))]))),
      query: fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: queryString(['dryRun', 'force']), weight: 1 }),
      shaped: route.path.startsWith('/api/settlements/') ? csvBody : hostileBody(writeSamples[route.path] ?? []),
      hostile: hostileBody(),
      method: fc.oneof({ arbitrary: fc.constant(route.method), weight: 9 }, { arbitrary: oneOf(['PATCH', 'DELETE', 'PUT', 'POST']), weight: 1 }),
      type: fc.oneof({ arbitrary: fc.constant('application/json'), weight: 3 }, { arbitrary: contentTypes, weight: 1 }),
      auth: authorization, extra: randomHeaders,
    }).map(({ params, query, shaped, hostile, method, type, auth, extra }) => {
      const values = Object.values(params as Record<string, string>);
      const realRecord = values.length > 0 && values.every((v) => realSet.has(v)) || (values.some((v) => realSet.has(v)) && !route.path.startsWith('/api/inventory/'));
      return {
        method, path: `${fill(route.path, params)}${query}`,
        body: realRecord && !route.path.startsWith('/api/settlements/') ? hostile : shaped,
        headers: { ...extra, ...(auth === undefined ? {} : { authorization: auth }), ...typeHeader(type) },
      };
    }));
  },
};

// ── The status page (HTML forms, HTML errors by design), metrics, health, documents ────

let csrfCache: { cookie: string; csrf: string } | undefined;
/** A logged-in session and its CSRF token, as a browser holds them. */
async function uiSession(): Promise<{ cookie: string; csrf: string }> {
  if (csrfCache) return csrfCache;
  const login = await hub.app.request('/login', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(env.adminToken!)}` });
  const cookie = /hub_session=[^;]+/.exec(login.headers.get('set-cookie') ?? '')?.[0] ?? '';
  const page = await (await hub.app.request('/', { headers: { cookie } })).text();
  csrfCache = { cookie, csrf: /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '' };
  return csrfCache;
}

const statusPage: Family = {
  name: 'status page and its forms',
  covers: (_m, p) => p === '/' || p === '/login' || p === '/logout' || p.startsWith('/ui/'),
  // The page's own routes answer a browser, so their refusals are HTML pages (README, Status
  // page); a method the page does not serve is the app's 404, a problem like any other.
  errorType: (c) => {
    const path = new URL(c.path, 'http://hub.test').pathname;
    return ['GET /', 'POST /login', 'POST /logout'].includes(`${c.method} ${path}`) || (c.method === 'POST' && /^\/ui\/exceptions\/[^/]+\/resolve$/.test(path)) ? 'html' : 'problem';
  },
  cases: () => fc.record({
    target: oneOf(['GET /', 'POST /login', 'POST /logout', 'POST /ui/exceptions/:id/resolve', 'PUT /login', 'DELETE /']),
    id: fc.oneof(oneOf(real.exceptionIds.length ? real.exceptionIds : ['1']), pathSegment),
    session: oneOf(['valid', 'garbage', 'none']), csrf: oneOf(['valid', 'garbage', 'none']),
    fields: fc.array(fc.tuple(fc.oneof(oneOf(['token', 'note', 'csrf', '__proto__', 'token[]']), fc.string({ maxLength: 8 })), fc.oneof(hostileString, fc.constant('ADMIN'))), { maxLength: 4 }),
    type: fc.oneof({ arbitrary: fc.constant('application/x-www-form-urlencoded'), weight: 3 }, { arbitrary: contentTypes, weight: 1 }),
    rawBody: fc.option(hostileBody(), { freq: 4 }), cookieJunk: headerValue, query: queryString(['refresh']),
    site: optional(oneOf(['same-origin', 'cross-site', 'none', 'same-site', ''])), origin: optional(fc.oneof(oneOf(['null', 'http://localhost', 'https://evil.example', 'not a url']), headerValue)),
  }).map((g) => {
    const [method, path] = g.target.split(' ') as [string, string];
    // A logged-in form with its token is a real operator's click: it would acknowledge a real
    // exception (and move its order on), so such forms name exceptions that do not exist.
    const id = g.session === 'valid' && g.csrf === 'valid' && real.exceptionIds.includes(g.id) ? '999999999999999999' : g.id;
    const fields: [string, string][] = g.fields.map(([k, v]) => [k, v === 'ADMIN' ? (env.adminToken ?? '') : v]);
    const body = g.rawBody ?? new TextEncoder().encode(new URLSearchParams(fields).toString());
    return {
      method, path: `${fill(path, { id })}${g.query}`, body,
      headers: {
        ...(g.type === undefined ? {} : { 'content-type': g.type }), ...(g.site === undefined ? {} : { 'sec-fetch-site': g.site }), ...(g.origin === undefined ? {} : { origin: g.origin }),
        ...(g.session === 'garbage' ? { cookie: `hub_session=${encodeURIComponent(g.cookieJunk)}` } : {}),
        'x-fuzz-session': g.session, 'x-fuzz-csrf': g.csrf,
      },
    };
  }),
  async prepare(c) {
    const { 'x-fuzz-session': session, 'x-fuzz-csrf': csrf, ...headers } = c.headers;
    if (session !== 'valid') return { ...c, headers };
    const ui = await uiSession();
    let body = c.body;
    if (csrf !== 'none' && body) {
      const text = new TextDecoder().decode(body);
      body = new TextEncoder().encode(`${text}${text ? '&' : ''}csrf=${csrf === 'valid' ? encodeURIComponent(ui.csrf) : 'x'}`);
    }
    return { ...c, body, headers: { ...headers, cookie: ui.cookie } };
  },
};

/** GET (and every other method, which must be a 404) with any query and headers. */
const plainGet = (name: string, paths: string[]): Family => ({
  name,
  covers: (_m, p) => paths.includes(p),
  cases: () => fc.record({
    path: oneOf(paths), query: queryString(['format', 'name']), extra: randomHeaders,
    method: fc.oneof({ arbitrary: fc.constant('GET'), weight: 8 }, { arbitrary: oneOf(['HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']), weight: 2 }),
    body: hostileBody(), auth: optional(authorization),
  }).map(({ path, query, extra, method, body, auth }) => ({ method, path: `${path}${query}`, body, headers: { ...extra, ...(auth === undefined ? {} : { authorization: auth }) } })),
});

const families: Family[] = [
  orderWebhooks, paymentWebhooks, carrierWebhooks, warehouseWebhooks, customerWebhooks, apiReads, apiWrites, statusPage,
  plainGet('/metrics', ['/metrics']), plainGet('/health', ['/health', '/ready']), plainGet('/asyncapi.json', ['/asyncapi.json']), plainGet('openapi', ['/openapi.json']),
];

// ── The runs ────────────────────────────────────────────────────────────────────────────

/**
 * Runs a property and, on failure, throws a short error: the seed and path to replay it and
 * what went wrong (fast-check's own report would print every byte of a 20,000-level body).
 */
async function checkProperty<T>(property: fc.IAsyncPropertyWithHooks<T>, parameters: fc.Parameters<T>): Promise<void> {
  const details = await fc.check(property, parameters);
  if (!details.failed) return;
  const error = details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
  throw new Error(`failed after ${details.numRuns} cases; replay with FUZZ_SEED=${details.seed} FUZZ_PATH=${details.counterexamplePath ?? ''}\n${error.slice(0, 3000)}`);
}

// Each case is at most a few requests; 10,000 of them take minutes, not hours.
const familyTimeout = Math.max(60_000, fuzzRuns * 60);

describe('the route catalogue', () => {
  it('every route the app serves is fuzzed by a family', () => {
    const uncovered = catalogue().filter((r) => !families.some((f) => f.covers(r.method, r.path))).map((r) => `${r.method} ${r.path}`);
    expect(uncovered).toEqual([]);
  });
});

describe.each(families)('$name under generated input', (family) => {
  it(`never a 5xx, never a crash, never a changed order (${fuzzRuns} cases)`, async () => {
    const before = await orderFingerprint(hub.db);
    expect(before.orders).toMatch(/^3:/);
    const tally = new FamilyTally(family.name);
    try {
      await checkProperty(fc.asyncProperty(family.cases(), async (generated) => {
        const c = family.prepare ? await family.prepare(generated) : generated;
        await exercise(tally, c, family.errorType?.(c) ?? 'problem');
      }), fuzzParameters());
    } finally {
      console.info(tally.summary());
    }
    expect(escaped.errors).toEqual([]);
    expect(await orderFingerprint(hub.db)).toEqual(before);
    expect((await hub.app.request('/ready')).status).toBe(200);
  }, familyTimeout);
});

describe('the metrics after the fuzz', () => {
  // Every generated sender name above (`/webhooks/orders/%F0%9F…`, 6,000 z's, …) must not
  // become a series of its own: /metrics would grow with every made-up path.
  it('label every webhook series with a sender the hub knows', async () => {
    const text = await (await hub.app.request('/metrics')).text();
    const known = new Set(['unknown', 'customer-unknown', ...hub.config.channels.flatMap((c) => [c.code, `customer-${c.code}`]), 'stripe', 'adyen', 'paypal', 'alipay', 'easypost', 'aftership', ...hub.config.warehouses.map((w) => `warehouse-${w.code}`)]);
    const sources = new Set([...text.matchAll(/^hub_webhook\w*\{[^}]*source="([^"]*)"/gm)].map((m) => m[1]!));
    expect(sources.size).toBeGreaterThan(0);
    expect([...sources].filter((s) => !known.has(s))).toEqual([]);
  });
});

// ── Over real HTTP: what `app.request` would normalise away ─────────────────────────────

/** `status` 0: the server closed the connection without a word. */
interface RawAnswer { status: number; headers: Record<string, string> }

/** Writes `request` to the hub's port as it is, and reads the status line and headers of the answer. */
function rawExchange(port: number, request: Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer within 10 s'));
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      // Interim answers (100 Continue) come first; the final one is what counts.
      const text = Buffer.concat(chunks).toString('latin1').replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const head = text.slice(0, text.indexOf('\r\n\r\n'));
      const [statusLine, ...lines] = head.split('\r\n');
      if (text === '') return resolve({ status: 0, headers: {} });
      const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine ?? '')?.[1]);
      if (!status) return reject(new Error(`not an HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      resolve({ status, headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()])) });
    };
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      // One answer is enough: the head and, for a sized body, the body.
      const text = Buffer.concat(chunks).toString('latin1').replace(/^(HTTP\/1\.[01] 1\d\d[^\r]*\r\n(?:[^\r]+\r\n)*\r\n)+/, '');
      const end = text.indexOf('\r\n\r\n');
      if (end >= 0) {
        const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
        if (length !== undefined && text.length >= end + 4 + Number(length)) {
          socket.destroy();
          finish();
        }
      }
    });
    socket.on('end', finish);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // A connection the server drops while the request is still being written: no answer.
      if (chunks.length > 0 || error.code === 'ECONNRESET' || error.code === 'EPIPE') finish();
      else reject(error);
    });
    socket.write(request);
  });
}

describe('over real HTTP', () => {
  const runs = Math.max(30, Math.round(fuzzRuns / 10));
  it(`bytes the parser sees as they were sent: invalid UTF-8, framing, odd headers (${runs} cases)`, async () => {
    const before = await orderFingerprint(hub.db);
    const tally = new FamilyTally('raw HTTP');
    const latin1 = (text: string) => Buffer.from(text, 'latin1');
    const request = fc.record({
      target: fc.oneof(
        { arbitrary: oneOf(['/webhooks/orders/website', '/webhooks/customers/app', '/api/orders', '/api/inventory/us-east/SKU2006-001', '/health']), weight: 3 },
        fc.tuple(oneOf(['/api/orders/', '/webhooks/orders/', '/api/products/', '/']), fc.uint8Array({ minLength: 1, maxLength: 12 })).map(([p, b]) => latin1(p).toString('latin1') + Buffer.from(b.map((x) => (x < 0x21 || x === 0x7f ? 0x41 : x))).toString('latin1')),
        fc.tuple(oneOf(['/api/orders?status=', '/api/exceptions?type=']), oneOf(['%ff', '%', '%c0%af', '\xff\xfe', '%00', 'a&status=b&status[]=c'])).map(([p, q]) => p + q),
      ),
      method: fc.oneof({ arbitrary: oneOf(['POST', 'GET', 'PUT']), weight: 5 }, { arbitrary: oneOf(['PATCH', 'DELETE', 'OPTIONS', 'HEAD', 'CONNECT', 'FOO']), weight: 1 }),
      version: fc.oneof({ arbitrary: fc.constant('HTTP/1.1'), weight: 5 }, { arbitrary: fc.constant('HTTP/1.0'), weight: 1 }),
      body: hostileBody([example('website-order.json')]),
      framing: fc.oneof({ arbitrary: oneOf(['length', 'chunked']), weight: 4 }, { arbitrary: oneOf(['none', 'both', 'length-twice']), weight: 1 }),
      chunkSizes: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 8 }),
      contentType: fc.oneof(contentTypes, fc.constant('application/json; charset=\xe9'), fc.constant('text/plain\xff')),
      duplicateType: fc.boolean(), expectContinue: fc.boolean(), signed: mostly,
      odd: fc.array(fc.tuple(oneOf(['x-hub-event-id', 'x-hub-topic', 'authorization', 'cookie', 'x-forwarded-for', 'x-odd']), fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b.map((x) => (x < 0x20 || x === 0x7f ? 0x2e : x))).toString('latin1').trim())), { maxLength: 3 }),
      auth: fc.boolean(),
    }).map((g) => {
      const body = Buffer.from(g.body);
      const lines = [`${g.method} ${g.target} ${g.version}`, 'Host: 127.0.0.1', 'Connection: close'];
      if (g.contentType !== undefined) lines.push(`Content-Type: ${g.contentType}`);
      if (g.duplicateType) lines.push('Content-Type: text/plain');
      if (g.expectContinue) lines.push('Expect: 100-continue');
      if (g.auth) lines.push(`Authorization: Bearer ${env.adminToken}`);
      if (g.signed) lines.push(`X-Hub-Signature: ${hubSignature(g.target.includes('customers') ? secrets.APP_WEBHOOK_SECRET : secrets.WEBSITE_WEBHOOK_SECRET, body)}`, `X-Hub-Event-Id: ${randomUUID()}`, 'X-Hub-Topic: order.created');
      for (const [name, value] of g.odd) lines.push(`${name}: ${value}`);
      let payload = body;
      if (g.framing === 'length' || g.framing === 'length-twice') lines.push(`Content-Length: ${body.length}`);
      if (g.framing === 'length-twice') lines.push(`Content-Length: ${body.length + 1}`);
      if (g.framing === 'chunked' || g.framing === 'both') {
        lines.push('Transfer-Encoding: chunked');
        if (g.framing === 'both') lines.push(`Content-Length: ${body.length}`);
        const parts: Buffer[] = [];
        let at = 0;
        for (let i = 0; at < body.length; i++) {
          const size = Math.min(g.chunkSizes[i % g.chunkSizes.length]!, body.length - at);
          parts.push(latin1(`${size.toString(16)}\r\n`), body.subarray(at, at + size), latin1('\r\n'));
          at += size;
        }
        parts.push(latin1('0\r\n\r\n'));
        payload = Buffer.concat(parts);
      }
      if (g.framing === 'none') payload = Buffer.alloc(0);
      return { summary: `${g.method} ${JSON.stringify(g.target)} ${g.framing}`, bytes: Buffer.concat([latin1(`${lines.join('\r\n')}\r\n\r\n`), payload]) };
    });
    await checkProperty(fc.asyncProperty(request, async ({ summary, bytes }) => {
      const answer = await rawExchange(hub.port!, bytes).catch((error: Error) => {
        throw new Error(`${summary}: ${error.message}\n${JSON.stringify(bytes.toString('latin1').slice(0, 600))}`);
      });
      tally.count(answer.status);
      // Node's server has no answer for CONNECT (a proxy's method): it closes the connection.
      if (answer.status === 0) expect(summary).toMatch(/^CONNECT /);
      expect(answer.status, summary).toBeLessThan(500);
      // Node's HTTP parser refuses malformed framing itself (400, no body); what reaches the hub says why.
      if (answer.status >= 400 && answer.headers['content-type'] !== undefined) expect(answer.headers['content-type'], summary).toBe('application/problem+json');
    }), fuzzParameters(runs));
    console.info(tally.summary());
    expect(escaped.errors).toEqual([]);
    expect(await orderFingerprint(hub.db)).toEqual(before);
    const health = await rawExchange(hub.port!, Buffer.from('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(health.status).toBe(200);
  }, familyTimeout);
});

// ── The stages: what the webhooks accepted goes on through the pipeline ────────────────

/**
 * Waits until the outbox is published and every queue the hub consumes itself — stages,
 * waits, warehouse events, the parked ones — is empty, three times in a row. (The test
 * helper `settled` watches stage and wait queues only.)
 */
async function drained(worker: Hub, timeoutMs: number): Promise<void> {
  const connection = await amqp.connect(env.amqpUrl);
  const channel = await connection.createChannel();
  const queues = worker.topology.queues.map((q) => q.name).filter((name) => !name.includes('.out.'));
  try {
    await eventually(async () => {
      for (let quiet = 0; quiet < 3; quiet++) {
        const { rows } = await worker.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
        if (rows[0]!.n > 0) return undefined;
        for (const queue of queues) if ((await channel.checkQueue(queue)).messageCount > 0) return undefined;
        await new Promise((r) => setTimeout(r, 200));
      }
      return true;
    }, timeoutMs, 'the stages to drain');
  } finally {
    await connection.close();
  }
}

describe('the pipeline, after the fuzz', () => {
  // Every case above stopped at the durable commit. Here a worker takes everything the
  // webhooks accepted through the stages: new orders may come of it (accidentally valid
  // payloads are orders), but no stage may fail on it, and the seeded orders — which no
  // generated payload names — stay as they were.
  it('every accepted delivery goes through the stages: refused at worst, never a crash, the seeded orders as they were', async () => {
    const before = await orderFingerprint(hub.db, real.orderIds);
    const { rows: [pending] } = await hub.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox WHERE published_at IS NULL');
    const started = Date.now();
    const worker = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
    try {
      await drained(worker, 2 * familyTimeout);
    } finally {
      await worker.stop();
    }
    console.info(`fuzz pipeline: ${pending!.n} accepted messages through the stages in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // A stage may refuse what it cannot apply (a parcel or shipment it does not know, an event
    // whose data does not fit its type): the message is parked, recorded as a dead letter with
    // an exception for a person — the hub's way for what no retry will fix. What must never
    // be parked is a programming or database error, and never without its dead letter.
    const { rows: why } = await hub.db.query<{ queue: string; reason: string; n: number }>(
      "SELECT regexp_replace(queue, '^[^.]*\\.', '') AS queue, left(reason, 300) AS reason, count(*)::int AS n FROM dead_letters GROUP BY 1, 2 ORDER BY 3 DESC",
    );
    const { rows: [poison] } = await hub.db.query<{ n: number }>("SELECT count(*)::int AS n FROM exceptions WHERE type = 'poison_message'");
    console.info(`fuzz pipeline: parked ${why.reduce((n, r) => n + r.n, 0)}:${why.slice(0, 12).map((r) => `\n  ${r.n} × ${r.queue}: ${r.reason.slice(0, 120)}`).join('')}`);
    expect(poison!.n).toBe(why.reduce((n, r) => n + r.n, 0));
    const crashes = /TypeError|RangeError|ReferenceError|SyntaxError|Cannot read propert|is not a function|is not iterable|Maximum call stack|invalid input syntax|violates|out of range for type|value too long|null value in column|invalid byte sequence|unsupported Unicode escape|could not serialize/i;
    expect(why.filter((r) => crashes.test(r.reason))).toEqual([]);
    expect(escaped.errors).toEqual([]);
    expect(await orderFingerprint(hub.db, real.orderIds)).toEqual(before);
  }, 3 * familyTimeout);
});

describe('text Postgres cannot store', () => {
  it('half a surrogate pair, quoted in the problems of a payload that does not map, is kept: 422, not 500', async () => {
    for (const value of ['\\udb2d', '\\udc00x', 'a\\u0000b']) {
      const body = new TextEncoder().encode(fixture('aftership/tracking_update.json').replace('"tracking_update"', `"${value}"`).replace(/"tag": "[A-Za-z]+"/g, `"tag": "${value}"`).replace('"3f645f5e-530b-4062-8695-db6a64420af8"', `"${randomUUID()}"`));
      const response = await hub.app.request('/webhooks/carriers/aftership', {
        method: 'POST', body, headers: { 'content-type': 'application/json', 'aftership-hmac-sha256': base64Hmac(secrets.AFTERSHIP_WEBHOOK_SECRET, body) },
      });
      expect(response.status, value).toBeLessThan(500);
    }
  });

  it('a NUL in a product name is a 400 naming the field', async () => {
    const response = await hub.app.request('/api/products/NUL-TEST', {
      method: 'PUT', headers: { authorization: `Bearer ${env.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a\u0000b', category: 'x', weightGrams: 1 }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ problems: [expect.objectContaining({ path: '/name' })] });
  });
});
