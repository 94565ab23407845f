import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../core/hub.ts';
import { adminToken, eventually, shopifySecret } from './support/env.ts';
import { settled, startTestHub, warehouseListener } from './support/hub.ts';
import { shopifyHeaders, shopifyOrderBody, shopifySample, signShopify } from './support/shopify.ts';

// One real-shaped Shopify order travelling the whole way, on real RabbitMQ, Postgres and Redis.
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;
let usWest: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  t = await startTestHub('webhook', ['worker', 'api']);
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
  usWest = await warehouseListener(hub, 'us-west');
});
afterAll(async () => {
  await usEast?.close();
  await usWest?.close();
  await t?.stop();
});

const post = (body: string, headers: Record<string, string>, source = 'shopify') =>
  hub.app.request(`/webhooks/orders/${source}`, { method: 'POST', body, headers });
const api = (path: string, init: RequestInit = {}) =>
  hub.app.request(`/api${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
const ordersFor = async (externalId: string) =>
  ((await (await api(`/orders?channel=shopify&externalId=${externalId}`)).json()) as { items: { id: string; status: string; paymentStatus: string; fulfillmentStatus: string; orderNumber: string; externalId: string }[] }).items;
const rawRows = async (where: string, params: unknown[]) =>
  (await hub.db.query(`SELECT id, status, problems, body FROM raw_inbound WHERE ${where}`, params)).rows;

describe('a signed Shopify orders/create webhook', () => {
  // Above 2^53: JSON.parse would turn it into 9007199254740993 → ...992.
  const bigId = '9007199254740993';

  it('becomes one order and exactly one fulfilment request on the right warehouse queue', async () => {
    const body = shopifyOrderBody({ id: bigId });
    const response = await fetch(`http://127.0.0.1:${hub.port}/webhooks/orders/shopify`, {
      method: 'POST', body, headers: shopifyHeaders(body, shopifySecret, 'evt-big-1'),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'accepted' });

    const request = await eventually(async () => usEast.received.find((e) => e.data.externalOrderId === bigId), 15_000, 'fulfillment.requested');
    await settled(hub);
    const [order] = await ordersFor(bigId);
    expect(order).toMatchObject({ externalId: bigId, status: 'released', paymentStatus: 'paid', fulfillmentStatus: 'requested' });
    expect(order!.orderNumber).toMatch(/^HUB-\d{8}-\d{8}$/);
    expect(request).toMatchObject({
      specversion: '1.0', type: 'fulfillment.requested', subject: order!.id, datacontenttype: 'application/json',
      data: {
        orderId: order!.id, orderNumber: order!.orderNumber, channel: 'shopify', externalOrderId: bigId, warehouse: 'us-east',
        carrier: 'ups', serviceLevel: 'ground',
        shipTo: { country: 'US', postalCode: '40003', city: 'Shippington', line1: '123 Shipping Street' },
      },
    });
    expect(request.data.lines).toEqual([
      { sku: 'SKU2006-001', name: 'Aviator sunglasses', quantity: 1 },
      { sku: 'SKU2006-020', name: 'Mid-century lounger', quantity: 1 },
      { sku: 'SKU2006-035', name: 'Coffee table', quantity: 1 },
    ]);
    expect(usEast.received.filter((e) => e.data.externalOrderId === bigId)).toHaveLength(1);
    expect(usWest.received.filter((e) => e.data.externalOrderId === bigId)).toHaveLength(0);

    // the order's timeline tells its story, stage by stage, with actors
    const detail = (await (await api(`/orders/${order!.id}`)).json()) as { timeline: { type: string; actor: string; toStatus: string }[]; reservations: unknown[] };
    expect(detail.timeline.map((e) => e.toStatus)).toEqual(['received', 'validated', 'allocated', 'released']);
    expect(detail.timeline[0]!.actor).toBe('channel:shopify');
    expect(detail.reservations).toHaveLength(3);
    const stock = (await (await api('/inventory?sku=SKU2006-020&warehouse=us-east')).json()) as { items: { reserved: number; available: number; onHand: number }[] };
    expect(stock.items[0]!.reserved).toBeGreaterThanOrEqual(1);
    expect(stock.items[0]!.available).toBe(stock.items[0]!.onHand - stock.items[0]!.reserved);
  });

  it('delivered twice (same event id), or again under a new event id, is still one order and one request', async () => {
    const id = '9007199254740995';
    const body = shopifyOrderBody({ id });
    const headers = shopifyHeaders(body, shopifySecret, 'evt-dup-1');
    const answers = await Promise.all([post(body, headers), post(body, headers), post(body, headers)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200]);
    await eventually(async () => usEast.received.find((e) => e.data.externalOrderId === id), 15_000, 'the first request');
    // Shopify may also re-send the same order under a fresh event id
    expect((await post(body, shopifyHeaders(body, shopifySecret, 'evt-dup-2'))).status).toBe(200);
    await settled(hub);
    expect(await ordersFor(id)).toHaveLength(1);
    expect(usEast.received.filter((e) => e.data.externalOrderId === id)).toHaveLength(1);
    expect(await rawRows('dedupe_key = ANY($1)', [['evt-dup-1', 'evt-dup-2']])).toHaveLength(2);
  });

  it('the official sample, unchanged, is accepted (its voided payment keeps it from release)', async () => {
    const body = shopifySample();
    const response = await post(body, shopifyHeaders(body, shopifySecret, 'evt-sample'));
    expect(response.status).toBe(200);
    await settled(hub);
    const [order] = await ordersFor('820982911946154508');
    expect(order).toMatchObject({ paymentStatus: 'voided', fulfillmentStatus: 'unfulfilled' });
    expect(usEast.received.filter((e) => e.data.externalOrderId === '820982911946154508')).toHaveLength(0);
  });

  it('an unpaid order is allocated and waits for its payment', async () => {
    const id = '5000000001';
    const body = shopifyOrderBody({ id, paid: false });
    expect((await post(body, shopifyHeaders(body, shopifySecret, 'evt-unpaid'))).status).toBe(200);
    await settled(hub);
    expect((await ordersFor(id))[0]).toMatchObject({ status: 'allocated', paymentStatus: 'pending' });
    expect(usEast.received.filter((e) => e.data.externalOrderId === id)).toHaveLength(0);
  });
});

