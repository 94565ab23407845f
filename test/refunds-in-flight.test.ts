// Two refund causes for one order close together, through the real hub (RabbitMQ, Postgres,
// Redis) and a loopback imitation of Stripe's refunds API: the customer takes what is in
// stock (`order.reduced`, part of the money back), then the order is cancelled (the rest).
// A refund the hub asked for reaches the ledger only when the provider's notification comes,
// so the second cause must count what the hub already asked for — and, once the notification
// is in, must not count that refund twice. Where the ledger cannot tell whether a refund is
// one the hub asked for, the hub gives back no more than it is sure of and tells finance.
import amqp from 'amqplib';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { eventually } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startProviderStub, STRIPE_STUB_KEY, type ProviderStub } from './support/provider-stub.ts';

const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-in-flight', STRIPE_WEBHOOK_SECRET: 'whsec_in_flight', STRIPE_API_KEY: STRIPE_STUB_KEY };
const sdk = new Stripe('sk_test_unused');
const TOTAL = 3_500;
const PAYMENTS = ['pi_flight_1', 'pi_flight_2', 'pi_flight_3'];
/** a payment Stripe's refunds API does not know: every refund of it is refused */
const REFUSED = 'pi_flight_refused';
/** a payment whose refund Stripe makes while every answer is lost on the way back */
const ANSWER_LOST = 'pi_flight_answer_lost';
/** the same, replayed only after Stripe has forgotten the key */
const ANSWER_LOST_LONG = 'pi_flight_answer_lost_long';
/** one order paid in two parts: 10.00 and 25.00 */
const SPLIT = [{ id: 'pi_flight_split_a', amount: 1_000 }, { id: 'pi_flight_split_b', amount: 2_500 }] as const;
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let stripeApi: ProviderStub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  stripeApi = await startProviderStub({
    provider: 'stripe',
    payments: Object.fromEntries([...[...PAYMENTS, ANSWER_LOST, ANSWER_LOST_LONG].map((id) => [id, { amount: TOTAL, currency: 'usd' }]), ...SPLIT.map((p) => [p.id, { amount: p.amount, currency: 'usd' }])]),
  });
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, refunds: { stripe: { baseUrl: stripeApi.url } } };
  config.products.push(
    { sku: 'FLIGHT-MUG', name: 'Mug', category: 'kitchen', weightGrams: 350 },
    { sku: 'FLIGHT-LAMP', name: 'Lamp', category: 'kitchen', weightGrams: 900 },
  );
  config.stock.push({ warehouse: 'us-east', sku: 'FLIGHT-MUG', onHand: 40 }, { warehouse: 'us-east', sku: 'FLIGHT-LAMP', onHand: 0 });
  t = await startTestHub('inflight', ['worker'], { config, env: secrets });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
});
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
  await stripeApi?.close();
});

type Exception = { type: string; status: string; owner: string; reason: string; details: Record<string, unknown> };
type Detail = {
  id: string; status: string; paymentStatus: string; exceptions: Exception[];
  refunds: { provider: string; paymentId: string; amount: number; reason: string; status: string; providerRefundId: string | null }[];
};
const api = <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => adminJson<T>(hub, path, init);
const detail = async (id: string) => (await api<Detail>(`/orders/${id}`)).body;
const refundsNeeded = async (id: string) => (await detail(id)).exceptions.filter((e) => e.type === 'refund_needed');
const madeFor = (paymentId: string) => stripeApi.refunds.filter((r) => r.paymentId === paymentId).map((r) => r.amount);
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
let n = 0;

async function signedStripe(event: Record<string, unknown>): Promise<void> {
  const payload = JSON.stringify({
    object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, ...event,
  });
  const response = await hub.app.request('/webhooks/payments/stripe', {
    method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: secrets.STRIPE_WEBHOOK_SECRET }) },
  });
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
}

