// The consume adapter on the real broker and database: inbox de-duplication, delayed
// retries through the wait queues, parking with an exception record, and the rule that
// only an ack commits a handler's effects.
import { createHash, randomUUID } from 'node:crypto';
import type { GetMessage } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, sopFor } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { HubError } from '../core/errors.ts';
import { assertTopology, createBroker, type Broker } from '../core/messaging/broker.ts';
import { cloudEvent, type CloudEvent } from '../core/messaging/cloudevent.ts';
import { createConsumer, type Consumer, type Handler } from '../core/messaging/consume.ts';
import { ack, retry } from '../core/messaging/decision.ts';
import { hubTopology, names } from '../core/messaging/topology.ts';
import { createParkingRecorder } from '../core/stages/parking.ts';
import { openAmqpProbe, type AmqpProbe } from './support/amqp-probe.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

const ns = testNamespace('consume');
const env = testEnv(ns);
const logger = quietLogger();
const retryDelaysMs = [100, 300] as const;
const maxAttempts = 3;
const topology = hubTopology(ns, { retryDelaysMs, warehouses: ['w1'] });
const n = names(ns);
const queue = n.stage('validate');
/** consumed only by the test's crashing consumer, never by the adapter */
const crashQueue = n.stage('allocate');
const config = loadConfig(defaultConfigPath);
// The parking recorder's clock: a fixed instant, so the SOP deadline can be checked exactly.
const clock = new Date('2030-06-01T12:00:00.000Z');

type Scenario = 'effect' | 'always-retry' | 'throw-once' | 'throw-fatal' | 'effect-then-retry';

let db: Db;
let broker: Broker;
let consumer: Consumer;
let probe: AmqpProbe;
/** every handler call, by message id: the attempt number it saw */
const calls = new Map<string, number[]>();
const outcomes: string[] = [];
/** everything taken from the parked queue so far (several tests share it) */
const parked: GetMessage[] = [];

const handler: Handler = async (delivery, tx) => {
  const { id } = delivery.event;
  calls.set(id, [...(calls.get(id) ?? []), delivery.attempt]);
  const scenario = delivery.event.data.scenario as Scenario;
  switch (scenario) {
    case 'effect':
      await tx.query('INSERT INTO effects (message_id, scenario) VALUES ($1, $2)', [id, scenario]);
      return ack();
    case 'always-retry':
      return retry('downstream not ready');
    case 'throw-once':
      if (delivery.attempt === 1) throw new Error('transient failure');
      await tx.query('INSERT INTO effects (message_id, scenario) VALUES ($1, $2)', [id, scenario]);
      return ack();
    case 'throw-fatal':
      throw new HubError('x', 'y', { retryable: false });
    case 'effect-then-retry':
      await tx.query('INSERT INTO effects (message_id, scenario) VALUES ($1, $2)', [id, scenario]);
      return retry('rolled back on purpose');
    default: {
      const unknown: never = scenario;
      throw new Error(`unknown scenario ${String(unknown)}`);
    }
  }
};

function testEvent(scenario: Scenario): CloudEvent<{ scenario: Scenario }> {
  return cloudEvent({ id: randomUUID(), source: '/test/consume', type: 'order.received', time: new Date(), data: { scenario } });
}

/** Publishes straight to the consumed queue (default exchange), as the relay would, with confirms. */
async function publish(event: CloudEvent<unknown>): Promise<void> {
  await probe.publishToQueue(queue, event, { messageId: event.id, type: event.type, contentType: 'application/cloudevents+json' });
}

/** Waits until the message with `messageId` is in the parked queue, and returns it. */
async function parkedMessage(messageId: string): Promise<GetMessage> {
  return eventually(async () => {
    parked.push(...(await probe.drainQueue(n.parked)));
    return parked.find((m) => m.properties.messageId === messageId);
  }, 15_000, `message ${messageId} in ${n.parked}`);
}

interface ExceptionRecord { type: string; status: string; owner: string; deadline: Date; reason: string; stage: string | null; message_id: string; details: Record<string, unknown> }

async function exceptionFor(messageId: string): Promise<ExceptionRecord> {
  const rows = await eventually(async () => {
    const { rows } = await db.query<ExceptionRecord>(
      'SELECT type, status, owner, deadline, reason, stage, message_id, details FROM exceptions WHERE message_id = $1', [messageId]);
    return rows.length > 0 ? rows : undefined;
  }, 15_000, `an exception for ${messageId}`);
  expect(rows).toHaveLength(1);
  return rows[0]!;
}

