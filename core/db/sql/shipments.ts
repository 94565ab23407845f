import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

export interface ShipmentRow {
  id: string;
  orderId: string;
  warehouse: string;
  lines: { sku: string; quantity: number }[];
  carrier: string;
  serviceLevel: string;
  promisedShipDate: string;
  promisedDeliveryDate: string;
  status: 'planned' | 'requested' | 'cancelled';
  plan: Record<string, unknown>;
}

const columns = `id, order_id AS "orderId", warehouse, lines, carrier, service_level AS "serviceLevel",
  to_char(promised_ship_date, 'YYYY-MM-DD') AS "promisedShipDate", to_char(promised_delivery_date, 'YYYY-MM-DD') AS "promisedDeliveryDate",
  status, plan`;

/** Replaces an order's planned shipments (a new allocation supersedes the last one). */
export async function planShipments(tx: Queryable, orderId: string, shipments: Omit<ShipmentRow, 'id' | 'orderId' | 'status'>[]): Promise<void> {
  await tx.query(`UPDATE shipments SET status = 'cancelled' WHERE order_id = $1 AND status = 'planned'`, [orderId]);
  for (const s of shipments) {
    await tx.query(
      `INSERT INTO shipments (id, order_id, warehouse, lines, carrier, service_level, promised_ship_date, promised_delivery_date, status, plan)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'planned', $9)
       ON CONFLICT (id) DO UPDATE SET lines = EXCLUDED.lines, carrier = EXCLUDED.carrier, service_level = EXCLUDED.service_level,
         promised_ship_date = EXCLUDED.promised_ship_date, promised_delivery_date = EXCLUDED.promised_delivery_date,
         status = 'planned', plan = EXCLUDED.plan, requested_at = NULL`,
      [`${orderId}:${s.warehouse}`, orderId, s.warehouse, jsonb(s.lines), s.carrier, s.serviceLevel, s.promisedShipDate, s.promisedDeliveryDate, jsonb(s.plan)],
    );
  }
}

export async function shipmentsOf(db: Queryable, orderId: string, status?: ShipmentRow['status']): Promise<ShipmentRow[]> {
  const { rows } = await db.query<ShipmentRow>(
    `SELECT ${columns} FROM shipments WHERE order_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY warehouse`, [orderId, status ?? null]);
  return rows;
}

export async function markShipmentsRequested(tx: Queryable, orderId: string): Promise<void> {
  await tx.query(`UPDATE shipments SET status = 'requested', requested_at = now() WHERE order_id = $1 AND status = 'planned'`, [orderId]);
}

export async function cancelPlannedShipments(tx: Queryable, orderId: string): Promise<void> {
  await tx.query(`UPDATE shipments SET status = 'cancelled' WHERE order_id = $1 AND status = 'planned'`, [orderId]);
}

/**
 * Fulfilment requests each warehouse has taken since its own `since` (its capacity for the
 * day: warehouses count from their local midnight), all in one round trip; each count is a
 * range of shipments_requested_day_idx.
 */
export async function requestsSince(db: Queryable, since: ReadonlyMap<string, Date>): Promise<Map<string, number>> {
  if (since.size === 0) return new Map();
  const { rows } = await db.query<{ warehouse: string; n: number }>(
    `SELECT w.code AS warehouse,
            (SELECT count(*)::int FROM shipments s WHERE s.status = 'requested' AND s.warehouse = w.code AND s.requested_at >= w.since) AS n
       FROM unnest($1::text[], $2::timestamptz[]) AS w(code, since)`, [[...since.keys()], [...since.values()]]);
  return new Map(rows.map((r) => [r.warehouse, r.n]));
}
