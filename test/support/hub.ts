import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { startHub, type Hub, type Role } from '../../core/hub.ts';
import { names } from '../../core/messaging/topology.ts';
import { signOwnChannelPayload } from '../../connectors/website.ts';
import type { CanonicalOrder } from '../../schemas/canonical-order.ts';
import type { CloudEvent } from '../../core/messaging/cloudevent.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './env.ts';

/** A whole hub on its own namespace, with short retry delays, plus a cleanup. */
export async function startTestHub(label: string, roles: Role[] = ['worker']) {
  const namespace = testNamespace(label);
  const env = testEnv(namespace);
  const hub = await startHub(env, { roles, port: 0, logger: quietLogger(), retry: { delaysMs: [100, 300], maxAttempts: 3 } });
  return {
    hub,
    env,
    async stop() {
      await hub.stop();
      await removeNamespace(env, hub.topology);
    },
  };
}

/** A simulated warehouse: consumes its fulfilment queue and keeps what it received. */
export async function warehouseListener(hub: Hub, code: string) {
  const connection: ChannelModel = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel: Channel = await connection.createChannel();
  const received: CloudEvent<Record<string, unknown>>[] = [];
  await channel.consume(names(hub.namespace).warehouse(code), (message) => {
    if (!message) return;
    received.push(JSON.parse(message.content.toString('utf8')) as CloudEvent<Record<string, unknown>>);
    channel.ack(message);
  });
  return {
    received,
    async close() {
      await connection.close();
    },
  };
}

/**
 * Waits until the hub has nothing left to do: outbox published and every stage queue
 * empty, twice in a row (a message may be between queue and handler).
 */
export async function settled(hub: Hub, timeoutMs = 15_000): Promise<void> {
  const connection = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel = await connection.createChannel();
  const deadline = Date.now() + timeoutMs;
  let quietRounds = 0;
  try {
    while (quietRounds < 3) {
      if (Date.now() > deadline) throw new Error('the hub did not settle');
      const { rows } = await hub.db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
      let busy = (rows[0]?.n ?? 0) > 0;
      for (const q of hub.topology.queues.filter((q) => q.name.includes('.stage.') || q.name.includes('.wait.'))) {
        const info = await channel.checkQueue(q.name);
        if (info.messageCount > 0) busy = true;
      }
      quietRounds = busy ? 0 : quietRounds + 1;
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    await connection.close();
  }
}

/** Posts a canonical order to the website webhook, signed now as the shop signs it. */
export function postWebsiteOrder(hub: Hub, order: CanonicalOrder, secret: string, eventId: string, topic = 'order.created'): Promise<Response> {
  const body = JSON.stringify({ ...order, channel: 'website' });
  return Promise.resolve(hub.app.request('/webhooks/orders/website', {
    method: 'POST', body,
    headers: { 'content-type': 'application/json', 'x-hub-signature': signOwnChannelPayload(body, secret, Math.floor(Date.now() / 1000)), 'x-hub-event-id': eventId, 'x-hub-topic': topic },
  }));
}
