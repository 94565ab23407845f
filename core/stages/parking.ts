import { createHash } from 'node:crypto';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { HubConfig } from '../../schemas/config.ts';
import { withSop } from '../config/business.ts';
import { withTransaction, type Db } from '../db/pool.ts';
import { insertDeadLetter } from '../db/sql/dead-letters.ts';
import { openException } from '../db/sql/exceptions.ts';
import { keepChannel } from '../messaging/broker.ts';
import { names } from '../messaging/topology.ts';
import { replayCountHeader, replayOfHeader } from '../pipeline/dead-letter-replay.ts';

/** What the broker or the consume adapter wrote on a parked message about why it is there. */
export function describeParked(message: ConsumeMessage) {
  const headers = message.properties.headers ?? {};
  const deaths = Array.isArray(headers['x-death']) ? (headers['x-death'] as { queue?: string; reason?: string; count?: number }[]) : [];
  const death = deaths.find((d) => d.reason === 'delivery_limit' || d.reason === 'rejected');
  // Only a message the consume adapter parked itself carries a trustworthy x-hub-reason;
  // on anything else those headers are left over from an earlier retry, and the broker's
  // x-death entry tells the real story (a consumer that kept failing on it).
  const parkedByHub = headers['x-hub-parked'] === true && !death;
  const queue = parkedByHub && typeof headers['x-hub-queue'] === 'string' ? headers['x-hub-queue'] : death?.queue ?? message.fields.routingKey;
  const reason = parkedByHub && typeof headers['x-hub-reason'] === 'string'
    ? headers['x-hub-reason']
    : death ? `the broker dead-lettered it from ${death.queue ?? '?'} (${death.reason ?? '?'}): its consumer failed on it ${death.count ?? 'several'} times` : 'unknown';
  const attempts = parkedByHub ? Number(headers['x-hub-attempt'] ?? 1) : Number(death?.count ?? headers['x-hub-attempt'] ?? 1);
  const messageId = message.properties.messageId ? String(message.properties.messageId) : `sha256:${createHash('sha256').update(message.content).digest('hex')}`;
  let subject: string | undefined;
  try {
    const body = JSON.parse(message.content.toString('utf8')) as { subject?: unknown; data?: { orderId?: unknown } };
    const candidate = body.data?.orderId ?? body.subject;
    if (typeof candidate === 'string' && /^[0-9a-f-]{36}$/i.test(candidate)) subject = candidate;
  } catch {
    // a poison message may not be JSON at all
  }
  return {
    messageId,
    queue,
    reason,
    attempts,
    routingKey: message.fields.routingKey,
    orderId: subject,
    excerpt: message.content.subarray(0, 2048).toString('utf8'),
  };
}

/** A header value as JSON: AMQP tables carry byte strings and timestamps that JSON has no words for. */
function storable(value: unknown): unknown {
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(storable);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storable(v)]));
  return value;
}

/**
 * Stores a parked message as a dead letter and opens its `poison_message` exception, in one
 * transaction. Returns false when the message was stored before (the other copy the parking
 * exchange fans out, or a redelivery): nothing happens a second time. A message id already
 * replayed or discarded counts as stored too: the id is the message's identity on the wire,
 * and an operator has decided about that message.
 */
export async function recordParked(db: Db, message: ConsumeMessage, deps: { config: HubConfig; now: () => Date }): Promise<boolean> {
  const parked = describeParked(message);
  const headers = message.properties.headers ?? {};
  const eventType = parkedEventType(message.content);
  const replayOf: unknown = headers[replayOfHeader];
  const replayCount = Number(headers[replayCountHeader] ?? 0);
  return withTransaction(db, async (tx) => {
    const id = await insertDeadLetter(tx, {
      messageId: parked.messageId,
      queue: parked.queue,
      exchange: message.fields.exchange,
      routingKey: parked.routingKey,
      headers: storable(headers) as Record<string, unknown>,
      body: message.content,
      reason: parked.reason,
      attempts: Number.isSafeInteger(parked.attempts) ? parked.attempts : 1,
      refs: {
        ...(parked.orderId ? { orderId: parked.orderId } : {}),
        ...(eventType ? { eventType } : {}),
        ...(typeof replayOf === 'string' ? { replayOf } : {}),
      },
      parkedAt: deps.now(),
      replayCount: Number.isSafeInteger(replayCount) && replayCount > 0 ? replayCount : 0,
    });
    if (id === undefined) return false;
    await openException(tx, withSop(deps.config, deps.now(), {
      type: 'poison_message',
      reason: `message parked from ${parked.queue}: ${parked.reason}`,
      orderId: parked.orderId ?? null,
      messageId: parked.messageId,
      stage: parked.queue,
      details: { attempts: parked.attempts, routingKey: parked.routingKey, excerpt: parked.excerpt, deadLetterId: id },
    }));
    return true;
  });
}

/** The CloudEvent type of a parked body, if it has one. */
function parkedEventType(body: Buffer): string | undefined {
  try {
    const type = (JSON.parse(body.toString('utf8')) as { type?: unknown }).type;
    return typeof type === 'string' ? type.slice(0, 200) : undefined;
  } catch {
    return undefined;
  }
}

/** Consumes `queue` of parked messages: each is acked only once `recordParked` has committed. */
function consumeParked(queue: string, component: string, deps: { db: Db; config: HubConfig; logger: Logger; now: () => Date }) {
  const log = deps.logger.child({ component });
  return (connection: ChannelModel): Promise<void> => keepChannel(connection, () => connection.createChannel(), async (channel) => {
    await channel.prefetch(10);
    await channel.consume(queue, (message) => {
      if (!message) {
        void channel.close().catch(() => {});
        return;
      }
      recordParked(deps.db, message, deps).then(
        () => channel.ack(message),
        (error: unknown) => {
          log.warn({ err: (error as Error).message }, 'cannot record a parked message yet; will retry');
          setTimeout(() => { try { channel.nack(message, false, true); } catch { /* channel gone: redelivered */ } }, 1_000).unref();
        },
      );
    });
  }, { stopped: () => false, logger: log });
}

/**
 * Records every message that reaches the parking exchange — parked by the consume adapter
 * or dead-lettered by the broker after its delivery limit — as a dead letter with a
 * `poison_message` exception (`recordParked`), so nothing is set aside without a person
 * being told. Consumes `<ns>.parked.audit`, the copy made for it.
 */
export function createParkingRecorder(deps: { db: Db; namespace: string; config: HubConfig; logger: Logger; now: () => Date }) {
  return consumeParked(names(deps.namespace).parkingAudit, 'parking-recorder', deps);
}

/**
 * Drains `<ns>.parked`, the copy of every parked message the broker keeps. The
 * `dead_letters` table is the record operators inspect and replay from, so this copy is
 * redundant once stored: each message is recorded exactly as the recorder does (a no-op when
 * the audit copy got there first — one row per message id) and acked only after that commit.
 * A message never leaves the broker before it is in Postgres, and the queue no longer grows
 * without end. Messages parked before the table existed are stored on the first run, and
 * their exceptions open again: they are still parked and nobody has replayed or discarded them.
 */
export function createParkedQueueDrain(deps: { db: Db; namespace: string; config: HubConfig; logger: Logger; now: () => Date }) {
  return consumeParked(names(deps.namespace).parked, 'parked-queue-drain', deps);
}
