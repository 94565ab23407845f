import type { Logger } from 'pino';
import type pg from 'pg';
import { withTransaction, type Db } from '../db/pool.ts';
import { takePendingMessages } from '../db/sql/outbox.ts';
import type { Broker } from './broker.ts';

export interface Relay {
  start(): Promise<void>;
  /** Publishes until the outbox is empty (or fails); resolves with how many were sent. */
  drain(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The outbox relay. Woken by LISTEN/NOTIFY when a transaction commits messages, and by a
 * slow poll in case a notification was missed (listener reconnecting). Each batch is
 * published with publisher confirms and marked published in the same transaction that
 * locked it: a crash before the commit means the batch is sent again with the same ids,
 * which consumers de-duplicate. Never loses a message; may send one twice.
 */
export function createRelay(deps: {
  db: Db;
  broker: Broker;
  namespace: string;
  databaseUrl: string;
  logger: Logger;
  batchSize?: number;
  pollMs?: number;
  onPublished?: (count: number) => void;
  /** told each batch the broker confirmed, by exchange and routing key (flow counters) */
  onConfirmed?: (messages: readonly { exchange: string; routingKey: string }[]) => void;
}): Relay {
  const batchSize = deps.batchSize ?? 200;
  const log = deps.logger.child({ component: 'relay' });
  let listener: pg.Client | undefined;
  let timer: NodeJS.Timeout | undefined;
  let running = false;
  let wakeAgain = false;
  let current: Promise<number> = Promise.resolve(0);
  let stopped = false;
  let failures = 0;

  async function publishBatch(): Promise<number> {
    return withTransaction(deps.db, async (tx) => {
      const batch = await takePendingMessages(tx, batchSize);
      if (batch.length === 0) return 0;
      const channel = await deps.broker.publisher();
      for (const m of batch) {
        channel.publish(m.exchange, m.routingKey, Buffer.from(JSON.stringify(m.body)), {
          persistent: true,
          messageId: m.messageId,
          type: m.body.type,
          contentType: 'application/cloudevents+json',
          timestamp: Math.floor(Date.now() / 1000),
          headers: m.headers,
        });
      }
      await channel.waitForConfirms();
      deps.onConfirmed?.(batch);
      return batch.length;
    });
  }

  async function drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const sent = await publishBatch();
      total += sent;
      if (sent > 0) deps.onPublished?.(sent);
      if (sent < batchSize) return total;
    }
  }

  /** Runs one drain at a time; a wake-up during a drain schedules one more pass. */
  function wake(): void {
    if (stopped) return;
    if (running) {
      wakeAgain = true;
      return;
    }
    running = true;
    current = drain()
      .then((n) => {
        failures = 0;
        return n;
      })
      .catch((error: unknown) => {
        failures += 1;
        // Broker or database away: the rows stay unpublished; back off and try again.
        log.warn({ err: (error as Error).message, failures }, 'outbox relay pass failed');
        setTimeout(wake, Math.min(200 * 2 ** failures, 5_000)).unref();
        return 0;
      })
      .finally(() => {
        running = false;
        if (wakeAgain) {
          wakeAgain = false;
          wake();
        }
      });
  }

  async function listen(): Promise<void> {
    const { default: pgModule } = await import('pg');
    const client = new pgModule.Client({ connectionString: deps.databaseUrl, application_name: `${deps.namespace}-relay` });
    client.on('error', (error) => {
      log.warn({ err: error.message }, 'outbox listener lost; reconnecting');
      listener = undefined;
      if (!stopped) setTimeout(() => void listen().catch(() => {}), 1_000).unref();
    });
    try {
      await client.connect();
      client.on('notification', wake);
      await client.query(`LISTEN ${deps.namespace}_outbox`);
      listener = client;
      wake();
    } catch (error) {
      await client.end().catch(() => {});
      if (!stopped) setTimeout(() => void listen().catch(() => {}), 1_000).unref();
      log.warn({ err: (error as Error).message }, 'cannot LISTEN for the outbox; retrying');
    }
  }

  return {
    async start() {
      await listen();
      timer = setInterval(wake, deps.pollMs ?? 1_000);
      timer.unref();
      wake();
    },
    drain,
    async stop() {
      stopped = true;
      if (timer) clearInterval(timer);
      await current.catch(() => 0);
      await listener?.end().catch(() => {});
    },
  };
}