describe('bad input', () => {
  it('a wrong signature is 401 problem+json and nothing is stored', async () => {
    const body = shopifyOrderBody({ id: '6000000001' });
    const headers = { ...shopifyHeaders(body, shopifySecret, 'evt-badsig'), 'x-shopify-hmac-sha256': signShopify(body, 'not-the-secret') };
    const response = await post(body, headers);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    expect(await response.json()).toMatchObject({ status: 401, type: expect.stringContaining('bad_signature') });
    expect(await rawRows('dedupe_key = $1', ['evt-badsig'])).toHaveLength(0);
    expect(await ordersFor('6000000001')).toHaveLength(0);
  });

  it('malformed JSON with a valid signature is 422, kept raw, with an exception', async () => {
    const body = '{"id": 6000000002, "line_items": [';
    const response = await post(body, shopifyHeaders(body, shopifySecret, 'evt-malformed'));
    expect(response.status).toBe(422);
    expect(await response.clone().json()).toMatchObject({ type: expect.stringContaining('malformed_payload'), problems: [expect.objectContaining({ path: '/' })] });
    expect(response.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await response.json()) as { rawId: number };
    const [raw] = await rawRows('id = $1', [problem.rawId]);
    expect(raw).toMatchObject({ status: 'invalid' });
    expect((raw!.body as Buffer).toString('utf8')).toBe(body);
    const exceptions = (await (await api('/exceptions?type=invalid_payload')).json()) as { items: { rawId: number; owner: string }[] };
    expect(exceptions.items.find((e) => e.rawId === problem.rawId)).toMatchObject({ owner: 'integration' });
  });

  it('a payload of the wrong shape is 422 naming the fields, kept raw, with an exception', async () => {
    const body = shopifyOrderBody({ id: '6000000003' }).replace('"quantity": 1,\n      "requires_shipping"', '"quantity": "lots",\n      "requires_shipping"');
    const response = await post(body, shopifyHeaders(body, shopifySecret, 'evt-shape'));
    expect(response.status).toBe(422);
    const problem = (await response.json()) as { rawId: number; problems: { path: string }[] };
    expect(problem.problems.map((p) => p.path)).toContain('/line_items/0/quantity');
    expect(await rawRows('id = $1 AND status = $2', [problem.rawId, 'invalid'])).toHaveLength(1);
    expect(await ordersFor('6000000003')).toHaveLength(0);
  });

  it('a body over the limit is 413', async () => {
    const body = `{"pad":"${'x'.repeat(1_100_000)}"}`;
    const response = await post(body, shopifyHeaders(body, shopifySecret, 'evt-huge'));
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toBe('application/problem+json');
  });

  it('an unknown channel is 404, a topic the hub does not process is kept and answered 200', async () => {
    const body = shopifyOrderBody({ id: '6000000004' });
    expect((await post(body, shopifyHeaders(body, shopifySecret, 'evt-x'), 'nosuchshop')).status).toBe(404);
    const response = await post(body, shopifyHeaders(body, shopifySecret, 'evt-topic', 'products/update'));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ignored' });
    expect(await rawRows('dedupe_key = $1 AND status = $2', ['evt-topic', 'ignored'])).toHaveLength(1);
  });

  it('an unknown SKU puts the order on hold with an exception, not dropped', async () => {
    const id = '6000000005';
    const body = shopifyOrderBody({ id, skus: ['NO-SUCH-SKU'] });
    expect((await post(body, shopifyHeaders(body, shopifySecret, 'evt-unknown-sku'))).status).toBe(200);
    await settled(hub);
    const [order] = await ordersFor(id);
    expect(order).toMatchObject({ status: 'on_hold' });
    const detail = (await (await api(`/orders/${order!.id}`)).json()) as { exceptions: { type: string; owner: string; reason: string; deadline: string }[] };
    expect(detail.exceptions).toEqual([expect.objectContaining({ type: 'unknown_sku', owner: 'catalog', reason: expect.stringContaining('NO-SUCH-SKU') })]);
    expect(new Date(detail.exceptions[0]!.deadline).getTime()).toBeGreaterThan(Date.now());
  });

  it('more than the stock is backordered with a stock_shortage exception and reserves nothing', async () => {
    const id = '6000000006';
    const body = shopifyOrderBody({ id, skus: ['LIMITED-PRINT', 'LIMITED-PRINT', 'LIMITED-PRINT'], quantity: 2 });
    expect((await post(body, shopifyHeaders(body, shopifySecret, 'evt-shortage'))).status).toBe(200);
    await settled(hub);
    const [order] = await ordersFor(id);
    expect(order).toMatchObject({ status: 'backordered' });
    const detail = (await (await api(`/orders/${order!.id}`)).json()) as { exceptions: { type: string }[]; reservations: unknown[] };
    expect(detail.exceptions.map((e) => e.type)).toEqual(['stock_shortage']);
    expect(detail.reservations).toEqual([]);
  });
});

