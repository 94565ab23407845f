import { withSop } from '../config/business.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { unmatchedPayments, unpaidOrders } from '../db/sql/payments.ts';
import { notification } from '../pipeline/notify.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

/**
 * Job: an order not paid within `payments.paymentTimeoutMinutes` (cash on delivery aside)
 * is cancelled, its stock and credit released, the customer told. Each order in its own
 * transaction, so one failure does not hold back the rest.
 */
export async function cancelUnpaidOrders(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const minutes = ctx.config.payments?.paymentTimeoutMinutes ?? 1440;
  const ids = await unpaidOrders(db, new Date(ctx.now().getTime() - minutes * 60_000));
  let cancelled = 0;
  for (const id of ids) {
    await withTransaction(db, async (tx) => {
      const record = await lockOrder(tx, id);
      if (!record || !['pending', 'failed'].includes(record.paymentStatus) || ['released', 'shipped', 'delivered', 'completed', 'cancelled', 'rejected', 'returned'].includes(record.status)) return;
      const reason = `not paid within ${minutes} minutes`;
      await applyOrderChange(tx, ctx, record, {
        to: 'cancelled', fulfillmentStatus: 'cancelled', releaseReservations: true, releaseCredit: true,
        resolves: ['stock_shortage', 'allocation_failed'],
        timeline: { type: 'order.cancelled', reason },
        emit: [
          { type: 'order.cancelled', data: { orderId: record.id, orderNumber: record.orderNumber, reason } },
          ...notification(record, 'payment_timeout', { reason, remedies: ['order_again'] }),
        ],
      }, { stage: 'payment-timeout', messageId: `timeout:${record.id}`, actor: 'job:payment-timeout' });
      cancelled++;
    });
  }
  return { checked: ids.length, cancelled };
}

/** The message id of the `payment_unmatched` exception of one ledger entry. */
export const unmatchedPaymentAlertId = (provider: string, entryId: string) => `unmatched:${provider}:${entryId}`;

/** Job: a payment with no order after `payments.unmatchedAfterMinutes` is an exception for finance. */
export async function reportUnmatchedPayments(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const minutes = ctx.config.payments?.unmatchedAfterMinutes ?? 60;
  const payments = await unmatchedPayments(db, new Date(ctx.now().getTime() - minutes * 60_000));
  let opened = 0;
  for (const p of payments) {
    const id = await openException(db, withSop(ctx.config, ctx.now(), {
      type: 'payment_unmatched',
      reason: `${p.provider} ${p.kind} of ${p.amount} ${p.currency} (${p.paymentId}) matches no order after ${minutes} minutes`,
      messageId: unmatchedPaymentAlertId(p.provider, p.entryId), stage: 'reconcile', details: { ...p },
    }));
    if (id !== undefined) opened++;
  }
  return { unmatched: payments.length, opened };
}
