import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Payments into the ledger through the real hub: money an operator records (cash on
// delivery, bank transfer), partial and duplicate payments, and the payment timeout.
const secret = 'website-secret';
const namespace = testNamespace('payflow');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
let hub: Hub;
let now = new Date();

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.payments = { paymentTimeoutMinutes: 60, unmatchedAfterMinutes: 30 };
  config.validation = { ...config.validation, payment: { cashOnDelivery: { countries: ['US'] } } };
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 }, now: () => now });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

let events = 0;
async function send(order: CanonicalOrder, topic = 'order.created'): Promise<void> {
  events += 1;
  const response = await postWebsiteOrder(hub, order, secret, `p-${events}`, topic);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
}
const api = async <T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> => {
  const response = await hub.app.request(`/api${path}`, { ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' } });
  return { status: response.status, body: (await response.json()) as T };
};
type Detail = { id: string; status: string; paymentStatus: string; exceptions: { type: string; reason: string }[]; timeline: { type: string }[] };
async function detail(externalId: string): Promise<Detail> {
  const { body } = await api<{ items: { id: string }[] }>(`/orders?channel=website&externalId=${externalId}`);
  return (await api<Detail>(`/orders/${body.items[0]!.id}`)).body;
}
const pay = async (id: string, amount: number, reference: string, method = 'cash_on_delivery') => {
  const response = await api(`/orders/${id}/payments`, { method: 'POST', body: JSON.stringify({ amount, currency: 'USD', method, reference }) });
  await settled(hub);
  return response.status;
};
const cod = { method: 'cash_on_delivery' as const, provider: null, status: 'pending' as const };
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });

describe('money an operator records', () => {
  it('cash on delivery: the order waits allocated, the collected cash pays it, and it is released once', async () => {
    await send(anOrder({ externalId: 'COD-1', payment: cod, shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 2)] }));
    const before = await detail('COD-1');
    expect(before).toMatchObject({ status: 'allocated', paymentStatus: 'pending' });
    expect(await pay(before.id, 2000, 'cash-001')).toBe(202);
    expect(await pay(before.id, 2000, 'cash-001')).toBe(202); // recorded twice: no second effect
    const after = await detail('COD-1');
    expect(after).toMatchObject({ status: 'released', paymentStatus: 'paid' });
    const { rows } = await hub.db.query('SELECT count(*)::int AS n FROM payments WHERE order_id = $1', [before.id]);
    expect(rows[0].n).toBe(1);
    const { rows: audit } = await hub.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'payment.record'`);
    expect(audit[0].n).toBe(2);
  });

  it('too little money is partially paid, held back from release, with an exception for finance', async () => {
    await send(anOrder({ externalId: 'PART-1', payment: { method: 'bank_transfer', provider: null, status: 'pending' }, shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 3)] }));
    const d = await detail('PART-1');
    await pay(d.id, 1000, 'wire-77', 'bank_transfer');
    const after = await detail('PART-1');
    expect(after).toMatchObject({ status: 'allocated', paymentStatus: 'partially_paid' });
    expect(after.exceptions).toEqual([expect.objectContaining({ type: 'payment_mismatch', reason: 'captured 1000 of 3000 USD' })]);
    await pay(d.id, 2000, 'wire-78', 'bank_transfer');
    expect(await detail('PART-1')).toMatchObject({ status: 'released', paymentStatus: 'paid' });
  });

  it('refuses a payment of the wrong shape, or for an order that does not exist', async () => {
    expect((await api('/orders/00000000-0000-4000-8000-000000000000/payments', { method: 'POST', body: JSON.stringify({ amount: 1, currency: 'USD', method: 'cash_on_delivery', reference: 'x' }) })).status).toBe(404);
    const d = await detail('COD-1');
    expect((await api(`/orders/${d.id}/payments`, { method: 'POST', body: JSON.stringify({ amount: 10.5, currency: 'USD', method: 'cash_on_delivery', reference: 'x' }) })).status).toBe(400);
    expect((await api(`/orders/${d.id}/payments`, { method: 'POST', body: JSON.stringify({ amount: 10, currency: 'usd', method: 'card', reference: 'x' }) })).status).toBe(400);
  });
});

describe('money going back', () => {
  it('a paid order cancelled before release: cash cannot be refunded by API, so finance is asked to, once', async () => {
    const order = anOrder({ externalId: 'BACK-1', payment: { method: 'bank_transfer', provider: null, status: 'pending' }, shippingAddress: kentucky, lines: [orderLine('NOT-IN-CATALOG', 1)] });
    await send(order);
    const held = await detail('BACK-1');
    expect(held.status).toBe('on_hold');
    await pay(held.id, 1000, 'wire-90', 'bank_transfer');
    expect((await detail('BACK-1')).paymentStatus).toBe('paid');
    await send(order, 'order.cancelled');
    const after = await detail('BACK-1');
    expect(after.status).toBe('cancelled');
    expect(after.exceptions.filter((e) => e.type === 'refund_needed')).toEqual([expect.objectContaining({ reason: expect.stringContaining('refund 1000 of manual payment wire-90') })]);
  });
});

describe('the payment timeout', () => {
  it('cancels an order unpaid past the timeout and gives its stock back; cash on delivery is left alone', async () => {
    await send(anOrder({ externalId: 'LATE-1', payment: { method: 'card', provider: 'stripe', status: 'pending' }, shippingAddress: kentucky, lines: [orderLine('SKU2006-020', 1)] }));
    await send(anOrder({ externalId: 'COD-2', payment: cod, shippingAddress: kentucky, lines: [orderLine('SKU2006-020', 1)] }));
    const { rows: before } = await hub.db.query(`SELECT reserved FROM inventory WHERE warehouse = 'us-east' AND sku = 'SKU2006-020'`);
    now = new Date(Date.now() + 61 * 60_000);
    const { cancelUnpaidOrders } = await import('../core/stages/payment-jobs.ts');
    const ctx = { ...hub.ctx, now: () => now };
    const counts = await cancelUnpaidOrders(hub.db, ctx);
    expect(counts.cancelled).toBeGreaterThanOrEqual(1);
    await settled(hub);
    expect(await detail('LATE-1')).toMatchObject({ status: 'cancelled' });
    expect((await detail('COD-2')).status).toBe('allocated');
    const { rows: after } = await hub.db.query(`SELECT reserved FROM inventory WHERE warehouse = 'us-east' AND sku = 'SKU2006-020'`);
    expect(after[0].reserved).toBe(before[0].reserved - 1);
    now = new Date();
  });
});

describe('the ledger', () => {
  it('keeps a cumulative movement at the largest total reported, whatever the order of the reports', async () => {
    const { recordPayment } = await import('../core/db/sql/payments.ts');
    const refund = (amount: number) => ({
      provider: 'alipay', account: null, entryId: 'refund:T-CUMULATIVE', paymentId: 'T-CUMULATIVE', kind: 'refunded' as const, amount, currency: 'CNY',
      occurredAt: new Date().toISOString(), method: 'wallet' as const, match: {}, cumulative: true,
    });
    expect(await recordPayment(hub.db, refund(50), null, null)).toBe(true);
    expect(await recordPayment(hub.db, refund(150), null, null)).toBe(true);
    expect(await recordPayment(hub.db, refund(100), null, null)).toBe(false); // an older total, late
    expect(await recordPayment(hub.db, refund(150), null, null)).toBe(false); // the same total again
    const { rows } = await hub.db.query(`SELECT amount FROM payments WHERE entry_id = 'refund:T-CUMULATIVE'`);
    expect(rows).toEqual([{ amount: 150 }]);
  });
});
