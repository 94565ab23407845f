/**
 * `npm run bench:floor`: the design's floor — what the hub's own messaging infrastructure
 * allows when the stages do nothing else. The same five hops as an order's path, each
 * through the transactional outbox (a row written in the stage's transaction, published by
 * the relay with confirms, marked published) and the idempotent inbox (a row per consumed
 * message in that transaction), with handlers that only write the next hop's message.
 * Compared, in the same run, with the broker's limit (bench/broker-limit.ts): the ratio of
 * the two is what the outbox and inbox cost before any business logic.
 *
 * What is the hub's own code: the schema (its migrations), the topology (the stage queues
 * and a warehouse queue, as `topologyFor` declares them), the broker connection, the
 * consume adapter (`createConsumer`, with the prefetch and batching the hub gives
 * normalize, validate and release), `enqueueMessages` and the relay. What is not: the
 * handlers, which decide nothing and read nothing. The validate stage's side branch (the
 * order confirmation) is left out, and the fifth hop — the warehouse's queue, which the
 * warehouse consumes in production — is consumed here by the adapter too, so that each of
 * the five hops has its inbox row, as each of the broker limit's hops has its consumer.
 *
 * The N messages are seeded into the outbox in one transaction, all at once, as the broker
 * limit publishes its N as fast as confirms allow: both are saturation figures, measured the
 * same way (a fixed rate would report the offered rate whenever it is below capacity).
 * All at once is batching's best case; the second variant, one delivery per transaction,
 * is the case of orders that arrive one at a time.
 *
 * Options: --messages N (default 3,000), --batch B (deliveries per transaction, default 5,
 * the hub's), --limit-rounds R (default 3), --warm-up W
 * (journeys before each measured floor run, not measured; default 200), --no-unbatched,
 * --quick (a tiny run that writes no results file; the smoke test uses it).
 * Everything happens in a namespace of its own (`bench_floor_<random>`), removed at the end.
 * Exit code: 1 when a message was lost or applied twice, 2 when the bench itself failed.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { pino } from 'pino';
import { readEnv } from '../core/config/env.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, withTransaction } from '../core/db/pool.ts';
import { enqueueMessages, type OutboxMessage } from '../core/db/sql/outbox.ts';
import { topologyFor } from '../core/hub.ts';
import { createLogger } from '../core/logger.ts';
import { assertTopology, createBroker } from '../core/messaging/broker.ts';
import { cloudEvent } from '../core/messaging/cloudevent.ts';
import { createConsumer, type ConsumerOptions } from '../core/messaging/consume.ts';
import { ack } from '../core/messaging/decision.ts';
import { createRelay } from '../core/messaging/relay.ts';
import { names } from '../core/messaging/topology.ts';
import { removeNamespace } from '../test/support/env.ts';
import { brokerLimitRounds, type BrokerLimitResult } from './broker-limit.ts';
import { benchConfig, benchWarehouses } from './config.ts';
import { checkExactlyOnce, type Arrival } from './exactly-once.ts';
import { cpuBetween, cpuSnapshot } from './process-stats.ts';
import { round, runBench } from './stats.ts';

const { values: args } = parseArgs({
  options: {
    messages: { type: 'string' },
    'limit-rounds': { type: 'string' },
    'warm-up': { type: 'string' },
    'no-unbatched': { type: 'boolean', default: false },
    batch: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const quick = args.quick ?? false;
const messages = Number(args.messages ?? (quick ? 60 : 3_000));
const limitRounds = Math.max(1, Number(args['limit-rounds'] ?? (quick ? 1 : 3)));
const warmUp = Number(args['warm-up'] ?? (quick ? 10 : 200));
const batchSize = Number(args.batch ?? 5);
const here = fileURLToPath(new URL('.', import.meta.url));
const log = (line: string) => process.stderr.write(`${line}\n`);
if (!Number.isInteger(messages) || messages < 1 || !Number.isInteger(warmUp) || warmUp < 0 || !Number.isInteger(batchSize) || batchSize < 1) {
  log('bench:floor: --messages and --batch must be whole numbers ≥ 1, --warm-up one ≥ 0');
  process.exit(2);
}

/** As the broker limit's messages (its default size) and about the hub's CloudEvents. */
const messageBytes = 1_500;
/** The hub's consumers' prefetch (consume.ts default; hub.ts sets no other for these stages). */
const prefetch = 20;
/**
 * What `batchingFor` in core/hub.ts gives normalize, validate and release (5 a batch, 4 at
 * once); `--batch N` tries another size, as many batches at once as the prefetch fills.
 */
