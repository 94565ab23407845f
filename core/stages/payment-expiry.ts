import { withSop } from '../config/business.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { openException, resolveExceptionByMessageId } from '../db/sql/exceptions.ts';
import { expirePayment, unmatchedPayments } from '../db/sql/payments.ts';
import { expiresAt, paymentExpiry } from '../pipeline/payment-expiry.ts';
import type { StageContext } from './context.ts';
import { unmatchedPaymentAlertId } from './payment-jobs.ts';

const DAY = 86_400_000;

/**
 * Job `unmatched-payment-expiry`: a payment still without its order `payments.unmatchedExpiryDays`
 * after it came (default 7) expires. No order is matched to it any more — an order turning up
 * that late is not paid by money finance is about to return — its `payment_unmatched`
 * exception is resolved, and where the customer's money is held a `refund_needed` exception
 * tells finance to give it back (once: one per payment).
 */
export async function expireUnmatchedPayments(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const days = ctx.config.payments?.unmatchedExpiryDays ?? 7;
  const now = ctx.now();
  const due = await unmatchedPayments(db, new Date(now.getTime() - days * DAY + 1));
  let expired = 0;
  let refunds = 0;
  for (const p of due) {
    const decided = paymentExpiry(p, now, days);
    if (!decided) continue;
    await withTransaction(db, async (tx) => {
      if (!(await expirePayment(tx, p.provider, p.entryId, now))) return;
      expired++;
      await resolveExceptionByMessageId(tx, 'payment_unmatched', unmatchedPaymentAlertId(p.provider, p.entryId), `expired after ${days} days without its order`);
      if (!decided.refund) return;
      const opened = await openException(tx, withSop(ctx.config, now, {
        type: 'refund_needed',
        reason: decided.refund.reason, messageId: `expired:${p.provider}:${p.entryId}`, stage: 'reconcile',
        details: { ...p, expiredAt: now.toISOString(), expiresAt: expiresAt(p.recordedAt, days).toISOString() },
      }));
      if (opened !== undefined) refunds++;
    });
  }
  return { due: due.length, expired, refundsNeeded: refunds };
}
