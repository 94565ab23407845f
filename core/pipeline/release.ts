import type { OrderChange, OrderRecord, ReservationLine } from '../order/record.ts';
import type { DeliveryPlan } from './delivery-plan.ts';

/** One warehouse's part of an order, ready to go: what it ships and how. */
export interface ShipmentRelease {
  warehouse: string;
  /** the order's reservations in this warehouse (lines of other warehouses are ignored) */
  lines: readonly ReservationLine[];
  delivery: DeliveryPlan;
}

/** The id of a warehouse's shipment of an order, as the `shipments` table keys it. */
export function shipmentId(orderId: string, warehouse: string): string {
  return `${orderId}:${warehouse}`;
}

/**
 * A paid, allocated order is released: one fulfilment request per warehouse that ships a
 * part of it (routed to `fulfillment.requested.<warehouse>`), each saying which part of a
 * split it is (`split: { index, of }`, counted from 1). An allocated order that is not paid
 * yet waits for its payment; anything else — or no shipment — is nothing to do (a late or
 * repeated trigger).
 */
export function releaseChange(record: OrderRecord, shipments: readonly ShipmentRelease[], now: Date): OrderChange | null {
  if (record.status !== 'allocated' || record.paymentStatus !== 'paid' || shipments.length === 0) return null;
  const names = new Map(record.order.lines.map((l) => [l.sku, l.name]));
  const shipTo = { ...record.order.shippingAddress, email: record.order.customer.email ?? null };
  const requests = shipments.map((s, i) => ({
    orderId: record.id,
    orderNumber: record.orderNumber,
    channel: record.channel,
    externalOrderId: record.externalId,
    warehouse: s.warehouse,
    shipmentId: shipmentId(record.id, s.warehouse),
    lines: s.lines.filter((l) => l.warehouse === s.warehouse).map((l) => ({ sku: l.sku, name: names.get(l.sku) ?? l.sku, quantity: l.quantity })),
    shipTo,
    carrier: s.delivery.carrier,
    serviceLevel: s.delivery.serviceLevel,
    promisedShipDate: s.delivery.promisedShipDate,
    promisedDeliveryDate: s.delivery.promisedDeliveryDate,
    flags: record.order.flags,
    notes: record.order.notes ?? null,
    split: { index: i + 1, of: shipments.length },
    requestedAt: now.toISOString(),
  }));
  const warehouses = shipments.map((s) => s.warehouse);
  return {
    to: 'released',
    fulfillmentStatus: 'requested',
    timeline: {
      type: 'fulfillment.requested',
      reason: `released to ${warehouses.join(', ')}${shipments.length > 1 ? ` (split in ${shipments.length})` : ''}`,
      data: {
        shipments: requests.map((r) => ({
          shipmentId: r.shipmentId, warehouse: r.warehouse, carrier: r.carrier, serviceLevel: r.serviceLevel,
          promisedShipDate: r.promisedShipDate, promisedDeliveryDate: r.promisedDeliveryDate,
        })),
      },
    },
    emit: requests.map((data) => ({ type: 'fulfillment.requested', routingKey: `fulfillment.requested.${data.warehouse}`, data })),
  };
}
