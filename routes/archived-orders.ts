import type { Queryable } from '../core/db/pool.ts';
import {
  archivedExchangeFor, archivedOrderExceptions, archivedOrderTimeline, archivedReservations, archivedReturns, getArchivedOrderSummary,
} from '../core/db/sql/archive.ts';
import { returnView } from '../core/stages/returns.ts';

/**
 * An archived order as `GET /api/orders/:id` shows a live one (lines, reservations,
 * exceptions, returns, timeline), read from the archive tables and marked `archived: true`;
 * undefined when the archive has no such order either.
 */
export async function archivedOrderDetail(db: Queryable, id: string) {
  const order = await getArchivedOrderSummary(db, id);
  if (!order) return undefined;
  const [timeline, reservations, exceptions, returns, exchangeFor] = await Promise.all([
    archivedOrderTimeline(db, id),
    archivedReservations(db, id),
    archivedOrderExceptions(db, id),
    archivedReturns(db, id),
    archivedExchangeFor(db, id),
  ]);
  return {
    ...order, archived: true as const, reservations, exceptions,
    returns: returns.map(returnView),
    exchangeFor: exchangeFor ? { rmaId: exchangeFor.id, orderId: exchangeFor.orderId, orderNumber: exchangeFor.orderNumber } : null,
    timeline,
  };
}
