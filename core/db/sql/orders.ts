import type { CanonicalOrder } from '../../../schemas/canonical-order.ts';
import type { OrderRecord } from '../../order/record.ts';
import type { OrderStatus } from '../../order/status.ts';
import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';
import { parameters, type Param } from '../parameters.ts';
import { outboxInsert, type OutboxMessage } from './outbox.ts';

const recordColumns = `id, order_number AS "orderNumber", channel, external_id AS "externalId", status,
  payment_status AS "paymentStatus", fulfillment_status AS "fulfillmentStatus", warehouse, data AS "order"`;

export async function nextOrderSequence(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT nextval('order_number_seq') AS n`);
  return rows[0]!.n;
}

/**
 * Inserts a new order with its lines and its first timeline entry, in one statement.
 * Returns false when the channel's order already exists (unique channel + external id): a
 * second delivery of the same order; then nothing is written.
 */
export async function insertOrder(tx: Queryable, record: OrderRecord, rawId: number | null, channelUpdatedAt: string | null = null, received?: TimelineEntry): Promise<boolean> {
  const o = record.order;
  const { values, p } = parameters();
  const { rows } = await tx.query<{ inserted: boolean }>(
    `WITH inserted AS (
       INSERT INTO orders (id, order_number, channel, external_id, status, payment_status, fulfillment_status,
                           currency, grand_total, customer_email, ship_country, data, raw_id, placed_at, channel_updated_at)
       VALUES (${[record.id, record.orderNumber, record.channel, record.externalId, record.status, record.paymentStatus,
         record.fulfillmentStatus, o.currency, o.totals.grandTotal, o.customer.email ?? null, o.shippingAddress?.country ?? null,
         jsonb(o), rawId, o.placedAt, channelUpdatedAt].map(p).join(', ')})
       ON CONFLICT (channel, external_id) DO NOTHING RETURNING id),
     lines AS (${insertLines('inserted', p, o)})
     ${received ? `, timeline AS (${orderEventInsert(p, received, 'inserted')})` : ''}
     SELECT EXISTS (SELECT 1 FROM inserted) AS inserted`,
    values,
  );
  return rows[0]?.inserted === true;
}

/** The INSERT of an order's lines, for the order whose id the query `source` yields (none: no lines). */
function insertLines(source: string, p: Param, o: CanonicalOrder): string {
  return `INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price, discount, tax)
     SELECT o.id, n, sku, name, quantity, unit_price, discount, tax
       FROM ${source} AS o, unnest(${p(o.lines.map((l) => l.sku))}::text[], ${p(o.lines.map((l) => l.name))}::text[],
         ${p(o.lines.map((l) => l.quantity))}::int[], ${p(o.lines.map((l) => l.unitPrice))}::bigint[],
         ${p(o.lines.map((l) => l.discount))}::bigint[], ${p(o.lines.map((l) => l.tax))}::bigint[])
            WITH ORDINALITY AS l(sku, name, quantity, unit_price, discount, tax, n)`;
}

/** Replaces an order's canonical data and lines with a newer snapshot from its channel. */
export async function replaceOrderData(tx: Queryable, id: string, o: CanonicalOrder): Promise<void> {
  await tx.query(
    `UPDATE orders SET data = $2, currency = $3, grand_total = $4, customer_email = $5, ship_country = $6, updated_at = now()
      WHERE id = $1`,
    [id, jsonb(o), o.currency, o.totals.grandTotal, o.customer.email ?? null, o.shippingAddress?.country ?? null],
  );
  await tx.query('DELETE FROM order_lines WHERE order_id = $1', [id]);
  const { values, p } = parameters();
  await tx.query(insertLines(`(SELECT ${p(id)}::uuid AS id)`, p, o), values);
}

/** Remembers the channel's last-modified time of the snapshot the order now reflects. */
export async function setChannelUpdatedAt(tx: Queryable, id: string, at: string): Promise<void> {
  await tx.query('UPDATE orders SET channel_updated_at = greatest(channel_updated_at, $2::timestamptz) WHERE id = $1', [id, at]);
}

/** Locks a channel's order by its external id; also returns the channel's last-modified time. */
export async function lockOrderByExternalId(tx: Queryable, channel: string, externalId: string): Promise<{ record: OrderRecord; channelUpdatedAt: string | null } | undefined> {
  const { rows } = await tx.query<OrderRecord & { channelUpdatedAt: Date | null }>(
    `SELECT ${recordColumns}, channel_updated_at AS "channelUpdatedAt" FROM orders WHERE channel = $1 AND external_id = $2 FOR UPDATE`,
    [channel, externalId],
  );
  const row = rows[0];
  if (!row) return undefined;
  const { channelUpdatedAt, ...record } = row;
  return { record, channelUpdatedAt: channelUpdatedAt ? channelUpdatedAt.toISOString() : null };
}


/**
 * Locks several orders until the transaction ends, by id: the order every transaction that
 * locks more than one takes them in (allocation batches, lockForAllocation), so two such
 * transactions queue on their first common order instead of deadlocking.
 */
export async function lockOrders(tx: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx.query('SELECT 1 FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE', [ids]);
}

/** Reads an order and locks its row until the transaction ends: every state change goes through this. */
export async function lockOrder(tx: Queryable, id: string): Promise<OrderRecord | undefined> {
  const { rows } = await tx.query<OrderRecord>(`SELECT ${recordColumns} FROM orders WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

