import { Hono, type Context } from 'hono';
import { Ajv, type ErrorObject } from 'ajv';
import { badRequest, conflict, notFound } from '../core/errors.ts';
import { withTransaction, type Db, type Queryable } from '../core/db/pool.ts';
import { appendAudit } from '../core/db/sql/audit.ts';
import {
  addExceptionNote, assignException, exceptionNotes, getDeskException, listDeskExceptions, lockDeskException, setResolution,
  type DeskException, type DeskPosition,
} from '../core/db/sql/exception-desk.ts';
import { getOrderSummary, lockOrder } from '../core/db/sql/orders.ts';
import { enqueueMessages } from '../core/db/sql/outbox.ts';
import { warehouseExists } from '../core/db/sql/reference.ts';
import type { OrderRecord } from '../core/order/record.ts';
import { decideExceptionAction } from '../core/pipeline/exception-actions.ts';
import { orderMessages } from '../core/stages/apply.ts';
import type { StageContext } from '../core/stages/context.ts';
import { templatesOf } from '../core/stages/notifications.ts';
import {
  assignRequestSchema, commentRequestSchema, exceptionActionTypes, resolveRequestSchema,
  type ExceptionAction, type ResolveRequest,
} from '../schemas/exception-action.ts';
import { actorOf } from './principal.ts';
import { readBody, queryParam } from './request.ts';

const ajv = new Ajv({ allErrors: true, discriminator: true, allowUnionTypes: true });
const validateResolve = ajv.compile<ResolveRequest>(resolveRequestSchema);
const validateAssign = ajv.compile<{ assignee: string | null }>(assignRequestSchema);
const validateComment = ajv.compile<{ text: string }>(commentRequestSchema);

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One ajv error as a problem naming the field: `/action/reference`, not `/action` plus a sentence. */
function fieldProblem(e: ErrorObject): { path: string; message: string } {
  const params = e.params as { missingProperty?: string; additionalProperty?: string; tag?: string };
  if (e.keyword === 'discriminator') return { path: `${e.instancePath}/${params.tag ?? 'type'}`, message: `must be one of ${exceptionActionTypes.join(', ')}` };
  const field = params.missingProperty ?? params.additionalProperty;
  const message = e.keyword === 'additionalProperties' ? 'is not a field of this action' : e.message ?? 'is invalid';
  return { path: field ? `${e.instancePath}/${field}` : e.instancePath || '/', message };
}



function exceptionIdParam(c: Context): number {
  const raw = c.req.param('id') ?? '';
  const id = /^[1-9][0-9]{0,15}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id)) throw notFound('exception_not_found', `no exception ${raw}`);
  return id;
}

/** The opaque cursor of the desk's list: where the last page ended (deadline and id), base64url. */
export function encodeCursor(position: DeskPosition): string {
  return Buffer.from(JSON.stringify([position.deadline, position.id])).toString('base64url');
}

export function decodeCursor(cursor: string): DeskPosition {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [deadline, id] = value as unknown[];
      if (typeof deadline === 'string' && /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$/.test(deadline) && !Number.isNaN(Date.parse(deadline))
        && Number.isSafeInteger(id) && (id as number) > 0) {
        return { deadline, id: id as number };
      }
    }
  } catch {
    // not base64url JSON: the same answer as any other wrong cursor
  }
  throw badRequest('invalid_cursor', 'cursor is not one this API returned');
}

/** Actions tried against the order as it is, to list those that apply now. */
function sampleActions(record: OrderRecord | undefined): ExceptionAction[] {
  return [
    { type: 'acknowledge' }, { type: 'retry_stage' }, { type: 'override_allocation', warehouse: 'any' },
    { type: 'mark_paid', amount: 1, currency: record?.order.currency ?? 'XXX', method: 'bank_transfer', reference: 'check' },
    { type: 'approve_review' }, { type: 'cancel_order', reason: 'check' }, { type: 'split' }, { type: 'contact_customer', message: 'check' },
  ];
}

