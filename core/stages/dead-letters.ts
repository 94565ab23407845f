import type { HubConfig } from '../../schemas/config.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { appendAudit } from '../db/sql/audit.ts';
import { lockDeadLetter, markDeadLetterDiscarded, markDeadLetterReplayed } from '../db/sql/dead-letters.ts';
import { resolveExceptionByMessageId } from '../db/sql/exceptions.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import { conflict, notFound } from '../errors.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { parseCloudEvent } from '../messaging/cloudevent.ts';
import { names, stageBindings, type Stage } from '../messaging/topology.ts';
import { originHeader, replayDecision } from '../pipeline/dead-letter-replay.ts';

export interface DeadLetterDeps {
  db: Db;
  namespace: string;
  config: HubConfig;
  now: () => Date;
  newId: () => string;
}

/**
 * The queues the hub's own consumers read, where a replayed message can go back to: the
 * stages, the warehouse events, and the queues of warehouses the hub pushes to by HTTP.
 */
export function replayableQueues(namespace: string, config: HubConfig): ReadonlySet<string> {
  const n = names(namespace);
  return new Set([
    ...(Object.keys(stageBindings) as Stage[]).map((stage) => n.stage(stage)),
    n.warehouseEvents,
    ...config.warehouses.filter((w) => w.integration === 'http' && w.endpoint).map((w) => n.warehouse(w.code)),
  ]);
}

const deadLetterNotFound = (id: number) => notFound('dead_letter_not_found', `no dead letter ${id}`);

/**
 * Replays a parked dead letter: the same CloudEvent with a new id goes through the outbox to
 * the queue it was parked from (default exchange, routing key = the queue's name, as the
 * wait queues send retries), with `x-hub-replay-of`. In the same transaction the row is
 * marked replayed, its `poison_message` exception resolved, and the replay audited. If the
 * replay fails again it is parked again as a new dead letter that names this one.
 * 404 for no such dead letter, 409 when it was replayed or discarded already or cannot be
 * replayed at all.
 */
export async function replayDeadLetter(deps: DeadLetterDeps, id: number, actor: string): Promise<{ id: number; messageId: string; replayedAs: string; queue: string }> {
  return withTransaction(deps.db, async (tx) => {
    const letter = await lockDeadLetter(tx, id);
    if (!letter) throw deadLetterNotFound(id);
    const parsed = parseCloudEvent(letter.body);
    const body = 'problem' in parsed ? parsed : { event: parsed as unknown as { id: string; [field: string]: unknown } };
    const origin = letter.headers[originHeader];
    const decision = replayDecision({ ...letter, origin: typeof origin === 'string' ? origin : undefined }, body, replayableQueues(deps.namespace, deps.config), deps.newId());
    if (decision.kind === 'refuse') throw conflict(decision.code, decision.message, { deadLetterStatus: letter.status });
    const at = deps.now();
    await enqueueMessages(tx, [{ exchange: '', routingKey: decision.queue, event: decision.event as unknown as CloudEvent<unknown>, headers: decision.headers }]);
    await markDeadLetterReplayed(tx, id, at, actor, decision.event.id);
    await resolveExceptionByMessageId(tx, 'poison_message', letter.messageId, `replayed by ${actor} as ${decision.event.id}`);
    await appendAudit(tx, {
      actor, action: 'dead_letter.replay', target: `dead_letter:${id}`,
      detail: { messageId: letter.messageId, queue: decision.queue, replayedAs: decision.event.id },
    });
    return { id, messageId: letter.messageId, replayedAs: decision.event.id, queue: decision.queue };
  });
}

/**
 * Discards a parked dead letter with the operator's reason: the row is marked, its
 * `poison_message` exception resolved with the reason, the discard audited. 404 / 409 as
 * for a replay.
 */
export async function discardDeadLetter(deps: DeadLetterDeps, id: number, actor: string, reason: string): Promise<{ id: number; messageId: string }> {
  return withTransaction(deps.db, async (tx) => {
    const letter = await lockDeadLetter(tx, id);
    if (!letter) throw deadLetterNotFound(id);
    if (letter.status !== 'parked') {
      throw conflict('dead_letter_resolved', `dead letter ${letter.messageId} was ${letter.status} already`, { deadLetterStatus: letter.status });
    }
    await markDeadLetterDiscarded(tx, id, deps.now(), actor, reason);
    await resolveExceptionByMessageId(tx, 'poison_message', letter.messageId, `discarded by ${actor}: ${reason}`);
    await appendAudit(tx, { actor, action: 'dead_letter.discard', target: `dead_letter:${id}`, detail: { messageId: letter.messageId, reason } });
    return { id, messageId: letter.messageId };
  });
}
