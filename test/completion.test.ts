import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signHubPayload, verifyHubSignature } from '../connectors/signatures.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { withTransaction } from '../core/db/pool.ts';
import { enqueueMessages } from '../core/db/sql/outbox.ts';
import type { Hub } from '../core/hub.ts';
import { orderMessages } from '../core/stages/apply.ts';
import { autoCompleteOrders } from '../core/stages/completion.ts';
import { eventually } from './support/env.ts';
import { adminJson, busListener, postEasyPostDelivered, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Completion, the customer's own calls and feedback through the real hub: orders driven to
// delivered by a queue warehouse and EasyPost tracking, then confirmed through the operator
// API or the website's signed call, rated, and completed by the job with a moved clock.
const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-complete', APP_WEBHOOK_SECRET: 'app-complete', EASYPOST_WEBHOOK_SECRET: 'ep-complete' };
const DAY = 86_400_000;
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;
let bus: Awaited<ReturnType<typeof busListener>>;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'DONE-SKU', name: 'Finished goods', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-east', sku: 'DONE-SKU', onHand: 500 });
  t = await startTestHub('complete', ['worker'], { config, env: secrets });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
  bus = await busListener(hub, ['order.completed', 'order.feedback_received', 'order.delivered']);
});
afterAll(async () => {
  await bus?.close();
  await usEast?.close();
  await t?.stop();
});

const api = <T = Record<string, unknown>>(method: string, path: string, body?: unknown) =>
  adminJson<T>(hub, path, { method, ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }) });
type Detail = { id: string; status: string; fulfillmentStatus: string; timeline: { type: string; actor: string; fromStatus: string; toStatus: string }[] };
const detail = async (id: string): Promise<Detail> => (await api<Detail>('GET', `/orders/${id}`)).body;
const eventsOf = (type: string, orderId: string) => bus.received.filter((e) => e.type === type && e.data.orderId === orderId);

let n = 0;
/** A website order for the queue warehouse us-east, paid: allocated and released. */
async function placeOrder(label: string): Promise<string> {
  n += 1;
  const externalId = `${label}-${n}`;
  const response = await postWebsiteOrder(hub, anOrder({ externalId, shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('DONE-SKU', 1)] }), secrets.WEBSITE_WEBHOOK_SECRET, `order-${n}`);
  expect(response.status).toBe(200);
  await settled(hub);
  const { body } = await api<{ items: { id: string }[] }>('GET', `/orders?channel=website&externalId=${externalId}`);
  return body.items[0]!.id;
}
const externalIdOf = async (id: string): Promise<string> => (await api<{ externalId: string }>('GET', `/orders/${id}`)).body.externalId;

/** The warehouse ships the order's request with EasyPost-tracked FedEx parcel `tracking`. */
async function ship(id: string, tracking: string): Promise<void> {
  const request = await eventually(async () => usEast.received.find((r) => r.data.orderId === id), 10_000, 'the fulfilment request');
  n += 1;
  usEast.publish('fulfillment.shipped', { shipmentId: request.data.shipmentId, carrier: 'fedex', trackingNumber: tracking, lines: [{ sku: 'DONE-SKU', quantity: 1 }] }, `wms-${n}`);
  await settled(hub);
  expect((await detail(id)).status).toBe('shipped');
}

/** EasyPost says the parcel was delivered (its documented event, with our tracking code). */
async function deliver(id: string, tracking: string): Promise<void> {
  const response = await postEasyPostDelivered(hub, secrets.EASYPOST_WEBHOOK_SECRET, tracking);
  expect(response.status).toBe(200);
  await settled(hub);
  expect((await detail(id)).status).toBe('delivered');
}

async function deliveredOrder(label: string): Promise<string> {
  const id = await placeOrder(label);
  const tracking = `TRK-${label}-${n}`;
  await ship(id, tracking);
  await deliver(id, tracking);
  return id;
}

