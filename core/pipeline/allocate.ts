import type { Address } from '../../schemas/canonical-order.ts';
import { quantitiesBySku, type OrderChange, type OrderRecord, type ReservationLine } from '../order/record.ts';
import { handlesCategory, servesAddress, type WarehouseFacts } from './warehouses.ts';

export interface AllocationFacts {
  categories: ReadonlyMap<string, string>;
  warehouses: readonly WarehouseFacts[];
  /** available by warehouse, then SKU, read under row locks */
  available: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export type AllocationPlan =
  | { kind: 'single'; warehouse: string; reservations: ReservationLine[] }
  | { kind: 'none'; reason: string };

/**
 * Picks one warehouse that delivers to the address, handles every line's category and
 * holds every line in stock, preferring the lowest priority number (then the code, so the
 * choice is deterministic). Splitting across warehouses is not attempted here.
 */
export function planAllocation(lines: readonly { sku: string; quantity: number }[], address: Address, facts: AllocationFacts): AllocationPlan {
  const wanted = quantitiesBySku(lines);
  const candidates = facts.warehouses
    .filter((w) => servesAddress(w, address))
    .filter((w) => [...wanted.keys()].every((sku) => handlesCategory(w, facts.categories.get(sku) ?? '')))
    .sort((a, b) => a.priority - b.priority || a.code.localeCompare(b.code));
  for (const w of candidates) {
    const stock = facts.available.get(w.code);
    if ([...wanted].every(([sku, quantity]) => (stock?.get(sku) ?? 0) >= quantity)) {
      return { kind: 'single', warehouse: w.code, reservations: [...wanted].map(([sku, quantity]) => ({ warehouse: w.code, sku, quantity })) };
    }
  }
  return {
    kind: 'none',
    reason: candidates.length === 0
      ? 'no warehouse serving the address handles every line'
      : 'no single warehouse holds every line; the order needs a split or new stock',
  };
}

export function allocationChange(record: OrderRecord, plan: AllocationPlan): OrderChange {
  switch (plan.kind) {
    case 'single':
      return {
        to: 'allocated',
        warehouse: plan.warehouse,
        reserve: plan.reservations,
        timeline: { type: 'order.allocated', reason: `stock reserved in ${plan.warehouse}`, data: { reservations: plan.reservations } },
        emit: [{ type: 'order.allocated', data: { orderId: record.id, orderNumber: record.orderNumber, warehouse: plan.warehouse } }],
      };
    case 'none':
      return {
        to: 'backordered',
        timeline: { type: 'order.backordered', reason: plan.reason },
        emit: [{ type: 'order.backordered', data: { orderId: record.id, orderNumber: record.orderNumber, reason: plan.reason } }],
        exception: { type: 'allocation_failed', reason: plan.reason },
      };
    default: {
      const never: never = plan;
      return never;
    }
  }
}
