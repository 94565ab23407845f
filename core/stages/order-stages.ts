import { availableStock, categoriesOf, heldReservations, listWarehouseFacts } from '../db/sql/inventory.ts';
import { lockOrder } from '../db/sql/orders.ts';
import type { Tx } from '../db/pool.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { ack, retry, type Decision } from '../messaging/decision.ts';
import type { OrderRecord } from '../order/record.ts';
import type { Handler } from '../messaging/consume.ts';
import { allocationChange, planAllocation } from '../pipeline/allocate.ts';
import { chooseCarrier, releaseChange } from '../pipeline/release.ts';
import { validateOrder, validationChange } from '../pipeline/validate.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

/**
 * Locks the order an event is about (`data.orderId`, else the CloudEvent subject). An
 * order commits before its events are published, so a missing order is a retry, and after
 * the last attempt a parked message with an exception, never a silent drop.
 */
async function lockOrderOf(event: CloudEvent, tx: Tx): Promise<OrderRecord | Decision> {
  const id = typeof event.data.orderId === 'string' ? event.data.orderId : event.subject;
  const record = id ? await lockOrder(tx, id) : undefined;
  return record ?? retry(`order ${id ?? '(none)'} not found`);
}
const isDecision = (value: OrderRecord | Decision): value is Decision => 'kind' in value;

/**
 * Stage `validate`: known SKUs, a served address, enough stock across the warehouses that
 * may serve it. Reads stock without locks: allocation re-checks under locks.
 */
export function validateStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
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
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
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
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
    const country = record.order.shippingAddress?.country ?? '';
    const change = releaseChange(record, await heldReservations(tx, record.id), chooseCarrier(ctx.config.carriers, country), ctx.now());
    if (!change) return ack(record.status === 'allocated' ? 'waiting for payment' : `nothing to release (${record.status})`);
    await applyOrderChange(tx, ctx, record, change, { stage: 'release', messageId: event.id });
    return ack();
  };
}
