import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';
import type { ReservationLine } from '../../order/record.ts';
import { heldReservationsQuery } from './inventory.ts';

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
  // one shipment per warehouse: planning again for a warehouse updates its row
  const ids = shipments.map((s) => `${orderId}:${s.warehouse}`);
  // One statement: the earlier plan's other shipments cancelled, these written. The
  // cancel leaves out the rows the insert writes: a statement changes a row once.
  await tx.query(
    `WITH cancelled AS (
       UPDATE shipments SET status = 'cancelled' WHERE order_id = $1 AND status = 'planned' AND id <> ALL($2::text[]))
     INSERT INTO shipments (id, order_id, warehouse, lines, carrier, service_level, promised_ship_date, promised_delivery_date, status, plan)
     SELECT id, $1, warehouse, lines, carrier, service_level, ship, delivery, 'planned', plan
       FROM unnest($2::text[], $3::text[], $4::jsonb[], $5::text[], $6::text[], $7::date[], $8::date[], $9::jsonb[])
         AS s(id, warehouse, lines, carrier, service_level, ship, delivery, plan)
     ON CONFLICT (id) DO UPDATE SET lines = EXCLUDED.lines, carrier = EXCLUDED.carrier, service_level = EXCLUDED.service_level,
       promised_ship_date = EXCLUDED.promised_ship_date, promised_delivery_date = EXCLUDED.promised_delivery_date,
       status = 'planned', plan = EXCLUDED.plan, requested_at = NULL`,
    [orderId, ids, shipments.map((s) => s.warehouse), shipments.map((s) => jsonb(s.lines)), shipments.map((s) => s.carrier),
      shipments.map((s) => s.serviceLevel), shipments.map((s) => s.promisedShipDate), shipments.map((s) => s.promisedDeliveryDate),
      shipments.map((s) => jsonb(s.plan))],
  );
}

export async function shipmentsOf(db: Queryable, orderId: string, status?: ShipmentRow['status']): Promise<ShipmentRow[]> {
  const { rows } = await db.query<ShipmentRow>(
    `SELECT ${columns} FROM shipments WHERE order_id = $1 AND ($2::text IS NULL OR status = $2) ORDER BY warehouse`, [orderId, status ?? null]);
  return rows;
}

/**
 * What release reads once the order is locked, in one round trip: the stock the order holds
 * (as `heldReservations`) and its planned shipments (as `shipmentsOf(…, 'planned')`).
 */
export async function releaseFacts(db: Queryable, orderId: string): Promise<{ held: ReservationLine[]; planned: ShipmentRow[] }> {
  const { rows } = await db.query<{ held: ReservationLine[]; planned: ShipmentRow[] }>(
    `SELECT (SELECT coalesce(json_agg(r ORDER BY r.warehouse, r.sku), '[]') FROM (${heldReservationsQuery}) r) AS held,
            (SELECT coalesce(json_agg(s ORDER BY s.warehouse), '[]')
               FROM (SELECT ${columns} FROM shipments WHERE order_id = $1 AND status = 'planned') s) AS planned`,
    [orderId]);
  return rows[0]!;
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
