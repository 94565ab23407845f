import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWarehouseWebhook } from '../connectors/warehouses/webhook.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { eventually } from './support/env.ts';
import { adminJson, postEasyPostDelivered, postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startWmsStub, WMS_STUB_KEY, type WmsStub } from './support/wms-stub.ts';

// An HTTP warehouse (a REST WMS the hub pushes to, which posts its events back, signed)
// and a carrier's tracking (EasyPost) taking an order all the way to delivered.
const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-out', WAREHOUSE_WEBHOOK_SECRET: 'wh-out', WAREHOUSE_API_KEY: WMS_STUB_KEY, EASYPOST_WEBHOOK_SECRET: 'ep-out' };
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let wms: WmsStub;

beforeAll(async () => {
  wms = await startWmsStub();
  const config = loadConfig(defaultConfigPath);
  config.warehouses = config.warehouses.map((w) => (w.code === 'us-west' ? { ...w, integration: 'http' as const, endpoint: { baseUrl: wms.url } } : w));
  config.products.push({ sku: 'WEST-ONLY', name: 'West', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 20 });
  t = await startTestHub('outbound', ['worker', 'api'], { config, env: secrets });
  hub = t.hub;
});
afterAll(async () => {
  await t?.stop();
  await wms?.close();
});

let n = 0;
async function send(order: CanonicalOrder): Promise<void> {
  n += 1;
  const response = await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `o-${n}`);
  expect(response.status).toBe(200);
  await settled(hub);
}
/** The WMS posting its event back to the hub, signed. */
async function wmsPosts(type: string, data: Record<string, unknown>): Promise<Response> {
  n += 1;
  const body = JSON.stringify({ specversion: '1.0', id: `wms-${n}`, source: '/wms/us-west', type, time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-west', ...data } });
  return hub.app.request('/webhooks/warehouses/us-west', {
    method: 'POST', body, headers: { 'content-type': 'application/cloudevents+json', 'x-hub-signature': signWarehouseWebhook(body, secrets.WAREHOUSE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)), 'ce-id': `wms-${n}` },
  });
}
async function detail(externalId: string) {
  const list = (await adminJson<{ items: { id: string }[] }>(hub, `/orders?channel=website&externalId=${externalId}`)).body;
  return (await adminJson<{ id: string; status: string; fulfillmentStatus: string; timeline: { type: string }[] }>(hub, `/orders/${list.items[0]!.id}`)).body;
}

describe('an HTTP warehouse and a tracked parcel', () => {
  it('a WMS that fails twice then succeeds gets one effective request; its signed events and EasyPost take the order to delivered', async () => {
    wms.failNext(2, 503);
    await send(anOrder({ externalId: 'HTTP-1', shippingAddress: shippingAddress('US', 'NV', { postalCode: '89501' }), lines: [orderLine('WEST-ONLY', 1)] }));
    const d = await detail('HTTP-1');
    await eventually(async () => (wms.effective >= 1 ? true : undefined), 10_000, 'the push');
    expect(wms.effective).toBe(1);
    expect(wms.requests.filter((r) => r.idempotencyKey !== null).length).toBe(3); // two failures, one success, one key
    const pushed = wms.accepted[0]!;
    const shipmentId = (pushed.event as { data: { shipmentId: string } }).data.shipmentId;
    expect(shipmentId).toBe(`${d.id}:us-west`);

    expect((await wmsPosts('fulfillment.accepted', { shipmentId })).status).toBe(200);
    const forged = await hub.app.request('/webhooks/warehouses/us-west', { method: 'POST', body: '{}', headers: { 'x-hub-signature': 't=1,v1=00' } });
    expect(forged.status).toBe(401);
    expect((await wmsPosts('fulfillment.shipped', { shipmentId, carrier: 'fedex', trackingNumber: 'EP-TRACK-1', lines: [{ sku: 'WEST-ONLY', quantity: 1 }] })).status).toBe(200);
    await settled(hub);
    expect((await detail('HTTP-1')).status).toBe('shipped');

    // EasyPost reports the parcel delivered (the official event's shape, our status and tracking code)
    const tracked = await postEasyPostDelivered(hub, secrets.EASYPOST_WEBHOOK_SECRET, 'EP-TRACK-1');
    expect(tracked.status).toBe(200);
    await settled(hub);
    const delivered = await detail('HTTP-1');
    expect(delivered).toMatchObject({ status: 'delivered', fulfillmentStatus: 'delivered' });
    expect(delivered.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['fulfillment.accepted', 'fulfillment.shipped', 'order.delivered']));
  });

  it('tracking for a parcel the hub never shipped waits for it, then is parked with an exception', async () => {
    const event = readFileSync(new URL('./fixtures/easypost/tracker.updated.event.json', import.meta.url), 'utf8').replace('"tracking_code":"1"', '"tracking_code":"NOBODY"');
    const signature = createHmac('sha256', secrets.EASYPOST_WEBHOOK_SECRET.normalize('NFKD')).update(event).digest('hex');
    expect((await hub.app.request('/webhooks/carriers/easypost', { method: 'POST', body: event, headers: { 'x-hmac-signature': `hmac-sha256-hex=${signature}` } })).status).toBe(200);
    await settled(hub);
    const rows = await eventually(async () => {
      const { rows: found } = await hub.db.query(`SELECT reason FROM exceptions WHERE type = 'poison_message' AND reason LIKE '%NOBODY%'`);
      return found.length > 0 ? found : undefined;
    }, 10_000, 'the parked tracking update');
    expect(rows[0].reason).toContain('is not known');
  });

  it('bad carrier and warehouse webhooks get a clear 4xx; a duplicate tracking update is taken once', async () => {
    const easypost = (body: string, signature = createHmac('sha256', secrets.EASYPOST_WEBHOOK_SECRET.normalize('NFKD')).update(body).digest('hex')) =>
      hub.app.request('/webhooks/carriers/easypost', { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-hmac-signature': `hmac-sha256-hex=${signature}` } });
    const event = readFileSync(new URL('./fixtures/easypost/tracker.updated.event.json', import.meta.url), 'utf8').replace('"tracking_code":"1"', '"tracking_code":"DUP-1"');

    const forged = await easypost(event, '0'.repeat(64));
    expect(forged.status).toBe(401);
    expect(forged.headers.get('content-type')).toContain('application/problem+json');
    const malformed = await easypost('{"id": ');
    expect(malformed.status).toBe(422);
    expect(((await malformed.json()) as { detail: string }).detail).not.toBe('');
    const wrongType = await easypost(event.replace('"tracking_code":"DUP-1"', '"tracking_code":42'));
    expect(wrongType.status).toBe(422);
    expect(JSON.stringify(await wrongType.json())).toContain('tracking_code');
    expect((await hub.app.request('/webhooks/carriers/pigeon', { method: 'POST', body: event })).status).toBe(404);

    const first = (await (await easypost(event)).json()) as { status: string };
    const again = (await (await easypost(event)).json()) as { status: string };
    expect(first.status).toBe('accepted');
    expect(again.status).toBe('duplicate');

    const warehouseMalformed = '{"specversion": "1.0", ';
    const bad = await hub.app.request('/webhooks/warehouses/us-west', {
      method: 'POST', body: warehouseMalformed,
      headers: { 'content-type': 'application/cloudevents+json', 'x-hub-signature': signWarehouseWebhook(warehouseMalformed, secrets.WAREHOUSE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)) },
    });
    expect(bad.status).toBeGreaterThanOrEqual(400);
    expect(bad.status).toBeLessThan(500);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await hub.app.request('/webhooks/warehouses/atlantis', { method: 'POST', body: '{}' })).status).toBe(404);
  });

  it('a warehouse event with a NUL character: the webhook is a 422 and kept; the same event on the queue is parked at once, with why', async () => {
    // JSON.stringify writes the NUL character as the escape \u0000, as a sender's JSON would
    const withNul = JSON.stringify({ specversion: '1.0', id: 'wms-nul-1', source: '/wms/us-west', type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-west', sku: 'WEST\u0000ONLY', delta: 1, reason: 'count' } });
    expect(withNul).toContain('WEST\\u0000ONLY');
    const response = await hub.app.request('/webhooks/warehouses/us-west', {
      method: 'POST', body: withNul,
      headers: { 'content-type': 'application/cloudevents+json', 'x-hub-signature': signWarehouseWebhook(withNul, secrets.WAREHOUSE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)), 'ce-id': 'wms-nul-1' },
    });
    expect(response.status).toBe(422);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(JSON.stringify(await response.json())).toContain('NUL');
    const { rows: kept } = await hub.db.query(`SELECT status FROM raw_inbound WHERE source = 'warehouse-us-west' AND dedupe_key = 'wms-nul-1'`);
    expect(kept).toEqual([{ status: 'invalid' }]);

    const connection = await amqp.connect(t.env.amqpUrl);
    try {
      const channel = await connection.createChannel();
      channel.sendToQueue(names(hub.namespace).warehouseEvents, Buffer.from(withNul.replace('wms-nul-1', 'wms-nul-2')), { persistent: true, messageId: 'wms-nul-2' });
      await channel.close();
    } finally {
      await connection.close();
    }
    const parked = await eventually(async () => {
      const { rows } = await hub.db.query<{ reason: string }>(`SELECT reason FROM exceptions WHERE type = 'poison_message' AND reason LIKE '%NUL character%'`);
      return rows.length > 0 ? rows : undefined;
    }, 10_000, 'the parked event');
    expect(parked[0]!.reason).not.toMatch(/gave up after|invalid byte sequence/);
  });

  it('a warehouse event with half an emoji is taken, by webhook and from the queue: the half is stored as U+FFFD', async () => {
    // An emoji cut in half: JSON.stringify writes the high surrogate left alone as the escape \ud83d
    const onHand = async () => (await hub.db.query<{ onHand: number }>(`SELECT on_hand AS "onHand" FROM inventory WHERE warehouse = 'us-west' AND sku = 'WEST-ONLY'`)).rows[0]?.onHand ?? 0;
    const before = await onHand();
    const withHalf = JSON.stringify({ specversion: '1.0', id: 'wms-half-1', source: '/wms/us-west', type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-west', sku: 'WEST-ONLY', delta: 1, reason: 'recount \ud83d' } });
    expect(withHalf).toContain('recount \\ud83d"');
    const response = await hub.app.request('/webhooks/warehouses/us-west', {
      method: 'POST', body: withHalf,
      headers: { 'content-type': 'application/cloudevents+json', 'x-hub-signature': signWarehouseWebhook(withHalf, secrets.WAREHOUSE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)), 'ce-id': 'wms-half-1' },
    });
    expect(response.status, await response.clone().text()).toBe(200);

    const connection = await amqp.connect(t.env.amqpUrl);
    try {
      const channel = await connection.createChannel();
      channel.sendToQueue(names(hub.namespace).warehouseEvents, Buffer.from(withHalf.replace('wms-half-1', 'wms-half-2')), { persistent: true, messageId: 'wms-half-2' });
      await channel.close();
    } finally {
      await connection.close();
    }
    await eventually(async () => ((await onHand()) === before + 2 ? true : undefined), 10_000, 'both adjustments applied');
    await settled(hub);
    const { rows: parked } = await hub.db.query(`SELECT reason FROM exceptions WHERE type = 'poison_message' AND message_id LIKE 'wms-half-%'`);
    expect(parked).toEqual([]);
  });
});
