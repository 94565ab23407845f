import { availableStock, categoriesOf, listWarehouseFacts } from '../db/sql/inventory.ts';
import { lockOrder } from '../db/sql/orders.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, park } from '../messaging/decision.ts';
import { reduceToAvailable } from '../pipeline/partial.ts';
import { handlesCategory, servesAddress } from '../pipeline/warehouses.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

export const remedyChoices = ['wait', 'ship_available', 'cancel'] as const;
export type RemedyChoice = (typeof remedyChoices)[number];

/**
 * Stage `remedies`: the customer's answer to a stock shortage, sent through the API.
 * `wait` keeps the order backordered (it is retried when stock arrives); `cancel` cancels it
 * and gives back everything it holds; `ship_available` cuts it down to what the warehouses
 * serving it hold now — the money still adds up, the refund due is announced — and
 * validates it again.
 */
export function remediesStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const { orderId, choice, actor } = event.data as { orderId?: string; choice?: RemedyChoice; actor?: string };
    if (!orderId || !choice || !remedyChoices.includes(choice)) return park('order.remedy_chosen needs data.orderId and a known data.choice');
    const record = await lockOrder(tx, orderId);
    if (!record) return park(`order ${orderId} does not exist`);
    const cause = { stage: 'remedies', messageId: event.id, actor: actor ?? 'customer' };
    const base = { orderId: record.id, orderNumber: record.orderNumber };
    if (record.status !== 'backordered') return ack(`the order is ${record.status}, no longer backordered`);

    switch (choice) {
      case 'wait':
        await applyOrderChange(tx, ctx, record, {
          timeline: { type: 'order.remedy_chosen', reason: 'the customer chose to wait for stock' },
          emit: [{ type: 'order.remedy_applied', data: { ...base, choice } }],
        }, cause);
        return ack();
      case 'cancel':
        await applyOrderChange(tx, ctx, record, {
          to: 'cancelled', fulfillmentStatus: 'cancelled', releaseReservations: true, releaseCredit: true, resolves: ['stock_shortage', 'allocation_failed'],
          timeline: { type: 'order.cancelled', reason: 'the customer chose to cancel rather than wait for stock' },
          emit: [{ type: 'order.cancelled', data: { ...base, reason: 'customer cancelled after a stock shortage' } }],
        }, cause);
        return ack();
      case 'ship_available': {
        const address = record.order.shippingAddress;
        const skus = [...new Set(record.order.lines.map((l) => l.sku))];
        const [categories, warehouses, stock] = [await categoriesOf(tx, skus), await listWarehouseFacts(tx), await availableStock(tx, skus, false)];
        const available = new Map(skus.map((sku) => [sku, warehouses
          .filter((w) => address && servesAddress(w, address) && handlesCategory(w, categories.get(sku) ?? ''))
          .reduce((sum, w) => sum + Math.max(0, stock.get(w.code)?.get(sku) ?? 0), 0)]));
        const reduction = reduceToAvailable(record.order, available);
        if (!reduction) {
          await applyOrderChange(tx, ctx, record, {
            timeline: { type: 'order.remedy_refused', reason: 'the customer chose to ship what is there, but nothing is available; still backordered' },
            emit: [],
          }, cause);
          return ack();
        }
        await applyOrderChange(tx, ctx, record, {
          to: 'received', replaceOrder: reduction.order, resolves: ['stock_shortage', 'allocation_failed'],
          timeline: { type: 'order.reduced', reason: `the customer chose to ship what is there; not shipped: ${reduction.removed.map((r) => `${r.quantity}× ${r.sku}`).join(', ')}`, data: { removed: reduction.removed, refundDue: reduction.refundDue } },
          emit: [
            { type: 'order.reduced', data: { ...base, removed: reduction.removed, refundDue: reduction.refundDue, currency: record.order.currency } },
            { type: 'order.received', data: { ...base, channel: record.channel, externalId: record.externalId } },
          ],
        }, cause);
        return ack();
      }
      default: {
        const never: never = choice;
        return never;
      }
    }
  };
}
