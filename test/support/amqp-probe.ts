import amqp, { type ChannelModel, type ConfirmChannel, type GetMessage, type MessageProperties } from 'amqplib';

/** One message a probe consumed from a queue, as the broker delivered it. */
export interface ReceivedMessage {
  queue: string;
  routingKey: string;
  exchange: string;
  redelivered: boolean;
  properties: MessageProperties;
  content: Buffer;
  /** the body parsed as JSON, or undefined when it is not JSON */
  body: unknown;
}

/**
 * A test's own connection to the broker (not through any proxy), for what the product
 * does not do itself: consuming a sink queue, publishing raw bytes straight to a queue,
 * reading the parked queue, counting messages.
 */
export interface AmqpProbe {
  /** Consumes `queue` for the rest of the test (acking everything); received messages accumulate in the array. */
  collect(queue: string): Promise<ReceivedMessage[]>;
  /** Publishes `body` to `queue` through the default exchange and waits for the broker's confirm. */
  publishToQueue(queue: string, body: Buffer | object, options?: amqp.Options.Publish): Promise<void>;
  /** Takes every message currently ready in `queue` (basic.get until empty), acking them. */
  drainQueue(queue: string): Promise<GetMessage[]>;
  /**
   * Consumes `queue` like a consumer that crashes on every message: each delivery is
   * nacked and requeued, so the broker's delivery limit is what ends it.
   */
  crashOn(queue: string): Promise<{ deliveries(): number; stop(): Promise<void> }>;
  /** Ready messages in `queue`. */
  messageCount(queue: string): Promise<number>;
  close(): Promise<void>;
}

export const directAmqpUrl = process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';

function parseJson(content: Buffer): unknown {
  try {
    return JSON.parse(content.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

export async function openAmqpProbe(url = directAmqpUrl): Promise<AmqpProbe> {
  const connection: ChannelModel = await amqp.connect(url);
  const channel: ConfirmChannel = await connection.createConfirmChannel();
  return {
    async collect(queue) {
      const received: ReceivedMessage[] = [];
      await channel.consume(queue, (message) => {
        if (!message) return;
        received.push({
          queue,
          routingKey: message.fields.routingKey,
          exchange: message.fields.exchange,
          redelivered: message.fields.redelivered,
          properties: message.properties,
          content: message.content,
          body: parseJson(message.content),
        });
        channel.ack(message);
      });
      return received;
    },
    async publishToQueue(queue, body, options = {}) {
      const content = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body));
      channel.publish('', queue, content, { persistent: true, ...options });
      await channel.waitForConfirms();
    },
    async drainQueue(queue) {
      const taken: GetMessage[] = [];
      for (;;) {
        const message = await channel.get(queue, { noAck: false });
        if (message === false) return taken;
        taken.push(message);
        channel.ack(message);
      }
    },
    async crashOn(queue) {
      const crashing = await connection.createChannel();
      let deliveries = 0;
      await crashing.consume(queue, (message) => {
        if (!message) return;
        deliveries += 1;
        crashing.nack(message, false, true);
      });
      return {
        deliveries: () => deliveries,
        async stop() {
          await crashing.close().catch(() => {});
        },
      };
    },
    async messageCount(queue) {
      return (await channel.checkQueue(queue)).messageCount;
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}
