import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { createLogger } from '../core/logger.ts';
import { names } from '../core/messaging/topology.ts';
import { removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// Allocation in batches (several orders in one transaction, two batches at once) through
// the real hub. Orders whose lines name the same SKUs in different orders would lock the
// stock rows in different orders and deadlock; the batch takes every row it needs first,
// in one fixed order (allocationLocks). Bursts of such orders against scarce stock: never
// oversold, every order allocated or backordered, and no batch undone by a deadlock.
const secret = 'batch-secret';
const namespace = testNamespace('allocbatch');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
const runs = 6;
const skusOfRun = (run: number) => [`BATCH-${run}-A`, `BATCH-${run}-B`, `BATCH-${run}-C`];
let hub: Hub;
/** what the consumers said when a batch was rolled back, and why */
const rolledBack: string[] = [];

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  for (let run = 0; run < runs; run++) {
    for (const sku of skusOfRun(run)) {
      config.products.push({ sku, name: sku, category: 'apparel', weightGrams: 100 });
      config.stock.push({ warehouse: 'us-east', sku, onHand: 0 });
    }
  }
  config.inventory = { lowStockThreshold: 0 };
  const logger = createLogger({ level: 'debug' }, {
    write(line: string) {
      const entry = JSON.parse(line) as { msg?: string; reason?: string; queue?: string };
      if (entry.msg?.startsWith('batch rolled back') && entry.queue === names(namespace).stage('allocate')) rolledBack.push(entry.reason ?? '');
    },
  });
  hub = await startHub(env, { roles: ['worker'], logger, config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

let run = 0;
let sent = 0;

describe('allocation in batches', () => {
  it('never oversells and never deadlocks, whatever order the lines name the SKUs in (property)', async () => {
    const line = fc.record({ sku: fc.integer({ min: 0, max: 2 }), quantity: fc.integer({ min: 1, max: 3 }) });
    const burst = fc.array(fc.uniqueArray(line, { minLength: 1, maxLength: 3, selector: (l) => l.sku }), { minLength: 8, maxLength: 16 });
    const stock = fc.tuple(fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }), fc.integer({ min: 0, max: 12 }));
    await fc.assert(fc.asyncProperty(burst, stock, async (orders, onHand) => {
      const skus = skusOfRun(run++);
      for (const [i, sku] of skus.entries()) await hub.db.query('UPDATE inventory SET on_hand = $2 WHERE sku = $1', [sku, onHand[i]]);
      const ids = orders.map(() => `BATCH-${++sent}`);
      const responses = await Promise.all(orders.map((lines, i) => postWebsiteOrder(hub, anOrder({
        externalId: ids[i]!, shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }),
        lines: lines.map((l) => orderLine(skus[l.sku]!, l.quantity)),
        customer: { id: null, email: `${ids[i]!.toLowerCase()}@example.com`, phone: null, name: 'Batch', locale: 'en' },
      }), secret, ids[i]!)));
      expect(responses.map((r) => r.status)).toEqual(orders.map(() => 200));
      await settled(hub, 30_000);

      const { rows: statuses } = await hub.db.query<{ status: string; why: string | null }>(
        `SELECT status, (SELECT reason FROM order_events e WHERE e.order_id = o.id ORDER BY id DESC LIMIT 1) AS why FROM orders o WHERE external_id = ANY($1)`, [ids]);
      expect(statuses).toHaveLength(orders.length);
      for (const s of statuses) expect(['released', 'backordered'], s.why ?? '').toContain(s.status);
      const { rows: levels } = await hub.db.query<{ sku: string; onHand: number; reserved: number; held: number }>(
        `SELECT i.sku, i.on_hand AS "onHand", i.reserved,
                coalesce((SELECT sum(r.quantity) FROM reservations r WHERE r.sku = i.sku AND r.warehouse = i.warehouse AND r.status = 'held'), 0)::int AS held
           FROM inventory i WHERE i.sku = ANY($1) ORDER BY i.sku`, [skus]);
      for (const l of levels) {
        expect(l.reserved).toBeLessThanOrEqual(l.onHand);
        expect(l.reserved).toBe(l.held);
      }
      // an order is released only with all its lines reserved; a backordered one holds nothing
      const { rows: unmatched } = await hub.db.query(
        `SELECT o.external_id FROM orders o WHERE o.external_id = ANY($1) AND (
           (o.status = 'released') <> EXISTS (SELECT 1 FROM reservations r WHERE r.order_id = o.id AND r.status = 'held'))`, [ids]);
      expect(unmatched).toEqual([]);
    }), { numRuns: runs });

    expect(rolledBack.filter((reason) => /deadlock/i.test(reason))).toEqual([]);
    // and batches did form: some allocation transactions carried several orders
    const { rows } = await hub.db.query<{ n: number }>(
      `SELECT max(n)::int AS n FROM (SELECT count(*) AS n FROM inbox WHERE consumer = $1 GROUP BY processed_at) t`, [names(namespace).stage('allocate')]);
    expect(rows[0]!.n).toBeGreaterThan(1);
  }, 180_000);
});
