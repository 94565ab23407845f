import type { Queryable } from './db/pool.ts';
import { enqueueMessages, type OutboxMessage } from './db/sql/outbox.ts';
import { storeAndSendDelivery, type RawDelivery } from './db/sql/raw.ts';
import { cloudEvent } from './messaging/cloudevent.ts';
import { names } from './messaging/topology.ts';

/**
 * The message that sends a stored delivery of each kind on to the stage that reads it. A
 * customer call (receipt confirmed, feedback, a return) is applied while its sender waits
 * for the answer, so it has no stage to go back to: its sender posts it again instead.
 */
export const acceptedMessageFor: Readonly<Record<RawDelivery['kind'], string | undefined>> = {
  order: 'inbound.accepted',
  payment: 'payment.received',
  carrier: 'tracking.received',
  warehouse: 'warehouse.event_received',
  customer: undefined,
};

/**
 * Stores an accepted delivery byte for byte together with the message that sends it on
 * (`inbound.accepted` to normalize, `payment.received` to reconcile), in one statement, so
 * it needs no transaction of its own. A delivery stored before (same source and dedupe key)
 * is not sent again. Used by webhooks and pollers alike.
 */
export async function acceptDelivery(
  db: Queryable,
  ctx: { namespace: string; now: () => Date; newId: () => string },
  delivery: Omit<RawDelivery, 'status' | 'problems'>,
  acceptedAs = 'inbound.accepted',
): Promise<{ id: number; isNew: boolean; sameBody: boolean }> {
  // rawId 0: Postgres puts in the new row's id (storeAndSendDelivery)
  return storeAndSendDelivery(db, delivery, acceptedMessage(ctx, { id: 0, source: delivery.source, topic: delivery.topic }, acceptedAs));
}

function acceptedMessage(
  ctx: { namespace: string; now: () => Date; newId: () => string },
  raw: { id: number; source: string; topic: string },
  type: string,
): OutboxMessage {
  return {
    exchange: names(ctx.namespace).events,
    routingKey: type,
    event: cloudEvent({
      id: ctx.newId(), source: `/order-hub/${ctx.namespace}/inbound/${raw.source}`, type,
      subject: String(raw.id), time: ctx.now(), data: { rawId: raw.id, source: raw.source, topic: raw.topic },
    }),
  };
}

/**
 * The `inbound.accepted` message for a stored delivery. Each call makes a new message id,
 * so a replay is a new message the normalize stage's inbox has not seen.
 */
export async function sendStoredDelivery(
  tx: Queryable,
  ctx: { namespace: string; now: () => Date; newId: () => string },
  raw: { id: number; source: string; topic: string },
  type = 'inbound.accepted',
): Promise<void> {
  await enqueueMessages(tx, [acceptedMessage(ctx, raw, type)]);
}
