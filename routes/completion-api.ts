import { Hono, type Context } from 'hono';
import { parseFeedback } from '../schemas/feedback.ts';
import { withTransaction, type Db, type Tx } from '../core/db/pool.ts';
import { appendAudit } from '../core/db/sql/audit.ts';
import { lockOrder } from '../core/db/sql/orders.ts';
import { badRequest, notFound } from '../core/errors.ts';
import type { OrderRecord } from '../core/order/record.ts';
import { confirmReceipt, recordFeedback } from '../core/stages/completion.ts';
import type { StageContext } from '../core/stages/context.ts';
import { actorOf } from './principal.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

async function lockedOrder(tx: Tx, id: string): Promise<OrderRecord> {
  const record = uuid.test(id) ? await lockOrder(tx, id) : undefined;
  if (!record) throw notFound('order_not_found', `no order with id ${id}`);
  return record;
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw badRequest('malformed_json', 'the body is not valid JSON');
  }
}

/**
 * Operator API for the end of an order (behind bearer auth, mounted at `/api`): receipt
 * confirmed on the customer's behalf, and the customer's rating. Both go through the same
 * decisions as the customer's own calls and the auto-complete job, and are audited.
 */
export function completionRoutes(deps: { db: Db; ctx: StageContext }): Hono {
  const app = new Hono();
  const { db, ctx } = deps;

  // The customer told support the parcel arrived: completed, as if they had confirmed it.
  app.post('/orders/:id/confirm-receipt', async (c) => {
    const id = c.req.param('id');
    const result = await withTransaction(db, async (tx) => {
      const done = await confirmReceipt(tx, ctx, await lockedOrder(tx, id), actorOf(c));
      await appendAudit(tx, { actor: actorOf(c), action: 'order.confirm_receipt', target: `order:${id}`, detail: { alreadyCompleted: done.alreadyCompleted } });
      return done;
    });
    return c.json(result, 200);
  });

  // The customer's rating, given to an operator: one per order; the same one again is harmless.
  app.post('/orders/:id/feedback', async (c) => {
    const parsed = parseFeedback(await jsonBody(c));
    if (!parsed.ok) throw badRequest('invalid_body', 'the body does not match the schema', { problems: parsed.problems });
    const id = c.req.param('id');
    const result = await withTransaction(db, async (tx) => {
      const record = await lockedOrder(tx, id);
      const { recorded, feedback } = await recordFeedback(tx, ctx, record, parsed.feedback, { source: 'api', actor: actorOf(c) });
      await appendAudit(tx, { actor: actorOf(c), action: 'order.feedback', target: `order:${id}`, detail: { ...parsed.feedback, recorded } });
      return { orderId: record.id, orderNumber: record.orderNumber, recorded, rating: feedback.rating, comment: feedback.comment, source: feedback.source };
    });
    return c.json(result, result.recorded ? 201 : 200);
  });

  return app;
}
