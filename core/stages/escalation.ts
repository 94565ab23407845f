import { sopFor } from '../config/business.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { markEscalated, overdueExceptions } from '../db/sql/exceptions.ts';
import { enqueueMessages, type OutboxMessage } from '../db/sql/outbox.ts';
import { cloudEvent } from '../messaging/cloudevent.ts';
import { names } from '../messaging/topology.ts';
import { escalation } from '../pipeline/escalation.ts';
import type { StageContext } from './context.ts';

/** How many overdue exceptions one run takes on; the next run takes the rest. */
const BATCH = 500;

/**
 * Job `exception-escalation`: an open exception whose own deadline has passed (by the job's
 * clock) is escalated, once: handed to the SOP's `escalateTo` when it names one (the previous
 * owner kept in its details), and announced as `exception.escalated`, in one transaction.
 */
export async function escalateOverdueExceptions(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const now = ctx.now();
  return withTransaction(db, async (tx) => {
    const overdue = await overdueExceptions(tx, now, BATCH);
    const messages: OutboxMessage[] = [];
    let reassigned = 0;
    for (const exception of overdue) {
      const decided = escalation(exception, sopFor(ctx.config, exception.type), now);
      if (!decided) continue;
      await markEscalated(tx, exception.id, now, decided.owner, decided.previousOwner);
      if (decided.previousOwner !== null) reassigned++;
      messages.push({
        exchange: names(ctx.namespace).events,
        routingKey: 'exception.escalated',
        event: cloudEvent({
          id: ctx.newId(), source: `/order-hub/${ctx.namespace}/exception-escalation`, type: 'exception.escalated',
          subject: String(exception.id), time: now,
          data: {
            exceptionId: exception.id, exceptionType: exception.type, orderId: exception.orderId, reason: exception.reason,
            owner: decided.owner, previousOwner: decided.previousOwner, deadline: exception.deadline.toISOString(), escalatedAt: now.toISOString(),
          },
        }),
      });
    }
    await enqueueMessages(tx, messages);
    return { overdue: overdue.length, escalated: messages.length, reassigned };
  });
}
