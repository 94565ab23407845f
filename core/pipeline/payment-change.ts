import type { PaymentEvent } from '../../connectors/payments/types.ts';
import type { OrderChange, OrderRecord } from '../order/record.ts';
import { paymentRank } from './channel-update.ts';
import { notification } from './notify.ts';
import type { PaymentPosition } from './payment-status.ts';

/**
 * What new ledger entries do to an order. The ledger's position decides the payment status,
 * but never moves it back down (a late failure after a success is history, not news). Paid
 * for the first time → `payment.captured` (the release stage takes it from there); a failure
 * → the customer told, with remedies; too little, too much, another currency, a dispute → an
 * exception for finance. `early`: the entries came before the order and it has just claimed
 * them. Null when nothing changes.
 */
export function paymentChange(record: OrderRecord, position: PaymentPosition, news: readonly PaymentEvent[], options: { early?: boolean } = {}): OrderChange | null {
  const status = paymentRank[position.status] >= paymentRank[record.paymentStatus] ? position.status : record.paymentStatus;
  const base = { orderId: record.id, orderNumber: record.orderNumber };
  const what = news.map((e) => `${e.provider} ${e.kind} ${e.amount} ${e.currency}`).join(', ');
  const change: OrderChange = {
    timeline: { type: 'payment.recorded', reason: `${what}${status !== record.paymentStatus ? `: payment ${record.paymentStatus} → ${status}` : ''}`, data: { entries: news.map((e) => e.entryId), captured: position.captured, refunded: position.refunded } },
    emit: [],
  };
  if (status !== record.paymentStatus) {
    change.paymentStatus = status;
    if (status === 'paid' && record.paymentStatus !== 'overpaid') change.emit.push({ type: 'payment.captured', data: { ...base, amount: position.captured } });
    if (status === 'refunded' || status === 'partially_refunded') change.emit.push({ type: 'payment.refunded', data: { ...base, refunded: position.refunded } });
  }
  const failed = news.find((e) => e.kind === 'failed');
  if (failed && (status === 'failed' || status === 'pending')) {
    change.emit.push({ type: 'payment.failed', data: { ...base, reason: failed.failureReason ?? null } });
    change.emit.push(...notification(record, 'payment_failed', {
      reason: failed.failureReason ? `the payment did not go through: ${failed.failureReason}` : 'the payment did not go through',
      remedies: ['retry_payment', 'another_payment_method'],
    }));
  }
  if (position.problems.length > 0 && news.some((e) => e.kind !== 'failed')) {
    const disputed = news.some((e) => e.kind === 'disputed');
    change.exception = {
      type: disputed ? 'payment_disputed' : 'payment_mismatch',
      reason: position.problems.join('; '),
      details: { captured: position.captured, refunded: position.refunded, due: record.order.totals.grandTotal, currency: record.order.currency, entries: news.map((e) => e.entryId) },
    };
  }
  if (!change.paymentStatus && change.emit.length === 0 && !change.exception && news.length === 0) return null;
  if (options.early) change.timeline = { type: 'payment.matched', reason: `payments received before the order now belong to it (${what}): payment ${record.paymentStatus} → ${status}`, data: { entries: news.map((e) => e.entryId), captured: position.captured, refunded: position.refunded } };
  return change;
}
