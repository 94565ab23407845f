// The transactional outbox and its relay, on the real Postgres and RabbitMQ: what a
// committed transaction enqueues reaches the events exchange (with confirms, the CloudEvent
// id as messageId) and is marked published; a rolled-back one never leaves; two relays
// side by side share the work without sending anything twice; NOTIFY wakes the relay.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../core/db/migrate.ts';
import { createPool, withTransaction, type Db } from '../core/db/pool.ts';
import { countPendingMessages, enqueueMessages, type OutboxMessage } from '../core/db/sql/outbox.ts';
import { assertTopology, createBroker, type Broker } from '../core/messaging/broker.ts';
import { cloudEvent, type CloudEvent } from '../core/messaging/cloudevent.ts';
import { createRelay, type Relay } from '../core/messaging/relay.ts';
import { hubTopology, names, type Topology } from '../core/messaging/topology.ts';
import { openAmqpProbe, type AmqpProbe, type ReceivedMessage } from './support/amqp-probe.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

const ns = testNamespace('outbox');
const env = testEnv(ns);
const logger = quietLogger();
const hubQueues = hubTopology(ns, { retryDelaysMs: [100, 300], warehouses: ['w1'] });
const sinkQueue = `${ns}.test.sink`;
// The hub's topology plus a test queue that sees every event; removeNamespace deletes both.
const topology: Topology = {
  ...hubQueues,
  queues: [...hubQueues.queues, { name: sinkQueue, arguments: {}, bindings: [{ exchange: names(ns).events, routingKey: '#' }] }],
};

let db: Db;
let probe: AmqpProbe;
let sink: ReceivedMessage[];
const brokers: Broker[] = [];
const running = new Set<Relay>();

async function startBroker(name: string): Promise<Broker> {
  const broker = createBroker({ url: env.amqpUrl, name: `${ns}-${name}`, logger });
  broker.attach((connection) => assertTopology(connection, topology));
  await broker.start();
  brokers.push(broker);
  return broker;
}

async function startRelay(broker: Broker, options: { batchSize?: number; pollMs?: number; onPublished?: (n: number) => void } = {}): Promise<Relay> {
  const relay = createRelay({ db, broker, namespace: ns, databaseUrl: env.databaseUrl, logger, ...options });
  await relay.start();
  running.add(relay);
  return relay;
}

async function stopRelay(relay: Relay): Promise<void> {
  if (!running.delete(relay)) return;
  await relay.stop();
}

/** A test event that no stage queue is bound to: only the sink receives it. */
function testEvent(label: string, n = 0): CloudEvent<{ label: string; n: number }> {
  return cloudEvent({ id: randomUUID(), source: '/test/outbox', type: 'test.relayed', subject: label, time: new Date(), data: { label, n } });
}

const toOutbox = (event: CloudEvent<unknown>): OutboxMessage => ({ exchange: names(ns).events, routingKey: event.type, event, headers: { 'x-test': 'outbox' } });

const receivedIds = () => sink.map((m) => String(m.properties.messageId));

/** Waits until every id in `ids` has reached the sink. */
async function allReceived(ids: readonly string[], timeoutMs = 15_000): Promise<void> {
  await eventually(async () => {
    const seen = new Set(receivedIds());
    return ids.every((id) => seen.has(id)) ? true : undefined;
  }, timeoutMs, `${ids.length} messages in the sink`);
}

beforeAll(async () => {
  db = createPool(env.databaseUrl, ns);
  await migrate(db, ns);
  await startBroker('a');
  probe = await openAmqpProbe(env.amqpUrl);
  sink = await probe.collect(sinkQueue);
});

afterAll(async () => {
  for (const relay of [...running]) await stopRelay(relay);
  for (const broker of brokers) await broker.close().catch(() => {});
  await probe?.close();
  await db?.end();
  await removeNamespace(env, topology);
});