const hubBatching = { batchSize, concurrentBatches: Math.max(1, Math.floor(prefetch / batchSize)) };
/** The worker role's pool (core/hub.ts): the consumers and the relay share it. */
const workerPool = 20;

const namespace = `bench_floor_${randomBytes(4).toString('hex')}`;
const env = readEnv({ ...process.env, HUB_NAMESPACE: namespace });
const config = benchConfig();
const topology = topologyFor(namespace, config);
const n = names(namespace);
// Logs go to stderr: stdout carries the table and the JSON line.
const logger = createLogger({ level: process.env.LOG_LEVEL ?? 'warn' }, pino.destination(2));

/** An order's path through the hub: the queue of each hop and the event that reaches it. */
const warehouse = benchWarehouses[0];
const path = [
  { queue: n.stage('normalize'), type: 'inbound.accepted', routingKey: 'inbound.accepted' },
  { queue: n.stage('validate'), type: 'order.received', routingKey: 'order.received' },
  { queue: n.stage('allocate'), type: 'order.validated', routingKey: 'order.validated' },
  { queue: n.stage('release'), type: 'order.allocated', routingKey: 'order.allocated' },
  { queue: n.warehouse(warehouse), type: 'fulfillment.requested', routingKey: `fulfillment.requested.${warehouse}` },
] as const;
type Hop = (typeof path)[number];

/**
 * The data every hop passes on unchanged: padding that makes a hop's CloudEvent about
 * `messageBytes` long, as the broker limit's messages are.
 */
const payload = (() => {
  const bare = cloudEvent({ id: randomUUID(), source: '/bench/floor', type: path[0].type, subject: 'floor-000000', time: new Date(), data: { padding: '' } });
  return { padding: 'x'.repeat(Math.max(0, messageBytes - JSON.stringify(bare).length)) };
})();

/** The outbox row that sends journey `journey` to `hop`, with a new id as a stage's message has. */
function outboxMessage(hop: Hop, journey: string, data: Record<string, unknown>): OutboxMessage {
  const event = cloudEvent({ id: randomUUID(), source: '/bench/floor', type: hop.type, subject: journey, time: new Date(), data });
  return { exchange: n.events, routingKey: hop.routingKey, event };
}

type Batching = Pick<ConsumerOptions, 'batchSize' | 'concurrentBatches'>;

interface FloorRun {
  journeys: number;
  seconds: number;
  journeysPerSecond: number;
  pgTransactions: number;
  /** what the run's pool sent: transactions, consumer transactions (one inbox insert each), relay passes (one claim each) */
  pool: TransactionCounts;
  /** CPU % of one core while it ran: the whole machine, Postgres, RabbitMQ, this process (consumers and relay) */
  cpu: Record<string, number>;
  /** deliveries per hop by outcome; a duplicate is a redelivery the inbox absorbed */
  outcomes: Record<string, number>;
  exactlyOnce: { ok: boolean; lastHop: ReturnType<typeof checkExactlyOnce>; inboxRowsPerHop: number[]; outboxRows: number; unpublished: number };
}

interface TransactionCounts { transactions: number; consumerTransactions: number; relayPasses: number }

/**
 * Counts what the pool's connections send. pg_stat_database counts more: every client of
 * the database (others' tests, on a shared machine), and the relay's listener, whose
 * backend reads each NOTIFY (one per committed transaction that wrote to the outbox) in a
 * transaction of its own that no client sends. Wraps the query of each new connection
 * after the pool's own wrapper (createPool's prepared statements).
 */
