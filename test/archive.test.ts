import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { withTransaction } from '../core/db/pool.ts';
import { archivedTables, strayForeignKeys, tablesKeptLive, twinMismatches } from '../core/db/sql/archive.ts';
import { setCredit } from '../core/db/sql/credit.ts';
import { openException } from '../core/db/sql/exceptions.ts';
import { enqueueMessages } from '../core/db/sql/outbox.ts';
import type { Hub } from '../core/hub.ts';
import { orderMessages } from '../core/stages/apply.ts';
import { archiveFinishedOrders } from '../core/stages/archive.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { adminRequest, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Finished orders leave the live tables for the archive with every row of theirs, through
// the real hub: orders made by webhooks and driven by the pipeline (cancelled by the
// channel, shipped by the warehouse, completed by the operator's confirm-receipt, rated
// through the API). Returns are written with SQL, since the return flow is long and not
// what is tested here. The job runs with a moved clock.
const secret = 'web-archive';
const AFTER_DAYS = 60;
const DAY = 86_400_000;
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'ARCH-1', name: 'Archive test', category: 'apparel', weightGrams: 200 });
  config.stock.push({ warehouse: 'us-east', sku: 'ARCH-1', onHand: 100 });
  config.archive = { afterDays: AFTER_DAYS };
  config.afterSales = { ...config.afterSales, returnWindowDays: 30 };
  t = await startTestHub('archive', ['worker'], { config, env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
});
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
});

let n = 0;
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const websiteOrder = (externalId: string, overrides: Partial<CanonicalOrder> & { paymentStatus?: 'pending' | 'paid' } = {}) =>
  anOrder({ channel: 'website', externalId, shippingAddress: kentucky, lines: [orderLine('ARCH-1', 1)], ...overrides });