/** The shop's backend calling for its customer, signed now (or at `at` seconds) with `secret`. */
function customerCall(body: unknown, eventId: string, options: { source?: string; secret?: string; at?: number } = {}): Promise<Response> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const t = options.at ?? Math.floor(Date.now() / 1000);
  return Promise.resolve(hub.app.request(`/webhooks/customers/${options.source ?? 'website'}`, {
    method: 'POST', body: text,
    headers: { 'content-type': 'application/json', 'x-hub-signature': signHubPayload(text, options.secret ?? secrets.WEBSITE_WEBHOOK_SECRET, t), 'x-hub-event-id': eventId },
  }));
}
type ProblemBody = { type: string; code?: string; rawId?: number; problems: { path: string; message: string }[]; supportedTypes?: string[] };
const problemOf = async (response: Response) => (await response.json()) as ProblemBody;
const rawCount = async () => (await hub.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM raw_inbound WHERE kind = 'customer'`)).rows[0]!.n;
const rawByKey = async (key: string) => (await hub.db.query(`SELECT source, kind, status, topic, problems FROM raw_inbound WHERE dedupe_key = $1`, [key])).rows;

describe('receipt confirmed by an operator', () => {
  it('completes a delivered order once: timeline with the actor, one order.completed on the bus, audited; a second call changes nothing', async () => {
    const id = await deliveredOrder('API');
    const first = await api('POST', `/orders/${id}/confirm-receipt`);
    expect(first).toMatchObject({ status: 200, body: { orderId: id, status: 'completed', alreadyCompleted: false } });
    const again = await api('POST', `/orders/${id}/confirm-receipt`);
    expect(again).toMatchObject({ status: 200, body: { orderId: id, status: 'completed', alreadyCompleted: true } });
    await settled(hub);

    const d = await detail(id);
    expect(d.status).toBe('completed');
    expect(d.timeline.filter((e) => e.type === 'order.completed')).toEqual([expect.objectContaining({ actor: 'admin', fromStatus: 'delivered', toStatus: 'completed' })]);
    const completed = await eventually(async () => (eventsOf('order.completed', id).length > 0 ? eventsOf('order.completed', id) : undefined), 10_000, 'order.completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]).toMatchObject({ subject: id, data: { action: 'confirm_receipt', completedBy: 'admin' } });
    const { rows } = await hub.db.query(`SELECT detail FROM audit_log WHERE action = 'order.confirm_receipt' AND target = $1 ORDER BY id`, [`order:${id}`]);
    expect(rows.map((r) => r.detail)).toEqual([{ alreadyCompleted: false }, { alreadyCompleted: true }]);
  });

  it('refuses an order that is not shipped or delivered (409 problem), an unknown order (404) and a caller without the token (401)', async () => {
    const id = await placeOrder('EARLY');
    expect((await detail(id)).status).toBe('released');
    const refused = await api<ProblemBody & { detail: string }>('POST', `/orders/${id}/confirm-receipt`);
    expect(refused).toMatchObject({ status: 409, type: 'application/problem+json', body: { code: 'not_completable', status: 409, orderStatus: 'released', allowed: ['shipped', 'delivered'] } });
    expect(refused.body.detail).toMatch(/is released/);
    expect((await detail(id)).status).toBe('released');
    expect((await api('POST', '/orders/00000000-0000-4000-8000-000000000000/confirm-receipt')).status).toBe(404);
    expect((await api('POST', '/orders/not-a-uuid/confirm-receipt')).status).toBe(404);
    expect((await hub.app.request(`/api/orders/${id}/confirm-receipt`, { method: 'POST' })).status).toBe(401);
  });
});

describe("the customer's signed call from the website", () => {
  it('receipt.confirmed completes the order as customer:website; stored raw as a customer call; the same event again is a duplicate', async () => {
    const id = await deliveredOrder('CALL');
    const call = { type: 'receipt.confirmed', externalId: await externalIdOf(id) };
    const response = await customerCall(call, 'evt-call-1');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'accepted', type: 'receipt.confirmed', result: { orderId: id, status: 'completed', alreadyCompleted: false } });
    expect(await rawByKey('evt-call-1')).toEqual([expect.objectContaining({ source: 'customer-website', kind: 'customer', status: 'processed', topic: 'receipt.confirmed' })]);

    const duplicate = await customerCall(call, 'evt-call-1');
    expect(duplicate.status).toBe(200);
    expect(await duplicate.json()).toMatchObject({ status: 'duplicate' });
    // a second confirmation under a new event id: harmless
    const second = await customerCall(call, 'evt-call-2');
    expect(await second.json()).toMatchObject({ status: 'accepted', result: { alreadyCompleted: true } });
    const reused = await customerCall({ ...call, note: 'other bytes' }, 'evt-call-1');
    expect(reused.status).toBe(409);
    await settled(hub);

    const d = await detail(id);
    expect(d.timeline.filter((e) => e.type === 'order.completed')).toEqual([expect.objectContaining({ actor: 'customer:website' })]);
    await eventually(async () => (eventsOf('order.completed', id).length > 0 ? true : undefined), 10_000, 'order.completed');
    expect(eventsOf('order.completed', id)).toEqual([expect.objectContaining({ data: expect.objectContaining({ completedBy: 'customer:website' }) })]);
  });

  it('a shipped order the customer says arrived is delivered, then completed; the parcel is named in order.delivered', async () => {
    const id = await placeOrder('SHIPPED');
    await ship(id, 'TRK-SHIPPED-ONLY');
    const response = await customerCall({ type: 'receipt.confirmed', externalId: await externalIdOf(id) }, 'evt-shipped');
    expect(response.status).toBe(200);
    await settled(hub);
    const d = await detail(id);
    expect(d).toMatchObject({ status: 'completed', fulfillmentStatus: 'delivered' });
    expect(d.timeline.filter((e) => e.actor === 'customer:website').map((e) => [e.type, e.fromStatus, e.toStatus])).toEqual([
      ['order.delivered', 'shipped', 'delivered'], ['order.completed', 'delivered', 'completed'],
    ]);
    const delivered = await eventually(async () => eventsOf('order.delivered', id).find((e) => e.data.confirmedBy), 10_000, 'order.delivered');
    expect(delivered.data).toMatchObject({ carrier: 'fedex', trackingCode: 'TRK-SHIPPED-ONLY', confirmedBy: 'customer:website' });
  });

  it('a forged call, or a true one replayed outside the 5-minute window, is 401 and nothing is stored', async () => {
    const id = await deliveredOrder('FORGED');
    const call = { type: 'receipt.confirmed', externalId: await externalIdOf(id) };
    const before = await rawCount();
    expect((await customerCall(call, 'evt-forged', { secret: 'not-the-secret' })).status).toBe(401);
    const stale = await customerCall(call, 'evt-stale', { at: Math.floor(Date.now() / 1000) - 301 });
    expect(stale.status).toBe(401);
    expect(stale.headers.get('content-type')).toBe('application/problem+json');
    const unsigned = await hub.app.request('/webhooks/customers/website', { method: 'POST', body: JSON.stringify(call), headers: { 'x-hub-event-id': 'evt-unsigned' } });
    expect(unsigned.status).toBe(401);
    // the app's secret is not the website's
    expect((await customerCall(call, 'evt-cross', { source: 'app' })).status).toBe(401);
    expect(await rawCount()).toBe(before);
    expect((await detail(id)).status).toBe('delivered');
  });

  it('an unknown order is 404 with the call kept; once the order can complete, the same event id is tried again', async () => {
    const missing = await customerCall({ type: 'receipt.confirmed', externalId: 'NO-SUCH-ORDER' }, 'evt-missing');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'order_not_found', rawId: expect.any(Number) });
    expect(await rawByKey('evt-missing')).toEqual([expect.objectContaining({ status: 'failed', problems: [expect.objectContaining({ message: expect.stringContaining('NO-SUCH-ORDER') })] })]);
    // the app's own secret reaches the app's orders (none by that id)
    const app = await customerCall({ type: 'receipt.confirmed', externalId: 'NO-SUCH-ORDER' }, 'evt-app', { source: 'app', secret: secrets.APP_WEBHOOK_SECRET });
    expect(app.status).toBe(404);

    const id = await placeOrder('RETRY');
    const call = { type: 'receipt.confirmed', externalId: await externalIdOf(id) };
    const early = await customerCall(call, 'evt-retry');
    expect(early.status).toBe(409);
    expect(await rawByKey('evt-retry')).toEqual([expect.objectContaining({ status: 'failed' })]);
    await ship(id, 'TRK-RETRY');
    await deliver(id, 'TRK-RETRY');
    const retried = await customerCall(call, 'evt-retry');
    expect(retried.status).toBe(200);
    expect(await rawByKey('evt-retry')).toEqual([expect.objectContaining({ status: 'processed' })]);
    expect((await detail(id)).status).toBe('completed');
  });

  it('refuses what it cannot take with 422, keeping the call with an exception: unknown type (listing the supported ones), no externalId, not JSON', async () => {
    const unknown = await customerCall({ type: 'order.teleported', externalId: 'X-1' }, 'evt-unknown-type');
    expect(unknown.status).toBe(422);
    const problem = await problemOf(unknown);
    expect(problem).toMatchObject({ type: 'https://order-hub.local/problems/unknown_call_type', problems: [{ path: '/type' }] });
    expect(problem.supportedTypes).toEqual(expect.arrayContaining(['receipt.confirmed', 'feedback.given']));
    expect(await rawByKey('evt-unknown-type')).toEqual([expect.objectContaining({ status: 'invalid', topic: 'order.teleported' })]);
    const { rows } = await hub.db.query(`SELECT x.type, x.owner FROM exceptions x JOIN raw_inbound r ON r.id = x.raw_id WHERE r.dedupe_key = 'evt-unknown-type'`);
    expect(rows).toEqual([{ type: 'invalid_payload', owner: 'integration' }]);

    const noOrder = await customerCall({ type: 'receipt.confirmed' }, 'evt-no-external');
    expect(noOrder.status).toBe(422);
    expect((await problemOf(noOrder)).problems).toEqual([expect.objectContaining({ path: '/externalId' })]);
    const notJson = await customerCall('{"type": "receipt.confirmed",', 'evt-not-json');
    expect(notJson.status).toBe(422);
    expect((await problemOf(notJson)).type).toBe('https://order-hub.local/problems/malformed_payload');
    const badRating = await customerCall({ type: 'feedback.given', externalId: 'X-1', rating: 7 }, 'evt-bad-rating');
    expect(badRating.status).toBe(422);
    expect((await problemOf(badRating)).problems).toEqual([expect.objectContaining({ path: '/rating' })]);
  });

  it('only the shop\'s own channels call: shopify and an unknown source are 404', async () => {
    const body = { type: 'receipt.confirmed', externalId: 'X-1' };
    expect((await customerCall(body, 'evt-shopify', { source: 'shopify' })).status).toBe(404);
    expect((await customerCall(body, 'evt-nowhere', { source: 'nowhere' })).status).toBe(404);
  });

  it('the worked example of docs/channel-contract.md verifies', () => {
    const doc = readFileSync(new URL('../docs/channel-contract.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Customer calls'));
    const body = /raw body \(50 bytes\) \| `([^`]+)`/.exec(section)?.[1];
    const header = /\| header \| `([^`]+)`/.exec(section)?.[1];
    expect(body).toBe('{"type":"receipt.confirmed","externalId":"W-1001"}');
    expect(Buffer.byteLength(body!)).toBe(50);
    expect(header).toBe(signHubPayload(body!, 'whsec_example_do_not_use', 1735689600));
    expect(verifyHubSignature({ rawBody: Buffer.from(body!), headers: { 'x-hub-signature': header } }, 'whsec_example_do_not_use', new Date(1735689600_000))).toBe(true);
  });
});

describe('feedback', () => {
  it('validation errors are 400 problems naming the failing fields', async () => {
    const id = await placeOrder('FB-BAD');
    const cases: [unknown, string[]][] = [
      [{}, ['/rating']], [{ rating: 0 }, ['/rating']], [{ rating: 6 }, ['/rating']], [{ rating: 3.5 }, ['/rating']], [{ rating: '5' }, ['/rating']],
      [{ rating: 4, comment: 'x'.repeat(2001) }, ['/comment']], [{ rating: 4, comment: 7 }, ['/comment']], [{ rating: 4, stars: 4 }, ['/stars']],
      [{ rating: 9, comment: 'x'.repeat(2001) }, ['/rating', '/comment']],
    ];
    for (const [body, paths] of cases) {
      const response = await api<ProblemBody>('POST', `/orders/${id}/feedback`, body);
      expect(response, JSON.stringify(body)).toMatchObject({ status: 400, type: 'application/problem+json', body: { code: 'invalid_body' } });
      expect(response.body.problems.map((p) => p.path)).toEqual(paths);
    }
    expect((await api('POST', `/orders/${id}/feedback`, '{"rating": 4')).body).toMatchObject({ status: 400, code: 'malformed_json' });
  });

  it('only after delivery: a released order is 409; an unknown one 404', async () => {
    const id = await placeOrder('FB-EARLY');
    expect(await api('POST', `/orders/${id}/feedback`, { rating: 5 })).toMatchObject({ status: 409, body: { code: 'feedback_not_allowed' } });
    expect((await api('POST', '/orders/00000000-0000-4000-8000-000000000000/feedback', { rating: 5 })).status).toBe(404);
    const { rows } = await hub.db.query('SELECT 1 FROM feedback WHERE order_id = $1', [id]);
    expect(rows).toEqual([]);
  });

  it('one rating per order: the row, the timeline, order.feedback_received; the same body again is 200 and changes nothing, another is 409', async () => {
    const id = await deliveredOrder('FB');
    const body = { rating: 4, comment: 'Arrived quickly, box a bit dented — 很好' };
    const first = await api('POST', `/orders/${id}/feedback`, body);
    expect(first).toMatchObject({ status: 201, body: { orderId: id, recorded: true, rating: 4, comment: body.comment, source: 'api' } });
    const again = await api('POST', `/orders/${id}/feedback`, body);
    expect(again).toMatchObject({ status: 200, body: { recorded: false, rating: 4 } });
    const other = await api('POST', `/orders/${id}/feedback`, { rating: 1 });
    expect(other).toMatchObject({ status: 409, body: { code: 'feedback_exists', rating: 4 } });
    await settled(hub);

    const { rows } = await hub.db.query('SELECT rating, comment, source FROM feedback WHERE order_id = $1', [id]);
    expect(rows).toEqual([{ rating: 4, comment: body.comment, source: 'api' }]);
    const d = await detail(id);
    expect(d.status).toBe('delivered'); // a rating does not complete the order
    expect(d.timeline.filter((e) => e.type === 'feedback.received')).toEqual([expect.objectContaining({ actor: 'admin' })]);
    const events = await eventually(async () => (eventsOf('order.feedback_received', id).length > 0 ? eventsOf('order.feedback_received', id) : undefined), 10_000, 'order.feedback_received');
    expect(events).toHaveLength(1);
    expect(events[0]!.data).toEqual({ orderId: id, orderNumber: expect.any(String), rating: 4, comment: body.comment, source: 'api' });
    const audit = await hub.db.query(`SELECT count(*)::int AS n FROM audit_log WHERE action = 'order.feedback' AND target = $1`, [`order:${id}`]);
    expect(audit.rows[0].n).toBe(2);
  });

  it('from the website: feedback.given on a completed order, stored with its channel', async () => {
    const id = await deliveredOrder('FB-WEB');
    expect((await api('POST', `/orders/${id}/confirm-receipt`)).status).toBe(200);
    const call = { type: 'feedback.given', externalId: await externalIdOf(id), rating: 5 };
    const response = await customerCall(call, 'evt-feedback');
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'accepted', result: { recorded: true, rating: 5, comment: null } });
    const changed = await customerCall({ ...call, rating: 2 }, 'evt-feedback-2');
    expect(changed.status).toBe(409);
    const { rows } = await hub.db.query('SELECT rating, comment, source FROM feedback WHERE order_id = $1', [id]);
    expect(rows).toEqual([{ rating: 5, comment: null, source: 'website' }]);
    expect((await detail(id)).timeline.filter((e) => e.type === 'feedback.received')).toEqual([expect.objectContaining({ actor: 'customer:website' })]);
  });
});

describe('auto-complete (job, with a moved clock)', () => {
  /** A dispute recorded through the reconcile stage, as the manual payments API records money. */
  async function dispute(id: string, entryId: string): Promise<void> {
    const entry = { provider: 'stripe', account: null, entryId, paymentId: `pi_${entryId}`, kind: 'disputed', amount: 1000, currency: 'USD', occurredAt: new Date().toISOString(), method: 'card', match: { orderId: id } };
    await withTransaction(hub.db, (tx) => enqueueMessages(tx, orderMessages(hub.ctx, 'test', id, [{ type: 'payment.received', data: { entries: [entry], actor: 'test' } }])));
    await settled(hub);
  }
  const statusOf = async (id: string) => (await detail(id)).status;
  const at = (days: number) => ({ ...hub.ctx, now: () => new Date(Date.now() + days * DAY) });

  it('completes orders delivered 15 days ago; not those with an open return or dispute, nor one delivered a day ago', async () => {
    const plain = await deliveredOrder('AUTO');
    const withReturn = await deliveredOrder('AUTO-RMA');
    const disputed = await deliveredOrder('AUTO-DISPUTE');
    const settledDispute = await deliveredOrder('AUTO-SETTLED');
    const closedReturn = await deliveredOrder('AUTO-RMA-DONE');
    const notDelivered = await placeOrder('AUTO-RELEASED');

    const rma = async (id: string, status: string) => hub.db.query(
      `INSERT INTO returns (id, order_id, kind, status, reason, currency, requested_by) SELECT order_number || '-R1', id, 'refund', $2, 'too small', currency, 'customer:website' FROM orders WHERE id = $1`, [id, status]);
    await rma(withReturn, 'requested');
    await rma(closedReturn, 'rejected');
    await dispute(disputed, 'dp_open');
    await dispute(settledDispute, 'dp_settled');
    const { rows: opened } = await hub.db.query(`SELECT order_id AS "orderId" FROM exceptions WHERE type = 'payment_disputed' AND status = 'open'`);
    expect(opened.map((r) => r.orderId).sort()).toEqual([disputed, settledDispute].sort());
    // finance settles one dispute (the exception resolved after the ledger entry)
    await hub.db.query(`UPDATE exceptions SET status = 'resolved', resolved_at = now() WHERE type = 'payment_disputed' AND order_id = $1`, [settledDispute]);

    // a day after delivery: nothing is due
    const tooEarly = await autoCompleteOrders(hub.db, at(1));
    expect(tooEarly).toEqual({ due: 0, completed: 0, skipped: 0, failed: 0 });
    // 13 days: still not (14 by default)
    expect((await autoCompleteOrders(hub.db, at(13))).completed).toBe(0);
    // a longer configured wait holds them back at 15 days too
    expect((await autoCompleteOrders(hub.db, { ...at(15), config: { ...hub.ctx.config, afterSales: { autoCompleteDays: 20 } } })).completed).toBe(0);
    for (const id of [plain, withReturn, disputed, settledDispute, closedReturn]) expect(await statusOf(id)).toBe('delivered');

    const run = await autoCompleteOrders(hub.db, at(15));
    await settled(hub);
    expect(await statusOf(plain)).toBe('completed');
    expect(await statusOf(settledDispute)).toBe('completed');
    expect(await statusOf(closedReturn)).toBe('completed');
    expect(await statusOf(withReturn)).toBe('delivered');
    expect(await statusOf(disputed)).toBe('delivered');
    expect(await statusOf(notDelivered)).toBe('released');
    const { rows } = await hub.db.query<{ orderId: string }>(`SELECT order_id AS "orderId" FROM order_events WHERE actor = 'job:auto-complete' AND to_status = 'completed'`);
    expect(run).toEqual({ due: rows.length, completed: rows.length, skipped: 0, failed: 0 });
    expect(rows.map((r) => r.orderId)).toEqual(expect.arrayContaining([plain, settledDispute, closedReturn]));
    expect(rows.map((r) => r.orderId)).not.toContain(withReturn);
    expect((await detail(plain)).timeline.find((e) => e.type === 'order.completed')).toMatchObject({ actor: 'job:auto-complete' });
    await eventually(async () => (eventsOf('order.completed', plain).length > 0 ? true : undefined), 10_000, 'order.completed');
    expect(eventsOf('order.completed', plain)[0]!.data).toMatchObject({ action: 'auto_complete', completedBy: 'job:auto-complete' });

    // run again: nothing left to do; a second dispute on the settled order would not undo anything
    expect(await autoCompleteOrders(hub.db, at(15))).toEqual({ due: 0, completed: 0, skipped: 0, failed: 0 });
  });

  it('a dispute in the ledger with no resolution after it holds the order, even without an open exception', async () => {
    const id = await deliveredOrder('AUTO-LEDGER');
    await dispute(id, 'dp_first');
    // the dispute's exception was resolved, but the ledger's dispute entry came after that
    await hub.db.query(`UPDATE exceptions SET status = 'resolved', resolved_at = now() - interval '1 minute' WHERE type = 'payment_disputed' AND order_id = $1`, [id]);
    await hub.db.query(`UPDATE payments SET recorded_at = now() WHERE order_id = $1`, [id]);
    await autoCompleteOrders(hub.db, at(15));
    expect(await statusOf(id)).toBe('delivered');
  });
});