function countTransactions(db: pg.Pool): TransactionCounts {
  const counts: TransactionCounts = { transactions: 0, consumerTransactions: 0, relayPasses: 0 };
  db.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((...args: unknown[]) => {
      const text = typeof args[0] === 'string' ? args[0] : '';
      if (text === 'BEGIN') counts.transactions++;
      else if (text.startsWith('INSERT INTO inbox')) counts.consumerTransactions++;
      else if (text.startsWith('UPDATE outbox SET published_at')) counts.relayPasses++;
      return query(...args);
    }) as typeof client.query;
  });
  return counts;
}

async function pgTransactions(client: pg.Client): Promise<number> {
  const { rows } = await client.query<{ n: string }>('SELECT xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = current_database()');
  return Number(rows[0]?.n ?? 0);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One floor run from an empty outbox and inbox: its own pool, broker connection, five
 * consumers and relay, as a worker process has them, torn down at the end. Closing the pool
 * also makes every backend flush its statistics (an idle one may hold them up to 10 s),
 * so the transaction count is whole.
 */
async function runFloor(monitor: pg.Client, label: string, journeys: number, batching: Batching): Promise<FloorRun> {
  await monitor.query(`TRUNCATE ${namespace}.outbox, ${namespace}.inbox`);
  const ids = Array.from({ length: journeys }, (_, i) => `${label}-${String(i).padStart(6, '0')}`);
  const xactBefore = await pgTransactions(monitor);

  const db = createPool(env.databaseUrl, namespace, workerPool);
  const poolCounts = countTransactions(db);
  const broker = createBroker({ url: env.amqpUrl, name: `${namespace}-floor`, logger });
  broker.attach((connection) => assertTopology(connection, topology));
  const outcomes: Record<string, number> = {};
  const arrivals: Arrival[] = [];
  let finished: (at: number) => void = () => {};
  const done = new Promise<number>((resolve) => (finished = resolve));
  const consumers = path.map((hop, index) => createConsumer({
    db, namespace, queue: hop.queue, logger, prefetch, ...batching,
    retryDelaysMs: config.retry.delaysMs, maxAttempts: config.retry.maxAttempts,
    // Nothing but the handoff: the next hop's message in the adapter's transaction.
    handler: async (delivery, tx) => {
      const next = path[index + 1];
      if (next) await enqueueMessages(tx, [outboxMessage(next, delivery.event.subject ?? '', delivery.event.data)]);
      return ack();
    },
    // Told after the commit and the ack: the end of a journey is its last hop's ack.
    onOutcome: (_queue, outcome, event) => {
      const key = `hop${index + 1}.${outcome}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      if (index === path.length - 1 && outcome === 'ack') {
        arrivals.push({ externalId: event?.subject ?? '', at: performance.now() });
        if (arrivals.length === journeys) finished(performance.now());
      }
    },
  }));
  for (const consumer of consumers) broker.attach((connection) => consumer.attach(connection));
  const relay = createRelay({ db, broker, namespace, databaseUrl: env.databaseUrl, logger });

  let seconds: number;
  let cpu: Record<string, number>;
  try {
    await broker.start();
    await relay.start();
    // All N in one transaction: its commit wakes the relay, whose first pass starts then.
    await withTransaction(db, (tx) => enqueueMessages(tx, ids.map((id) => outboxMessage(path[0], id, payload))));
    const started = performance.now();
    const machineFrom = cpuSnapshot();
    const ownFrom = process.cpuUsage();
    const timeoutMs = 60_000 + journeys * 100;
    let timer: NodeJS.Timeout | undefined;
    const ended = await Promise.race([done, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${label}: ${arrivals.length} of ${journeys} journeys ended within ${timeoutMs / 1000} s; deliveries so far ${JSON.stringify(outcomes)}`)), timeoutMs);
    })]).finally(() => clearTimeout(timer));
    seconds = (ended - started) / 1000;
    const own = process.cpuUsage(ownFrom);
    cpu = { ...cpuBetween(machineFrom, cpuSnapshot()), floor_process: round(((own.user + own.system) / 1e6 / seconds) * 100) };
  } finally {
    await Promise.all(consumers.map((c) => c.stop()));
    await relay.stop();
    await broker.close().catch(() => {});
    await db.end();
  }
  await sleep(500); // the backends' exit, which flushes their statistics, follows the pool's close
  const xactAfter = await pgTransactions(monitor);

  // Exactly once, twice over: each journey's last hop acknowledged once, and one inbox row per message per hop.
  const inbox = await monitor.query<{ consumer: string; n: string }>(`SELECT consumer, count(*) AS n FROM ${namespace}.inbox GROUP BY consumer`);
  const inboxRowsPerHop = path.map((hop) => Number(inbox.rows.find((r) => r.consumer === hop.queue)?.n ?? 0));
  const outbox = await monitor.query<{ rows: string; unpublished: string }>(`SELECT count(*) AS rows, count(*) FILTER (WHERE published_at IS NULL) AS unpublished FROM ${namespace}.outbox`);
  const outboxRows = Number(outbox.rows[0]?.rows ?? 0);
  const unpublished = Number(outbox.rows[0]?.unpublished ?? 0);
  const lastHop = checkExactlyOnce(ids, arrivals);
  const ok = lastHop.ok && inboxRowsPerHop.every((rows) => rows === journeys) && outboxRows === journeys * path.length && unpublished === 0;
  return {
    journeys, seconds, journeysPerSecond: journeys / seconds, pgTransactions: xactAfter - xactBefore, pool: poolCounts, cpu, outcomes,
    exactlyOnce: { ok, lastHop: { ...lastHop, missing: lastHop.missing.slice(0, 10), unexpected: lastHop.unexpected.slice(0, 10), duplicates: lastHop.duplicates.slice(0, 10) }, inboxRowsPerHop, outboxRows, unpublished },
  };
}