const stripePaid = (orderId: string, paymentId: string, amount = TOTAL) => signedStripe({
  id: `evt_paid_${paymentId}`, type: 'payment_intent.succeeded',
  data: { object: { id: paymentId, object: 'payment_intent', amount, amount_received: amount, currency: 'usd', status: 'succeeded', metadata: { hub_order_id: orderId }, payment_method_types: ['card'], latest_charge: `ch_${paymentId}`, created: Math.floor(Date.now() / 1000) } },
});

/**
 * Stripe's `charge.refunded` for the charge of `paymentId`: with the charge's refunds listed
 * (each keyed by its own `re_…` id, as the hub's refund answer named it), or — as API versions
 * since 2022-11-15 send it — with only the running total `amount_refunded`.
 */
function chargeRefunded(orderId: string, paymentId: string, refunds: { id: string; amount: number }[], form: 'listed' | 'total', captured = TOTAL): Promise<void> {
  const total = refunds.reduce((sum, r) => sum + r.amount, 0);
  const charge: Record<string, unknown> = {
    id: `ch_${paymentId}`, object: 'charge', amount: captured, amount_captured: captured, amount_refunded: total, captured: true, refunded: total === captured, currency: 'usd',
    payment_intent: paymentId, metadata: { hub_order_id: orderId }, payment_method_details: { type: 'card', card: { brand: 'visa' } },
  };
  if (form === 'listed') {
    charge.refunds = { object: 'list', has_more: false, url: `/v1/charges/ch_${paymentId}/refunds`, data: refunds.map((r) => ({ id: r.id, object: 'refund', amount: r.amount, currency: 'usd', status: 'succeeded', payment_intent: paymentId, created: 1_700_000_000 })) };
  }
  return signedStripe({ id: `evt_refunded_${paymentId}_${total}`, type: 'charge.refunded', data: { object: charge, previous_attributes: { amount_refunded: 0 } } });
}

/**
 * A paid order of 2 mugs (in stock) and a lamp (none in stock), 35.00 in all: backordered,
 * then the customer takes what is there — the order is cut down to the mugs, released, and
 * 15.00 is due back (`order.reduced`).
 */
async function reducedOrder(pay: (orderId: string) => Promise<void>, payment: CanonicalOrder['payment']): Promise<{ id: string; order: CanonicalOrder }> {
  n += 1;
  const order = anOrder({
    channel: 'website', externalId: `FLIGHT-${n}`, shippingAddress: kentucky, payment,
    lines: [orderLine('FLIGHT-MUG', 2, { unitPrice: 1_000 }), orderLine('FLIGHT-LAMP', 1, { unitPrice: 1_500 })],
  });
  expect(order.totals.grandTotal).toBe(TOTAL);
  const response = await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `flight-${n}`);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
  const id = (await api<{ items: { id: string }[] }>(`/orders?channel=website&externalId=${order.externalId}`)).body.items[0]!.id;
  await pay(id);
  expect(await detail(id)).toMatchObject({ status: 'backordered', paymentStatus: 'paid' });

  const remedy = await api(`/orders/${id}/shortage-remedy`, { method: 'POST', body: JSON.stringify({ choice: 'ship_available' }) });
  expect(remedy.status).toBe(202);
  await settled(hub);
  await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.requested' && e.data.orderId === id), 10_000, 'the fulfilment request');
  expect((await detail(id)).status).toBe('released');
  return { id, order };
}

/** The shop cancels the released order; the warehouse stops the shipment: `order.cancelled`. */
async function cancel(id: string, order: CanonicalOrder): Promise<void> {
  const response = await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `flight-cancel-${id}`, 'order.cancelled');
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
  const request = await eventually(async () => usEast.received.find((e) => e.type === 'fulfillment.cancel_requested' && e.data.orderId === id), 10_000, 'the cancel request');
  usEast.publish('fulfillment.cancelled', { shipmentId: request.data.shipmentId }, `wms-flight-cancelled-${id}`);
  await settled(hub);
  expect((await detail(id)).status).toBe('cancelled');
}

const card: CanonicalOrder['payment'] = { method: 'card', provider: 'stripe', status: 'pending' };

