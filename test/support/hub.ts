import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { startHub, type Hub, type Role } from '../../core/hub.ts';
import { names } from '../../core/messaging/topology.ts';
import { signOwnChannelPayload } from '../../connectors/website.ts';
import type { CanonicalOrder } from '../../schemas/canonical-order.ts';
import type { HubConfig } from '../../schemas/config.ts';
import type { CloudEvent } from '../../core/messaging/cloudevent.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './env.ts';

/**
 * A whole hub on its own namespace, with short retry delays, plus a cleanup; `config`
 * replaces the config file, `env` adds to the environment (secrets).
 */
export async function startTestHub(label: string, roles: Role[] = ['worker'], options: { config?: HubConfig; env?: NodeJS.ProcessEnv } = {}) {
  const namespace = testNamespace(label);
  const env = testEnv(namespace, options.env);
  const hub = await startHub(env, {
    roles, port: 0, logger: quietLogger(), retry: { delaysMs: [100, 300], maxAttempts: 3 }, ...(options.config ? { config: options.config } : {}),
  });
  return {
    hub,
    env,
    async stop() {
      await hub.stop();
      await removeNamespace(env, hub.topology);
    },
  };
}

/** Consumes `queue` on `channel`, acking each message and keeping it, parsed, in `received`. */
async function collectInto(channel: Channel, queue: string, received: CloudEvent<Record<string, unknown>>[]): Promise<void> {
  await channel.consume(queue, (message) => {
    if (!message) return;
    received.push(JSON.parse(message.content.toString('utf8')) as CloudEvent<Record<string, unknown>>);
    channel.ack(message);
  });
}

/**
 * A simulated warehouse: consumes its fulfilment queue and keeps what it received, and
 * publishes its own CloudEvents to the hub's warehouse-events queue.
 */
export async function warehouseListener(hub: Hub, code: string) {
  const connection: ChannelModel = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel: Channel = await connection.createChannel();
  const received: CloudEvent<Record<string, unknown>>[] = [];
  await collectInto(channel, names(hub.namespace).warehouse(code), received);
  return {
    received,
    /** Publishes the warehouse's event `type` with `data` (plus `warehouse`) under the CloudEvent id `id`. */
    publish(type: string, data: Record<string, unknown>, id: string): void {
      const event = { specversion: '1.0', id, source: `/wms/${code}`, type, time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: code, ...data } };
      channel.sendToQueue(names(hub.namespace).warehouseEvents, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: id });
    },
    async close() {
      await connection.close();
    },
  };
}

/**
 * What other systems hear on the bus: an exclusive queue (gone with the connection) bound
 * to `routingKeys` on the hub's events exchange, and the CloudEvents that arrived on it.
 */
export async function busListener(hub: Hub, routingKeys: readonly string[]) {
  const connection: ChannelModel = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  const channel: Channel = await connection.createChannel();
  const received: CloudEvent<Record<string, unknown>>[] = [];
  const { queue } = await channel.assertQueue('', { exclusive: true });
  for (const key of routingKeys) await channel.bindQueue(queue, names(hub.namespace).events, key);
  await collectInto(channel, queue, received);
  return {
    received,
    async close() {
      await connection.close();
    },
  };
}

/** A request to the admin API (`/api…`) with the operator's bearer token, JSON in. */
export function adminRequest(hub: Hub, path: string, init: RequestInit = {}): Promise<Response> {
  return Promise.resolve(hub.app.request(`/api${path}`, {
    ...init, headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
  }));
}

/** An admin API answer read as JSON, with its status and headers. */
export async function adminJson<T = Record<string, unknown>>(hub: Hub, path: string, init: RequestInit = {}): Promise<{ status: number; type: string | null; headers: Headers; body: T }> {
  const response = await adminRequest(hub, path, init);
  return { status: response.status, type: response.headers.get('content-type'), headers: response.headers, body: (await response.json()) as T };
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

/**
 * EasyPost's documented `tracker.updated` event, saying the parcel `trackingCode` was
 * delivered now, signed with `secret` and posted to the hub; `eventId` replaces the event's id.
 */
export function postEasyPostDelivered(hub: Hub, secret: string, trackingCode: string, eventId?: string): Promise<Response> {
  let event = readFileSync(new URL('../fixtures/easypost/tracker.updated.event.json', import.meta.url), 'utf8');
  if (eventId !== undefined) event = event.replace('"id":"evt_1"', `"id":"${eventId}"`);
  event = event
    .replace('"tracking_code":"1"', `"tracking_code":"${trackingCode}"`)
    .replace('"status":"in_transit","status_detail":"arrived_at_facility","created_at"', '"status":"delivered","status_detail":"arrived_at_facility","created_at"')
    .replace('"datetime":"2024-08-02T18:50:00Z"', `"datetime":"${new Date().toISOString().slice(0, 19)}Z"`);
  const signature = createHmac('sha256', secret.normalize('NFKD')).update(event).digest('hex');
  return Promise.resolve(hub.app.request('/webhooks/carriers/easypost', {
    method: 'POST', body: event, headers: { 'content-type': 'application/json', 'x-hmac-signature': `hmac-sha256-hex=${signature}` },
  }));
}
