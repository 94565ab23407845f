/**
 * The chaos run: the hub as separate processes on the harness's own RabbitMQ, Postgres and
 * Redis (each reached through a TCP proxy the harness can cut), a mixed stream of signed
 * webhooks and warehouse events with duplicates and out-of-order deliveries, faults injected
 * while it runs, then a drain and the checks of `checks.ts`.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath, readEnv } from '../core/config/env.ts';
import { topologyFor } from '../core/hub.ts';
import { easypostDelivered, startAmazonMarketplace, stripePaymentSucceeded, type Delivery } from '../demo/channels.ts';
import { deliveryFor, externalIdOf, orderGenerator, sendWithRetry, type ChannelName, type SendOutcome } from '../demo/store.ts';
import { startWarehouses, type SimulatedWarehouses } from '../demo/warehouses.ts';
import { removeNamespace } from '../test/support/env.ts';
import { startSmtpSink, type SmtpSink } from '../test/support/smtp-sink.ts';
import { judge, settledStatuses, type Expectation, type Observed, type Verdict } from './checks.ts';
import { faultKinds, faultSequence, seededRandom, serviceRestarts, type FaultKind } from './faults.ts';
import { freePort, migrateHub } from '../bench/hub-processes.ts';
import { pidOwningPort, superviseHub, type Supervisor } from './processes.ts';
import { sharedServices, startPrivateServices, throughProxy, type PrivateServices } from './services.ts';
import { startTcpProxy, type TcpProxy } from './tcp-proxy.ts';

export interface ChaosOptions {
  orders: number;
  workers: number;
  /** share of deliveries sent a second time (same delivery id) */
  duplicates: number;
  /** share of orders whose deliveries arrive out of order (payment first, update before create) */
  outOfOrder: number;
  /** orders per second the channels send */
  rate: number;
  /** seconds between faults */
  faultEverySeconds: number;
  seed: number;
  /** give up waiting for the hub to settle after this long */
  drainTimeoutSeconds: number;
  /**
   * Run on the machine's RabbitMQ, Postgres and Redis (the usual environment variables)
   * instead of private ones: no service restarts, only kills and cuts; the namespace is
   * removed afterwards.
   */
  shared?: boolean;
  log: (line: string) => void;
}

export interface ChaosResult {
  orders: number;
  webhooksAccepted: number;
  refused: number;
  lost: number;
  duplicated: number;
  stuck: number;
  negativeStock: number;
  stockMismatch: number;
  parked: number;
  /** hub processes that exited without being killed by the harness */
  crashes: number;
  /** errors of the harness itself during the run (its figures are then in doubt) */
  harnessErrors: string[];
  /** emails received again with the same Message-ID (a resend after a lost answer; see checks.ts) */
  emailResent: number;
  faults: Partial<Record<FaultKind, number>>;
  duration_s: number;
  seed: number;
  verdict: Verdict;
  drained: boolean;
  logDir: string;
}

export const defaultChaosOptions: Omit<ChaosOptions, 'log'> = {
  orders: 200, workers: 2, duplicates: 0.1, outOfOrder: 0.1, rate: 20, faultEverySeconds: 3, seed: Date.now() % 1_000_000, drainTimeoutSeconds: 300,
};


