import { withTransaction, type Db } from '../db/pool.ts';
import { resolveExceptions } from '../db/sql/exceptions.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { openSlaBreaches, overdueStays, slaBreachRecorded, statusSince } from '../db/sql/sla.ts';
import { breachIsOver, describeBreach, slaBreach, stayKey, type SlaLimits } from '../pipeline/sla.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';

const BATCH = 500;
const MINUTE = 60_000;

/**
 * Job `sla-watchdog`: an order that has stayed in a status longer than `sla.byStatus` allows
 * gets one `sla_breach` exception per stay (owner and deadline from the SOP, so it escalates
 * like any other) and `sla.breached` on its timeline. A breach whose order has since left that
 * status is resolved. Each order in its own transaction, under its row lock.
 */
export async function watchSlas(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const limits: SlaLimits = ctx.config.sla?.byStatus ?? {};
  const now = ctx.now();

  // Breaches that are over first: an order that moved on and came back has a new stay.
  const over = (await openSlaBreaches(db, BATCH)).filter((b) =>
    breachIsOver({ status: b.breachedStatus, since: b.breachedSince }, { status: b.status, since: b.since }));
  const resolved = await resolveExceptions(db, over.map((b) => b.id), 'the order left the status it was late in');

  const stays = await overdueStays(db, Object.entries(limits)
    .filter((entry): entry is [string, number] => entry[1] !== undefined)
    .map(([status, minutes]) => ({ status, enteredBefore: new Date(now.getTime() - minutes * MINUTE) })), BATCH);
  let breached = 0;
  for (const candidate of stays) {
    await withTransaction(db, async (tx) => {
      const record = await lockOrder(tx, candidate.orderId);
      const since = await statusSince(tx, candidate.orderId);
      if (!record || !since || record.status !== candidate.status) return;
      const stay = { status: record.status, since };
      const breach = slaBreach(stay, limits, now);
      if (!breach) return;
      const key = stayKey(record.id, stay);
      if (await slaBreachRecorded(tx, key)) return;
      const reason = describeBreach(record.orderNumber, stay, breach);
      const details = { status: stay.status, since: since.toISOString(), limitMinutes: breach.limitMinutes, dueAt: breach.dueAt.toISOString() };
      await applyOrderChange(tx, ctx, record, {
        timeline: { type: 'sla.breached', reason, data: details },
        emit: [],
        exception: { type: 'sla_breach', reason, details },
      }, { stage: 'sla-watchdog', messageId: key, actor: 'job:sla-watchdog' });
      breached++;
    });
  }
  return { overdue: stays.length, breached, resolved };
}
