import type { InputProblem } from '../errors.ts';
import type { OrderStatus } from '../order/status.ts';

/**
 * The archive, the pure part: which orders are finished for good, how old they must be
 * before they leave the live tables, and what the hub says about late traffic for them.
 * No I/O and no clock: the job passes `now` in.
 */

/** Statuses an order is archived in: the end of its life, whichever way it ended. */
export const archivableStatuses = ['completed', 'cancelled', 'rejected', 'returned'] as const satisfies readonly OrderStatus[];

/** Return (RMA) statuses after which nothing more happens to it; any other status is open. */
export const closedReturnStatuses = ['rejected', 'refunded', 'exchanged'] as const;

/** Refund statuses that still wait for the provider: money in flight keeps an order live. */
export const pendingRefundStatuses = ['requested', 'pending'] as const;

/** Finished orders leave the live tables this many days after they finished, unless configured. */
export const DEFAULT_ARCHIVE_AFTER_DAYS = 365;
/** The return window counts from delivery unless configured (see `afterSales.returnWindowDays`). */
const DEFAULT_RETURN_WINDOW_DAYS = 30;
const DAY_MS = 86_400_000;

/** How long finished orders stay live, from the config's `archive` and `afterSales` sections. */
export interface ArchivePolicy {
  afterDays: number;
  returnWindowDays: number;
}

export function archivePolicy(config: { archive?: { afterDays?: number }; afterSales?: { returnWindowDays?: number } }): ArchivePolicy {
  return {
    afterDays: config.archive?.afterDays ?? DEFAULT_ARCHIVE_AFTER_DAYS,
    returnWindowDays: config.afterSales?.returnWindowDays ?? DEFAULT_RETURN_WINDOW_DAYS,
  };
}

/** An order that entered its final status before the cutoff of that status is old enough to archive. */
export interface ArchiveCutoffs {
  /** for `cancelled`, `rejected`, `returned`: nothing can reopen them */
  finished: Date;
  /** for `completed`: a return can still reopen it while its return window runs */
  completed: Date;
}

/**
 * The cutoffs at `now`. A completed order waits at least as long as the return window as
 * well, since completion comes after delivery, from which the window counts: an archived
 * order can then no longer be asked back.
 */
export function archiveCutoffs(now: Date, policy: ArchivePolicy): ArchiveCutoffs {
  const at = now.getTime();
  return {
    finished: new Date(at - policy.afterDays * DAY_MS),
    completed: new Date(at - Math.max(policy.afterDays, policy.returnWindowDays) * DAY_MS),
  };
}

/** Whether an order in `status` since `since` is old enough to archive at these cutoffs (the SQL applies the same rule). */
export function oldEnoughToArchive(status: OrderStatus, since: Date, cutoffs: ArchiveCutoffs): boolean {
  if (status === 'completed') return since.getTime() < cutoffs.completed.getTime();
  return (archivableStatuses as readonly OrderStatus[]).includes(status) && since.getTime() < cutoffs.finished.getTime();
}

/**
 * Why a channel's delivery about an archived order changes nothing: the order's life is
 * over, and a new order under the same channel id would count it twice.
 */
export function archivedOrderProblem(order: { orderNumber: string; status: string }): InputProblem {
  return {
    path: '/externalId',
    message: `order ${order.orderNumber} (${order.status}) with this channel id is archived; the delivery is kept and changes nothing`,
  };
}
