import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import type { Logger } from 'pino';
import type { Topology } from './topology.ts';

/** Work to (re)do on every connection: assert topology, open channels, start consumers. */
export type Attachment = (connection: ChannelModel) => Promise<void>;

export interface Broker {
  /** Registers an attachment; call before `start`. */
  attach(attachment: Attachment): void;
  /** Connects (waiting, with back-off, as long as the broker is unreachable) and runs the attachments. */
  start(): Promise<void>;
  /** A confirm channel for publishing on the current connection, reopened after a loss. */
  publisher(): Promise<ConfirmChannel>;
  /** True while a connection is up. */
  connected(): boolean;
  close(): Promise<void>;
}

/**
 * One AMQP connection with automatic recovery (amqplib's own back-off with jitter). After
 * every reconnect the attachments run again, so topology and consumers come back without
 * the process restarting.
 */
export function createBroker(options: { url: string; name: string; logger: Logger; maxReconnectDelayMs?: number }): Broker {
  const attachments: Attachment[] = [];
  let connection: Awaited<ReturnType<typeof connectRecovering>> | undefined;
  let publisher: Promise<ConfirmChannel> | undefined;
  let isConnected = false;
  const log = options.logger.child({ component: 'broker' });

  function connectRecovering() {
    return amqp.connect(options.url, {
      clientProperties: { connection_name: options.name },
      // amqplib leaves Nagle's algorithm on: a small ack or publish then waits for the
      // broker's delayed ACK, about 40 ms per hop of the pipeline.
      noDelay: true,
      recovery: {
        initialDelay: 200,
        maxDelay: options.maxReconnectDelayMs ?? 15_000,
        setup: async (model: ChannelModel) => {
          // amqplib listens for the new connection's errors only once setup has finished: a
          // connection lost during setup (the broker stopping again, a cut) would otherwise
          // be an unhandled 'error' that ends the process. Setup then fails and recovery retries.
          model.on('error', (error: Error) => log.warn({ err: error.message }, 'RabbitMQ connection lost while setting up'));
          // every consumer's channel watches its connection close: more than Node's default 10
          model.setMaxListeners(attachments.length + 20);
          for (const attachment of attachments) await attachment(model);
        },
      },
    });
  }

  return {
    attach(attachment) {
      attachments.push(attachment);
    },
    async start() {
      connection = await connectRecovering();
      isConnected = true;
      connection.on('connect', () => {
        isConnected = true;
        log.info('reconnected to RabbitMQ');
      });
      connection.on('disconnect', (error: Error) => {
        isConnected = false;
        publisher = undefined;
        log.warn({ err: error.message }, 'lost the RabbitMQ connection; reconnecting');
      });
      connection.on('reconnect-scheduled', (info: { attempt: number; delay: number }) =>
        log.info(info, 'RabbitMQ reconnect scheduled'));
      connection.on('error', (error: Error) => log.warn({ err: error.message }, 'RabbitMQ connection error'));
    },
    publisher() {
      if (!connection) return Promise.reject(new Error('broker not started'));
      if (!publisher) {
        const opening = connection.createConfirmChannel();
        publisher = opening;
        opening.then(
          (channel) => {
            channel.on('error', () => {});
            channel.on('close', () => {
              if (publisher === opening) publisher = undefined;
            });
          },
          () => {
            if (publisher === opening) publisher = undefined;
          },
        );
      }
      return publisher;
    },
    connected: () => isConnected,
    async close() {
      isConnected = false;
      await connection?.close();
    },
  };
}

/** Declares every exchange, queue and binding of `topology` (idempotent). */
export async function assertTopology(connection: ChannelModel, topology: Topology): Promise<void> {
  const channel = await connection.createChannel();
  try {
    for (const e of topology.exchanges) await channel.assertExchange(e.name, e.type, { durable: true });
    for (const q of topology.queues) {
      await channel.assertQueue(q.name, { durable: true, arguments: q.arguments });
      for (const b of q.bindings) await channel.bindQueue(q.name, b.exchange, b.routingKey);
    }
  } finally {
    await channel.close().catch(() => {});
  }
}

/** Deletes every queue and exchange of `topology` (tests and the demo reset). */
export async function deleteTopology(url: string, topology: Topology): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createChannel();
    for (const q of topology.queues) await channel.deleteQueue(q.name);
    for (const e of topology.exchanges) await channel.deleteExchange(e.name);
    await channel.close();
  } finally {
    await connection.close();
  }
}

/**
 * Opens a channel, runs `onOpen` on it, and keeps it open for the life of the connection:
 * when the broker closes just this channel (a consumer timeout, a cancelled consumer), it
 * is reopened after a pause. When the whole connection goes, the broker's recovery runs
 * the attachment again on the new connection, so this one stops trying.
 */
export async function keepChannel<C extends Channel>(
  connection: ChannelModel,
  open: () => Promise<C>,
  onOpen: (channel: C) => Promise<void>,
  options: { stopped: () => boolean; logger: Logger; retryMs?: number },
): Promise<void> {
  let connectionClosed = false;
  connection.once('close', () => {
    connectionClosed = true;
  });
  const reopenLater = () => {
    setTimeout(() => {
      if (options.stopped() || connectionClosed) return;
      openOnce().catch((error: unknown) => {
        options.logger.warn({ err: (error as Error).message }, 'cannot reopen channel yet');
        reopenLater();
      });
    }, options.retryMs ?? 1_000).unref();
  };
  const openOnce = async () => {
    const channel = await open();
    channel.on('error', () => {});
    channel.once('close', () => {
      // Let a connection close be seen first: then recovery, not this, takes over.
      setImmediate(() => {
        if (options.stopped() || connectionClosed) return;
        options.logger.warn('channel closed by the broker; reopening it');
        reopenLater();
      });
    });
    await onOpen(channel);
  };
  await openOnce();
}