/** A warm-up run (JIT, the broker's queue processes, Postgres' caches), then the measured one. */
async function measureFloor(monitor: pg.Client, label: string, batching: Batching): Promise<FloorRun> {
  if (warmUp > 0) await runFloor(monitor, `${label}-warm-up`, warmUp, batching);
  const run = await runFloor(monitor, label, messages, batching);
  log(`${label}: ${run.journeys} journeys through ${path.length} hops in ${round(run.seconds, 2)} s = ${round(run.journeysPerSecond)} /s, ${round(run.pgTransactions / run.journeys, 2)} pg tx per journey, exactly once: ${run.exactlyOnce.ok}`);
  return run;
}

async function main(): Promise<number> {
  log(`bench:floor: namespace ${namespace}, ${messages} messages of ${messageBytes} bytes, ${path.length} hops`);

  // 1. The broker alone, the same hops and message size.
  const limit = await brokerLimitRounds({ amqpUrl: env.amqpUrl, namespace, hops: path.length, messages, prefetch, messageBytes }, limitRounds, log);

  // 2. The floor: the hub's schema and topology, its consumers and relay, handlers that only hand off.
  const setup = createPool(env.databaseUrl, namespace, 1);
  try {
    await migrate(setup, namespace);
  } finally {
    await setup.end();
  }
  const monitor = new pg.Client({ connectionString: env.databaseUrl });
  await monitor.connect();
  let floor: FloorRun;
  let unbatched: FloorRun | undefined;
  try {
    floor = await measureFloor(monitor, 'floor', hubBatching);
    if (!args['no-unbatched']) unbatched = await measureFloor(monitor, 'floor-unbatched', { batchSize: 1 });
  } finally {
    await monitor.end();
  }

  const exactlyOnce = floor.exactlyOnce.ok && (unbatched?.exactlyOnce.ok ?? true);
  const summary = {
    limit_per_s: round(limit.journeysPerSecond),
    floor_per_s: round(floor.journeysPerSecond),
    floor_ratio: round(floor.journeysPerSecond / limit.journeysPerSecond, 4),
    ...(unbatched ? { floor_unbatched_per_s: round(unbatched.journeysPerSecond) } : {}),
    pg_tx_per_journey: round(floor.pgTransactions / floor.journeys, 2),
    machine_cpu_pct: round(floor.cpu.machine ?? Number.NaN),
    exactly_once: exactlyOnce,
  };
  printTable(limit, floor, unbatched);
  process.stdout.write(`${JSON.stringify(summary)}\n`);

  if (!quick) {
    const date = new Date().toISOString().slice(0, 10);
    const resultsDir = join(here, 'results');
    mkdirSync(resultsDir, { recursive: true });
    const details = (run: FloorRun) => ({ ...run, seconds: round(run.seconds, 3), journeysPerSecond: round(run.journeysPerSecond), pg_tx_per_journey: round(run.pgTransactions / run.journeys, 2), pool_tx_per_journey: round(run.pool.transactions / run.journeys, 2), machine_ms_per_journey: round(machineMsPerJourney(run), 2) });
    writeFileSync(join(resultsDir, `${date}-floor.json`), `${JSON.stringify({
      date: new Date().toISOString(), summary, namespace, messages, message_bytes: messageBytes, hops: path.length, warm_up: warmUp,
      seeding: 'all N in one outbox transaction', prefetch, batching: hubBatching, pool: workerPool,
      broker_limit: { median: round(limit.journeysPerSecond), rounds: limit.rounds },
      floor: details(floor), ...(unbatched ? { floor_unbatched: details(unbatched) } : {}),
      load_average: loadavg().map((v) => round(v, 2)),
    }, null, 2)}\n`);
    log(`wrote bench/results/${date}-floor.json`);
  }
  if (!exactlyOnce) {
    for (const run of [floor, unbatched]) if (run && !run.exactlyOnce.ok) log(`EXACTLY-ONCE FAILED: ${JSON.stringify(run.exactlyOnce)}`);
    return 1;
  }
  log(`exactly once: every journey reached the last hop once; ${messages} inbox rows per hop`);
  return 0;
}

