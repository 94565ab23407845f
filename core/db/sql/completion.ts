import type { Queryable } from '../pool.ts';

/** Return statuses in which goods are still on their way back or being looked at. */
export const openReturnStatuses = ['requested', 'approved', 'in_transit', 'received'] as const;

/**
 * What keeps order `o` from completing on its own: a return still open, or a dispute not
 * settled. A dispute is open while its exception is open, and also when the ledger has a
 * `disputed` entry that no resolved dispute exception came after: the exception can be
 * missing (a dispute recorded with other news) or resolved before a second dispute.
 */
const holdsCompletion = `
  EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id AND r.status = ANY($1::text[]))
  OR EXISTS (SELECT 1 FROM exceptions x WHERE x.order_id = o.id AND x.type = 'payment_disputed' AND x.status = 'open')
  OR EXISTS (
    SELECT 1 FROM payments p
     WHERE p.order_id = o.id AND p.kind = 'disputed'
       AND NOT EXISTS (SELECT 1 FROM exceptions x
                        WHERE x.order_id = o.id AND x.type = 'payment_disputed' AND x.status = 'resolved' AND x.resolved_at >= p.recorded_at))`;

/**
 * Delivered orders that entered `delivered` at or before `deliveredBefore` and have no open
 * return or dispute, oldest delivery first.
 */
export async function ordersToAutoComplete(db: Queryable, deliveredBefore: Date, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT o.id FROM orders o
      WHERE o.status = 'delivered' AND o.status_changed_at <= $2 AND NOT (${holdsCompletion})
      ORDER BY o.status_changed_at, o.id LIMIT $3`,
    [openReturnStatuses, deliveredBefore, limit]);
  return rows.map((r) => r.id);
}

/**
 * Whether a delivered order may still complete on its own, and since when it is delivered;
 * read again under the order's lock, since a return or a dispute may have come in between.
 */
export async function autoCompletion(db: Queryable, orderId: string): Promise<{ held: boolean; deliveredAt: Date } | undefined> {
  const { rows } = await db.query<{ held: boolean; deliveredAt: Date }>(
    `SELECT (${holdsCompletion}) AS held, o.status_changed_at AS "deliveredAt" FROM orders o WHERE o.id = $2`,
    [openReturnStatuses, orderId]);
  return rows[0];
}
