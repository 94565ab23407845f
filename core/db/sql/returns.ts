import type { ReturnKind, ReturnRejection, ReturnStatus } from '../../pipeline/returns.ts';
import { jsonb } from '../jsonb.ts';
import type { Queryable } from '../pool.ts';

/** One line of an RMA, with what the warehouse found when the goods came back. */
export interface ReturnLineRow {
  lineNo: number;
  sku: string;
  quantity: number;
  exchangeSku: string | null;
  receivedQuantity: number;
  resellableQuantity: number;
}

/** An RMA as the API shows it. */
export interface ReturnRow {
  id: string;
  orderId: string;
  orderNumber: string;
  kind: ReturnKind;
  status: ReturnStatus;
  reason: string;
  decision: string | null;
  reasons: ReturnRejection[];
  warehouse: string | null;
  carrier: string | null;
  trackingCode: string | null;
  labelUrl: string | null;
  refundAmount: number | null;
  currency: string;
  exchangeOrderId: string | null;
  requestedBy: string;
  idempotencyKey: string | null;
  createdAt: Date;
  updatedAt: Date;
  receivedAt: Date | null;
  closedAt: Date | null;
  lines: ReturnLineRow[];
}

/**
 * The select list of a `ReturnRow`, over an RMA `r` joined to its order `o`; the lines are
 * read from `linesTable` (the live table, or its archive twin for archived RMAs).
 */
export const returnColumns = (linesTable: 'return_lines' | 'archived_return_lines') => `r.id, r.order_id AS "orderId", o.order_number AS "orderNumber", r.kind, r.status, r.reason, r.decision, r.reasons,
  r.warehouse, r.carrier, r.tracking_code AS "trackingCode", r.label_url AS "labelUrl", r.refund_amount AS "refundAmount",
  r.currency, r.exchange_order_id AS "exchangeOrderId", r.requested_by AS "requestedBy", r.idempotency_key AS "idempotencyKey",
  r.created_at AS "createdAt", r.updated_at AS "updatedAt", r.received_at AS "receivedAt", r.closed_at AS "closedAt",
  COALESCE((SELECT jsonb_agg(jsonb_build_object('lineNo', l.line_no, 'sku', l.sku, 'quantity', l.quantity, 'exchangeSku', l.exchange_sku,
                     'receivedQuantity', l.received_quantity, 'resellableQuantity', l.resellable_quantity) ORDER BY l.line_no)
              FROM ${linesTable} l WHERE l.return_id = r.id), '[]'::jsonb) AS lines`;

const columns = returnColumns('return_lines');

export type NewReturn = Pick<ReturnRow,
  'id' | 'orderId' | 'kind' | 'status' | 'reason' | 'decision' | 'reasons' | 'warehouse' | 'refundAmount' | 'currency' | 'requestedBy' | 'idempotencyKey'> & {
  lines: { sku: string; quantity: number; exchangeSku?: string | undefined }[];
};

/** Records a new RMA and its lines. */
export async function insertReturn(tx: Queryable, r: NewReturn): Promise<void> {
  await tx.query(
    `INSERT INTO returns (id, order_id, kind, status, reason, decision, reasons, warehouse, refund_amount, currency, requested_by, idempotency_key, closed_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $4 = 'rejected' THEN now() END)`,
    [r.id, r.orderId, r.kind, r.status, r.reason, r.decision, jsonb(r.reasons), r.warehouse, r.refundAmount, r.currency, r.requestedBy, r.idempotencyKey]);
  await tx.query(
    `INSERT INTO return_lines (return_id, line_no, sku, quantity, exchange_sku)
     SELECT $1, n, sku, quantity, exchange_sku FROM unnest($2::text[], $3::int[], $4::text[]) WITH ORDINALITY AS l(sku, quantity, exchange_sku, n)`,
    [r.id, r.lines.map((l) => l.sku), r.lines.map((l) => l.quantity), r.lines.map((l) => l.exchangeSku ?? null)]);
}

