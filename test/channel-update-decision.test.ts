// What a channel's update or cancellation does to an order the hub has. Pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decideChannelUpdate, materialEdits, nextPaymentStatus } from '../core/pipeline/channel-update.ts';
import { orderStatuses, paymentStatuses, type OrderStatus } from '../core/order/status.ts';
import { anOrder, anOrderRecord, orderLine, shippingAddress } from './support/orders.ts';

const paidOrder = anOrder({ lines: [orderLine('A', 1)], paymentStatus: 'paid' });
const record = (status: OrderStatus) => anOrderRecord(paidOrder, { status, paymentStatus: 'paid' });

describe('a cancellation', () => {
  it.each(['received', 'validated', 'on_hold', 'backordered', 'allocated', 'ready_to_ship'] as const)(
    'of a %s order cancels it and releases its stock', (status) => {
      // given an order not yet released, when the channel cancels it
      const decision = decideChannelUpdate(record(status), null, { order: paidOrder, intent: 'cancel', updatedAt: null, cancelReason: 'fraud' });
      // then it is cancelled, stock released, with the channel's reason
      expect(decision).toMatchObject({ kind: 'change', change: { to: 'cancelled', releaseReservations: true, timeline: { reason: 'cancelled by shopify (fraud)' } } });
    });

  it('of a released order asks the warehouses to stop, and changes nothing yet (their answer decides)', () => {
    const decision = decideChannelUpdate(record('released'), null, { order: paidOrder, intent: 'cancel', updatedAt: null });
    expect(decision).toMatchObject({ kind: 'change', change: { emit: [{ type: 'order.cancel_requested' }] } });
    if (decision.kind === 'change') {
      expect(decision.change.to).toBeUndefined();
      expect(decision.change.exception).toBeUndefined();
    }
  });

  it.each(['shipped', 'delivered'] as const)('of a %s order raises cancel_after_shipment and changes nothing', (status) => {
    const decision = decideChannelUpdate(record(status), null, { order: paidOrder, intent: 'cancel', updatedAt: null });
    expect(decision).toMatchObject({ kind: 'change', change: { exception: { type: 'cancel_after_shipment' } } });
    if (decision.kind === 'change') expect(decision.change.to).toBeUndefined();
  });

  it('of a cancelled order is nothing new', () => {
    expect(decideChannelUpdate(record('cancelled'), null, { order: paidOrder, intent: 'cancel', updatedAt: null })).toEqual({ kind: 'unchanged' });
  });
});

describe('an update', () => {
  it('older than the snapshot the order reflects is stale', () => {
    const decision = decideChannelUpdate(record('allocated'), '2026-01-02T00:00:00.000Z', { order: paidOrder, intent: 'update', updatedAt: '2026-01-01T23:59:59.000Z' });
    expect(decision).toEqual({ kind: 'stale' });
  });

  it('that is the same snapshot again changes nothing', () => {
    expect(decideChannelUpdate(record('allocated'), null, { order: paidOrder, intent: 'update', updatedAt: null })).toEqual({ kind: 'unchanged' });
  });

  it('reporting payment on an unpaid order emits payment.captured', () => {
    const unpaid = anOrderRecord(anOrder({ lines: [orderLine('A', 1)], paymentStatus: 'pending' }), { status: 'allocated', paymentStatus: 'pending' });
    const decision = decideChannelUpdate(unpaid, null, { order: paidOrder, intent: 'update', updatedAt: null });
    expect(decision).toMatchObject({ kind: 'change', change: { paymentStatus: 'paid', emit: [{ type: 'payment.captured' }] } });
  });

  it('changing the address of an allocated order sends it back through validation', () => {
    const moved = { ...paidOrder, shippingAddress: shippingAddress('CA', 'ON') };
    const decision = decideChannelUpdate(record('allocated'), null, { order: moved, intent: 'update', updatedAt: null });
    expect(decision).toMatchObject({ kind: 'change', change: { to: 'received', releaseReservations: true, replaceOrder: moved, emit: [{ type: 'order.received' }] } });
  });

  it('changing only the notes of a released order keeps them current without an exception', () => {
    const noted = { ...paidOrder, notes: 'leave at the door' };
    const decision = decideChannelUpdate(record('released'), null, { order: noted, intent: 'update', updatedAt: null });
    expect(decision).toMatchObject({ kind: 'change', change: { replaceOrder: noted } });
    if (decision.kind === 'change') expect(decision.change.exception).toBeUndefined();
  });
});

describe('materialEdits', () => {
  it('sees lines by SKU and quantity, in any order, and the shipping address', () => {
    const a = anOrder({ lines: [orderLine('A', 1), orderLine('B', 2)] });
    expect(materialEdits(a, { ...a, lines: [orderLine('B', 2), orderLine('A', 1)] })).toEqual([]);
    expect(materialEdits(a, { ...a, lines: [orderLine('A', 2), orderLine('B', 2)] })).toEqual(['lines']);
    expect(materialEdits(a, { ...a, shippingAddress: shippingAddress('DE') })).toEqual(['shipping address']);
  });
});

describe('nextPaymentStatus', () => {
  it('never moves backwards, and moving twice is the same as moving once (order-independent)', () => {
    fc.assert(fc.property(fc.constantFrom(...paymentStatuses), fc.array(fc.constantFrom(...paymentStatuses), { maxLength: 6 }), (start, reports) => {
      const forward = reports.reduce(nextPaymentStatus, start);
      const backward = [...reports].reverse().reduce(nextPaymentStatus, start);
      // the furthest news wins whatever the arrival order (ties between equal ranks aside)
      expect(nextPaymentStatus(forward, backward)).toBe(nextPaymentStatus(forward, forward));
      for (const r of reports) expect(nextPaymentStatus(forward, r)).toBe(forward);
    }));
  });
  it('keeps paid over a late pending and moves paid to refunded', () => {
    expect(nextPaymentStatus('paid', 'pending')).toBe('paid');
    expect(nextPaymentStatus('paid', 'refunded')).toBe('refunded');
  });
});

describe('every status', () => {
  it('answers a cancellation without throwing', () => {
    for (const status of orderStatuses) {
      expect(() => decideChannelUpdate(record(status), null, { order: paidOrder, intent: 'cancel', updatedAt: null })).not.toThrow();
    }
  });
});
