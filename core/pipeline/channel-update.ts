import type { OrderIntent } from '../../connectors/types.ts';
import type { Address, CanonicalOrder } from '../../schemas/canonical-order.ts';
import type { OrderChange, OrderRecord } from '../order/record.ts';
import type { OrderStatus, PaymentStatus } from '../order/status.ts';
import { paymentStatusAtReceipt } from './receive.ts';

/** A newer snapshot of an order the hub already has, as a channel sent it. */
export interface ChannelSnapshot {
  order: CanonicalOrder;
  intent: OrderIntent;
  updatedAt: string | null;
  cancelReason?: string | null | undefined;
}

/** Before release the hub can still change its mind freely: nothing has left for a warehouse. */
const beforeRelease: readonly OrderStatus[] = ['received', 'validated', 'on_hold', 'backordered', 'allocated', 'ready_to_ship'];
const ended: readonly OrderStatus[] = ['rejected', 'cancelled', 'returned'];

export type ChannelUpdateDecision = { kind: 'stale' } | { kind: 'unchanged' } | { kind: 'change'; change: OrderChange };

/**
 * What a channel's update or cancellation does to an order the hub has. Deliveries arrive
 * late and out of order, so a snapshot older than the one the order was built from is
 * ignored. Before release the hub follows the channel (cancel releases the stock; an edit to
 * lines or address releases it and validates again); after release a person decides, since
 * a warehouse may already be picking.
 */
export function decideChannelUpdate(record: OrderRecord, lastUpdatedAt: string | null, incoming: ChannelSnapshot): ChannelUpdateDecision {
  if (incoming.updatedAt && lastUpdatedAt && Date.parse(incoming.updatedAt) < Date.parse(lastUpdatedAt)) return { kind: 'stale' };
  const base = { orderId: record.id, orderNumber: record.orderNumber };
  const channel = record.channel;

  if (incoming.intent === 'cancel') {
    if (ended.includes(record.status)) return { kind: 'unchanged' };
    const why = `cancelled by ${channel}${incoming.cancelReason ? ` (${incoming.cancelReason})` : ''}`;
    if (beforeRelease.includes(record.status)) {
      return {
        kind: 'change',
        change: {
          to: 'cancelled', fulfillmentStatus: 'cancelled', releaseReservations: true, releaseCredit: true, channelUpdatedAt: incoming.updatedAt,
          timeline: { type: 'order.cancelled', reason: why },
          emit: [{ type: 'order.cancelled', data: { ...base, reason: why } }],
        },
      };
    }
    if (record.status === 'released') {
      // The warehouses are asked to stop; their answer decides (stage `cancellations`).
      return {
        kind: 'change',
        change: {
          channelUpdatedAt: incoming.updatedAt,
          timeline: { type: 'order.cancel_requested', reason: `${why} after release: the warehouses are asked to stop it` },
          emit: [{ type: 'order.cancel_requested', data: { ...base, reason: why, status: record.status } }],
        },
      };
    }
    return {
      kind: 'change',
      change: {
        channelUpdatedAt: incoming.updatedAt,
        timeline: { type: 'order.cancel_requested', reason: `${why} after ${record.status}: a person must recover the shipment` },
        emit: [{ type: 'order.cancel_requested', data: { ...base, reason: why, status: record.status } }],
        exception: { type: 'cancel_after_shipment', reason: `${why}, but the order is already ${record.status}` },
      },
    };
  }

  const payment = nextPaymentStatus(record.paymentStatus, paymentStatusAtReceipt(incoming.order.payment.status));
  const edits = materialEdits(record.order, incoming.order);
  const otherwiseChanged = !sameJson(withoutPaymentStatus(record.order), withoutPaymentStatus(incoming.order));
  if (payment === record.paymentStatus && !otherwiseChanged) {
    return { kind: 'unchanged' };
  }

  const change: OrderChange = { channelUpdatedAt: incoming.updatedAt, timeline: { type: 'order.updated', reason: `updated by ${channel}` }, emit: [] };
  const reasons: string[] = [];
  if (payment !== record.paymentStatus) {
    change.paymentStatus = payment;
    reasons.push(`payment ${record.paymentStatus} → ${payment}`);
    if (payment === 'paid') change.emit.push({ type: 'payment.captured', data: { ...base, source: channel } });
  }
  if (edits.length > 0 && (beforeRelease.includes(record.status))) {
    change.replaceOrder = incoming.order;
    if (record.status !== 'received') {
      change.to = 'received';
      change.releaseReservations = true;
      change.releaseCredit = true;
      change.emit.push({ type: 'order.received', data: { ...base, channel, externalId: record.externalId } });
    }
    reasons.push(`${edits.join(' and ')} changed${record.status === 'received' ? '' : ': stock released, validating again'}`);
  } else if (edits.length > 0 && !ended.includes(record.status)) {
    change.exception = {
      type: 'edit_after_release',
      reason: `${channel} changed the ${edits.join(' and ')} of an order already ${record.status}`,
      details: { changed: edits, incoming: { lines: incoming.order.lines, shippingAddress: incoming.order.shippingAddress } },
    };
    reasons.push(`${edits.join(' and ')} changed after ${record.status}: not applied, a person decides`);
  } else if (otherwiseChanged && !ended.includes(record.status)) {
    // Notes, contact details, tags: kept current, nothing to redo.
    change.replaceOrder = incoming.order;
    reasons.push('details changed');
  }
  if (reasons.length === 0) return { kind: 'unchanged' };
  change.timeline = { type: edits.length > 0 ? 'order.edited' : 'order.updated', reason: `${channel}: ${reasons.join('; ')}` };
  return { kind: 'change', change };
}

/**
 * The channel's payment news, without going backwards: a late `pending` after `paid` is an
 * older truth. Refunds and voids do move a paid order on.
 */
export function nextPaymentStatus(current: PaymentStatus, reported: PaymentStatus): PaymentStatus {
  return paymentRank[reported] > paymentRank[current] ? reported : current;
}

/** How far along a payment is: news never moves an order back down this scale. */
export const paymentRank: Readonly<Record<PaymentStatus, number>> = {
  pending: 0, failed: 1, authorized: 2, partially_paid: 3, paid: 4, overpaid: 4, partially_refunded: 5, refunded: 6, voided: 6,
};

/** Which of the things that decide fulfilment changed: the lines (SKU and quantity) or the address. */
export function materialEdits(before: CanonicalOrder, after: CanonicalOrder): string[] {
  const lines = (o: CanonicalOrder) => o.lines.map((l) => `${l.sku}×${l.quantity}`).sort().join(',');
  const edits: string[] = [];
  if (lines(before) !== lines(after)) edits.push('lines');
  if (!sameAddress(before.shippingAddress ?? null, after.shippingAddress ?? null)) edits.push('shipping address');
  return edits;
}

function sameAddress(a: Address | null, b: Address | null): boolean {
  return sameJson(a, b);
}

function withoutPaymentStatus(order: CanonicalOrder): unknown {
  return { ...order, payment: { ...order.payment, status: undefined } };
}

/** Structural equality that ignores key order. */
function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}
