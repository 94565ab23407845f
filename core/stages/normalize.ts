import { withSop } from '../config/business.ts';
import type { Tx } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { insertOrder, lockOrderByExternalId, nextOrderSequence } from '../db/sql/orders.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import { getRawDelivery, markRawDelivery, markRawProcessed, type StoredDelivery } from '../db/sql/raw.ts';
import { cancellationById, normalizeDelivery } from '../inbound.ts';
import { ack, park, retry, type Decision } from '../messaging/decision.ts';
import type { Handler } from '../messaging/consume.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { decideChannelUpdate, type ChannelSnapshot } from '../pipeline/channel-update.ts';
import { receiveOrder } from '../pipeline/receive.ts';
import { archivedOrderProblem } from '../pipeline/archive.ts';
import { archivedOrderByExternalId } from '../db/sql/archive.ts';
import { claimEarlyPayments, lockMatchKey } from '../db/sql/payments.ts';
import { settleOrderPayments } from './reconcile.ts';
import { applyOrderChange, orderMessages } from './apply.ts';
import type { StageContext } from './context.ts';

/**
 * Stage `normalize`: a stored raw delivery becomes the hub's order, or changes it. The
 * connector's normalize runs again on the stored bytes (the webhook ran it too, to answer
 * 4xx), so a delivery replayed after a mapping fix goes through exactly the same path.
 * Every delivery carries the channel's whole order, so arrival order does not matter: an
 * update or a cancel for an order the hub has not seen creates it first, unless the order
 * is archived: then the delivery is kept as ignored, with the reason.
 */
export function normalizeStage(ctx: StageContext): Handler {
  return async ({ event, attempt }, tx) => {
    const rawId = Number(event.data.rawId);
    const raw = await getRawDelivery(tx, rawId);
    if (!raw) return park(`raw delivery ${String(event.data.rawId)} does not exist`);
    if (raw.status === 'processed') return ack('already processed');
    const channel = ctx.channels.get(raw.source);
    if (!channel) return park(`no enabled channel named ${raw.source}`);

    const delivery = { eventId: null, topic: raw.topic };
    const byId = cancellationById(channel.connector, raw.body, delivery);
    const result = byId ?? normalizeDelivery(channel.connector, channel, raw.body, delivery);
    if (!result.ok && 'ignore' in result && result.ignore) {
      await markRawDelivery(tx, raw.id, 'ignored', result.problems);
      return ack('not an order: stored, not processed');
    }
    if (!result.ok) {
      await markRawDelivery(tx, raw.id, 'invalid', result.problems);
      await openException(tx, withSop(ctx.config, ctx.now(), {
        type: 'invalid_payload',
        reason: `${raw.source} payload does not map to an order`, rawId: raw.id, messageId: `raw:${raw.id}`, stage: 'normalize',
        details: { problems: result.problems.slice(0, 50) },
      }));
      return ack('invalid payload kept with an exception');
    }

    // A replayed delivery that now maps: the exception it raised is done with.
    await markRawProcessed(tx, raw.id, 'the delivery was processed');
    if ('externalId' in result) return cancelById(tx, ctx, raw, channel.code, result, event, attempt >= ctx.config.retry.maxAttempts);
    const snapshot: ChannelSnapshot = { order: result.order, intent: result.intent, updatedAt: result.updatedAt, cancelReason: result.cancelReason };
    const existing = await lockOrderByExternalId(tx, result.order.channel, result.order.externalId);
    if (existing) {
      const decision = decideChannelUpdate(existing.record, existing.channelUpdatedAt, snapshot);
      if (decision.kind !== 'change') return ack(decision.kind === 'stale' ? 'older snapshot ignored' : 'nothing changed');
      await applyOrderChange(tx, ctx, existing.record, decision.change, { stage: 'normalize', messageId: event.id, actor: `channel:${raw.source}` });
      return ack();
    }
    // Late traffic about an archived order: kept, changes nothing, and never makes it anew.
    const archived = await archivedOrderByExternalId(tx, result.order.channel, result.order.externalId);
    if (archived) {
      await markRawDelivery(tx, raw.id, 'ignored', [archivedOrderProblem(archived)]);
      return ack(`order ${archived.orderNumber} is archived`);
    }
    await createOrder(tx, ctx, raw, snapshot, event);
    return ack();
  };
}