/** What the action's own fields name must exist: the warehouse, the carrier and its service, the template. */
async function checkActionFields(db: Queryable, ctx: StageContext, action: ExceptionAction): Promise<void> {
  if (action.type === 'override_allocation') {
    if (action.warehouse && !(await warehouseExists(db, action.warehouse))) {
      throw badRequest('unknown_warehouse', `no warehouse ${action.warehouse}`, { problems: [{ path: '/action/warehouse', message: 'is not a known warehouse' }] });
    }
    const carriers = action.carrier ? ctx.config.carriers.filter((c) => c.code === action.carrier) : ctx.config.carriers;
    if (action.carrier && carriers.length === 0) {
      throw badRequest('unknown_carrier', `no carrier ${action.carrier}`, { problems: [{ path: '/action/carrier', message: 'is not a configured carrier' }] });
    }
    if (action.serviceLevel && !carriers.some((c) => c.services.some((s) => s.code === action.serviceLevel))) {
      throw badRequest('unknown_service_level', `no service level ${action.serviceLevel}${action.carrier ? ` with ${action.carrier}` : ''}`, { problems: [{ path: '/action/serviceLevel', message: 'is not a service of the carriers' }] });
    }
  }
  if (action.type === 'contact_customer' && action.template && !Object.hasOwn(templatesOf(ctx.config), action.template)) {
    throw badRequest('unknown_template', `no notification template ${action.template}`, { problems: [{ path: '/action/template', message: 'is not a notification template' }] });
  }
}

/** A row of the list as the API shows it: the cursor's key stays inside the cursor. */
function publicException(row: DeskException & { deadlineKey?: string }): DeskException {
  const exception = { ...row };
  delete exception.deadlineKey;
  return exception;
}

/**
 * The exception desk (behind bearer auth): the list soonest deadline first with cursor
 * pagination, one exception with its notes and its order, assignment and comments, and
 * `resolve` with a typed action. An action is checked against the order now (409 with the
 * order's state when it cannot apply) and then written to the outbox as
 * `exception.action_requested`: the `exception-actions` stage applies it through the
 * pipeline and resolves the exception. Every write is audited with the caller's key.
 */
