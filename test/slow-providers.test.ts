import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { startWmsStub, WMS_STUB_KEY, type WmsStub } from './support/wms-stub.ts';

// At a sales peak a mail server throttles and a WMS answers late. The hub's database
// connections are few (a pool of 20) and every stage needs one: a send or a push waiting on
// another system must not hold one, or a slow mail server or WMS stops the orders themselves
// (the webhooks answered 500 once the pool was taken).
const secret = 'web-slow';
const namespace = testNamespace('slowmail');
let env: ReturnType<typeof testEnv>;
let hub: Hub;
let smtp: SmtpSink;
let wms: WmsStub;

beforeAll(async () => {
  smtp = await startSmtpSink();
  wms = await startWmsStub();
  env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret, WAREHOUSE_API_KEY: WMS_STUB_KEY });
  const config = loadConfig(defaultConfigPath);
  config.notifications = { ...config.notifications, email: { host: smtp.host, port: smtp.port, from: 'orders@shop.example' } };
  config.warehouses = config.warehouses.map((w) => (w.code === 'us-west' ? { ...w, integration: 'http' as const, endpoint: { baseUrl: wms.url } } : w));
  config.products.push({ sku: 'WEST-ONLY', name: 'West', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-west', sku: 'WEST-ONLY', onHand: 100 });
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  smtp?.holdMessages(false);
  await hub?.stop();
  await smtp?.close();
  await wms?.close();
  await removeNamespace(env, hub?.topology);
});

const statusOf = async (externalId: string) => {
  const { rows } = await hub.db.query<{ status: string }>(`SELECT status FROM orders WHERE channel = 'website' AND external_id = $1`, [externalId]);
  return rows[0]?.status;
};
const order = (externalId: string, email: string, sku = 'SKU2006-001') =>
  anOrder({ externalId, shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine(sku, 1)], customer: { id: null, email, phone: null, name: 'Ada', locale: 'en' } });

describe('a mail server that answers late', () => {
  it('holds no database connection while it keeps the sends waiting: orders go on to the warehouse', async () => {
    smtp.holdMessages(true);
    // more confirmations waiting on the mail server than the pool has connections
    for (let i = 0; i < 30; i++) expect((await postWebsiteOrder(hub, order(`SLOW-${i}`, `slow${i}@example.com`), secret, `slow-${i}`)).status).toBe(200);
    await eventually(async () => (smtp.held >= 20 ? true : undefined), 20_000, '20 sends waiting on the mail server');

    // a new order, while the mail server still keeps every send waiting
    expect((await postWebsiteOrder(hub, order('AFTER', 'after@example.com'), secret, 'after')).status).toBe(200);
    expect(await eventually(async () => ((await statusOf('AFTER')) === 'released' ? 'released' : undefined), 20_000, 'the new order released')).toBe('released');
    expect(smtp.messages).toHaveLength(0);

    // the mail server answers: every customer gets one confirmation
    smtp.holdMessages(false);
    await eventually(async () => (smtp.messages.length >= 31 ? true : undefined), 30_000, 'every confirmation');
    await settled(hub);
    const recipients = smtp.messages.flatMap((m) => m.envelope.to);
    expect(new Set(recipients).size).toBe(31);
    expect(recipients).toHaveLength(31);
  }, 90_000);
});

describe('a WMS that answers late', () => {
  it('holds no database connection while pushes wait on it: other orders are released meanwhile, and each push lands once', async () => {
    const pushes = 24;
    // each push is taken at once and answered 8 s later (the client waits up to 10 s)
    for (let i = 0; i < pushes; i++) wms.delayNext(8_000, 'after');
    for (let i = 0; i < pushes; i++) expect((await postWebsiteOrder(hub, order(`WEST-${i}`, `west${i}@example.com`, 'WEST-ONLY'), secret, `west-${i}`)).status).toBe(200);
    const waiting = () => wms.requests.filter((r) => r.status === null && r.outcome !== 'dropped').length;
    await eventually(async () => (waiting() >= 20 ? true : undefined), 20_000, '20 pushes waiting on the WMS');

    expect((await postWebsiteOrder(hub, order('EAST-AFTER', 'east@example.com'), secret, 'east-after')).status).toBe(200);
    await eventually(async () => ((await statusOf('EAST-AFTER')) === 'released' ? true : undefined), 20_000, 'the new order released');
    // released before the WMS answered a single push: no push held a connection it needed
    expect(wms.requests.filter((r) => r.status !== null)).toHaveLength(0);

    await eventually(async () => (wms.effective >= pushes ? true : undefined), 40_000, 'every push');
    await settled(hub);
    expect(wms.accepted.map((a) => a.key).sort()).toEqual([...new Set(wms.accepted.map((a) => a.key))].sort());
    expect(wms.effective).toBe(pushes);
  }, 90_000);
});
