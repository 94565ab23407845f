import type { ExceptionAction } from '../../schemas/exception-action.ts';
import { addExceptionNote, getDeskException, lockDeskException, resolveWithAction, setResolution } from '../db/sql/exception-desk.ts';
import { lockOrder } from '../db/sql/orders.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, park } from '../messaging/decision.ts';
import { decideExceptionAction } from '../pipeline/exception-actions.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

/** The data of an `exception.action_requested` event, as the API writes it. */
export interface ActionRequested {
  exceptionId: number;
  orderId: string | null;
  action: ExceptionAction;
  note?: string;
  actor: string;
}

function isActionRequested(data: Record<string, unknown>): data is Record<string, unknown> & ActionRequested {
  const action = data.action as { type?: unknown } | null | undefined;
  return Number.isSafeInteger(data.exceptionId) && typeof data.actor === 'string' && typeof action === 'object' && action !== null && typeof action.type === 'string';
}

/**
 * Stage `exception-actions`: applies an operator's action on an exception
 * (`exception.action_requested`, written by `POST /api/exceptions/:id/resolve`). The action
 * is decided again against the order as it is now (it may have moved since the request), then
 * applied like a stage's own decision: the state change along the transitions table, the
 * timeline line with the operator and the exception id, and the event the next stage
 * consumes. The exception is resolved with the outcome; a refused action leaves it open with
 * the reason. An exception the pipeline resolved meanwhile is left as it is, the action not
 * applied (a note says so).
 */
export function exceptionActionsStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    if (!isActionRequested(event.data)) return park('exception.action_requested needs data.exceptionId, data.action.type and data.actor');
    const { exceptionId, action, note, actor } = event.data;
    const now = ctx.now();
    // The order first, then the exception: the order's stages lock in that order too
    // (they resolve exceptions while holding the order), so the two never wait on each other.
    const orderId = (await getDeskException(tx, exceptionId, now))?.orderId;
    const record = orderId ? await lockOrder(tx, orderId) : undefined;
    const exception = await lockDeskException(tx, exceptionId, now);
    if (!exception) return park(`exception ${exceptionId} does not exist`);
    if (exception.status !== 'open') {
      // The pipeline settled it meanwhile (stock arrived, the payment came): the action was
      // asked for a situation that is gone, so it is not applied; the note says so.
      await addExceptionNote(tx, { exceptionId: exception.id, at: now, actor: 'stage:exception-actions', kind: 'action_skipped', text: `${action.type} not applied: the exception was resolved before it could be` });
      return ack('exception already resolved');
    }
    const requested = { action, actor, requestedAt: event.time ?? now.toISOString(), messageId: event.id, ...(note ? { note } : {}) };

    const decision = decideExceptionAction(exception, record, action, { actor, note, occurrence: event.id, now });
    if (decision.kind === 'refuse') {
      const refused = { ...requested, state: 'refused', code: decision.code, reason: decision.reason, at: now.toISOString() };
      await setResolution(tx, exception.id, refused);
      await addExceptionNote(tx, { exceptionId: exception.id, at: now, actor: 'stage:exception-actions', kind: 'action_refused', text: `${action.type} refused: ${decision.reason}`, data: { code: decision.code } });
      if (record) {
        await applyOrderChange(tx, ctx, record, {
          timeline: { type: 'exception.action_refused', reason: `${action.type} asked by ${actor} on exception #${exception.id} refused: ${decision.reason}`, data: { exceptionId: exception.id, action: action.type, code: decision.code } },
          emit: [],
        }, { stage: 'exception-actions', messageId: event.id, actor });
      }
      return ack(`refused: ${decision.reason}`);
    }

    if (decision.change && record) await applyOrderChange(tx, ctx, record, decision.change, { stage: 'exception-actions', messageId: event.id, actor });
    await resolveWithAction(tx, exception.id, now, { ...requested, state: 'applied', outcome: decision.outcome, at: now.toISOString() });
    await addExceptionNote(tx, { exceptionId: exception.id, at: now, actor, kind: 'action_applied', text: `${action.type}: ${decision.outcome}` });
    return ack();
  };
}
