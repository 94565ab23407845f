import { HubError } from '../errors.ts';

/** Order statuses, in lifecycle order. */
export const orderStatuses = [
  'received', 'validated', 'on_hold', 'rejected', 'allocated', 'backordered', 'ready_to_ship',
  'released', 'shipped', 'delivered', 'completed', 'cancelled', 'returned',
] as const;
export type OrderStatus = (typeof orderStatuses)[number];

export const paymentStatuses = [
  'pending', 'authorized', 'paid', 'partially_paid', 'overpaid', 'failed', 'voided', 'refunded', 'partially_refunded',
] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

export const fulfillmentStatuses = ['unfulfilled', 'requested', 'partially_shipped', 'shipped', 'delivered', 'returned', 'cancelled'] as const;
export type FulfillmentStatus = (typeof fulfillmentStatuses)[number];

/**
 * The one transitions table of the order state machine, read by the pipeline handlers
 * and the admin API alike. A move not listed here is illegal.
 */
export const transitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  received: ['validated', 'on_hold', 'rejected', 'backordered', 'cancelled'],
  // Back to `received` means: validate again (the channel edited the order, or a person
  // released it from hold).
  validated: ['allocated', 'backordered', 'on_hold', 'cancelled', 'received'],
  on_hold: ['received', 'validated', 'rejected', 'cancelled'],
  backordered: ['validated', 'allocated', 'on_hold', 'cancelled', 'received'],
  allocated: ['ready_to_ship', 'released', 'backordered', 'on_hold', 'cancelled', 'received'],
  ready_to_ship: ['released', 'on_hold', 'cancelled', 'received'],
  // back to validated: the warehouse refused the order, it is allocated elsewhere
  released: ['shipped', 'cancelled', 'validated'],
  shipped: ['delivered', 'returned'],
  delivered: ['completed', 'returned'],
  completed: ['returned'],
  rejected: [],
  cancelled: [],
  returned: [],
};

/**
 * Statuses an order never leaves. `completed` is where the happy path ends, but a return
 * can still reopen it (after-sales), so it is not among them.
 */
export const finalStatuses: readonly OrderStatus[] = ['rejected', 'cancelled', 'returned'];

/** Every status reachable from `start` by following the transitions table (breadth first), `start` included. */
export function reachableFrom(start: OrderStatus): Set<OrderStatus> {
  const seen = new Set<OrderStatus>([start]);
  const queue: OrderStatus[] = [start];
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    for (const to of transitions[next]) {
      if (!seen.has(to)) {
        seen.add(to);
        queue.push(to);
      }
    }
  }
  return seen;
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return transitions[from].includes(to);
}

/** Throws a typed 409 error for an illegal move. */
export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) {
    throw new HubError('illegal_transition', `an order cannot go from ${from} to ${to}`, {
      status: 409,
      details: { from, to, allowed: transitions[from] },
    });
  }
}

export function isOrderStatus(value: string): value is OrderStatus {
  return (orderStatuses as readonly string[]).includes(value);
}
