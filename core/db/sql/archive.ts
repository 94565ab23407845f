import type { PaymentEvent } from '../../../connectors/payments/types.ts';
import type { CanonicalOrder } from '../../../schemas/canonical-order.ts';
import type { ArchiveCutoffs } from '../../pipeline/archive.ts';
import type { ExceptionRow } from './exceptions.ts';
import type { ReservationRow } from './inventory.ts';
import { returnColumns, type ReturnRow } from './returns.ts';
import { summaryColumns, type OrderSummary, type TimelineRow } from './orders.ts';
import type { Queryable } from '../pool.ts';

/**
 * One table whose rows belong to an order and move with it: its archive twin, and which of
 * its rows belong to the orders of a batch (`$1`, their ids). Children come before their
 * parents, so no foreign key is left pointing at a row that has moved.
 */
export interface ArchivedTable {
  table: string;
  twin: string;
  /** SQL condition on the live table's rows; `$1` is the batch's order ids (uuid[]) */
  belongs: string;
}

const ofBatch = 'order_id = ANY($1::uuid[])';

/** Every per-order table, in the order a batch moves them. The money ledger (`payments`, `refunds`) stays live. */
export const archivedTables: readonly ArchivedTable[] = [
  { table: 'order_events', twin: 'archived_order_events', belongs: ofBatch },
  { table: 'order_lines', twin: 'archived_order_lines', belongs: ofBatch },
  { table: 'reservations', twin: 'archived_reservations', belongs: ofBatch },
  { table: 'parcels', twin: 'archived_parcels', belongs: ofBatch },
  { table: 'shipments', twin: 'archived_shipments', belongs: ofBatch },
  { table: 'notifications', twin: 'archived_notifications', belongs: ofBatch },
  { table: 'credit_holds', twin: 'archived_credit_holds', belongs: ofBatch },
  { table: 'exception_notes', twin: 'archived_exception_notes', belongs: 'exception_id IN (SELECT id FROM exceptions WHERE order_id = ANY($1::uuid[]))' },
  { table: 'exceptions', twin: 'archived_exceptions', belongs: ofBatch },
  { table: 'return_lines', twin: 'archived_return_lines', belongs: 'return_id IN (SELECT id FROM returns WHERE order_id = ANY($1::uuid[]))' },
  { table: 'returns', twin: 'archived_returns', belongs: ofBatch },
  { table: 'feedback', twin: 'archived_feedback', belongs: ofBatch },
  { table: 'orders', twin: 'archived_orders', belongs: 'id = ANY($1::uuid[])' },
];

/**
 * Tables that keep the rows of archived orders on purpose: the money ledger. They name the
 * order (live or archived) without a foreign key.
 */
export const tablesKeptLive: readonly string[] = ['payments', 'refunds'];

/**
 * Differences between a live table and its twin (column name, type, nullability, position),
 * one line each; empty when every twin matches. A move copies `*` by position, so any
 * difference would fail it or, worse, put values in the wrong columns.
 */
export async function twinMismatches(db: Queryable): Promise<string[]> {
  const { rows } = await db.query<{ problem: string }>(
    `WITH pairs AS (SELECT * FROM unnest($1::text[], $2::text[]) AS p(live, twin)),
          cols AS (SELECT table_name, column_name, ordinal_position AS pos, data_type, is_nullable
                     FROM information_schema.columns WHERE table_schema = current_schema()),
          live AS (SELECT p.live, p.twin, c.* FROM pairs p JOIN cols c ON c.table_name = p.live),
          twin AS (SELECT p.live, p.twin, c.* FROM pairs p JOIN cols c ON c.table_name = p.twin)
     SELECT format('%s.%s (%s, column %s) has no match in %s', coalesce(l.live, t.live), coalesce(l.column_name, t.column_name),
                   coalesce(l.data_type, t.data_type), coalesce(l.pos, t.pos), coalesce(l.twin, t.twin)) AS problem
       FROM live l FULL JOIN twin t
         ON t.live = l.live AND t.column_name = l.column_name AND t.pos = l.pos AND t.data_type = l.data_type AND t.is_nullable = l.is_nullable
      WHERE l.column_name IS NULL OR t.column_name IS NULL
      ORDER BY 1`,
    [archivedTables.map((t) => t.table), archivedTables.map((t) => t.twin)],
  );
  return rows.map((r) => r.problem);
}

