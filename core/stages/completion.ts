import { withTransaction, type Db, type Tx } from '../db/pool.ts';
import { autoCompletion, ordersToAutoComplete } from '../db/sql/completion.ts';
import { feedbackFor, insertFeedback, type FeedbackRow } from '../db/sql/feedback.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { parcelsOf } from '../db/sql/parcels.ts';
import { HubError, conflict } from '../errors.ts';
import type { OrderRecord } from '../order/record.ts';
import type { OrderStatus } from '../order/status.ts';
import { decideCompletion, decideFeedback, feedbackStatuses, type CompletionAction, type CompletionActor, type Feedback } from '../pipeline/completion.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

/** What completing an order did. */
export interface CompletionResult {
  orderId: string;
  orderNumber: string;
  status: OrderStatus;
  /** true when it was completed before: nothing was done this time */
  alreadyCompleted: boolean;
}

/** Delivered orders complete this many days after delivery unless configured otherwise. */
export const DEFAULT_AUTO_COMPLETE_DAYS = 14;
// One run's share; an hourly job works off a backlog (after downtime) in a few runs.
const BATCH = 500;

/**
 * Completes an order the caller has locked, in the caller's transaction: state check,
 * timeline with the actor, `order.completed` through the outbox. A completed order is left
 * alone (a second confirmation is harmless); an order in any state the transitions table
 * does not lead to `completed` from is a 409.
 */
export async function completeOrder(
  tx: Tx,
  ctx: StageContext,
  record: OrderRecord,
  request: { action: CompletionAction; actor: CompletionActor; afterDays?: number },
): Promise<CompletionResult> {
  const result = { orderId: record.id, orderNumber: record.orderNumber };
  // Only a shipped order needs its parcel (for `order.delivered`): the latest one sent.
  const parcel = record.status === 'shipped' ? (await parcelsOf(tx, record.id)).at(-1) : undefined;
  const decision = decideCompletion({ record, ...request, parcel });
  switch (decision.outcome) {
    case 'already_completed':
      return { ...result, status: record.status, alreadyCompleted: true };
    case 'refused':
      throw conflict('not_completable', decision.reason, { orderStatus: record.status, allowed: decision.allowed });
    case 'complete': {
      let current = record;
      for (const change of decision.changes) {
        current = await applyOrderChange(tx, ctx, current, change, { stage: 'completion', messageId: `completion:${record.id}`, actor: request.actor });
      }
      return { ...result, status: current.status, alreadyCompleted: false };
    }
    default: {
      const never: never = decision;
      return never;
    }
  }
}

/** The customer's receipt confirmed (by them on the website or app, or by an operator for them). */
export function confirmReceipt(tx: Tx, ctx: StageContext, record: OrderRecord, actor: CompletionActor): Promise<CompletionResult> {
  return completeOrder(tx, ctx, record, { action: 'confirm_receipt', actor });
}

/**
 * Records a customer's rating of a locked order: the `feedback` row, a timeline entry and
 * `order.feedback_received`. The same rating again changes nothing (`recorded: false`);
 * another rating, or an order not yet delivered, is a 409.
 */
export async function recordFeedback(
  tx: Tx,
  ctx: StageContext,
  record: OrderRecord,
  given: Feedback,
  who: { source: string; actor: string },
): Promise<{ recorded: boolean; feedback: FeedbackRow }> {
  const existing = await feedbackFor(tx, record.id);
  const decision = decideFeedback(record, given, existing ?? null, who.source);
  switch (decision.outcome) {
    case 'unchanged':
      return { recorded: false, feedback: existing! };
    case 'refused':
      throw conflict(decision.code, decision.reason, existing ? { rating: existing.rating } : { orderStatus: record.status, allowed: feedbackStatuses });
    case 'record': {
      const at = ctx.now();
      // The order row is locked, so no one else can be rating it in between.
      if (!(await insertFeedback(tx, { orderId: record.id, rating: given.rating, comment: given.comment, source: who.source, at }))) {
        throw new HubError('feedback_race', `order ${record.orderNumber} was rated meanwhile`, { status: 409, retryable: true });
      }
      await applyOrderChange(tx, ctx, record, decision.change, { stage: 'feedback', messageId: `feedback:${record.id}`, actor: who.actor });
      return { recorded: true, feedback: { ...given, source: who.source, createdAt: at } };
    }
    default: {
      const never: never = decision;
      return never;
    }
  }
}

/**
 * Job `auto-complete`: delivered orders whose delivery is `afterSales.autoCompleteDays`
 * (default 14) old, with no open return and no open dispute, are completed by
 * `job:auto-complete`, each in its own transaction (one order that fails does not hold the
 * others back; it is counted and tried again next run).
 */
export async function autoCompleteOrders(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const days = ctx.config.afterSales?.autoCompleteDays ?? DEFAULT_AUTO_COMPLETE_DAYS;
  const cutoff = new Date(ctx.now().getTime() - days * 86_400_000);
  const due = await ordersToAutoComplete(db, cutoff, BATCH);
  const counts = { due: due.length, completed: 0, skipped: 0, failed: 0 };
  for (const id of due) {
    try {
      const done = await withTransaction(db, async (tx) => {
        const record = await lockOrder(tx, id);
        if (!record || record.status !== 'delivered') return false;
        // A return or a dispute may have arrived since the list was read.
        const state = await autoCompletion(tx, id);
        if (!state || state.held || state.deliveredAt > cutoff) return false;
        await completeOrder(tx, ctx, record, { action: 'auto_complete', actor: 'job:auto-complete', afterDays: days });
        return true;
      });
      if (done) counts.completed++;
      else counts.skipped++;
    } catch {
      counts.failed++;
    }
  }
  return counts;
}
