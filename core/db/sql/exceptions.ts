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

/** Resolves the open exceptions a raw delivery raised, once it has been processed after all. */
export async function resolveExceptionsForRaw(db: Queryable, rawId: number, note: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $2::text)
      WHERE raw_id = $1 AND status = 'open'`, [rawId, note]);
  return rowCount ?? 0;
}

/** Resolves an order's open exceptions of the given types (the cause went away). */
export async function resolveOrderExceptions(db: Queryable, orderId: string, types: readonly string[], note: string): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE exceptions SET status = 'resolved', resolved_at = now(), details = details || jsonb_build_object('resolution', $3::text)
      WHERE order_id = $1 AND type = ANY($2::text[]) AND status = 'open'`, [orderId, types, note]);
  return rowCount ?? 0;
}

/** Marks open exceptions whose deadline has passed as escalated; returns how many. */
export async function escalateOverdueExceptions(db: Queryable): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE exceptions SET escalated_at = now() WHERE status = 'open' AND escalated_at IS NULL AND deadline < now()`);
  return rowCount ?? 0;
}