export function exceptionRoutes(deps: { db: Db; ctx: StageContext }): Hono {
  const app = new Hono();
  const { db, ctx } = deps;

  app.get('/exceptions', async (c) => {
    const status = queryParam(c, 'status');
    if (status !== undefined && status !== 'open' && status !== 'resolved') throw badRequest('invalid_query', 'status must be open or resolved');
    const overdue = queryParam(c, 'overdue');
    if (overdue !== undefined && overdue !== 'true' && overdue !== 'false') throw badRequest('invalid_query', 'overdue must be true or false');
    const orderId = queryParam(c, 'orderId');
    if (orderId !== undefined && !uuid.test(orderId)) throw badRequest('invalid_query', 'orderId must be an order id (uuid)');
    const limit = Number(queryParam(c, 'limit') ?? '100');
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest('invalid_query', 'limit must be an integer 1..500');
    const cursor = queryParam(c, 'cursor');
    const rows = await listDeskExceptions(db, {
      type: queryParam(c, 'type'), status, owner: queryParam(c, 'owner'), assignee: queryParam(c, 'assignee'), orderId,
      overdue: overdue === undefined ? undefined : overdue === 'true', now: ctx.now(),
      after: cursor === undefined ? undefined : decodeCursor(cursor), limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    const last = page.at(-1);
    const nextCursor = rows.length > limit && last ? encodeCursor({ deadline: last.deadlineKey, id: last.id }) : null;
    return c.json({ items: page.map(publicException), nextCursor });
  });

  app.get('/exceptions/:id', async (c) => {
    const id = exceptionIdParam(c);
    const exception = await getDeskException(db, id, ctx.now());
    if (!exception) throw notFound('exception_not_found', `no exception ${id}`);
    const [notes, summary] = await Promise.all([
      exceptionNotes(db, id),
      exception.orderId ? getOrderSummary(db, exception.orderId) : Promise.resolve(undefined),
    ]);
    const { order: canonical, ...order } = summary ?? { order: undefined };
    const record = summary && canonical ? { ...summary, order: canonical } : undefined;
    const actions = exception.status === 'open'
      ? sampleActions(record).filter((a) => decideExceptionAction(exception, record, a, { actor: 'check', occurrence: 'check', now: ctx.now() }).kind === 'apply').map((a) => a.type)
      : [];
    return c.json({ ...exception, notes, order: summary ? { ...order, lines: canonical?.lines ?? [], customer: canonical?.customer ?? null } : null, actions });
  });

  app.post('/exceptions/:id/assign', async (c) => {
    const id = exceptionIdParam(c);
    const { assignee } = await readBody(c, validateAssign, fieldProblem);
    const actor = actorOf(c);
    const updated = await withTransaction(db, async (tx) => {
      const exception = await lockDeskException(tx, id, ctx.now());
      if (!exception) throw notFound('exception_not_found', `no exception ${id}`);
      await assignException(tx, id, assignee);
      await addExceptionNote(tx, {
        exceptionId: id, at: ctx.now(), actor, kind: 'assigned',
        text: assignee === null ? `unassigned (was ${exception.assignedTo ?? 'nobody'})` : `assigned to ${assignee}`, data: { assignee, previous: exception.assignedTo },
      });
      await appendAudit(tx, { actor, action: 'exception.assign', target: `exception:${id}`, detail: { assignee, previous: exception.assignedTo } });
      return { ...exception, assignedTo: assignee };
    });
    return c.json(updated);
  });

  app.post('/exceptions/:id/comment', async (c) => {
    const id = exceptionIdParam(c);
    const { text } = await readBody(c, validateComment, fieldProblem);
    const actor = actorOf(c);
    await withTransaction(db, async (tx) => {
      if (!(await lockDeskException(tx, id, ctx.now()))) throw notFound('exception_not_found', `no exception ${id}`);
      await addExceptionNote(tx, { exceptionId: id, at: ctx.now(), actor, kind: 'comment', text });
      await appendAudit(tx, { actor, action: 'exception.comment', target: `exception:${id}`, detail: { text } });
    });
    return c.json({ exceptionId: id, notes: await exceptionNotes(db, id) }, 201);
  });

  app.post('/exceptions/:id/resolve', async (c) => {
    const id = exceptionIdParam(c);
    const { action, note } = await readBody(c, validateResolve, fieldProblem);
    const actor = actorOf(c);
    await checkActionFields(db, ctx, action);
    await withTransaction(db, async (tx) => {
      const now = ctx.now();
      // the order first, then the exception: the order's stages take them in that order
      const orderId = (await getDeskException(tx, id, now))?.orderId;
      const record = orderId ? await lockOrder(tx, orderId) : undefined;
      const exception = await lockDeskException(tx, id, now);
      if (!exception) throw notFound('exception_not_found', `no exception ${id}`);
      if (exception.status !== 'open') throw conflict('exception_resolved', `exception ${id} is already resolved`, { exceptionStatus: exception.status });
      if (exception.resolution?.state === 'requested') {
        const pending = exception.resolution.action as { type?: string } | undefined;
        throw conflict('action_pending', `exception ${id} already has an action on its way (${pending?.type ?? '?'})`, { exceptionStatus: exception.status });
      }
      const decision = decideExceptionAction(exception, record, action, { actor, note, occurrence: 'check', now });
      if (decision.kind === 'refuse') {
        throw conflict(decision.code, decision.reason, { action: action.type, ...(record ? { orderStatus: record.status, paymentStatus: record.paymentStatus } : {}) });
      }
      const requested = { exceptionId: id, orderId: exception.orderId, action, ...(note ? { note } : {}), actor };
      await enqueueMessages(tx, orderMessages(ctx, 'api', exception.orderId ?? `exception:${id}`, [{ type: 'exception.action_requested', data: requested }]));
      await setResolution(tx, id, { state: 'requested', action, actor, requestedAt: now.toISOString(), ...(note ? { note } : {}) });
      await addExceptionNote(tx, { exceptionId: id, at: now, actor, kind: 'action_requested', text: note ? `${action.type}: ${note}` : action.type, data: { action } });
      await appendAudit(tx, { actor, action: 'exception.resolve', target: `exception:${id}`, detail: { action, ...(note ? { note } : {}), orderId: exception.orderId } });
    });
    return c.json({ exceptionId: id, action: action.type, status: 'accepted' }, 202);
  });

  return app;
}
