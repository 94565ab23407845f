import amqp, { type ConfirmChannel } from 'amqplib';

export interface BrokerLimitOptions {
  amqpUrl: string;
  /** prefixes the bench's exchange and queues */
  namespace: string;
  /** quorum queues a message passes through, as many as the hub's path has */
  hops: number;
  messages: number;
  /** unacknowledged deliveries per consumer, as the hub's consumers use */
  prefetch: number;
  /** bytes per message; the hub's CloudEvents are about this size */
  messageBytes?: number;
}

export interface BrokerLimitResult { hops: number; messages: number; seconds: number; journeysPerSecond: number }

const publishConfirmed = (ch: ConfirmChannel, exchange: string, key: string, content: Buffer): Promise<void> =>
  new Promise((resolve, reject) => {
    ch.publish(exchange, key, content, { persistent: true, contentType: 'application/cloudevents+json' }, (error: unknown) => (error ? reject(error instanceof Error ? error : new Error('publish not confirmed')) : resolve()));
  });

/**
 * What the broker alone allows on this machine: messages through `hops` quorum queues in a
 * chain, each hop a consumer with manual acks that publishes to the next queue through a
 * topic exchange on its own confirm channel, and acks only once the broker confirmed that
 * publish — the hub's at-least-once handoff without the work (no Postgres, no decisions).
 */
export async function measureBrokerLimit(options: BrokerLimitOptions): Promise<BrokerLimitResult> {
  const exchange = `${options.namespace}.limit`;
  const queue = (hop: number) => `${options.namespace}.limit.hop${hop}`;
  // Nagle off, as the hub's broker connection has it (see core/messaging/broker.ts).
  const connection = await amqp.connect(options.amqpUrl, { noDelay: true });
  const setup = await connection.createChannel();
  try {
    await setup.assertExchange(exchange, 'topic', { durable: true });
    for (let hop = 1; hop <= options.hops; hop++) {
      await setup.assertQueue(queue(hop), { durable: true, arguments: { 'x-queue-type': 'quorum' } });
      await setup.bindQueue(queue(hop), exchange, `hop${hop}`);
    }
    const content = Buffer.alloc(options.messageBytes ?? 1_500, 'x');
    let arrived = 0;
    let started = 0;
    const done = new Promise<number>((resolve, reject) => {
      void (async () => {
        for (let hop = 1; hop <= options.hops; hop++) {
          const ch = await connection.createConfirmChannel();
          await ch.prefetch(options.prefetch);
          const last = hop === options.hops;
          await ch.consume(queue(hop), (message) => {
            if (!message) return;
            if (last) {
              ch.ack(message);
              if (++arrived === options.messages) resolve(performance.now());
              return;
            }
            publishConfirmed(ch, exchange, `hop${hop + 1}`, message.content).then(() => ch.ack(message), reject);
          });
        }
        const publisher = await connection.createConfirmChannel();
        started = performance.now();
        const window = 500;
        const pending = new Set<Promise<void>>();
        for (let i = 0; i < options.messages; i++) {
          const p = publishConfirmed(publisher, exchange, 'hop1', content);
          pending.add(p);
          void p.finally(() => pending.delete(p));
          if (pending.size >= window) await Promise.race(pending);
        }
        await Promise.all(pending);
      })().catch(reject);
    });
    const ended = await done;
    const seconds = (ended - started) / 1000;
    return { hops: options.hops, messages: options.messages, seconds, journeysPerSecond: options.messages / seconds };
  } finally {
    for (let hop = 1; hop <= options.hops; hop++) await setup.deleteQueue(queue(hop)).catch(() => {});
    await setup.deleteExchange(exchange).catch(() => {});
    await connection.close().catch(() => {});
  }
}

/**
 * The broker's limit measured `rounds` times, each told to `log`: the round with the median
 * rate (the lower middle one of an even count), and every round's rate. One figure from a
 * shared, noisy machine is not one to divide by.
 */
export async function brokerLimitRounds(options: BrokerLimitOptions, rounds: number, log: (line: string) => void): Promise<BrokerLimitResult & { rounds: number[] }> {
  const measured: BrokerLimitResult[] = [];
  for (let r = 0; r < rounds; r++) {
    const m = await measureBrokerLimit(options);
    log(`broker limit: ${m.messages} journeys through ${m.hops} quorum queues in ${m.seconds.toFixed(2)} s = ${Math.round(m.journeysPerSecond)} /s`);
    measured.push(m);
  }
  const sorted = [...measured].sort((a, b) => a.journeysPerSecond - b.journeysPerSecond);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, rounds: measured.map((m) => Math.round(m.journeysPerSecond * 10) / 10) };
}