function printTable(limit: BrokerLimitResult, floor: FloorRun, unbatched: FloorRun | undefined): void {
  const f = (v: number | undefined, w: number, d = 0) => (v !== undefined && Number.isFinite(v) ? v.toFixed(d) : '-').padStart(w);
  const lines = [
    // pg tx: the whole database's (every client, the relay's listener), then the run's pool's;
    // per consumer tx / per relay pass: messages each carried (5 per journey); CPU % of one core
    'run                         journeys  seconds  journeys/s   ratio  pg tx/j  pool tx/j  per consumer tx  per relay pass  machine %  pg %  rabbit %  bench %  machine ms/j',
    `${`broker limit (median of ${limitRounds})`.padEnd(26)}  ${f(limit.messages, 8)}  ${f(limit.seconds, 7, 2)}  ${f(limit.journeysPerSecond, 10, 1)}  ${f(1, 6, 3)}`,
  ];
  for (const [name, run] of [[`floor, batched (${batchSize})`, floor], ['floor, one per transaction', unbatched]] as const) {
    if (!run) continue;
    const messages = run.journeys * path.length;
    lines.push(`${name.padEnd(26)}  ${f(run.journeys, 8)}  ${f(run.seconds, 7, 2)}  ${f(run.journeysPerSecond, 10, 1)}  ${f(run.journeysPerSecond / limit.journeysPerSecond, 6, 3)}  `
      + `${f(run.pgTransactions / run.journeys, 7, 2)}  ${f(run.pool.transactions / run.journeys, 9, 2)}  ${f(messages / run.pool.consumerTransactions, 15, 2)}  ${f(messages / run.pool.relayPasses, 14, 1)}  `
      + `${f(run.cpu.machine, 9)}  ${f(run.cpu.postgres, 4)}  ${f(run.cpu.rabbitmq, 8)}  ${f(run.cpu.floor_process, 7)}  ${f(machineMsPerJourney(run), 12, 2)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/** The whole machine's CPU time per journey while the run went on (all cores, every process on it). */
const machineMsPerJourney = (run: FloorRun) => ((run.cpu.machine ?? Number.NaN) / 100) * 1000 / run.journeysPerSecond;


async function cleanup(): Promise<void> {
  await removeNamespace(env, topology).catch((error: unknown) => log(`cleanup: ${(error as Error).message}`));
}

// Interrupted too: the namespace removed. The consumers and relay still running then lose
// their queues and tables: not news.
runBench('bench:floor', main, cleanup, log, () => { logger.level = 'silent'; });
