import type { InputProblem } from '../../errors.ts';
import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';
import type { OutboxMessage } from './outbox.ts';

export type RawStatus = 'accepted' | 'invalid' | 'ignored' | 'processed' | 'failed';

export interface RawDelivery {
  source: string;
  /** `customer`: a customer's call from the shop's own website or app (receipt confirmed, feedback, …) */
  kind: 'order' | 'payment' | 'carrier' | 'warehouse' | 'customer';
  dedupeKey: string;
  topic: string;
  headers: Record<string, string>;
  body: Buffer;
  status: RawStatus;
  problems?: InputProblem[];
}

/** A delivery already stored under the same source and dedupe key, and whether it had these bytes. */
async function storedBefore(db: Queryable, d: Pick<RawDelivery, 'source' | 'dedupeKey' | 'body'>): Promise<{ id: number; isNew: false; status: RawStatus; sameBody: boolean }> {
  const existing = await db.query<{ id: number; status: RawStatus; sameBody: boolean }>(
    'SELECT id, status, body = $3 AS "sameBody" FROM raw_inbound WHERE source = $1 AND dedupe_key = $2', [d.source, d.dedupeKey, d.body]);
  return { ...existing.rows[0]!, isNew: false };
}

/**
 * Stores a delivery byte for byte. Returns its id and whether it is new; a delivery seen
 * before (same source and dedupe key) returns the first one's id and status, and whether
 * its body was the same.
 */
export async function storeRawDelivery(db: Queryable, d: RawDelivery): Promise<{ id: number; isNew: boolean; status: RawStatus; sameBody: boolean }> {
  const inserted = await db.query<{ id: number; status: RawStatus }>(
    `INSERT INTO raw_inbound (source, kind, dedupe_key, topic, headers, body, status, problems)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id, status`,
    [d.source, d.kind, d.dedupeKey, d.topic, jsonb(d.headers), d.body, d.status, d.problems ? jsonb(d.problems) : null],
  );
  return inserted.rows[0] ? { ...inserted.rows[0], isNew: true, sameBody: true } : storedBefore(db, d);
}

/**
 * Stores a new delivery and the outbox message that sends it on, in one statement — atomic
 * without a transaction around it, and one round trip on the path every webhook takes. The
 * message names the delivery by its id, known only once the row exists: `subject` and
 * `data.rawId` of `event` are filled in by Postgres. A delivery stored before (same source
 * and dedupe key) is answered as `storeRawDelivery` answers it, and no message is sent.
 */
export async function storeAndSendDelivery(
  db: Queryable, d: Omit<RawDelivery, 'status' | 'problems'>, message: Pick<OutboxMessage, 'exchange' | 'routingKey' | 'event'>,
): Promise<{ id: number; isNew: boolean; status: RawStatus; sameBody: boolean }> {
  const inserted = await db.query<{ id: number; status: RawStatus }>(
    `WITH raw AS (
       INSERT INTO raw_inbound (source, kind, dedupe_key, topic, headers, body, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'accepted')
       ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id, status),
     sent AS (
       INSERT INTO outbox (message_id, exchange, routing_key, body, headers)
       SELECT $7, $8, $9, jsonb_set(jsonb_set($10::jsonb, '{subject}', to_jsonb(raw.id::text)), '{data,rawId}', to_jsonb(raw.id)), '{}'
         FROM raw)
     SELECT id, status FROM raw`,
    [d.source, d.kind, d.dedupeKey, d.topic, jsonb(d.headers), d.body, message.event.id, message.exchange, message.routingKey, jsonb(message.event)],
  );
  return inserted.rows[0] ? { ...inserted.rows[0], isNew: true, sameBody: true } : storedBefore(db, d);
}

export interface StoredDelivery { id: number; source: string; topic: string; headers: Record<string, string>; body: Buffer; status: RawStatus }

export async function getRawDelivery(db: Queryable, id: number): Promise<StoredDelivery | undefined> {
  const { rows } = await db.query<StoredDelivery>('SELECT id, source, topic, headers, body, status FROM raw_inbound WHERE id = $1', [id]);
  return rows[0];
}

export async function markRawDelivery(db: Queryable, id: number, status: RawStatus, problems?: InputProblem[]): Promise<void> {
  await db.query('UPDATE raw_inbound SET status = $2, problems = COALESCE($3, problems), processed_at = now() WHERE id = $1',
    [id, status, problems ? jsonb(problems) : null]);
}

/**
 * Marks a stored delivery processed and resolves the open exceptions it raised (a replay
 * that maps now), in one statement: every delivery takes this path, and almost none has an
 * exception to resolve, so a separate round trip for it would nearly always find nothing.
 */
export async function markRawProcessed(db: Queryable, id: number, note: string): Promise<void> {
  await db.query(
    `WITH resolved AS (
       UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $2::text)
        WHERE raw_id = $1 AND status = 'open')
     UPDATE raw_inbound SET status = 'processed', processed_at = now() WHERE id = $1`, [id, note]);
}

export interface RawSummary {
  id: number; source: string; kind: string; topic: string; status: RawStatus; problems: unknown;
  receivedAt: Date; processedAt: Date | null; replays: number; replayedAt: Date | null; bytes: number;
}

const summaryColumns = `id, source, kind, topic, status, problems, received_at AS "receivedAt", processed_at AS "processedAt",
  replays, replayed_at AS "replayedAt", octet_length(body) AS bytes`;

/** Stored deliveries, newest first; `statuses` empty means all. */
export async function listRawDeliveries(db: Queryable, f: { statuses: RawStatus[]; source?: string | undefined; limit: number }): Promise<RawSummary[]> {
  const { rows } = await db.query<RawSummary>(
    `SELECT ${summaryColumns} FROM raw_inbound
      WHERE (cardinality($1::text[]) = 0 OR status = ANY($1)) AND ($2::text IS NULL OR source = $2)
      ORDER BY id DESC LIMIT $3`,
    [f.statuses, f.source ?? null, f.limit],
  );
  return rows;
}

export async function getRawSummary(db: Queryable, id: number): Promise<(RawSummary & { headers: Record<string, string>; body: Buffer }) | undefined> {
  const { rows } = await db.query<RawSummary & { headers: Record<string, string>; body: Buffer }>(
    `SELECT ${summaryColumns}, headers, body FROM raw_inbound WHERE id = $1`, [id]);
  return rows[0];
}

/** Marks a stored delivery for another pass through the pipeline; returns its previous status. */
export async function markForReplay(tx: Queryable, id: number): Promise<RawStatus | undefined> {
  const { rows } = await tx.query<{ previous: RawStatus }>(
    `UPDATE raw_inbound r SET status = 'accepted', replays = replays + 1, replayed_at = now()
       FROM (SELECT id, status AS previous FROM raw_inbound WHERE id = $1 FOR UPDATE) old
      WHERE r.id = old.id RETURNING old.previous`, [id]);
  return rows[0]?.previous;
}