describe('a cancellation after a part refund whose notification has not come yet', () => {
  it('asks Stripe only for what is left, and asks finance for nothing', async () => {
    const paymentId = PAYMENTS[0]!;
    const { id, order } = await reducedOrder((orderId) => stripePaid(orderId, paymentId), card);
    expect(madeFor(paymentId)).toEqual([1_500]);
    const { rows: ledger } = await hub.db.query(`SELECT kind FROM payments WHERE order_id = $1 AND kind = 'refunded'`, [id]);
    expect(ledger).toEqual([]); // Stripe has not told the hub yet

    await cancel(id, order);

    expect(madeFor(paymentId)).toEqual([1_500, 2_000]);
    expect(stripeApi.requests.filter((r) => r.params.payment_intent === paymentId).map((r) => r.outcome)).toEqual(['created', 'created']);
    expect(await refundsNeeded(id)).toEqual([]);
    expect((await detail(id)).refunds.map((r) => [r.reason, r.amount, r.status])).toEqual([['order.reduced', 1_500, 'succeeded'], ['order.cancelled', 2_000, 'succeeded']]);
  });
});

describe('a cancellation after a part refund Stripe has reported, refund by refund', () => {
  it('counts that refund once: the ledger entry is the refund the hub asked for', async () => {
    const paymentId = PAYMENTS[1]!;
    const { id, order } = await reducedOrder((orderId) => stripePaid(orderId, paymentId), card);
    const [first] = stripeApi.refunds.filter((r) => r.paymentId === paymentId);
    await chargeRefunded(id, paymentId, [{ id: first!.id, amount: first!.amount }], 'listed');
    const { rows: ledger } = await hub.db.query(`SELECT entry_id AS "entryId", amount FROM payments WHERE order_id = $1 AND kind = 'refunded'`, [id]);
    expect(ledger).toEqual([{ entryId: first!.id, amount: 1_500 }]);
    expect((await detail(id)).refunds.map((r) => r.providerRefundId)).toEqual([first!.id]);

    await cancel(id, order);

    expect(madeFor(paymentId)).toEqual([1_500, 2_000]);
    expect(await refundsNeeded(id)).toEqual([]);
  });
});

describe('a cancellation after a part refund Stripe reported only as a running total', () => {
  it('gives back no more than is sure to be left, and tells finance what may still be owed', async () => {
    const paymentId = PAYMENTS[2]!;
    const { id, order } = await reducedOrder((orderId) => stripePaid(orderId, paymentId), card);
    await chargeRefunded(id, paymentId, [{ id: 'unused', amount: 1_500 }], 'total');
    const { rows: ledger } = await hub.db.query(`SELECT entry_id AS "entryId", amount FROM payments WHERE order_id = $1 AND kind = 'refunded'`, [id]);
    expect(ledger).toEqual([{ entryId: `ch_${paymentId}:refunded`, amount: 1_500 }]);

    await cancel(id, order);

    // The running total cannot be told apart from the hub's own 15.00: counted as if it were
    // another refund, 5.00 goes back through Stripe and finance checks the other 15.00.
    expect(madeFor(paymentId)).toEqual([1_500, 500]);
    const needed = await refundsNeeded(id);
    expect(needed).toEqual([expect.objectContaining({ owner: 'finance', status: 'open', details: expect.objectContaining({ provider: 'stripe', paymentId, uncertain: 1_500 }) })]);
    expect(needed[0]!.reason).toContain('up to 1500');
    expect((await detail(id)).refunds.map((r) => r.amount)).toEqual([1_500, 500]); // the check is not a refund asked for
  });
});

describe('a part refund Stripe refused, handed to finance, then a cancellation', () => {
  it('counts the part finance pays back: the second exception asks only for the rest', async () => {
    const { id, order } = await reducedOrder((orderId) => stripePaid(orderId, REFUSED), card);
    expect((await refundsNeeded(id)).map((e) => e.details.amount)).toEqual([1_500]);
    // the refused refund is on the books as finance's
    expect((await detail(id)).refunds.map((r) => [r.reason, r.amount, r.status])).toEqual([['by hand', 1_500, 'failed']]);

    await cancel(id, order);

    const requested = stripeApi.requests.filter((r) => r.params.payment_intent === REFUSED);
    expect(requested.map((r) => [r.params.amount, r.outcome])).toEqual([['1500', 'invalid'], ['2000', 'invalid']]);
    expect((await refundsNeeded(id)).map((e) => e.details.amount).sort()).toEqual([1_500, 2_000]);
    expect(stripeApi.refunds.filter((r) => r.paymentId === REFUSED)).toEqual([]);
  });
});

