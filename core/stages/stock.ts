import { withSop } from '../config/business.ts';
import type { Tx } from '../db/pool.ts';
import { openException, resolveExceptionByMessageId } from '../db/sql/exceptions.ts';
import { adjustOnHand, backordersWanting, lockStock, stockLevel, stockLevelResolvingAlert, totalAvailable } from '../db/sql/inventory.ts';
import { lockOrder, lockOrders } from '../db/sql/orders.ts';
import { enqueueMessages, type OutboxMessage } from '../db/sql/outbox.ts';
import { productExists, warehouseExists } from '../db/sql/reference.ts';
import { HubError } from '../errors.ts';
import { cloudEvent, parseCloudEvent } from '../messaging/cloudevent.ts';
import { getRawDelivery, markRawDelivery } from '../db/sql/raw.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, park } from '../messaging/decision.ts';
import { names } from '../messaging/topology.ts';
import { lowStockThreshold, ordersToRetry } from '../pipeline/backorders.ts';
import { applyOrderChange } from './apply.ts';
import { fulfilmentEvent } from './fulfilment.ts';
import { returnReceived } from './returns.ts';
import type { StageContext } from './context.ts';

const stockMessage = (ctx: StageContext, type: string, data: Record<string, unknown>): OutboxMessage => ({
  exchange: names(ctx.namespace).events,
  routingKey: type,
  event: cloudEvent({ id: ctx.newId(), source: `/order-hub/${ctx.namespace}/inventory`, type, subject: `${String(data.warehouse)}/${String(data.sku)}`, time: ctx.now(), data }),
});

/** The message id of the one low-stock alert a warehouse's SKU can have open. */
export const lowStockAlertId = (warehouse: string, sku: string) => `low_stock:${warehouse}:${sku}`;

/**
 * Brings a SKU's low-stock alert in a warehouse in line with its available stock: at or
 * under the SKU's threshold, an alert for the inventory owner (one open alert per warehouse
 * and SKU; `inventory.low` when it opens); above it, the alert resolved. Returns what changed
 * and the messages to send with it. Used where stock changes and by the low-stock sweep.
 */
export async function applyLowStockAlert(
  tx: Tx, ctx: StageContext, warehouse: string, sku: string, level: { onHand: number; reserved: number; available: number },
): Promise<{ change: 'opened' | 'resolved' | undefined; messages: OutboxMessage[] }> {
  const threshold = lowStockThreshold(ctx.config.inventory, sku);
  const alertId = lowStockAlertId(warehouse, sku);
  if (level.available <= threshold) {
    const opened = await openException(tx, withSop(ctx.config, ctx.now(), {
      type: 'low_stock',
      reason: `${sku} in ${warehouse}: ${level.available} available, at or under the threshold of ${threshold}`,
      messageId: alertId, stage: 'inventory', details: { warehouse, sku, ...level, threshold },
    }));
    if (opened === undefined) return { change: undefined, messages: [] };
    return { change: 'opened', messages: [stockMessage(ctx, 'inventory.low', { warehouse, sku, available: level.available, threshold })] };
  }
  const resolved = await resolveExceptionByMessageId(tx, 'low_stock', alertId, `${level.available} available, above the threshold of ${threshold}`);
  return { change: resolved > 0 ? 'resolved' : undefined, messages: [] };
}

/**
 * After stock of a SKU changed in a warehouse: more available → `inventory.replenished`
 * (waiting backorders get another chance); the low-stock alert follows the new level
 * (`applyLowStockAlert`).
 */
export async function stockChanged(tx: Tx, ctx: StageContext, warehouse: string, sku: string, availableBefore: number | null): Promise<void> {
  const threshold = lowStockThreshold(ctx.config.inventory, sku);
  // above the threshold, the read itself resolves the alert (what applyLowStockAlert does)
  const level = await stockLevelResolvingAlert(tx, warehouse, sku, { id: lowStockAlertId(warehouse, sku), threshold });
  if (!level) return;
  const messages: OutboxMessage[] = [];
  if (availableBefore !== null && level.available > availableBefore) {
    messages.push(stockMessage(ctx, 'inventory.replenished', { warehouse, sku, available: level.available }));
  }
  if (level.available <= threshold) messages.push(...(await applyLowStockAlert(tx, ctx, warehouse, sku, level)).messages);
  await enqueueMessages(tx, messages);
}

/**
 * Stage `backorders`: stock of a SKU arrived, so the oldest backordered orders wanting it
 * — as many as it could serve — are validated again.
 */
