import { createHash } from 'node:crypto';
import type { ChannelModel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import type { HubConfig } from '../../schemas/config.ts';
import { sopFor } from '../config/business.ts';
import type { Db } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { keepChannel } from '../messaging/broker.ts';
import { names } from '../messaging/topology.ts';

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

/**
 * Records every message that reaches the parking exchange — parked by the consume adapter
 * or dead-lettered by the broker after its delivery limit — as a `poison_message`
 * exception, so nothing is set aside without a person being told. The message itself stays
 * in the parked queue for inspection and replay.
 */
export function createParkingRecorder(deps: { db: Db; namespace: string; config: HubConfig; logger: Logger; now: () => Date }) {
  const log = deps.logger.child({ component: 'parking-recorder' });
  return (connection: ChannelModel): Promise<void> => keepChannel(connection, () => connection.createChannel(), async (channel) => {
    await channel.prefetch(10);
    await channel.consume(names(deps.namespace).parkingAudit, (message) => {
      if (!message) {
        void channel.close().catch(() => {});
        return;
      }
      const parked = describeParked(message);
      const sop = sopFor(deps.config, 'poison_message');
      openException(deps.db, {
        type: 'poison_message',
        owner: sop.owner,
        deadline: new Date(deps.now().getTime() + sop.deadlineMinutes * 60_000),
        reason: `message parked from ${parked.queue}: ${parked.reason}`,
        orderId: parked.orderId ?? null,
        messageId: parked.messageId,
        stage: parked.queue,
        details: { attempts: parked.attempts, routingKey: parked.routingKey, excerpt: parked.excerpt },
      }).then(
        () => channel.ack(message),
        (error: unknown) => {
          log.warn({ err: (error as Error).message }, 'cannot record a parked message yet; will retry');
          setTimeout(() => { try { channel.nack(message, false, true); } catch { /* channel gone: redelivered */ } }, 1_000).unref();
        },
      );
    });
  }, { stopped: () => false, logger: log });
}
