import type { Db, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { notification } from '../pipeline/notify.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

const REQUESTED = 'review.reminder_requested';
/**
 * Orders delivered longer ago than this past the reminder day are left alone: turning the
 * reminder on must not write to every customer the shop has ever had.
 */
const LATEST_DAYS_AFTER = 14;

/** Delivered orders whose reminder is due and was never asked for (the timeline says so). */
async function dueOrders(db: Queryable, dueBefore: Date, notBefore: Date): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT o.id FROM orders o
       JOIN LATERAL (SELECT max(e.at) AS at FROM order_events e WHERE e.order_id = o.id AND e.to_status = 'delivered') d ON true
      WHERE o.status = 'delivered' AND d.at <= $1 AND d.at > $2
        AND NOT EXISTS (SELECT 1 FROM order_events r WHERE r.order_id = o.id AND r.type = $3)
      ORDER BY d.at LIMIT 200`,
    [dueBefore, notBefore, REQUESTED]);
  return rows.map((r) => r.id);
}

/**
 * Job: `notifications.reviewReminder.afterDays` after an order is delivered, the customer is
 * asked for a review, once (the request is on the timeline; the notification key keeps it to
 * one message per channel even so). Off unless configured.
 */
export async function requestReviewReminders(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const settings = ctx.config.notifications.reviewReminder;
  if (!settings) return { due: 0, requested: 0 };
  const now = ctx.now().getTime();
  const day = 86_400_000;
  const ids = await dueOrders(db, new Date(now - settings.afterDays * day), new Date(now - (settings.afterDays + LATEST_DAYS_AFTER) * day));
  let requested = 0;
  for (const id of ids) {
    await withTransaction(db, async (tx) => {
      const record = await lockOrder(tx, id);
      if (!record || record.status !== 'delivered') return;
      const again = await tx.query(`SELECT 1 FROM order_events WHERE order_id = $1 AND type = $2`, [id, REQUESTED]);
      if (again.rowCount !== 0) return;
      const reviewUrl = settings.url.replaceAll('{{orderNumber}}', encodeURIComponent(record.orderNumber));
      const emit = notification(record, 'review_reminder', { reviewUrl });
      await applyOrderChange(tx, ctx, record, {
        timeline: { type: REQUESTED, reason: emit.length > 0 ? `review reminder, ${settings.afterDays} days after delivery` : 'review reminder due, but the order has no usable email or phone' },
        emit,
      }, { stage: 'review-reminders', messageId: `review:${id}`, actor: 'job:review-reminders' });
      if (emit.length > 0) requested++;
    });
  }
  return { due: ids.length, requested };
}