async function deliver(order: CanonicalOrder, topic = 'order.created'): Promise<void> {
  n += 1;
  const response = await postWebsiteOrder(hub, order, secret, `arch-${n}`, topic);
  expect(response.status, await response.clone().text()).toBe(200);
  await settled(hub);
}
async function wms(type: string, data: Record<string, unknown>): Promise<void> {
  n += 1;
  usEast.publish(type, data, `wms-arch-${n}`);
  await settled(hub);
}
const api = (path: string, init: RequestInit = {}) => adminRequest(hub, path, init);
type Detail = {
  id: string; orderNumber: string; status: string; archived?: boolean;
  timeline: { type: string; actor: string; reason: string | null; fromStatus: string | null; toStatus: string | null }[];
  reservations: unknown[]; exceptions: { type: string; status: string; reason: string }[]; returns?: { status: string; lines: unknown[] }[];
};
async function detail(id: string): Promise<Detail> {
  const response = await api(`/orders/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Detail;
}
async function search(query: string): Promise<{ id: string; status: string; archived?: boolean }[]> {
  const response = await api(`/orders?${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { items: { id: string; status: string; archived?: boolean }[] }).items;
}
async function idOf(externalId: string): Promise<string> {
  const items = await search(`channel=website&externalId=${externalId}`);
  expect(items).toHaveLength(1);
  return items[0]!.id;
}
/** Cancelled by the channel before release. */
async function cancelledOrder(externalId: string, overrides: Partial<CanonicalOrder> = {}): Promise<string> {
  const order = websiteOrder(externalId, { paymentStatus: 'pending', ...overrides });
  await deliver(order);
  await deliver({ ...order, cancelReason: 'customer' } as CanonicalOrder, 'order.cancelled');
  const id = await idOf(externalId);
  expect((await detail(id)).status).toBe('cancelled');
  return id;
}
/** Paid, released, shipped by the warehouse, confirmed received by an operator, rated. */
async function completedOrder(externalId: string): Promise<string> {
  await deliver(websiteOrder(externalId));
  const id = await idOf(externalId);
  const request = usEast.received.find((r) => r.type === 'fulfillment.requested' && r.data.orderId === id);
  expect(request, 'the fulfilment request').toBeDefined();
  await wms('fulfillment.shipped', { shipmentId: request!.data.shipmentId, carrier: 'ups', trackingNumber: `1Z-${externalId}`, lines: [{ sku: 'ARCH-1', quantity: 1 }] });
  const confirmed = await api(`/orders/${id}/confirm-receipt`, { method: 'POST' });
  expect(confirmed.status, await confirmed.clone().text()).toBe(200);
  const rated = await api(`/orders/${id}/feedback`, { method: 'POST', body: JSON.stringify({ rating: 5, comment: 'fine' }) });
  expect(rated.status, await rated.clone().text()).toBe(201);
  await settled(hub);
  expect((await detail(id)).status).toBe('completed');
  return id;
}
/** An RMA with one line, written with SQL (see the header comment). */
async function addReturn(orderId: string, status: string): Promise<void> {
  const { rows } = await hub.db.query<{ orderNumber: string }>('SELECT order_number AS "orderNumber" FROM orders WHERE id = $1', [orderId]);
  const rma = `${rows[0]!.orderNumber}-R1`;
  await hub.db.query(
    `INSERT INTO returns (id, order_id, kind, status, reason, currency, requested_by) VALUES ($1, $2, 'refund', $3, 'too small', 'USD', 'admin')`,
    [rma, orderId, status]);
  await hub.db.query(`INSERT INTO return_lines (return_id, line_no, sku, quantity) VALUES ($1, 1, 'ARCH-1', 1)`, [rma]);
}

/** Every row of `ids` in each per-order table (live or twin), as JSON text, sorted: what a move must keep. */
async function rowsOf(ids: readonly string[], where: 'live' | 'twin'): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const t of archivedTables) {
    const table = where === 'live' ? t.table : t.twin;
    const belongs = where === 'live' ? t.belongs : t.belongs.replace('FROM returns', 'FROM archived_returns');
    const { rows } = await hub.db.query<{ row: string }>(`SELECT to_jsonb(x)::text AS row FROM ${table} x WHERE ${belongs}`, [ids]);
    out[t.table] = rows.map((r) => r.row).sort();
  }
  return out;
}
async function tableSizes(): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const name of [...archivedTables.flatMap((t) => [t.table, t.twin]), ...tablesKeptLive]) {
    const { rows } = await hub.db.query<{ n: number }>(`SELECT count(*) AS n FROM ${name}`);
    out[name] = rows[0]!.n;
  }
  return out;
}
async function errorOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the statement to fail');
}

