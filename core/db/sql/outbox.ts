import type { Queryable } from '../pool.ts';
import type { CloudEvent } from '../../messaging/cloudevent.ts';
import { jsonb } from '../jsonb.ts';
import { parameters, type Param } from '../parameters.ts';

export interface OutboxMessage {
  exchange: string;
  routingKey: string;
  event: CloudEvent<unknown>;
  headers?: Record<string, unknown>;
}

export interface PendingMessage {
  id: number;
  messageId: string;
  exchange: string;
  routingKey: string;
  body: CloudEvent<unknown>;
  headers: Record<string, unknown>;
}

/** Writes messages to the outbox in the caller's transaction; they go out only if it commits. */
export async function enqueueMessages(db: Queryable, messages: readonly OutboxMessage[]): Promise<void> {
  if (messages.length === 0) return;
  const { values, p } = parameters();
  await db.query(outboxInsert(p, messages), values);
}

/** The INSERT of `messages` into the outbox, for a statement that also writes other rows. */
export function outboxInsert(p: Param, messages: readonly OutboxMessage[]): string {
  return `INSERT INTO outbox (message_id, exchange, routing_key, body, headers)
     SELECT * FROM unnest(${p(messages.map((m) => m.event.id))}::uuid[], ${p(messages.map((m) => m.exchange))}::text[],
       ${p(messages.map((m) => m.routingKey))}::text[], ${p(messages.map((m) => jsonb(m.event)))}::jsonb[],
       ${p(messages.map((m) => jsonb(m.headers ?? {})))}::jsonb[])`;
}

/**
 * Claims up to `limit` unpublished messages, oldest first, and marks them published in the
 * caller's transaction, in one round trip: the mark counts only if that transaction
 * commits, which the relay does after the broker confirmed them (a failure rolls it back).
 * SKIP LOCKED lets several relays run side by side: each takes rows the others have not
 * locked. Returned in outbox order.
 */
export async function takePendingMessages(tx: Queryable, limit: number): Promise<PendingMessage[]> {
  const { rows } = await tx.query<PendingMessage>(
    `UPDATE outbox SET published_at = now()
      WHERE id IN (SELECT id FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
      RETURNING id, message_id AS "messageId", exchange, routing_key AS "routingKey", body, headers`,
    [limit],
  );
  return rows.sort((a, b) => a.id - b.id);
}

export async function countPendingMessages(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
  return rows[0]?.n ?? 0;
}
