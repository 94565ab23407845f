import type { PaymentEvent } from '../../connectors/payments/types.ts';
import { withSop } from '../config/business.ts';
import type { Tx } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { lockOrder, lockOrders } from '../db/sql/orders.ts';
import { findOrderForPayment, ledgerOf, lockMatchKey, recordPayment } from '../db/sql/payments.ts';
import { findArchivedOrderForPayment } from '../db/sql/archive.ts';
import { getRawDelivery, markRawDelivery } from '../db/sql/raw.ts';
import { normalizePayment } from '../inbound-payments.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, park } from '../messaging/decision.ts';
import { paymentChange } from '../pipeline/payment-change.ts';
import { paymentPosition } from '../pipeline/payment-status.ts';
import { applyOrderChange } from './apply.ts';
import { reportArchivedOrderPayment } from './archive.ts';
import type { StageContext } from './context.ts';

/** Channels whose own order ids a provider's payments may carry (config `payments.links`). */
export function channelsLinkedTo(ctx: StageContext, provider: string, account: string | null): string[] {
  return (ctx.config.payments?.links ?? [])
    .filter((l) => l.provider === provider && (!l.account || l.account === account))
    .map((l) => l.channel);
}

/**
 * Brings an order's payment status in line with its ledger, in the caller's transaction:
 * used when payments arrive and when an order arrives after its payments. False when the
 * order is not live (it was archived).
 */
export async function settleOrderPayments(
  tx: Tx, ctx: StageContext, orderId: string, news: readonly PaymentEvent[], cause: { stage: string; messageId: string; actor?: string }, options: { early?: boolean } = {},
): Promise<boolean> {
  const record = await lockOrder(tx, orderId);
  if (!record) return false;
  const position = paymentPosition(await ledgerOf(tx, orderId), { grandTotal: record.order.totals.grandTotal, currency: record.order.currency });
  const change = paymentChange(record, position, news, options);
  if (change) await applyOrderChange(tx, ctx, record, change, cause);
  return true;
}

/**
 * Stage `reconcile`: a payment notification (stored raw by the webhook, or entries an
 * operator recorded) becomes ledger entries — each movement once, whatever the
 * duplicates — matched to its order and settled. A payment whose order has not arrived yet
 * stays in the ledger unmatched; the order claims it when it comes, and a job raises an
 * exception if it never does. A payment for an archived order is recorded under it and
 * raises an exception for finance at once.
 */
export function reconcileStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    let entries: PaymentEvent[];
    let rawId: number | null = null;
    if (Array.isArray(event.data.entries)) {
      entries = event.data.entries as PaymentEvent[];
    } else {
      rawId = Number(event.data.rawId);
      const raw = await getRawDelivery(tx, rawId);
      if (!raw) return park(`raw delivery ${String(event.data.rawId)} does not exist`);
      if (raw.status === 'processed') return ack('already processed');
      const connector = ctx.payments.get(raw.source);
      if (!connector) return park(`no payment connector named ${raw.source}`);
      const result = normalizePayment(connector, raw.body, { eventId: null, topic: raw.topic });
      if (!result.ok) {
        await markRawDelivery(tx, raw.id, result.ignore ? 'ignored' : 'invalid', result.problems);
        if (!result.ignore) {
          await openException(tx, withSop(ctx.config, ctx.now(), {
            type: 'invalid_payload',
            reason: `${raw.source} notification does not map to payments`, rawId: raw.id, messageId: `raw:${raw.id}`, stage: 'reconcile',
            details: { problems: result.problems.slice(0, 50) },
          }));
        }
        return ack();
      }
      entries = result.events;
      await markRawDelivery(tx, raw.id, 'processed');
    }

    // Match keys in one order (sorted), so two notifications naming the same orders never deadlock.
    for (const key of [...new Set(entries.flatMap((e) => e.match.externalOrderId ?? []))].sort()) await lockMatchKey(tx, key);
    const affected = new Map<string, PaymentEvent[]>();
    for (const entry of entries) {
      const linked = channelsLinkedTo(ctx, entry.provider, entry.account);
      // An archived order's payments go into the ledger under its id too, and to finance below.
      const orderId = (await findOrderForPayment(tx, entry.match, linked)) ?? (await findArchivedOrderForPayment(tx, entry.match, linked))?.id;
      const isNew = await recordPayment(tx, entry, orderId ?? null, rawId);
      if (isNew && orderId) affected.set(orderId, [...(affected.get(orderId) ?? []), entry]);
    }
    // locked up front by id, as allocation batches lock orders, so the two never deadlock
    await lockOrders(tx, [...affected.keys()]);
    for (const [orderId, news] of affected) {
      const settled = await settleOrderPayments(tx, ctx, orderId, news, { stage: 'reconcile', messageId: `${event.id}:${orderId}`, ...(typeof event.data.actor === 'string' ? { actor: event.data.actor } : {}) });
      // Archived before, or while this message was on its way: nothing to settle, finance looks.
      if (!settled) await reportArchivedOrderPayment(tx, ctx, orderId, news, `${event.id}:${orderId}`);
    }
    return ack();
  };
}
