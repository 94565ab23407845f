import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { amazon } from '../connectors/amazon.ts';
import { amazonAccessFrom, createLwaTokenSource, type AccessTokenSource } from '../connectors/amazon-lwa.ts';
import { shopify } from '../connectors/shopify.ts';
import { app as appConnector, website } from '../connectors/website.ts';
import { woocommerce } from '../connectors/woocommerce.ts';
import type { OrderConnector } from '../connectors/types.ts';
import type { PaymentConnector } from '../connectors/payments/types.ts';
import type { CarrierConnector } from '../connectors/carriers/types.ts';
import { aftership } from '../connectors/carriers/aftership.ts';
import { easypost } from '../connectors/carriers/easypost.ts';
import { createWarehousePushClient } from '../connectors/warehouses/http-push.ts';
import { adyen } from '../connectors/payments/adyen.ts';
import { stripe } from '../connectors/payments/stripe.ts';
import { alipay } from '../connectors/payments/alipay.ts';
import { paypal } from '../connectors/payments/paypal.ts';
import type { HubConfig } from '../schemas/config.ts';
import type { Channel } from './inbound.ts';
import { createApp } from '../routes/app.ts';
import { createLogger } from './logger.ts';
import { loadConfig } from './config/business.ts';
import type { HubEnv } from './config/env.ts';
import { migrate } from './db/migrate.ts';
import { createPool, retryWhileUnreachable, type Db } from './db/pool.ts';
import { escalateOverdueExceptions } from './stages/escalation.ts';
import { seedReferenceData } from './db/sql/reference.ts';
import { isPostgresTimeZone } from './db/sql/reports.ts';
import { assertTopology, createBroker, type Broker } from './messaging/broker.ts';
import { createConsumer, type CallingStage, type Consumer, type ConsumerOptions, type Handler } from './messaging/consume.ts';
import { createRelay, type Relay } from './messaging/relay.ts';
import { hubTopology, names, type Stage, type Topology } from './messaging/topology.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createRedis } from './redis/client.ts';
import { createDeliveryDedupe } from './redis/dedupe.ts';
import { createFlowCounters } from './redis/flow-counters.ts';
import { createQueueProbe } from './messaging/queue-probe.ts';
import { registerFlowMetrics } from './flow-metrics.ts';
import { createAmazonPoller } from './pollers/amazon.ts';
import type { Job } from './scheduling/jobs.ts';
import { startScheduler } from './scheduling/scheduler.ts';
import type { StageContext } from './stages/context.ts';
import { normalizeStage } from './stages/normalize.ts';
import { allocateStage, allocationLocks, releaseStage, validateStage } from './stages/order-stages.ts';
import { createParkedQueueDrain, createParkingRecorder } from './stages/parking.ts';
import { remediesStage } from './stages/remedies.ts';
import { reconcileStage } from './stages/reconcile.ts';
import { refundsStage, reportUnconfirmedRefunds } from './stages/refunds.ts';
import { cancellationsStage } from './stages/fulfilment.ts';
import { requestReviewReminders } from './stages/review-reminders.ts';
import { storeDailyReports } from './reports/daily.ts';
import { autoCompleteOrders } from './stages/completion.ts';
import { archiveFinishedOrders } from './stages/archive.ts';
import { reportLogisticsDelays, trackingStage } from './stages/tracking.ts';
import { createAdyenRefundClient, createStripeRefundClient, type RefundClient } from '../connectors/payments/refunds.ts';
import { cancelUnpaidOrders, reportUnmatchedPayments } from './stages/payment-jobs.ts';
import { expireUnmatchedPayments } from './stages/payment-expiry.ts';
import { watchSlas } from './stages/sla-watchdog.ts';
import { sweepLowStock } from './stages/low-stock.ts';
import { backordersStage, warehouseEventsStage, warehouseWebhooksStage } from './stages/stock.ts';
import { warehousePushStage } from './stages/warehouse-push.ts';
import { returnsStage } from './stages/returns.ts';
import { exceptionActionsStage } from './stages/exception-actions.ts';
import { returnLabelClientFor } from '../connectors/carriers/labels.ts';
import { notificationSenders, notificationsStage, sendDueNotifications } from './stages/notifications.ts';
import type { NotificationSender } from './notify/senders.ts';
import { rememberingSends } from './notify/sent-marks.ts';
import { referenceCache } from './stages/reference-cache.ts';
import type { Channel as NotifyChannel } from './notify/preferences.ts';