/** How many RMAs the order has had (their numbers run on from it). */
export async function countReturnsOf(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM returns WHERE order_id = $1`, [orderId]);
  return rows[0]?.n ?? 0;
}

export async function getReturn(db: Queryable, id: string): Promise<ReturnRow | undefined> {
  const { rows } = await db.query<ReturnRow>(`SELECT ${columns} FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.id = $1`, [id]);
  return rows[0];
}

/** Reads an RMA and locks it until the transaction ends. */
export async function lockReturn(tx: Queryable, id: string): Promise<ReturnRow | undefined> {
  const { rows } = await tx.query<ReturnRow>(`SELECT ${columns} FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.id = $1 FOR UPDATE OF r`, [id]);
  return rows[0];
}

export async function returnByIdempotencyKey(db: Queryable, key: string): Promise<ReturnRow | undefined> {
  const { rows } = await db.query<ReturnRow>(`SELECT ${columns} FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.idempotency_key = $1`, [key]);
  return rows[0];
}

export async function listReturns(db: Queryable, f: { status?: string | undefined; orderId?: string | undefined; limit: number }): Promise<ReturnRow[]> {
  const { rows } = await db.query<ReturnRow>(
    `SELECT ${columns} FROM returns r JOIN orders o ON o.id = r.order_id
      WHERE ($1::text IS NULL OR r.status = $1) AND ($2::uuid IS NULL OR r.order_id = $2)
      ORDER BY r.created_at DESC, r.id LIMIT $3`,
    [f.status ?? null, f.orderId ?? null, f.limit]);
  return rows;
}

/** The RMA an exchange order was made for, if it is one. */
export async function returnExchangedInto(db: Queryable, exchangeOrderId: string): Promise<{ id: string; orderId: string; orderNumber: string } | undefined> {
  const { rows } = await db.query<{ id: string; orderId: string; orderNumber: string }>(
    `SELECT r.id, r.order_id AS "orderId", o.order_number AS "orderNumber" FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.exchange_order_id = $1`,
    [exchangeOrderId]);
  return rows[0];
}

/** Units per SKU on the order's RMAs that were not rejected, except `exceptId`. */
export async function unitsOnReturns(db: Queryable, orderId: string, exceptId: string | null = null): Promise<Map<string, number>> {
  const { rows } = await db.query<{ sku: string; n: number }>(
    `SELECT l.sku, sum(CASE WHEN r.received_at IS NULL THEN l.quantity ELSE l.received_quantity END)::int AS n
       FROM returns r JOIN return_lines l ON l.return_id = r.id
      WHERE r.order_id = $1 AND r.status <> 'rejected' AND ($2::text IS NULL OR r.id <> $2) GROUP BY l.sku`,
    [orderId, exceptId]);
  return new Map(rows.map((r) => [r.sku, r.n]));
}

/** Units per SKU that came back to a warehouse on the order's RMAs, except `exceptId`. */
export async function unitsReceived(db: Queryable, orderId: string, exceptId: string | null = null): Promise<Map<string, number>> {
  const { rows } = await db.query<{ sku: string; n: number }>(
    `SELECT l.sku, sum(l.received_quantity)::int AS n
       FROM returns r JOIN return_lines l ON l.return_id = r.id
      WHERE r.order_id = $1 AND r.received_at IS NOT NULL AND ($2::text IS NULL OR r.id <> $2) GROUP BY l.sku`,
    [orderId, exceptId]);
  return new Map(rows.map((r) => [r.sku, r.n]));
}

/**
 * What the customer has in hand: units per SKU of the order's delivered parcels, and when
 * the last of them was delivered. An order marked delivered without any parcel on record
 * counts as delivered whole, when it entered its status.
 */
export async function deliveredUnits(db: Queryable, orderId: string): Promise<{ units: Map<string, number>; at: Date | null }> {
  const { rows } = await db.query<{ sku: string; n: number; at: Date }>(
    `SELECT l->>'sku' AS sku, sum((l->>'quantity')::int)::int AS n, max(p.delivered_at) AS at
       FROM parcels p, jsonb_array_elements(p.lines) l
      WHERE p.order_id = $1 AND p.delivered_at IS NOT NULL GROUP BY l->>'sku'`,
    [orderId]);
  if (rows.length > 0) {
    return { units: new Map(rows.map((r) => [r.sku, r.n])), at: rows.reduce<Date | null>((latest, r) => (latest === null || r.at > latest ? r.at : latest), null) };
  }
  const { rows: whole } = await db.query<{ sku: string; n: number; at: Date }>(
    `SELECT ol.sku, sum(ol.quantity)::int AS n, o.status_changed_at AS at
       FROM orders o JOIN order_lines ol ON ol.order_id = o.id
      WHERE o.id = $1 AND o.status IN ('delivered', 'completed', 'returned')
        AND NOT EXISTS (SELECT 1 FROM parcels p WHERE p.order_id = o.id)
      GROUP BY ol.sku, o.status_changed_at`,
    [orderId]);
  return { units: new Map(whole.map((r) => [r.sku, r.n])), at: whole[0]?.at ?? null };
}

/**
 * The warehouse that shipped most of `skus` to the customer (where the goods go back), or
 * null when no shipment of the order is on record.
 */
export async function warehouseThatShipped(db: Queryable, orderId: string, skus: readonly string[]): Promise<string | null> {
  const { rows } = await db.query<{ warehouse: string }>(
    `SELECT s.warehouse FROM parcels p JOIN shipments s ON s.id = p.shipment_id, jsonb_array_elements(p.lines) l
      WHERE p.order_id = $1 AND l->>'sku' = ANY($2::text[])
      GROUP BY s.warehouse ORDER BY sum((l->>'quantity')::int) DESC, s.warehouse LIMIT 1`,
    [orderId, skus]);
  return rows[0]?.warehouse ?? null;
}

/** The carrier that delivered the order's parcels (the one to bring them back), if any. */
export async function carrierThatDelivered(db: Queryable, orderId: string): Promise<string | null> {
  const { rows } = await db.query<{ carrier: string }>(
    `SELECT carrier FROM parcels WHERE order_id = $1 ORDER BY delivered_at DESC NULLS LAST, id DESC LIMIT 1`, [orderId]);
  return rows[0]?.carrier ?? null;
}

/**
 * Money captured for the order in its currency, and money refunded: the larger of what
 * the ledger shows and what the hub has asked providers (or finance) to pay back, since a
 * refund reaches the ledger only when the provider reports it.
 */
export async function moneyOf(db: Queryable, orderId: string, currency: string): Promise<{ captured: number; refunded: number }> {
  const { rows } = await db.query<{ captured: number | null; refunded: number | null; asked: number | null }>(
    `SELECT (SELECT sum(amount) FROM payments WHERE order_id = $1 AND currency = $2 AND kind = 'captured') AS captured,
            (SELECT sum(amount) FROM payments WHERE order_id = $1 AND currency = $2 AND kind = 'refunded') AS refunded,
            (SELECT sum(amount) FROM refunds WHERE order_id = $1 AND currency = $2) AS asked`,
    [orderId, currency]);
  const r = rows[0];
  return { captured: r?.captured ?? 0, refunded: Math.max(r?.refunded ?? 0, r?.asked ?? 0) };
}

/** Moves an RMA on; `closed` stamps the end of its life. */
export async function setReturnStatus(tx: Queryable, id: string, status: ReturnStatus, fields: { decision?: string; refundAmount?: number; exchangeOrderId?: string; closed?: boolean } = {}): Promise<void> {
  await tx.query(
    `UPDATE returns SET status = $2, decision = COALESCE($3, decision), refund_amount = COALESCE($4, refund_amount),
            exchange_order_id = COALESCE($5, exchange_order_id), closed_at = CASE WHEN $6 THEN now() ELSE closed_at END, updated_at = now()
      WHERE id = $1`,
    [id, status, fields.decision ?? null, fields.refundAmount ?? null, fields.exchangeOrderId ?? null, fields.closed ?? false]);
}

/** Attaches the return label: the customer ships the goods with it. */
export async function setReturnLabel(tx: Queryable, id: string, label: { carrier: string; trackingCode: string; labelUrl: string }): Promise<void> {
  await tx.query(
    `UPDATE returns SET carrier = $2, tracking_code = $3, label_url = $4, status = 'in_transit', updated_at = now() WHERE id = $1`,
    [id, label.carrier, label.trackingCode, label.labelUrl]);
}

/** What the warehouse found in the parcel, per line of the RMA; the goods are in. */
export async function recordReturnReceipt(
  tx: Queryable, id: string, warehouse: string, lines: readonly { sku: string; quantity: number; resellable: number }[], at: Date,
): Promise<void> {
  for (const line of lines) {
    await tx.query(
      `UPDATE return_lines SET received_quantity = $3, resellable_quantity = $4 WHERE return_id = $1 AND sku = $2`,
      [id, line.sku, line.quantity, line.resellable]);
  }
  await tx.query(`UPDATE returns SET status = 'received', warehouse = $2, received_at = $3, updated_at = now() WHERE id = $1`, [id, warehouse, at]);
}

/** Catalog facts for a set of SKUs: which exist, and their names. */
export async function productNames(db: Queryable, skus: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ sku: string; name: string }>(`SELECT sku, name FROM products WHERE sku = ANY($1::text[])`, [skus]);
  return new Map(rows.map((r) => [r.sku, r.name]));
}

/** Total weight in grams of `lines` (0 for SKUs without a weight). */
export async function weightOf(db: Queryable, lines: readonly { sku: string; quantity: number }[]): Promise<number> {
  const { rows } = await db.query<{ grams: number | null }>(
    `SELECT sum(p.weight_grams * l.quantity)::int AS grams FROM unnest($1::text[], $2::int[]) AS l(sku, quantity) JOIN products p ON p.sku = l.sku`,
    [lines.map((l) => l.sku), lines.map((l) => l.quantity)]);
  return rows[0]?.grams ?? 0;
}
