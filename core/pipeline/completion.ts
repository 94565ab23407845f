import type { OrderChange, OrderRecord } from '../order/record.ts';
import { canTransition, orderStatuses, reachableFrom, type OrderStatus } from '../order/status.ts';

/**
 * Completion and feedback: the end of the happy path. The customer confirms receipt (on the
 * shop's website or app, or through an operator), or the auto-complete job finds a delivered
 * order nobody disputes; the customer rates the order. Pure decisions: the adapter
 * (`core/stages/completion.ts`) locks the order, asks here, and applies the answer.
 */

/**
 * Who finished an order: the customer on one of the shop's own channels, the job, or an
 * operator named by the API key they called with (`admin` for HUB_ADMIN_TOKEN).
 */
export type CompletionActor = `customer:${string}` | 'job:auto-complete' | (string & {});

/** How an order comes to be completed. */
export const completionActions = ['confirm_receipt', 'auto_complete'] as const;
export type CompletionAction = (typeof completionActions)[number];

/** A parcel of the order, named in `order.delivered` when the customer's word delivers it. */
export interface ParcelRef { carrier: string; trackingCode: string }

export type CompletionDecision =
  | { outcome: 'complete'; changes: OrderChange[] }
  | { outcome: 'already_completed' }
  | { outcome: 'refused'; reason: string; allowed: readonly OrderStatus[] };

/**
 * The states an order goes through to `completed` after `action`, read from the transitions
 * table; null when there is no such way. Only `delivered → completed` is in the table. A
 * `shipped` order is not given a move of its own to `completed`: the customer saying the
 * goods arrived is proof of delivery (carriers' last scans come late, or never), so it takes
 * the table's `shipped → delivered` first and then `delivered → completed`, and the order's
 * history keeps both. The job has no such proof and completes only delivered orders.
 */
export function completionPath(from: OrderStatus, action: CompletionAction): OrderStatus[] | null {
  if (canTransition(from, 'completed')) return ['completed'];
  if (action === 'confirm_receipt' && canTransition(from, 'delivered') && canTransition('delivered', 'completed')) return ['delivered', 'completed'];
  return null;
}

/** The statuses from which `action` completes an order. */
export function completableFrom(action: CompletionAction): OrderStatus[] {
  return orderStatuses.filter((s) => completionPath(s, action) !== null);
}

export interface CompletionRequest {
  record: OrderRecord;
  action: CompletionAction;
  actor: CompletionActor;
  /** the order's latest parcel, for `order.delivered` when a shipped order is confirmed */
  parcel?: ParcelRef | null | undefined;
  /** the configured days after delivery (auto-complete), for the timeline */
  afterDays?: number | undefined;
}

/**
 * What completing an order means now: the changes to apply in order, nothing (it is completed
 * already, so a second confirmation is harmless), or a refusal saying from where it could.
 */
export function decideCompletion(request: CompletionRequest): CompletionDecision {
  const { record, action, actor } = request;
  if (record.status === 'completed') return { outcome: 'already_completed' };
  const path = completionPath(record.status, action);
  if (path === null) {
    const allowed = completableFrom(action);
    const what = action === 'confirm_receipt' ? 'receipt can be confirmed' : 'it completes automatically';
    return { outcome: 'refused', reason: `order ${record.orderNumber} is ${record.status}; ${what} only when it is ${allowed.join(' or ')}`, allowed };
  }
  const base = { orderId: record.id, orderNumber: record.orderNumber };
  const changes = path.map((to): OrderChange => {
    if (to === 'delivered') {
      return {
        to, fulfillmentStatus: 'delivered',
        // the parcel arrived, whatever the carrier said: a delay raised on it is over
        resolves: ['logistics_delay'],
        timeline: { type: 'order.delivered', reason: 'receipt confirmed before the carrier reported the delivery', data: { confirmedBy: actor } },
        // No "delivered" message to the customer: they are the one who said so.
        emit: request.parcel ? [{ type: 'order.delivered', data: { ...base, carrier: request.parcel.carrier, trackingCode: request.parcel.trackingCode, confirmedBy: actor } }] : [],
      };
    }
    return {
      to,
      timeline: { type: 'order.completed', reason: completionReason(request), data: { action } },
      emit: [{ type: 'order.completed', data: { ...base, action, completedBy: actor } }],
    };
  });
  return { outcome: 'complete', changes };
}

function completionReason({ action, actor, afterDays }: CompletionRequest): string {
  switch (action) {
    case 'confirm_receipt':
      return actor.startsWith('customer:') ? 'the customer confirmed receipt' : "receipt confirmed by an operator on the customer's behalf";
    case 'auto_complete':
      return `no return or dispute ${afterDays ?? '?'} days after delivery`;
    default: {
      const never: never = action;
      return never;
    }
  }
}

// ── Feedback ──

/** A customer's rating of an order (1–5) and what they wrote. */
export interface Feedback { rating: number; comment: string | null }

/**
 * Statuses in which an order can be rated: delivered, and every status the table leads to
 * from there (completed, returned). The customer must have had the goods in hand.
 */
export const feedbackStatuses: readonly OrderStatus[] = orderStatuses.filter((s) => reachableFrom('delivered').has(s));


export type FeedbackDecision =
  | { outcome: 'record'; change: OrderChange }
  | { outcome: 'unchanged' }
  | { outcome: 'refused'; code: 'feedback_not_allowed' | 'feedback_exists'; reason: string };

/**
 * One rating per order. The same rating and comment again (a resend) changes nothing;
 * another one is refused, so what the satisfaction figures counted does not change under
 * them. `source` is where it came from: `api`, or the channel (`website`, `app`).
 */
export function decideFeedback(record: OrderRecord, given: Feedback, existing: Feedback | null, source: string): FeedbackDecision {
  if (existing) {
    if (existing.rating === given.rating && existing.comment === given.comment) return { outcome: 'unchanged' };
    return { outcome: 'refused', code: 'feedback_exists', reason: `order ${record.orderNumber} was already rated ${existing.rating}; one rating per order` };
  }
  if (!feedbackStatuses.includes(record.status)) {
    return { outcome: 'refused', code: 'feedback_not_allowed', reason: `order ${record.orderNumber} is ${record.status}; it can be rated only when it is ${feedbackStatuses.join(', ')}` };
  }
  return {
    outcome: 'record',
    change: {
      timeline: { type: 'feedback.received', reason: `rated ${given.rating} of 5${given.comment ? ' with a comment' : ''}`, data: { rating: given.rating, source } },
      emit: [{ type: 'order.feedback_received', data: { orderId: record.id, orderNumber: record.orderNumber, rating: given.rating, comment: given.comment, source } }],
    },
  };
}