export type Role = 'api' | 'worker' | 'scheduler';
export const allRoles: readonly Role[] = ['api', 'worker', 'scheduler'];

/** The providers' refund APIs the config and the environment make available. */
function refundClients(config: HubConfig, secrets: Readonly<Record<string, string>>): Map<string, RefundClient> {
  const clients = new Map<string, RefundClient>();
  const stripe = config.payments?.refunds?.stripe;
  if (stripe && secrets.STRIPE_API_KEY) clients.set('stripe', createStripeRefundClient({ baseUrl: stripe.baseUrl, apiKey: secrets.STRIPE_API_KEY }));
  const adyen = config.payments?.refunds?.adyen;
  if (adyen && secrets.ADYEN_API_KEY) clients.set('adyen', createAdyenRefundClient({ baseUrl: adyen.baseUrl, apiKey: secrets.ADYEN_API_KEY, merchantAccount: adyen.merchantAccount }));
  return clients;
}

/** Carriers and tracking services by name, as `POST /webhooks/carriers/:carrier` names them. */
const carrierConnectors: Record<string, CarrierConnector> = { easypost, aftership };

/** Payment providers by name, as `POST /webhooks/payments/:provider` names them. */
const paymentConnectors: Record<string, PaymentConnector> = { stripe, adyen, paypal, alipay };

/** Inbound order connectors by name, as the config's channels refer to them. */
const orderConnectors: Record<string, OrderConnector> = { shopify, woocommerce, amazon, website, app: appConnector };

/**
 * The pipeline stages whose every effect is in Postgres share a transaction among the
 * deliveries that wait at the same moment (consume.ts): under load one commit, one inbox
 * statement and one WAL flush carry up to five deliveries instead of one. Normalize,
 * validate and release lock one order row each: four batches run side by side.
 * Allocation also locks the stock rows of the order's SKUs, which two batches could take
 * in different orders: its batches take all their rows first, in one fixed order
 * (`allocationLocks`), and only two run at once — a popular SKU's row is one queue, and
 * each waiting batch holds a pooled connection. Not the stages that call other systems.
 */
function batchingFor(namespace: string, queue: string): Pick<ConsumerOptions, 'batchSize' | 'concurrentBatches' | 'lockAhead'> {
  const n = names(namespace);
  if ([n.stage('normalize'), n.stage('validate'), n.stage('release')].includes(queue)) return { batchSize: 5, concurrentBatches: 4 };
  if (queue === n.stage('allocate')) return { batchSize: 5, concurrentBatches: 2, lockAhead: allocationLocks };
  return {};
}

export interface HubOptions {
  roles?: readonly Role[];
  logger?: Logger;
  /** overrides the config's retry policy (tests use short delays) */
  retry?: HubConfig['retry'];
  /** overrides the config file (tests) */
  config?: HubConfig;
  /** listen on this port instead of env.port (0 = any free port) */
  port?: number;
  now?: () => Date;
}

export interface Hub {
  namespace: string;
  config: HubConfig;
  topology: Topology;
  db: Db;
  redis: Redis;
  broker: Broker | undefined;
  relay: Relay | undefined;
  app: Hono;
  metrics: Metrics;
  logger: Logger;
  /** what the stages work with (config, connectors, clock, ids): for jobs run by hand */
  ctx: StageContext;
  /** the scheduled jobs (every role has the list; only the scheduler role runs them on their schedules) */
  jobs: readonly Job[];
  /** the HTTP port actually listened on, when the api role runs */
  port: number | undefined;
  stop(): Promise<void>;
}

/**
 * The hub's scheduled jobs, as data: exceptions (escalation, SLA watchdog, low stock),
 * payments (timeout, unmatched, expiry), logistics delays, notifications, after-sales
 * (review reminders, auto-complete), the daily report, the archive, and a poll job per
 * polled channel (a channel without its token is skipped, loudly). Each runs once per tick
 * across replicas; schedules are UTC unless a job names its time zone.
 */
