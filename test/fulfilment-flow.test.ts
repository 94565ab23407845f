import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { reportLogisticsDelays } from '../core/stages/tracking.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { eventually } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Queue-style warehouses through the real hub: one request per allocation, their events
// move the order to shipped (in parts when they ship in parts), a refusal goes elsewhere,
// a parcel that stops moving raises a logistics delay.
const secret = 'web-fulfilment';
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
const warehouses = new Map<string, Awaited<ReturnType<typeof warehouseListener>>>();
/** What the warehouse `code` received. */
const requestsTo = (code: string) => warehouses.get(code)!.received;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'EAST-ONLY', name: 'East', category: 'apparel', weightGrams: 200 }, { sku: 'WEST-ONLY', name: 'West', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-east', sku: 'EAST-ONLY', onHand: 50 }, { warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 50 });
  config.logistics = { noScanHours: 24 };
  t = await startTestHub('fulfil', ['worker'], { config, env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = t.hub;
  for (const code of ['us-east', 'us-west', 'eu-central']) warehouses.set(code, await warehouseListener(hub, code));
});
afterAll(async () => {
  for (const listener of warehouses.values()) await listener.close();
  await t?.stop();
});

let n = 0;
async function send(order: CanonicalOrder): Promise<void> {
  n += 1;
  const response = await postWebsiteOrder(hub, order, secret, `f-${n}`);
  expect(response.status).toBe(200);
  await settled(hub);
}
/** The WMS publishing a CloudEvent to the hub's warehouse-events queue. */
async function wms(warehouse: string, type: string, data: Record<string, unknown>): Promise<void> {
  n += 1;
  warehouses.get(warehouse)!.publish(type, data, `wms-${n}`);
  await settled(hub);
}
type Detail = { id: string; status: string; fulfillmentStatus: string; exceptions: { type: string; status: string }[]; timeline: { type: string; actor: string }[]; reservations: { warehouse: string; status: string }[] };
async function detail(externalId: string): Promise<Detail> {
  const list = (await adminJson<{ items: { id: string }[] }>(hub, `/orders?channel=website&externalId=${externalId}`)).body;
  return (await adminJson<Detail>(hub, `/orders/${list.items[0]!.id}`)).body;
}
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const stock = async (warehouse: string, sku: string) => (await hub.db.query<{ onHand: number; reserved: number }>(`SELECT on_hand AS "onHand", reserved FROM inventory WHERE warehouse = $1 AND sku = $2`, [warehouse, sku])).rows[0]!;

describe('a queue-style warehouse', () => {
  it('gets one request per allocation, and its events move the order to shipped, in parts', async () => {
    const before = await stock('us-east', 'EAST-ONLY');
    await send(anOrder({ externalId: 'SHIP-1', shippingAddress: kentucky, lines: [orderLine('EAST-ONLY', 3)] }));
    const d = await detail('SHIP-1');
    const mine = requestsTo('us-east').filter((r) => r.data.orderId === d.id);
    expect(mine).toHaveLength(1);
    const shipmentId = mine[0]!.data.shipmentId;
    for (const step of ['accepted', 'picked', 'packed']) await wms('us-east', `fulfillment.${step}`, { shipmentId });
    await wms('us-east', 'fulfillment.shipped', { shipmentId, carrier: 'ups', trackingNumber: '1Z-PART-1', lines: [{ sku: 'EAST-ONLY', quantity: 2 }] });
    expect(await detail('SHIP-1')).toMatchObject({ status: 'released', fulfillmentStatus: 'partially_shipped' });
    await wms('us-east', 'fulfillment.shipped', { shipmentId, carrier: 'ups', trackingNumber: '1Z-PART-2', lines: [{ sku: 'EAST-ONLY', quantity: 1 }] });
    await wms('us-east', 'fulfillment.shipped', { shipmentId, carrier: 'ups', trackingNumber: '1Z-PART-2', lines: [{ sku: 'EAST-ONLY', quantity: 1 }] }); // redelivered
    const after = await detail('SHIP-1');
    expect(after).toMatchObject({ status: 'shipped', fulfillmentStatus: 'shipped' });
    expect(after.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['fulfillment.accepted', 'fulfillment.picked', 'fulfillment.packed', 'fulfillment.shipped']));
    // shipped units left the warehouse: on hand and reserved both down by 3
    expect(await stock('us-east', 'EAST-ONLY')).toEqual({ onHand: before.onHand - 3, reserved: before.reserved });
    const { rows } = await hub.db.query(`SELECT tracking_code FROM parcels WHERE order_id = $1 ORDER BY id`, [d.id]);
    expect(rows.map((r) => r.tracking_code)).toEqual(['1Z-PART-1', '1Z-PART-2']);
  });

  it('a split order ships in two parts, one per warehouse', async () => {
    await send(anOrder({ externalId: 'SPLIT-SHIP', shippingAddress: kentucky, lines: [orderLine('EAST-ONLY', 1), orderLine('WEST-ONLY', 1)] }));
    const d = await detail('SPLIT-SHIP');
    const east = requestsTo('us-east').find((r) => r.data.orderId === d.id)!;
    const west = requestsTo('us-west').find((r) => r.data.orderId === d.id)!;
    await wms('us-east', 'fulfillment.shipped', { shipmentId: east.data.shipmentId, carrier: 'ups', trackingNumber: '1Z-EAST', lines: [{ sku: 'EAST-ONLY', quantity: 1 }] });
    expect((await detail('SPLIT-SHIP')).fulfillmentStatus).toBe('partially_shipped');
    await wms('us-west', 'fulfillment.shipped', { shipmentId: west.data.shipmentId, carrier: 'ups', trackingNumber: '1Z-WEST', lines: [{ sku: 'WEST-ONLY', quantity: 1 }] });
    expect(await detail('SPLIT-SHIP')).toMatchObject({ status: 'shipped', fulfillmentStatus: 'shipped' });
  });

  it('a refusal gives the stock back and allocates the order to another warehouse', async () => {
    await send(anOrder({ externalId: 'REFUSED-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)] }));
    const d = await detail('REFUSED-1');
    const first = requestsTo('us-east').find((r) => r.data.orderId === d.id)!;
    await wms('us-east', 'fulfillment.rejected', { shipmentId: first.data.shipmentId, reason: 'damaged stock' });
    await eventually(async () => requestsTo('us-west').find((r) => r.data.orderId === d.id), 10_000, 'the request to us-west');
    const after = await detail('REFUSED-1');
    expect(after.status).toBe('released');
    expect(after.reservations.filter((r) => r.status === 'held').map((r) => r.warehouse)).toEqual(['us-west']);
    expect(after.exceptions).toEqual([expect.objectContaining({ type: 'fulfillment_rejected' })]);
  });

  it('an event of the wrong shape is parked with an exception, not lost', async () => {
    await wms('us-east', 'fulfillment.shipped', { shipmentId: 'nope:us-east', carrier: 'ups' });
    const { rows } = await hub.db.query(`SELECT type FROM exceptions WHERE type = 'poison_message'`);
    expect(rows.length).toBeGreaterThan(0);
  });
});

describe('a parcel that stops moving', () => {
  it('raises one logistics_delay for its order and tells the customer', async () => {
    const later = new Date(Date.now() + 25 * 3_600_000);
    const counts = await reportLogisticsDelays(hub.db, { ...hub.ctx, now: () => later });
    expect(counts.opened).toBeGreaterThanOrEqual(1);
    expect((await reportLogisticsDelays(hub.db, { ...hub.ctx, now: () => later })).opened).toBe(0);
    const d = await detail('SHIP-1');
    expect(d.exceptions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'logistics_delay', status: 'open' })]));
    const { rows } = await hub.db.query(`SELECT 1 FROM outbox WHERE routing_key = 'customer.notification_requested' AND body->'data'->>'template' = 'delayed' AND body->'data'->>'orderId' = $1`, [d.id]);
    expect(rows.length).toBeGreaterThan(0);
  });
});