/** A foreign key into one of the archived tables, from a table outside the archive's list. */
export interface StrayForeignKey { table: string; constraint: string; references: string }

/**
 * Foreign keys that reference an archived table (`orders`, `shipments`, `returns`, …) from a
 * table the archive does not move: moving a batch would fail on them, or (ON DELETE
 * CASCADE) lose rows. Empty when the archive's list is complete.
 */
export async function strayForeignKeys(db: Queryable): Promise<StrayForeignKey[]> {
  const { rows } = await db.query<StrayForeignKey>(
    `SELECT src.relname AS "table", c.conname AS "constraint", dst.relname AS "references"
       FROM pg_constraint c
       JOIN pg_class src ON src.oid = c.conrelid
       JOIN pg_class dst ON dst.oid = c.confrelid
      WHERE c.contype = 'f' AND src.relnamespace = current_schema()::regnamespace
        AND dst.relname = ANY($1::text[]) AND NOT (src.relname = ANY($1::text[]))
      ORDER BY 1, 2`,
    [archivedTables.map((t) => t.table)],
  );
  return rows;
}

/**
 * Picks and locks the next batch of orders to archive: in a final status since before its
 * cutoff (`completed` has a cutoff of its own), with no open exception, no open return and
 * no refund still in flight. Orders a
 * stage holds right now are skipped (they come in a later batch or run), so the job never
 * waits on the pipeline.
 */
