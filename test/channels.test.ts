import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signOwnChannelPayload } from '../connectors/website.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { adminToken, eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { settled } from './support/hub.ts';
import { SP_API_TOKEN, startSpApiServer, type SpApiServer } from './support/sp-api-server.ts';

// Every channel through the real hub: WooCommerce's and Amazon's official samples, the shop's
// own website and app, each with its real signature (or, for Amazon, the scheduled poller).
const secrets = { WOOCOMMERCE_WEBHOOK_SECRET: 'test-wc-secret', WEBSITE_WEBHOOK_SECRET: 'website-secret', APP_WEBHOOK_SECRET: 'app-secret' };
let hub: Hub;
let spApi: SpApiServer;
const namespace = testNamespace('channels');
const env = testEnv(namespace, { ...secrets, AMAZON_SP_API_TOKEN: SP_API_TOKEN });

beforeAll(async () => {
  spApi = await startSpApiServer({ redactPending: true });
  const config = loadConfig(defaultConfigPath);
  config.channels = config.channels.map((c) => c.connector === 'amazon'
    ? { ...c, skuMap: { NABetaASINB00551Q3CS: 'MUG-CLASSIC' }, poller: { baseUrl: spApi.url, schedule: '* * * * * *', marketplaceIds: ['ATVPDKIKX0DER'], startAt: '1970-01-01T00:00:00Z' } }
    : c);
  hub = await startHub(env, { roles: ['worker', 'scheduler'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await spApi?.close();
  await removeNamespace(env, hub?.topology);
});

const post = (source: string, body: string | Buffer, headers: Record<string, string>) =>
  hub.app.request(`/webhooks/orders/${source}`, { method: 'POST', body, headers });
const api = async <T>(path: string): Promise<T> =>
  (await (await hub.app.request(`/api${path}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as T;
type Detail = { id: string; status: string; channel: string; exceptions: { type: string; reason: string }[]; order: { lines: { sku: string; channelSku?: string }[]; client?: unknown } };
async function orderOf(channel: string, externalId: string): Promise<Detail> {
  const { items } = await api<{ items: { id: string }[] }>(`/orders?channel=${channel}&externalId=${encodeURIComponent(externalId)}`);
  expect(items).toHaveLength(1);
  return api<Detail>(`/orders/${items[0]!.id}`);
}

describe('WooCommerce', () => {
  const sample = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url));
  const signed = (body: Buffer) => ({
    'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-id': '7',
    'x-wc-webhook-signature': createHmac('sha256', secrets.WOOCOMMERCE_WEBHOOK_SECRET).update(body).digest('base64'),
  });

  it('answers the unsigned ping 200 and stores nothing', async () => {
    const response = await post('woocommerce', 'webhook_id=7', { 'content-type': 'application/x-www-form-urlencoded' });
    expect(response.status).toBe(200);
    const { rows } = await hub.db.query(`SELECT 1 FROM raw_inbound WHERE source = 'woocommerce'`);
    expect(rows).toHaveLength(0);
  });

  it('takes the official sample as it is; its SKU-less product is held, named, for a person to map', async () => {
    expect((await post('woocommerce', sample, signed(sample))).status).toBe(200);
    await settled(hub);
    const order = await orderOf('woocommerce', '727');
    expect(order.status).toBe('on_hold');
    expect(order.exceptions).toEqual([expect.objectContaining({ type: 'unknown_sku', reason: expect.stringContaining('wc-product-93') })]);
  });

  it('acknowledges a checkout still in progress (200, stored as ignored), so WooCommerce never disables the webhook', async () => {
    const draft = Buffer.from(sample.toString('utf8').replace('"id": 727', '"id": 728').replace('"status": "processing"', '"status": "checkout-draft"'));
    const response = await post('woocommerce', draft, { ...signed(draft), 'x-wc-webhook-topic': 'order.updated' });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ status: 'ignored', detail: expect.stringContaining('checkout-draft') });
    const { items } = await api<{ items: unknown[] }>('/orders?channel=woocommerce&externalId=728');
    expect(items).toEqual([]);
  });

  it('refuses a forged signature with 401', async () => {
    const response = await post('woocommerce', sample, { ...signed(sample), 'x-wc-webhook-signature': 'AAAA' });
    expect(response.status).toBe(401);
  });

  describe('order.deleted, which carries only the order id', () => {
    const deleted = (body: string) => {
      const bytes = Buffer.from(body);
      return post('woocommerce', bytes, { ...signed(bytes), 'x-wc-webhook-topic': 'order.deleted' });
    };

    it('cancels the order it names: before release at once, with the reason on the timeline', async () => {
      const created = Buffer.from(sample.toString('utf8').replace('"id": 727', '"id": 729'));
      expect((await post('woocommerce', created, signed(created))).status).toBe(200);
      await settled(hub);
      expect((await orderOf('woocommerce', '729')).status).toBe('on_hold');

      const response = await deleted('{"id":729}');
      expect(response.status, await response.clone().text()).toBe(200);
      await settled(hub);
      const order = await orderOf('woocommerce', '729');
      expect(order.status).toBe('cancelled');
      const { rows } = await hub.db.query<{ reason: string }>(`SELECT reason FROM order_events WHERE order_id = $1 AND type = 'order.cancelled'`, [order.id]);
      expect(rows).toEqual([{ reason: 'cancelled by woocommerce (WooCommerce order.deleted: trashed or deleted in the shop)' }]);
    });

    it('arriving before the order it names: waits for it, then cancels it', async () => {
      const response = await deleted('{"id":731}');
      expect(response.status).toBe(200);
      const created = Buffer.from(sample.toString('utf8').replace('"id": 727', '"id": 731'));
      expect((await post('woocommerce', created, signed(created))).status).toBe(200);
      await eventually(async () => {
        const { items } = await api<{ items: { status: string }[] }>('/orders?channel=woocommerce&externalId=731');
        return items[0]?.status === 'cancelled' ? true : undefined;
      }, 10_000, 'the order cancelled');
    });

    it('is not taken for a duplicate of another topic\'s identical body (a deleted product with the same id)', async () => {
      const created = Buffer.from(sample.toString('utf8').replace('"id": 727', '"id": 733'));
      expect((await post('woocommerce', created, signed(created))).status).toBe(200);
      await settled(hub);
      const product = Buffer.from('{"id":733}');
      const ignored = await post('woocommerce', product, { ...signed(product), 'x-wc-webhook-topic': 'product.deleted' });
      expect(await ignored.json()).toMatchObject({ status: 'ignored' });
      const response = await deleted('{"id":733}');
      expect(await response.json()).toMatchObject({ status: 'accepted' });
      await settled(hub);
      expect((await orderOf('woocommerce', '733')).status).toBe('cancelled');
    });

    it('for an order the hub never received: acknowledged and kept as ignored after its retries, with why', async () => {
      const response = await deleted('{"id":990001}');
      expect(response.status).toBe(200);
      await settled(hub);
      const { rows } = await hub.db.query<{ status: string; problems: { message: string }[] }>(
        `SELECT status, problems FROM raw_inbound WHERE source = 'woocommerce' AND topic = 'order.deleted' AND convert_from(body, 'UTF8') LIKE '%990001%'`);
      expect(rows).toEqual([{ status: 'ignored', problems: [expect.objectContaining({ message: expect.stringMatching(/^woocommerce cancels order 990001, which the hub never received/) })] }]);
    });

    it('without a usable id: 422 problem+json naming the field, kept with an exception', async () => {
      const response = await deleted('{"id":"seven"}');
      expect(response.status).toBe(422);
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      expect(await response.json()).toMatchObject({ problems: [expect.objectContaining({ path: '/id' })] });
    });
  });
});

describe('the shop\'s own website and app', () => {
  const example = (name: string) => readFileSync(new URL(`../docs/examples/${name}`, import.meta.url), 'utf8');
  const headers = (body: string, secret: string, eventId: string, at = Math.floor(Date.now() / 1000)) => ({
    'content-type': 'application/json', 'x-hub-signature': signOwnChannelPayload(body, secret, at), 'x-hub-event-id': eventId, 'x-hub-topic': 'order.created',
  });

  it('a website order goes all the way to release', async () => {
    const body = example('website-order.json');
    expect((await post('website', body, headers(body, secrets.WEBSITE_WEBHOOK_SECRET, 'web-1'))).status).toBe(200);
    await settled(hub);
    const { externalId } = JSON.parse(body) as { externalId: string };
    expect((await orderOf('website', externalId)).status).toBe('released');
  });

  it('an app order keeps its device details', async () => {
    const body = example('app-order.json');
    expect((await post('app', body, headers(body, secrets.APP_WEBHOOK_SECRET, 'app-1'))).status).toBe(200);
    await settled(hub);
    const { externalId, client } = JSON.parse(body) as { externalId: string; client: unknown };
    expect((await orderOf('app', externalId)).order.client).toEqual(client);
  });

  it('a signature older than five minutes is 401, and nothing is stored', async () => {
    const body = example('website-order.json').replace(/"externalId": "[^"]+"/, '"externalId": "W-STALE"');
    const response = await post('website', body, headers(body, secrets.WEBSITE_WEBHOOK_SECRET, 'web-stale', Math.floor(Date.now() / 1000) - 301));
    expect(response.status).toBe(401);
    const { rows } = await hub.db.query(`SELECT 1 FROM raw_inbound WHERE dedupe_key = 'web-stale'`);
    expect(rows).toHaveLength(0);
  });

  it('an event id re-used for a different order is 409, never a silent duplicate', async () => {
    const body = example('website-order.json').replace(/"externalId": "[^"]+"/, '"externalId": "W-REUSED"');
    expect((await post('website', body, headers(body, secrets.WEBSITE_WEBHOOK_SECRET, 'web-1'))).status).toBe(409);
  });
});

describe('Amazon, polled', () => {
  it('fetches the official sandbox orders on schedule; SKUs mapped, missing addresses held; the unusable example kept for a person', async () => {
    const ids = ['902-1845936-5435065', '902-8745147-1934268'];
    await eventually(async () => {
      const { rows } = await hub.db.query(`SELECT count(*)::int AS n FROM orders WHERE channel = 'amazon'`);
      return rows[0].n >= 2 ? true : undefined;
    }, 20_000, 'the poller to fetch the sandbox orders');
    await settled(hub);
    for (const id of ids) {
      const order = await orderOf('amazon', id);
      expect(order.order.lines).toEqual([expect.objectContaining({ sku: 'MUG-CLASSIC', channelSku: 'NABetaASINB00551Q3CS' })]);
      // Amazon withholds the address until the order may ship (and the sandbox has none): held.
      expect(order).toMatchObject({ status: 'on_hold', exceptions: [expect.objectContaining({ type: 'address_invalid' })] });
    }
    // the example's yen with cents cannot be money: stored, listed as failed, with the reason
    const failed = await api<{ items: { source: string; problems: { message: string }[] }[] }>('/inbound?status=failed&source=amazon');
    expect(failed.items).toHaveLength(1);
    const { rows: runs } = await hub.db.query(`SELECT outcome FROM job_runs WHERE job = 'poll-amazon' AND outcome = 'ok'`);
    expect(runs.length).toBeGreaterThan(0);
  });
});
