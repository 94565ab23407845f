// Returns and exchanges through the real hub (RabbitMQ, Postgres, Redis), from a delivered
// order: paid through Stripe (a loopback imitation of its refunds API), shipped by a queue
// warehouse, delivered by EasyPost tracking. A return is requested, approved, gets its label
// from EasyPost (a loopback imitation of its shipments API) or from a person, the warehouse
// is told to expect it and reports it received; then the refund is made through Stripe and
// the resellable units are back in stock, or an exchange order goes through the pipeline to
// the warehouse queue. Also: partial returns, rejections by rule, duplicate and unknown
// receipts.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHubPayload } from '../connectors/signatures.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { withTransaction } from '../core/db/pool.ts';
import { lockOrder } from '../core/db/sql/orders.ts';
import type { Hub } from '../core/hub.ts';
import type { CloudEvent } from '../core/messaging/cloudevent.ts';
import { requestReturn } from '../core/stages/returns.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { startEasyPostStub, EASYPOST_STUB_KEY, type EasyPostStub } from './support/easypost-stub.ts';
import { adminToken, eventually } from './support/env.ts';
import { adminJson, postEasyPostDelivered, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startProviderStub, STRIPE_STUB_KEY, type ProviderStub } from './support/provider-stub.ts';

const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-returns', STRIPE_WEBHOOK_SECRET: 'whsec_returns', STRIPE_API_KEY: STRIPE_STUB_KEY, EASYPOST_WEBHOOK_SECRET: 'ep-returns', EASYPOST_API_KEY: EASYPOST_STUB_KEY };
const sdk = new Stripe('sk_test_unused');
const PAYMENTS = ['pi_ret_1', 'pi_ret_2', 'pi_ret_3', 'pi_ret_4'];
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let stripeApi: ProviderStub;
let easypost: EasyPostStub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  stripeApi = await startProviderStub({ provider: 'stripe', payments: Object.fromEntries(PAYMENTS.map((id) => [id, { amount: 1_000_000, currency: 'usd' }])) });
  easypost = await startEasyPostStub();
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, refunds: { stripe: { baseUrl: stripeApi.url } } };
  config.afterSales = { returnWindowDays: 30, nonReturnableCategories: ['accessories'], refundShippingOnFullReturn: true, returnLabels: { easypost: { baseUrl: easypost.url } } };
  config.products.push(
    { sku: 'RET-MUG', name: 'Mug', category: 'kitchen', weightGrams: 350 },
    { sku: 'RET-TEE-M', name: 'Tee M', category: 'apparel', weightGrams: 180 },
    { sku: 'RET-TEE-L', name: 'Tee L', category: 'apparel', weightGrams: 190 },
    { sku: 'RET-GLASSES', name: 'Sunglasses', category: 'accessories', weightGrams: 90 },
  );
  config.stock.push(
    { warehouse: 'us-east', sku: 'RET-MUG', onHand: 40 }, { warehouse: 'us-east', sku: 'RET-TEE-M', onHand: 40 },
    { warehouse: 'us-east', sku: 'RET-TEE-L', onHand: 40 }, { warehouse: 'us-east', sku: 'RET-GLASSES', onHand: 40 },
  );
  t = await startTestHub('returns', ['worker'], { config, env: secrets });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
});
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
  await stripeApi?.close();
  await easypost?.close();
});

// --- driving an order to delivered with the real services -------------------------------

let n = 0;
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const api = <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => adminJson<T>(hub, path, init);
type Detail = { id: string; orderNumber: string; status: string; fulfillmentStatus: string; paymentStatus: string; timeline: { type: string; reason: string | null }[]; exceptions: { type: string; status: string; owner: string }[]; returns: Rma[]; exchangeFor: { rmaId: string; orderId: string } | null };
type Rma = { id: string; orderId: string; status: string; kind: string; reasons: { code: string; sku?: string }[]; warehouse: string | null; carrier: string | null; trackingCode: string | null; labelUrl: string | null; refundAmount: number | null; exchangeOrderId: string | null; lines: { sku: string; quantity: number; receivedQuantity: number; resellableQuantity: number }[] };
const detail = async (id: string) => (await api<Detail>(`/orders/${id}`)).body;
const rma = async (id: string) => (await api<Rma>(`/returns/${id}`)).body;
const onHand = async (sku: string) => (await hub.db.query<{ onHand: number }>(`SELECT on_hand AS "onHand" FROM inventory WHERE warehouse = 'us-east' AND sku = $1`, [sku])).rows[0]!.onHand;
const outbox = async (routingKey: string, where: string, params: unknown[]) =>
  (await hub.db.query<{ body: CloudEvent<Record<string, unknown>> }>(`SELECT body FROM outbox WHERE routing_key = $1 AND ${where} ORDER BY id`, [routingKey, ...params])).rows.map((r) => r.body);

