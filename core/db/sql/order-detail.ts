import type { Queryable } from '../pool.ts';

/**
 * Where an order's rows are: the live tables, or the archive twins they moved to (same
 * columns, see 010_archive.sql). The money ledger (`payments`, `refunds`) has no twin: it
 * stays live for archived orders too. Table names come from here, never from input.
 */
export type OrderPlace = 'live' | 'archive';
const tablesOf = {
  live: { shipments: 'shipments', parcels: 'parcels', notifications: 'notifications', feedback: 'feedback' },
  archive: { shipments: 'archived_shipments', parcels: 'archived_parcels', notifications: 'archived_notifications', feedback: 'archived_feedback' },
} as const;

/** One movement of money in the ledger for an order. */
export interface PaymentRow {
  provider: string; kind: string; amount: number; currency: string; method: string; paymentId: string;
  failureReason: string | null; occurredAt: Date; recordedAt: Date; matchedAt: Date | null;
}

/** The ledger rows of an order (live or archived), in the order they happened. */
export async function paymentsOfOrder(db: Queryable, orderId: string): Promise<PaymentRow[]> {
  const { rows } = await db.query<PaymentRow>(
    `SELECT provider, kind, amount, currency, method, payment_id AS "paymentId", failure_reason AS "failureReason",
            occurred_at AS "occurredAt", recorded_at AS "recordedAt", matched_at AS "matchedAt"
       FROM payments WHERE order_id = $1 ORDER BY occurred_at, id`, [orderId]);
  return rows;
}

/** A refund the hub asked a provider for. */
export interface RefundRow {
  id: string; provider: string; paymentId: string; amount: number; currency: string; reason: string; status: string;
  providerRefundId: string | null; error: string | null; createdAt: Date; updatedAt: Date;
}

/** The refunds of an order (live or archived), oldest first. */
export async function refundsOfOrder(db: Queryable, orderId: string): Promise<RefundRow[]> {
  const { rows } = await db.query<RefundRow>(
    `SELECT id, provider, payment_id AS "paymentId", amount, currency, reason, status, provider_refund_id AS "providerRefundId",
            error, created_at AS "createdAt", updated_at AS "updatedAt"
       FROM refunds WHERE order_id = $1 ORDER BY created_at, id`, [orderId]);
  return rows;
}

/** What a warehouse ships of an order, with its plan's promises. */
export interface ShipmentDetailRow {
  id: string; warehouse: string; carrier: string; serviceLevel: string; status: string; wmsStatus: string | null;
  lines: { sku: string; quantity: number }[]; promisedShipDate: string; promisedDeliveryDate: string;
  createdAt: Date; requestedAt: Date | null;
}

/** An order's shipments, cancelled plans included, in the order they were planned. */
export async function shipmentsOfOrder(db: Queryable, orderId: string, place: OrderPlace): Promise<ShipmentDetailRow[]> {
  const { rows } = await db.query<ShipmentDetailRow>(
    `SELECT id, warehouse, carrier, service_level AS "serviceLevel", status, wms_status AS "wmsStatus", lines,
            to_char(promised_ship_date, 'YYYY-MM-DD') AS "promisedShipDate", to_char(promised_delivery_date, 'YYYY-MM-DD') AS "promisedDeliveryDate",
            created_at AS "createdAt", requested_at AS "requestedAt"
       FROM ${tablesOf[place].shipments} WHERE order_id = $1 ORDER BY created_at, id`, [orderId]);
  return rows;
}

/** A parcel that left a warehouse, with what its carrier last said. */
export interface ParcelDetailRow {
  shipmentId: string; carrier: string; trackingCode: string; status: string; statusDetail: string | null; publicUrl: string | null;
  lines: { sku: string; quantity: number }[]; estimatedDelivery: string | null; shippedAt: Date; lastScanAt: Date; deliveredAt: Date | null;
}

/** An order's parcels, in the order they were shipped. */
export async function parcelsOfOrder(db: Queryable, orderId: string, place: OrderPlace): Promise<ParcelDetailRow[]> {
  const { rows } = await db.query<ParcelDetailRow>(
    `SELECT shipment_id AS "shipmentId", carrier, tracking_code AS "trackingCode", status, status_detail AS "statusDetail",
            public_url AS "publicUrl", lines, to_char(estimated_delivery, 'YYYY-MM-DD') AS "estimatedDelivery",
            shipped_at AS "shippedAt", last_scan_at AS "lastScanAt", delivered_at AS "deliveredAt"
       FROM ${tablesOf[place].parcels} WHERE order_id = $1 ORDER BY shipped_at, id`, [orderId]);
  return rows;
}

/** A message to the customer about an order, with the address in full (the caller masks it). */
export interface NotificationRow {
  template: string; channel: string; recipient: string; locale: string; status: string;
  sendAfter: Date; sentAt: Date | null; error: string | null; createdAt: Date;
}

/** Every message to the customer about an order, in the order they were composed. */
export async function notificationsOfOrder(db: Queryable, orderId: string, place: OrderPlace): Promise<NotificationRow[]> {
  const { rows } = await db.query<NotificationRow>(
    `SELECT template, channel, recipient, locale, status, send_after AS "sendAfter", sent_at AS "sentAt", error, created_at AS "createdAt"
       FROM ${tablesOf[place].notifications} WHERE order_id = $1 ORDER BY created_at, key`, [orderId]);
  return rows;
}

/** The customer's rating of an order, or null. */
export async function feedbackOfOrder(db: Queryable, orderId: string, place: OrderPlace): Promise<{ rating: number; comment: string | null; source: string; createdAt: Date } | null> {
  const { rows } = await db.query<{ rating: number; comment: string | null; source: string; createdAt: Date }>(
    `SELECT rating, comment, source, created_at AS "createdAt" FROM ${tablesOf[place].feedback} WHERE order_id = $1`, [orderId]);
  return rows[0] ?? null;
}
