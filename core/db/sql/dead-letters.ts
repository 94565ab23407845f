import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

/** What an operator is told a parked message is about. */
export interface DeadLetterRefs {
  orderId?: string;
  eventType?: string;
  /** the message id of the dead letter this one is a replay of */
  replayOf?: string;
}

export type DeadLetterStatus = 'parked' | 'replayed' | 'discarded';
export const deadLetterStatuses: readonly DeadLetterStatus[] = ['parked', 'replayed', 'discarded'];

export interface NewDeadLetter {
  messageId: string;
  queue: string;
  exchange: string;
  routingKey: string;
  headers: Record<string, unknown>;
  body: Buffer;
  reason: string;
  attempts: number;
  refs: DeadLetterRefs;
  parkedAt: Date;
  replayCount: number;
}

/** A dead letter as listed: everything but its headers and body. */
export interface DeadLetterSummary {
  id: number;
  messageId: string;
  queue: string;
  exchange: string;
  routingKey: string;
  reason: string;
  attempts: number;
  refs: DeadLetterRefs;
  parkedAt: Date;
  status: DeadLetterStatus;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolution: string | null;
  replayCount: number;
  replayedAs: string | null;
}

export interface DeadLetter extends DeadLetterSummary {
  headers: Record<string, unknown>;
  body: Buffer;
}

const summaryColumns = `id, message_id AS "messageId", queue, exchange, routing_key AS "routingKey", reason, attempts, refs,
  parked_at AS "parkedAt", status, resolved_at AS "resolvedAt", resolved_by AS "resolvedBy", resolution,
  replay_count AS "replayCount", replayed_as AS "replayedAs"`;

/**
 * Stores a parked message; one row per message id, so another copy or a redelivery of it
 * stores nothing. Returns the new row's id, or undefined when the message was stored before.
 */
export async function insertDeadLetter(db: Queryable, d: NewDeadLetter): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO dead_letters (message_id, queue, exchange, routing_key, headers, body, reason, attempts, refs, parked_at, replay_count)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
     ON CONFLICT (message_id) DO NOTHING RETURNING id`,
    [d.messageId, d.queue, d.exchange, d.routingKey, jsonb(d.headers), d.body, d.reason, d.attempts, jsonb(d.refs), d.parkedAt, d.replayCount],
  );
  return rows[0]?.id;
}

/** Newest first; `before` is the id the previous page ended at. */
export async function listDeadLetters(
  db: Queryable, f: { status?: DeadLetterStatus | undefined; queue?: string | undefined; before?: number | undefined; limit: number },
): Promise<DeadLetterSummary[]> {
  const { rows } = await db.query<DeadLetterSummary>(
    `SELECT ${summaryColumns} FROM dead_letters
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR queue = $2) AND ($3::bigint IS NULL OR id < $3)
      ORDER BY id DESC LIMIT $4`,
    [f.status ?? null, f.queue ?? null, f.before ?? null, f.limit],
  );
  return rows;
}

/** One dead letter with its headers and body. */
export async function getDeadLetter(db: Queryable, id: number): Promise<DeadLetter | undefined> {
  const { rows } = await db.query<DeadLetter>(`SELECT ${summaryColumns}, headers, body FROM dead_letters WHERE id = $1`, [id]);
  return rows[0];
}

/** One dead letter, locked until the transaction ends (two operators acting on it at once: one wins). */
export async function lockDeadLetter(tx: Queryable, id: number): Promise<DeadLetter | undefined> {
  const { rows } = await tx.query<DeadLetter>(`SELECT ${summaryColumns}, headers, body FROM dead_letters WHERE id = $1 FOR UPDATE`, [id]);
  return rows[0];
}

/** The oldest parked dead letters of a queue, at most `limit`: what a bulk replay takes. */
export async function parkedDeadLetterIds(db: Queryable, queue: string, limit: number): Promise<number[]> {
  const { rows } = await db.query<{ id: number }>(
    `SELECT id FROM dead_letters WHERE queue = $1 AND status = 'parked' ORDER BY id LIMIT $2`, [queue, limit]);
  return rows.map((r) => r.id);
}

/** Marks a parked dead letter replayed as the message `replayedAs`. */
export async function markDeadLetterReplayed(tx: Queryable, id: number, at: Date, by: string, replayedAs: string): Promise<void> {
  await tx.query(
    `UPDATE dead_letters SET status = 'replayed', resolved_at = $2, resolved_by = $3, replayed_as = $4, resolution = 'replayed as ' || $4
      WHERE id = $1 AND status = 'parked'`, [id, at, by, replayedAs]);
}

/** Marks a parked dead letter discarded, with the operator's reason. */
export async function markDeadLetterDiscarded(tx: Queryable, id: number, at: Date, by: string, reason: string): Promise<void> {
  await tx.query(
    `UPDATE dead_letters SET status = 'discarded', resolved_at = $2, resolved_by = $3, resolution = $4 WHERE id = $1 AND status = 'parked'`,
    [id, at, by, reason]);
}