describe('money paid outside any provider, given back by hand twice', () => {
  it('the second exception asks finance only for what is left', async () => {
    const transfer: CanonicalOrder['payment'] = { method: 'bank_transfer', provider: null, status: 'pending' };
    const { id, order } = await reducedOrder(async (orderId) => {
      const recorded = await api(`/orders/${orderId}/payments`, { method: 'POST', body: JSON.stringify({ amount: TOTAL, currency: 'USD', method: 'bank_transfer', reference: `wire-flight-${orderId.slice(0, 8)}` }) });
      expect(recorded.status).toBe(202);
      await settled(hub);
    }, transfer);
    expect((await refundsNeeded(id)).map((e) => e.details.amount)).toEqual([1_500]);

    await cancel(id, order);

    const needed = await refundsNeeded(id);
    expect(needed.map((e) => e.details.amount).sort()).toEqual([1_500, 2_000]);
    expect(needed.find((e) => e.details.amount === 2_000)?.reason).toContain('refund 2000 of manual payment');
    expect((await detail(id)).refunds.map((r) => [r.reason, r.amount, r.status])).toEqual([['by hand', 1_500, 'failed'], ['by hand', 2_000, 'failed']]);
  });
});

/** The refunds message parked on the test's hub and not yet replayed. */
const parkedRefund = () => eventually(async () => {
  const queue = names(hub.namespace).stage('refunds');
  return (await api<{ items: { id: number }[] }>(`/dead-letters?status=parked&queue=${encodeURIComponent(queue)}&limit=500`)).body.items[0];
}, 60_000, 'the refund message parked');

