import type { ChannelModel, ConfirmChannel, ConsumeMessage } from 'amqplib';
import type { Logger } from 'pino';
import { HubError } from '../errors.ts';
import { withTransaction, type Db, type Tx } from '../db/pool.ts';
import { processedBefore, recordProcessed, recordProcessedMany } from '../db/sql/inbox.ts';
import { parseCloudEvent, type CloudEvent } from './cloudevent.ts';
import type { Decision } from './decision.ts';
import { keepChannel } from './broker.ts';
import { names, retryDelayFor } from './topology.ts';
import { originHeader } from '../pipeline/dead-letter-replay.ts';

export interface Delivery {
  event: CloudEvent;
  /** 1 on the first delivery, counting the hub's own delayed retries */
  attempt: number;
  queue: string;
  routingKey: string;
  /**
   * The id of the message a replayed one was first parked as (through every replay of it);
   * the event's own id otherwise. A replay is the same request with a new id: a stage whose
   * effects outlive a parked attempt — a refund asked, a push a WMS took — keys them by this.
   */
  origin: string;
}

/**
 * A message handler: runs inside the transaction that also records the message in the
 * inbox, so its database effects and the de-duplication commit together.
 */
export type Handler = (delivery: Delivery, tx: Tx) => Promise<Decision>;

/**
 * A stage that calls another system (a mail server, a WMS): its handler gets the pool, not
 * a transaction, and keeps its own transactions short and apart from the call. A call can
 * take seconds when the other side is slow; a transaction around it would hold one of the
 * pool's few connections that long, and enough of them would stop every stage and the
 * webhooks. The inbox is checked before and written after an ack, so the handler's effects
 * must be safe to repeat on their own: an idempotency key sent with the call, a claim
 * committed before it.
 */
export interface CallingStage {
  calls: (delivery: Delivery, db: Db) => Promise<Decision>;
}

export interface ConsumerOptions {
  db: Db;
  namespace: string;
  /** the queue to consume; also the inbox consumer name */
  queue: string;
  handler: Handler | CallingStage;
  retryDelaysMs: readonly number[];
  maxAttempts: number;
  prefetch?: number;
  /**
   * Up to this many deliveries that wait at the same moment share one transaction (default
   * 1: each its own). Only for handlers whose every effect is in the database: a batch
   * that does not end in acks for all is rolled back and its deliveries handled one by one.
   */
  batchSize?: number;
  /** Batches in progress at once (default: prefetch ÷ batchSize, at least 1). */
  concurrentBatches?: number;
  /**
   * Runs first in a batch's transaction, with the batch's new deliveries: takes the rows
   * their handlers will lock, all of them in one fixed order, so that two batches whose
   * handlers would lock the same rows in different orders queue instead of deadlocking.
   */
  lockAhead?: (tx: Tx, deliveries: readonly Delivery[]) => Promise<void>;
  logger: Logger;
  /** told how each delivery ended, with its CloudEvent (absent when it was not one) */
  onOutcome?: (queue: string, outcome: 'ack' | 'duplicate' | 'retry' | 'park', event?: CloudEvent) => void;
}

export interface Consumer {
  /** Attachment for the broker: opens a channel and consumes on every (re)connection. */
  attach(connection: ChannelModel): Promise<void>;
  /** Stops taking new messages and waits for those in flight. */
  stop(): Promise<void>;
}

const attemptHeader = 'x-hub-attempt';

/**
 * The one consume adapter. For each message: parse the CloudEvent (unparseable → park),
 * skip it if the inbox says it was processed, run the handler in a transaction, then
 * ack, or republish to a wait queue for a delayed retry, or park it. A thrown error is a
 * retry unless it is a non-retryable HubError; after `maxAttempts` a retry becomes a park.
 * The original is acked only after its retry or parked copy is confirmed by the broker.
 */
