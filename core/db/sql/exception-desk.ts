import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

/** An exception as the desk shows it: the SOP's owner and deadline, who works on it, how it ended. */
export interface DeskException {
  id: number;
  type: string;
  status: string;
  orderId: string | null;
  rawId: number | null;
  messageId: string | null;
  stage: string | null;
  owner: string;
  assignedTo: string | null;
  deadline: Date;
  reason: string;
  details: Record<string, unknown>;
  resolution: Record<string, unknown> | null;
  createdAt: Date;
  escalatedAt: Date | null;
  resolvedAt: Date | null;
  overdue: boolean;
}

/** The position of an exception in the desk's order (deadline, then id): what a cursor carries. */
export interface DeskPosition { deadline: string; id: number }

export interface DeskFilter {
  type?: string | undefined;
  status?: string | undefined;
  owner?: string | undefined;
  assignee?: string | undefined;
  orderId?: string | undefined;
  /** true: open and past the deadline at `now`; false: not that */
  overdue?: boolean | undefined;
  /** the clock overdue is judged by */
  now: Date;
  /** only exceptions after this position */
  after?: DeskPosition | undefined;
  limit: number;
}

// The deadline is also read back as text with microseconds, so a cursor names the exact row
// position however precise the stored timestamp is.
const deskColumns = `id::int AS id, type, status, order_id AS "orderId", raw_id::int AS "rawId", message_id AS "messageId", stage, owner,
  assigned_to AS "assignedTo", deadline, reason, details, resolution, created_at AS "createdAt", escalated_at AS "escalatedAt",
  resolved_at AS "resolvedAt", to_char(deadline AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS "deadlineKey"`;

type DeskRow = Omit<DeskException, 'overdue'> & { deadlineKey: string };

const withOverdue = (row: DeskRow, now: Date): DeskException & { deadlineKey: string } =>
  ({ ...row, overdue: row.status === 'open' && row.deadline.getTime() < now.getTime() });

/** An exception without the cursor's key (one exception is not a page). */
function withoutKey(row: DeskException & { deadlineKey?: string }): DeskException {
  const exception = { ...row };
  delete exception.deadlineKey;
  return exception;
}

/**
 * The desk's list: filtered, soonest deadline first (then id), `limit` rows after the
 * position `after`. Each row carries `deadlineKey`, the exact deadline for the next cursor.
 */
export async function listDeskExceptions(db: Queryable, f: DeskFilter): Promise<(DeskException & { deadlineKey: string })[]> {
  const { rows } = await db.query<DeskRow>(
    `SELECT ${deskColumns} FROM exceptions
      WHERE ($1::text IS NULL OR type = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR owner = $3)
        AND ($4::text IS NULL OR assigned_to = $4) AND ($5::uuid IS NULL OR order_id = $5)
        AND ($6::boolean IS NULL OR (status = 'open' AND deadline < $7) = $6)
        AND ($8::timestamptz IS NULL OR (deadline, id) > ($8::timestamptz, $9::bigint))
      ORDER BY deadline, id LIMIT $10`,
    [f.type ?? null, f.status ?? null, f.owner ?? null, f.assignee ?? null, f.orderId ?? null, f.overdue ?? null, f.now,
      f.after?.deadline ?? null, f.after?.id ?? null, f.limit],
  );
  return rows.map((r) => withOverdue(r, f.now));
}

/** One exception, or undefined. */
export async function getDeskException(db: Queryable, id: number, now: Date): Promise<DeskException | undefined> {
  const { rows } = await db.query<DeskRow>(`SELECT ${deskColumns} FROM exceptions WHERE id = $1`, [id]);
  const row = rows[0];
  if (!row) return undefined;
  return withoutKey(withOverdue(row, now));
}

/** One exception, locked until the transaction ends (actions on it are taken one at a time). */
export async function lockDeskException(tx: Queryable, id: number, now: Date): Promise<DeskException | undefined> {
  const { rows } = await tx.query<DeskRow>(`SELECT ${deskColumns} FROM exceptions WHERE id = $1 FOR UPDATE`, [id]);
  const row = rows[0];
  if (!row) return undefined;
  return withoutKey(withOverdue(row, now));
}

export interface ExceptionNote {
  id: number;
  at: Date;
  actor: string;
  kind: string;
  text: string;
  data: Record<string, unknown> | null;
}

/** Adds a line to an exception's notes. */
export async function addExceptionNote(db: Queryable, n: { exceptionId: number; at: Date; actor: string; kind: string; text: string; data?: Record<string, unknown> }): Promise<void> {
  await db.query('INSERT INTO exception_notes (exception_id, at, actor, kind, text, data) VALUES ($1, $2, $3, $4, $5, $6)',
    [n.exceptionId, n.at, n.actor, n.kind, n.text, n.data ? jsonb(n.data) : null]);
}

/** An exception's notes, oldest first. */
export async function exceptionNotes(db: Queryable, exceptionId: number): Promise<ExceptionNote[]> {
  const { rows } = await db.query<ExceptionNote>(
    'SELECT id::int AS id, at, actor, kind, text, data FROM exception_notes WHERE exception_id = $1 ORDER BY id', [exceptionId]);
  return rows;
}

/** Sets (or clears, with null) who works on an exception. */
export async function assignException(db: Queryable, id: number, assignee: string | null): Promise<void> {
  await db.query('UPDATE exceptions SET assigned_to = $2 WHERE id = $1', [id, assignee]);
}

/** Records the action asked for, or its refusal: the exception stays open. */
export async function setResolution(db: Queryable, id: number, resolution: Record<string, unknown>): Promise<void> {
  await db.query('UPDATE exceptions SET resolution = $2 WHERE id = $1', [id, jsonb(resolution)]);
}

/** Resolves an exception with the action applied and its outcome (it may have been resolved by the pipeline already). */
export async function resolveWithAction(db: Queryable, id: number, at: Date, resolution: Record<string, unknown>): Promise<void> {
  await db.query(
    `UPDATE exceptions SET status = 'resolved', resolved_at = coalesce(resolved_at, $2), resolution = $3 WHERE id = $1`,
    [id, at, jsonb(resolution)]);
}

