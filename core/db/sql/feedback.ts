import type { Queryable } from '../pool.ts';

export interface FeedbackRow { rating: number; comment: string | null; source: string; createdAt: Date }

/** The customer's rating of an order, if they gave one. */
export async function feedbackFor(db: Queryable, orderId: string): Promise<FeedbackRow | undefined> {
  const { rows } = await db.query<FeedbackRow>(
    'SELECT rating, comment, source, created_at AS "createdAt" FROM feedback WHERE order_id = $1', [orderId]);
  return rows[0];
}

/** Stores an order's rating; false when the order was rated already (one per order). */
export async function insertFeedback(db: Queryable, f: { orderId: string; rating: number; comment: string | null; source: string; at: Date }): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO feedback (order_id, rating, comment, source, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING`,
    [f.orderId, f.rating, f.comment, f.source, f.at]);
  return rowCount === 1;
}
