import type { CanonicalOrder, ChannelPaymentStatus } from '../../schemas/canonical-order.ts';
import { formatOrderNumber } from '../order/number.ts';
import type { OrderRecord } from '../order/record.ts';
import type { PaymentStatus } from '../order/status.ts';

/** The hub's payment status for what the channel reported at receipt. */
export function paymentStatusAtReceipt(reported: ChannelPaymentStatus): PaymentStatus {
  switch (reported) {
    case 'paid':
    case 'authorized':
    case 'partially_paid':
    case 'refunded':
    case 'partially_refunded':
    case 'voided':
    case 'failed':
      return reported;
    case 'pending':
    case 'unknown':
      return 'pending';
    default: {
      const never: never = reported;
      return never;
    }
  }
}

/** Receipt: a canonical order becomes the hub's order, with its id and order number. */
export function receiveOrder(
  order: CanonicalOrder,
  ids: { id: string; sequence: number; prefix: string; now: Date },
): OrderRecord {
  return {
    id: ids.id,
    orderNumber: formatOrderNumber(ids.prefix, ids.now, ids.sequence),
    channel: order.channel,
    externalId: order.externalId,
    status: 'received',
    paymentStatus: paymentStatusAtReceipt(order.payment.status),
    fulfillmentStatus: 'unfulfilled',
    warehouse: null,
    order,
  };
}
