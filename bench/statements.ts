/**
 * `npx tsx bench/statements.ts [--orders N] [--burst K] [--warm-up N] [--verbose]`: the
 * hub's Postgres round trips per order, a figure the machine's load does not move. A
 * counter on `pg.Client.prototype.query` in this process; an in-process hub (api + worker
 * roles, the bench's config, a namespace of its own, removed at the end) takes signed
 * Shopify orders one at a time (or K at once with --burst), each waited for at the
 * warehouse queue and until the hub is idle. One at a time, every message is its own relay
 * pass and its own transaction — the low-rate case, the worst for round trips; a burst
 * shows what batching saves when deliveries wait together, as they do under load. Prints
 * statements and transactions per order, per stage (the transaction's inbox consumer, the
 * relay; a statement sent alone, outside a transaction — the webhook's, those of the stages
 * that call other systems — by its function) and, with --verbose, per SQL function. The relay's idle polls (a
 * claim that found nothing) are counted apart: their number depends on time, not orders.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import amqp from 'amqplib';
import pg from 'pg';
import { startHub } from '../core/hub.ts';
import { readEnv } from '../core/config/env.ts';
import { createLogger } from '../core/logger.ts';
import { names } from '../core/messaging/topology.ts';
import { removeNamespace } from '../test/support/env.ts';
import { benchConfig, benchWarehouses } from './config.ts';
import { orderIds, shopifyWebhook } from './orders.ts';
import { startWarehouseSink } from './warehouse-sink.ts';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '20' },
    burst: { type: 'string', default: '1' },
    'warm-up': { type: 'string', default: '3' },
    verbose: { type: 'boolean', default: false },
  },
});
const orders = Number(args.orders);
const warmUp = Number(args['warm-up']);
const burst = Math.max(1, Number(args.burst));

interface Statement { fn: string; text: string; rows?: number; consumer?: string }

/** Where a statement came from: the first frame in the hub's code that is not the pool. */
function callerOf(stack: string): string {
  for (const line of stack.split('\n').slice(2)) {
    const m = /at (?:async )?(?:(\S+) \()?(?:file:\/\/)?[^()]*?\/(core\/[^():]+):\d+/.exec(line);
    if (m && m[2] !== 'core/db/pool.ts') return `${m[2]}${m[1] ? ` ${m[1]}` : ''}`;
  }
  return outside;
}
const outside = '(outside core)';

const ignored = new WeakSet<pg.Client>();
const counts = { statements: 0, transactions: 0, idlePolls: 0 };
const byStage = new Map<string, { statements: number; transactions: number }>();
const byFn = new Map<string, number>();
const open = new WeakMap<pg.Client, Statement[]>();
let counting = false;

function settle(stage: string, statements: readonly Statement[], transaction: boolean): void {
  if (!counting) return;
  const s = byStage.get(stage) ?? { statements: 0, transactions: 0 };
  s.statements += statements.length;
  if (transaction) s.transactions += 1;
  byStage.set(stage, s);
  counts.statements += statements.length;
  if (transaction) counts.transactions += 1;
  for (const st of statements) byFn.set(st.fn, (byFn.get(st.fn) ?? 0) + 1);
}

function stageOf(statements: readonly Statement[]): string {
  const inbox = statements.find((s) => s.consumer);
  if (inbox?.consumer) return inbox.consumer.replace(/^[^.]*\./, '');
  if (statements.some((s) => s.fn.includes('takePendingMessages'))) return 'relay';
  return statements.find((s) => !/^(BEGIN|COMMIT|ROLLBACK)/i.test(s.text))?.fn ?? '(empty)';
}

// A statement sent through the pool itself (no transaction: the webhook's raw insert, the
// stages that call other systems) reaches the client from pg-pool's callbacks, where the
// stack no longer shows the hub's caller: the pool's wrapper notes it for the client's.
const poolCaller = new AsyncLocalStorage<string>();
// eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with the pool as `this`
const poolQuery = pg.Pool.prototype.query;
pg.Pool.prototype.query = function noted(this: pg.Pool, ...callArgs: unknown[]) {
  return poolCaller.run(callerOf(new Error().stack ?? ''), () => (poolQuery as (...a: unknown[]) => unknown).apply(this, callArgs));
} as typeof pg.Pool.prototype.query;

// eslint-disable-next-line @typescript-eslint/unbound-method -- kept to be called with each client as `this`
const original = pg.Client.prototype.query;
// The counter wraps every query of every client in this process, except its own.
pg.Client.prototype.query = function counted(this: pg.Client, ...callArgs: unknown[]) {
  if (ignored.has(this)) return (original as (...a: unknown[]) => unknown).apply(this, callArgs);
  const config = callArgs[0] as string | { text?: string; values?: unknown[] };
  const text = typeof config === 'string' ? config : config?.text ?? '';
  const values = (Array.isArray(callArgs[1]) ? callArgs[1] : typeof config === 'object' ? config?.values : undefined) as unknown[] | undefined;
  const caller = callerOf(new Error().stack ?? '');
  const statement: Statement = { fn: caller === outside ? poolCaller.getStore() ?? caller : caller, text: text.trim().replace(/\s+/g, ' ').slice(0, 80) };
  if (/^INSERT INTO inbox/i.test(statement.text) && typeof values?.[0] === 'string') statement.consumer = values[0];
  const verb = statement.text.split(' ')[0]?.toUpperCase();
  if (verb === 'BEGIN') open.set(this, [statement]);
  else if (open.has(this)) open.get(this)!.push(statement);
  if (verb === 'COMMIT' || verb === 'ROLLBACK') {
    const tx = open.get(this) ?? [statement];
    open.delete(this);
    const claim = tx.find((s) => s.fn.includes('takePendingMessages'));
    if (tx.length === 3 && claim && claim.rows === 0) {
      if (counting) counts.idlePolls += 1;
    } else settle(stageOf(tx), tx, true);
  } else if (!open.has(this)) settle(statement.fn, [statement], false);
  // note the row count of a relay claim, so an idle poll can be told from a pass that sent
  const last = callArgs[callArgs.length - 1];
  if (typeof last === 'function') {
    callArgs[callArgs.length - 1] = (error: unknown, result: pg.QueryResult | undefined) => {
      statement.rows = result?.rowCount ?? 0;
      (last as (e: unknown, r: unknown) => void)(error, result);
    };
    return (original as (...a: unknown[]) => unknown).apply(this, callArgs);
  }
  const result = (original as (...a: unknown[]) => unknown).apply(this, callArgs);
  if (result instanceof Promise) {
    return result.then((r: pg.QueryResult) => {
      statement.rows = r?.rowCount ?? 0;
      return r;
    });
  }
  return result;
} as typeof pg.Client.prototype.query;

const namespace = `bench_${randomBytes(4).toString('hex')}`;
const secret = randomBytes(16).toString('hex');
const env = readEnv({ ...process.env, HUB_NAMESPACE: namespace, SHOPIFY_WEBHOOK_SECRET: secret, HUB_ADMIN_TOKEN: randomBytes(16).toString('hex'), PORT: '0', LOG_LEVEL: 'warn' });
const hub = await startHub(env, { roles: ['api', 'worker'], port: 0, logger: createLogger({ level: 'warn' }), config: benchConfig() });
const probe = new pg.Client({ connectionString: env.databaseUrl, options: `-c search_path=${namespace}` });
ignored.add(probe);
await probe.connect();
const amqpConnection = await amqp.connect(env.amqpUrl);
const channel = await amqpConnection.createChannel();
const sink = await startWarehouseSink(env.amqpUrl, benchWarehouses.map((code) => names(namespace).warehouse(code)));

/** Until the outbox is published and every stage queue empty, three looks in a row. */
async function idle(): Promise<void> {
  for (let quiet = 0; quiet < 3;) {
    const { rows } = await probe.query<{ n: string }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
    let busy = Number(rows[0]?.n ?? 0) > 0;
    for (const q of hub.topology.queues.filter((q) => q.name.includes('.stage.'))) {
      if ((await channel.checkQueue(q.name)).messageCount > 0) busy = true;
    }
    quiet = busy ? 0 : quiet + 1;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const nextId = orderIds();
/** `count` orders sent at once, waited for at the warehouse queue, then until the hub is idle. */
async function placeOrders(count: number): Promise<void> {
  const webhooks = Array.from({ length: count }, () => shopifyWebhook(nextId(), secret));
  await Promise.all(webhooks.map(async (webhook) => {
    const response = await hub.app.request('/webhooks/orders/shopify', { method: 'POST', body: webhook.body, headers: webhook.headers });
    if (response.status !== 200) throw new Error(`webhook answered ${response.status}: ${await response.text()}`);
  }));
  const wanted = new Set(webhooks.map((w) => w.externalId));
  const arrived = await sink.until((a) => a.filter((x) => wanted.has(x.externalId)).length >= wanted.size, 60_000);
  if (!arrived) throw new Error(`not all of ${count} orders reached the warehouse`);
  await idle();
}

let exitCode = 0;
try {
  for (let i = 0; i < warmUp; i++) await placeOrders(1);
  counting = true;
  for (let placed = 0; placed < orders; placed += burst) await placeOrders(Math.min(burst, orders - placed));
  counting = false;
  const per = (n: number) => (n / orders).toFixed(2);
  process.stdout.write(`${orders} orders, ${burst === 1 ? 'one at a time' : `${burst} at once`}: ${per(counts.statements)} statements, ${per(counts.transactions)} transactions per order (+ ${counts.idlePolls} idle relay polls in all, not counted)\n\n`);
  // a stage, or a statement sent alone (no transaction) named by its function
  const width = Math.max(26, ...[...byStage.keys()].map((k) => k.length + 2));
  process.stdout.write(`${'stage'.padEnd(width)}statements/order  transactions/order\n`);
  for (const [stage, s] of [...byStage].sort((a, b) => b[1].statements - a[1].statements)) {
    process.stdout.write(`${stage.padEnd(width)}${per(s.statements).padStart(16)}${per(s.transactions).padStart(20)}\n`);
  }
  if (args.verbose) {
    process.stdout.write('\nper SQL function (statements/order)\n');
    for (const [fn, n] of [...byFn].sort((a, b) => b[1] - a[1])) process.stdout.write(`${per(n).padStart(7)}  ${fn}\n`);
  }
  process.stdout.write(`${JSON.stringify({ orders, burst, statements_per_order: Number(per(counts.statements)), transactions_per_order: Number(per(counts.transactions)) })}\n`);
} catch (error) {
  process.stderr.write(`statements: ${(error as Error).message}\n`);
  exitCode = 2;
} finally {
  await sink.close();
  await amqpConnection.close().catch(() => {});
  await probe.end().catch(() => {});
  await hub.stop();
  await removeNamespace(env, hub.topology);
}
process.exit(exitCode);