export interface TimelineEntry {
  orderId: string;
  type: string;
  fromStatus: OrderStatus | null;
  toStatus: OrderStatus | null;
  actor: string;
  reason?: string | undefined;
  data?: Record<string, unknown> | undefined;
}

export async function appendOrderEvent(tx: Queryable, e: TimelineEntry): Promise<void> {
  const { values, p } = parameters();
  await tx.query(orderEventInsert(p, e), values);
}

/** The INSERT of a timeline entry; with `onlyIf`, only when that CTE yields a row. */
export function orderEventInsert(p: Param, e: TimelineEntry, onlyIf?: string): string {
  return `INSERT INTO order_events (order_id, type, from_status, to_status, actor, reason, data)
     SELECT ${p(e.orderId)}::uuid, ${p(e.type)}::text, ${p(e.fromStatus)}::text, ${p(e.toStatus)}::text, ${p(e.actor)}::text,
            ${p(e.reason ?? null)}::text, ${p(e.data ? jsonb(e.data) : null)}::jsonb
     ${onlyIf ? `WHERE EXISTS (SELECT 1 FROM ${onlyIf})` : ''}`;
}

export type OrderState = Pick<OrderRecord, 'status' | 'paymentStatus' | 'fulfillmentStatus' | 'warehouse'>;

/**
 * Writes what a stage decided about an order in one statement, one round trip on the path
 * every order takes several times: its new state, the entry on its timeline, the messages
 * it causes (outbox) and, with `resolve`, its open exceptions of those types resolved (the
 * cause went away; usually there are none).
 */
export async function saveOrderChange(tx: Queryable, change: {
  id: string;
  state: OrderState;
  timeline: TimelineEntry;
  messages: readonly OutboxMessage[];
  resolve?: { types: readonly string[]; note: string } | undefined;
}): Promise<void> {
  const { values, p } = parameters();
  const id = p(change.id);
  const status = p(change.state.status);
  const parts = [
    `state AS (UPDATE orders SET status_changed_at = CASE WHEN status = ${status} THEN status_changed_at ELSE now() END,
       status = ${status}, payment_status = ${p(change.state.paymentStatus)}, fulfillment_status = ${p(change.state.fulfillmentStatus)},
       warehouse = ${p(change.state.warehouse)}, updated_at = now() WHERE id = ${id})`,
    `timeline AS (${orderEventInsert(p, change.timeline)})`,
  ];
  if (change.resolve && change.resolve.types.length > 0) {
    parts.push(`resolved AS (UPDATE exceptions SET status = 'resolved', resolved_at = now(),
       details = details || jsonb_build_object('resolution', ${p(change.resolve.note)}::text)
       WHERE order_id = ${id} AND type = ANY(${p(change.resolve.types)}::text[]) AND status = 'open')`);
  }
  if (change.messages.length > 0) parts.push(`messages AS (${outboxInsert(p, change.messages)})`);
  // data-modifying CTEs run to completion whether or not the query reads them
  await tx.query(`WITH ${parts.join(',\n     ')}\n     SELECT 1`, values);
}

/** An order as lists show it: the record's state without the canonical data, plus totals and times. */
export interface OrderSummary extends Omit<OrderRecord, 'order'> {
  currency: string;
  grandTotal: number;
  customerEmail: string | null;
  placedAt: Date;
  createdAt: Date;
  updatedAt: Date;
}

/** The columns of an {@link OrderSummary}; the archive reads its twin table with them. */
export const summaryColumns = `id, order_number AS "orderNumber", channel, external_id AS "externalId", status,
  payment_status AS "paymentStatus", fulfillment_status AS "fulfillmentStatus", warehouse, currency,
  grand_total AS "grandTotal", customer_email AS "customerEmail", placed_at AS "placedAt",
  created_at AS "createdAt", updated_at AS "updatedAt"`;

export async function getOrderSummary(db: Queryable, id: string): Promise<(OrderSummary & { order: CanonicalOrder }) | undefined> {
  const { rows } = await db.query<OrderSummary & { order: CanonicalOrder }>(
    `SELECT ${summaryColumns}, data AS "order" FROM orders WHERE id = $1`, [id]);
  return rows[0];
}

export interface TimelineRow {
  at: Date; type: string; fromStatus: string | null; toStatus: string | null; actor: string; reason: string | null; data: unknown;
}

export async function orderTimeline(db: Queryable, id: string): Promise<TimelineRow[]> {
  const { rows } = await db.query<TimelineRow>(
    `SELECT at, type, from_status AS "fromStatus", to_status AS "toStatus", actor, reason, data
       FROM order_events WHERE order_id = $1 ORDER BY id`, [id]);
  return rows;
}

export async function countOrdersByStatus(db: Queryable): Promise<Record<string, number>> {
  const { rows } = await db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM orders GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
