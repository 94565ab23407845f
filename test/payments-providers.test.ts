import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { settled } from './support/hub.ts';
import { startProviderStub, STRIPE_STUB_KEY, type ProviderStub } from './support/provider-stub.ts';

// Provider notifications through the real hub: a Stripe payment that comes before its
// WooCommerce order, twice; a refund the hub asks Stripe for; an Adyen settlement report.
const STRIPE_SECRET = 'whsec_test_providers';
const ADYEN_KEY = '3B6A0F3C1E9D4A7B8C2D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819A2B';
const WC_SECRET = 'wc-secret';
const namespace = testNamespace('providers');
const env = testEnv(namespace, { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, ADYEN_HMAC_KEY: ADYEN_KEY, WOOCOMMERCE_WEBHOOK_SECRET: WC_SECRET, STRIPE_API_KEY: STRIPE_STUB_KEY });
const sdk = new Stripe('sk_test_unused');
let hub: Hub;
let stripeApi: ProviderStub;

beforeAll(async () => {
  stripeApi = await startProviderStub({ provider: 'stripe', payments: { pi_wc_1: { amount: 2935, currency: 'USD' }, pi_wc_2: { amount: 2935, currency: 'USD' } } });
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, links: [{ provider: 'stripe', channel: 'woocommerce' }], refunds: { stripe: { baseUrl: stripeApi.url } } };
  config.products.push({ sku: 'WOO-SINGLE', name: 'Woo Single', category: 'apparel', weightGrams: 100 }, { sku: 'Bar3', name: 'Ship Your Idea', category: 'apparel', weightGrams: 100 });
  config.stock.push({ warehouse: 'us-east', sku: 'WOO-SINGLE', onHand: 10 }, { warehouse: 'us-east', sku: 'Bar3', onHand: 10 });
  config.channels = config.channels.map((c) => (c.code === 'woocommerce' ? { ...c, skuMap: { 'wc-product-93': 'WOO-SINGLE' }, allocation: { strategy: 'priority', allowSplit: false } } : c));
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await stripeApi?.close();
  await removeNamespace(env, hub?.topology);
});

