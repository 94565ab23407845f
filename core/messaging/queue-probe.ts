import type { Channel, ChannelModel } from 'amqplib';
import type { Broker } from './broker.ts';
import type { QueueDepth } from '../reports/flows.ts';

export interface QueueProbe {
  /**
   * Depth and consumer count of each queue (a passive declare, which neither creates nor
   * touches messages); null for a queue the broker could not report on.
   */
  depths(queues: readonly string[]): Promise<Map<string, QueueDepth | null>>;
}

/**
 * Asks the broker about queues over one channel of the hub's connection, opened on first
 * use and again after it is lost: a passive declare of a missing queue closes the channel,
 * so it is kept apart from the publisher's and the consumers'.
 */
export function createQueueProbe(broker: Broker): QueueProbe {
  let connection: ChannelModel | undefined;
  let channel: Promise<Channel> | undefined;
  broker.attach((model) => {
    connection = model;
    channel = undefined;
    return Promise.resolve();
  });

  function open(): Promise<Channel> {
    if (!connection) return Promise.reject(new Error('broker not connected'));
    if (!channel) {
      const opening = connection.createChannel();
      channel = opening;
      opening.then((ch) => {
        ch.on('error', () => {});
        ch.on('close', () => {
          if (channel === opening) channel = undefined;
        });
      }, () => {
        if (channel === opening) channel = undefined;
      });
    }
    return channel;
  }

  return {
    async depths(queues) {
      const result = new Map<string, QueueDepth | null>();
      for (const queue of queues) {
        const opening = open();
        try {
          const info = await (await opening).checkQueue(queue);
          result.set(queue, { messages: info.messageCount, consumers: info.consumerCount });
        } catch {
          // the broker closes the channel on a failed declare: the next queue gets a new one
          if (channel === opening) channel = undefined;
          result.set(queue, null);
        }
      }
      return result;
    },
  };
}
