// A paid order cancelled before release, its money taken through Adyen, refunded through the
// real hub (RabbitMQ, Postgres, Redis) and a loopback imitation of Adyen's refunds API. Adyen
// takes an idempotency key of at most 64 characters: a refund whose key is longer is refused
// before it is sent and ends with finance as a refund by hand.
import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { refundKey, reportUnconfirmedRefunds } from '../core/stages/refunds.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { eventually } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { ADYEN_STUB_KEY, ADYEN_STUB_MERCHANT, startProviderStub, type ProviderStub } from './support/provider-stub.ts';

const ADYEN_HMAC_KEY = '44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056';
const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-adyen-refunds', ADYEN_HMAC_KEY, ADYEN_API_KEY: ADYEN_STUB_KEY };
const TOTAL = 4_200;
/** the payments' pspReferences, as Adyen's AUTHORISATION names them */
const PAYMENTS = ['8815990000000001', '8815990000000002'];
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let adyenApi: ProviderStub;

beforeAll(async () => {
  adyenApi = await startProviderStub({ provider: 'adyen', payments: Object.fromEntries(PAYMENTS.map((psp) => [psp, { amount: TOTAL, currency: 'EUR' }])) });
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, refunds: { adyen: { baseUrl: adyenApi.url, merchantAccount: ADYEN_STUB_MERCHANT } } };
  // Nothing in stock: the paid order waits (backordered), so the shop's cancellation ends it before release.
  config.products.push({ sku: 'ADYEN-KETTLE', name: 'Kettle', category: 'kitchen', weightGrams: 1_200 });
  config.stock.push({ warehouse: 'eu-central', sku: 'ADYEN-KETTLE', onHand: 0 });
  t = await startTestHub('adyenrefund', ['worker'], { config, env: secrets });
  hub = t.hub;
});
afterAll(async () => {
  await t?.stop();
  await adyenApi?.close();
});

type Detail = { id: string; orderNumber: string; status: string; paymentStatus: string; exceptions: { type: string; reason: string }[] };
const api = <T = Record<string, unknown>>(path: string, init: RequestInit = {}) => adminJson<T>(hub, path, init);
const detail = async (id: string) => (await api<Detail>(`/orders/${id}`)).body;
let n = 0;

/** One notification item signed as Adyen signs it (test/fixtures/adyen/authorisation.success.md). */
function adyenItem(fields: { pspReference: string; originalReference?: string; merchantReference: string; eventCode: string; value: number }) {
  const item = {
    pspReference: fields.pspReference, originalReference: fields.originalReference ?? '', merchantAccountCode: ADYEN_STUB_MERCHANT, merchantReference: fields.merchantReference,
    amount: { value: fields.value, currency: 'EUR' }, eventCode: fields.eventCode, eventDate: new Date().toISOString(), paymentMethod: 'visa', success: 'true',
  };
  const signed = [item.pspReference, item.originalReference, item.merchantAccountCode, item.merchantReference, String(item.amount.value), item.amount.currency, item.eventCode, item.success].join(':');
  return { NotificationRequestItem: { ...item, additionalData: { hmacSignature: createHmac('sha256', Buffer.from(ADYEN_HMAC_KEY, 'hex')).update(signed).digest('base64') } } };
}

