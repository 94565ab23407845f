import type { Queryable } from '../pool.ts';

/** Messages committed to the outbox and not yet confirmed by the broker, and the age of the oldest. */
export interface OutboxBacklog {
  pending: number;
  /** seconds since the oldest unpublished message was committed; 0 when none waits */
  oldestSeconds: number;
}

export async function outboxBacklog(db: Queryable, now: Date): Promise<OutboxBacklog> {
  const { rows } = await db.query<OutboxBacklog>(
    `SELECT count(*)::int AS pending,
            COALESCE(EXTRACT(EPOCH FROM ($1::timestamptz - min(created_at))), 0)::int AS "oldestSeconds"
       FROM outbox WHERE published_at IS NULL`, [now]);
  return rows[0] ?? { pending: 0, oldestSeconds: 0 };
}

/** An open exception as the exception desk shows it. */
export interface DeskException {
  id: number;
  type: string;
  owner: string;
  deadline: Date;
  reason: string;
  orderId: string | null;
  orderNumber: string | null;
  overdue: boolean;
}

/**
 * The open exceptions, the nearest deadline first (what is due soonest is what an operator
 * takes next), overdue ones included; `now` decides what is overdue.
 */
export async function openExceptionsByDeadline(db: Queryable, now: Date, limit: number): Promise<DeskException[]> {
  const { rows } = await db.query<DeskException>(
    `SELECT x.id, x.type, x.owner, x.deadline, x.reason, x.order_id AS "orderId", o.order_number AS "orderNumber",
            (x.deadline < $1) AS overdue
       FROM exceptions x LEFT JOIN orders o ON o.id = x.order_id
      WHERE x.status = 'open'
      ORDER BY x.deadline, x.id
      LIMIT $2`, [now, limit]);
  return rows;
}

/** An order as the recent-orders table shows it. */
export interface RecentOrder {
  id: string;
  orderNumber: string;
  channel: string;
  status: string;
  paymentStatus: string;
  currency: string;
  grandTotal: number;
  createdAt: Date;
}

export async function recentOrders(db: Queryable, limit: number): Promise<RecentOrder[]> {
  const { rows } = await db.query<RecentOrder>(
    `SELECT id, order_number AS "orderNumber", channel, status, payment_status AS "paymentStatus", currency,
            grand_total AS "grandTotal", created_at AS "createdAt"
       FROM orders ORDER BY created_at DESC, order_number DESC LIMIT $1`, [limit]);
  return rows;
}

/** When an order reached `received` or `released`, from its timeline. */
export interface MilestoneAt {
  milestone: 'received' | 'released';
  at: Date;
}

/** The moves to `received` and `released` in `[since, until)`. */
export async function receivedAndReleasedSince(db: Queryable, since: Date, until: Date): Promise<MilestoneAt[]> {
  const { rows } = await db.query<MilestoneAt>(
    `SELECT to_status AS milestone, at FROM order_events
      WHERE to_status IN ('received', 'released') AND at >= $1 AND at < $2
      ORDER BY at`, [since, until]);
  return rows;
}

/** Stored deliveries the normalize stage has not turned into orders yet (stored, not processed). */
export async function inboundAwaitingNormalize(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM raw_inbound WHERE status = 'accepted'`);
  return rows[0]?.n ?? 0;
}
