// Losing the RabbitMQ connection and getting it back, on the real broker: the hub's broker
// talks to RabbitMQ through a TCP proxy the test can cut. After a cut, the broker reconnects
// on its own, re-runs its attachments (topology, consumers), the relay publishes what was
// committed meanwhile, and a message that was in a handler when the line dropped is
// redelivered without a second effect.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../core/db/migrate.ts';
import { createPool, withTransaction, type Db } from '../core/db/pool.ts';
import { countPendingMessages, enqueueMessages } from '../core/db/sql/outbox.ts';
import { assertTopology, createBroker, type Broker } from '../core/messaging/broker.ts';
import { cloudEvent, type CloudEvent } from '../core/messaging/cloudevent.ts';
import { createConsumer, type Consumer, type Handler } from '../core/messaging/consume.ts';
import { ack } from '../core/messaging/decision.ts';
import { createRelay, type Relay } from '../core/messaging/relay.ts';
import { hubTopology, names } from '../core/messaging/topology.ts';
import { openAmqpProbe, type AmqpProbe } from './support/amqp-probe.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.ts';

const ns = testNamespace('reconnect');
const env = testEnv(ns);
const logger = quietLogger();
const topology = hubTopology(ns, { retryDelaysMs: [100, 300], warehouses: ['w1'] });
const n = names(ns);
const queue = n.stage('validate'); // bound to order.received

type Scenario = 'effect' | 'gated';

let db: Db;
let proxy: TcpProxy;
let broker: Broker;
let consumer: Consumer;
let relay: Relay;
let probe: AmqpProbe;
/** every handler call, by message id: the attempt it saw */
const calls = new Map<string, number[]>();
const outcomes: string[] = [];
/** broker.connected(), sampled every few ms; only changes are kept */
const connectedHistory: boolean[] = [];
let sampler: NodeJS.Timeout | undefined;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

/** A gate the 'gated' handler waits on, and a signal that it has started waiting. */
function createGate() {
  let open!: () => void;
  let entered!: () => void;
  const opened = new Promise<void>((resolve) => { open = resolve; });
  const reached = new Promise<void>((resolve) => { entered = resolve; });
  return { open, opened, entered, reached };
}
let gate = createGate();

const handler: Handler = async (delivery, tx) => {
  const { id } = delivery.event;
  calls.set(id, [...(calls.get(id) ?? []), delivery.attempt]);
  const scenario = delivery.event.data.scenario as Scenario;
  if (scenario === 'gated') {
    gate.entered();
    await gate.opened;
  }
  await tx.query('INSERT INTO effects (message_id) VALUES ($1)', [id]);
  return ack();
};

function orderReceived(scenario: Scenario): CloudEvent<{ scenario: Scenario }> {
  return cloudEvent({ id: randomUUID(), source: '/test/reconnect', type: 'order.received', time: new Date(), data: { scenario } });
}

/** Commits events to the outbox: the relay has to get them to the broker. */
async function commit(events: readonly CloudEvent<unknown>[]): Promise<void> {
  await withTransaction(db, (tx) => enqueueMessages(tx, events.map((event) => ({ exchange: n.events, routingKey: event.type, event }))));
}

async function effectRows(messageId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM effects WHERE message_id = $1', [messageId]);
  return rows[0]?.n ?? 0;
}

async function effectsExist(ids: readonly string[], timeoutMs = 20_000): Promise<void> {
  await eventually(async () => {
    const { rows } = await db.query<{ n: number }>('SELECT count(DISTINCT message_id) AS n FROM effects WHERE message_id = ANY($1)', [ids]);
    return rows[0]?.n === ids.length ? true : undefined;
  }, timeoutMs, `effects of ${ids.length} messages`);
}

/** Cuts every connection through the proxy and waits until the broker has noticed. */
async function cutAndSeeDisconnect(): Promise<number> {
  const mark = connectedHistory.length;
  proxy.cutAll();
  await eventually(async () => (connectedHistory.slice(mark).includes(false) ? true : undefined), 10_000, 'the broker to notice the cut');
  return mark;
}

