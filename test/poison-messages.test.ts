import { randomUUID } from 'node:crypto';
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Poison messages on a real stage of a real hub: a message that makes the validate stage
// throw on every attempt is retried through the wait queues the bounded number of times,
// then parked — listed as a dead letter and a poison_message exception an operator sees
// through the API — while the orders queued behind it are validated and allocated all the
// same. Messages that are not JSON, have no type, or are huge are parked too, and the stage
// keeps working.
const secret = 'web-poison';
const namespace = testNamespace('poison');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
// Long enough delays that the poison is still being retried while the good orders go through.
const retry = { delaysMs: [1000, 2000], maxAttempts: 3 };
let hub: Hub;
let connection: ChannelModel;
let channel: ConfirmChannel;
const validateQueue = names(namespace).stage('validate');

beforeAll(async () => {
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config: loadConfig(defaultConfigPath), retry });
  connection = await amqp.connect(env.amqpUrl);
  channel = await connection.createConfirmChannel();
});
afterAll(async () => {
  await connection?.close();
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

async function publish(body: Buffer, messageId: string): Promise<void> {
  channel.sendToQueue(validateQueue, body, { persistent: true, messageId, contentType: 'application/cloudevents+json' });
  await channel.waitForConfirms();
}
const cloudEventText = (id: string, data: Record<string, unknown>, type: string | null = 'order.received') => JSON.stringify({
  specversion: '1.0', id, source: '/test/poison', ...(type === null ? {} : { type }), time: new Date().toISOString(), datacontenttype: 'application/json', data,
});

interface DeadLetterView { id: number; messageId: string; queue: string; error: string; attempts: number; status: string; parkedAt: string }
interface ExceptionView { id: number; type: string; status: string; messageId: string | null; stage: string | null; reason: string; details: Record<string, unknown> }

async function deadLetter(messageId: string): Promise<DeadLetterView> {
  return eventually(async () => {
    const { status, body } = await adminJson<{ items: DeadLetterView[] }>(hub, `/dead-letters?queue=${encodeURIComponent(validateQueue)}&limit=500`);
    expect(status).toBe(200);
    return body.items.find((d) => d.messageId === messageId);
  }, 30_000, `dead letter ${messageId}`);
}
async function poisonException(messageId: string): Promise<ExceptionView> {
  return eventually(async () => {
    const { body } = await adminJson<{ items: ExceptionView[] }>(hub, '/exceptions?type=poison_message&status=open&limit=500');
    return body.items.find((e) => e.messageId === messageId);
  }, 30_000, `the exception for ${messageId}`);
}
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const statusOf = async (externalId: string) => {
  const { rows } = await hub.db.query<{ status: string }>("SELECT status FROM orders WHERE channel = 'website' AND external_id = $1", [externalId]);
  return rows[0]?.status;
};

describe('a message that crashes its stage every time', () => {
  it('is parked after the bounded attempts with an exception, while the orders behind it flow', async () => {
    const poisonId = `poison-${randomUUID()}`;
    // An order id that is no uuid: Postgres refuses the stage's query on every attempt.
    await publish(Buffer.from(cloudEventText(poisonId, { orderId: 'not-a-uuid' })), poisonId);
    const externalIds = ['POISON-OK-1', 'POISON-OK-2', 'POISON-OK-3'];
    for (const externalId of externalIds) {
      const order = anOrder({ channel: 'website', externalId, shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)] });
      expect((await postWebsiteOrder(hub, order, secret, `evt-${externalId}`)).status).toBe(200);
    }

    const letter = await deadLetter(poisonId);
    expect(letter.attempts).toBe(3);
    expect(letter.status).toBe('parked');
    expect(letter.error).toMatch(/^gave up after 3 attempts: .*invalid input syntax for type uuid/);
    const exception = await poisonException(poisonId);
    expect(exception).toMatchObject({ type: 'poison_message', status: 'open', stage: validateQueue });
    expect(exception.reason).toContain('gave up after 3 attempts');

    // The good orders were validated before the poison gave up: it did not hold the queue.
    await settled(hub, 30_000);
    for (const externalId of externalIds) expect(['allocated', 'released', 'ready_to_ship']).toContain(await statusOf(externalId));
    const { rows } = await hub.db.query<{ validatedAt: Date }>(
      `SELECT max(e.at) AS "validatedAt" FROM order_events e JOIN orders o ON o.id = e.order_id
        WHERE o.external_id = ANY($1) AND e.to_status = 'validated'`, [externalIds]);
    expect(rows[0]!.validatedAt.getTime()).toBeLessThan(new Date(letter.parkedAt).getTime());
  });
});

describe('messages that are not what a stage reads', () => {
  it('parks a body that is not JSON, a CloudEvent without a type, and a huge one, each with its exception', async () => {
    const notJson = `not-json-${randomUUID()}`;
    const noType = `no-type-${randomUUID()}`;
    const huge = `huge-${randomUUID()}`;
    await publish(Buffer.from('{"specversion": "1.0", "id": '), notJson);
    await publish(Buffer.from(cloudEventText(noType, { orderId: randomUUID() }, null)), noType);
    const hugeBody = Buffer.from(cloudEventText(huge, { orderId: 'not-a-uuid', padding: 'x'.repeat(4 * 1024 * 1024) }));
    await publish(hugeBody, huge);

    const [a, b, c] = [await deadLetter(notJson), await deadLetter(noType), await deadLetter(huge)];
    expect(a).toMatchObject({ attempts: 1, error: expect.stringMatching(/^not a CloudEvent: body is not JSON/) });
    expect(b).toMatchObject({ attempts: 1, error: 'not a CloudEvent: type is missing' });
    expect(c.attempts).toBe(3);
    for (const id of [notJson, noType, huge]) expect((await poisonException(id)).stage).toBe(validateQueue);
    // The huge body is kept whole for a replay; the exception carries only an excerpt of it.
    const detail = await adminJson<{ bodyBytes: number }>(hub, `/dead-letters/${c.id}`);
    expect(detail.body.bodyBytes).toBe(hugeBody.length);
    expect(JSON.stringify((await poisonException(huge)).details).length).toBeLessThan(8 * 1024);

    // And the stage still works.
    const order = anOrder({ channel: 'website', externalId: 'POISON-AFTER', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)] });
    expect((await postWebsiteOrder(hub, order, secret, 'evt-poison-after')).status).toBe(200);
    await eventually(async () => (['allocated', 'released', 'ready_to_ship'].includes((await statusOf('POISON-AFTER')) ?? '') ? true : undefined), 15_000, 'the order after the poison');
  });
});
