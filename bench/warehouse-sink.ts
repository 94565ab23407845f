import amqp from 'amqplib';
import type { Arrival } from './exactly-once.ts';

/**
 * The warehouse systems' side: consumes each warehouse queue and notes, per order, when
 * its `fulfillment.requested` arrived (this process's clock, as the sender's).
 */
export async function startWarehouseSink(amqpUrl: string, queues: readonly string[]) {
  const connection = await amqp.connect(amqpUrl, { noDelay: true });
  const arrivals: Arrival[] = [];
  const waiters = new Set<() => void>();
  for (const queue of queues) {
    const ch = await connection.createChannel();
    await ch.prefetch(200);
    await ch.consume(queue, (message) => {
      if (!message) return;
      const event = JSON.parse(message.content.toString('utf8')) as { type?: string; data?: { externalOrderId?: unknown } };
      if (event.type === 'fulfillment.requested') {
        arrivals.push({ externalId: String(event.data?.externalOrderId), at: performance.now() });
        for (const wake of waiters) wake();
      }
      ch.ack(message);
    });
  }
  return {
    arrivals,
    /** Resolves once `predicate` holds over the arrivals, or after `timeoutMs` (false). */
    async until(predicate: (arrivals: readonly Arrival[]) => boolean, timeoutMs: number): Promise<boolean> {
      if (predicate(arrivals)) return true;
      return new Promise((resolve) => {
        const wake = () => {
          if (!predicate(arrivals)) return;
          finish(true);
        };
        const timer = setTimeout(() => finish(false), timeoutMs);
        const finish = (value: boolean) => {
          clearTimeout(timer);
          waiters.delete(wake);
          resolve(value);
        };
        waiters.add(wake);
      });
    },
    async close() {
      await connection.close().catch(() => {});
    },
  };
}