export function backordersStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const sku = typeof event.data.sku === 'string' ? event.data.sku : '';
    if (!sku) return park('inventory.replenished without a sku');
    const waiting = await backordersWanting(tx, sku, 200);
    const chosen = ordersToRetry(waiting, await totalAvailable(tx, sku));
    // locked up front by id, as allocation batches lock orders, so the two never deadlock;
    // then handled oldest first
    await lockOrders(tx, chosen);
    for (const orderId of chosen) {
      const record = await lockOrder(tx, orderId);
      if (record?.status !== 'backordered') continue;
      await applyOrderChange(tx, ctx, record, {
        to: 'received',
        resolves: ['stock_shortage', 'allocation_failed'],
        timeline: { type: 'order.revalidating', reason: `stock of ${sku} arrived: validating again` },
        emit: [{ type: 'order.received', data: { orderId: record.id, orderNumber: record.orderNumber, channel: record.channel, externalId: record.externalId } }],
      }, { stage: 'backorders', messageId: event.id });
    }
    return ack();
  };
}

const integer = (v: unknown): v is number => Number.isSafeInteger(v);

/**
 * Events from warehouse systems on `<ns>.in.warehouse-events`: `inventory.adjusted`
 * ({warehouse, sku, delta, reason}) and `inventory.snapshot` ({warehouse, items: [{sku,
 * onHand}]}). Counts never go below what is reserved; a shortfall opens an
 * `inventory_conflict` exception. An event the hub cannot use is parked with its reason.
 */
export function warehouseEventsStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const warehouse = typeof event.data.warehouse === 'string' ? event.data.warehouse : '';
    if (!(await warehouseExists(tx, warehouse))) return park(`unknown warehouse "${warehouse}"`);
    let changes: { sku: string; delta?: number; onHand?: number }[];
    switch (event.type) {
      case 'inventory.adjusted': {
        const { sku, delta } = event.data;
        if (typeof sku !== 'string' || !integer(delta)) return park('inventory.adjusted needs data.sku (string) and data.delta (integer)');
        changes = [{ sku, delta }];
        break;
      }
      case 'inventory.snapshot': {
        const items = event.data.items;
        if (!Array.isArray(items) || !items.every((i: unknown) => typeof (i as { sku?: unknown }).sku === 'string' && integer((i as { onHand?: unknown }).onHand) && (i as { onHand: number }).onHand >= 0)) {
          return park('inventory.snapshot needs data.items: [{sku, onHand ≥ 0}]');
        }
        changes = (items as { sku: string; onHand: number }[]).map((i) => ({ sku: i.sku, onHand: i.onHand }));
        break;
      }
      // goods of an RMA back and inspected: see core/stages/returns.ts
      case 'return.received':
        return returnReceived(tx, ctx, event, warehouse);
      default:
        if (event.type.startsWith('fulfillment.')) return fulfilmentEvent(tx, ctx, event, warehouse);
        return park(`warehouse event type "${event.type}" is not handled`);
    }
    // Every row locked up front in the order allocation batches take them, so a snapshot
    // listing SKUs in its own order never deadlocks with them; the counts below are then
    // read under the lock.
    await lockStock(tx, warehouse, changes.map((c) => c.sku), { create: true });
    for (const change of changes) {
      if (!(await productExists(tx, change.sku))) {
        throw new HubError('unknown_sku', `${warehouse} reported stock of unknown SKU ${change.sku}`, { retryable: false });
      }
      const before = await stockLevel(tx, warehouse, change.sku);
      const delta = change.delta ?? (change.onHand ?? 0) - (before?.onHand ?? 0);
      const result = await adjustOnHand(tx, warehouse, change.sku, delta);
      if (result.shortfall > 0) {
        await openException(tx, withSop(ctx.config, ctx.now(), {
          type: 'inventory_conflict',
          reason: `${warehouse} counts ${result.after - result.shortfall} of ${change.sku} but ${result.after} are reserved for orders`,
          messageId: `${event.id}:${change.sku}`, stage: 'warehouse-events', details: { warehouse, sku: change.sku, ...result },
        }));
      }
      await stockChanged(tx, ctx, warehouse, change.sku, before?.available ?? 0);
    }
    return ack();
  };
}

/**
 * Stage `warehouse-webhooks`: an event a warehouse posted (`POST /webhooks/warehouses/:code`,
 * stored raw) is handled exactly as if the warehouse had published it to its queue.
 */
export function warehouseWebhooksStage(ctx: StageContext): Handler {
  const handle = warehouseEventsStage(ctx);
  return async (delivery, tx) => {
    const raw = await getRawDelivery(tx, Number(delivery.event.data.rawId));
    if (!raw) return park(`raw delivery ${String(delivery.event.data.rawId)} does not exist`);
    if (raw.status === 'processed') return ack('already processed');
    const inner = parseCloudEvent(raw.body);
    if ('problem' in inner) return park(inner.problem);
    const warehouse = raw.source.replace(/^warehouse-/, '');
    await markRawDelivery(tx, raw.id, 'processed');
    return handle({ ...delivery, event: { ...inner, id: delivery.event.id, data: { ...inner.data, warehouse } } }, tx);
  };
}
