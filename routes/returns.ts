import { Hono, type Context } from 'hono';
import { Ajv, type JSONSchemaType } from 'ajv';
import { parseReturnRequest } from '../schemas/return-request.ts';
import { withTransaction, type Db } from '../core/db/pool.ts';
import { appendAudit } from '../core/db/sql/audit.ts';
import { lockOrder } from '../core/db/sql/orders.ts';
import { getReturn, listReturns, lockReturn, returnExchangedInto } from '../core/db/sql/returns.ts';
import { badRequest, conflict, notFound } from '../core/errors.ts';
import { returnStatuses } from '../core/pipeline/returns.ts';
import type { StageContext } from '../core/stages/context.ts';
import { attachReturnLabel, requestReturn, returnView, type ReturnLabel } from '../core/stages/returns.ts';
import { actorOf } from './principal.ts';

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const rmaId = /^[A-Z][A-Z0-9]{0,7}-\d{8}-\d+-R\d+$/;
// Printable ASCII, as the IETF draft for the header has it; long enough for a UUID or a hash.
const idempotencyKey = /^[\x21-\x7e]{1,200}$/;

const ajv = new Ajv({ allErrors: true });
const validateLabel = ajv.compile<ReturnLabel>({
  type: 'object', additionalProperties: false, required: ['carrier', 'trackingCode', 'labelUrl'],
  properties: {
    carrier: { type: 'string', minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f]+$' },
    trackingCode: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\s]+$' },
    labelUrl: { type: 'string', minLength: 1, maxLength: 2000, pattern: '^https?://[^\\s]+$' },
  },
} satisfies JSONSchemaType<ReturnLabel>);

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw badRequest('malformed_json', 'the body is not valid JSON');
  }
}

function problemsOf(errors: readonly { instancePath: string; message?: string | undefined }[] | null | undefined) {
  return (errors ?? []).map((e) => ({ path: e.instancePath || '/', message: e.message ?? 'is invalid' }));
}

/**
 * An order's after-sales, as `GET /api/orders/:id` shows it: its returns (RMAs), and — for
 * an exchange order — the return and order it replaces.
 */
export async function orderReturns(db: Db, orderId: string): Promise<{ returns: Record<string, unknown>[]; exchangeFor: { rmaId: string; orderId: string; orderNumber: string } | null }> {
  const [returns, exchangeFor] = await Promise.all([listReturns(db, { orderId, limit: 100 }), returnExchangedInto(db, orderId)]);
  return { returns: returns.map(returnView), exchangeFor: exchangeFor ? { rmaId: exchangeFor.id, orderId: exchangeFor.orderId, orderNumber: exchangeFor.orderNumber } : null };
}

/** A unique-key violation (two requests racing with one idempotency key). */
const isUniqueViolation = (error: unknown) => typeof error === 'object' && error !== null && (error as { code?: unknown }).code === '23505';

/**
 * Operator API for returns and exchanges (behind bearer auth, mounted at `/api`): a return
 * asked for on the customer's behalf (decided by the same rules as the customer's own
 * request), the RMAs, and a return label a person bought when the carrier could not make
 * one. Writes are audited.
 */
export function returnRoutes(deps: { db: Db; ctx: StageContext }): Hono {
  const app = new Hono();
  const { db, ctx } = deps;

  // 201 with the RMA, approved or rejected (with every reason); the same Idempotency-Key
  // again answers 200 with the RMA the first request made.
  app.post('/orders/:id/returns', async (c) => {
    const id = c.req.param('id');
    const key = c.req.header('idempotency-key');
    if (key !== undefined && !idempotencyKey.test(key)) throw badRequest('invalid_idempotency_key', 'Idempotency-Key must be 1..200 printable ASCII characters');
    const parsed = parseReturnRequest(await jsonBody(c));
    if (!parsed.ok) throw badRequest('invalid_body', 'the body does not match the schema', { problems: parsed.problems });
    const request = key === undefined ? parsed.request : { ...parsed.request, idempotencyKey: key };
    let outcome;
    try {
      outcome = await withTransaction(db, async (tx) => {
        const record = uuid.test(id) ? await lockOrder(tx, id) : undefined;
        if (!record) throw notFound('order_not_found', `no order with id ${id}`);
        return requestReturn(tx, ctx, record, request, actorOf(c));
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict('idempotency_key_reused', `idempotency key ${key ?? ''} is being used by another request`);
      throw error;
    }
    if (!outcome.created) c.header('idempotent-replayed', 'true');
    return c.json(returnView(outcome.rma), outcome.created ? 201 : 200);
  });

  app.get('/returns', async (c) => {
    const status = c.req.query('status') || undefined;
    if (status !== undefined && !(returnStatuses as readonly string[]).includes(status)) {
      throw badRequest('invalid_query', `status must be one of ${returnStatuses.join(', ')}`);
    }
    const orderId = c.req.query('orderId') || undefined;
    if (orderId !== undefined && !uuid.test(orderId)) throw badRequest('invalid_query', 'orderId must be an order id (uuid)');
    const limit = Number(c.req.query('limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid_query', 'limit must be an integer 1..1000');
    const items = await listReturns(db, { status, orderId, limit });
    return c.json({ items: items.map(returnView) });
  });

  app.get('/returns/:id', async (c) => {
    const id = c.req.param('id');
    const rma = rmaId.test(id) ? await getReturn(db, id) : undefined;
    if (!rma) throw notFound('return_not_found', `no return ${id}`);
    return c.json(returnView(rma));
  });

  // A label a person bought (the carrier could not make one): the same path as the carrier's.
  app.post('/returns/:id/label', async (c) => {
    const id = c.req.param('id');
    const body = await jsonBody(c);
    if (!validateLabel(body)) throw badRequest('invalid_body', 'the body does not match the schema', { problems: problemsOf(validateLabel.errors) });
    const rma = await withTransaction(db, async (tx) => {
      const seen = rmaId.test(id) ? await getReturn(tx, id) : undefined;
      if (!seen) throw notFound('return_not_found', `no return ${id}`);
      const record = await lockOrder(tx, seen.orderId);
      const locked = await lockReturn(tx, id);
      if (!record || !locked) throw notFound('return_not_found', `no return ${id}`);
      if (locked.status !== 'approved') {
        throw conflict('return_not_approved', `return ${id} is ${locked.status}; a label goes on an approved return that has none`, { returnStatus: locked.status });
      }
      await attachReturnLabel(tx, ctx, record, locked, body, actorOf(c));
      await appendAudit(tx, { actor: actorOf(c), action: 'return.label', target: `return:${id}`, detail: { ...body } });
      return (await getReturn(tx, id))!;
    });
    return c.json(returnView(rma));
  });

  return app;
}
