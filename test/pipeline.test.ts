// Receipt: the order builder used by the tests, and the payment status at receipt. Pure.
import { describe, expect, it } from 'vitest';
import { paymentStatuses, type PaymentStatus } from '../core/order/status.ts';
import { paymentStatusAtReceipt, receiveOrder } from '../core/pipeline/receive.ts';
import { channelPaymentStatuses } from '../schemas/canonical-order.ts';
import { anOrder, isCanonicalOrder, orderLine, shippingAddress } from './support/orders.ts';

describe('the order builder (test support)', () => {
  it('makes orders the canonical-order schema accepts', () => {
    const orders = [
      anOrder(),
      anOrder({ lines: [orderLine('TEE', 2), orderLine('MUG', 1, { discount: 100, tax: 50 })], shippingAddress: shippingAddress('US', 'KY') }),
      anOrder({ shippingAddress: null, paymentStatus: 'pending' }),
    ];
    for (const o of orders) expect(isCanonicalOrder(o), JSON.stringify(isCanonicalOrder.errors)).toBe(true);
  });
});

describe('paymentStatusAtReceipt', () => {
  it('maps every status a channel can report to a hub payment status', () => {
    const expected: Record<(typeof channelPaymentStatuses)[number], PaymentStatus> = {
      pending: 'pending',
      unknown: 'pending',
      authorized: 'authorized',
      paid: 'paid',
      partially_paid: 'partially_paid',
      refunded: 'refunded',
      partially_refunded: 'partially_refunded',
      voided: 'voided',
      failed: 'failed',
    };
    for (const reported of channelPaymentStatuses) {
      const mapped = paymentStatusAtReceipt(reported);
      expect(mapped, reported).toBe(expected[reported]);
      expect(paymentStatuses, reported).toContain(mapped);
    }
  });

  it('is what receiveOrder records, with a fresh received, unfulfilled order and its number', () => {
    for (const reported of channelPaymentStatuses) {
      // given a canonical order whose channel reported <reported>
      const order = anOrder({ paymentStatus: reported });
      // when the hub receives it
      const record = receiveOrder(order, { id: 'id-1', sequence: 42, prefix: 'HUB', now: new Date('2026-11-24T10:00:00Z') });
      // then
      expect(record).toEqual({
        id: 'id-1',
        orderNumber: 'HUB-20261124-00000042',
        channel: order.channel,
        externalId: order.externalId,
        status: 'received',
        paymentStatus: paymentStatusAtReceipt(reported),
        fulfillmentStatus: 'unfulfilled',
        warehouse: null,
        order,
      });
    }
  });
});