/** Adyen's AUTHORISATION, then its CAPTURE, for the hub's order number: the order is paid. */
async function paidThroughAdyen(orderNumber: string, psp: string): Promise<void> {
  const notifications = [
    adyenItem({ pspReference: psp, merchantReference: orderNumber, eventCode: 'AUTHORISATION', value: TOTAL }),
    adyenItem({ pspReference: `${psp}C`, originalReference: psp, merchantReference: orderNumber, eventCode: 'CAPTURE', value: TOTAL }),
  ];
  for (const item of notifications) {
    const response = await hub.app.request('/webhooks/payments/adyen', { method: 'POST', body: JSON.stringify({ live: 'false', notificationItems: [item] }), headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('[accepted]');
    await settled(hub);
  }
}

/** A website order paid through Adyen and still before release. */
async function paidOrder(psp: string): Promise<{ id: string; order: CanonicalOrder }> {
  n += 1;
  const order = anOrder({
    channel: 'website', externalId: `ADYEN-REFUND-${n}`, currency: 'EUR', shippingAddress: shippingAddress('DE', null, { postalCode: '10115', city: 'Berlin' }),
    payment: { method: 'card', provider: 'adyen', status: 'pending' }, lines: [orderLine('ADYEN-KETTLE', 1, { unitPrice: TOTAL })],
  });
  const response = await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `adyen-refund-${n}`);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
  const id = (await api<{ items: { id: string }[] }>(`/orders?channel=website&externalId=${order.externalId}`)).body.items[0]!.id;
  await paidThroughAdyen((await detail(id)).orderNumber, psp);
  expect((await detail(id)).paymentStatus).toBe('paid');
  return { id, order };
}

/** The shop cancels the order; the refunds stage has answered once its row is no longer `requested`. */
async function cancelled(id: string, order: CanonicalOrder): Promise<{ id: string; status: string; provider_refund_id: string | null }[]> {
  const response = await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, `adyen-refund-cancel-${id}`, 'order.cancelled');
  expect(response.status, await response.clone().text()).toBe(200);
  // The refunds stage may be waiting on Adyen (the client's backoff) with nothing in any queue: wait for its row.
  const rows = await eventually(async () => {
    const { rows } = await hub.db.query<{ id: string; status: string; provider_refund_id: string | null }>(`SELECT id, status, provider_refund_id FROM refunds WHERE order_id = $1`, [id]);
    return rows.length > 0 && rows.every((r) => r.status !== 'requested') ? rows : undefined;
  }, 20_000, 'the refund answered');
  await settled(hub);
  expect((await detail(id)).status).toBe('cancelled');
  return rows;
}

const requestsFor = (psp: string) => adyenApi.requests.filter((r) => r.path === `/v71/payments/${psp}/refunds`);
const refundNeeded = async (id: string) => (await hub.db.query(`SELECT reason FROM exceptions WHERE order_id = $1 AND type = 'refund_needed'`, [id])).rows;
/** What became of the order's refunds, for a failure's message: the rows and finance's exceptions. */
const whatBecame = async (id: string) => JSON.stringify({
  refunds: (await hub.db.query(`SELECT id, status, error FROM refunds WHERE order_id = $1`, [id])).rows,
  refundNeeded: await refundNeeded(id),
});

