// The low-stock sweep on a real hub. Allocation alerts as it reserves stock, but a
// cancelled order gives its stock back without a stock change, and a threshold changed in the
// config moves nothing at all: the sweep resolves the alert left stale by the first and opens
// the one the second made necessary, each once, through the same code as a stock change.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { lowStockThreshold } from '../core/pipeline/backorders.ts';
import { sweepLowStock } from '../core/stages/low-stock.ts';
import { cancelUnpaidOrders } from '../core/stages/payment-jobs.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

const secret = 'web-low-stock';
const namespace = testNamespace('lowstock');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
let hub: Hub;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'LOW-LAMP', name: 'Lamp', category: 'kitchen', weightGrams: 900 });
  config.stock.push({ warehouse: 'us-east', sku: 'LOW-LAMP', onHand: 8 });
  config.inventory = { lowStockThreshold: 5 };
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

const alerts = async () => (await hub.db.query<{ status: string; owner: string; messageId: string; details: Record<string, unknown> }>(
  `SELECT status, owner, message_id AS "messageId", details FROM exceptions WHERE type = 'low_stock' AND message_id = 'low_stock:us-east:LOW-LAMP'`)).rows;
const available = async () => (await hub.db.query<{ available: number }>(`SELECT on_hand - reserved AS available FROM inventory WHERE warehouse = 'us-east' AND sku = 'LOW-LAMP'`)).rows[0]?.available;
const lowEvents = async () => (await hub.db.query(`SELECT body FROM outbox WHERE routing_key = 'inventory.low' AND body->'data'->>'sku' = 'LOW-LAMP'`)).rows;

describe('the low-stock sweep', () => {
  it('resolves the alert a cancelled order left stale, and opens the one a new threshold calls for, once each', async () => {
    // given the seeded stock's alerts in place (stock seeded from the config never crossed a threshold: the sweep opens them)
    const seededLow = (await hub.db.query<{ sku: string; available: number }>(`SELECT sku, on_hand - reserved AS available FROM inventory`)).rows
      .filter((r) => r.available <= lowStockThreshold(hub.config.inventory, r.sku)).length;
    expect(await sweepLowStock(hub.db, hub.ctx)).toMatchObject({ opened: seededLow, resolved: 0 });
    // and 4 of the 8 lamps held for an unpaid order: 4 available, under the threshold of 5, alerted by allocation
    const response = await postWebsiteOrder(hub, anOrder({ channel: 'website', externalId: 'LOW-1', paymentStatus: 'pending', shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('LOW-LAMP', 4)] }), secret, 'low-1');
    expect(response.status).toBe(200);
    await settled(hub);
    expect(await available()).toBe(4);
    expect(await alerts()).toEqual([expect.objectContaining({ status: 'open', owner: 'inventory', details: expect.objectContaining({ available: 4, threshold: 5 }) })]);
    expect(await lowEvents()).toHaveLength(1);

    // when the order is cancelled for want of payment, its stock comes back: the alert is stale
    expect(await cancelUnpaidOrders(hub.db, { ...hub.ctx, now: () => new Date(Date.now() + 25 * 3_600_000) })).toMatchObject({ cancelled: 1 });
    expect(await available()).toBe(8);
    expect(await alerts()).toEqual([expect.objectContaining({ status: 'open' })]);

    // then the sweep resolves it, and a second sweep has nothing to do
    expect(await sweepLowStock(hub.db, hub.ctx)).toMatchObject({ opened: 0, resolved: 1 });
    expect(await alerts()).toEqual([expect.objectContaining({ status: 'resolved', details: expect.objectContaining({ resolution: '8 available, above the threshold of 5' }) })]);
    expect(await sweepLowStock(hub.db, hub.ctx)).toMatchObject({ opened: 0, resolved: 0 });

    // when the config raises the lamp's threshold to 10: 8 available is low now, and the sweep opens the alert, once
    const raised = { ...hub.ctx, config: { ...hub.ctx.config, inventory: { lowStockThreshold: 5, lowStockBySku: { 'LOW-LAMP': 10 } } } };
    expect(await sweepLowStock(hub.db, raised)).toMatchObject({ opened: 1, resolved: 0 });
    expect(await alerts()).toEqual([expect.objectContaining({ status: 'open', details: expect.objectContaining({ available: 8, threshold: 10 }) })]);
    expect(await lowEvents()).toHaveLength(2);
    expect(await sweepLowStock(hub.db, raised)).toMatchObject({ opened: 0, resolved: 0 });
    expect(await lowEvents()).toHaveLength(2);
  });
});
