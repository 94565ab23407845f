import { parseFeedback } from '../../schemas/feedback.ts';
import type { Tx } from '../db/pool.ts';
import { badRequest, type InputProblem } from '../errors.ts';
import type { OrderRecord } from '../order/record.ts';
import { confirmReceipt, recordFeedback } from './completion.ts';
import { returnRequestedCall } from './returns.ts';
import type { StageContext } from './context.ts';

/**
 * Calls a customer makes from the shop's own website or app about one of their orders
 * (`POST /webhooks/customers/:source`): `{ "type": …, "externalId": <the channel's order id>, … }`.
 * The route verifies, stores and de-duplicates them and finds the order; a handler per
 * `type` does the rest. Another kind of call is one more entry in {@link customerCallHandlers}.
 */
export interface CustomerCall {
  type: string;
  externalId: string;
  [field: string]: unknown;
}

/** Where a call came from: the channel, and the customer as the timeline names them. */
export interface CallOrigin {
  channel: string;
  actor: `customer:${string}`;
}

export interface CustomerCallHandler {
  /** What is wrong with the fields this type of call adds; empty when nothing is. */
  problems(call: CustomerCall): InputProblem[];
  /**
   * Does what the call asks to the order (locked by the caller), in the caller's
   * transaction, and returns the answer's body; a refusal is a HubError (409 and so on).
   */
  handle(tx: Tx, ctx: StageContext, record: OrderRecord, call: CustomerCall, origin: CallOrigin): Promise<Record<string, unknown>>;
}

/** `receipt.confirmed`: the customer has the goods → the order is completed. */
export const receiptConfirmedCall: CustomerCallHandler = {
  problems: () => [],
  async handle(tx, ctx, record, _call, origin) {
    return { ...(await confirmReceipt(tx, ctx, record, origin.actor)) };
  },
};

/** `feedback.given`: `rating` 1–5 and an optional `comment` → the order's one rating. */
export const feedbackGivenCall: CustomerCallHandler = {
  problems(call) {
    const parsed = parseFeedback(feedbackFields(call));
    return parsed.ok ? [] : parsed.problems;
  },
  async handle(tx, ctx, record, call, origin) {
    const parsed = parseFeedback(feedbackFields(call));
    if (!parsed.ok) throw badRequest('invalid_body', 'the feedback does not match the schema', { problems: parsed.problems });
    const { recorded, feedback } = await recordFeedback(tx, ctx, record, parsed.feedback, { source: origin.channel, actor: origin.actor });
    return { orderId: record.id, orderNumber: record.orderNumber, recorded, rating: feedback.rating, comment: feedback.comment };
  },
};

// The envelope (`type`, `externalId`) is the route's; the rest is the feedback itself.
function feedbackFields(call: CustomerCall): Record<string, unknown> {
  return Object.fromEntries(Object.entries(call).filter(([name]) => name !== 'type' && name !== 'externalId'));
}

/**
 * The kinds of call the hub takes, by `type`. An unknown type is answered 422 with this
 * list, so the shop's engineers see at once what the hub understands.
 */
export const customerCallHandlers: Readonly<Record<string, CustomerCallHandler>> = {
  'receipt.confirmed': receiptConfirmedCall,
  'feedback.given': feedbackGivenCall,
  'return.requested': returnRequestedCall,
};