async function reconnected(): Promise<void> {
  await eventually(async () => (broker.connected() && proxy.openConnections() > 0 ? true : undefined), 20_000, 'the broker to reconnect');
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  db = createPool(env.databaseUrl, ns);
  await migrate(db, ns);
  await db.query('CREATE TABLE effects (id bigserial PRIMARY KEY, message_id text NOT NULL)');
  proxy = await startTcpProxy({ host: '127.0.0.1', port: Number(new URL(env.amqpUrl).port || 5672) });
  broker = createBroker({ url: `amqp://guest:guest@127.0.0.1:${proxy.port}`, name: `${ns}-proxied`, logger, maxReconnectDelayMs: 1_000 });
  consumer = createConsumer({
    db, namespace: ns, queue, handler, logger, retryDelaysMs: [100, 300], maxAttempts: 3,
    onOutcome: (_queue, outcome) => outcomes.push(outcome),
  });
  broker.attach((connection) => assertTopology(connection, topology));
  broker.attach((connection) => consumer.attach(connection));
  await broker.start();
  relay = createRelay({ db, broker, namespace: ns, databaseUrl: env.databaseUrl, logger });
  await relay.start();
  sampler = setInterval(() => {
    const now = broker.connected();
    if (connectedHistory[connectedHistory.length - 1] !== now) connectedHistory.push(now);
  }, 2);
  probe = await openAmqpProbe(env.amqpUrl); // direct, not through the proxy
});

afterAll(async () => {
  if (sampler) clearInterval(sampler);
  gate.open();
  await consumer?.stop();
  await relay?.stop();
  await broker?.close().catch(() => {});
  await proxy?.close();
  await probe?.close();
  await db?.end();
  await removeNamespace(env, topology);
  process.off('unhandledRejection', onUnhandled);
});

describe('connection loss', () => {
  it('reconnects on its own; the consumer resumes and the relay publishes what was committed during the outage', async () => {
    const first = orderReceived('effect');
    await commit([first]);
    await effectsExist([first.id]);
    expect(broker.connected()).toBe(true);
    expect(proxy.openConnections()).toBeGreaterThan(0);

    const mark = await cutAndSeeDisconnect();
    // Committed while the line is down: the relay's first try fails and it must come back.
    const during = [orderReceived('effect'), orderReceived('effect'), orderReceived('effect')];
    await commit(during);
    await reconnected();
    const after = [orderReceived('effect'), orderReceived('effect')];
    await commit(after);

    await effectsExist([...during, ...after].map((e) => e.id));
    // true (connected) → false (cut) → true (recovered), with nobody calling start again.
    const transitions = connectedHistory.slice(mark);
    expect(transitions[0]).toBe(false);
    expect(transitions[transitions.length - 1]).toBe(true);
    expect(broker.connected()).toBe(true);
    for (const event of [first, ...during, ...after]) {
      expect(await effectRows(event.id)).toBe(1);
      expect(calls.get(event.id)).toEqual([1]);
    }
    await eventually(async () => ((await countPendingMessages(db)) === 0 ? true : undefined), 10_000, 'an empty outbox');
    expect(unhandled).toEqual([]);
  });

  it('redelivers a message that was in its handler when the line dropped, without a second effect', async () => {
    gate = createGate();
    const event = orderReceived('gated');
    const duplicatesBefore = outcomes.filter((o) => o === 'duplicate').length;
    await commit([event]);
    await gate.reached; // the handler is inside its transaction, the message unacked

    await cutAndSeeDisconnect();
    await reconnected();
    // The broker requeued the unacked message when the connection dropped; the new
    // consumer gets it while (or after) the first transaction finishes.
    gate.open();

    await eventually(async () => (outcomes.filter((o) => o === 'duplicate').length > duplicatesBefore ? true : undefined),
      20_000, 'the redelivery to be recognised as a duplicate');
    expect(await effectRows(event.id)).toBe(1);
    expect(calls.get(event.id)).toEqual([1]); // the handler ran once; the redelivery stopped at the inbox
    const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM inbox WHERE consumer = $1 AND message_id = $2', [queue, event.id]);
    expect(rows[0]?.n).toBe(1);
    // Nothing is left for the stage, and the message was not parked.
    await eventually(async () => ((await probe.messageCount(queue)) === 0 ? true : undefined), 10_000, 'an empty stage queue');
    expect(await probe.messageCount(n.parked)).toBe(0);
    expect(broker.connected()).toBe(true);
    expect(unhandled).toEqual([]);
  });
});