/** The WMS publishing a CloudEvent to the hub's warehouse-events queue. */
async function wms(type: string, data: Record<string, unknown>, id = `wms-ret-${++n}`): Promise<void> {
  usEast.publish(type, data, id);
  await settled(hub);
}

async function stripePaid(orderId: string, paymentId: string, amount: number): Promise<void> {
  const payload = JSON.stringify({
    id: `evt_${paymentId}`, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type: 'payment_intent.succeeded',
    data: { object: { id: paymentId, object: 'payment_intent', amount, amount_received: amount, currency: 'usd', status: 'succeeded', metadata: { hub_order_id: orderId }, payment_method_types: ['card'], latest_charge: `ch_${paymentId}`, created: Math.floor(Date.now() / 1000) } },
  });
  const response = await hub.app.request('/webhooks/payments/stripe', { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: secrets.STRIPE_WEBHOOK_SECRET }) } });
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
}

async function easypostDelivered(trackingCode: string): Promise<void> {
  const response = await postEasyPostDelivered(hub, secrets.EASYPOST_WEBHOOK_SECRET, trackingCode, `evt_${trackingCode}`);
  expect(response.status).toBe(200);
  await settled(hub);
}

/**
 * An order taken all the way: received from the website, paid through Stripe (or by the
 * channel), released to us-east, shipped with FedEx, delivered according to EasyPost.
 */
async function deliveredOrder(order: CanonicalOrder, paymentId: string | null): Promise<Detail> {
  n += 1;
  const response = await postWebsiteOrder(hub, { ...order, payment: { method: 'card', provider: 'stripe', status: paymentId ? 'pending' : 'paid' } }, secrets.WEBSITE_WEBHOOK_SECRET, `ret-${n}`);
  expect(response.status).toBe(200);
  await settled(hub);
  const list = await api<{ items: { id: string }[] }>(`/orders?channel=website&externalId=${order.externalId}`);
  const id = list.body.items[0]!.id;
  if (paymentId) await stripePaid(id, paymentId, order.totals.grandTotal);
  const request = await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.requested' && e.data.orderId === id), 10_000, 'the fulfilment request');
  const trackingCode = `FX-${id.slice(0, 8)}`;
  await wms('fulfillment.shipped', { shipmentId: request.data.shipmentId, carrier: 'fedex', trackingNumber: trackingCode, lines: request.data.lines });
  await easypostDelivered(trackingCode);
  const delivered = await detail(id);
  expect(delivered).toMatchObject({ status: 'delivered', fulfillmentStatus: 'delivered' });
  return delivered;
}

const askReturn = (orderId: string, body: Record<string, unknown>, key?: string) =>
  api<Rma & { code?: string; problems?: { path: string }[] }>(`/orders/${orderId}/returns`, { method: 'POST', body: JSON.stringify(body), headers: key ? { 'idempotency-key': key } : {} });

// --- the paths ----------------------------------------------------------------------------