export async function lockArchivableOrders(
  tx: Queryable,
  f: { cutoffs: ArchiveCutoffs; finishedStatuses: readonly string[]; closedReturnStatuses: readonly string[]; pendingRefundStatuses: readonly string[]; limit: number },
): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT o.id FROM orders o
      WHERE ((o.status = 'completed' AND o.status_changed_at < $2) OR (o.status = ANY($1::text[]) AND o.status_changed_at < $3))
        AND NOT EXISTS (SELECT 1 FROM exceptions x WHERE x.order_id = o.id AND x.status = 'open')
        AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.id AND NOT (r.status = ANY($4::text[])))
        AND NOT EXISTS (SELECT 1 FROM refunds f WHERE f.order_id = o.id AND f.status = ANY($5::text[]))
      ORDER BY o.status_changed_at, o.id
      LIMIT $6
      FOR UPDATE OF o SKIP LOCKED`,
    [f.finishedStatuses.filter((s) => s !== 'completed'), f.cutoffs.completed, f.cutoffs.finished, f.closedReturnStatuses, f.pendingRefundStatuses, f.limit],
  );
  return rows.map((r) => r.id);
}

/** Records on each order's timeline that it moves to the archive (the last entry it gets). */
export async function appendArchivedEvents(tx: Queryable, ids: readonly string[], actor: string, reason: string): Promise<number> {
  const { rowCount } = await tx.query(
    `INSERT INTO order_events (order_id, type, from_status, to_status, actor, reason)
     SELECT id, 'order.archived', status, status, $2, $3 FROM orders WHERE id = ANY($1::uuid[]) ORDER BY id`,
    [ids, actor, reason]);
  return rowCount ?? 0;
}

/** Lets this transaction move timelines out of `order_events` (its trigger refuses every other delete). */
export async function allowTimelineMove(tx: Queryable): Promise<void> {
  await tx.query(`SET LOCAL hub.archiving = 'on'`);
}

/** Ends `allowTimelineMove` before the transaction does, so nothing else in it can delete events. */
export async function forbidTimelineMove(tx: Queryable): Promise<void> {
  await tx.query(`SET LOCAL hub.archiving = 'off'`);
}

/** Moves the rows of `table` that belong to the batch's orders into its twin; returns how many. */
export async function moveRows(tx: Queryable, t: ArchivedTable, ids: readonly string[]): Promise<number> {
  // Table names come from `archivedTables`, never from input.
  const { rowCount } = await tx.query(
    `WITH moved AS (DELETE FROM ${t.table} WHERE ${t.belongs} RETURNING *) INSERT INTO ${t.twin} SELECT * FROM moved`, [ids]);
  return rowCount ?? 0;
}

/** An archived order, found by its channel's id: late traffic about it must not make a new one. */
export async function archivedOrderByExternalId(db: Queryable, channel: string, externalId: string): Promise<{ id: string; orderNumber: string; status: string } | undefined> {
  const { rows } = await db.query<{ id: string; orderNumber: string; status: string }>(
    `SELECT id, order_number AS "orderNumber", status FROM archived_orders WHERE channel = $1 AND external_id = $2`, [channel, externalId]);
  return rows[0];
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The archived order a payment points at, matched as live orders are (see `findOrderForPayment`). */
export async function findArchivedOrderForPayment(
  db: Queryable,
  match: PaymentEvent['match'],
  channels: readonly string[],
): Promise<{ id: string; orderNumber: string } | undefined> {
  const byId = match.orderId && uuidPattern.test(match.orderId) ? match.orderId : null;
  const { rows } = await db.query<{ id: string; orderNumber: string }>(
    `SELECT id, order_number AS "orderNumber" FROM archived_orders
      WHERE id = $1::uuid
         OR ($2::text IS NOT NULL AND order_number = $2)
         OR ($3::text IS NOT NULL AND external_id = $3 AND channel = ANY($4::text[]))
      LIMIT 1`,
    [byId, match.orderNumber ?? null, match.externalOrderId ?? null, channels],
  );
  return rows[0];
}

export async function getArchivedOrderSummary(db: Queryable, id: string): Promise<(OrderSummary & { order: CanonicalOrder }) | undefined> {
  const { rows } = await db.query<OrderSummary & { order: CanonicalOrder }>(
    `SELECT ${summaryColumns}, data AS "order" FROM archived_orders WHERE id = $1`, [id]);
  return rows[0];
}

export async function archivedOrderTimeline(db: Queryable, id: string): Promise<TimelineRow[]> {
  const { rows } = await db.query<TimelineRow>(
    `SELECT at, type, from_status AS "fromStatus", to_status AS "toStatus", actor, reason, data
       FROM archived_order_events WHERE order_id = $1 ORDER BY id`, [id]);
  return rows;
}

export async function archivedReservations(db: Queryable, id: string): Promise<ReservationRow[]> {
  const { rows } = await db.query<ReservationRow>(
    `SELECT warehouse, sku, quantity, status, created_at AS "createdAt" FROM archived_reservations WHERE order_id = $1 ORDER BY id`, [id]);
  return rows;
}

/**
 * An archived order's exceptions: those that moved with it, and those opened about it
 * since (a late payment), which stay live and name it in `details.archivedOrderId`.
 */
export async function archivedOrderExceptions(db: Queryable, id: string): Promise<ExceptionRow[]> {
  const { rows } = await db.query<ExceptionRow>(
    `SELECT * FROM (
       SELECT id, type, status, order_id AS "orderId", raw_id AS "rawId", message_id AS "messageId", stage, owner, deadline,
              reason, details, created_at AS "createdAt", (status = 'open' AND deadline < now()) AS overdue
         FROM archived_exceptions WHERE order_id = $1
       UNION ALL
       SELECT id, type, status, $1::uuid, raw_id, message_id, stage, owner, deadline,
              reason, details, created_at, (status = 'open' AND deadline < now())
         FROM exceptions WHERE details->>'archivedOrderId' = $1::text) x
      ORDER BY id DESC LIMIT 500`, [id]);
  return rows;
}


const archivedReturnColumns = returnColumns('archived_return_lines');

/** An archived order's RMAs with their lines, as `listReturns` reads live ones, newest first. */
export async function archivedReturns(db: Queryable, orderId: string): Promise<ReturnRow[]> {
  const { rows } = await db.query<ReturnRow>(
    `SELECT ${archivedReturnColumns} FROM archived_returns r JOIN archived_orders o ON o.id = r.order_id
      WHERE r.order_id = $1 ORDER BY r.created_at DESC, r.id LIMIT 100`, [orderId]);
  return rows;
}

/** The RMA an archived exchange order was made for (archived, or still live), if it is one. */
export async function archivedExchangeFor(db: Queryable, exchangeOrderId: string): Promise<{ id: string; orderId: string; orderNumber: string } | undefined> {
  const { rows } = await db.query<{ id: string; orderId: string; orderNumber: string }>(
    `SELECT r.id, r.order_id AS "orderId", o.order_number AS "orderNumber"
       FROM archived_returns r JOIN archived_orders o ON o.id = r.order_id WHERE r.exchange_order_id = $1
     UNION ALL
     SELECT r.id, r.order_id, o.order_number FROM returns r JOIN orders o ON o.id = r.order_id WHERE r.exchange_order_id = $1
     LIMIT 1`,
    [exchangeOrderId]);
  return rows[0];
}
