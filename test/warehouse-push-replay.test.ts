// Replaying a parked push to an HTTP warehouse through the real hub: the WMS took the
// fulfilment request but every answer was lost, so the hub retried until it parked the
// message; an operator replays it. The replay is a new message, but the WMS sees the key of
// the first push and answers with its stored answer: one shipment requested, not two.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import { eventually } from './support/env.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startWmsStub, WMS_STUB_KEY, type WmsStub } from './support/wms-stub.ts';

const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-replay', WAREHOUSE_API_KEY: WMS_STUB_KEY };
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let wms: WmsStub;
let outQueue: string;

beforeAll(async () => {
  wms = await startWmsStub();
  const config = loadConfig(defaultConfigPath);
  config.warehouses = config.warehouses.map((w) => (w.code === 'us-west' ? { ...w, integration: 'http' as const, endpoint: { baseUrl: wms.url } } : w));
  config.products.push({ sku: 'WEST-ONLY', name: 'West', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 20 });
  t = await startTestHub('pushreplay', ['worker', 'api'], { config, env: secrets });
  hub = t.hub;
  outQueue = names(hub.namespace).warehouse('us-west');
});
afterAll(async () => {
  await t?.stop();
  await wms?.close();
});

interface Letter { id: number; messageId: string; queue: string; status: string; eventType: string | null; orderId: string | null; replayedAs: string | null }

const parkedOnOutQueue = async () =>
  (await adminJson<{ items: Letter[] }>(hub, `/dead-letters?status=parked&queue=${encodeURIComponent(outQueue)}&limit=500`)).body.items;

describe('replaying a parked push to a WMS that took it but whose answers were lost', () => {
  it('pushes again under the first push\'s key: the WMS answers with its stored answer, one effective request', async () => {
    // The WMS stores the push, then drops the connection: far more faults than the hub's
    // attempts (in-call retries times delayed retries) can use up.
    for (let i = 0; i < 100; i++) wms.dropNext('after');
    const response = await postWebsiteOrder(hub, anOrder({ externalId: 'REPLAY-1', shippingAddress: shippingAddress('US', 'NV', { postalCode: '89501' }), lines: [orderLine('WEST-ONLY', 1)] }), secrets.WEBSITE_WEBHOOK_SECRET, 'replay-1');
    expect(response.status).toBe(200);
    const orderId = await eventually(async () => {
      const { rows } = await hub.db.query<{ id: string }>(`SELECT id FROM orders WHERE channel = 'website' AND external_id = 'REPLAY-1'`);
      return rows[0]?.id;
    }, 15_000, 'the order');

    // every attempt lost its answer: the hub gives up and parks the request on the warehouse's queue
    const parked = await eventually(async () => (await parkedOnOutQueue()).find((l) => l.eventType === 'fulfillment.requested'), 45_000, 'the parked push');
    const originalId = parked.messageId;
    const detail = (await adminJson<{ body: { id: string; data: { orderId: string } } }>(hub, `/dead-letters/${parked.id}`)).body;
    expect(detail.body).toMatchObject({ id: originalId, data: { orderId } });
    const lost = wms.requests.length;
    expect(lost).toBeGreaterThanOrEqual(3); // at least one request per delivery of the message
    expect(wms.requests.every((r) => r.outcome === 'dropped' && r.status === null)).toBe(true);
    expect(wms.effective).toBe(1); // the WMS did take the first push

    // the WMS answers again; the operator replays the parked push
    wms.clearFaults();
    const replay = await adminJson<{ messageId: string; replayedAs: string; status: string }>(hub, `/dead-letters/${parked.id}/replay`, { method: 'POST' });
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ messageId: originalId, status: 'replayed' });
    expect(replay.body.replayedAs).not.toBe(originalId); // a new message…
    await eventually(async () => (wms.requests.length > lost && wms.requests.at(-1)?.status !== null ? true : undefined), 15_000, 'the WMS answering the replay');
    await settled(hub);

    // …with the key the WMS already had: its stored answer, marked as a replay, and no second shipment
    expect(wms.effective).toBe(1);
    const forOrder = wms.accepted.filter((a) => a.path === '/fulfillment-requests' && (a.event.data as { orderId?: string }).orderId === orderId);
    expect(forOrder.map((a) => a.key)).toEqual([originalId]);
    expect(wms.requests).toHaveLength(lost + 1);
    expect(new Set(wms.requests.map((r) => r.idempotencyKey))).toEqual(new Set([originalId]));
    expect(wms.requests.at(-1)).toMatchObject({ path: '/fulfillment-requests', idempotencyKey: originalId, outcome: 'replayed', status: 200 });

    // the dead letter is resolved, and nothing was parked again
    const after = (await adminJson<Letter>(hub, `/dead-letters/${parked.id}`)).body;
    expect(after).toMatchObject({ status: 'replayed', replayedAs: replay.body.replayedAs });
    expect(await parkedOnOutQueue()).toEqual([]);
  }, 90_000);
});