describe('operator API', () => {
  it('refuses a missing or wrong token with 401 problem+json', async () => {
    const none = await hub.app.request('/api/orders');
    expect(none.status).toBe(401);
    expect(none.headers.get('content-type')).toBe('application/problem+json');
    expect((await hub.app.request('/api/orders', { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
  });

  it('lists warehouses and products, updates a product, and sets stock', async () => {
    const warehouses = (await (await api('/warehouses')).json()) as { items: { code: string }[] };
    expect(warehouses.items.map((w) => w.code)).toEqual(['eu-central', 'us-east', 'us-west']);
    const put = await api('/products/NEW-SKU-1', { method: 'PUT', body: JSON.stringify({ name: 'New', category: 'kitchen', weightGrams: 10 }) });
    expect(put.status).toBe(201);
    const products = (await (await api('/products')).json()) as { items: { sku: string; category: string }[] };
    expect(products.items.find((p) => p.sku === 'NEW-SKU-1')).toMatchObject({ category: 'kitchen' });
    const stock = await api('/inventory/us-west/NEW-SKU-1', { method: 'PUT', body: JSON.stringify({ onHand: 12 }) });
    expect(stock.status).toBe(200);
    expect(await stock.json()).toMatchObject({ warehouse: 'us-west', sku: 'NEW-SKU-1', onHand: 12, reserved: 0, available: 12 });
  });

  it('answers bad writes with 4xx problems: wrong type, malformed JSON, unknown warehouse, below reserved', async () => {
    const wrongType = await api('/inventory/us-west/MUG-CLASSIC', { method: 'PUT', body: JSON.stringify({ onHand: '5' }) });
    expect(wrongType.status).toBe(400);
    expect(await wrongType.json()).toMatchObject({ code: 'invalid_body', problems: [expect.objectContaining({ path: '/onHand' })] });
    expect((await api('/inventory/us-west/MUG-CLASSIC', { method: 'PUT', body: '{"onHand":' })).status).toBe(400);
    expect((await api('/inventory/nowhere/MUG-CLASSIC', { method: 'PUT', body: JSON.stringify({ onHand: 5 }) })).status).toBe(404);
    // the first test reserved SKU2006-020 in us-east
    const belowReserved = await api('/inventory/us-east/SKU2006-020', { method: 'PUT', body: JSON.stringify({ onHand: 0 }) });
    expect(belowReserved.status).toBe(409);
    expect(await belowReserved.json()).toMatchObject({ code: 'below_reserved' });
    expect((await api('/orders?status=nonsense')).status).toBe(400);
    expect((await api('/orders/not-a-uuid')).status).toBe(404);
  });

  it('health, readiness and metrics answer', async () => {
    expect((await hub.app.request('/health')).status).toBe(200);
    const ready = await hub.app.request('/ready');
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ checks: { postgres: 'ok', redis: 'ok', rabbitmq: 'ok' } });
    const metrics = await (await hub.app.request('/metrics')).text();
    expect(metrics).toMatch(/hub_webhooks_total\{source="shopify",outcome="accepted"\} \d+/);
    expect(metrics).toMatch(/hub_orders\{status="released"\} \d+/);
  });
});

describe('the OpenAPI document', () => {
  it('describes every route the app serves', async () => {
    const doc = (await (await hub.app.request('/openapi.json')).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const routes = hub.app.routes
      .filter((r) => r.method !== 'ALL' && r.path !== '/openapi.json')
      .map((r) => `${r.method.toLowerCase()} ${r.path.replace(/:([a-zA-Z]+)/g, '{$1}')}`);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m} ${path}`));
    expect(new Set(routes)).toEqual(new Set(documented));
  });
});
