import type { Queryable } from '../pool.ts';
import type { CloudEvent } from '../../messaging/cloudevent.ts';
import { jsonb } from '../jsonb.ts';

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
  await db.query(
    `INSERT INTO outbox (message_id, exchange, routing_key, body, headers)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[], $5::jsonb[])`,
    [
      messages.map((m) => m.event.id),
      messages.map((m) => m.exchange),
      messages.map((m) => m.routingKey),
      messages.map((m) => jsonb(m.event)),
      messages.map((m) => jsonb(m.headers ?? {})),
    ],
  );
}

/**
 * Claims up to `limit` unpublished messages, oldest first. SKIP LOCKED lets several relays
 * run side by side: each takes rows the others have not locked.
 */
export async function claimPendingMessages(tx: Queryable, limit: number): Promise<PendingMessage[]> {
  const { rows } = await tx.query<PendingMessage>(
    `SELECT id, message_id AS "messageId", exchange, routing_key AS "routingKey", body, headers
       FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`,
    [limit],
  );
  return rows;
}

export async function markPublished(tx: Queryable, ids: readonly number[]): Promise<void> {
  await tx.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [ids]);
}

export async function countPendingMessages(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
  return rows[0]?.n ?? 0;
}