async function inboxRows(messageId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM inbox WHERE consumer = $1 AND message_id = $2', [queue, messageId]);
  return rows[0]?.n ?? 0;
}

async function effectRows(messageId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM effects WHERE message_id = $1', [messageId]);
  return rows[0]?.n ?? 0;
}

function expectPoisonException(record: ExceptionRecord, reasonPart: string): void {
  const sop = sopFor(config, 'poison_message');
  expect(record.type).toBe('poison_message');
  expect(record.status).toBe('open');
  expect(record.stage).toBe(queue);
  expect(record.owner).toBe(sop.owner);
  expect(record.owner).toBe('integration'); // the demo config's SOP, so the lookup is not a fallback
  expect(record.deadline.toISOString()).toBe(new Date(clock.getTime() + sop.deadlineMinutes * 60_000).toISOString());
  expect(record.reason).toContain(`message parked from ${queue}`);
  expect(record.reason).toContain(reasonPart);
}

beforeAll(async () => {
  db = createPool(env.databaseUrl, ns);
  await migrate(db, ns);
  await db.query('CREATE TABLE effects (id bigserial PRIMARY KEY, message_id text NOT NULL, scenario text NOT NULL)');
  consumer = createConsumer({
    db, namespace: ns, queue, handler, logger, retryDelaysMs, maxAttempts,
    onOutcome: (_queue, outcome) => outcomes.push(outcome),
  });
  broker = createBroker({ url: env.amqpUrl, name: `${ns}-worker`, logger });
  broker.attach((connection) => assertTopology(connection, topology));
  broker.attach((connection) => consumer.attach(connection));
  broker.attach(createParkingRecorder({ db, namespace: ns, config, logger, now: () => clock }));
  await broker.start();
  probe = await openAmqpProbe(env.amqpUrl);
});

afterAll(async () => {
  await consumer?.stop();
  await broker?.close().catch(() => {});
  await probe?.close();
  await db?.end();
  await removeNamespace(env, topology);
});

