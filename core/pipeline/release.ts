import type { HubConfig } from '../../schemas/config.ts';
import type { OrderChange, OrderRecord, ReservationLine } from '../order/record.ts';

export interface CarrierChoice { carrier: string; serviceLevel: string; transitDays: number }

/** The first configured carrier that delivers to `country`, with its fastest-listed first service. */
export function chooseCarrier(carriers: HubConfig['carriers'], country: string): CarrierChoice | null {
  for (const c of carriers) {
    if (c.regions && c.regions.length > 0 && !c.regions.includes(country)) continue;
    const service = c.services[0];
    if (service) return { carrier: c.code, serviceLevel: service.code, transitDays: service.transitDays };
  }
  return null;
}

/** Adds `days` calendar days and returns the date part (YYYY-MM-DD). */
export function promisedDate(from: Date, days: number): string {
  return new Date(from.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * A paid, allocated order is released to its warehouse with a fulfilment request; an
 * allocated order that is not paid yet waits for its payment. Anything else: nothing to do
 * (a late or repeated trigger).
 */
export function releaseChange(
  record: OrderRecord,
  reservations: readonly ReservationLine[],
  carrier: CarrierChoice | null,
  now: Date,
): OrderChange | null {
  if (record.status !== 'allocated' || record.paymentStatus !== 'paid' || !record.warehouse) return null;
  const warehouse = record.warehouse;
  const names = new Map(record.order.lines.map((l) => [l.sku, l.name]));
  const request = {
    orderId: record.id,
    orderNumber: record.orderNumber,
    channel: record.channel,
    externalOrderId: record.externalId,
    warehouse,
    lines: reservations.filter((r) => r.warehouse === warehouse).map((r) => ({ sku: r.sku, name: names.get(r.sku) ?? r.sku, quantity: r.quantity })),
    shipTo: { ...record.order.shippingAddress, email: record.order.customer.email ?? null },
    carrier: carrier?.carrier ?? null,
    serviceLevel: carrier?.serviceLevel ?? null,
    promisedBy: carrier ? promisedDate(now, carrier.transitDays + 1) : null,
    flags: record.order.flags,
    notes: record.order.notes ?? null,
  };
  return {
    to: 'released',
    fulfillmentStatus: 'requested',
    timeline: { type: 'fulfillment.requested', reason: `released to ${warehouse}`, data: { carrier: request.carrier, serviceLevel: request.serviceLevel } },
    emit: [{ type: 'fulfillment.requested', routingKey: `fulfillment.requested.${warehouse}`, data: request }],
  };
}