describe('a refund, in two parts', () => {
  let order: Detail;
  let first: Rma;

  it('delivered → requested → approved → EasyPost label → the warehouse told → received → refunded through Stripe and restocked', async () => {
    // given an order of 2 mugs at 15.00 with 4.99 shipping, paid through Stripe and delivered
    order = await deliveredOrder(anOrder({
      channel: 'website', externalId: 'RET-REFUND-1', shippingAddress: kentucky, customer: { id: 'c-ret', email: 'rita.return@example.com', phone: null, name: 'Rita', locale: 'en' },
      lines: [orderLine('RET-MUG', 2, { unitPrice: 1500 })],
      totals: { subtotal: 3000, discounts: 0, shipping: 499, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 3499 },
    }), 'pi_ret_1');
    const stockBefore = await onHand('RET-MUG');

    // when the customer asks (through an operator) to send one mug back, and the request is retried
    const asked = await askReturn(order.id, { kind: 'refund', reason: 'chipped', lines: [{ sku: 'RET-MUG', quantity: 1 }] }, 'key-refund-1');
    expect(asked.status).toBe(201);
    first = asked.body;
    expect(first).toMatchObject({ id: `${order.orderNumber}-R1`, status: 'approved', kind: 'refund', warehouse: 'us-east', reasons: [] });
    const again = await askReturn(order.id, { kind: 'refund', reason: 'chipped', lines: [{ sku: 'RET-MUG', quantity: 1 }] }, 'key-refund-1');
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.id);
    expect((await api<{ items: Rma[] }>(`/returns?orderId=${order.id}`)).body.items).toHaveLength(1);
    const reused = await askReturn(order.id, { kind: 'refund', reason: 'other', lines: [{ sku: 'RET-MUG', quantity: 1 }] }, 'key-refund-1');
    expect(reused.status).toBe(409);
    await settled(hub);

    // then EasyPost sold one label for it, the customer got it, and the warehouse expects the mug
    const labelled = await eventually(async () => ((await rma(first.id)).status === 'in_transit' ? rma(first.id) : undefined), 10_000, 'the label');
    expect(easypost.purchases).toHaveLength(1);
    expect(easypost.shipments[0]).toMatchObject({ reference: first.id, is_return: true });
    expect(labelled).toMatchObject({ carrier: 'FedEx', trackingCode: expect.stringMatching(/^1Z/), labelUrl: expect.stringMatching(/^https?:\/\//) });
    const expected = await eventually(async () => usEast.received.find((e) => e.type === 'return.expected' && e.data.rmaId === first.id), 10_000, 'return.expected');
    expect(expected.data).toMatchObject({ warehouse: 'us-east', lines: [{ sku: 'RET-MUG', quantity: 1 }], trackingCode: labelled.trackingCode });
    const told = await outbox('customer.notification_requested', `body->'data'->>'orderId' = $2`, [order.id]);
    expect(told.map((e) => e.data.template)).toEqual(expect.arrayContaining(['return_approved', 'return_label']));
    expect(told.find((e) => e.data.template === 'return_label')?.data).toMatchObject({ rmaId: first.id, labelUrl: labelled.labelUrl });

    // when the warehouse receives it, fit to sell again
    await wms('return.received', { rmaId: first.id, lines: [{ sku: 'RET-MUG', quantity: 1, resellable: 1 }] }, 'wms-receipt-1');

    // then Stripe refunded one mug (no shipping: a mug is still with the customer), once
    const refunded = await rma(first.id);
    expect(refunded).toMatchObject({ status: 'refunded', refundAmount: 1500, lines: [{ sku: 'RET-MUG', quantity: 1, receivedQuantity: 1, resellableQuantity: 1 }] });
    expect(stripeApi.refunds.map((r) => [r.paymentId, r.amount])).toEqual([['pi_ret_1', 1500]]);
    expect(await onHand('RET-MUG')).toBe(stockBefore + 1);
    const after = await detail(order.id);
    expect(after.status).toBe('delivered'); // a partial return leaves the order where it is
    expect(after.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['return.requested', 'return.approved', 'return.label_created', 'return.received', 'refund.requested', 'return.refunded']));
    expect(after.returns.map((r) => [r.id, r.status])).toEqual([[first.id, 'refunded']]);
    expect((await outbox('customer.notification_requested', `body->'data'->>'orderId' = $2 AND body->'data'->>'template' = 'refund_issued'`, [order.id]))[0]?.data).toMatchObject({ amount: '15.00' });
  });

  it('the same receipt again, redelivered or re-sent under a new id, changes nothing', async () => {
    const stock = await onHand('RET-MUG');
    await wms('return.received', { rmaId: first.id, lines: [{ sku: 'RET-MUG', quantity: 1, resellable: 1 }] }, 'wms-receipt-1');
    await wms('return.received', { rmaId: first.id, lines: [{ sku: 'RET-MUG', quantity: 1, resellable: 1 }] });
    expect(await onHand('RET-MUG')).toBe(stock);
    expect(stripeApi.refundsCreated).toBe(1);
    expect((await rma(first.id)).status).toBe('refunded');
    const { rows } = await hub.db.query(`SELECT 1 FROM exceptions WHERE type = 'return_mismatch' AND order_id = $1`, [order.id]);
    expect(rows).toHaveLength(0);
  });

  it('the last unit back: the rest of the money with the shipping, a damaged unit not restocked, the order returned', async () => {
    // a label a person attaches this time: the carrier refuses to make one
    easypost.refuseNext('create', 422, { code: 'ADDRESS.VERIFY.FAILURE', message: 'Unable to verify address.' });
    const asked = await askReturn(order.id, { kind: 'refund', reason: 'chipped too', lines: [{ sku: 'RET-MUG', quantity: 1 }] });
    expect(asked.body).toMatchObject({ id: `${order.orderNumber}-R2`, status: 'approved' });
    const second = asked.body.id;
    await settled(hub);
    const needed = (await detail(order.id)).exceptions.filter((e) => e.type === 'return_label_needed');
    expect(needed).toEqual([expect.objectContaining({ status: 'open', owner: 'customer-service' })]);
    expect((await rma(second)).status).toBe('approved');

    const bad = await api(`/returns/${second}/label`, { method: 'POST', body: JSON.stringify({ carrier: 'fedex', trackingCode: 'has space' }) });
    expect(bad.status).toBe(400);
    const attached = await api<Rma>(`/returns/${second}/label`, { method: 'POST', body: JSON.stringify({ carrier: 'fedex', trackingCode: 'FX-BYHAND-2', labelUrl: 'https://labels.example/FX-BYHAND-2.pdf' }) });
    expect(attached.status).toBe(200);
    expect(attached.body).toMatchObject({ status: 'in_transit', carrier: 'fedex', trackingCode: 'FX-BYHAND-2' });
    const twice = await api(`/returns/${second}/label`, { method: 'POST', body: JSON.stringify({ carrier: 'fedex', trackingCode: 'FX-AGAIN', labelUrl: 'https://labels.example/x.pdf' }) });
    expect(twice.status, JSON.stringify(twice.body)).toBe(409);
    await settled(hub);
    expect((await detail(order.id)).exceptions.filter((e) => e.type === 'return_label_needed').map((e) => e.status)).toEqual(['resolved']);
    await eventually(async () => usEast.received.find((e) => e.type === 'return.expected' && e.data.rmaId === second), 10_000, 'return.expected');

    // the mug comes back broken
    const stock = await onHand('RET-MUG');
    await wms('return.received', { rmaId: second, lines: [{ sku: 'RET-MUG', quantity: 1, resellable: 0 }] });
    expect(await onHand('RET-MUG')).toBe(stock);
    expect(await rma(second)).toMatchObject({ status: 'refunded', refundAmount: 1500 + 499 });
    expect(stripeApi.refunds.map((r) => r.amount)).toEqual([1500, 1999]);
    expect(stripeApi.refunds.reduce((s, r) => s + r.amount, 0)).toBe(3499);
    const after = await detail(order.id);
    expect(after).toMatchObject({ status: 'returned', fulfillmentStatus: 'returned' });
    // nothing left to give back: a third request is refused
    const third = await askReturn(order.id, { kind: 'refund', reason: 'again', lines: [{ sku: 'RET-MUG', quantity: 1 }] });
    expect(third.body).toMatchObject({ status: 'rejected', reasons: [expect.objectContaining({ code: 'not_delivered' })] });
  });
});

describe('an exchange', () => {
  it('produces a new order, paid by the returned goods, that goes through the pipeline to the warehouse queue, linked both ways', async () => {
    const order = await deliveredOrder(anOrder({
      channel: 'website', externalId: 'RET-EXCHANGE-1', shippingAddress: kentucky, customer: { id: 'c-ex', email: 'eli.exchange@example.com', phone: null, name: 'Eli', locale: 'zh-TW' },
      lines: [orderLine('RET-TEE-M', 1, { unitPrice: 2000, discount: 200, tax: 150 })],
      totals: { subtotal: 2000, discounts: 200, shipping: 0, tax: 150, taxIncluded: false, otherCharges: 0, grandTotal: 1950 },
    }), null);
    const asked = await askReturn(order.id, { kind: 'exchange', reason: 'too small', lines: [{ sku: 'RET-TEE-M', quantity: 1, exchangeSku: 'RET-TEE-L' }] });
    expect(asked.body).toMatchObject({ status: 'approved', kind: 'exchange' });
    const id = asked.body.id;
    await eventually(async () => ((await rma(id)).status === 'in_transit' ? true : undefined), 10_000, 'the label');
    const stockM = await onHand('RET-TEE-M');

    await wms('return.received', { rmaId: id, lines: [{ sku: 'RET-TEE-M', quantity: 1, resellable: 1 }] });
    await settled(hub);

    const exchanged = await rma(id);
    expect(exchanged).toMatchObject({ status: 'exchanged', exchangeOrderId: expect.any(String) });
    expect(await onHand('RET-TEE-M')).toBe(stockM + 1);
    const newId = exchanged.exchangeOrderId!;
    // the new order reached the warehouse as any paid order does
    const request = await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.requested' && e.data.orderId === newId), 10_000, 'the exchange fulfilment request');
    expect(request.data.lines).toEqual([expect.objectContaining({ sku: 'RET-TEE-L', quantity: 1 })]);
    const created = await detail(newId);
    expect(created).toMatchObject({ status: 'released', paymentStatus: 'paid', exchangeFor: { rmaId: id, orderId: order.id } });
    expect(created.timeline.map((e) => e.type)).toEqual(expect.arrayContaining(['order.received', 'order.validated', 'order.allocated', 'fulfillment.requested']));
    const { rows } = await hub.db.query(`SELECT data FROM orders WHERE id = $1`, [newId]);
    expect(rows[0].data).toMatchObject({
      externalId: id, payment: { provider: 'exchange', status: 'paid' },
      totals: { subtotal: 2000, discounts: 200, shipping: 0, tax: 150, grandTotal: 1950 },
    });
    const original = await detail(order.id);
    expect(original.timeline.find((e) => e.type === 'return.exchanged')?.reason).toContain(created.orderNumber);
    expect(original.returns[0]).toMatchObject({ id, exchangeOrderId: newId });
    expect(original.status).toBe('returned');
    expect(stripeApi.refunds.filter((r) => r.paymentId !== 'pi_ret_1')).toEqual([]);
  });
});

describe('returns refused, and receipts that do not fit', () => {
  let order: Detail;

  beforeAll(async () => {
    order = await deliveredOrder(anOrder({
      channel: 'website', externalId: 'RET-RULES-1', shippingAddress: kentucky, customer: { id: 'c-rules', email: 'rui.rules@example.com', phone: null, name: 'Rui', locale: 'zh-CN' },
      lines: [orderLine('RET-GLASSES', 1, { unitPrice: 5000 }), orderLine('RET-MUG', 1, { unitPrice: 1500 })],
    }), 'pi_ret_3');
  });

  it('rejects by rule, with every reason, on the timeline and told to the customer', async () => {
    const asked = await askReturn(order.id, { kind: 'refund', reason: 'changed my mind', lines: [{ sku: 'RET-GLASSES', quantity: 1 }, { sku: 'RET-MUG', quantity: 2 }, { sku: 'NOT-ON-ORDER', quantity: 1 }] });
    expect(asked.status).toBe(201);
    expect(asked.body).toMatchObject({ status: 'rejected' });
    expect(asked.body.reasons.map((r) => [r.code, r.sku])).toEqual([['non_returnable', 'RET-GLASSES'], ['more_than_delivered', 'RET-MUG'], ['unknown_sku', 'NOT-ON-ORDER']]);
    await settled(hub);
    const d = await detail(order.id);
    expect(d.timeline.find((e) => e.type === 'return.rejected')?.reason).toContain('cannot be returned');
    const told = await outbox('customer.notification_requested', `body->'data'->>'orderId' = $2 AND body->'data'->>'template' = 'return_rejected'`, [order.id]);
    expect(told[0]?.data.reason).toContain('accessories');
    expect(easypost.shipments.filter((s) => s.reference === asked.body.id)).toEqual([]);
    expect((await api<{ items: Rma[] }>('/returns?status=rejected')).body.items.map((r) => r.id)).toContain(asked.body.id);
  });

  it('rejects outside the return window (the clock moved 31 days on)', async () => {
    const later = new Date(Date.now() + 31 * 86_400_000);
    const { rma: late } = await withTransaction(hub.db, async (tx) =>
      requestReturn(tx, { ...hub.ctx, now: () => later }, (await lockOrder(tx, order.id))!, { kind: 'refund', reason: 'late', lines: [{ sku: 'RET-MUG', quantity: 1 }] }, 'customer:website'));
    expect(late).toMatchObject({ status: 'rejected', reasons: [expect.objectContaining({ code: 'outside_window' })] });
  });

  it('answers bad input with a 4xx problem', async () => {
    const bad = await askReturn(order.id, { kind: 'exchange', reason: 'x', lines: [{ sku: 'RET-MUG', quantity: 1 }] });
    expect(bad.status).toBe(400);
    expect(bad.body.problems?.map((p) => p.path)).toEqual(['/lines/0/exchangeSku']);
    expect((await askReturn(order.id, { kind: 'refund', lines: [] })).status).toBe(400);
    expect((await askReturn('00000000-0000-4000-8000-000000000000', { kind: 'refund', reason: 'x', lines: [{ sku: 'RET-MUG', quantity: 1 }] })).status).toBe(404);
    const malformed = await hub.app.request(`/api/orders/${order.id}/returns`, { method: 'POST', body: '{', headers: { authorization: `Bearer ${adminToken}` } });
    expect(malformed.status).toBe(400);
    expect(malformed.headers.get('content-type')).toBe('application/problem+json');
    expect((await api('/returns/NOPE')).status).toBe(404);
    expect((await api('/returns?status=lost')).status).toBe(400);
  });

  it('the customer asks from the website (a signed call): decided by the same rules; a malformed call is a 422', async () => {
    const call = (body: Record<string, unknown>, eventId: string) => {
      const text = JSON.stringify(body);
      return hub.app.request('/webhooks/customers/website', {
        method: 'POST', body: text,
        headers: { 'content-type': 'application/json', 'x-hub-signature': signHubPayload(text, secrets.WEBSITE_WEBHOOK_SECRET, Math.floor(Date.now() / 1000)), 'x-hub-event-id': eventId },
      });
    };
    const answer = await call({ type: 'return.requested', externalId: 'RET-RULES-1', kind: 'refund', reason: 'not my style', lines: [{ sku: 'RET-GLASSES', quantity: 1 }] }, 'cust-ret-1');
    expect(answer.status, await answer.clone().text()).toBe(200);
    const { result: body } = (await answer.json()) as { result: { rmaId: string; returnStatus: string; reasons: { code: string }[] } };
    expect(body).toMatchObject({ returnStatus: 'rejected', reasons: [{ code: 'non_returnable' }] });
    expect(await rma(body.rmaId)).toMatchObject({ status: 'rejected', orderId: order.id });
    const { rows } = await hub.db.query(`SELECT requested_by FROM returns WHERE id = $1`, [body.rmaId]);
    expect(rows[0].requested_by).toBe('customer:website');
    const malformed = await call({ type: 'return.requested', externalId: 'RET-RULES-1', kind: 'swap', lines: [] }, 'cust-ret-2');
    expect(malformed.status).toBe(422);
  });

  it('a receipt for an unknown RMA, or with more units than it has, changes nothing and opens an exception', async () => {
    const asked = await askReturn(order.id, { kind: 'refund', reason: 'scratched', lines: [{ sku: 'RET-MUG', quantity: 1 }] });
    expect(asked.body.status).toBe('approved');
    await settled(hub);
    const stock = await onHand('RET-MUG');

    await wms('return.received', { rmaId: 'HUB-20990101-00000001-R9', lines: [{ sku: 'RET-MUG', quantity: 1, resellable: 1 }] });
    await wms('return.received', { rmaId: asked.body.id, lines: [{ sku: 'RET-MUG', quantity: 3, resellable: 3 }] });

    expect(await onHand('RET-MUG')).toBe(stock);
    expect((await rma(asked.body.id)).status).toBe('in_transit');
    const { rows } = await hub.db.query<{ reason: string; orderId: string | null; owner: string }>(`SELECT reason, order_id AS "orderId", owner FROM exceptions WHERE type = 'return_mismatch' ORDER BY id`);
    expect(rows).toEqual([
      expect.objectContaining({ orderId: null, owner: 'operations', reason: expect.stringContaining('no RMA the hub knows') }),
      expect.objectContaining({ orderId: order.id, reason: expect.stringContaining(`3 × RET-MUG received, but ${asked.body.id} has 1`) }),
    ]);
    const { rows: parked } = await hub.db.query(`SELECT 1 FROM exceptions WHERE type = 'poison_message'`);
    expect(parked).toHaveLength(0);
  });
});