describe('consume adapter', () => {
  it('gives the same CloudEvent delivered three times one effect (inbox)', async () => {
    const event = testEvent('effect');
    const duplicatesBefore = outcomes.filter((o) => o === 'duplicate').length;
    const acksBefore = outcomes.filter((o) => o === 'ack').length;
    for (let i = 0; i < 3; i += 1) await publish(event);

    await eventually(async () => {
      const duplicates = outcomes.filter((o) => o === 'duplicate').length - duplicatesBefore;
      const acks = outcomes.filter((o) => o === 'ack').length - acksBefore;
      return duplicates + acks === 3 ? true : undefined;
    }, 10_000, 'three settled deliveries');
    expect(outcomes.filter((o) => o === 'ack').length - acksBefore).toBe(1);
    expect(outcomes.filter((o) => o === 'duplicate').length - duplicatesBefore).toBe(2);
    expect(calls.get(event.id)).toEqual([1]);
    expect(await effectRows(event.id)).toBe(1);
    expect(await inboxRows(event.id)).toBe(1);
  });

  it('retries a handler that keeps asking for it exactly maxAttempts times, then parks it with an exception', async () => {
    const event = testEvent('always-retry');
    await publish(event);

    const message = await parkedMessage(event.id);
    expect(calls.get(event.id)).toEqual([1, 2, 3]);
    const headers = message.properties.headers ?? {};
    expect(headers['x-hub-reason']).toBe('gave up after 3 attempts: downstream not ready');
    expect(headers['x-hub-attempt']).toBe(3);
    expect(headers['x-hub-queue']).toBe(queue);
    expect(JSON.parse(message.content.toString('utf8'))).toEqual(event);

    const record = await exceptionFor(event.id);
    expectPoisonException(record, 'gave up after 3 attempts: downstream not ready');
    expect(record.details.attempts).toBe(3);
    expect(await inboxRows(event.id)).toBe(0);
    expect(await probe.messageCount(queue)).toBe(0);
    for (const delay of retryDelaysMs) expect(await probe.messageCount(n.wait(delay))).toBe(0);
  });

  it('retries a handler that throws a plain Error', async () => {
    const event = testEvent('throw-once');
    await publish(event);

    await eventually(async () => ((await effectRows(event.id)) === 1 ? true : undefined), 10_000, 'the effect after the retry');
    expect(calls.get(event.id)).toEqual([1, 2]);
    expect(await inboxRows(event.id)).toBe(1);
  });

  it('parks a non-retryable HubError at once, after one attempt', async () => {
    const event = testEvent('throw-fatal');
    await publish(event);

    const message = await parkedMessage(event.id);
    expect(calls.get(event.id)).toEqual([1]);
    expect(message.properties.headers?.['x-hub-reason']).toBe('x: y');
    expect(message.properties.headers?.['x-hub-attempt']).toBe(1);
    const record = await exceptionFor(event.id);
    expectPoisonException(record, 'x: y');
    expect(await inboxRows(event.id)).toBe(0);
  });

  it('parks a body that is not JSON, says it is not a CloudEvent, and records an exception', async () => {
    const messageId = `not-json-${randomUUID()}`;
    await probe.publishToQueue(queue, Buffer.from('this is { not json'), { messageId, contentType: 'text/plain' });
    // Without a messageId the exception is keyed by the body's hash.
    const anonymousBody = Buffer.from(`<order id="${randomUUID()}"/>`);
    const anonymousId = `sha256:${createHash('sha256').update(anonymousBody).digest('hex')}`;
    await probe.publishToQueue(queue, anonymousBody, { contentType: 'application/xml' });

    const message = await parkedMessage(messageId);
    expect(message.content.toString('utf8')).toBe('this is { not json');
    const reason = String(message.properties.headers?.['x-hub-reason']);
    expect(reason).toMatch(/^not a CloudEvent: body is not JSON/);
    expect(message.properties.headers?.['x-hub-attempt']).toBe(1);
    const record = await exceptionFor(messageId);
    expectPoisonException(record, 'not a CloudEvent: body is not JSON');
    expect(record.details.excerpt).toBe('this is { not json');

    const anonymous = await exceptionFor(anonymousId);
    expectPoisonException(anonymous, 'not a CloudEvent');
    expect(calls.has(messageId)).toBe(false);
  });

  it('rolls back the effect of a handler that returns retry: after parking, no row is left', async () => {
    const event = testEvent('effect-then-retry');
    await publish(event);

    await parkedMessage(event.id);
    expect(calls.get(event.id)).toEqual([1, 2, 3]);
    await exceptionFor(event.id);
    expect(await effectRows(event.id)).toBe(0);
    expect(await inboxRows(event.id)).toBe(0);
  });

  it('parks and records a message the broker dead-letters after its delivery limit (a consumer that keeps crashing)', async () => {
    const event = testEvent('effect');
    await probe.publishToQueue(crashQueue, event, { messageId: event.id });
    const crashing = await probe.crashOn(crashQueue);
    try {
      const message = await parkedMessage(event.id);
      const deaths = message.properties.headers?.['x-death'] as { reason?: string; queue?: string }[] | undefined;
      expect(deaths?.[0]).toMatchObject({ reason: 'delivery_limit', queue: crashQueue });
      // x-delivery-limit 10: the first delivery and ten redeliveries.
      expect(crashing.deliveries()).toBe(11);
      const record = await exceptionFor(event.id);
      expect(record.type).toBe('poison_message');
      expect(record.stage).toBe(crashQueue);
      expect(record.owner).toBe(sopFor(config, 'poison_message').owner);
      expect(record.reason).toContain(`the broker dead-lettered it from ${crashQueue} (delivery_limit)`);
    } finally {
      await crashing.stop();
    }
  });

  // The x-hub-* headers of an earlier retry stay on a message; when the broker dead-letters
  // it after a crash loop, its x-death entry, not the stale retry reason, says why.
  it('records the delivery-limit cause, not a stale retry reason, for a retried message the broker dead-letters', async () => {
    const event = testEvent('effect');
    // The headers consume.ts puts on a message it sends through a wait queue for attempt 2.
    await probe.publishToQueue(crashQueue, event, {
      messageId: event.id,
      headers: { 'x-hub-reason': 'downstream not ready', 'x-hub-queue': crashQueue, 'x-hub-attempt': 2 },
    });
    const crashing = await probe.crashOn(crashQueue);
    try {
      await parkedMessage(event.id);
      const record = await exceptionFor(event.id);
      expect(record.stage).toBe(crashQueue);
      expect(record.reason).toContain('delivery_limit');
    } finally {
      await crashing.stop();
    }
  });

  it('leaves nothing in the stage and wait queues once its consumer stops', async () => {
    // Stopping closes the channel: anything still unacked would return to the queue.
    await consumer.stop();
    expect(await probe.messageCount(queue)).toBe(0);
    expect(await probe.messageCount(crashQueue)).toBe(0);
    for (const delay of retryDelaysMs) expect(await probe.messageCount(n.wait(delay))).toBe(0);
    const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM exceptions');
    // always-retry, throw-fatal, two not-JSON bodies, effect-then-retry, two crash loops: one exception each.
    expect(rows[0]?.n).toBe(7);
  });
});
