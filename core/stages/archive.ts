import type { PaymentEvent } from '../../connectors/payments/types.ts';
import { withSop } from '../config/business.ts';
import { withTransaction, type Db, type Tx } from '../db/pool.ts';
import {
  allowTimelineMove, appendArchivedEvents, archivedTables, forbidTimelineMove, getArchivedOrderSummary, lockArchivableOrders, moveRows,
  twinMismatches,
} from '../db/sql/archive.ts';
import { openException } from '../db/sql/exceptions.ts';
import {
  archivableStatuses, archiveCutoffs, archivePolicy, closedReturnStatuses, pendingRefundStatuses,
} from '../pipeline/archive.ts';
import type { StageContext } from './context.ts';

/** Orders moved per transaction: big enough to be quick, small enough to hold few locks for long. */
const BATCH = 500;
/** A run stops taking new batches after this long; the next run goes on where it stopped. */
const BUDGET_MS = 10 * 60_000;

/**
 * Job `archive`: finished orders (completed, cancelled, rejected, returned) older than
 * `archive.afterDays` (a completed one also past its return window), with no open
 * exception, open return or refund in flight, move to the archive tables with every row of
 * theirs, a batch per transaction, until none is left or the time budget is spent. Returns
 * the rows moved per table (`orders`, `order_events`, …) and the batches.
 */
export async function archiveFinishedOrders(
  db: Db,
  ctx: StageContext,
  options: { batchSize?: number; budgetMs?: number } = {},
): Promise<Record<string, number>> {
  const batchSize = options.batchSize ?? BATCH;
  const budgetMs = options.budgetMs ?? BUDGET_MS;
  // A twin that no longer matches its table would fail the move, or put values in the wrong columns.
  const mismatches = await twinMismatches(db);
  if (mismatches.length > 0) throw new Error(`the archive tables do not match the live ones: ${mismatches.join('; ')}`);

  const policy = archivePolicy(ctx.config);
  const started = ctx.now().getTime();
  const cutoffs = archiveCutoffs(ctx.now(), policy);
  const counts: Record<string, number> = { batches: 0, ...Object.fromEntries(archivedTables.map((t) => [t.table, 0])) };
  for (;;) {
    const moved = await withTransaction(db, async (tx) => {
      const ids = await lockArchivableOrders(tx, {
        cutoffs, finishedStatuses: archivableStatuses, closedReturnStatuses, pendingRefundStatuses, limit: batchSize,
      });
      if (ids.length === 0) return undefined;
      return moveBatch(tx, ids, `finished more than ${policy.afterDays} days ago`);
    });
    if (!moved) break;
    counts.batches = (counts.batches ?? 0) + 1;
    for (const [table, n] of Object.entries(moved)) counts[table] = (counts[table] ?? 0) + n;
    if ((moved.orders ?? 0) < batchSize || ctx.now().getTime() - started >= budgetMs) break;
  }
  return counts;
}

/** Moves locked orders and everything of theirs, in the caller's transaction; rows moved per table. */
async function moveBatch(tx: Tx, ids: readonly string[], reason: string): Promise<Record<string, number>> {
  await appendArchivedEvents(tx, ids, 'job:archive', `moved to the archive: ${reason}`);
  await allowTimelineMove(tx);
  const moved: Record<string, number> = {};
  for (const table of archivedTables) moved[table.table] = await moveRows(tx, table, ids);
  await forbidTimelineMove(tx);
  return moved;
}

/**
 * A payment for an order that is archived: the ledger has it (the caller recorded it under
 * the order's id), and finance gets an exception, since an archived order's life is over
 * and nothing settles it automatically. Shown with the archived order (`details.archivedOrderId`).
 * False when the archive does not have the order either.
 */
export async function reportArchivedOrderPayment(
  tx: Tx,
  ctx: StageContext,
  orderId: string,
  entries: readonly PaymentEvent[],
  messageId: string,
): Promise<boolean> {
  const order = await getArchivedOrderSummary(tx, orderId);
  if (!order) return false;
  const what = entries.map((e) => `${e.provider} ${e.kind} of ${e.amount} ${e.currency} (${e.paymentId})`).join(', ');
  await openException(tx, withSop(ctx.config, ctx.now(), {
    type: 'payment_archived_order',
    reason: `${what} for order ${order.orderNumber}, which is archived: recorded in the ledger, nothing settled`,
    messageId, stage: 'reconcile',
    details: { archivedOrderId: order.id, orderNumber: order.orderNumber, entries: entries.map((e) => ({ provider: e.provider, entryId: e.entryId, paymentId: e.paymentId, kind: e.kind, amount: e.amount, currency: e.currency })) },
  }));
  return true;
}
