// Batched consumption on the real broker and database: deliveries that wait together share
// one transaction, and whatever a batch holds — duplicates, a delivery that asks for a retry,
// one that throws, one that must be parked — every delivery ends exactly as it would alone:
// one effect for each acked message id, none for a parked one, one inbox row per effect.
import { randomUUID } from 'node:crypto';
import amqp from 'amqplib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { HubError } from '../core/errors.ts';
import { assertTopology, createBroker, type Broker } from '../core/messaging/broker.ts';
import { cloudEvent, type CloudEvent } from '../core/messaging/cloudevent.ts';
import { createConsumer, type Handler } from '../core/messaging/consume.ts';
import { ack, retry } from '../core/messaging/decision.ts';
import { hubTopology, names } from '../core/messaging/topology.ts';
import { openAmqpProbe, type AmqpProbe } from './support/amqp-probe.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

const ns = testNamespace('batches');
const env = testEnv(ns);
const logger = quietLogger();
const retryDelaysMs = [50, 100] as const;
const maxAttempts = 3;
const topology = hubTopology(ns, { retryDelaysMs, warehouses: ['w1'] });
const n = names(ns);
const queue = n.stage('validate');
const batchSize = 4;

/** what a delivery's handler does */
type Scenario = 'effect' | 'retry-once' | 'throw-once' | 'always-retry' | 'fatal';
/** the scenarios that end in one committed effect when handled alone */
const endsInEffect = (s: Scenario) => s === 'effect' || s === 'retry-once' || s === 'throw-once';

let db: Db;
let broker: Broker;
let probe: AmqpProbe;
const outcomes = new Map<string, string[]>();

const handler: Handler = async ({ event, attempt }, tx) => {
  const scenario = event.data.scenario as Scenario;
  // every scenario writes first: what a failed delivery wrote must not survive it
  await tx.query('INSERT INTO effects (message_id, scenario, txid, attempt) VALUES ($1, $2, txid_current(), $3)', [event.id, scenario, attempt]);
  if (scenario === 'retry-once' && attempt === 1) return retry('not yet');
  if (scenario === 'throw-once' && attempt === 1) throw new Error('transient failure');
  if (scenario === 'always-retry') return retry('never ready');
  if (scenario === 'fatal') throw new HubError('bad_message', 'cannot be handled', { retryable: false });
  return ack();
};

function testEvent(scenario: Scenario): CloudEvent<{ scenario: Scenario }> {
  return cloudEvent({ id: randomUUID(), source: '/test/batches', type: 'order.received', time: new Date(), data: { scenario } });
}

/**
 * Publishes `events` while no consumer is attached, then consumes them with a batching
 * consumer until each has settled as its scenario says: they reach the consumer together,
 * as under load.
 */
async function consumeBurst(events: readonly CloudEvent<{ scenario: Scenario }>[], options: { concurrentBatches: number }): Promise<void> {
  for (const e of events) await probe.publishToQueue(queue, e, { messageId: e.id, type: e.type });
  const consumer = createConsumer({
    db, namespace: ns, queue, handler, logger, retryDelaysMs, maxAttempts, batchSize, concurrentBatches: options.concurrentBatches,
    onOutcome: (_q, outcome, event) => {
      if (event) outcomes.set(event.id, [...(outcomes.get(event.id) ?? []), outcome]);
    },
  });
  // a connection per burst: each consumer's channel and listeners go with it
  const connection = await amqp.connect(env.amqpUrl);
  await consumer.attach(connection);
  try {
    const copies = new Map<string, number>();
    for (const e of events) copies.set(e.id, (copies.get(e.id) ?? 0) + 1);
    // Every copy of a message ends: in an ack or, once another copy committed, a duplicate;
    // or parked, when no copy can commit.
    await eventually(async () => [...copies].every(([id, count]) => {
      const ends = (outcomes.get(id) ?? []).filter((o) => o !== 'retry').length;
      return ends >= count;
    }) || undefined, 20_000, 'every delivery settled');
  } finally {
    await consumer.stop();
    await connection.close().catch(() => {});
  }
}

async function effectsOf(id: string): Promise<{ txid: string; attempt: number }[]> {
  const { rows } = await db.query<{ txid: string; attempt: number }>('SELECT txid::text, attempt FROM effects WHERE message_id = $1', [id]);
  return rows;
}

async function inboxRows(id: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM inbox WHERE consumer = $1 AND message_id = $2', [queue, id]);
  return rows[0]?.n ?? 0;
}

beforeAll(async () => {
  db = createPool(env.databaseUrl, ns);
  await migrate(db, ns);
  await db.query('CREATE TABLE effects (id bigserial PRIMARY KEY, message_id text NOT NULL, scenario text NOT NULL, txid bigint NOT NULL, attempt int NOT NULL)');
  broker = createBroker({ url: env.amqpUrl, name: `${ns}-topology`, logger });
  broker.attach((c) => assertTopology(c, topology));
  await broker.start();
  probe = await openAmqpProbe(env.amqpUrl);
});

