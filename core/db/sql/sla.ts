import type { Queryable } from '../pool.ts';

/** An order that has been in a status with an SLA for longer than it allows. */
export interface OverdueStay { orderId: string; status: string; since: Date }

/**
 * Orders in one of `statuses` that entered it before the matching `notAfter` (status i's
 * SLA ends at `notAfter[i]`) and have no `sla_breach` exception opened since then (one per
 * stay), longest-waiting first.
 */
export async function overdueStays(db: Queryable, limits: readonly { status: string; enteredBefore: Date }[], limit: number): Promise<OverdueStay[]> {
  if (limits.length === 0) return [];
  const { rows } = await db.query<OverdueStay>(
    `SELECT o.id AS "orderId", o.status, o.status_changed_at AS since
       FROM orders o JOIN unnest($1::text[], $2::timestamptz[]) AS l(status, entered_before) ON l.status = o.status
      WHERE o.status_changed_at < l.entered_before
        AND NOT EXISTS (SELECT 1 FROM exceptions x WHERE x.type = 'sla_breach' AND x.order_id = o.id AND x.created_at >= o.status_changed_at)
      ORDER BY o.status_changed_at LIMIT $3`,
    [limits.map((l) => l.status), limits.map((l) => l.enteredBefore), limit]);
  return rows;
}

/** When the order entered its current status (read in the caller's transaction, after locking the order). */
export async function statusSince(db: Queryable, orderId: string): Promise<Date | undefined> {
  const { rows } = await db.query<{ since: Date }>(`SELECT status_changed_at AS since FROM orders WHERE id = $1`, [orderId]);
  return rows[0]?.since;
}

/** An open SLA breach, with the stay it was opened for and where its order is now. */
export interface OpenBreach { id: number; breachedStatus: string; breachedSince: Date; status: string; since: Date }

/** The open `sla_breach` exceptions with their orders' current status. */
export async function openSlaBreaches(db: Queryable, limit: number): Promise<OpenBreach[]> {
  const { rows } = await db.query<OpenBreach>(
    `SELECT x.id::int AS id, x.details->>'status' AS "breachedStatus", (x.details->>'since')::timestamptz AS "breachedSince",
            o.status, o.status_changed_at AS since
       FROM exceptions x JOIN orders o ON o.id = x.order_id
      WHERE x.type = 'sla_breach' AND x.status = 'open'
      ORDER BY x.id LIMIT $1`, [limit]);
  return rows;
}

/** Whether the stay with this key already had its breach (open or resolved: one per stay). */
export async function slaBreachRecorded(db: Queryable, stayKey: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM exceptions WHERE type = 'sla_breach' AND message_id = $1`, [stayKey]);
  return rowCount !== 0;
}
