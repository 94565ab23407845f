import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import type { CloudEvent } from '../core/messaging/cloudevent.ts';
import { names } from '../core/messaging/topology.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { adminToken, eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Validation and allocation through the real hub: scarce stock under concurrency, stock
// arriving, the customer's remedy, an operator's override, splits, store credit, alerts.
const secret = 'website-secret';
const namespace = testNamespace('allocflow');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
let hub: Hub;
let connection: ChannelModel;
let channel: Channel;
const published: CloudEvent<Record<string, unknown>>[] = [];

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push(
    { sku: 'HOT-1', name: 'Hot item', category: 'apparel', weightGrams: 200 },
    { sku: 'EAST-ONLY', name: 'Sold in the east', category: 'apparel', weightGrams: 200 },
    { sku: 'WEST-ONLY', name: 'Sold in the west', category: 'kitchen', weightGrams: 300 },
  );
  config.stock.push(
    { warehouse: 'us-east', sku: 'HOT-1', onHand: 5 },
    { warehouse: 'us-east', sku: 'EAST-ONLY', onHand: 50 },
    { warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 50 },
  );
  config.inventory = { lowStockThreshold: 0, lowStockBySku: { 'EAST-ONLY': 45 } };
  config.customers = [{ email: 'credit@example.com', storeCredit: { currency: 'USD', balance: 5_000 } }];
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
  // everything the hub publishes, to see notifications and fulfilment requests
  connection = await amqp.connect(env.amqpUrl);
  channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, names(namespace).events, '#');
  await channel.consume(queue, (m) => {
    if (m) published.push(JSON.parse(m.content.toString('utf8')) as CloudEvent<Record<string, unknown>>);
  }, { noAck: true });
});
afterAll(async () => {
  await connection?.close();
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

let events = 0;
async function send(order: CanonicalOrder): Promise<void> {
  events += 1;
  const response = await postWebsiteOrder(hub, order, secret, `e-${events}`);
  expect(response.status, await response.clone().text()).toBe(200);
}
const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
  const response = await hub.app.request(`/api${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } });
  return { status: response.status, body: (await response.json()) as T };
};
type Detail = {
  id: string; status: string; paymentStatus: string;
  reservations: { warehouse: string; sku: string; quantity: number; status: string }[];
  exceptions: { type: string; status: string; reason: string }[];
  timeline: { type: string; reason: string; toStatus: string; data: Record<string, unknown> | null }[];
  order: CanonicalOrder;
};
async function detail(externalId: string): Promise<Detail> {
  const { body } = await api<{ items: { id: string }[] }>(`/orders?channel=website&externalId=${externalId}`);
  expect(body.items).toHaveLength(1);
  return (await api<Detail>(`/orders/${body.items[0]!.id}`)).body;
}
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const order = (overrides: Partial<CanonicalOrder> & { paymentStatus?: 'paid' | 'pending' }) => anOrder({ shippingAddress: kentucky, ...overrides });
const stockOf = async (warehouse: string, sku: string) =>
  (await api<{ items: { onHand: number; reserved: number; available: number }[] }>(`/inventory?warehouse=${warehouse}&sku=${sku}`)).body.items[0]!;

describe('scarce stock under concurrency', () => {
  it('12 orders at once for 5 units: exactly 5 reserved and sent to the warehouse, 7 backordered, never below zero', async () => {
    const orders = Array.from({ length: 12 }, (_, i) => order({ externalId: `HOT-${i}`, lines: [orderLine('HOT-1', 1)] }));
    await Promise.all(orders.map(send));
    await settled(hub);
    const states = await Promise.all(orders.map((o) => detail(o.externalId)));
    expect(states.filter((s) => s.status === 'released')).toHaveLength(5);
    expect(states.filter((s) => s.status === 'backordered')).toHaveLength(7);
    expect(await stockOf('us-east', 'HOT-1')).toMatchObject({ onHand: 5, reserved: 5, available: 0 });
    const requests = published.filter((e) => e.type === 'fulfillment.requested' && String(e.data.externalOrderId).startsWith('HOT-'));
    expect(requests).toHaveLength(5);
    // each backordered customer is told, with the remedies
    const told = published.filter((e) => e.type === 'customer.notification_requested' && e.data.template === 'stock_shortage');
    expect(told.length).toBeGreaterThanOrEqual(7);
    expect(told[0]!.data).toMatchObject({ remedies: expect.arrayContaining(['wait', 'cancel']) });
  });

  it('when stock arrives (the inventory API), the oldest backorders are served, as many as it allows', async () => {
    await api('/inventory/us-east/HOT-1', { method: 'PUT', body: JSON.stringify({ onHand: 8 }) });
    await settled(hub);
    const states = await Promise.all(Array.from({ length: 12 }, (_, i) => detail(`HOT-${i}`)));
    expect(states.filter((s) => s.status === 'released')).toHaveLength(8);
    expect(states.filter((s) => s.status === 'backordered')).toHaveLength(4);
    const served = states.filter((s) => s.timeline.some((e) => e.type === 'order.revalidating'));
    expect(served.every((s) => s.exceptions.every((e) => e.type !== 'stock_shortage' || e.status === 'resolved'))).toBe(true);
  });

  it('and when a warehouse reports a receipt on its event queue', async () => {
    const event = { specversion: '1.0', id: 'wms-1', source: '/wms/us-east', type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-east', sku: 'HOT-1', delta: 2, reason: 'receipt' } };
    channel.sendToQueue(names(namespace).warehouseEvents, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id });
    await eventually(async () => ((await stockOf('us-east', 'HOT-1')).onHand === 10 ? true : undefined), 10_000, 'the receipt');
    await settled(hub);
    const states = await Promise.all(Array.from({ length: 12 }, (_, i) => detail(`HOT-${i}`)));
    expect(states.filter((s) => s.status === 'released')).toHaveLength(10);
  });

  it('a count below what is reserved stops at the reservations and opens an inventory conflict', async () => {
    const event = { specversion: '1.0', id: 'wms-2', source: '/wms/us-east', type: 'inventory.snapshot', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-east', items: [{ sku: 'HOT-1', onHand: 3 }] } };
    channel.sendToQueue(names(namespace).warehouseEvents, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id });
    await settled(hub);
    expect(await stockOf('us-east', 'HOT-1')).toMatchObject({ onHand: 10, reserved: 10, available: 0 });
    const { body } = await api<{ items: { type: string; reason: string }[] }>('/exceptions?type=inventory_conflict');
    expect(body.items).toEqual([expect.objectContaining({ reason: expect.stringContaining('10 are reserved') })]);
  });
});

describe('the customer\'s answer to a shortage', () => {
  it('ship what is there: the order is cut down, its money still adds up, and it goes out', async () => {
    await send(order({ externalId: 'PARTIAL-1', lines: [orderLine('EAST-ONLY', 2), orderLine('HOT-1', 1)] }));
    await settled(hub);
    const before = await detail('PARTIAL-1');
    expect(before.status).toBe('backordered');
    const { status } = await api(`/orders/${before.id}/shortage-remedy`, { method: 'POST', body: JSON.stringify({ choice: 'ship_available' }) });
    expect(status).toBe(202);
    await settled(hub);
    const after = await detail('PARTIAL-1');
    expect(after.status).toBe('released');
    expect(after.order.lines.map((l) => [l.sku, l.quantity])).toEqual([['EAST-ONLY', 2]]);
    expect(after.order.totals).toMatchObject({ subtotal: 2000, grandTotal: 2000 });
    expect(published.find((e) => e.type === 'order.reduced' && e.data.orderId === before.id)?.data).toMatchObject({ refundDue: 1000, removed: [{ sku: 'HOT-1', quantity: 1 }] });
  });

  it('cancel: cancelled, nothing held; and the API refuses a remedy for an order that is not backordered', async () => {
    await send(order({ externalId: 'CANCEL-1', lines: [orderLine('HOT-1', 1)] }));
    await settled(hub);
    const before = await detail('CANCEL-1');
    expect(before.status).toBe('backordered');
    await api(`/orders/${before.id}/shortage-remedy`, { method: 'POST', body: JSON.stringify({ choice: 'cancel' }) });
    await settled(hub);
    expect((await detail('CANCEL-1')).status).toBe('cancelled');
    expect((await api(`/orders/${before.id}/shortage-remedy`, { method: 'POST', body: JSON.stringify({ choice: 'wait' }) })).status).toBe(409);
    expect((await api(`/orders/${before.id}/shortage-remedy`, { method: 'POST', body: JSON.stringify({ choice: 'later' }) })).status).toBe(400);
  });
});

describe('allocation', () => {
  it('splits an order no single warehouse can serve into one request per warehouse, and explains why', async () => {
    await send(order({ externalId: 'SPLIT-1', lines: [orderLine('EAST-ONLY', 1), orderLine('WEST-ONLY', 1)] }));
    await settled(hub);
    const d = await detail('SPLIT-1');
    expect(d.status).toBe('released');
    const requests = published.filter((e) => e.type === 'fulfillment.requested' && e.data.externalOrderId === 'SPLIT-1');
    expect(requests.map((r) => r.data.warehouse).sort()).toEqual(['us-east', 'us-west']);
    expect(requests.map((r) => r.data.split)).toEqual(expect.arrayContaining([{ index: 1, of: 2 }, { index: 2, of: 2 }]));
    const allocated = d.timeline.find((e) => e.toStatus === 'allocated');
    expect(allocated?.reason).toMatch(/split/);
    expect(allocated?.data).toMatchObject({ explanation: { strategy: 'fewest_shipments', chosen: expect.arrayContaining(['us-east', 'us-west']) } });
    for (const r of requests) expect(r.data).toMatchObject({ carrier: 'ups', promisedShipDate: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });
  });

  it('an operator moves an unpaid allocated order to another warehouse; the stock moves with it', async () => {
    await send(order({ externalId: 'MOVE-1', paymentStatus: 'pending', lines: [orderLine('SKU2006-001', 2)] }));
    await settled(hub);
    const before = await detail('MOVE-1');
    expect(before.reservations.filter((r) => r.status === 'held').map((r) => r.warehouse)).toEqual(['us-east']);
    const { status } = await api(`/orders/${before.id}/allocation`, { method: 'POST', body: JSON.stringify({ warehouse: 'us-west', reason: 'east is flooded' }) });
    expect(status).toBe(202);
    await settled(hub);
    const after = await detail('MOVE-1');
    expect(after.status).toBe('allocated');
    expect(after.reservations.filter((r) => r.status === 'held').map((r) => r.warehouse)).toEqual(['us-west']);
    expect(after.timeline.at(-1)).toMatchObject({ type: 'order.allocation_overridden', reason: expect.stringContaining('east is flooded') });
    expect((await api(`/orders/${before.id}/allocation`, { method: 'POST', body: JSON.stringify({ warehouse: 'atlantis' }) })).status).toBe(400);
  });

  it('a reservation that leaves stock at or under its threshold raises one low-stock alert', async () => {
    await send(order({ externalId: 'LOW-1', lines: [orderLine('EAST-ONLY', 1)] }));
    await settled(hub);
    const { body } = await api<{ items: { type: string; owner: string; status: string }[] }>('/exceptions?type=low_stock&status=open');
    expect(body.items).toEqual([expect.objectContaining({ owner: 'inventory' })]);
  });
});

describe('validation', () => {
  it('store credit: held when it covers the order, rejected with a remedy when it does not', async () => {
    const credit = { method: 'store_credit' as const, provider: null, status: 'paid' as const };
    const customer = { id: null, email: 'credit@example.com', phone: null, name: 'Cred It', locale: 'en' };
    await send(order({ externalId: 'CREDIT-1', customer, payment: credit, lines: [orderLine('SKU2006-001', 3)] }));
    await send(order({ externalId: 'CREDIT-2', customer, payment: credit, lines: [orderLine('SKU2006-001', 3)] }));
    await settled(hub);
    const [a, b] = [await detail('CREDIT-1'), await detail('CREDIT-2')];
    expect([a.status, b.status].sort()).toEqual(['rejected', 'released']);
    const { rows } = await hub.db.query(`SELECT balance, held FROM customer_accounts WHERE customer_key = 'credit@example.com'`);
    expect(rows).toEqual([{ balance: 5000, held: 3000 }]);
    const rejected = a.status === 'rejected' ? a : b;
    expect(published.find((e) => e.type === 'customer.notification_requested' && e.data.orderId === rejected.id)?.data)
      .toMatchObject({ template: 'order_rejected', remedies: ['another_payment_method'] });
  });

  it('a blocked customer is rejected; a big first order waits for a risk review without telling the customer', async () => {
    await send(order({ externalId: 'BLOCKED-1', lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'Fraudster@Example.com', phone: null, name: 'X', locale: null } }));
    await send(order({ externalId: 'BIG-1', customer: { id: null, email: 'new.big@example.com', phone: null, name: 'Big', locale: null }, lines: [orderLine('SKU2006-001', 1, { unitPrice: 150_000 })] }));
    await settled(hub);
    expect((await detail('BLOCKED-1')).status).toBe('rejected');
    const big = await detail('BIG-1');
    expect(big).toMatchObject({ status: 'on_hold', exceptions: [expect.objectContaining({ type: 'risk_review' })] });
    expect(published.some((e) => e.type === 'customer.notification_requested' && e.data.orderId === big.id)).toBe(false);
  });

  it('a postal code that cannot be right holds the order and asks the customer to check it', async () => {
    await send(order({ externalId: 'ZIP-1', lines: [orderLine('SKU2006-001', 1)], shippingAddress: shippingAddress('US', 'KY', { postalCode: 'ABCDE' }) }));
    await settled(hub);
    const d = await detail('ZIP-1');
    expect(d).toMatchObject({ status: 'on_hold', exceptions: [expect.objectContaining({ type: 'address_invalid' })] });
    expect(published.find((e) => e.type === 'customer.notification_requested' && e.data.orderId === d.id)?.data).toMatchObject({ template: 'address_check' });
  });
});
