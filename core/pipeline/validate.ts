import type { CanonicalOrder } from '../../schemas/canonical-order.ts';
import { quantitiesBySku, type OrderChange, type OrderRecord } from '../order/record.ts';
import { handlesCategory, servesAddress, type WarehouseFacts } from './warehouses.ts';

/** What validation reads from the database about the order's SKUs and the warehouses. */
export interface ValidationFacts {
  /** category by SKU, for the SKUs the hub knows */
  categories: ReadonlyMap<string, string>;
  warehouses: readonly WarehouseFacts[];
  /** available (on hand − reserved) by warehouse, then SKU */
  available: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export interface Shortage { sku: string; wanted: number; available: number }

export type Verdict =
  | { verdict: 'valid' }
  | { verdict: 'hold'; exception: 'unknown_sku' | 'address_invalid' | 'address_unserved'; reason: string; details: Record<string, unknown> }
  | { verdict: 'backorder'; reason: string; shortages: Shortage[] };

/**
 * Validation rules, in the order a person would check them: every SKU is known, the order
 * has somewhere to go that the hub delivers to, and the warehouses that could serve it hold
 * enough stock in total. Unknown SKUs and addresses wait for a person (on hold); a shortage
 * backorders the order.
 */
export function validateOrder(order: CanonicalOrder, facts: ValidationFacts): Verdict {
  const wanted = quantitiesBySku(order.lines);
  const unknown = [...wanted.keys()].filter((sku) => !facts.categories.has(sku));
  if (unknown.length > 0) {
    return { verdict: 'hold', exception: 'unknown_sku', reason: `unknown SKU${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, details: { skus: unknown } };
  }
  const address = order.shippingAddress;
  if (!address) {
    return { verdict: 'hold', exception: 'address_invalid', reason: 'the order has no shipping address', details: {} };
  }
  const serving = facts.warehouses.filter((w) => servesAddress(w, address));
  if (serving.length === 0) {
    return { verdict: 'hold', exception: 'address_unserved', reason: `no warehouse delivers to ${address.country}`, details: { country: address.country } };
  }
  const shortages: Shortage[] = [];
  for (const [sku, quantity] of wanted) {
    const category = facts.categories.get(sku) ?? '';
    const available = serving
      .filter((w) => handlesCategory(w, category))
      .reduce((sum, w) => sum + Math.max(0, facts.available.get(w.code)?.get(sku) ?? 0), 0);
    if (available < quantity) shortages.push({ sku, wanted: quantity, available });
  }
  if (shortages.length > 0) {
    return { verdict: 'backorder', reason: `not enough stock for ${shortages.map((s) => s.sku).join(', ')}`, shortages };
  }
  return { verdict: 'valid' };
}

/** The change a verdict makes to the order. */
export function validationChange(record: OrderRecord, verdict: Verdict): OrderChange {
  switch (verdict.verdict) {
    case 'valid':
      return {
        to: 'validated',
        timeline: { type: 'order.validated', reason: 'known SKUs, served address, stock available' },
        emit: [{ type: 'order.validated', data: { orderId: record.id, orderNumber: record.orderNumber } }],
      };
    case 'hold':
      return {
        to: 'on_hold',
        timeline: { type: 'order.on_hold', reason: verdict.reason, data: verdict.details },
        emit: [{ type: 'order.on_hold', data: { orderId: record.id, orderNumber: record.orderNumber, reason: verdict.reason } }],
        exception: { type: verdict.exception, reason: verdict.reason, details: verdict.details },
      };
    case 'backorder':
      return {
        to: 'backordered',
        timeline: { type: 'order.backordered', reason: verdict.reason, data: { shortages: verdict.shortages } },
        emit: [{
          type: 'order.backordered',
          data: { orderId: record.id, orderNumber: record.orderNumber, shortages: verdict.shortages, remedies: ['wait', 'ship_available', 'cancel'] },
        }],
        exception: { type: 'stock_shortage', reason: verdict.reason, details: { shortages: verdict.shortages } },
      };
    default: {
      const never: never = verdict;
      return never;
    }
  }
}
