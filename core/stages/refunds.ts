import type { RefundClient } from '../../connectors/payments/refunds.ts';
import { sopFor } from '../config/business.ts';
import type { Tx } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { ledgerOf } from '../db/sql/payments.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, retry } from '../messaging/decision.ts';
import { applyOrderChange } from './apply.ts';
import { notification } from '../pipeline/notify.ts';
import { formatMinorUnits } from '../money.ts';
import { returnRefunded } from './returns.ts';
import type { StageContext } from './context.ts';

/** Captured minus refunded, per provider payment, in the order's currency. */
function refundable(ledger: Awaited<ReturnType<typeof ledgerOf>>, currency: string): { provider: string; paymentId: string; amount: number }[] {
  const net = new Map<string, { provider: string; paymentId: string; amount: number }>();
  for (const l of ledger) {
    if (l.currency !== currency || (l.kind !== 'captured' && l.kind !== 'refunded')) continue;
    const key = `${l.provider}:${l.paymentId}`;
    const entry = net.get(key) ?? { provider: l.provider, paymentId: l.paymentId, amount: 0 };
    entry.amount += l.kind === 'captured' ? l.amount : -l.amount;
    net.set(key, entry);
  }
  return [...net.values()].filter((e) => e.amount > 0);
}

/**
 * Stage `refunds`: money goes back when a paid order is cancelled (all of it), cut down
 * to what is there (`order.reduced`, its `refundDue`), or when returned goods are in
 * (`return.refund_due`, its `refundDue`; the RMA is then `refunded`). Each refund is asked of the
 * provider's API with an idempotency key fixed by the cause (order, event, payment), so a
 * retry or a redelivery never refunds twice; the provider's own refund notification then
 * lands in the ledger like any payment. Money the hub cannot refund itself (cash, a
 * provider without an API client) is an exception for finance.
 */
export function refundsStage(ctx: StageContext, clients: ReadonlyMap<string, RefundClient>): Handler {
  return async ({ event }, tx) => {
    const orderId = typeof event.data.orderId === 'string' ? event.data.orderId : undefined;
    const record = orderId ? await lockOrder(tx, orderId) : undefined;
    if (!record) return ack('no such order');
    let owed = event.type === 'order.reduced' || event.type === 'return.refund_due' ? Number(event.data.refundDue ?? 0) : Number.POSITIVE_INFINITY;
    const payments = refundable(await ledgerOf(tx, record.id), record.order.currency);
    if (payments.length === 0 || owed <= 0) {
      if (event.type === 'return.refund_due') await returnRefunded(tx, ctx, record.id, event.data.rmaId);
      return ack('nothing captured to refund');
    }

    for (const p of payments) {
      if (owed <= 0) break;
      const amount = Math.min(p.amount, owed);
      owed -= amount;
      const key = `refund:${record.id}:${event.id}:${p.provider}:${p.paymentId}`;
      const client = clients.get(p.provider);
      if (!client) {
        await refundByHand(tx, ctx, record.id, p, amount, key, `no refund API for ${p.provider}`);
        continue;
      }
      await tx.query(
        `INSERT INTO refunds (id, order_id, provider, payment_id, amount, currency, reason, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'requested')
         ON CONFLICT (id) DO NOTHING`, [key, record.id, p.provider, p.paymentId, amount, record.order.currency, event.type]);
      const result = await client.refund({ provider: p.provider, paymentId: p.paymentId, amount, currency: record.order.currency, idempotencyKey: key, reason: event.type });
      if (result.ok) {
        await tx.query(`UPDATE refunds SET status = $2, provider_refund_id = $3, updated_at = now() WHERE id = $1`, [key, result.status, result.refundId]);
        await applyOrderChange(tx, ctx, record, {
          timeline: { type: 'refund.requested', reason: `${p.provider} refund of ${amount} ${record.order.currency} (${result.status})`, data: { refundId: result.refundId, key } },
          emit: [
            { type: 'refund.requested', data: { orderId: record.id, orderNumber: record.orderNumber, provider: p.provider, amount, currency: record.order.currency, refundId: result.refundId } },
            ...notification(record, 'refund_issued', { amount: formatMinorUnits(amount, record.order.currency), currency: record.order.currency, occurrence: key }),
          ],
        }, { stage: 'refunds', messageId: `${event.id}:${key}` });
      } else if (result.retryable) {
        // Rolls back this attempt; the same key next time, so no second refund.
        return retry(`${p.provider} refund: ${result.message}`, result.retryAfterMs);
      } else {
        await refundByHand(tx, ctx, record.id, p, amount, key, `${p.provider} refused the refund: ${result.message}`);
      }
    }
    // A return's refund is made (or handed to finance): the RMA is refunded.
    if (event.type === 'return.refund_due') await returnRefunded(tx, ctx, record.id, event.data.rmaId);
    return ack();
  };
}

async function refundByHand(tx: Tx, ctx: StageContext, orderId: string, p: { provider: string; paymentId: string }, amount: number, key: string, why: string): Promise<void> {
  await tx.query(
    `INSERT INTO refunds (id, order_id, provider, payment_id, amount, currency, reason, status, error)
     SELECT $1, $2, $3, $4, $5, currency, 'by hand', 'failed', $6 FROM orders WHERE id = $2 ON CONFLICT (id) DO NOTHING`,
    [key, orderId, p.provider, p.paymentId, amount, why]);
  const sop = sopFor(ctx.config, 'refund_needed');
  await openException(tx, {
    type: 'refund_needed', owner: sop.owner, deadline: new Date(ctx.now().getTime() + sop.deadlineMinutes * 60_000),
    reason: `refund ${amount} of ${p.provider} payment ${p.paymentId} by hand: ${why}`, orderId, messageId: key, stage: 'refunds',
    details: { provider: p.provider, paymentId: p.paymentId, amount },
  });
}
