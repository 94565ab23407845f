import { withSop } from '../config/business.ts';
import { HubError } from '../errors.ts';
import type { Tx } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { releaseCredit } from '../db/sql/credit.ts';
import { cancelPlannedShipments } from '../db/sql/shipments.ts';
import { releaseReservations, reserveStock } from '../db/sql/inventory.ts';
import { replaceOrderData, saveOrderChange, setChannelUpdatedAt } from '../db/sql/orders.ts';
import type { OutboxMessage } from '../db/sql/outbox.ts';
import { cloudEvent } from '../messaging/cloudevent.ts';
import { names } from '../messaging/topology.ts';
import type { OrderChange, OrderRecord } from '../order/record.ts';
import { assertTransition } from '../order/status.ts';
import type { StageContext } from './context.ts';

/** Builds the outbox messages for events a stage emits about an order. */
export function orderMessages(ctx: StageContext, stage: string, subject: string, emit: OrderChange['emit']): OutboxMessage[] {
  return emit.map((e) => ({
    exchange: names(ctx.namespace).events,
    routingKey: e.routingKey ?? e.type,
    event: cloudEvent({ id: ctx.newId(), source: `/order-hub/${ctx.namespace}/${stage}`, type: e.type, subject, time: ctx.now(), data: e.data }),
  }));
}

/**
 * Applies what a stage decided, all in the stage's transaction: the state-machine check,
 * stock released or reserved, a newer snapshot from the channel, the new state, the
 * timeline entry, an exception with its owner and deadline from the SOP, and the outbox
 * messages. Nothing happens unless all of it commits.
 */
export async function applyOrderChange(
  tx: Tx,
  ctx: StageContext,
  record: OrderRecord,
  change: OrderChange,
  cause: { stage: string; messageId: string; actor?: string },
): Promise<OrderRecord> {
  const to = change.to ?? record.status;
  // Staying in a state (an operator re-allocating an allocated order) is not a transition.
  if (change.to && change.to !== record.status) assertTransition(record.status, change.to);
  if (change.releaseReservations) {
    await releaseReservations(tx, record.id);
    await cancelPlannedShipments(tx, record.id);
  }
  if (change.releaseCredit) await releaseCredit(tx, record.id);
  if (change.replaceOrder) await replaceOrderData(tx, record.id, change.replaceOrder);
  if (change.channelUpdatedAt) await setChannelUpdatedAt(tx, record.id, change.channelUpdatedAt);
  if (change.reserve && change.reserve.length > 0) {
    const reserved = await reserveStock(tx, record.id, change.reserve);
    // The stock rows were read under lock, so this means they changed anyway: try again.
    if (!reserved) throw new HubError('stock_changed', 'stock changed while allocating', { retryable: true });
  }
  const next: OrderRecord = {
    ...record,
    order: change.replaceOrder ?? record.order,
    status: to,
    paymentStatus: change.paymentStatus ?? record.paymentStatus,
    fulfillmentStatus: change.fulfillmentStatus ?? record.fulfillmentStatus,
    warehouse: change.warehouse ?? record.warehouse,
  };
  await saveOrderChange(tx, {
    id: record.id,
    state: next,
    timeline: {
      orderId: record.id,
      type: change.timeline.type,
      fromStatus: record.status,
      toStatus: to,
      actor: cause.actor ?? `stage:${cause.stage}`,
      reason: change.timeline.reason,
      data: change.timeline.data,
    },
    messages: orderMessages(ctx, cause.stage, record.id, change.emit),
    // the exceptions whose cause went away
    resolve: change.resolves?.length ? { types: change.resolves, note: change.timeline.reason ?? change.timeline.type } : undefined,
  });
  // after the resolves above: an exception this change opens is not resolved by it
  if (change.exception) {
    await openException(tx, withSop(ctx.config, ctx.now(), {
      type: change.exception.type,
      reason: change.exception.reason,
      orderId: record.id,
      messageId: cause.messageId,
      stage: cause.stage,
      details: change.exception.details ?? {},
    }));
  }
  return next;
}
