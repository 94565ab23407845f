import type { PaymentEvent } from './types.ts';

/** The hub's own order numbers, as `formatOrderNumber` writes them ("HUB-20240131-00000042"). */
const ORDER_NUMBER = /^[A-Z][A-Z0-9]{0,7}-\d{8}-\d+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * How to find the order from the merchant's references on a payment (PayPal `custom_id`
 * then `invoice_id`, Alipay `out_trade_no`, Adyen `merchantReference`): a hub order number,
 * a hub order id (uuid), or else the channel's own order id. An earlier reference wins its slot.
 */
export function matchOf(references: readonly (string | null)[]): PaymentEvent['match'] {
  const match: PaymentEvent['match'] = {};
  for (const reference of references) {
    if (reference === null) continue;
    if (ORDER_NUMBER.test(reference)) match.orderNumber ??= reference;
    else if (UUID.test(reference)) match.orderId ??= reference.toLowerCase();
    else match.externalOrderId ??= reference;
  }
  return match;
}