export function createConsumer(options: ConsumerOptions): Consumer {
  const n = names(options.namespace);
  const log = options.logger.child({ component: 'consumer', queue: options.queue });
  const inFlight = new Set<Promise<void>>();
  let channel: ConfirmChannel | undefined;
  let consumerTag: string | undefined;
  let stopping = false;
  const prefetch = options.prefetch ?? 20;
  const { handler } = options;
  const batchSize = typeof handler === 'function' ? Math.max(1, options.batchSize ?? 1) : 1;
  const concurrentBatches = Math.max(1, options.concurrentBatches ?? Math.floor(prefetch / batchSize));
  const waiting: Arrival[] = [];
  let batchesRunning = 0;

  function track(work: Promise<void>): void {
    const settled = work.catch((error: unknown) => {
      // The channel died under us: the broker redelivers the message, the inbox keeps
      // the redelivery from having a second effect.
      log.warn({ err: (error as Error).message }, 'could not settle message; it will be redelivered');
    });
    inFlight.add(settled);
    void settled.finally(() => inFlight.delete(settled));
  }

  function arrive(ch: ConfirmChannel, message: ConsumeMessage): void {
    if (batchSize === 1) return track(handle(ch, message));
    waiting.push({ ch, message });
    // Deliveries read from the socket together arrive in the same tick: start batching
    // after it, so they share a batch instead of the first going alone.
    if (waiting.length === 1) setImmediate(startBatches);
  }

  // A batch takes whatever waits when a slot frees: alone at a low rate (no added
  // latency), up to batchSize under load, when one commit then carries many deliveries.
  function startBatches(): void {
    while (batchesRunning < concurrentBatches && waiting.length > 0) {
      const batch = waiting.splice(0, batchSize);
      batchesRunning++;
      track(handleBatch(batch).finally(() => {
        batchesRunning--;
        startBatches();
      }));
    }
  }

  async function decide(message: ConsumeMessage, attempt: number, seen: { event?: CloudEvent }): Promise<Decision | 'duplicate'> {
    const parsed = parseCloudEvent(message.content);
    if ('problem' in parsed) return { kind: 'park', reason: `not a CloudEvent: ${parsed.problem}` };
    seen.event = parsed;
    const delivery: Delivery = { event: parsed, attempt, queue: options.queue, routingKey: message.fields.routingKey, origin: originOf(message, parsed) };
    try {
      if (typeof handler !== 'function') {
        if (await processedBefore(options.db, options.queue, parsed.id)) return 'duplicate';
        const decision = await handler.calls(delivery, options.db);
        if (decision.kind === 'ack') await recordProcessed(options.db, options.queue, parsed.id);
        return decision;
      }
      return await withTransaction(options.db, async (tx) => {
        if (!(await recordProcessed(tx, options.queue, parsed.id))) return 'duplicate' as const;
        const decision = await handler(delivery, tx);
        // Only an ack commits: a retried or parked message must leave no trace in the inbox.
        if (decision.kind !== 'ack') throw new DecisionRollback(decision);
        return decision;
      });
    } catch (error) {
      if (error instanceof DecisionRollback) return error.decision;
      if (error instanceof HubError && !error.retryable) return { kind: 'park', reason: `${error.code}: ${error.message}` };
      return { kind: 'retry', reason: (error as Error).message ?? String(error) };
    }
  }

  /**
   * Several deliveries in one transaction: one inbox statement for all, the handler for
   * each in arrival order, one commit. Anything but an ack — a retry, a park, a thrown
   * error, a deadlock with another batch — rolls the whole batch back, and each delivery
   * is then handled alone, exactly as without batching, so the outcome of every delivery
   * is the one it would have had on its own.
   */
  async function handleBatch(batch: readonly Arrival[]): Promise<void> {
    const events = batch.map((a) => parseCloudEvent(a.message.content));
    if (batch.length === 1 || typeof handler !== 'function' || events.some((e) => 'problem' in e)) {
      for (const a of batch) await handle(a.ch, a.message);
      return;
    }
    const deliveries = batch.map((a, i): Delivery => ({
      event: events[i] as CloudEvent, attempt: attemptOf(a.message), queue: options.queue, routingKey: a.message.fields.routingKey, origin: originOf(a.message, events[i] as CloudEvent),
    }));
    let outcomes: ('ack' | 'duplicate')[];
    try {
      outcomes = await withTransaction(options.db, async (tx) => {
        const fresh = await recordProcessedMany(tx, options.queue, deliveries.map((d) => d.event.id));
        await options.lockAhead?.(tx, deliveries.filter((d) => fresh.has(d.event.id)));
        return sequentially(deliveries, async (delivery) => {
          // an id twice in the batch: the second is a redelivery of the first
          if (!fresh.delete(delivery.event.id)) return 'duplicate' as const;
          const decision = await handler(delivery, tx);
          if (decision.kind !== 'ack') throw new DecisionRollback(decision);
          return 'ack' as const;
        });
      });
    } catch (error) {
      log.debug({ size: batch.length, reason: error instanceof DecisionRollback ? error.decision.kind : (error as Error).message }, 'batch rolled back; handling its deliveries one by one');
      for (const a of batch) await handle(a.ch, a.message);
      return;
    }
    batch.forEach((a, i) => settled(a.ch, a.message, outcomes[i] as 'ack' | 'duplicate', deliveries[i]?.event));
  }

  async function handle(ch: ConfirmChannel, message: ConsumeMessage): Promise<void> {
    const attempt = attemptOf(message);
    const seen: { event?: CloudEvent } = {};
    let decision = await decide(message, attempt, seen);
    if (decision !== 'duplicate' && decision.kind === 'retry' && attempt >= options.maxAttempts) {
      decision = { kind: 'park', reason: `gave up after ${attempt} attempts: ${decision.reason}` };
    }
    const outcome = decision === 'duplicate' ? 'duplicate' : decision.kind;
    if (decision !== 'duplicate' && decision.kind !== 'ack') {
      const headers: Record<string, unknown> = { ...message.properties.headers, 'x-hub-reason': decision.reason.slice(0, 2000), 'x-hub-queue': options.queue };
      const properties = { ...message.properties, headers, persistent: true };
      if (decision.kind === 'retry') {
        const delay = decision.delayMs ?? retryDelayFor(options.retryDelaysMs, attempt);
        const waitDelay = nearestWait(options.retryDelaysMs, delay);
        headers[attemptHeader] = attempt + 1;
        // Routing key = the queue's own name: the wait queue dead-letters through the
        // default exchange, which delivers straight back to this queue.
        ch.publish(n.wait(waitDelay), options.queue, message.content, properties);
        log.info({ id: message.properties.messageId, attempt, delay: waitDelay, reason: decision.reason }, 'retry scheduled');
      } else {
        headers[attemptHeader] = attempt;
        headers['x-hub-parked'] = true;
        ch.publish(n.parking, options.queue, message.content, properties);
        log.warn({ id: message.properties.messageId, attempt, reason: decision.reason }, 'message parked');
      }
      await ch.waitForConfirms();
    }
    settled(ch, message, outcome, seen.event);
  }

  function settled(ch: ConfirmChannel, message: ConsumeMessage, outcome: 'ack' | 'duplicate' | 'retry' | 'park', event: CloudEvent | undefined): void {
    ch.ack(message);
    // What the message was about (its subject: the order id for order messages), never its data.
    log.debug({ id: message.properties.messageId, type: event?.type, subject: event?.subject, outcome }, 'message handled');
    options.onOutcome?.(options.queue, outcome, event);
  }

  return {
    async attach(connection) {
      if (stopping) return;
      await keepChannel(connection, () => connection.createConfirmChannel(), async (ch) => {
        await ch.prefetch(prefetch);
        channel = ch;
        const reply = await ch.consume(options.queue, (message) => {
          if (!message) {
            // The broker cancelled the consumer (queue deleted or failed over): reopen.
            void ch.close().catch(() => {});
            return;
          }
          arrive(ch, message);
        });
        consumerTag = reply.consumerTag;
      }, { stopped: () => stopping, logger: log });
    },
    async stop() {
      stopping = true;
      if (channel && consumerTag) await channel.cancel(consumerTag).catch(() => {});
      // deliveries still waiting for a batch are handled too, then whatever is in flight
      while (inFlight.size > 0 || waiting.length > 0) {
        startBatches();
        await Promise.allSettled([...inFlight]);
      }
      await channel?.close().catch(() => {});
    },
  };
}

interface Arrival {
  ch: ConfirmChannel;
  message: ConsumeMessage;
}

const originOf = (message: ConsumeMessage, event: CloudEvent): string => {
  const origin: unknown = message.properties.headers?.[originHeader];
  return typeof origin === 'string' && origin !== '' ? origin : event.id;
};
const attemptOf = (message: ConsumeMessage) => Number(message.properties.headers?.[attemptHeader] ?? 1) || 1;

async function sequentially<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (const item of items) results.push(await work(item));
  return results;
}

class DecisionRollback extends Error {
  constructor(readonly decision: Decision) {
    super('decision rollback');
  }
}

/** Wait queues exist only for the configured delays: use the smallest one ≥ the wanted delay. */
function nearestWait(delays: readonly number[], wanted: number): number {
  const sorted = [...delays].sort((a, b) => a - b);
  return sorted.find((d) => d >= wanted) ?? sorted[sorted.length - 1] ?? wanted;
}
