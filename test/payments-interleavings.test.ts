import fc from 'fast-check';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Random interleavings of an order, its payment, duplicate deliveries and refunds, through
// the real hub: whatever the order of arrival, the final payment status is what an
// independent bookkeeper computes from the distinct movements of money.
const STRIPE_SECRET = 'whsec_interleavings';
const WEB_SECRET = 'web-interleavings';
const namespace = testNamespace('interleave');
const env = testEnv(namespace, { STRIPE_WEBHOOK_SECRET: STRIPE_SECRET, WEBSITE_WEBHOOK_SECRET: WEB_SECRET });
const sdk = new Stripe('sk_test_unused');
let hub: Hub;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.payments = { ...config.payments, links: [{ provider: 'stripe', channel: 'website' }] };
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

const TOTAL = 3000;
type Step = { kind: 'order' } | { kind: 'capture'; amount: number } | { kind: 'refund'; id: string; amount: number };

function orderDelivery(externalId: string): () => Promise<Response> {
  const order = anOrder({ externalId, lines: [orderLine('SKU2006-001', 3)], payment: { method: 'card', provider: 'stripe', status: 'pending' }, shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }) });
  return () => postWebsiteOrder(hub, order, WEB_SECRET, `order-${externalId}`);
}
function stripeDelivery(externalId: string, step: Exclude<Step, { kind: 'order' }>): () => Promise<Response> {
  const pi = `pi_${externalId}`;
  const created = Math.floor(Date.now() / 1000);
  const object = step.kind === 'capture'
    ? { id: pi, object: 'payment_intent', amount: step.amount, amount_received: step.amount, currency: 'usd', status: 'succeeded', metadata: { order_id: externalId }, payment_method_types: ['card'], created }
    : { id: `ch_${externalId}`, object: 'charge', amount: TOTAL, amount_refunded: step.amount, captured: true, currency: 'usd', payment_intent: pi, metadata: { order_id: externalId }, created,
        refunds: { object: 'list', data: [{ id: `re_${externalId}_${step.id}`, object: 'refund', amount: step.amount, currency: 'usd', status: 'succeeded', payment_intent: pi, charge: `ch_${externalId}`, created }] } };
  const payload = JSON.stringify({ id: `evt_${externalId}_${step.kind}_${step.kind === 'refund' ? step.id : ''}`, object: 'event', api_version: '2024-06-20', created, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type: step.kind === 'capture' ? 'payment_intent.succeeded' : 'charge.refunded', data: { object } });
  return async () => hub.app.request('/webhooks/payments/stripe', { method: 'POST', body: payload, headers: { 'content-type': 'application/json', 'stripe-signature': sdk.webhooks.generateTestHeaderString({ payload, secret: STRIPE_SECRET }) } });
}

/** The bookkeeper: distinct movements only, captured decides, refunds reduce it. */
function oracle(steps: readonly Step[]): string {
  const captured = steps.some((s) => s.kind === 'capture') ? TOTAL : 0;
  const refunded = [...new Map(steps.flatMap((s) => (s.kind === 'refund' ? [[s.id, s.amount] as const] : []))).values()].reduce((a, b) => a + b, 0);
  if (captured === 0) return 'pending';
  if (refunded === 0) return 'paid';
  return refunded >= captured ? 'refunded' : 'partially_refunded';
}

let run = 0;
describe('any interleaving of order, payment, duplicates and refunds', () => {
  it('ends in the status an independent bookkeeper computes', async () => {
    const steps = fc.tuple(
      fc.boolean(), // is the payment captured at all
      fc.array(fc.record({ id: fc.constantFrom('a', 'b'), amount: fc.constantFrom(1000, 2000) }), { maxLength: 2 }),
      fc.integer({ min: 0, max: 2 }), // extra duplicate deliveries
    ).chain(([captured, refunds, duplicates]) => {
      const distinctRefunds = [...new Map(refunds.map((r) => [r.id, r])).values()];
      const base: Step[] = [{ kind: 'order' }, ...(captured ? [{ kind: 'capture' as const, amount: TOTAL }] : []), ...(captured ? distinctRefunds.map((r) => ({ kind: 'refund' as const, ...r })) : [])];
      const withDuplicates = [...base, ...base.slice(0, duplicates)];
      return fc.tuple(fc.shuffledSubarray(withDuplicates, { minLength: withDuplicates.length, maxLength: withDuplicates.length }), fc.boolean());
    });
    await fc.assert(fc.asyncProperty(steps, async ([sequence, concurrently]) => {
      run += 1;
      const externalId = `IL-${run}-${Date.now() % 100000}`;
      const order = orderDelivery(externalId); // one body, delivered as often as the sequence says
      const sends = sequence.map((s) => (s.kind === 'order' ? order : stripeDelivery(externalId, s)));
      if (concurrently) await Promise.all(sends.map((send) => send()));
      else for (const send of sends) expect((await send()).status).toBe(200);
      await settled(hub);
      const list = await (await hub.app.request(`/api/orders?channel=website&externalId=${externalId}`, { headers: { authorization: `Bearer ${adminToken}` } })).json() as { items: { paymentStatus: string }[] };
      expect(list.items).toHaveLength(1);
      expect(list.items[0]!.paymentStatus).toBe(oracle(sequence));
    }), { numRuns: 12 });
  });
});
