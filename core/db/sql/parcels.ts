import type { TrackingEvent } from '../../../connectors/carriers/types.ts';
import { jsonb } from '../jsonb.ts';
import type { Queryable } from '../pool.ts';

export interface ParcelRow {
  id: number; shipmentId: string; orderId: string; carrier: string; trackingCode: string; lines: { sku: string; quantity: number }[];
  status: string; publicUrl: string | null; estimatedDelivery: string | null; lastScanAt: Date; deliveredAt: Date | null;
}
const columns = `id, shipment_id AS "shipmentId", order_id AS "orderId", carrier, tracking_code AS "trackingCode", lines, status,
  public_url AS "publicUrl", to_char(estimated_delivery, 'YYYY-MM-DD') AS "estimatedDelivery", last_scan_at AS "lastScanAt", delivered_at AS "deliveredAt"`;

/** Records a parcel a warehouse shipped; false when it was already recorded (a redelivered event). */
export async function recordParcel(tx: Queryable, p: { shipmentId: string; orderId: string; carrier: string; trackingCode: string; lines: { sku: string; quantity: number }[]; shippedAt: Date }): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO parcels (shipment_id, order_id, carrier, tracking_code, lines, status, shipped_at, last_scan_at)
     VALUES ($1, $2, lower($3), $4, $5, 'pre_transit', $6, $6) ON CONFLICT (carrier, tracking_code) DO NOTHING`,
    [p.shipmentId, p.orderId, p.carrier, p.trackingCode, jsonb(p.lines), p.shippedAt]);
  return rowCount === 1;
}

export async function parcelsOf(db: Queryable, orderId: string): Promise<ParcelRow[]> {
  const { rows } = await db.query<ParcelRow>(`SELECT ${columns} FROM parcels WHERE order_id = $1 ORDER BY id`, [orderId]);
  return rows;
}

export async function lockParcel(tx: Queryable, carrier: string, trackingCode: string): Promise<ParcelRow | undefined> {
  const { rows } = await tx.query<ParcelRow>(`SELECT ${columns} FROM parcels WHERE carrier = lower($1) AND tracking_code = $2 FOR UPDATE`, [carrier, trackingCode]);
  return rows[0];
}

/**
 * Moves a parcel on with a tracking update; a scan older than the last one applied changes
 * nothing (the ship time does not count: the carrier's and the warehouse's clocks differ).
 */
export async function trackParcel(tx: Queryable, id: number, e: TrackingEvent): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE parcels SET status = $2, status_detail = $3, public_url = COALESCE($4, public_url), estimated_delivery = COALESCE($5::date, estimated_delivery),
            last_tracked_at = $6, last_scan_at = greatest(last_scan_at, $6), delivered_at = CASE WHEN $2 = 'delivered' THEN $6 ELSE delivered_at END
      WHERE id = $1 AND (last_tracked_at IS NULL OR last_tracked_at <= $6)`,
    [id, e.status, e.statusDetail, e.publicUrl, e.estimatedDelivery, e.occurredAt]);
  return rowCount === 1;
}

/** Parcels not delivered whose last scan is older than `before`, or whose promised date has passed. */
export async function stalledParcels(db: Queryable, before: Date, today: string): Promise<(ParcelRow & { promisedDeliveryDate: string | null })[]> {
  const { rows } = await db.query<ParcelRow & { promisedDeliveryDate: string | null }>(
    `SELECT p.id, p.shipment_id AS "shipmentId", p.order_id AS "orderId", p.carrier, p.tracking_code AS "trackingCode", p.lines, p.status,
            p.public_url AS "publicUrl", to_char(p.estimated_delivery, 'YYYY-MM-DD') AS "estimatedDelivery", p.last_scan_at AS "lastScanAt",
            p.delivered_at AS "deliveredAt", to_char(s.promised_delivery_date, 'YYYY-MM-DD') AS "promisedDeliveryDate"
       FROM parcels p JOIN shipments s ON s.id = p.shipment_id
      WHERE p.delivered_at IS NULL AND p.status <> 'returned_to_sender'
        AND (p.last_scan_at < $1 OR s.promised_delivery_date < $2::date)
      ORDER BY p.last_scan_at LIMIT 500`, [before, today]);
  return rows;
}
