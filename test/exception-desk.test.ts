import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { withTransaction } from '../core/db/pool.ts';
import { enqueueMessages } from '../core/db/sql/outbox.ts';
import { orderMessages } from '../core/stages/apply.ts';
import { watchSlas } from '../core/stages/sla-watchdog.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// The exception desk through the real hub (RabbitMQ, Postgres, Redis): every typed action
// goes through the pipeline (exception.action_requested → stage exception-actions → the
// stage that does the work) and resolves its exception; the list with its filters and
// cursor; notes, assignment and the audit trail; the 400/404/409 answers.
const secret = 'website-secret';
const namespace = testNamespace('excdesk');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
let hub: Hub;
let now = new Date();

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  // The website may not split on its own here, so that an operator can allow it.
  const website = config.channels.find((c) => c.code === 'website')!;
  website.allocation = { strategy: 'priority', allowSplit: false };
  config.validation = { ...config.validation, payment: { cashOnDelivery: { countries: ['US'] } } };
  config.products.push(
    { sku: 'EAST-ONLY', name: 'Sold in the east', category: 'apparel', weightGrams: 200 },
    { sku: 'WEST-ONLY', name: 'Sold in the west', category: 'kitchen', weightGrams: 300 },
    { sku: 'SCARCE-1', name: 'Scarce', category: 'apparel', weightGrams: 100 },
    { sku: 'SCARCE-2', name: 'Also scarce', category: 'apparel', weightGrams: 100 },
    { sku: 'LOW-1', name: 'Nearly gone', category: 'apparel', weightGrams: 100 },
  );
  config.stock.push(
    { warehouse: 'us-east', sku: 'EAST-ONLY', onHand: 50 },
    { warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 50 },
    { warehouse: 'us-east', sku: 'SCARCE-1', onHand: 0 },
    { warehouse: 'us-west', sku: 'SCARCE-1', onHand: 0 },
    { warehouse: 'us-east', sku: 'SCARCE-2', onHand: 0 },
    { warehouse: 'us-east', sku: 'LOW-1', onHand: 6 },
  );
  config.inventory = { lowStockThreshold: 0, lowStockBySku: { 'LOW-1': 5 } };
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 }, now: () => now });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

interface DeskException {
  id: number; type: string; status: string; orderId: string | null; stage: string | null; owner: string; assignedTo: string | null;
  deadline: string; overdue: boolean; reason: string; resolution: Record<string, unknown> | null;
}
interface Note { actor: string; kind: string; text: string }
interface Problem { status: number; code: string; detail: string; problems?: { path: string; message: string }[]; orderStatus?: string }

