import type { CanonicalOrder } from '../../schemas/canonical-order.ts';
import type { FulfillmentStatus, OrderStatus, PaymentStatus } from './status.ts';

/** An order as the hub keeps it: the canonical order plus the hub's own state. */
export interface OrderRecord {
  id: string;
  orderNumber: string;
  channel: string;
  externalId: string;
  status: OrderStatus;
  paymentStatus: PaymentStatus;
  fulfillmentStatus: FulfillmentStatus;
  warehouse: string | null;
  order: CanonicalOrder;
}

/** A reservation of stock: `quantity` of `sku` held in `warehouse` for one order. */
export interface ReservationLine {
  warehouse: string;
  sku: string;
  quantity: number;
}

/**
 * What a pipeline stage decided for an order: the state it moves to, the line it adds to
 * the timeline, the events it causes and, where a person must act, an exception. Stages
 * return this; one adapter applies it in the stage's transaction.
 */
export interface OrderChange {
  to?: OrderStatus;
  paymentStatus?: PaymentStatus;
  fulfillmentStatus?: FulfillmentStatus;
  warehouse?: string;
  timeline: { type: string; reason?: string; data?: Record<string, unknown> };
  emit: { type: string; routingKey?: string; data: Record<string, unknown> }[];
  exception?: { type: string; reason: string; details?: Record<string, unknown> };
  reserve?: ReservationLine[];
  /** give back every held stock reservation and planned shipment (cancel, an edit, a re-allocation) */
  releaseReservations?: boolean;
  /** give back the store credit the order holds (cancel, or an edit that is validated again) */
  releaseCredit?: boolean;
  /** a newer snapshot of the order from its channel */
  replaceOrder?: CanonicalOrder;
  /** the channel's last-modified time of that snapshot */
  channelUpdatedAt?: string | null;
  /** types of this order's open exceptions that the change settles */
  resolves?: string[];
}

/** Quantities per SKU, lines of the same SKU added together. */
export function quantitiesBySku(lines: readonly { sku: string; quantity: number }[]): Map<string, number> {
  const totals = new Map<string, number>();
  for (const line of lines) totals.set(line.sku, (totals.get(line.sku) ?? 0) + line.quantity);
  return totals;
}
