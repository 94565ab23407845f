import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, isUnreachable } from '../core/db/pool.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';

// A hub process that starts while Postgres or RabbitMQ restarts waits for it (core/hub.ts,
// core/messaging/broker.ts), instead of exiting and leaving it to a supervisor.
const namespace = testNamespace('startup');
const brokerNamespace = testNamespace('startup-amqp');
let hub: Hub | undefined;
let workerHub: Hub | undefined;
const forwarders: net.Server[] = [];

afterAll(async () => {
  await hub?.stop();
  await workerHub?.stop();
  for (const f of forwarders) await new Promise((resolve) => f.close(resolve));
  await removeNamespace(testEnv(namespace), hub?.topology);
  await removeNamespace(testEnv(brokerNamespace), workerHub?.topology);
});

/** A port nothing listens on (yet). */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Forwards `port` to the real service on `target`, from now on: the service "comes up". */
function forwardTo(target: number, port: number): net.Server {
  const server = net.createServer((client) => {
    const upstream = net.connect(target, '127.0.0.1');
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  }).listen(port, '127.0.0.1');
  forwarders.push(server);
  return server;
}

/**
 * A hub starting against `port`, where nothing listens yet: still waiting after 1.5 s; once
 * `port` forwards to the real service on `target`, it finishes starting.
 */
async function startsOnceUp(starting: Promise<Hub>, target: number, port: number): Promise<Hub> {
  let started = false;
  void starting.then(() => (started = true), () => {});
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  expect(started).toBe(false);
  forwardTo(target, port);
  return starting;
}

describe('startup', () => {
  it('tells an unreachable database from a statement Postgres refused', async () => {
    const db = createPool('postgres://postgres@127.0.0.1:5432/postgres', 'public', 1);
    const refused = await db.query('SELEC 1').catch((e: unknown) => e);
    await db.end();
    expect(isUnreachable(refused)).toBe(false);
    const nowhere = createPool(`postgres://postgres@127.0.0.1:${await freePort()}/postgres`, 'public', 1);
    const unreachable = await nowhere.query('SELECT 1').catch((e: unknown) => e);
    await nowhere.end();
    expect(isUnreachable(unreachable)).toBe(true);
    // as a migration reports it: wrapped, with the connection error as its cause
    expect(isUnreachable(new Error('migration 001 failed: Connection terminated', { cause: unreachable }))).toBe(true);
  });

  it('waits for a database that is not up yet, then starts and serves', async () => {
    const port = await freePort();
    const env = testEnv(namespace, { DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres` });
    hub = await startsOnceUp(startHub(env, { roles: ['api'], port: 0, logger: quietLogger() }), 5432, port);
    const health = await fetch(`http://127.0.0.1:${hub.port}/health`);
    expect(health.status).toBe(200);
  });

  it('waits for a broker that is not up yet, then starts its consumers', async () => {
    const port = await freePort();
    const env = testEnv(brokerNamespace, { AMQP_URL: `amqp://guest:guest@127.0.0.1:${port}` });
    workerHub = await startsOnceUp(startHub(env, { roles: ['worker'], logger: quietLogger() }), 5672, port);
    expect(workerHub.broker?.connected()).toBe(true);
    // the topology was asserted on the late connection: the stage queues exist
    const { messageCount } = await workerHub.broker!.publisher().then((ch) => ch.checkQueue(workerHub!.topology.queues[0]!.name));
    expect(messageCount).toBe(0);
  }, 30_000);
});