function scheduledJobs(deps: { db: Db; namespace: string; config: HubConfig; secrets: Readonly<Record<string, string>>; logger: Logger; now: () => Date; newId: () => string; ctx: StageContext; senders: ReadonlyMap<NotifyChannel, NotificationSender> }): Job[] {
  const jobs: Job[] = [
    { name: 'exception-escalation', schedule: '* * * * *', lockMs: 50_000, run: () => escalateOverdueExceptions(deps.db, deps.ctx) },
    { name: 'sla-watchdog', schedule: '* * * * *', lockMs: 50_000, run: () => watchSlas(deps.db, deps.ctx) },
    { name: 'low-stock', schedule: '*/15 * * * *', lockMs: 5 * 60_000, run: () => sweepLowStock(deps.db, deps.ctx) },
    { name: 'payment-timeout', schedule: '* * * * *', lockMs: 50_000, run: () => cancelUnpaidOrders(deps.db, deps.ctx) },
    { name: 'unmatched-payments', schedule: '*/5 * * * *', lockMs: 50_000, run: () => reportUnmatchedPayments(deps.db, deps.ctx) },
    { name: 'unmatched-payment-expiry', schedule: '23 * * * *', lockMs: 5 * 60_000, run: () => expireUnmatchedPayments(deps.db, deps.ctx) },
    { name: 'unconfirmed-refunds', schedule: '37 * * * *', lockMs: 5 * 60_000, run: () => reportUnconfirmedRefunds(deps.db, deps.ctx) },
    { name: 'logistics-delay', schedule: '*/10 * * * *', lockMs: 50_000, run: () => reportLogisticsDelays(deps.db, deps.ctx) },
    { name: 'notifications', schedule: '* * * * *', lockMs: 50_000, run: () => sendDueNotifications(deps.db, deps.ctx, deps.senders) },
    { name: 'review-reminders', schedule: '17 * * * *', lockMs: 5 * 60_000, run: () => requestReviewReminders(deps.db, deps.ctx) },
    // Shortly after midnight where the report's days are counted.
    { name: 'daily-report', schedule: '15 0 * * *', timeZone: deps.config.reports?.timeZone ?? 'UTC', lockMs: 10 * 60_000, run: () => storeDailyReports(deps.db, deps.ctx) },
    { name: 'auto-complete', schedule: '41 * * * *', lockMs: 10 * 60_000, run: () => autoCompleteOrders(deps.db, deps.ctx) },
    { name: 'archive', schedule: '40 3 * * *', lockMs: 15 * 60_000, run: () => archiveFinishedOrders(deps.db, deps.ctx) },
  ];
  // LWA access tokens live an hour: with the LWA credentials set, the pollers refresh them,
  // all channels through one source (the credentials are the hub's, not a channel's).
  const access = amazonAccessFrom(deps.secrets, amazon.secretName);
  let lwa: AccessTokenSource | undefined;
  for (const channel of deps.config.channels) {
    if (channel.enabled === false || channel.connector !== 'amazon' || !channel.poller) continue;
    if (access.kind === 'none') {
      deps.logger.warn({ channel: channel.code }, `the ${channel.code} poller does not run: ${access.warning}`);
      continue;
    }
    if (access.kind === 'static' && access.warning !== null) deps.logger.warn({ channel: channel.code }, access.warning);
    const token = access.kind === 'lwa' ? (lwa ??= createLwaTokenSource({ ...access.options, now: deps.now })) : access.token;
    const poller = createAmazonPoller({ ...deps, channel: { code: channel.code, poller: channel.poller }, token });
    // The lock outlives a scheduler that dies mid-poll: keep it short, or the channel goes
    // unpolled for that long. A slow poll overlapping the next is harmless (the cursor is in
    // Postgres, orders are de-duplicated on their id).
    jobs.push({ name: `poll-${channel.code}`, schedule: channel.poller.schedule, lockMs: 60_000, run: () => poller.pollOnce().then((c) => ({ ...c })) });
  }
  return jobs;
}