describe('an order paid through Adyen, cancelled before release', () => {
  it('is refunded through Adyen: one request, a key Adyen takes, the refund pending with its pspReference', async () => {
    const psp = PAYMENTS[0]!;
    const { id, order } = await paidOrder(psp);

    const rows = await cancelled(id, order);

    const requests = requestsFor(psp);
    expect(requests.map((r) => r.outcome), await whatBecame(id)).toEqual(['created']);
    const key = requests[0]!.idempotencyKey!;
    expect(key.length).toBeLessThanOrEqual(64);
    expect(requests[0]!.params).toMatchObject({ merchantAccount: ADYEN_STUB_MERCHANT, amount: { value: TOTAL, currency: 'EUR' }, reference: key });
    expect(adyenApi.refunds.filter((r) => r.paymentId === psp)).toEqual([expect.objectContaining({ amount: TOTAL, idempotencyKey: key })]);
    const made = adyenApi.refunds.find((r) => r.paymentId === psp)!;
    expect(rows).toEqual([{ id: key, status: 'pending', provider_refund_id: made.id }]);
    expect(await refundNeeded(id)).toEqual([]);
  });

  it('sends the same key on every retry, the client\'s and the redelivery\'s, and Adyen makes one refund', async () => {
    const psp = PAYMENTS[1]!;
    const { id, order } = await paidOrder(psp);
    // Four 500s: the client's own attempts run out (1 + 3 retries), the stage's message is
    // retried, and the redelivery's request goes through.
    adyenApi.failNext(4);

    const rows = await cancelled(id, order);

    const requests = requestsFor(psp);
    expect(requests.map((r) => r.outcome), await whatBecame(id)).toEqual(['fault', 'fault', 'fault', 'fault', 'created']);
    const keys = new Set(requests.map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
    const [key] = keys;
    expect(key!.length).toBeLessThanOrEqual(64);
    expect(adyenApi.refunds.filter((r) => r.paymentId === psp)).toHaveLength(1);
    expect(rows).toEqual([{ id: key, status: 'pending', provider_refund_id: adyenApi.refunds.find((r) => r.paymentId === psp)!.id }]);
    expect(await refundNeeded(id)).toEqual([]);
  });
});

describe('a refund Adyen took as pending', () => {
  it('never confirmed: finance is asked to check it after 14 days, once; one whose REFUND notification came is left alone', async () => {
    // the two refunds above are pending; Adyen confirms the first one's
    const confirmed = adyenApi.refunds.find((r) => r.paymentId === PAYMENTS[0])!;
    const { rows: [first] } = await hub.db.query<{ orderNumber: string }>(
      `SELECT o.order_number AS "orderNumber" FROM refunds r JOIN orders o ON o.id = r.order_id WHERE r.payment_id = $1`, [PAYMENTS[0]]);
    const item = adyenItem({ pspReference: confirmed.id, originalReference: PAYMENTS[0], merchantReference: first!.orderNumber, eventCode: 'REFUND', value: TOTAL });
    const response = await hub.app.request('/webhooks/payments/adyen', { method: 'POST', body: JSON.stringify({ live: 'false', notificationItems: [item] }), headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    await settled(hub);

    expect(await reportUnconfirmedRefunds(hub.db, hub.ctx)).toEqual({ unconfirmed: 0 }); // not 14 days yet
    const later = { ...hub.ctx, now: () => new Date(Date.now() + 15 * 86_400_000) };
    expect(await reportUnconfirmedRefunds(hub.db, later)).toEqual({ unconfirmed: 1 });
    expect(await reportUnconfirmedRefunds(hub.db, later)).toEqual({ unconfirmed: 0 }); // once
    const { rows } = await hub.db.query<{ reason: string; details: { paymentId: string } }>(
      `SELECT reason, details FROM exceptions WHERE type = 'refund_needed' AND message_id LIKE 'refund-unconfirmed:%'`);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details.paymentId).toBe(PAYMENTS[1]);
    expect(rows[0]!.reason).toMatch(/still pending after 14 days and the ledger shows no refund: check it with adyen/);
  });
});

describe('refundKey', () => {
  const order = '370d37ed-dcbc-4217-97ab-8857bce68e5f';
  const event = 'e95a3a2d-63c6-4c53-90b3-95bcf7ea53f2';

  it('is the readable cause where the provider takes it, and the same each time', () => {
    const key = refundKey(order, event, 'stripe', 'pi_3MtwBwLkdIwHu7ix28a3tqPa', 255);
    expect(key).toBe(`refund:${order}:${event}:stripe:pi_3MtwBwLkdIwHu7ix28a3tqPa`);
    expect(refundKey(order, event, 'stripe', 'pi_3MtwBwLkdIwHu7ix28a3tqPa', 255)).toBe(key);
  });

  it('is a 50-character digest where the readable one is too long (Adyen: 64), the same each time for the same cause', () => {
    const key = refundKey(order, event, 'adyen', '8815990000000001', 64);
    expect(key).toMatch(/^refund:[A-Za-z0-9_-]{43}$/);
    expect(refundKey(order, event, 'adyen', '8815990000000001', 64)).toBe(key);
    expect(refundKey(order, event, 'stripe', `pi_${'x'.repeat(300)}`, 255)).toHaveLength(50);
  });

  it('differs for another order, cause, provider or payment', () => {
    const keys = [
      refundKey(order, event, 'adyen', '8815990000000001', 64),
      refundKey('a0c2b7e4-5d1f-4c3a-9b8e-7f6d5c4b3a21', event, 'adyen', '8815990000000001', 64),
      refundKey(order, '0b9f8e7d-6c5b-4a39-8271-605f4e3d2c1b', 'adyen', '8815990000000001', 64),
      refundKey(order, event, 'stripe', '8815990000000001', 64),
      refundKey(order, event, 'adyen', '8815990000000002', 64),
    ];
    expect(new Set(keys).size).toBe(keys.length);
  });
});