afterAll(async () => {
  await probe?.close();
  await broker?.close().catch(() => {});
  await db?.end();
  await removeNamespace(env, topology);
});

describe('batched consumption', () => {
  it('puts deliveries that arrive together in one transaction, at most batchSize of them, in arrival order', async () => {
    const events = Array.from({ length: 10 }, () => testEvent('effect'));
    await consumeBurst(events, { concurrentBatches: 1 });

    const { rows } = await db.query<{ txid: string; ids: string[] }>(
      'SELECT txid::text, array_agg(message_id ORDER BY id) AS ids FROM effects WHERE message_id = ANY($1) GROUP BY txid', [events.map((e) => e.id)]);
    const sizes = rows.map((r) => r.ids.length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(10);
    // How they split depends on how the socket hands them over (all at once, or the first
    // alone while the rest arrive): never more than batchSize, and some share a transaction.
    expect(Math.max(...sizes)).toBeLessThanOrEqual(batchSize);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
    // within a transaction, the handler ran for them in the order they were published
    for (const r of rows) {
      const positions = r.ids.map((id) => events.findIndex((e) => e.id === id));
      expect(positions).toEqual([...positions].sort((a, b) => a - b));
    }
    for (const e of events) {
      expect(outcomes.get(e.id)).toEqual(['ack']);
      expect(await inboxRows(e.id)).toBe(1);
    }
  });

  it('rolls back a batch in which one delivery fails, and handles each of its deliveries alone', async () => {
    const events = [testEvent('effect'), testEvent('effect'), testEvent('throw-once'), testEvent('effect')];
    await consumeBurst(events, { concurrentBatches: 1 });

    for (const e of events.filter((x) => x.data.scenario === 'effect')) {
      const effects = await effectsOf(e.id);
      // one row: the batch's was rolled back with it, the one left is its own transaction's
      expect(effects).toHaveLength(1);
      expect(outcomes.get(e.id)).toEqual(['ack']);
      expect(await inboxRows(e.id)).toBe(1);
    }
    const failing = events[2]!;
    // attempt 1 failed twice (in the batch, then alone: the retry counts once), attempt 2 committed
    expect((await effectsOf(failing.id)).map((x) => x.attempt)).toEqual([2]);
    expect(outcomes.get(failing.id)).toEqual(['retry', 'ack']);
  });

  it('gives a message published twice in one batch, and one already processed, a single effect', async () => {
    const before = testEvent('effect');
    await consumeBurst([before], { concurrentBatches: 1 });
    const twice = testEvent('effect');
    await consumeBurst([twice, testEvent('effect'), twice, before], { concurrentBatches: 1 });

    expect(await effectsOf(twice.id)).toHaveLength(1);
    expect(outcomes.get(twice.id)).toEqual(['ack', 'duplicate']);
    expect(await effectsOf(before.id)).toHaveLength(1);
    expect(outcomes.get(before.id)).toEqual(['ack', 'duplicate']);
    expect(await inboxRows(twice.id)).toBe(1);
  });

  it('ends every delivery of any burst as it would end alone (property)', async () => {
    const scenario = fc.constantFrom<Scenario>('effect', 'effect', 'effect', 'retry-once', 'throw-once', 'always-retry', 'fatal');
    await fc.assert(fc.asyncProperty(
      fc.array(fc.record({ scenario, copies: fc.integer({ min: 1, max: 2 }) }), { minLength: 1, maxLength: 12 }),
      fc.integer({ min: 1, max: 3 }),
      async (plan, concurrentBatches) => {
        const events = plan.flatMap(({ scenario: s, copies }) => {
          const e = testEvent(s);
          return Array.from({ length: copies }, () => e);
        });
        await consumeBurst(events, { concurrentBatches });
        const parked = (await probe.drainQueue(n.parked)).map((m) => m.properties.messageId as string);
        for (const e of new Set(events)) {
          const s = e.data.scenario;
          const copies = events.filter((x) => x === e).length;
          const ends = outcomes.get(e.id)?.filter((o) => o !== 'retry') ?? [];
          expect((await effectsOf(e.id)).length, `${s} ${e.id}`).toBe(endsInEffect(s) ? 1 : 0);
          expect(await inboxRows(e.id)).toBe(endsInEffect(s) ? 1 : 0);
          if (endsInEffect(s)) {
            expect(ends.sort()).toEqual(['ack', ...Array<string>(copies - 1).fill('duplicate')]);
          } else {
            expect(ends).toEqual(Array<string>(copies).fill('park'));
            expect(parked.filter((id) => id === e.id)).toHaveLength(copies);
          }
        }
      },
    ), { numRuns: 8 });
    expect(await probe.messageCount(queue)).toBe(0);
  }, 120_000);
});
