import type { Db, Queryable } from '../core/db/pool.ts';
import { listExceptions } from '../core/db/sql/exceptions.ts';
import { reservationsFor } from '../core/db/sql/inventory.ts';
import {
  feedbackOfOrder, notificationsOfOrder, parcelsOfOrder, paymentsOfOrder, refundsOfOrder, shipmentsOfOrder,
  type OrderPlace, type ParcelDetailRow, type ShipmentDetailRow,
} from '../core/db/sql/order-detail.ts';
import { getOrderSummary, orderTimeline } from '../core/db/sql/orders.ts';
import { maskRecipient } from '../core/order/mask-recipient.ts';
import { archivedOrderDetail } from './archived-orders.ts';
import { orderReturns } from './returns.ts';

/** Each shipment with the parcels that left under it (a shipment may leave in several). */
function shipmentsWithParcels(shipments: ShipmentDetailRow[], parcels: ParcelDetailRow[]) {
  return shipments.map((s) => ({
    ...s,
    parcels: parcels.filter((p) => p.shipmentId === s.id).map(({ shipmentId: _, ...parcel }) => parcel),
  }));
}

/**
 * The money, delivery and customer sections of an order: its ledger rows and refunds
 * (always live), shipments with their parcels, the messages sent to the customer (the
 * address masked: an operator needs to see which address, not to read it) and the rating.
 */
export async function orderSections(db: Queryable, id: string, place: OrderPlace) {
  const [payments, refunds, shipments, parcels, notifications, feedback] = await Promise.all([
    paymentsOfOrder(db, id),
    refundsOfOrder(db, id),
    shipmentsOfOrder(db, id, place),
    parcelsOfOrder(db, id, place),
    notificationsOfOrder(db, id, place),
    feedbackOfOrder(db, id, place),
  ]);
  return {
    payments,
    refunds,
    shipments: shipmentsWithParcels(shipments, parcels),
    notifications: notifications.map((n) => ({ ...n, recipient: maskRecipient(n.recipient) })),
    feedback,
  };
}

/**
 * `GET /api/orders/:id`: the order with its lines (in `order`), reservations, exceptions,
 * returns, payments, refunds, shipments and parcels, notifications, feedback and the full
 * timeline; an archived order the same from the archive, with `archived: true`; undefined
 * when neither has it.
 */
export async function orderDetail(db: Db, id: string) {
  const order = await getOrderSummary(db, id);
  if (!order) {
    const archived = await archivedOrderDetail(db, id);
    if (!archived) return undefined;
    const { timeline, ...rest } = archived;
    return { ...rest, ...(await orderSections(db, id, 'archive')), timeline };
  }
  const [timeline, reservations, exceptions, afterSales, sections] = await Promise.all([
    orderTimeline(db, id),
    reservationsFor(db, id),
    listExceptions(db, { orderId: id }),
    orderReturns(db, id),
    orderSections(db, id, 'live'),
  ]);
  return { ...order, reservations, exceptions, ...afterSales, ...sections, timeline };
}
