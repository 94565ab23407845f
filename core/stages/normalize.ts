import { sopFor } from '../config/business.ts';
import { normalizeDelivery } from '../inbound.ts';
import { openException } from '../db/sql/exceptions.ts';
import { insertOrder, appendOrderEvent, nextOrderSequence } from '../db/sql/orders.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import { getRawDelivery, markRawDelivery } from '../db/sql/raw.ts';
import { ack, park } from '../messaging/decision.ts';
import type { Handler } from '../messaging/consume.ts';
import { receiveOrder } from '../pipeline/receive.ts';
import { orderMessages } from './apply.ts';
import type { StageContext } from './context.ts';

/**
 * Stage `normalize`: a stored raw delivery becomes the hub's order. The connector's
 * normalize runs again on the stored bytes (the webhook ran it too, to answer 4xx), so a
 * delivery replayed after a mapping fix goes through exactly the same path.
 */
export function normalizeStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const rawId = Number(event.data.rawId);
    const raw = await getRawDelivery(tx, rawId);
    if (!raw) return park(`raw delivery ${String(event.data.rawId)} does not exist`);
    if (raw.status === 'processed') return ack('already processed');
    const channel = ctx.channels.get(raw.source);
    if (!channel) return park(`no enabled channel named ${raw.source}`);

    const result = normalizeDelivery(channel.connector, channel, raw.body, { eventId: null, topic: raw.topic });
    if (!result.ok) {
      await markRawDelivery(tx, raw.id, 'invalid', result.problems);
      const sop = sopFor(ctx.config, 'invalid_payload');
      await openException(tx, {
        type: 'invalid_payload', owner: sop.owner, deadline: new Date(ctx.now().getTime() + sop.deadlineMinutes * 60_000),
        reason: `${raw.source} payload does not map to an order`, rawId: raw.id, messageId: event.id, stage: 'normalize',
        details: { problems: result.problems },
      });
      return ack('invalid payload kept with an exception');
    }

    const now = ctx.now();
    const record = receiveOrder(result.order, { id: ctx.newId(), sequence: await nextOrderSequence(tx), prefix: ctx.config.orderNumberPrefix, now });
    const created = await insertOrder(tx, record, raw.id);
    await markRawDelivery(tx, raw.id, 'processed');
    // Same channel order delivered under another event id: one order, nothing more to do.
    if (!created) return ack('order already received');
    await appendOrderEvent(tx, {
      orderId: record.id, type: 'order.received', fromStatus: null, toStatus: 'received', actor: `channel:${record.channel}`,
      reason: `received as ${record.orderNumber}`, data: { rawId: raw.id, externalNumber: result.order.externalNumber ?? null },
    });
    await enqueueMessages(tx, orderMessages(ctx, 'normalize', record.id, [{
      type: 'order.received',
      data: { orderId: record.id, orderNumber: record.orderNumber, channel: record.channel, externalId: record.externalId },
    }]));
    return ack();
  };
}
