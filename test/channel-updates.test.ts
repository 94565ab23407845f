import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../core/hub.ts';
import { adminToken, eventually, shopifySecret } from './support/env.ts';
import { settled, startTestHub, warehouseListener } from './support/hub.ts';
import { shopifyHeaders, shopifyOrderBody } from './support/shopify.ts';

// Channel updates arrive late, twice and out of order; each must move the order exactly once.
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  t = await startTestHub('chanupd', ['worker']);
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
});
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
});

let events = 0;
async function send(topic: string, body: string): Promise<Response> {
  events += 1;
  return hub.app.request('/webhooks/orders/shopify', { method: 'POST', body, headers: shopifyHeaders(body, shopifySecret, `evt-${topic}-${events}`, topic) });
}
async function deliver(topic: string, body: string): Promise<void> {
  const response = await send(topic, body);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
}
const api = async (path: string, init: RequestInit = {}) =>
  (await hub.app.request(`/api${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } }));
async function orderOf(externalId: string) {
  const list = (await (await api(`/orders?channel=shopify&externalId=${externalId}`)).json()) as { items: { id: string }[] };
  expect(list.items).toHaveLength(1);
  return (await (await api(`/orders/${list.items[0]!.id}`)).json()) as {
    id: string; status: string; paymentStatus: string; fulfillmentStatus: string;
    reservations: { sku: string; quantity: number; status: string }[];
    exceptions: { type: string; status: string; reason: string }[];
    timeline: { type: string; actor: string; reason: string; toStatus: string }[];
    order: { lines: { sku: string; quantity: number }[] };
  };
}
async function reserved(sku: string, warehouse = 'us-east'): Promise<number> {
  const { rows } = await hub.db.query<{ reserved: number }>('SELECT reserved FROM inventory WHERE sku = $1 AND warehouse = $2', [sku, warehouse]);
  return rows[0]!.reserved;
}
/** The same order as a later snapshot: Shopify bumps updated_at on every change. */
const at = (body: string, updatedAt: string) => body.replace('"updated_at": "2021-12-31T19:00:00-05:00"', `"updated_at": "${updatedAt}"`);
let wmsEvents = 0;
/** A warehouse system publishing a CloudEvent to the hub's warehouse-events queue. */
async function warehouseSays(warehouse: string, type: string, data: Record<string, unknown>): Promise<void> {
  wmsEvents += 1;
  const { default: amqp } = await import('amqplib');
  const connection = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createConfirmChannel();
  const event = { specversion: '1.0', id: `wms-${wmsEvents}-${Date.now()}`, source: `/wms/${warehouse}`, type, time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse, ...data } };
  channel.sendToQueue(`${hub.namespace}.in.warehouse-events`, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id });
  await channel.waitForConfirms();
  await connection.close();
}
const cancelled = (body: string) => body.replace('"cancelled_at": null', '"cancelled_at": "2022-01-02T10:00:00-05:00"').replace('"cancel_reason": null', '"cancel_reason": "customer"');

describe('a cancellation from the channel', () => {
  it('before release cancels the order and gives its stock back', async () => {
    const before = await reserved('SKU2006-020');
    const body = shopifyOrderBody({ id: '7100000001', paid: false });
    await deliver('orders/create', body);
    expect((await orderOf('7100000001')).status).toBe('allocated');
    expect(await reserved('SKU2006-020')).toBe(before + 1);

    await deliver('orders/cancelled', at(cancelled(body), '2022-01-02T10:00:00-05:00'));
    const order = await orderOf('7100000001');
    expect(order).toMatchObject({ status: 'cancelled', fulfillmentStatus: 'cancelled' });
    expect(order.reservations.every((r) => r.status === 'released')).toBe(true);
    expect(await reserved('SKU2006-020')).toBe(before);
    expect(order.timeline.at(-1)).toMatchObject({ type: 'order.cancelled', actor: 'channel:shopify', reason: expect.stringContaining('customer') });
  });

  it('after release asks the warehouse to stop; its answer cancels the order and gives the stock back', async () => {
    const before = await reserved('SKU2006-001');
    const body = shopifyOrderBody({ id: '7100000002' });
    await deliver('orders/create', body);
    const released = await orderOf('7100000002');
    expect(released.status).toBe('released');
    await deliver('orders/cancelled', at(cancelled(body), '2022-01-02T10:00:00-05:00'));
    const request = await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.cancel_requested' && e.data.orderId === released.id), 10_000, 'the cancel request');
    expect((await orderOf('7100000002')).status).toBe('released'); // until the warehouse answers
    await warehouseSays('us-east', 'fulfillment.cancelled', { shipmentId: request.data.shipmentId });
    await settled(hub);
    const order = await orderOf('7100000002');
    expect(order.status).toBe('cancelled');
    expect(await reserved('SKU2006-001')).toBe(before);
  });

  it('after release, a warehouse that cannot stop it leaves it shipped-bound, with an exception for a person', async () => {
    const body = shopifyOrderBody({ id: '7100000004' });
    await deliver('orders/create', body);
    const released = await orderOf('7100000004');
    await deliver('orders/cancelled', at(cancelled(body), '2022-01-02T10:00:00-05:00'));
    const request = await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.cancel_requested' && e.data.orderId === released.id), 10_000, 'the cancel request');
    await warehouseSays('us-east', 'fulfillment.cancel_refused', { shipmentId: request.data.shipmentId, reason: 'already on the truck' });
    await settled(hub);
    const order = await orderOf('7100000004');
    expect(order.status).toBe('released');
    expect(order.exceptions).toEqual([expect.objectContaining({ type: 'cancel_after_shipment', status: 'open' })]);
  });

  it('arriving before the order itself still leaves one cancelled order that never takes stock', async () => {
    const before = await reserved('SKU2006-001');
    const body = shopifyOrderBody({ id: '7100000003' });
    await deliver('orders/cancelled', cancelled(body));
    await deliver('orders/create', body); // the late create changes nothing
    const order = await orderOf('7100000003');
    expect(order.status).toBe('cancelled');
    expect(order.reservations).toEqual([]);
    expect(await reserved('SKU2006-001')).toBe(before);
    expect(usEast.received.filter((e) => e.data.externalOrderId === '7100000003')).toHaveLength(0);
  });
});

describe('an update from the channel', () => {
  it('that reports the payment releases an allocated order, once, even when delivered twice', async () => {
    const body = shopifyOrderBody({ id: '7200000001', paid: false });
    await deliver('orders/create', body);
    const paid = at(shopifyOrderBody({ id: '7200000001', paid: true }), '2022-01-01T12:00:00-05:00');
    await Promise.all([send('orders/paid', paid), send('orders/updated', paid)]);
    await settled(hub);
    const order = await orderOf('7200000001');
    expect(order).toMatchObject({ status: 'released', paymentStatus: 'paid' });
    expect(usEast.received.filter((e) => e.data.externalOrderId === '7200000001')).toHaveLength(1);
  });

  it('arriving before the create makes the order', async () => {
    await deliver('orders/updated', shopifyOrderBody({ id: '7200000002' }));
    expect((await orderOf('7200000002')).status).toBe('released');
  });

  it('that changes the lines before release gives back the stock and allocates the new lines', async () => {
    const before = await reserved('SKU2006-035');
    const body = shopifyOrderBody({ id: '7200000003', paid: false });
    await deliver('orders/create', body);
    expect(await reserved('SKU2006-035')).toBe(before + 1);
    await deliver('orders/updated', at(shopifyOrderBody({ id: '7200000003', paid: false, quantity: 3 }), '2022-01-01T12:00:00-05:00'));
    const order = await orderOf('7200000003');
    expect(order.status).toBe('allocated');
    expect(order.order.lines.map((l) => l.quantity)).toEqual([3, 3, 3]);
    expect(order.reservations.filter((r) => r.status === 'held').map((r) => r.quantity)).toEqual([3, 3, 3]);
    expect(await reserved('SKU2006-035')).toBe(before + 3);
    expect(order.timeline.map((e) => e.toStatus)).toEqual(['received', 'validated', 'allocated', 'received', 'validated', 'allocated']);
  });

  it('that changes the lines after release is not applied: a person decides', async () => {
    await deliver('orders/create', shopifyOrderBody({ id: '7200000004' }));
    await deliver('orders/updated', at(shopifyOrderBody({ id: '7200000004', quantity: 2 }), '2022-01-01T12:00:00-05:00'));
    const order = await orderOf('7200000004');
    expect(order.status).toBe('released');
    expect(order.order.lines.map((l) => l.quantity)).toEqual([1, 1, 1]);
    expect(order.exceptions).toEqual([expect.objectContaining({ type: 'edit_after_release', reason: expect.stringContaining('lines') })]);
  });

  it('older than what the hub already has is ignored', async () => {
    const body = shopifyOrderBody({ id: '7200000005', paid: false });
    await deliver('orders/updated', at(cancelled(body), '2022-01-05T00:00:00Z'));
    // a snapshot from before the cancellation turns up late
    await deliver('orders/updated', at(shopifyOrderBody({ id: '7200000005', paid: true }), '2022-01-03T00:00:00Z'));
    const order = await orderOf('7200000005');
    expect(order).toMatchObject({ status: 'cancelled', paymentStatus: 'pending' });
  });
});

describe('replaying a stored delivery', () => {
  it('runs it through normalize again: still invalid, one open exception, the replay counted', async () => {
    const body = shopifyOrderBody({ id: '7300000001' }).replace('"sku": "SKU2006-001"', '"sku": ""');
    const response = await send('orders/create', body);
    expect(response.status).toBe(422);
    const { rawId } = (await response.json()) as { rawId: number };
    const failed = (await (await api('/inbound?status=failed')).json()) as { items: { id: number; status: string; problems: { path: string }[] }[] };
    expect(failed.items.find((i) => i.id === rawId)).toMatchObject({ status: 'invalid', problems: [expect.objectContaining({ path: '/line_items/0/sku' })] });

    const replay = await api(`/inbound/${rawId}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    await settled(hub);
    const detail = (await (await api(`/inbound/${rawId}`)).json()) as { status: string; replays: number; body: string };
    expect(detail).toMatchObject({ status: 'invalid', replays: 1 });
    expect(detail.body).toBe(body);
    const { rows } = await hub.db.query(`SELECT status FROM exceptions WHERE raw_id = $1`, [rawId]);
    expect(rows).toEqual([{ status: 'open' }]);
    const { rows: audit } = await hub.db.query(`SELECT action, target FROM audit_log WHERE target = $1`, [String(rawId)]);
    expect(audit).toEqual([{ action: 'inbound.replay', target: String(rawId) }]);
  });

  it('refuses to replay what was processed, and answers 404 for what does not exist', async () => {
    const body = shopifyOrderBody({ id: '7300000002' });
    const response = await send('orders/create', body);
    const { id } = (await response.json()) as { id: number };
    await settled(hub);
    expect((await api(`/inbound/${id}/replay`, { method: 'POST' })).status).toBe(409);
    expect((await api('/inbound/999999999/replay', { method: 'POST' })).status).toBe(404);
    expect((await api('/inbound/abc')).status).toBe(404);
    expect((await api('/inbound?status=bogus')).status).toBe(400);
  });
});