describe('outbox relay', () => {
  it('publishes what a committed transaction enqueued, with the CloudEvent id as messageId, and marks it published', async () => {
    const relay = await startRelay(brokers[0]!);
    const events = [testEvent('committed', 1), testEvent('committed', 2), testEvent('committed', 3)];
    await withTransaction(db, (tx) => enqueueMessages(tx, events.map(toOutbox)));

    await allReceived(events.map((e) => e.id));
    for (const event of events) {
      const copies = sink.filter((m) => m.properties.messageId === event.id);
      expect(copies).toHaveLength(1);
      const message = copies[0]!;
      expect(message.body).toEqual(event);
      expect(message.exchange).toBe(names(ns).events);
      expect(message.routingKey).toBe('test.relayed');
      expect(message.properties.type).toBe('test.relayed');
      expect(message.properties.contentType).toBe('application/cloudevents+json');
      expect(message.properties.deliveryMode).toBe(2);
      expect(message.properties.headers?.['x-test']).toBe('outbox');
    }
    // published_at is set in the relay's transaction, which commits after the confirms.
    const rows = await eventually(async () => {
      const { rows } = await db.query<{ message_id: string; published_at: Date | null }>(
        'SELECT message_id, published_at FROM outbox WHERE message_id = ANY($1::uuid[])', [events.map((e) => e.id)]);
      return rows.every((r) => r.published_at !== null) ? rows : undefined;
    }, 10_000, 'published_at on the outbox rows');
    expect(rows.map((r) => r.message_id).sort()).toEqual(events.map((e) => e.id).sort());
    expect(await countPendingMessages(db)).toBe(0);
    await stopRelay(relay);
  });

  it('never publishes what a rolled-back transaction enqueued', async () => {
    const relay = await startRelay(brokers[0]!);
    const doomed = [testEvent('rolled-back', 1), testEvent('rolled-back', 2)];
    await expect(withTransaction(db, async (tx) => {
      await enqueueMessages(tx, doomed.map(toOutbox));
      throw new Error('the state change failed');
    })).rejects.toThrow('the state change failed');
    // A marker committed afterwards has a higher outbox id; the relay publishes in id order,
    // so once the marker is in the sink, anything enqueued before it would be there too.
    const marker = testEvent('marker-after-rollback');
    await withTransaction(db, (tx) => enqueueMessages(tx, [toOutbox(marker)]));
    await allReceived([marker.id]);
    await eventually(async () => ((await countPendingMessages(db)) === 0 ? true : undefined), 10_000, 'an empty outbox');

    const seen = new Set(receivedIds());
    for (const event of doomed) expect(seen.has(event.id)).toBe(false);
    const { rows } = await db.query('SELECT 1 FROM outbox WHERE message_id = ANY($1::uuid[])', [doomed.map((e) => e.id)]);
    expect(rows).toHaveLength(0);
    await stopRelay(relay);
  });

  it('two relays on two connections publish 500 messages, each exactly once (SKIP LOCKED)', async () => {
    const brokerB = await startBroker('b');
    const published = { a: 0, b: 0 };
    // Small batches so that the two relays interleave over many claims.
    const relayA = await startRelay(brokers[0]!, { batchSize: 20, onPublished: (n) => { published.a += n; } });
    const relayB = await startRelay(brokerB, { batchSize: 20, onPublished: (n) => { published.b += n; } });
    const before = sink.length;

    const events = Array.from({ length: 500 }, (_, i) => testEvent('pair', i));
    // Ten commits, ten NOTIFYs: both relays are woken again and again while the other works.
    for (let i = 0; i < events.length; i += 50) {
      await withTransaction(db, (tx) => enqueueMessages(tx, events.slice(i, i + 50).map(toOutbox)));
    }
    await allReceived(events.map((e) => e.id), 20_000);
    await eventually(async () => ((await countPendingMessages(db)) === 0 ? true : undefined), 10_000, 'an empty outbox');
    // Both relays have finished their passes: nothing more can arrive from them.
    await stopRelay(relayA);
    await stopRelay(relayB);

    const ids = sink.slice(before).map((m) => String(m.properties.messageId));
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id, (counts.get(id) ?? 0) + 1);
    const twice = [...counts].filter(([, n]) => n > 1).map(([id]) => id);
    expect(twice).toEqual([]);
    expect(new Set(ids)).toEqual(new Set(events.map((e) => e.id)));
    expect(ids).toHaveLength(500);
    expect(published.a + published.b).toBe(500);
    // Both really took part (each claims batches of 20 while the other holds its locks).
    expect(published.a).toBeGreaterThan(0);
    expect(published.b).toBeGreaterThan(0);
    const { rows } = await db.query<{ n: number }>(
      'SELECT count(*) AS n FROM outbox WHERE message_id = ANY($1::uuid[]) AND published_at IS NOT NULL', [events.map((e) => e.id)]);
    expect(rows[0]?.n).toBe(500);
  });

  it('is woken by NOTIFY: with a one-minute poll, committed messages still go out', async () => {
    const relay = await startRelay(brokers[0]!, { pollMs: 60_000 });
    // Three rounds, each enqueued only after the previous one arrived. The relay's first
    // pass (at start) may take round 1, but it stops once a batch comes back short, so
    // rounds 2 and 3 can only be sent by a pass that a notification started.
    for (let round = 1; round <= 3; round += 1) {
      const event = testEvent('notify', round);
      await withTransaction(db, (tx) => enqueueMessages(tx, [toOutbox(event)]));
      await allReceived([event.id], 20_000);
    }
    await stopRelay(relay);
  });
});