export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const log = (line: string) => options.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${line}`);
  const random = seededRandom(options.seed);
  const ns = `chaos_${process.pid}_${randomBytes(3).toString('hex')}`;
  const logDir = mkdtempSync(join(tmpdir(), 'hub-chaos-logs-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  let stopping = false;
  const onSignal = () => {
    log('interrupted: tearing down');
    stopping = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  // A fault surfacing as an uncaught error in the harness's own simulators must not leave
  // the services and hub processes behind: note it, finish, tear down, report it.
  const harnessErrors: string[] = [];
  const onUncaught = (error: Error) => {
    harnessErrors.push(error.message);
    log(`harness error: ${error.stack ?? error.message}`);
  };
  process.on('uncaughtException', onUncaught);
  try {
    const services: PrivateServices = options.shared ? sharedServices(readEnv()) : await startPrivateServices(log);
    const kinds = faultKinds.filter((k) => !options.shared || !serviceRestarts.includes(k));
    cleanups.push(() => services.stop());
    const proxies: Record<'amqp' | 'postgres' | 'redis', TcpProxy> = {
      amqp: await startTcpProxy(services.rabbitmq),
      postgres: await startTcpProxy(services.postgres),
      redis: await startTcpProxy(services.redis),
    };
    cleanups.push(() => Promise.all(Object.values(proxies).map((p) => p.close())));
    const smtp: SmtpSink = await startSmtpSink();
    cleanups.push(() => smtp.close());

    const secrets = {
      SHOPIFY_WEBHOOK_SECRET: randomBytes(12).toString('hex'),
      WOOCOMMERCE_WEBHOOK_SECRET: randomBytes(12).toString('hex'),
      WEBSITE_WEBHOOK_SECRET: randomBytes(12).toString('hex'),
      APP_WEBHOOK_SECRET: randomBytes(12).toString('hex'),
      AMAZON_SP_API_TOKEN: randomBytes(12).toString('hex'),
      EASYPOST_WEBHOOK_SECRET: randomBytes(12).toString('hex'),
      STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(12).toString('hex')}`,
    };
    const marketplace = await startAmazonMarketplace(secrets.AMAZON_SP_API_TOKEN);
    cleanups.push(() => marketplace.close());

    // The demo config, pointed at this run's marketplace and SMTP sink, with retries short
    // enough that a message that failed during a fault is retried within the drain.
    const demo = loadConfig(defaultConfigPath);
    const config = {
      ...demo,
      channels: demo.channels.map((c) => (c.connector === 'amazon' && c.poller
        ? { ...c, poller: { ...c.poller, baseUrl: `http://127.0.0.1:${marketplace.port}`, startAt: new Date(Date.now() - 10 * 60_000).toISOString() } }
        : c)),
      notifications: { ...demo.notifications, email: { host: smtp.host, port: smtp.port, from: 'orders@shop.example' } },
      retry: { delaysMs: [500, 1000, 2000, 4000, 8000], maxAttempts: 12 },
    };
    const configPath = join(logDir, 'config.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));

    const apiPort = await freePort();
    const adminToken = randomBytes(16).toString('hex');
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH, HOME: process.env.HOME,
      HUB_NAMESPACE: ns,
      AMQP_URL: throughProxy(services.urls.amqpUrl, proxies.amqp.port),
      DATABASE_URL: throughProxy(services.urls.databaseUrl, proxies.postgres.port),
      REDIS_URL: throughProxy(services.urls.redisUrl, proxies.redis.port),
      HUB_CONFIG: configPath,
      HUB_ADMIN_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      ...secrets,
    };
    log(`namespace ${ns}; hub logs in ${logDir}`);
    if (options.shared) {
      // on shared services the namespace is all that is left behind: take it away at the end
      const hubEnv = readEnv({ ...process.env, HUB_NAMESPACE: ns, AMQP_URL: services.urls.amqpUrl, DATABASE_URL: services.urls.databaseUrl, REDIS_URL: services.urls.redisUrl });
      cleanups.push(() => removeNamespace(hubEnv, topologyFor(ns, config)));
    }
    await migrateHub(env);
    const layout = [
      { name: 'api', role: 'api' as const, port: apiPort },
      ...Array.from({ length: options.workers }, (_, i) => ({ name: `worker-${i + 1}`, role: 'worker' as const })),
      { name: 'scheduler', role: 'scheduler' as const },
    ];
    const hub: Supervisor = superviseHub({ env, layout, logDir, restartDelayMs: 1000, log });
    cleanups.push(() => hub.stop());
    const base = () => `http://127.0.0.1:${apiPort}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${base()}/health`).then((r) => r.ok, () => false);
      if (ok) break;
      if (i > 600 || stopping) throw new Error('the API did not come up');
      await sleep(100);
    }
    // the workers declare the topology; the warehouses consume queues it contains
    const db = new pg.Pool({ connectionString: services.urls.databaseUrl, max: 3, options: `-c search_path=${ns}` });
    db.on('error', () => undefined);
    cleanups.push(() => db.end());
    const query = async <R extends pg.QueryResultRow>(text: string): Promise<R[]> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return (await db.query<R>(text)).rows;
        } catch (error) {
          if (attempt >= 30) throw error;
          await sleep(500); // Postgres restarting under us
        }
      }
    };
    await waitForQueues(services, ns, config.warehouses.map((w) => w.code), log);

    // ── the outside world ──
    const expectations: Expectation[] = [];
    const outcomes: SendOutcome[] = [];
    const inFlight = new Set<Promise<unknown>>();
    const track = (work: Promise<unknown>) => {
      inFlight.add(work);
      void work.finally(() => inFlight.delete(work));
    };
    const send = async (delivery: Delivery, expectation: Expectation | null): Promise<void> => {
      const outcome = await sendWithRetry(base, delivery, { attempts: 40, firstDelayMs: 250, maxDelayMs: 4000, retryRefused: false, stopped: () => stopping });
      outcomes.push(outcome);
      if (outcome.status === 'accepted' && expectation) expectations.push(expectation);
      if (outcome.status !== 'accepted') log(`${delivery.path}: ${outcome.status} after ${outcome.attempts} attempts (${outcome.lastStatus ?? 'no answer'}) ${outcome.detail?.slice(0, 200) ?? ''}`);
    };
    const expectedOnHand = new Map<string, number>();
    for (const s of config.stock) expectedOnHand.set(`${s.warehouse}/${s.sku}`, (expectedOnHand.get(`${s.warehouse}/${s.sku}`) ?? 0) + s.onHand);
    const warehouses: SimulatedWarehouses = await startWarehouses({
      amqpUrl: services.urls.amqpUrl, namespace: ns, warehouses: config.warehouses.map((w) => w.code),
      shipDelayMs: () => 200 + random() * 500,
      onShipped: ({ carrier, trackingNumber, request }) => {
        for (const l of request.lines) expectedOnHand.set(`${request.warehouse}/${l.sku}`, (expectedOnHand.get(`${request.warehouse}/${l.sku}`) ?? 0) - l.quantity);
        // the carrier reports the parcel delivered a moment later (EasyPost's webhook)
        track(sleep(500 + random() * 1000).then(() => send(easypostDelivered(carrier, trackingNumber, secrets.EASYPOST_WEBHOOK_SECRET), { kind: 'delivery', carrier, trackingCode: trackingNumber })));
      },
      log,
    });
    cleanups.push(() => warehouses.close());

    // ── faults ──
    const faults: Partial<Record<FaultKind, number>> = {};
    const nextFault = faultSequence(kinds, random);
    const workers = hub.processes.filter((p) => p.role === 'worker');
    async function inject(kind: FaultKind): Promise<void> {
      switch (kind) {
        case 'worker-kill': hub.kill(workers[Math.floor(random() * workers.length)]!.name); break;
        case 'api-kill': hub.kill('api'); break;
        case 'relay-kill': {
          const holder = await relayHolder();
          hub.kill(holder ?? workers[Math.floor(random() * workers.length)]!.name);
          if (!holder) log('relay-kill: no relay caught mid-batch; killed a random worker');
          break;
        }
        case 'rabbitmq-stop-app': await services.bounceRabbit(1000); break;
        case 'postgres-restart': await services.restartPostgres(); break;
        case 'redis-restart': await services.restartRedis(); break;
        case 'amqp-cut': proxies.amqp.cutAll(); break;
        case 'postgres-cut': proxies.postgres.cutAll(); break;
        case 'redis-cut': proxies.redis.cutAll(); break;
      }
      faults[kind] = (faults[kind] ?? 0) + 1;
    }
    /** The worker whose relay holds outbox rows right now (its transaction waits for confirms). */
    async function relayHolder(): Promise<string | undefined> {
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const rows = await query<{ port: number }>(
          `SELECT client_port AS port FROM pg_stat_activity WHERE application_name = '${ns}-hub' AND state = 'idle in transaction' AND query LIKE '%FROM outbox WHERE published_at IS NULL%'`).catch(() => []);
        for (const { port } of rows) {
          const clientPort = proxies.postgres.clientPortFor(port);
          const pid = clientPort === undefined ? undefined : pidOwningPort(clientPort, workers.map((w) => w.pid()).filter((p): p is number => p !== undefined));
          const worker = workers.find((w) => w.pid() === pid);
          if (worker) return worker.name;
        }
        await sleep(15);
      }
      return undefined;
    }
    let streaming = true;
    const faultLoop = (async () => {
      await sleep(options.faultEverySeconds * 1000);
      while (!stopping && (streaming || kinds.some((k) => !faults[k]))) {
        const kind = nextFault();
        log(`fault: ${kind}`);
        await inject(kind).catch((error: unknown) => log(`fault ${kind} failed: ${(error as Error).message}`));
        await sleep(options.faultEverySeconds * 1000);
      }
    })();

    // ── the stream ──
    const generate = orderGenerator(config.products, random);
    const channelMix: ChannelName[] = ['shopify', 'shopify', 'shopify', 'woocommerce', 'woocommerce', 'website', 'website', 'app', 'app', 'amazon'];
    let sent = 0;
    const adjustable = config.stock.filter((s) => config.products.some((p) => p.sku === s.sku));
    for (; sent < options.orders && !stopping; sent++) {
      const channel = generate.pick(channelMix);
      const order = generate.next(channel);
      if (channel === 'amazon') {
        expectations.push({ kind: 'order', channel: 'amazon', externalId: marketplace.sell(order) });
      } else {
        const delivery = deliveryFor(channel, order, secrets);
        const externalId = externalIdOf(channel, delivery);
        const expectation: Expectation = { kind: 'order', channel, externalId };
        const shuffled = random() < options.outOfOrder;
        const steps: (() => Promise<void>)[] = [() => send(delivery, expectation)];
        if (channel === 'shopify' && shuffled) {
          // the update overtakes the create (Shopify does not promise order)
          const update = { ...delivery, headers: { ...delivery.headers, 'x-shopify-topic': 'orders/updated', 'x-shopify-event-id': randomBytes(8).toString('hex') } };
          steps.unshift(() => send(update, expectation));
        }
        if (channel === 'website') {
          const payment = stripePaymentSucceeded(order, externalId, secrets.STRIPE_WEBHOOK_SECRET);
          const paymentId = (JSON.parse(payment.body) as { data: { object: { id: string } } }).data.object.id;
          const pay = () => send(payment, { kind: 'payment', provider: 'stripe', paymentId });
          if (shuffled) steps.unshift(pay); // paid before the order arrives
          else steps.push(pay);
          if (random() < options.duplicates) steps.push(pay);
        }
        if (random() < options.duplicates) steps.push(() => sleep(random() * 2000).then(() => send(delivery, expectation)));
        track((async () => {
          for (const step of steps) {
            await step();
            await sleep(50 + random() * 200);
          }
        })());
      }
      if (sent % 25 === 24) {
        // goods arrive at a warehouse now and then (scarce prints too, which frees backorders)
        const s = random() < 0.5 ? adjustable.find((a) => a.sku === 'LIMITED-PRINT') ?? generate.pick(adjustable) : generate.pick(adjustable);
        const event = { specversion: '1.0', id: `adjust-${ns}-${sent}`, source: `/chaos-wms/${s.warehouse}`, type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: s.warehouse, sku: s.sku, delta: 5, reason: 'receipt' } };
        expectedOnHand.set(`${s.warehouse}/${s.sku}`, (expectedOnHand.get(`${s.warehouse}/${s.sku}`) ?? 0) + 5);
        warehouses.publish(event);
        if (random() < options.duplicates) setTimeout(() => warehouses.publish(event), 300);
      }
      if (sent % 100 === 99) log(`sent ${sent + 1} orders; ${inFlight.size} deliveries in flight; ${warehouses.requests.size} shipments requested`);
      await sleep(1000 / options.rate);
    }
    streaming = false;
    log(`stream done: ${sent} orders; waiting for senders and the remaining faults`);
    await faultLoop;
    await hub.allRunning();

    // ── drain ──
    const drainStarted = Date.now();
    let quietSince: number | undefined;
    let lastFingerprint = '';
    let drained = false;
    let rounds = 0;
    while (!stopping && Date.now() - drainStarted < options.drainTimeoutSeconds * 1000) {
      await sleep(1000);
      const [state] = await query<{ outbox: number; due: number; unsettled: number; events: number; orders: number }>(
        `SELECT (SELECT count(*)::int FROM outbox WHERE published_at IS NULL) AS outbox,
                (SELECT count(*)::int FROM notifications WHERE status = 'scheduled' AND send_after <= now()) AS due,
                (SELECT count(*)::int FROM orders o WHERE status NOT IN (${[...settledStatuses].map((s) => `'${s}'`).join(',')})
                   AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.order_id = o.id AND e.status = 'open')) AS unsettled,
                (SELECT count(*)::int FROM order_events) AS events,
                (SELECT count(*)::int FROM orders) AS orders`);
      const queued = await queuedMessages(services, ns);
      const expectedOrders = new Set(expectations.flatMap((e) => (e.kind === 'order' ? [`${e.channel}:${e.externalId}`] : []))).size;
      const fingerprint = JSON.stringify([state, queued, inFlight.size, warehouses.pending()]);
      const busy = inFlight.size > 0 || warehouses.pending() > 0 || queued > 0 || (state?.outbox ?? 1) > 0 || (state?.due ?? 1) > 0;
      if (fingerprint !== lastFingerprint || busy) quietSince = undefined;
      else quietSince ??= Date.now();
      lastFingerprint = fingerprint;
      if (++rounds % 10 === 0) {
        log(`draining: ${state?.orders}/${expectedOrders} orders, ${state?.unsettled} unsettled, outbox ${state?.outbox}, queued ${queued}, notifications due ${state?.due}, senders ${inFlight.size}, warehouse pending ${warehouses.pending()}`);
      }
      if (!busy && (state?.unsettled === 0 || (quietSince !== undefined && Date.now() - quietSince > 15_000)) && (state?.orders ?? 0) >= expectedOrders) {
        drained = true;
        break;
      }
    }
    if (stopping) throw new Error('interrupted before the checks');
    if (!drained) log('the hub did not settle before the drain timeout; checking what is there');

    // ── checks ──
    const observed: Observed = {
      orders: await query<{ id: string; channel: string; externalId: string; status: string }>(`SELECT id, channel, external_id AS "externalId", status FROM orders`),
      orderLines: await query<{ orderId: string; sku: string; quantity: number }>(`SELECT order_id AS "orderId", sku, quantity FROM order_lines`),
      openExceptions: new Set((await query<{ id: string }>(`SELECT DISTINCT order_id AS id FROM exceptions WHERE status = 'open' AND order_id IS NOT NULL`)).map((r) => r.id)),
      reservations: await query<{ orderId: string; warehouse: string; sku: string; quantity: number; status: string }>(`SELECT order_id AS "orderId", warehouse, sku, quantity, status FROM reservations`),
      payments: await query<{ provider: string; paymentId: string; kind: string; orderId: string | null }>(`SELECT provider, payment_id AS "paymentId", kind, order_id AS "orderId" FROM payments`),
      refunds: await query<{ orderId: string; paymentId: string }>(`SELECT order_id AS "orderId", payment_id AS "paymentId" FROM refunds`),
      deliveredParcels: new Set((await query<{ key: string }>(`SELECT lower(carrier) || ':' || tracking_code AS key FROM parcels WHERE delivered_at IS NOT NULL`)).map((r) => r.key)),
      inventory: await query<{ warehouse: string; sku: string; onHand: number; reserved: number }>(`SELECT warehouse, sku, on_hand AS "onHand", reserved FROM inventory`),
    };
    const [{ parked } = { parked: 0 }] = await query<{ parked: number }>(`SELECT count(*)::int AS parked FROM dead_letters`);
    const verdict = judge({
      expectations,
      fulfilmentRequests: new Map([...warehouses.requests].map(([id, r]) => [id, r.eventIds])),
      emails: smtp.messages.map((m) => ({ key: headerText(m.parsed.headers.get('x-hub-notification')), messageId: m.parsed.messageId ?? '' })),
      expectedOnHand,
    }, observed);
    for (const [name, f] of Object.entries(verdict) as [string, Verdict[keyof Verdict]][]) {
      if (f.count > 0) log(`${name}: ${f.count}, e.g. ${f.examples.join('; ')}`);
    }
    return {
      orders: sent,
      webhooksAccepted: outcomes.filter((o) => o.status === 'accepted').length,
      refused: outcomes.filter((o) => o.status !== 'accepted').length,
      lost: verdict.lost.count,
      duplicated: verdict.duplicated.count,
      stuck: verdict.stuck.count,
      negativeStock: verdict.negativeStock.count,
      stockMismatch: verdict.stockMismatch.count,
      parked,
      emailResent: verdict.emailResent.count,
      crashes: hub.crashes(),
      harnessErrors,
      faults,
      duration_s: Math.round((Date.now() - started) / 1000),
      seed: options.seed,
      verdict,
      drained,
      logDir,
    };
  } finally {
    stopping = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('uncaughtException', onUncaught);
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error: unknown) => log(`teardown: ${(error as Error).message}`));
  }
}

const headerText = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Messages in the namespace's queues, ready or being handled (`rabbitmqctl list_queues`). */
async function queuedMessages(services: PrivateServices, ns: string): Promise<number> {
  const out = await services.rabbitctl('list_queues', '--no-table-headers', 'name', 'messages').catch(() => '');
  let total = 0;
  for (const line of out.split('\n')) {
    const [name, count] = line.trim().split(/\s+/);
    if (name?.startsWith(`${ns}.`) && !name.includes('.parked')) total += Number(count) || 0;
  }
  return total;
}

async function waitForQueues(services: PrivateServices, ns: string, warehouses: readonly string[], log: (line: string) => void): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const out = await services.rabbitctl('list_queues', '--no-table-headers', 'name').catch(() => '');
    if (warehouses.every((w) => out.includes(`${ns}.out.warehouse.${w}`))) return;
    await sleep(200);
  }
  log('warehouse queues not declared after 120 s');
}

