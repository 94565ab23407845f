import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

export interface NewException {
  type: string;
  owner: string;
  deadline: Date;
  reason: string;
  orderId?: string | null;
  rawId?: number | null;
  messageId?: string | null;
  stage?: string | null;
  details?: Record<string, unknown>;
}

/**
 * Opens an exception; one per (type, message id), so a redelivered cause opens no second
 * one. If that exception was resolved and the cause comes back (a replay that fails again),
 * it is opened again.
 */
export async function openException(db: Queryable, e: NewException): Promise<number | undefined> {
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO exceptions (type, owner, deadline, reason, order_id, raw_id, message_id, stage, details)
     VALUES ($1, $2, $3, $4, (SELECT id FROM orders WHERE id = $5::uuid), $6, $7, $8, $9)
     ON CONFLICT (type, message_id) WHERE message_id IS NOT NULL DO UPDATE
        SET status = 'open', resolved_at = NULL, reason = EXCLUDED.reason, details = EXCLUDED.details,
            deadline = EXCLUDED.deadline, escalated_at = NULL
        WHERE exceptions.status = 'resolved'
     RETURNING id`,
    [e.type, e.owner, e.deadline, e.reason, e.orderId ?? null, e.rawId ?? null, e.messageId ?? null, e.stage ?? null,
      jsonb(e.details ?? {})],
  );
  return rows[0]?.id;
}

export interface ExceptionRow {
  id: number; type: string; status: string; orderId: string | null; rawId: number | null; messageId: string | null;
  stage: string | null; owner: string; deadline: Date; reason: string; details: Record<string, unknown>; createdAt: Date;
  overdue: boolean;
}

export async function listExceptions(db: Queryable, f: { status?: string | undefined; type?: string | undefined; orderId?: string | undefined }): Promise<ExceptionRow[]> {
  const { rows } = await db.query<ExceptionRow>(
    `SELECT id, type, status, order_id AS "orderId", raw_id AS "rawId", message_id AS "messageId", stage, owner, deadline,
            reason, details, created_at AS "createdAt", (status = 'open' AND deadline < now()) AS overdue
       FROM exceptions
      WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR type = $2) AND ($3::uuid IS NULL OR order_id = $3)
      ORDER BY id DESC LIMIT 500`,
    [f.status ?? null, f.type ?? null, f.orderId ?? null],
  );
  return rows;
}

// A raw delivery's exceptions are resolved as it is marked processed (raw.ts markRawProcessed),
// an order's as its state changes (orders.ts updateOrderState): no round trip of their own.

/** Resolves the open exception of a type with this message id (its cause went away); returns how many (0 or 1). */
export async function resolveExceptionByMessageId(db: Queryable, type: string, messageId: string, note: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $3::text)
      WHERE type = $1 AND message_id = $2 AND status = 'open'`, [type, messageId, note]);
  return rowCount ?? 0;
}

/** Resolves these exceptions, those still open; returns how many. */
export async function resolveExceptions(db: Queryable, ids: readonly number[], note: string): Promise<number> {
  if (ids.length === 0) return 0;
  const { rowCount } = await db.query(
    `UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $2::text)
      WHERE id = ANY($1::bigint[]) AND status = 'open'`, [ids, note]);
  return rowCount ?? 0;
}

export interface OverdueException {
  id: number; type: string; status: string; orderId: string | null; owner: string; deadline: Date; reason: string; escalatedAt: Date | null;
}

/**
 * Open exceptions past their deadline at `now` and not escalated yet, oldest deadline first,
 * locked until the transaction ends (another replica's run skips them).
 */
export async function overdueExceptions(tx: Queryable, now: Date, limit: number): Promise<OverdueException[]> {
  const { rows } = await tx.query<OverdueException>(
    `SELECT id::int AS id, type, status, order_id AS "orderId", owner, deadline, reason, escalated_at AS "escalatedAt"
       FROM exceptions WHERE status = 'open' AND escalated_at IS NULL AND deadline < $1
      ORDER BY deadline, id LIMIT $2 FOR UPDATE SKIP LOCKED`, [now, limit]);
  return rows;
}

/** Marks an exception escalated at `at`, with its (new) owner; the previous owner goes into its details. */
export async function markEscalated(tx: Queryable, id: number, at: Date, owner: string, previousOwner: string | null): Promise<void> {
  await tx.query(
    `UPDATE exceptions SET escalated_at = $2, owner = $3,
            details = CASE WHEN $4::text IS NULL THEN details ELSE details || jsonb_build_object('previousOwner', $4::text) END
      WHERE id = $1`, [id, at, owner, previousOwner]);
}
