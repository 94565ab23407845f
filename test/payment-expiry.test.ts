// Expiry of payments that never found their order, on a real hub: a Stripe payment naming
// a website order that does not come is reported, then expires after
// `payments.unmatchedExpiryDays` (by the job's clock): finance is told once to refund it, and
// when the order does turn up after all, the expired payment does not pay it. A payment whose
// order comes in time still does.
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { expireUnmatchedPayments } from '../core/stages/payment-expiry.ts';
import { reportUnmatchedPayments } from '../core/stages/payment-jobs.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

const STRIPE_SECRET = 'whsec_test_expiry';
const WEB_SECRET = 'web-expiry';
const namespace = testNamespace('payexpiry');
const env = testEnv(namespace, { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, WEBSITE_WEBHOOK_SECRET: WEB_SECRET });
const sdk = new Stripe('sk_test_unused');
const DAY = 86_400_000;
let hub: Hub;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, links: [{ provider: 'stripe', channel: 'website' }], unmatchedAfterMinutes: 60, unmatchedExpiryDays: 5 };
  config.products.push({ sku: 'EXP-CUP', name: 'Cup', category: 'kitchen', weightGrams: 200 });
  config.stock.push({ warehouse: 'us-east', sku: 'EXP-CUP', onHand: 50 });
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

/** A Stripe PaymentIntent that succeeded, carrying the website's own order id as the shop's checkout puts it. */
async function stripePaid(paymentIntent: string, websiteOrderId: string, amount: number): Promise<void> {
  const payload = JSON.stringify({
    id: `evt_${paymentIntent}`, object: 'event', api_version: '2024-06-20', created: Math.floor(Date.now() / 1000), livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type: 'payment_intent.succeeded',
    data: { object: { id: paymentIntent, object: 'payment_intent', amount, amount_received: amount, currency: 'usd', status: 'succeeded', metadata: { order_id: websiteOrderId }, payment_method_types: ['card'], latest_charge: `ch_${paymentIntent}`, created: Math.floor(Date.now() / 1000) } },
  });
  const response = await hub.app.request('/webhooks/payments/stripe', {
    method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) },
  });
  expect(response.status).toBe(200);
  await settled(hub);
}
const websiteOrder = (externalId: string) => anOrder({
  channel: 'website', externalId, paymentStatus: 'pending', shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('EXP-CUP', 2)],
});
const payment = async (paymentId: string) => (await hub.db.query<{ orderId: string | null; expiredAt: Date | null }>(
  `SELECT order_id AS "orderId", expired_at AS "expiredAt" FROM payments WHERE payment_id = $1`, [paymentId])).rows;
const exceptions = async (type: string) => (await hub.db.query<{ status: string; owner: string; reason: string; messageId: string }>(
  `SELECT status, owner, reason, message_id AS "messageId" FROM exceptions WHERE type = $1 ORDER BY id`, [type])).rows;
async function orderByExternalId(externalId: string) {
  const response = await hub.app.request(`/api/orders?channel=website&externalId=${externalId}`, { headers: { authorization: `Bearer ${adminToken}` } });
  return ((await response.json()) as { items: { id: string; status: string; paymentStatus: string }[] }).items[0];
}

describe('a payment whose order never comes', () => {
  it('expires after its days: finance is told once to refund it, and a late order is not paid by it', async () => {
    // given a payment of 2000 for website order WEB-LATE, and one of 2000 for WEB-ON-TIME, neither order here yet
    await stripePaid('pi_late', 'WEB-LATE', 2000);
    await stripePaid('pi_on_time', 'WEB-ON-TIME', 2000);
    const recorded = Date.now();
    expect(await payment('pi_late')).toEqual([{ orderId: null, expiredAt: null }]);

    // an hour on it is reported unmatched, to finance
    expect(await reportUnmatchedPayments(hub.db, { ...hub.ctx, now: () => new Date(recorded + 2 * 3_600_000) })).toMatchObject({ unmatched: 2, opened: 2 });

    // WEB-ON-TIME arrives within the days and is paid by its payment
    expect((await postWebsiteOrder(hub, websiteOrder('WEB-ON-TIME'), WEB_SECRET, 'exp-on-time')).status).toBe(200);
    await settled(hub);
    expect((await orderByExternalId('WEB-ON-TIME'))?.paymentStatus).toBe('paid');

    // when the expiry job runs before the 5 days are up: nothing expires
    expect(await expireUnmatchedPayments(hub.db, { ...hub.ctx, now: () => new Date(recorded + 4 * DAY) })).toEqual({ due: 0, expired: 0, refundsNeeded: 0 });

    // when it runs after them: the payment expires, finance must refund it, its unmatched alert is closed
    const later = new Date(recorded + 5 * DAY + 60_000);
    expect(await expireUnmatchedPayments(hub.db, { ...hub.ctx, now: () => later })).toEqual({ due: 1, expired: 1, refundsNeeded: 1 });
    expect(await payment('pi_late')).toEqual([{ orderId: null, expiredAt: later }]);
    const refunds = await exceptions('refund_needed');
    expect(refunds).toEqual([expect.objectContaining({ status: 'open', owner: 'finance', messageId: 'expired:stripe:pi_late:captured' })]);
    expect(refunds[0]!.reason).toContain('pi_late of 2000 USD matched no order within 5 days: refund it to the customer');
    expect((await exceptions('payment_unmatched')).map((e) => [e.reason.includes('pi_late'), e.status])).toEqual(expect.arrayContaining([[true, 'resolved']]));

    // and once only: later runs find nothing, and the unmatched report no longer lists it
    expect(await expireUnmatchedPayments(hub.db, { ...hub.ctx, now: () => new Date(recorded + 9 * DAY) })).toEqual({ due: 0, expired: 0, refundsNeeded: 0 });
    expect(await exceptions('refund_needed')).toHaveLength(1);
    expect(await reportUnmatchedPayments(hub.db, { ...hub.ctx, now: () => new Date(recorded + 9 * DAY) })).toMatchObject({ unmatched: 0 });

    // when WEB-LATE turns up after all: it is not paid by the expired payment
    expect((await postWebsiteOrder(hub, websiteOrder('WEB-LATE'), WEB_SECRET, 'exp-late')).status).toBe(200);
    await settled(hub);
    expect(await orderByExternalId('WEB-LATE')).toMatchObject({ paymentStatus: 'pending' });
    expect(await payment('pi_late')).toEqual([{ orderId: null, expiredAt: later }]);
  });
});
