/**
 * `npm run demo [-- --orders N] [--rate R]`: the hub with its demo config, simulated sales
 * channels posting signed orders over HTTP (some duplicated, some for unknown or scarce
 * SKUs), Stripe paying the web shop's orders, simulated warehouses consuming their queues
 * (shipping, and receiving returns), a carrier reporting deliveries, and customers acting
 * after delivery (`after-sales.ts`). Prints live progress; with --orders it stops once N
 * orders have settled, prints a summary, and exits non-zero if any order was lost or sent
 * to a warehouse twice.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { readEnv } from '../core/config/env.ts';
import { loadConfig } from '../core/config/business.ts';
import { dropSchema } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { createLogger } from '../core/logger.ts';
import { deleteTopology } from '../core/messaging/broker.ts';
import { startHub, topologyFor } from '../core/hub.ts';
import { easypostDelivered, startAmazonMarketplace, stripePaymentSucceeded, type Delivery } from './channels.ts';
import { deliveryFor, externalIdOf, orderGenerator, sendWithRetry, type ChannelName } from './store.ts';
import { startWarehouses } from './warehouses.ts';
import { startAfterSales } from './after-sales.ts';

const { values } = parseArgs({
  options: { orders: { type: 'string' }, rate: { type: 'string', default: '25' }, 'keep-data': { type: 'boolean', default: false } },
});
const target = values.orders === undefined ? Infinity : Number(values.orders);
const rate = Number(values.rate);
if (!(target > 0) || !(rate > 0)) {
  console.error('usage: npm run demo -- [--orders N] [--rate orders-per-second]');
  process.exit(2);
}

// Every channel's secret: the environment's if set, else one made up for this run.
const secretOf = (name: string) => process.env[name] || `demo-${randomBytes(8).toString('hex')}`;
const secrets = {
  SHOPIFY_WEBHOOK_SECRET: secretOf('SHOPIFY_WEBHOOK_SECRET'),
  WOOCOMMERCE_WEBHOOK_SECRET: secretOf('WOOCOMMERCE_WEBHOOK_SECRET'),
  WEBSITE_WEBHOOK_SECRET: secretOf('WEBSITE_WEBHOOK_SECRET'),
  APP_WEBHOOK_SECRET: secretOf('APP_WEBHOOK_SECRET'),
  AMAZON_SP_API_TOKEN: secretOf('AMAZON_SP_API_TOKEN'),
  EASYPOST_WEBHOOK_SECRET: secretOf('EASYPOST_WEBHOOK_SECRET'),
  STRIPE_WEBHOOK_SECRET: secretOf('STRIPE_WEBHOOK_SECRET'),
};
const adminToken = process.env.HUB_ADMIN_TOKEN || `demo-${randomBytes(8).toString('hex')}`;
const env = readEnv({
  ...process.env,
  ...secrets,
  HUB_NAMESPACE: process.env.HUB_NAMESPACE || 'demo',
  HUB_ADMIN_TOKEN: adminToken,
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const loaded = loadConfig(env.configPath);
// The simulated Amazon marketplace listens on a free port; the poller is pointed at it.
const amazonChannel = loaded.channels.find((c) => c.connector === 'amazon' && c.poller);
const marketplace = amazonChannel ? await startAmazonMarketplace(secrets.AMAZON_SP_API_TOKEN) : undefined;
const config = {
  ...loaded,
  channels: loaded.channels.map((c) => (c === amazonChannel && c.poller && marketplace
    ? { ...c, poller: { ...c.poller, baseUrl: `http://127.0.0.1:${marketplace.port}`, startAt: new Date(Date.now() - 10 * 60_000).toISOString() } }
    : c)),
};
const ns = env.namespace;

// Start from a clean namespace so stock and counts are the demo's own — never someone else's.
if (!values['keep-data']) {
  if (!ns.startsWith('demo')) {
    console.error(`the demo resets its namespace; "${ns}" does not start with "demo". Set HUB_NAMESPACE=demo… or pass --keep-data.`);
    process.exit(2);
  }
  const db = createPool(env.databaseUrl, ns, 1);
  await dropSchema(db, ns);
  await db.end();
  await deleteTopology(env.amqpUrl, topologyFor(ns, config)).catch(() => {});
}

const hub = await startHub(env, { logger: createLogger({ level: env.logLevel, base: { ns } }), port: process.env.PORT ? env.port : 0, config });
const base = `http://127.0.0.1:${hub.port}`;
console.log(`order hub demo · namespace ${ns} · API ${base} (Authorization: Bearer ${adminToken})`);
console.log(`try: curl -s -H 'Authorization: Bearer ${adminToken}' ${base}/api/orders?status=on_hold`);

// ── simulated customers after delivery, and the operator at the exception desk ─────────
const afterSales = await startAfterSales({
  amqpUrl: env.amqpUrl, namespace: ns, base, adminToken,
  secrets: { website: secrets.WEBSITE_WEBHOOK_SECRET, app: secrets.APP_WEBHOOK_SECRET },
});

// ── simulated warehouses (accept, ship, receive returns) and the carrier ──────────────
// A split order gets one request per warehouse: duplicates are counted per shipment.
const ordersRequested = new Set<string>();
const receivedAt = new Map<string, number>();
const byWarehouse = new Map<string, number>();
const warehouses = await startWarehouses({
  amqpUrl: env.amqpUrl, namespace: ns, warehouses: config.warehouses.map((w) => w.code),
  onRequest: (request) => {
    ordersRequested.add(request.externalOrderId);
    if (!receivedAt.has(request.externalOrderId)) receivedAt.set(request.externalOrderId, Date.now());
    byWarehouse.set(request.warehouse, (byWarehouse.get(request.warehouse) ?? 0) + 1);
  },
  // a moment after the parcel leaves, the carrier reports it delivered (an EasyPost webhook)
  onShipped: ({ carrier, trackingNumber }) => {
    setTimeout(() => {
      if (!stopping) void deliver(easypostDelivered(carrier, trackingNumber, secrets.EASYPOST_WEBHOOK_SECRET));
    }, 300 + Math.random() * 700);
  },
});
const requestsByShipment = () => [...warehouses.requests.values()].map((r) => r.deliveries);

// ── simulated sales channels ────────────────────────────────────────────────────────
// How the demo's sales split across channels (Amazon only when its poller can run).
const channelMix: ChannelName[] = ['shopify', 'shopify', 'shopify', 'woocommerce', 'woocommerce', 'website', 'website', 'app', 'app', ...(marketplace ? ['amazon' as const] : [])];
const generator = orderGenerator(config.products);
const sentAt = new Map<string, number>();
const sentBy = new Map<ChannelName, number>();
let sent = 0;
let duplicatesSent = 0;
let paymentsSent = 0;
let rejectedByHub = 0;

async function deliver(delivery: Delivery): Promise<void> {
  // Retry like the platforms do: anything but a 2xx or 4xx is sent again, unchanged.
  const outcome = await sendWithRetry(() => base, delivery);
  if (outcome.status === 'refused') {
    rejectedByHub++;
    console.error(`\n${delivery.path} refused: ${outcome.detail ?? outcome.lastStatus}`);
  }
}

const inFlight = new Set<Promise<void>>();
const storeTimer = setInterval(() => {
  if (sent >= target) return;
  const channel = generator.pick(channelMix);
  const order = generator.next(channel);
  sent++;
  sentBy.set(channel, (sentBy.get(channel) ?? 0) + 1);
  if (channel === 'amazon') {
    if (marketplace) sentAt.set(marketplace.sell(order), Date.now()); // the hub's poller fetches it
    return;
  }
  const delivery = deliveryFor(channel, order, secrets);
  const externalId = externalIdOf(channel, delivery);
  sentAt.set(externalId, Date.now());
  const deliveries = [deliver(delivery)];
  if (channel === 'website') {
    // Stripe's webhook comes shortly after the order, or now and then before it.
    const payment = stripePaymentSucceeded(order, externalId, secrets.STRIPE_WEBHOOK_SECRET);
    paymentsSent++;
    deliveries.push(new Promise((r) => setTimeout(r, Math.random() < 0.2 ? 0 : 100 + Math.random() * 300)).then(() => deliver(payment)));
  }
  if (Math.random() < 0.1) {
    duplicatesSent++;
    deliveries.push(deliver(delivery)); // an at-least-once platform delivers twice
  }
  const work = Promise.all(deliveries).then(() => {});
  inFlight.add(work);
  void work.finally(() => inFlight.delete(work));
}, 1000 / rate);

// ── live progress ───────────────────────────────────────────────────────────────────
// where the hub's automatic work ends: delivered (the customer may still act), completed or
// returned, or waiting for a person (on hold, backordered)
const settledStatuses = ['delivered', 'completed', 'returned', 'on_hold', 'backordered', 'rejected', 'cancelled'];
const started = Date.now();
async function statusCounts(): Promise<Record<string, number>> {
  const { rows } = await hub.db.query<{ status: string; n: number }>('SELECT status, count(*) AS n FROM orders GROUP BY status');
  return Object.fromEntries(rows.map((r) => [r.status, r.n]));
}
async function progress(): Promise<{ settled: number; counts: Record<string, number> }> {
  const counts = await statusCounts();
  const settled = settledStatuses.reduce((s, k) => s + (counts[k] ?? 0), 0);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const seconds = (Date.now() - started) / 1000;
  const line = [
    `[${seconds.toFixed(0).padStart(3)}s]`,
    `sent ${sent} (+${duplicatesSent} dup)`,
    `orders ${total}`,
    ...Object.entries(counts).sort().map(([k, v]) => `${k} ${v}`),
    `to warehouses ${requestsByShipment().reduce((a, b) => a + b, 0)}`,
    `${(total / seconds).toFixed(1)} orders/s`,
  ].join(' · ');
  process.stdout.write(process.stdout.isTTY ? `\r${line}\x1b[K` : `${line}\n`);
  return { settled, counts };
}

let stopping = false;
async function finish(code: number): Promise<never> {
  stopping = true;
  clearInterval(storeTimer);
  clearInterval(progressTimer);
  await Promise.allSettled([...inFlight]);
  await afterSales.close();
  await warehouses.close();
  await marketplace?.close();
  await hub.stop();
  process.exit(code);
}
process.on('SIGINT', () => void finish(0));
process.on('SIGTERM', () => void finish(0));

const progressTimer = setInterval(() => {
  if (stopping) return;
  void progress().then(async ({ settled, counts }) => {
    if (target === Infinity || sent < target || settled < target || inFlight.size > 0) return;
    // …and after-sales has run its course: every delivered order heard of, every return closed
    const { rows: [open] } = await hub.db.query<{ delivered: number; returns: number }>(
      `SELECT (SELECT count(DISTINCT order_id)::int FROM order_events WHERE type = 'order.delivered') AS delivered,
              (SELECT count(*)::int FROM returns WHERE status NOT IN ('refunded', 'exchanged', 'rejected')) AS returns`);
    if (afterSales.busy() || afterSales.heard() < (open?.delivered ?? 0) || (open?.returns ?? 0) > 0) return;

    stopping = true;
    process.stdout.write('\n');
    const twice = requestsByShipment().filter((n) => n > 1).length;
    const latencies = [...receivedAt].map(([id, at]) => at - (sentAt.get(id) ?? at)).sort((a, b) => a - b);
    const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? 0;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    const lost = sent - rejectedByHub - total;
    const { rows: exceptions } = await hub.db.query<{ type: string; n: number }>(`SELECT type, count(*) AS n FROM exceptions WHERE status = 'open' GROUP BY type ORDER BY type`);
    console.log('\nsummary');
    console.log(`  orders sent ${sent} (${[...sentBy].map(([k, v]) => `${k} ${v}`).join(', ')}), duplicate deliveries ${duplicatesSent}, refused by the hub ${rejectedByHub}`);
    console.log(`  orders in the hub ${total}: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(', ')}`);
    console.log(`  fulfilment requests: ${[...byWarehouse].map(([k, v]) => `${k} ${v}`).join(', ')}; shipments requested twice: ${twice}`);
    const { rows: [ledger] } = await hub.db.query<{ recorded: number; matched: number }>(
      `SELECT count(*)::int AS recorded, count(order_id)::int AS matched FROM payments WHERE provider = 'stripe'`);
    console.log(`  payments: Stripe webhooks sent ${paymentsSent}, recorded ${ledger?.recorded ?? 0}, matched to their orders ${ledger?.matched ?? 0}`);
    console.log(`  open exceptions for a person: ${exceptions.map((e) => `${e.type} ${e.n}`).join(', ') || 'none'}`);
    const c = afterSales.counts;
    const { rows: [rmas] } = await hub.db.query<{ n: number; refunded: number; restocked: number }>(
      `SELECT count(DISTINCT r.id)::int AS n, count(DISTINCT r.id) FILTER (WHERE r.status = 'refunded')::int AS refunded, coalesce(sum(l.resellable_quantity), 0)::int AS restocked
         FROM returns r LEFT JOIN return_lines l ON l.return_id = r.id`);
    console.log(`  after delivery (website, app): ${c.delivered} customers told; ${c.confirmed} confirmed receipt, ${c.rated} rated (average ${c.rated ? (c.ratingSum / c.rated).toFixed(1) : '-'}); returns ${rmas?.n ?? 0} (refunded ${rmas?.refunded ?? 0}, ${rmas?.restocked ?? 0} units back in stock, ${c.labelsAttached} labels attached by the operator)`);
    const today = new Intl.DateTimeFormat('en-CA', { timeZone: hub.config.reports?.timeZone ?? 'UTC' }).format(new Date());
    const report = await fetch(`${base}/api/reports/daily?date=${today}&fresh=true`, { headers: { authorization: `Bearer ${adminToken}` } });
    if (report.ok) {
      const { total: k } = (await report.json()) as { total: { orders: number; gmv: Record<string, number>; processingSeconds: { toRelease: { p50: number | null; p90: number | null }; toShipment: { p50: number | null } }; onTimeShipment: { rate: number | null }; returns: { rate: number | null }; satisfaction: { averageRating: number | null } } };
      const pct = (r: number | null) => (r === null ? '-' : `${Math.round(r * 100)}%`);
      const secs = (v: number | null) => (v === null ? '-' : `${v.toFixed(1)} s`);
      console.log(`  today's report (GET /api/reports/daily): ${k.orders} orders, GMV ${Object.entries(k.gmv).map(([cur, v]) => `${(v / 100).toFixed(2)} ${cur}`).join(', ')}; receipt → release p50 ${secs(k.processingSeconds.toRelease.p50)}, p90 ${secs(k.processingSeconds.toRelease.p90)}; → shipment p50 ${secs(k.processingSeconds.toShipment.p50)}; on-time shipment ${pct(k.onTimeShipment.rate)}; return rate ${pct(k.returns.rate)}; average rating ${k.satisfaction.averageRating?.toFixed(1) ?? '-'}`);
    }
    console.log(`  sale → warehouse latency (Amazon adds its poll interval): p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, p99 ${pct(0.99)} ms`);
    console.log(`  lost ${lost}, duplicated ${twice}`);
    await finish(lost === 0 && twice === 0 ? 0 : 1);
  });
}, 1000);
