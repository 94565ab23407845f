import { randomUUID } from 'node:crypto';
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import type { FlowsReport, QueueFlow, StageFlow } from '../core/reports/flows.ts';
import { eventually } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// `GET /api/flows` and the flow series of `/metrics`, through a real hub: orders posted as
// webhooks, messages the stages retry and park, queues read from the real broker.
const secret = 'web-flows';
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let connection: ChannelModel;
let channel: Channel;

beforeAll(async () => {
  t = await startTestHub('flows', ['worker'], { env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = t.hub;
  connection = await amqp.connect(process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672');
  channel = await connection.createChannel();
});
afterAll(async () => {
  await connection?.close();
  await t?.stop();
});

async function flows(): Promise<FlowsReport> {
  const { status, body } = await adminJson<FlowsReport>(hub, '/flows');
  expect(status).toBe(200);
  return body;
}
const queueOf = (report: FlowsReport, name: string): QueueFlow => {
  const queue = report.queues.find((q) => q.name === name);
  if (!queue) throw new Error(`${name} is not in the report`);
  return queue;
};
const stageOf = (report: FlowsReport, stage: string): StageFlow => {
  const found = report.stages.find((s) => s.stage === stage);
  if (!found) throw new Error(`stage ${stage} is not in the report`);
  return found;
};
/** Publishes `body` on the hub's events exchange under `routingKey`, as the relay would. */
function publish(routingKey: string, body: unknown): void {
  const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  channel.publish(names(hub.namespace).events, routingKey, content, { persistent: true, messageId: randomUUID() });
}

describe('GET /api/flows', () => {
  it('shows orders flowing: every stage consumed, traffic in and out of validate and allocate, latency, an empty outbox', async () => {
    const orders = 3;
    for (let i = 1; i <= orders; i++) {
      const order = anOrder({ shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('SKU2006-001', 1)] });
      expect((await postWebsiteOrder(hub, order, secret, `flow-${i}`)).status).toBe(200);
    }
    await settled(hub);
    const { rows } = await hub.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM orders WHERE status NOT IN ('received', 'validated', 'rejected', 'on_hold')`);
    expect(rows[0]!.n).toBe(orders); // all went past allocation, so allocate saw each of them

    const report = await flows();
    expect(report.windowsMinutes).toEqual([1, 5, 15]);
    expect(report.queues.map((q) => q.name).sort()).toEqual(hub.topology.queues.map((q) => q.name).sort());
    for (const queue of report.queues.filter((q) => q.kind === 'stage')) {
      expect(queue.consumers, queue.name).toBeGreaterThanOrEqual(1);
      expect(queue.depth, queue.name).toBe(0);
    }
    for (const stage of ['validate', 'allocate']) {
      const queue = queueOf(report, names(hub.namespace).stage(stage as 'validate' | 'allocate'));
      // five minutes, not one: the orders may have gone through just before a minute turned
      expect(queue.in.m5, stage).toBeGreaterThanOrEqual(orders);
      expect(queue.out.m5, stage).toBeGreaterThanOrEqual(orders);
      expect(queue.in.m15).toBeGreaterThanOrEqual(queue.in.m5);
      const flow = stageOf(report, stage);
      expect(flow.finished.m5).toBeGreaterThanOrEqual(orders);
      expect(flow.latency.m5.count).toBeGreaterThanOrEqual(orders);
      expect(flow.latency.m5.meanSeconds).toBeGreaterThanOrEqual(0);
      expect(flow.latency.m5.meanSeconds).toBeLessThan(60);
      expect(flow.latency.m5.p50Seconds).not.toBeNull();
      expect(flow.latency.m5.p90Seconds!).toBeGreaterThanOrEqual(flow.latency.m5.p50Seconds!);
    }
    // the hub's warehouses take fulfilment requests by queue: what it routed there is counted in
    const outbound = report.queues.filter((q) => q.kind === 'outbound');
    expect(outbound.reduce((sum, q) => sum + q.in.m5, 0)).toBeGreaterThanOrEqual(orders);
    expect(report.outbox).toEqual({ pending: 0, oldestAgeSeconds: null });
    expect(queueOf(report, names(hub.namespace).stage('validate')).retries.m15).toBe(0);
  });

  it('counts a retried message as retries, and the one that gave up as parked', async () => {
    const allocate = names(hub.namespace).stage('allocate');
    const before = queueOf(await flows(), allocate);
    // an order the hub does not have: allocate retries it (100 ms, 300 ms), then parks it
    publish('order.validated', {
      specversion: '1.0', id: randomUUID(), source: '/test', type: 'order.validated', subject: randomUUID(),
      time: new Date().toISOString(), datacontenttype: 'application/json', data: { orderId: randomUUID() },
    });
    const after = await eventually(async () => {
      const q = queueOf(await flows(), allocate);
      return q.parked.m15 > before.parked.m15 ? q : undefined;
    }, 15_000, 'the message to be parked');
    expect(after.retries.m15 - before.retries.m15).toBe(2); // maxAttempts 3: two retries, then parked
    expect(after.parked.m15 - before.parked.m15).toBe(1);
    expect(after.out.m15 - before.out.m15).toBe(3); // three deliveries finished
    // in: once from the relay (none here: published around it) plus each retry's return
    expect(after.in.m15 - before.in.m15).toBe(2);
    const report = await flows();
    expect(queueOf(report, names(hub.namespace).parked).in.m15).toBeGreaterThanOrEqual(1);
    expect(stageOf(report, 'allocate').parked.m15).toBe(after.parked.m15);
  });

  it('parks what is not a CloudEvent at once, with no retry', async () => {
    const validate = names(hub.namespace).stage('validate');
    const beforeReport = await flows();
    const before = queueOf(beforeReport, validate);
    publish('order.received', 'not json at all');
    const after = await eventually(async () => {
      const q = queueOf(await flows(), validate);
      return q.parked.m15 > before.parked.m15 ? q : undefined;
    }, 10_000, 'the message to be parked');
    expect(after.parked.m15 - before.parked.m15).toBe(1);
    expect(after.retries.m15 - before.retries.m15).toBe(0);
    // no CloudEvent, no time to measure from: no latency sample either
    expect(stageOf(await flows(), 'validate').latency.m15.count).toBe(stageOf(beforeReport, 'validate').latency.m15.count);
  });

  it('refuses a request without a token', async () => {
    const response = await hub.app.request('/api/flows');
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('queues without consumers, and an outbox nobody relays', () => {
  let api: Awaited<ReturnType<typeof startTestHub>>;
  beforeAll(async () => {
    api = await startTestHub('flows-api', ['api']);
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('reports the depth the broker holds, no consumers, and the age of the oldest unpublished message', async () => {
    const h = api.hub;
    const validate = names(h.namespace).stage('validate');
    for (let i = 0; i < 2; i++) channel.sendToQueue(validate, Buffer.from('{}'), { persistent: true });
    await h.db.query(
      `INSERT INTO outbox (message_id, exchange, routing_key, body, created_at) VALUES ($1, $2, 'order.received', '{}', now() - interval '90 seconds')`,
      [randomUUID(), names(h.namespace).events],
    );
    const report = await eventually(async () => {
      const { body } = await adminJson<FlowsReport>(h, '/flows');
      return queueOf(body, validate).depth === 2 ? body : undefined;
    }, 10_000, 'the broker to count both messages');
    expect(queueOf(report, validate).consumers).toBe(0);
    expect(report.outbox.pending).toBe(1);
    expect(report.outbox.oldestAgeSeconds!).toBeGreaterThanOrEqual(89);
    expect(report.outbox.oldestAgeSeconds!).toBeLessThan(600);

    const metrics = await (await h.app.request('/metrics')).text();
    expect(metrics).toContain(`hub_queue_depth{queue="${validate}"} 2`);
    const lag = /^hub_outbox_lag_seconds (\S+)$/m.exec(metrics);
    expect(Number(lag?.[1])).toBeGreaterThanOrEqual(89);
  });
});

describe('/metrics', () => {
  it('carries stage latency, queue depths and the outbox lag', async () => {
    await settled(hub);
    const text = await (await hub.app.request('/metrics')).text();
    expect(text).toContain('# TYPE hub_stage_latency_seconds histogram');
    const validated = /^hub_stage_latency_seconds_count\{stage="validate"\} (\d+)$/m.exec(text);
    expect(Number(validated?.[1])).toBeGreaterThanOrEqual(3);
    expect(text).toMatch(/^hub_stage_latency_seconds_bucket\{le="\+Inf",stage="allocate"\} [1-9]\d*$/m);
    expect(text).toContain(`hub_queue_depth{queue="${names(hub.namespace).stage('validate')}"} 0`);
    expect(text).toMatch(/^hub_outbox_lag_seconds 0$/m);
  });
});