const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
let deliveries = 0;
async function send(overrides: Partial<CanonicalOrder> & { paymentStatus?: 'paid' | 'pending' }): Promise<string> {
  const order = anOrder({ shippingAddress: kentucky, paymentStatus: 'paid', ...overrides });
  deliveries += 1;
  const response = await postWebsiteOrder(hub, order, secret, `desk-${deliveries}`);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
  const { rows } = await hub.db.query<{ id: string }>(`SELECT id FROM orders WHERE channel = 'website' AND external_id = $1`, [order.externalId]);
  return rows[0]!.id;
}
const api = <T>(path: string, body?: unknown) =>
  adminJson<T>(hub, path, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
async function orderState(id: string) {
  const { rows } = await hub.db.query<{ status: string; paymentStatus: string; warehouse: string | null }>(
    `SELECT status, payment_status AS "paymentStatus", warehouse FROM orders WHERE id = $1`, [id]);
  return rows[0]!;
}
async function timeline(id: string) {
  const { rows } = await hub.db.query<{ type: string; actor: string; reason: string | null; data: Record<string, unknown> | null; toStatus: string | null }>(
    `SELECT type, actor, reason, data, to_status AS "toStatus" FROM order_events WHERE order_id = $1 ORDER BY id`, [id]);
  return rows;
}
async function openExceptionOf(orderId: string, type: string): Promise<DeskException> {
  const { status, body } = await api<{ items: DeskException[] }>(`/exceptions?orderId=${orderId}&type=${type}&status=open`);
  expect(status).toBe(200);
  expect(body.items, `an open ${type} exception on ${orderId}`).toHaveLength(1);
  return body.items[0]!;
}
async function resolve(id: number, action: Record<string, unknown>, note?: string) {
  const response = await api<Record<string, unknown>>(`/exceptions/${id}/resolve`, { action, ...(note ? { note } : {}) });
  await settled(hub);
  return response;
}
async function exception(id: number) {
  const { status, body } = await api<DeskException & { notes: Note[]; order: Record<string, unknown> | null; actions: string[] }>(`/exceptions/${id}`);
  expect(status).toBe(200);
  return body;
}
async function audit(target: string) {
  const { rows } = await hub.db.query<{ actor: string; action: string; detail: Record<string, unknown> }>(
    'SELECT actor, action, detail FROM audit_log WHERE target = $1 ORDER BY id', [target]);
  return rows;
}

describe('actions, end to end through the pipeline', () => {
  it('approve_review: a big first order held for review is approved, validated again without the risk rule, and released', async () => {
    const id = await send({ externalId: 'DESK-RISK', lines: [orderLine('SKU2006-001', 201)] });
    expect((await orderState(id)).status).toBe('on_hold');
    const held = await openExceptionOf(id, 'risk_review');
    expect(held).toMatchObject({ owner: 'risk', stage: 'validate' });
    expect((await exception(held.id)).actions).toEqual(expect.arrayContaining(['approve_review', 'cancel_order', 'acknowledge']));

    const { status, body } = await resolve(held.id, { type: 'approve_review' }, 'called the customer, all fine');
    expect(status, JSON.stringify(body)).toBe(202);
    expect(await orderState(id)).toMatchObject({ status: 'released', paymentStatus: 'paid' });
    const after = await exception(held.id);
    expect(after.status).toBe('resolved');
    expect(after.resolution).toMatchObject({ state: 'applied', actor: 'admin', note: 'called the customer, all fine', action: { type: 'approve_review' } });
    expect(after.notes.map((n) => n.kind)).toEqual(['action_requested', 'action_applied']);
    const approved = (await timeline(id)).find((e) => e.type === 'order.review_approved');
    expect(approved).toMatchObject({ actor: 'admin', toStatus: 'received', data: { exceptionId: held.id, waivedRules: ['risk'] } });
    expect((await timeline(id)).map((e) => e.toStatus)).toEqual(expect.arrayContaining(['validated', 'allocated', 'released']));
    expect(await audit(`exception:${held.id}`)).toEqual([expect.objectContaining({ actor: 'admin', action: 'exception.resolve', detail: expect.objectContaining({ orderId: id }) })]);

    // resolved: no second action
    const again = await api<Problem>(`/exceptions/${held.id}/resolve`, { action: { type: 'approve_review' } });
    expect(again).toMatchObject({ status: 409, type: 'application/problem+json', body: { code: 'exception_resolved' } });
  });

  it('override_allocation: a shortage is allocated to another warehouse that has the stock', async () => {
    const id = await send({ externalId: 'DESK-SHORT', lines: [orderLine('SCARCE-1', 2)] });
    expect((await orderState(id)).status).toBe('backordered');
    const shortage = await openExceptionOf(id, 'stock_shortage');
    expect(shortage.owner).toBe('inventory');
    // Stock found in us-west that no replenishment event announced: only a person knows.
    await hub.db.query(`UPDATE inventory SET on_hand = 5 WHERE warehouse = 'us-west' AND sku = 'SCARCE-1'`);

    expect((await resolve(shortage.id, { type: 'override_allocation', warehouse: 'atlantis' })).body).toMatchObject({ status: 400, code: 'unknown_warehouse' });
    const empty = await resolve(shortage.id, { type: 'override_allocation' });
    expect(empty.status).toBe(400);
    const { status } = await resolve(shortage.id, { type: 'override_allocation', warehouse: 'us-west' }, 'west has them');
    expect(status).toBe(202);
    expect(await orderState(id)).toMatchObject({ status: 'released', warehouse: 'us-west' });
    const { rows } = await hub.db.query(`SELECT warehouse, quantity FROM reservations WHERE order_id = $1`, [id]);
    expect(rows).toEqual([{ warehouse: 'us-west', quantity: 2 }]);
    const events = await timeline(id);
    expect(events.find((e) => e.type === 'exception.allocation_override')).toMatchObject({ actor: 'admin', data: { exceptionId: shortage.id, warehouse: 'us-west' } });
    expect(events.find((e) => e.type === 'order.allocation_overridden')).toMatchObject({ actor: 'admin', reason: expect.stringContaining('west has them') });
    expect((await exception(shortage.id)).resolution).toMatchObject({ state: 'applied', outcome: expect.stringContaining('us-west') });
  });

  it('mark_paid: cash collected for a COD order pays it in full, and it is released', async () => {
    const id = await send({ externalId: 'DESK-COD', paymentStatus: 'pending', payment: { method: 'cash_on_delivery', provider: null, status: 'pending' }, lines: [orderLine('SKU2006-001', 2)] });
    expect(await orderState(id)).toMatchObject({ status: 'allocated', paymentStatus: 'pending' });
    expect((await api(`/orders/${id}/payments`, { amount: 1000, currency: 'USD', method: 'cash_on_delivery', reference: 'cod-first-half' })).status).toBe(202);
    await settled(hub);
    const mismatch = await openExceptionOf(id, 'payment_mismatch');

    const missing = await resolve(mismatch.id, { type: 'mark_paid', amount: 1000, currency: 'USD', method: 'cash_on_delivery' });
    expect(missing.status).toBe(400);
    expect((missing.body as unknown as Problem).problems).toEqual([{ path: '/action/reference', message: expect.stringContaining('reference') }]);
    const badMethod = await resolve(mismatch.id, { type: 'mark_paid', amount: 10.5, currency: 'USD', method: 'card', reference: 'x' });
    expect((badMethod.body as unknown as Problem).problems?.map((p) => p.path).sort()).toEqual(['/action/amount', '/action/method']);
    const wrongCurrency = await resolve(mismatch.id, { type: 'mark_paid', amount: 1000, currency: 'EUR', method: 'cash_on_delivery', reference: 'cod-rest' });
    expect(wrongCurrency.body).toMatchObject({ status: 409, code: 'currency_mismatch', orderStatus: 'allocated' });

    expect((await resolve(mismatch.id, { type: 'mark_paid', amount: 1000, currency: 'USD', method: 'cash_on_delivery', reference: 'cod-rest' })).status).toBe(202);
    expect(await orderState(id)).toMatchObject({ status: 'released', paymentStatus: 'paid' });
    const { rows } = await hub.db.query<{ amount: string }>(`SELECT amount FROM payments WHERE order_id = $1 ORDER BY amount`, [id]);
    expect(rows.map((r) => Number(r.amount))).toEqual([1000, 1000]);
    expect((await timeline(id)).find((e) => e.type === 'exception.payment_recorded')).toMatchObject({ actor: 'admin', data: { exceptionId: mismatch.id, reference: 'cod-rest' } });
    expect((await exception(mismatch.id)).status).toBe('resolved');
  });

  it('retry_stage: an unknown SKU, once in the catalog, is sent back through validation and goes out', async () => {
    const id = await send({ externalId: 'DESK-RETRY', lines: [orderLine('NEW-SKU-1', 1)] });
    const unknown = await openExceptionOf(id, 'unknown_sku');
    expect(unknown.stage).toBe('validate');
    // approving is for reviews; an unknown SKU is fixed in the catalog
    expect((await resolve(unknown.id, { type: 'approve_review' })).body).toMatchObject({ status: 409, code: 'not_a_review' });
    await hub.db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('NEW-SKU-1', 'New', 'apparel', 100)`);
    await hub.db.query(`INSERT INTO inventory (warehouse, sku, on_hand) VALUES ('us-east', 'NEW-SKU-1', 10)`);

    expect((await resolve(unknown.id, { type: 'retry_stage' })).status).toBe(202);
    expect((await orderState(id)).status).toBe('released');
    expect((await timeline(id)).find((e) => e.type === 'order.retry_requested')).toMatchObject({ actor: 'admin', toStatus: 'received', data: { exceptionId: unknown.id, stage: 'validate' } });
    expect((await exception(unknown.id)).resolution).toMatchObject({ state: 'applied' });
  });

  it('cancel_order before release: cancelled, nothing held', async () => {
    const id = await send({ externalId: 'DESK-CANCEL', lines: [orderLine('SCARCE-2', 1)] });
    const shortage = await openExceptionOf(id, 'stock_shortage');
    expect((await resolve(shortage.id, { type: 'cancel_order' })).body).toMatchObject({ status: 400, problems: [{ path: '/action/reason' }] });
    expect((await resolve(shortage.id, { type: 'cancel_order', reason: 'the customer gave up' })).status).toBe(202);
    expect((await orderState(id)).status).toBe('cancelled');
    expect((await timeline(id)).at(-1)).toMatchObject({ type: 'order.cancelled', actor: 'admin', data: { exceptionId: shortage.id }, reason: expect.stringContaining('the customer gave up') });
  });

  it('cancel_order after release: the warehouse is asked to stop the shipment', async () => {
    const id = await send({ externalId: 'DESK-LATE', lines: [orderLine('SKU2006-001', 1)] });
    expect((await orderState(id)).status).toBe('released');
    // a day later the order is still not shipped: the SLA watchdog opens a breach
    await watchSlas(hub.db, { ...hub.ctx, now: () => new Date(Date.now() + 25 * 3_600_000) });
    const breach = await openExceptionOf(id, 'sla_breach');
    expect((await exception(breach.id)).actions).not.toContain('approve_review');
    expect((await resolve(breach.id, { type: 'split' })).body).toMatchObject({ status: 409, code: 'wrong_state', orderStatus: 'released' });

    expect((await resolve(breach.id, { type: 'cancel_order', reason: 'customer moved abroad' })).status).toBe(202);
    expect((await orderState(id)).status).toBe('released'); // the warehouse's answer decides
    const { rows } = await hub.db.query<{ routingKey: string }>(
      `SELECT routing_key AS "routingKey" FROM outbox WHERE body->>'type' = 'fulfillment.cancel_requested' AND body->'data'->>'orderId' = $1`, [id]);
    expect(rows).toEqual([{ routingKey: 'fulfillment.cancel_requested.us-east' }]);
    expect((await timeline(id)).find((e) => e.type === 'order.cancel_requested')).toMatchObject({ actor: 'admin', data: { exceptionId: breach.id } });
    expect((await exception(breach.id)).status).toBe('resolved');
  });

  it('split: an order no single warehouse can take is allocated again as a split shipment', async () => {
    const id = await send({ externalId: 'DESK-SPLIT', lines: [orderLine('EAST-ONLY', 1), orderLine('WEST-ONLY', 1)] });
    expect((await orderState(id)).status).toBe('backordered');
    const shortage = await openExceptionOf(id, 'stock_shortage');
    expect(shortage.stage).toBe('allocate');
    expect((await resolve(shortage.id, { type: 'split', warehouse: 'us-east' })).body).toMatchObject({ status: 400, problems: [{ path: '/action/warehouse' }] });

    expect((await resolve(shortage.id, { type: 'split' })).status).toBe(202);
    expect((await orderState(id)).status).toBe('released');
    const { rows } = await hub.db.query<{ warehouse: string }>(`SELECT warehouse FROM shipments WHERE order_id = $1 ORDER BY warehouse`, [id]);
    expect(rows.map((r) => r.warehouse)).toEqual(['us-east', 'us-west']);
    expect((await timeline(id)).find((e) => e.type === 'order.allocation_overridden')).toMatchObject({ actor: 'admin', reason: expect.stringContaining('split') });
  });

  it('contact_customer: a free message becomes a notification to the customer', async () => {
    const id = await send({ externalId: 'DESK-CONTACT', lines: [orderLine('SKU2006-001', 1)], shippingAddress: shippingAddress('US', 'KY', { postalCode: 'ABC' }) });
    const address = await openExceptionOf(id, 'address_invalid');
    expect((await resolve(address.id, { type: 'contact_customer', template: 'no_such_template', message: 'hi' })).body).toMatchObject({ status: 400, code: 'unknown_template' });

    expect((await resolve(address.id, { type: 'contact_customer', message: 'Could you send us your ZIP code?' })).status).toBe(202);
    const { rows } = await hub.db.query<{ channel: string; recipient: string; body: string }>(
      `SELECT channel, recipient, body FROM notifications WHERE order_id = $1 AND template = 'message_from_shop'`, [id]);
    expect(rows).toEqual([expect.objectContaining({ channel: 'email', recipient: 'ada@example.com', body: expect.stringContaining('Could you send us your ZIP code?') })]);
    expect((await timeline(id)).find((e) => e.type === 'customer.contacted')).toMatchObject({ actor: 'admin', data: { exceptionId: address.id, template: 'message_from_shop' } });
    expect((await exception(address.id)).status).toBe('resolved');
  });

  it('acknowledge: a low-stock alert, about no order, is closed; order actions are refused for it', async () => {
    await send({ externalId: 'DESK-LOW', lines: [orderLine('LOW-1', 2)] });
    const { body } = await api<{ items: DeskException[] }>('/exceptions?type=low_stock&status=open');
    const alert = body.items.find((e) => e.reason.includes('LOW-1'))!;
    expect(alert.orderId).toBeNull();
    expect((await exception(alert.id)).actions).toEqual(['acknowledge']);
    expect((await resolve(alert.id, { type: 'retry_stage' })).body).toMatchObject({ status: 409, code: 'no_order' });
    expect((await resolve(alert.id, { type: 'acknowledge' })).status).toBe(202);
    expect(await exception(alert.id)).toMatchObject({ status: 'resolved', resolution: { state: 'applied', outcome: expect.stringContaining('acknowledged') } });
  });
});

describe('an action the order no longer allows when it is applied', () => {
  it('is refused by the stage: the exception stays open with the reason, the timeline says so', async () => {
    const id = await send({ externalId: 'DESK-RACE', lines: [orderLine('SCARCE-2', 1)] });
    const shortage = await openExceptionOf(id, 'stock_shortage');
    // The request was accepted while the order was backordered; before the stage applies it,
    // the order is cancelled by its channel.
    await withTransaction(hub.db, async (tx) => {
      await enqueueMessages(tx, orderMessages(hub.ctx, 'api', id, [{ type: 'exception.action_requested', data: { exceptionId: shortage.id, orderId: id, action: { type: 'split' }, actor: 'ops-key' } }]));
      await tx.query(`UPDATE orders SET status = 'cancelled' WHERE id = $1`, [id]);
    });
    await settled(hub);
    const after = await exception(shortage.id);
    expect(after).toMatchObject({ status: 'open', resolution: { state: 'refused', code: 'wrong_state', reason: expect.stringContaining('cancelled') } });
    expect(after.notes.at(-1)).toMatchObject({ kind: 'action_refused', text: expect.stringContaining('split refused') });
    expect((await timeline(id)).at(-1)).toMatchObject({ type: 'exception.action_refused', actor: 'ops-key', data: { exceptionId: shortage.id, code: 'wrong_state' } });
  });
});

describe('the list', () => {
  it('filters by type, status, owner, order and overdue', async () => {
    const risk = await api<{ items: DeskException[] }>('/exceptions?type=risk_review&owner=risk&status=resolved');
    expect(risk.body.items.length).toBeGreaterThanOrEqual(1);
    expect(risk.body.items.every((e) => e.type === 'risk_review' && e.owner === 'risk' && e.status === 'resolved')).toBe(true);
    const open = await api<{ items: DeskException[] }>('/exceptions?status=open');
    expect(open.body.items.every((e) => e.status === 'open' && !e.overdue)).toBe(true);
    expect((await api<{ items: DeskException[] }>('/exceptions?overdue=true')).body.items).toEqual([]);

    now = new Date(Date.now() + 2 * 86_400_000); // two days on, every open deadline has passed
    try {
      const overdue = await api<{ items: DeskException[] }>('/exceptions?overdue=true');
      expect(overdue.body.items.map((e) => e.id).sort()).toEqual(open.body.items.map((e) => e.id).sort());
      expect(overdue.body.items.every((e) => e.overdue)).toBe(true);
    } finally {
      now = new Date();
    }
  });

  it('pages through everything, soonest deadline first, with an opaque cursor', async () => {
    const all = (await api<{ items: DeskException[]; nextCursor: string | null }>('/exceptions?limit=500')).body;
    expect(all.nextCursor).toBeNull();
    expect(all.items.length).toBeGreaterThan(5);
    const keys = all.items.map((e) => [Date.parse(e.deadline), e.id] as const);
    expect(keys).toEqual([...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]));

    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { status: number; body: { items: DeskException[]; nextCursor: string | null } } =
        await api(`/exceptions?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((e) => e.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.items.map((e) => e.id));
  });

  it('refuses a bad query with a 400 problem', async () => {
    for (const query of ['status=closed', 'overdue=maybe', 'orderId=42', 'cursor=not-a-cursor', `cursor=${Buffer.from('[1,2]').toString('base64url')}`, 'limit=0', 'limit=x']) {
      const { status, type, body } = await api<Problem>(`/exceptions?${query}`);
      expect({ query, status, type }).toEqual({ query, status: 400, type: 'application/problem+json' });
      expect(body.code, query).toMatch(/^invalid_/);
    }
  });
});

describe('notes and assignment', () => {
  it('assigns, comments and shows it all on the exception, with its order; every write audited', async () => {
    const id = await send({ externalId: 'DESK-NOTES', lines: [orderLine('SCARCE-2', 1)] });
    const shortage = await openExceptionOf(id, 'stock_shortage');
    const assigned = await api<DeskException>(`/exceptions/${shortage.id}/assign`, { assignee: 'jane' });
    expect(assigned).toMatchObject({ status: 200, body: { id: shortage.id, assignedTo: 'jane' } });
    expect((await api<{ items: DeskException[] }>('/exceptions?assignee=jane')).body.items.map((e) => e.id)).toEqual([shortage.id]);
    const commented = await api<{ notes: Note[] }>(`/exceptions/${shortage.id}/comment`, { text: 'supplier says Friday' });
    expect(commented.status).toBe(201);

    const detail = await exception(shortage.id);
    expect(detail.notes).toEqual([
      expect.objectContaining({ actor: 'admin', kind: 'assigned', text: 'assigned to jane' }),
      expect.objectContaining({ actor: 'admin', kind: 'comment', text: 'supplier says Friday' }),
    ]);
    expect(detail.order).toMatchObject({ id, status: 'backordered', lines: [expect.objectContaining({ sku: 'SCARCE-2', quantity: 1 })] });
    expect(detail.actions).toEqual(expect.arrayContaining(['cancel_order', 'override_allocation', 'split', 'retry_stage', 'contact_customer']));
    expect((await audit(`exception:${shortage.id}`)).map((a) => [a.actor, a.action])).toEqual([['admin', 'exception.assign'], ['admin', 'exception.comment']]);

    const unassigned = await api<DeskException>(`/exceptions/${shortage.id}/assign`, { assignee: null });
    expect(unassigned.body.assignedTo).toBeNull();
  });

  it('answers 400 for a bad body and 404 for an exception that does not exist', async () => {
    const { body } = await api<{ items: DeskException[] }>('/exceptions?limit=1');
    const some = body.items[0]!.id;
    for (const [path, payload] of [
      [`/exceptions/${some}/comment`, {}], [`/exceptions/${some}/comment`, { text: '' }], [`/exceptions/${some}/assign`, { assignee: 5 }],
      [`/exceptions/${some}/resolve`, { action: { type: 'refund_everything' } }], [`/exceptions/${some}/resolve`, { action: { type: 'acknowledge' }, extra: 1 }],
    ] as const) {
      const answer = await api<Problem>(path, payload);
      expect({ path, status: answer.status, type: answer.type }).toEqual({ path, status: 400, type: 'application/problem+json' });
    }
    const unknownType = await api<Problem>(`/exceptions/${some}/resolve`, { action: { type: 'refund_everything' } });
    expect(unknownType.body.problems).toEqual([{ path: '/action/type', message: expect.stringContaining('acknowledge') }]);
    const malformed = await adminJson<Problem>(hub, `/exceptions/${some}/comment`, { method: 'POST', body: '{' });
    expect(malformed).toMatchObject({ status: 400, body: { code: 'malformed_json' } });
    for (const path of ['/exceptions/99999999', '/exceptions/abc', '/exceptions/0']) {
      expect((await api<Problem>(path)).status, path).toBe(404);
    }
    expect((await api<Problem>('/exceptions/99999999/resolve', { action: { type: 'acknowledge' } })).body).toMatchObject({ status: 404, code: 'exception_not_found' });
    expect((await api<Problem>('/exceptions/99999999/assign', { assignee: 'x' })).status).toBe(404);
    expect((await api<Problem>('/exceptions/99999999/comment', { text: 'x' })).status).toBe(404);
  });
});