/** The broker topology a hub with this config declares (tests and the demo remove it with it). */
export function topologyFor(namespace: string, config: HubConfig): Topology {
  return hubTopology(namespace, {
    retryDelaysMs: config.retry.delaysMs,
    warehouses: config.warehouses.map((w) => w.code),
    carriers: config.carriers.filter((c) => c.integration === 'queue').map((c) => c.code),
  });
}

/**
 * The composition root: reads nothing from the environment itself (that is `readEnv`),
 * builds every dependency once, and starts the roles asked for. Startup is ordered so that
 * nothing consumes before the schema and topology exist.
 */
export async function startHub(env: HubEnv, options: HubOptions = {}): Promise<Hub> {
  const roles = new Set(options.roles ?? allRoles);
  const logger = options.logger ?? createLogger({ level: env.logLevel, base: { ns: env.namespace } });
  const loaded = options.config ?? loadConfig(env.configPath);
  const config: HubConfig = options.retry ? { ...loaded, retry: options.retry } : loaded;
  const now = options.now ?? (() => new Date());
  const newId = () => randomUUID();
  const ns = env.namespace;

  const db = createPool(env.databaseUrl, ns, roles.has('worker') ? 20 : 10);
  // A database that is restarting (or not up yet) is waited for, not a reason to exit.
  await retryWhileUnreachable(async () => {
    await migrate(db, ns);
    await seedReferenceData(db, config);
  }, { forMs: 60_000, onRetry: (error, attempt) => logger.warn({ err: error.message, attempt }, 'cannot reach Postgres at startup; retrying') });
  // Reports count days in SQL: a zone only Node knows would fail every report request.
  const reportZone = config.reports?.timeZone;
  if (reportZone && !(await isPostgresTimeZone(db, reportZone))) {
    await db.end();
    throw new Error(`config: reports.timeZone "${reportZone}" is not a time zone Postgres knows`);
  }
  const redis = createRedis(env.redisUrl);
  const metrics = createMetrics({ db, defaultMetrics: options.logger === undefined });
  const topology = topologyFor(ns, config);

  const channels = new Map<string, Channel>();
  for (const channel of config.channels) {
    const connector = orderConnectors[channel.connector];
    if (connector && channel.enabled !== false) channels.set(channel.code, { code: channel.code, skuMap: channel.skuMap, priceTolerance: channel.priceTolerance, connector });
  }
  const payments = new Map<string, PaymentConnector>(Object.entries(paymentConnectors));
  const carriers = new Map<string, CarrierConnector>(Object.entries(carrierConnectors));
  const ctx: StageContext = { namespace: ns, config, channels, payments, carriers, now, newId, reference: referenceCache() };

  // a message the provider took is not sent again when its transaction is lost (sent-marks.ts)
  const senders = new Map([...notificationSenders(config, env.secrets)].map(([channel, sender]) => [channel, rememberingSends(sender, redis, ns)] as const));
  const needsBroker = roles.has('worker') || roles.has('api');
  const broker = needsBroker ? createBroker({ url: env.amqpUrl, name: `${ns}-${[...roles].join('+')}-${process.pid}`, logger }) : undefined;
  broker?.attach((connection) => assertTopology(connection, topology));
  const queueProbe = broker ? createQueueProbe(broker) : undefined;
  const { stageLatency } = registerFlowMetrics(metrics.registry, { db, probe: queueProbe, queues: topology.queues.map((q) => q.name), now });
  const flowCounters = createFlowCounters({ redis, namespace: ns, topology, now, onLatency: (stage, seconds) => stageLatency.observe({ stage }, seconds) });

  const consumers: Consumer[] = [];
  let relay: Relay | undefined;
  if (roles.has('worker') && broker) {
    const stages: Record<Stage, Handler | CallingStage> = {
      normalize: normalizeStage(ctx),
      validate: validateStage(ctx),
      allocate: allocateStage(ctx),
      release: releaseStage(ctx),
      backorders: backordersStage(ctx),
      remedies: remediesStage(ctx),
      reconcile: reconcileStage(ctx),
      refunds: refundsStage(ctx, refundClients(config, env.secrets)),
      cancellations: cancellationsStage(ctx),
      tracking: trackingStage(ctx),
      'warehouse-webhooks': warehouseWebhooksStage(ctx),
      notifications: notificationsStage(ctx, senders),
      returns: returnsStage(ctx, returnLabelClientFor(config, env.secrets)),
      'exception-actions': exceptionActionsStage(ctx),
    };
    const queues: [string, Handler | CallingStage][] = [
      ...(Object.entries(stages) as [Stage, Handler | CallingStage][]).map(([stage, handler]): [string, Handler | CallingStage] => [names(ns).stage(stage), handler]),
      [names(ns).warehouseEvents, warehouseEventsStage(ctx)],
      // Warehouses with a REST WMS: the hub consumes their queue and pushes each request.
      ...config.warehouses.filter((w) => w.integration === 'http' && w.endpoint).map((w): [string, CallingStage] => [
        names(ns).warehouse(w.code),
        warehousePushStage(createWarehousePushClient(w.code, { baseUrl: w.endpoint!.baseUrl, ...(env.secrets.WAREHOUSE_API_KEY ? { apiKey: env.secrets.WAREHOUSE_API_KEY } : {}) })),
      ]),
    ];
    // Allocation holds two pooled connections at most (batchingFor). The stages that call
    // other systems — notifications, WMS pushes, refunds, return labels — hold none while
    // they call (CallingStage in consume.ts), so a slow provider cannot take the pool that
    // every other stage and the outbox relay need.
    const smallPrefetch = new Map([[names(ns).stage('allocate'), 10]]);
    const prefetchFor = (queue: string) => smallPrefetch.get(queue);
    for (const [queue, handler] of queues) {
      const consumer = createConsumer({
        db, namespace: ns, queue, handler, logger, prefetch: prefetchFor(queue), ...batchingFor(ns, queue),
        retryDelaysMs: config.retry.delaysMs, maxAttempts: config.retry.maxAttempts,
        onOutcome: (queue, outcome, event) => {
          metrics.messages.inc({ queue, outcome });
          flowCounters.finished(queue, outcome, event);
        },
      });
      consumers.push(consumer);
      broker.attach((connection) => consumer.attach(connection));
    }
    broker.attach(createParkingRecorder({ db, namespace: ns, config, logger, now }));
    broker.attach(createParkedQueueDrain({ db, namespace: ns, config, logger, now }));
    relay = createRelay({ db, broker, namespace: ns, databaseUrl: env.databaseUrl, logger, onPublished: (n) => metrics.published.inc(n), onConfirmed: (batch) => flowCounters.published(batch) });
  }
  await broker?.start();
  await relay?.start();

  const jobs = scheduledJobs({ db, namespace: ns, config, secrets: env.secrets, logger, now, newId, ctx, senders });
  const scheduler = roles.has('scheduler') ? startScheduler({ db, redis, namespace: ns, logger, now }, jobs) : undefined;

  const app = createApp({
    db, redis, broker, namespace: ns, config, channels, payments, carriers, secrets: env.secrets, adminToken: env.adminToken,
    dedupe: createDeliveryDedupe(redis, ns), metrics, logger, now, newId, jobs, ...(ctx.reference ? { reference: ctx.reference } : {}),
    flows: { topology, counters: flowCounters, probe: queueProbe },
  });
  let server: ServerType | undefined;
  let port: number | undefined;
  if (roles.has('api')) {
    server = await new Promise<ServerType>((resolve) => {
      const s = serve({ fetch: app.fetch, port: options.port ?? env.port, hostname: '0.0.0.0' }, () => resolve(s));
    });
    port = (server.address() as AddressInfo).port;
  }
  logger.info({ roles: [...roles], port }, 'hub started');

  return {
    namespace: ns, config, topology, db, redis, broker, relay, app, metrics, logger, port, ctx, jobs,
    async stop() {
      // Stop taking work, finish what is in flight, flush the outbox, then close.
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
      await Promise.all(consumers.map((c) => c.stop()));
      await scheduler?.stop();
      await relay?.drain().catch(() => 0);
      await relay?.stop();
      await broker?.close().catch(() => {});
      for (const sender of senders.values()) sender.close();
      redis.disconnect();
      await db.end();
      logger.info('hub stopped');
    },
  };
}
