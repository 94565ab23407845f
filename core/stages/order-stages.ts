import { availableStock, categoriesOf, heldReservations, listWarehouseFacts } from '../db/sql/inventory.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { ack, retry } from '../messaging/decision.ts';
import type { Handler } from '../messaging/consume.ts';
import { allocationChange, planAllocation } from '../pipeline/allocate.ts';
import { chooseCarrier, releaseChange } from '../pipeline/release.ts';
import { validateOrder, validationChange } from '../pipeline/validate.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

/** The order an event is about: `data.orderId`, else the CloudEvent subject. */
function orderIdOf(data: Record<string, unknown>, subject: string | undefined): string | undefined {
  return typeof data.orderId === 'string' ? data.orderId : subject;
}

/**
 * Stage `validate`: known SKUs, a served address, enough stock across the warehouses that
 * may serve it. Reads stock without locks: allocation re-checks under locks.
 */
export function validateStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const id = orderIdOf(event.data, event.subject);
    const record = id ? await lockOrder(tx, id) : undefined;
    // The order commits before its order.received event is published, so this is a
    // message for an order that was never created: retrying cannot help, but keep it visible.
    if (!record) return retry(`order ${id ?? '(none)'} not found`);
    if (record.status !== 'received') return ack(`already ${record.status}`);
    const skus = [...new Set(record.order.lines.map((l) => l.sku))];
    const verdict = validateOrder(record.order, {
      categories: await categoriesOf(tx, skus),
      warehouses: await listWarehouseFacts(tx),
      available: await availableStock(tx, skus, false),
    });
    await applyOrderChange(tx, ctx, record, validationChange(record, verdict), { stage: 'validate', messageId: event.id });
    return ack();
  };
}

/** Stage `allocate`: reserve every line in one warehouse, atomically, under row locks. */
export function allocateStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const id = orderIdOf(event.data, event.subject);
    const record = id ? await lockOrder(tx, id) : undefined;
    if (!record) return retry(`order ${id ?? '(none)'} not found`);
    if (record.status !== 'validated') return ack(`already ${record.status}`);
    if (!record.order.shippingAddress) return ack('no shipping address'); // validate holds these
    const skus = [...new Set(record.order.lines.map((l) => l.sku))];
    const plan = planAllocation(record.order.lines, record.order.shippingAddress, {
      categories: await categoriesOf(tx, skus),
      warehouses: await listWarehouseFacts(tx),
      available: await availableStock(tx, skus, true),
    });
    await applyOrderChange(tx, ctx, record, allocationChange(record, plan), { stage: 'allocate', messageId: event.id });
    return ack();
  };
}

/** Stage `release`: a paid, allocated order goes to its warehouse as a fulfilment request. */
export function releaseStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const id = orderIdOf(event.data, event.subject);
    const record = id ? await lockOrder(tx, id) : undefined;
    if (!record) return retry(`order ${id ?? '(none)'} not found`);
    const country = record.order.shippingAddress?.country ?? '';
    const change = releaseChange(record, await heldReservations(tx, record.id), chooseCarrier(ctx.config.carriers, country), ctx.now());
    if (!change) return ack(record.status === 'allocated' ? 'waiting for payment' : `nothing to release (${record.status})`);
    await applyOrderChange(tx, ctx, record, change, { stage: 'release', messageId: event.id });
    return ack();
  };
}