describe('the archive tables', () => {
  it('have a twin of every table that references an archived one, with the same columns', async () => {
    expect(await twinMismatches(hub.db)).toEqual([]);
    expect(await strayForeignKeys(hub.db)).toEqual([]);
    // Tables naming an order without a foreign key must be in the list, or kept live on purpose.
    const { rows } = await hub.db.query<{ table: string }>(
      `SELECT DISTINCT table_name AS "table" FROM information_schema.columns
        WHERE table_schema = current_schema() AND column_name = 'order_id' AND table_name NOT LIKE 'archived\\_%' ORDER BY 1`);
    const known = new Set([...archivedTables.map((t) => t.table), ...tablesKeptLive]);
    expect(rows.map((r) => r.table).filter((t) => !known.has(t))).toEqual([]);
  });

  it('notice a new table with a foreign key to orders, and a column added to a live table only', async () => {
    const client = await hub.db.connect();
    try {
      await client.query('BEGIN');
      await client.query('CREATE TABLE gift_notes (order_id uuid NOT NULL REFERENCES orders (id), note text)');
      await client.query('ALTER TABLE orders ADD COLUMN gift_wrap boolean');
      expect(await strayForeignKeys(client)).toEqual([{ table: 'gift_notes', constraint: 'gift_notes_order_id_fkey', references: 'orders' }]);
      expect(await twinMismatches(client)).toEqual([expect.stringMatching(/^orders\.gift_wrap .* has no match in archived_orders$/)]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('the archive job', () => {
  const ids: Record<string, string> = {};
  let sizesBefore: Record<string, number>;
  let rowsBefore: Record<string, string[]>;
  let detailsBefore: Record<string, Detail>;
  let firstRun: Record<string, number>;
  let moved: string[];
  let clock: Date;

  beforeAll(async () => {
    await setCredit(hub.db, 'archive-credit@example.com', 'USD', 100_000);
    const customer = { id: 'c-arch', email: 'Archive-Credit@example.com', phone: null, name: 'Grace Hopper', locale: 'en' };
    ids.cancelled = await cancelledOrder('ARCH-CANCELLED', { customer, payment: { method: 'store_credit', provider: null, status: 'pending' } });
    ids.completed = await completedOrder('ARCH-COMPLETED');
    await addReturn(ids.completed, 'rejected');
    ids.openReturn = await completedOrder('ARCH-OPEN-RETURN');
    await addReturn(ids.openReturn, 'in_transit');
    ids.openException = await cancelledOrder('ARCH-EXCEPTION');
    await openException(hub.db, {
      type: 'refund_needed', owner: 'finance', deadline: new Date(Date.now() + DAY), reason: 'a refund is owed', orderId: ids.openException, messageId: 'arch-refund',
    });
    await deliver(websiteOrder('ARCH-SHIPPING'));
    ids.shipping = await idOf('ARCH-SHIPPING');
    // The last to finish: the job's clock is set so that it is exactly at the cutoff.
    ids.recent = await cancelledOrder('ARCH-RECENT');
    moved = [ids.cancelled, ids.completed];

    sizesBefore = await tableSizes();
    rowsBefore = await rowsOf(moved, 'live');
    detailsBefore = { cancelled: await detail(ids.cancelled), completed: await detail(ids.completed) };
    const { rows } = await hub.db.query<{ at: Date }>('SELECT status_changed_at AS at FROM orders WHERE id = $1', [ids.recent]);
    const recentFinished = rows[0]!.at.getTime();

    // A day short of anyone's cutoff: nothing moves.
    const early = await archiveFinishedOrders(hub.db, { ...hub.ctx, now: () => new Date(recentFinished + (AFTER_DAYS - 1) * DAY) });
    expect(early).toMatchObject({ batches: 0, orders: 0, order_events: 0 });
    // The recent order finished exactly afterDays before this clock; the others a little earlier.
    clock = new Date(recentFinished + AFTER_DAYS * DAY);
    firstRun = await archiveFinishedOrders(hub.db, { ...hub.ctx, now: () => clock }, { batchSize: 1 });
  }, 120_000);

  it('moves old finished orders with every row of theirs, nothing lost and nothing left behind', async () => {
    expect(rowsBefore.order_lines!.length).toBeGreaterThan(0);
    for (const table of ['order_events', 'reservations', 'shipments', 'parcels', 'credit_holds', 'returns', 'return_lines', 'feedback', 'orders']) {
      expect(rowsBefore[table]!.length, table).toBeGreaterThan(0);
    }
    const liveAfter = await rowsOf(moved, 'live');
    const twinAfter = await rowsOf(moved, 'twin');
    for (const t of archivedTables) {
      expect(liveAfter[t.table], t.table).toEqual([]);
      if (t.table === 'order_events') continue;
      expect(twinAfter[t.table], t.table).toEqual(rowsBefore[t.table]);
    }
    // The timeline moved whole, plus the entry that says when and why it was archived.
    const events = twinAfter.order_events!.map((r) => JSON.parse(r) as { type: string; actor: string; order_id: string });
    expect(events.filter((e) => e.type !== 'order.archived').map((e) => JSON.stringify(e)).sort())
      .toEqual(rowsBefore.order_events!.map((r) => JSON.stringify(JSON.parse(r))).sort());
    expect(events.filter((e) => e.type === 'order.archived').map((e) => [e.order_id, e.actor]).sort())
      .toEqual(moved.map((id) => [id, 'job:archive']).sort());

    // Table sizes: each table lost exactly what its twin gained (the timeline also its new entries).
    const sizesAfter = await tableSizes();
    for (const t of archivedTables) {
      const gained = sizesAfter[t.twin]! - sizesBefore[t.twin]!;
      const added = t.table === 'order_events' ? moved.length : 0;
      expect(gained, t.twin).toBe(rowsBefore[t.table]!.length + added);
      expect(sizesBefore[t.table]! + added - sizesAfter[t.table]!, t.table).toBe(gained);
      expect(firstRun[t.table], `job count ${t.table}`).toBe(gained);
    }
    for (const table of tablesKeptLive) expect(sizesAfter[table], table).toBe(sizesBefore[table]);
    expect(firstRun.batches).toBe(2); // batches of one order each
  });

  it('leaves recent ones, unfinished ones, and ones with an open exception or return', async () => {
    for (const key of ['recent', 'shipping', 'openException', 'openReturn']) {
      const { rows } = await hub.db.query('SELECT 1 FROM orders WHERE id = $1', [ids[key]]);
      expect(rows, key).toHaveLength(1);
    }
    const { rows } = await hub.db.query<{ n: number }>('SELECT count(*) AS n FROM archived_orders');
    expect(rows[0]!.n).toBe(2);
  });

  it('still shows an archived order through the API, as it was, marked archived', async () => {
    for (const key of ['cancelled', 'completed'] as const) {
      const before = detailsBefore[key]!;
      const { archived, timeline, ...after } = await detail(ids[key]!);
      const { timeline: timelineBefore, ...rest } = before;
      expect(archived).toBe(true);
      expect(after).toEqual(rest);
      expect(timeline.slice(0, -1)).toEqual(timelineBefore);
      expect(timeline.at(-1)).toMatchObject({ type: 'order.archived', actor: 'job:archive', fromStatus: before.status, toStatus: before.status });
      expect(before.reservations.length, key).toBeGreaterThan(0);
      if (key === 'completed') expect(before.returns).toEqual([expect.objectContaining({ status: 'rejected', lines: [expect.objectContaining({ sku: 'ARCH-1' })] })]);
    }
  });

  it('searches the archive with archived=true and the same filters; the live search no longer has them', async () => {
    expect(await search('channel=website&externalId=ARCH-CANCELLED')).toEqual([]);
    expect(await search('channel=website&externalId=ARCH-CANCELLED&archived=true')).toEqual([
      expect.objectContaining({ id: ids.cancelled, status: 'cancelled', archived: true, orderNumber: detailsBefore.cancelled!.orderNumber }),
    ]);
    expect((await search('archived=true&status=completed')).map((o) => o.id)).toEqual([ids.completed]);
    expect((await search('archived=true&status=cancelled&channel=shopify'))).toEqual([]);
    expect((await search('archived=false&externalId=ARCH-RECENT')).map((o) => o.id)).toEqual([ids.recent]);
    const bad = await api('/orders?archived=yes');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect(await bad.json()).toMatchObject({ code: 'invalid_query', detail: 'archived must be true or false' });
  });

  it('a channel update or cancel for an archived order is kept as ignored, with the reason, and makes no order', async () => {
    const { rows: before } = await hub.db.query<{ n: number }>('SELECT count(*) AS n FROM orders');
    const order = websiteOrder('ARCH-CANCELLED', { paymentStatus: 'paid', notes: 'late edit' });
    await deliver(order, 'order.updated');
    await deliver({ ...order, cancelReason: 'again' } as CanonicalOrder, 'order.cancelled');
    await deliver(order, 'order.created');
    expect(await search('channel=website&externalId=ARCH-CANCELLED')).toEqual([]);
    const { rows: after } = await hub.db.query<{ n: number }>('SELECT count(*) AS n FROM orders');
    expect(after[0]!.n).toBe(before[0]!.n);
    const { rows: raws } = await hub.db.query<{ status: string; problems: { path: string; message: string }[]; topic: string }>(
      `SELECT status, problems, topic FROM raw_inbound WHERE source = 'website' AND convert_from(body, 'UTF8') LIKE '%ARCH-CANCELLED%' ORDER BY id DESC LIMIT 3`);
    expect(raws.map((r) => r.topic).sort()).toEqual(['order.cancelled', 'order.created', 'order.updated']);
    for (const raw of raws) {
      expect(raw.status).toBe('ignored');
      expect(raw.problems).toEqual([{ path: '/externalId', message: `order ${detailsBefore.cancelled!.orderNumber} (cancelled) with this channel id is archived; the delivery is kept and changes nothing` }]);
    }
    // The archived order itself did not change.
    expect((await detail(ids.cancelled!)).timeline.at(-1)!.type).toBe('order.archived');
  });

  it('a payment for an archived order goes into the ledger under it and opens an exception for finance', async () => {
    const orderNumber = detailsBefore.completed!.orderNumber;
    const entry = {
      provider: 'manual', account: null, entryId: 'bank_transfer:ARCH-LATE', paymentId: 'ARCH-LATE', kind: 'captured', amount: 500,
      currency: 'USD', occurredAt: new Date().toISOString(), method: 'bank_transfer', match: { orderNumber },
    };
    await withTransaction(hub.db, (tx) => enqueueMessages(tx, orderMessages(hub.ctx, 'test', ids.completed!, [{ type: 'payment.received', data: { entries: [entry] } }])));
    await settled(hub);
    const { rows } = await hub.db.query<{ orderId: string; amount: number }>(`SELECT order_id AS "orderId", amount FROM payments WHERE entry_id = 'bank_transfer:ARCH-LATE'`);
    expect(rows).toEqual([{ orderId: ids.completed, amount: 500 }]);
    const archived = await detail(ids.completed!);
    expect(archived.exceptions).toEqual([expect.objectContaining({ type: 'payment_archived_order', status: 'open', reason: expect.stringContaining(`order ${orderNumber}, which is archived`) })]);
    const { rows: open } = await hub.db.query(`SELECT owner FROM exceptions WHERE type = 'payment_archived_order' AND status = 'open'`);
    expect(open).toEqual([{ owner: 'finance' }]);
  });

  it('run again, moves nothing more', async () => {
    const sizes = await tableSizes();
    const again = await archiveFinishedOrders(hub.db, { ...hub.ctx, now: () => clock });
    expect(again).toEqual({ batches: 0, ...Object.fromEntries(archivedTables.map((t) => [t.table, 0])) });
    expect(await tableSizes()).toEqual(sizes);
  });

  it('leaves order_events append-only for everyone else, and the archive unchangeable', async () => {
    expect(await errorOf(() => hub.db.query('DELETE FROM order_events WHERE order_id = $1', [ids.recent]))).toContain('order_events is append-only');
    expect(await errorOf(() => hub.db.query(`UPDATE order_events SET actor = 'x' WHERE order_id = $1`, [ids.recent]))).toContain('order_events is append-only');
    // Saying so is only for deletes: the timeline's rows still never change.
    expect(await errorOf(() => withTransaction(hub.db, async (tx) => {
      await tx.query(`SET LOCAL hub.archiving = 'on'`);
      await tx.query(`UPDATE order_events SET actor = 'x' WHERE order_id = $1`, [ids.recent]);
    }))).toContain('order_events is append-only');
    expect(await errorOf(() => hub.db.query('DELETE FROM archived_order_events WHERE order_id = $1', [ids.cancelled]))).toContain('archived_order_events is append-only');
    expect(await errorOf(() => hub.db.query(`UPDATE archived_orders SET status = 'received' WHERE id = $1`, [ids.cancelled]))).toContain('archived_orders is append-only');
    const { rows } = await hub.db.query('SELECT 1 FROM order_events WHERE order_id = $1', [ids.recent]);
    expect(rows.length).toBeGreaterThan(0);
  });
});
