import type { CanonicalOrder } from '../../../schemas/canonical-order.ts';
import type { OrderRecord } from '../../order/record.ts';
import type { FulfillmentStatus, OrderStatus, PaymentStatus } from '../../order/status.ts';
import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

const recordColumns = `id, order_number AS "orderNumber", channel, external_id AS "externalId", status,
  payment_status AS "paymentStatus", fulfillment_status AS "fulfillmentStatus", warehouse, data AS "order"`;

export async function nextOrderSequence(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT nextval('order_number_seq') AS n`);
  return rows[0]!.n;
}

/**
 * Inserts a new order with its lines, in one statement. Returns false when the channel's
 * order already exists (unique channel + external id): a second delivery of the same order.
 */
export async function insertOrder(tx: Queryable, record: OrderRecord, rawId: number | null, channelUpdatedAt: string | null = null): Promise<boolean> {
  const o = record.order;
  const { rows } = await tx.query<{ inserted: boolean }>(
    `WITH inserted AS (
       INSERT INTO orders (id, order_number, channel, external_id, status, payment_status, fulfillment_status,
                           currency, grand_total, customer_email, ship_country, data, raw_id, placed_at, channel_updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
       ON CONFLICT (channel, external_id) DO NOTHING RETURNING id),
     lines AS (${insertLines('inserted', 16)})
     SELECT EXISTS (SELECT 1 FROM inserted) AS inserted`,
    [record.id, record.orderNumber, record.channel, record.externalId, record.status, record.paymentStatus,
      record.fulfillmentStatus, o.currency, o.totals.grandTotal, o.customer.email ?? null,
      o.shippingAddress?.country ?? null, jsonb(o), rawId, o.placedAt, channelUpdatedAt, ...lineValues(o)],
  );
  return rows[0]?.inserted === true;
}

/**
 * The INSERT of an order's lines, for the order whose id the query `source` yields (none:
 * no lines), the six line arrays from parameter `$first` on (`lineValues`).
 */
function insertLines(source: string, first: number): string {
  const p = (i: number) => `$${first + i}`;
  return `INSERT INTO order_lines (order_id, line_no, sku, name, quantity, unit_price, discount, tax)
     SELECT o.id, n, sku, name, quantity, unit_price, discount, tax
       FROM ${source} AS o, unnest(${p(0)}::text[], ${p(1)}::text[], ${p(2)}::int[], ${p(3)}::bigint[], ${p(4)}::bigint[], ${p(5)}::bigint[])
            WITH ORDINALITY AS l(sku, name, quantity, unit_price, discount, tax, n)`;
}

const lineValues = (o: CanonicalOrder): unknown[] => [o.lines.map((l) => l.sku), o.lines.map((l) => l.name), o.lines.map((l) => l.quantity),
  o.lines.map((l) => l.unitPrice), o.lines.map((l) => l.discount), o.lines.map((l) => l.tax)];

/** Replaces an order's canonical data and lines with a newer snapshot from its channel. */
export async function replaceOrderData(tx: Queryable, id: string, o: CanonicalOrder): Promise<void> {
  await tx.query(
    `UPDATE orders SET data = $2, currency = $3, grand_total = $4, customer_email = $5, ship_country = $6, updated_at = now()
      WHERE id = $1`,
    [id, jsonb(o), o.currency, o.totals.grandTotal, o.customer.email ?? null, o.shippingAddress?.country ?? null],
  );
  await tx.query('DELETE FROM order_lines WHERE order_id = $1', [id]);
  await tx.query(insertLines('(SELECT $1::uuid AS id)', 2), [id, ...lineValues(o)]);
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


/** Reads an order and locks its row until the transaction ends: every state change goes through this. */
export async function lockOrder(tx: Queryable, id: string): Promise<OrderRecord | undefined> {
  const { rows } = await tx.query<OrderRecord>(`SELECT ${recordColumns} FROM orders WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

/**
 * Sets an order's state; with `resolve`, also resolves its open exceptions of those types
 * (the cause went away) in the same statement: one round trip instead of two, on a path
 * every order takes and where there is usually nothing to resolve.
 */
export async function updateOrderState(
  tx: Queryable,
  id: string,
  state: { status: OrderStatus; paymentStatus: PaymentStatus; fulfillmentStatus: FulfillmentStatus; warehouse: string | null },
  resolve?: { types: readonly string[]; note: string },
): Promise<void> {
  const update = `UPDATE orders SET status_changed_at = CASE WHEN status = $2 THEN status_changed_at ELSE now() END,
                       status = $2, payment_status = $3, fulfillment_status = $4, warehouse = $5, updated_at = now() WHERE id = $1`;
  const values: unknown[] = [id, state.status, state.paymentStatus, state.fulfillmentStatus, state.warehouse];
  if (!resolve || resolve.types.length === 0) {
    await tx.query(update, values);
    return;
  }
  await tx.query(
    `WITH resolved AS (
       UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $7::text)
        WHERE order_id = $1 AND type = ANY($6::text[]) AND status = 'open')
     ${update}`,
    [...values, resolve.types, resolve.note],
  );
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
  await tx.query(
    `INSERT INTO order_events (order_id, type, from_status, to_status, actor, reason, data) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [e.orderId, e.type, e.fromStatus, e.toStatus, e.actor, e.reason ?? null, e.data ? jsonb(e.data) : null],
  );
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