const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
  const response = await hub.app.request(`/api${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });
  return { status: response.status, body: (await response.json()) as T };
};
const stripeEvent = (id: string, type: string, object: Record<string, unknown>) => JSON.stringify({
  id, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type, data: { object },
});
const postStripe = (payload: string) => hub.app.request('/webhooks/payments/stripe', {
  method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
});
// The WooCommerce Stripe gateway puts the WooCommerce order id into the PaymentIntent's metadata.
const succeeded = stripeEvent('evt_pi_wc_1', 'payment_intent.succeeded', {
  id: 'pi_wc_1', object: 'payment_intent', amount: 2935, amount_received: 2935, currency: 'usd', status: 'succeeded',
  metadata: { order_id: '727' }, payment_method_types: ['card'], latest_charge: 'ch_wc_1', created: Math.floor(Date.now() / 1000),
});

describe('a Stripe payment before its WooCommerce order', () => {
  it('is kept unmatched, twice delivered once recorded, and pays the order when the order arrives', async () => {
    expect((await postStripe(succeeded)).status).toBe(200);
    expect((await postStripe(succeeded)).status).toBe(200);
    await settled(hub);
    const { rows: early } = await hub.db.query(`SELECT order_id, kind, amount FROM payments WHERE provider = 'stripe'`);
    expect(early).toEqual([{ order_id: null, kind: 'captured', amount: 2935 }]);

    const sample = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url));
    const order = Buffer.from(sample.toString('utf8').replace('"date_paid": "2017-03-22T16:28:08"', '"date_paid": null').replace('"date_paid_gmt": "2017-03-22T19:28:08"', '"date_paid_gmt": null'));
    const response = await hub.app.request('/webhooks/orders/woocommerce', {
      method: 'POST', body: order,
      headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': createHmac('sha256', WC_SECRET).update(order).digest('base64') },
    });
    expect(response.status, await response.clone().text()).toBe(200);
    await settled(hub);
    const { body } = await api<{ items: { id: string; status: string; paymentStatus: string }[] }>('/orders?channel=woocommerce&externalId=727');
    expect(body.items[0]).toMatchObject({ status: 'released', paymentStatus: 'paid' });
  });

  it('a cancellation after payment, before shipping, is refunded through Stripe once, with an idempotency key', async () => {
    // an order held for a person (its product is not mapped to a hub SKU), then paid
    const sample = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url), 'utf8')
      .replace('"id": 727', '"id": 728').replace('"product_id": 93', '"product_id": 94');
    const wc = (body: string, topic: string) => hub.app.request('/webhooks/orders/woocommerce', {
      method: 'POST', body, headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': topic, 'x-wc-webhook-signature': createHmac('sha256', WC_SECRET).update(body).digest('base64') },
    });
    expect((await wc(sample, 'order.created')).status).toBe(200);
    await settled(hub);
    const paid = succeeded.replaceAll('pi_wc_1', 'pi_wc_2').replace('evt_pi_wc_1', 'evt_pi_wc_2').replace('"order_id":"727"', '"order_id":"728"');
    expect((await postStripe(paid)).status).toBe(200);
    await settled(hub);
    const { body } = await api<{ items: { id: string; status: string; paymentStatus: string }[] }>('/orders?channel=woocommerce&externalId=728');
    expect(body.items[0]).toMatchObject({ status: 'on_hold', paymentStatus: 'paid' });
    const id = body.items[0]!.id;

    // the shop cancels it: the money must go back
    const cancelled = sample.replace('"status": "processing"', '"status": "cancelled"').replace('"date_modified_gmt": "2017-03-22T19:28:08"', '"date_modified_gmt": "2017-03-23T10:00:00"');
    expect((await wc(cancelled, 'order.updated')).status).toBe(200);
    await settled(hub);
    const detail = (await api<{ status: string; timeline: { type: string }[] }>(`/orders/${id}`)).body;
    expect(detail.status).toBe('cancelled');
    expect(stripeApi.refundsCreated).toBe(1);
    // One refund, one key: every request of it carries the refunds row's id, named after its cause.
    const keys = new Set(stripeApi.requests.filter((r) => r.path === '/v1/refunds' && r.params.payment_intent === 'pi_wc_2').map((r) => r.idempotencyKey));
    expect(keys.size).toBe(1);
    const [key] = keys;
    expect(key).toMatch(new RegExp(`^refund:${id}:[0-9a-f-]{36}:stripe:pi_wc_2$`));
    expect(detail.timeline.map((e) => e.type)).toContain('refund.requested');
    const { rows: told } = await hub.db.query(`SELECT body FROM outbox WHERE routing_key = 'customer.notification_requested' AND body->'data'->>'template' = 'refund_issued' AND body->'data'->>'orderId' = $1`, [id]);
    expect(told[0]?.body.data).toMatchObject({ amount: '29.35', currency: 'USD' });
    const { rows } = await hub.db.query(`SELECT id, status, amount, provider_refund_id FROM refunds WHERE order_id = $1`, [id]);
    expect(rows).toEqual([expect.objectContaining({ id: key, status: 'succeeded', amount: 2935, provider_refund_id: expect.stringMatching(/^re_/) })]);
  });

  it('a forged or stale Stripe signature is 401 and records nothing', async () => {
    const forged = stripeEvent('evt_forged', 'payment_intent.succeeded', { id: 'pi_forged', amount_received: 1, currency: 'usd', metadata: {} });
    const bad = await hub.app.request('/webhooks/payments/stripe', { method: 'POST', body: forged, headers: { 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload: forged, secret: 'whsec_other' }) } });
    expect(bad.status).toBe(401);
    const stale = await hub.app.request('/webhooks/payments/stripe', { method: 'POST', body: forged, headers: { 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload: forged, secret: STRIPE_SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 }) } });
    expect(stale.status).toBe(401);
    const { rows } = await hub.db.query(`SELECT 1 FROM payments WHERE payment_id = 'pi_forged'`);
    expect(rows).toHaveLength(0);
  });
});

describe('replaying a stored payment notification', () => {
  it('goes back to the reconcile stage, not to the order channels', async () => {
    const event = stripeEvent('evt_customer_1', 'customer.created', { id: 'cus_1', object: 'customer' });
    const response = await postStripe(event);
    expect(response.status).toBe(200);
    await settled(hub);
    const { rows: [raw] } = await hub.db.query<{ id: number; status: string }>(`SELECT id, status FROM raw_inbound WHERE source = 'stripe' AND convert_from(body, 'UTF8') LIKE '%evt_customer_1%'`);
    expect(raw?.status).toBe('ignored');

    const replay = await api<{ replays: number }>(`/inbound/${raw!.id}/replay`, { method: 'POST' });
    expect(replay).toMatchObject({ status: 202, body: { replays: 1 } });
    await settled(hub);
    const { rows: [after] } = await hub.db.query<{ status: string }>(`SELECT status FROM raw_inbound WHERE id = $1`, [raw!.id]);
    expect(after?.status).toBe('ignored');
    // Read by the payments connector again; nothing parked for want of a channel named stripe.
    const { rows: parked } = await hub.db.query(`SELECT reason FROM exceptions WHERE type = 'poison_message'`);
    expect(parked).toEqual([]);
  });
});

describe('payments that go wrong', () => {
  it('a failed payment tells the customer, with remedies; a payment whose order never comes becomes an exception', async () => {
    const sample = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url), 'utf8')
      .replace('"id": 727', '"id": 729').replace('"date_paid": "2017-03-22T16:28:08"', '"date_paid": null').replace('"date_paid_gmt": "2017-03-22T19:28:08"', '"date_paid_gmt": null');
    const order = Buffer.from(sample);
    await hub.app.request('/webhooks/orders/woocommerce', {
      method: 'POST', body: order, headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': createHmac('sha256', WC_SECRET).update(order).digest('base64') },
    });
    const failed = stripeEvent('evt_failed_729', 'payment_intent.payment_failed', {
      id: 'pi_wc_729', object: 'payment_intent', amount: 2935, amount_received: 0, currency: 'usd', status: 'requires_payment_method',
      metadata: { order_id: '729' }, payment_method_types: ['card'], last_payment_error: { message: 'Your card was declined.', charge: 'ch_declined_729' }, created: Math.floor(Date.now() / 1000),
    });
    expect((await postStripe(failed)).status).toBe(200);
    // and a payment for an order no channel ever sends
    const orphan = succeeded.replaceAll('pi_wc_1', 'pi_orphan').replace('evt_pi_wc_1', 'evt_orphan').replace('"order_id":"727"', '"order_id":"999999"');
    expect((await postStripe(orphan)).status).toBe(200);
    await settled(hub);

    const { body } = await api<{ items: { id: string; paymentStatus: string }[] }>('/orders?channel=woocommerce&externalId=729');
    expect(body.items[0]?.paymentStatus).toBe('failed');
    const { rows: told } = await hub.db.query(`SELECT body FROM outbox WHERE routing_key = 'customer.notification_requested' AND body->'data'->>'orderId' = $1 AND body->'data'->>'template' = 'payment_failed'`, [body.items[0]!.id]);
    expect(told[0]?.body.data).toMatchObject({ reason: expect.stringContaining('declined'), remedies: ['retry_payment', 'another_payment_method'] });

    const { reportUnmatchedPayments } = await import('../core/stages/payment-jobs.ts');
    const later = new Date(Date.now() + 61 * 60_000);
    const ctx = { ...hub.ctx, now: () => later };
    expect(await reportUnmatchedPayments(hub.db, ctx)).toMatchObject({ unmatched: 1, opened: 1 });
    expect(await reportUnmatchedPayments(hub.db, ctx)).toMatchObject({ unmatched: 1, opened: 0 }); // told once
    const exceptions = await api<{ items: { type: string; owner: string; reason: string }[] }>('/exceptions?type=payment_unmatched');
    expect(exceptions.body.items).toEqual([expect.objectContaining({ owner: 'finance', reason: expect.stringContaining('pi_orphan') })]);
  });
});

describe('a failed payment before its order', () => {
  it('is news to the order when it arrives: the customer is told, with remedies', async () => {
    const failed = stripeEvent('evt_failed_731', 'payment_intent.payment_failed', {
      id: 'pi_wc_731', object: 'payment_intent', amount: 2935, amount_received: 0, currency: 'usd', status: 'requires_payment_method',
      metadata: { order_id: '731' }, payment_method_types: ['card'], last_payment_error: { message: 'Your card was declined.', charge: 'ch_declined_731' }, created: Math.floor(Date.now() / 1000),
    });
    expect((await postStripe(failed)).status).toBe(200);
    await settled(hub);
    const sample = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url), 'utf8')
      .replace('"id": 727', '"id": 731').replace('"date_paid": "2017-03-22T16:28:08"', '"date_paid": null').replace('"date_paid_gmt": "2017-03-22T19:28:08"', '"date_paid_gmt": null');
    const order = Buffer.from(sample);
    await hub.app.request('/webhooks/orders/woocommerce', {
      method: 'POST', body: order, headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': createHmac('sha256', WC_SECRET).update(order).digest('base64') },
    });
    await settled(hub);

    const { body } = await api<{ items: { id: string; paymentStatus: string }[] }>('/orders?channel=woocommerce&externalId=731');
    expect(body.items[0]?.paymentStatus).toBe('failed');
    const { rows: told } = await hub.db.query(`SELECT body FROM outbox WHERE routing_key = 'customer.notification_requested' AND body->'data'->>'orderId' = $1 AND body->'data'->>'template' = 'payment_failed'`, [body.items[0]!.id]);
    expect(told.map((t) => t.body.data)).toEqual([expect.objectContaining({ reason: expect.stringContaining('declined'), remedies: ['retry_payment', 'another_payment_method'] })]);
    const { rows: timeline } = await hub.db.query(`SELECT type, reason FROM order_events WHERE order_id = $1 AND type = 'payment.matched'`, [body.items[0]!.id]);
    expect(timeline).toEqual([{ type: 'payment.matched', reason: expect.stringContaining('stripe failed 2935 USD') }]);
  });
});

describe('Adyen', () => {
  const item = (psp: string, value: number) => {
    const i = { pspReference: psp, originalReference: '', merchantAccountCode: 'ShopECOM', merchantReference: `ADY-${psp}`, amount: { value, currency: 'EUR' }, eventCode: 'CAPTURE', success: 'true', eventDate: new Date().toISOString() };
    const signed = [i.pspReference, i.originalReference, i.merchantAccountCode, i.merchantReference, String(value), 'EUR', i.eventCode, i.success].join(':');
    return { NotificationRequestItem: { ...i, additionalData: { hmacSignature: createHmac('sha256', Buffer.from(ADYEN_KEY, 'hex')).update(signed).digest('base64') } } };
  };

  it('answers [accepted], and a settlement report is compared with the ledger: one missing, one mismatched', async () => {
    const body = JSON.stringify({ live: 'false', notificationItems: [item('PSP0001', 1000), item('PSP0002', 2500)] });
    const response = await hub.app.request('/webhooks/payments/adyen', { method: 'POST', body, headers: { 'content-type': 'application/json' } });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('[accepted]');
    await settled(hub);
    const header = 'Company Account,Merchant Account,Psp Reference,Merchant Reference,Payment Method,Creation Date,TimeZone,Type,Modification Reference,Gross Currency,Gross Debit (GC),Gross Credit (GC),Exchange Rate,Net Currency,Net Debit (NC),Net Credit (NC),Commission (NC),Markup (NC),Scheme Fees (NC),Interchange (NC),Payment Method Variant,Modification Merchant Reference,Batch Number';
    const row = (psp: string, gross: string, net: string) => `Shop,ShopECOM,${psp},ADY-${psp},visa,2026-11-24 10:00:00,CET,Settled,${psp},EUR,,${gross},1,EUR,,${net},0.10,,,,visa,,7`;
    const csv = [header, row('PSP0001', '10.00', '9.90'), row('PSP0002', '24.00', '23.90'), row('PSP0003', '5.00', '4.90')].join('\n');
    const imported = await api<{ matched: number; discrepancies: { kind: string }[] }>('/settlements/adyen', { method: 'POST', body: csv, headers: { 'content-type': 'text/csv' } });
    expect(imported.status).toBe(201);
    expect(imported.body.matched).toBe(1);
    expect(imported.body.discrepancies.map((d) => d.kind).sort()).toEqual(['amount', 'missing_in_ledger']);
    const exceptions = await api<{ items: { type: string; owner: string }[] }>('/exceptions?type=settlement_discrepancy');
    expect(exceptions.body.items).toHaveLength(2);
    expect(exceptions.body.items.every((e) => e.owner === 'finance')).toBe(true);
    expect((await api('/settlements/paypal', { method: 'POST', body: 'x', headers: { 'content-type': 'text/csv' } })).status).toBe(404);
  });
});