describe('a part refund Stripe made while every answer was lost, replayed once parked', () => {
  // The replay is the same cause with a new message id. Keyed by that id, it would be a new
  // refund to Stripe; keyed by the message it replays, Stripe answers with the one it made.
  it('is the same refund: Stripe replays its answer and makes no second one', { timeout: 90_000 }, async () => {
    for (let i = 0; i < 40; i++) stripeApi.dropNext('after');
    const { id } = await reducedOrder((orderId) => stripePaid(orderId, ANSWER_LOST), card);
    const letter = await parkedRefund();
    expect(madeFor(ANSWER_LOST)).toEqual([1_500]);

    stripeApi.clearFaults();
    expect((await api(`/dead-letters/${letter.id}/replay`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await detail(id)).refunds[0]?.status === 'succeeded' ? true : undefined), 15_000, 'the refund answered');

    expect(madeFor(ANSWER_LOST)).toEqual([1_500]);
    const asked = stripeApi.requests.filter((r) => r.params.payment_intent === ANSWER_LOST);
    expect(new Set(asked.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(asked.at(-1)?.outcome).toBe('replayed');
    expect(await refundsNeeded(id)).toEqual([]);
  });
});

describe('a part refund whose answers were lost, replayed after Stripe forgot its key', () => {
  // Stripe keeps idempotency keys 24 hours: asked again after that, the same key would be a
  // second refund. The hub does not ask; finance checks the payment.
  it('is not asked again: finance gets it by hand, told why', { timeout: 90_000 }, async () => {
    for (let i = 0; i < 40; i++) stripeApi.dropNext('after');
    const { id } = await reducedOrder((orderId) => stripePaid(orderId, ANSWER_LOST_LONG), card);
    const letter = await parkedRefund();
    stripeApi.clearFaults();
    expect(madeFor(ANSWER_LOST_LONG)).toEqual([1_500]);
    await hub.db.query(`UPDATE refunds SET created_at = created_at - interval '25 hours' WHERE order_id = $1`, [id]);
    const asked = stripeApi.requests.length;

    expect((await api(`/dead-letters/${letter.id}/replay`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await detail(id)).refunds[0]?.status === 'failed' ? true : undefined), 15_000, 'the refund handed to finance');

    expect(stripeApi.requests.length).toBe(asked);
    expect(madeFor(ANSWER_LOST_LONG)).toEqual([1_500]);
    expect((await detail(id)).refunds.map((r) => [r.reason, r.amount, r.status])).toEqual([['by hand', 1_500, 'failed']]);
    const needed = await refundsNeeded(id);
    expect(needed).toEqual([expect.objectContaining({ owner: 'finance', status: 'open' })]);
    expect(needed[0]!.reason).toMatch(/never answered; stripe keeps idempotency keys for 24 h, so asking again could refund twice/);
  });
});

describe('a part refund over two payments whose second refund fails until after the first one is reported', () => {
  // 15.00 is due back of an order paid 10.00 + 25.00: all of the first payment and 5.00 of
  // the second. Stripe takes the first refund; the second fails until the message is parked.
  // Meanwhile Stripe reports the first refund. Planned again from that ledger, the first
  // payment would look spent and the second would be asked for the whole 15.00 — 25.00
  // given back. The plan was committed before the calls, so the replay asks for the 5.00.
  it('resumes the plan: the second payment is asked for its 5.00 only', { timeout: 90_000 }, async () => {
    const [a, b] = SPLIT;
    stripeApi.unavailableFor(b.id);
    const { id } = await reducedOrder(async (orderId) => {
      await stripePaid(orderId, a.id, a.amount);
      await stripePaid(orderId, b.id, b.amount);
    }, card);
    const letter = await parkedRefund();
    expect(madeFor(a.id)).toEqual([1_000]);
    expect(madeFor(b.id)).toEqual([]);
    // On the books while the second is still owed: Stripe's report of the first matches it.
    expect((await detail(id)).refunds.map((r) => [r.paymentId, r.amount, r.status])).toEqual([[a.id, 1_000, 'succeeded'], [b.id, 500, 'requested']]);
    const [made] = stripeApi.refunds.filter((r) => r.paymentId === a.id);
    await chargeRefunded(id, a.id, [{ id: made!.id, amount: 1_000 }], 'listed', a.amount);

    stripeApi.unavailableFor();
    expect((await api(`/dead-letters/${letter.id}/replay`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await detail(id)).refunds.find((r) => r.paymentId === b.id)?.status === 'succeeded' ? true : undefined), 15_000, 'the second refund');

    expect(madeFor(a.id)).toEqual([1_000]);
    expect(madeFor(b.id)).toEqual([500]);
    expect(await refundsNeeded(id)).toEqual([]);
    const { rows: told } = await hub.db.query(`SELECT count(*)::int AS n FROM order_events WHERE order_id = $1 AND type = 'refund.requested'`, [id]);
    expect(told).toEqual([{ n: 2 }]);
  });
});

describe('a refund message whose amount is not a whole number of minor units', () => {
  it('is parked at once with why, and nothing is asked of Stripe', async () => {
    const asked = stripeApi.requests.length;
    const connection = await amqp.connect(t.env.amqpUrl);
    try {
      const channel = await connection.createChannel();
      const event = { specversion: '1.0', id: 'bad-refund-due', source: '/test', type: 'order.reduced', time: new Date().toISOString(), datacontenttype: 'application/json', data: { orderId: '00000000-0000-4000-8000-000000000001', refundDue: '15.00' } };
      channel.sendToQueue(names(hub.namespace).stage('refunds'), Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id });
      await channel.close();
    } finally {
      await connection.close();
    }
    const parked = await eventually(async () => {
      const { rows } = await hub.db.query<{ reason: string; attempts: number }>(
        `SELECT reason, attempts FROM dead_letters WHERE message_id = 'bad-refund-due'`);
      return rows[0];
    }, 15_000, 'the message parked');
    expect(parked.reason).toContain('refundDue must be a whole number of minor units');
    expect(parked.attempts).toBe(1);
    expect(stripeApi.requests.length).toBe(asked);
  });
});