/**
 * A cancellation that names the order by its id alone: the hub's order is cancelled as if
 * the channel had sent it whole with a cancel (before release at once; after, the
 * warehouses are asked, or a person). An order the hub has not received may still be on
 * its way (its creation in another batch, or retried): the cancellation waits for it
 * through its retries. One the hub never received, or has archived, is then kept as
 * ignored with why.
 */
async function cancelById(tx: Tx, ctx: StageContext, raw: StoredDelivery, channel: string, cancel: { externalId: string; reason: string }, event: CloudEvent, lastAttempt: boolean): Promise<Decision> {
  const existing = await lockOrderByExternalId(tx, channel, cancel.externalId);
  if (!existing) {
    const archived = await archivedOrderByExternalId(tx, channel, cancel.externalId);
    if (!archived && !lastAttempt) return retry(`${raw.source} cancels order ${cancel.externalId}, which the hub has not received yet: waiting for it`);
    await markRawDelivery(tx, raw.id, 'ignored', [archived ? archivedOrderProblem(archived)
      : { path: '/id', message: `${raw.source} cancels order ${cancel.externalId}, which the hub never received (an order that arrives later is not cancelled by this)` }]);
    return ack('no such order to cancel');
  }
  const decision = decideChannelUpdate(existing.record, existing.channelUpdatedAt, { order: existing.record.order, intent: 'cancel', updatedAt: null, cancelReason: cancel.reason });
  if (decision.kind !== 'change') return ack('nothing changed');
  await applyOrderChange(tx, ctx, existing.record, decision.change, { stage: 'normalize', messageId: event.id, actor: `channel:${raw.source}` });
  return ack();
}

async function createOrder(tx: Tx, ctx: StageContext, raw: StoredDelivery, snapshot: ChannelSnapshot, event: CloudEvent): Promise<void> {
  const record = receiveOrder(snapshot.order, {
    id: ctx.newId(), sequence: await nextOrderSequence(tx), prefix: ctx.config.orderNumberPrefix, now: ctx.now(),
  });
  // Payments naming this order wait for it to commit (see lockMatchKey).
  await lockMatchKey(tx, record.externalId);
  // Unique (channel, external id): a concurrent delivery of the same order may win the race.
  if (!(await insertOrder(tx, record, raw.id, snapshot.updatedAt, {
    orderId: record.id, type: 'order.received', fromStatus: null, toStatus: 'received', actor: `channel:${record.channel}`,
    reason: `received as ${record.orderNumber}`, data: { rawId: raw.id, externalNumber: snapshot.order.externalNumber ?? null },
  }))) return;
  // Payments that arrived before their order belong to it now.
  const providers = (ctx.config.payments?.links ?? []).filter((l) => l.channel === record.channel).map((l) => l.provider);
  const early = await claimEarlyPayments(tx, record, providers);
  if (early.length > 0) await settleOrderPayments(tx, ctx, record.id, early, { stage: 'normalize', messageId: `${event.id}:payments` }, { early: true });
  if (snapshot.intent === 'cancel') {
    // Cancelled before the hub heard of it: keep the order, cancelled, and never allocate it.
    const decision = decideChannelUpdate(record, null, snapshot);
    if (decision.kind === 'change') {
      await applyOrderChange(tx, ctx, record, decision.change, { stage: 'normalize', messageId: event.id, actor: `channel:${raw.source}` });
      return;
    }
  }
  await enqueueMessages(tx, orderMessages(ctx, 'normalize', record.id, [{
    type: 'order.received',
    data: { orderId: record.id, orderNumber: record.orderNumber, channel: record.channel, externalId: record.externalId },
  }]));
}
