// Stock is never oversold, whatever the concurrency (DESIGN.md, "Money ... Stock").
// Real Postgres: many allocation transactions at once, each doing what the allocate stage
// does (lock stock rows, plan, reserve), then the inventory and reservation rows are checked.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config/business.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, withTransaction, type Db } from '../core/db/pool.ts';
import { adjustOnHand, availableStock, categoriesOf, heldReservations, listWarehouseFacts, reserveStock, setOnHand } from '../core/db/sql/inventory.ts';
import { insertOrder } from '../core/db/sql/orders.ts';
import { seedReferenceData } from '../core/db/sql/reference.ts';
import { quantitiesBySku } from '../core/order/record.ts';
import { planAllocation } from '../core/pipeline/allocate.ts';
import type { CanonicalLine } from '../schemas/canonical-order.ts';
import { removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { anOrder, anOrderRecord, orderLine, shippingAddress } from './support/orders.ts';

const namespace = testNamespace('stock');
const env = testEnv(namespace);
const POOL_SIZE = 12;
let db: Db;

const WAREHOUSES = ['wh-a', 'wh-b'] as const;
const SKUS = ['SKU-1', 'SKU-2', 'SKU-3', 'SKU-4'] as const;
const US = shippingAddress('US', 'NY');

/** A small business config: two US warehouses, four products, stock in every (warehouse, SKU). */
const config = parseConfig({
  orderNumberPrefix: 'T',
  channels: [{ code: 'shopify', connector: 'shopify' }],
  warehouses: WAREHOUSES.map((code, i) => ({
    code, name: `Warehouse ${code}`, location: { lat: 40, lng: -80 + i }, country: 'US', regions: ['US'], categories: [], priority: i + 1,
  })),
  products: SKUS.map((sku) => ({ sku, name: `Product ${sku}`, category: 'general', weightGrams: 100 })),
  stock: WAREHOUSES.flatMap((warehouse) => SKUS.map((sku) => ({ warehouse, sku, onHand: 0 }))),
  carriers: [],
  sop: { default: { owner: 'operations', deadlineMinutes: 60 } },
  notifications: { templates: {} },
  retry: { delaysMs: [100], maxAttempts: 3 },
}, 'stock test config');

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, POOL_SIZE);
  await migrate(db, namespace);
  await seedReferenceData(db, config);
});

afterAll(async () => {
  await db?.end();
  await removeNamespace(env);
});

type Levels = Record<string, Record<string, number>>;

/** Empties orders and reservations and sets every inventory row to the given on-hand, nothing reserved. */
async function resetInventory(levels: Levels): Promise<void> {
  await withTransaction(db, async (tx) => {
    await tx.query('DELETE FROM reservations');
    await tx.query('DELETE FROM orders'); // order_lines cascade
    await tx.query('UPDATE inventory SET reserved = 0, on_hand = 0');
    for (const [warehouse, bySku] of Object.entries(levels)) {
      for (const [sku, onHand] of Object.entries(bySku)) {
        await tx.query('UPDATE inventory SET on_hand = $3 WHERE warehouse = $1 AND sku = $2', [warehouse, sku, onHand]);
      }
    }
  });
}

/** Inserts one validated order per line set (real rows: reservations reference them); returns their ids. */
async function insertOrders(lineSets: CanonicalLine[][]): Promise<{ id: string; lines: CanonicalLine[] }[]> {
  const orders = lineSets.map((lines) => anOrderRecord(anOrder({ lines, shippingAddress: US }), { status: 'validated', paymentStatus: 'paid' }));
  await withTransaction(db, async (tx) => {
    for (const record of orders) expect(await insertOrder(tx, record, null)).toBe(true);
  });
  return orders.map((o) => ({ id: o.id, lines: o.order.lines }));
}

class ReservationRefused extends Error {}

type Outcome = 'reserved' | 'none' | 'refused' | { error: string; code?: string };

/**
 * What the allocate stage does for one order, in one transaction: read the stock rows under
 * lock, plan one warehouse, reserve; roll back when the reservation is refused.
 */
async function allocate(orderId: string, lines: readonly CanonicalLine[], pause = 0): Promise<Outcome> {
  try {
    return await withTransaction(db, async (tx) => {
      const skus = [...new Set(lines.map((l) => l.sku))];
      const plan = planAllocation(lines, US, {
        categories: await categoriesOf(tx, skus),
        warehouses: await listWarehouseFacts(tx),
        available: await availableStock(tx, skus, true),
        usedToday: new Map(),
      }, { strategy: 'priority', allowSplit: false });
      if (plan.kind === 'none') return 'none' as const;
      // widen the window between reading and reserving, so that races would show
      if (pause > 0) await new Promise((r) => setTimeout(r, pause));
      if (!(await reserveStock(tx, orderId, plan.shipments.flatMap((s) => s.lines.map((l) => ({ warehouse: s.warehouse, ...l })))))) throw new ReservationRefused();
      return 'reserved' as const;
    });
  } catch (error) {
    if (error instanceof ReservationRefused) return 'refused';
    return { error: (error as Error).message, code: (error as { code?: string }).code };
  }
}

interface InventoryState { warehouse: string; sku: string; onHand: number; reserved: number; held: number }

/** Every inventory row with the sum of its held reservations. */
async function inventoryState(): Promise<InventoryState[]> {
  const { rows } = await db.query<InventoryState>(
    `SELECT i.warehouse, i.sku, i.on_hand AS "onHand", i.reserved,
            COALESCE((SELECT sum(quantity) FROM reservations r
                       WHERE r.warehouse = i.warehouse AND r.sku = i.sku AND r.status = 'held'), 0)::int AS held
       FROM inventory i ORDER BY i.warehouse, i.sku`);
  return rows;
}

/** The invariants of the inventory after any number of allocations. */
async function expectStockConsistent(): Promise<InventoryState[]> {
  const state = await inventoryState();
  for (const row of state) {
    const where = `${row.warehouse}/${row.sku}`;
    expect(row.reserved, where).toBeGreaterThanOrEqual(0);
    expect(row.reserved, where).toBeLessThanOrEqual(row.onHand);
    expect(row.reserved, `${where}: reserved = sum of held reservations`).toBe(row.held);
  }
  for (const sku of SKUS) {
    const rows = state.filter((r) => r.sku === sku);
    expect(rows.reduce((n, r) => n + r.reserved, 0), sku).toBeLessThanOrEqual(rows.reduce((n, r) => n + r.onHand, 0));
  }
  return state;
}

describe('stock allocation under concurrency', () => {
  const anyLevels = fc.record(
    Object.fromEntries(WAREHOUSES.map((w) => [w, fc.record(Object.fromEntries(SKUS.map((s) => [s, fc.integer({ min: 0, max: 8 })])))])),
  ) as fc.Arbitrary<Levels>;
  const anyLines = fc.array(
    fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 3 }) }).map(({ sku, quantity }) => orderLine(sku, quantity)),
    { minLength: 1, maxLength: 3 },
  );
  const anyBatch = fc.array(fc.tuple(anyLines, fc.integer({ min: 0, max: 3 })), { minLength: 10, maxLength: 40 });

  it('never oversells, whatever the on-hand levels and the batch of concurrent orders', async () => {
    await fc.assert(
      fc.asyncProperty(anyLevels, anyBatch, async (levels, batch) => {
        // given fresh inventory at random levels and a batch of orders, all in the database
        await resetInventory(levels);
        const orders = await insertOrders(batch.map(([lines]) => lines));
        // when every order is allocated at once, over a pool of POOL_SIZE connections
        const outcomes = await Promise.all(orders.map((o, i) => allocate(o.id, o.lines, batch[i]![1])));
        // then nothing failed: no deadlock, no constraint violation; the locks made every plan hold
        const failures = outcomes.filter((o) => typeof o === 'object');
        expect(failures, JSON.stringify(failures)).toEqual([]);
        expect(outcomes.filter((o) => o === 'refused')).toEqual([]);
        // and no row is oversold, and reserved matches the held reservations exactly
        const state = await expectStockConsistent();
        // and an order that got a reservation got all of it, in one warehouse; the others got nothing
        for (const [i, order] of orders.entries()) {
          const held = await heldReservations(db, order.id);
          if (outcomes[i] === 'reserved') {
            expect(new Set(held.map((r) => r.warehouse)).size).toBe(1);
            expect(new Map(held.map((r) => [r.sku, r.quantity]))).toEqual(quantitiesBySku(order.lines));
          } else {
            expect(held).toEqual([]);
          }
        }
        // and an order turned away could not be served by what is left either (no lost stock)
        const left = new Map(WAREHOUSES.map((w) => [w, new Map(state.filter((r) => r.warehouse === w).map((r) => [r.sku, r.onHand - r.reserved]))]));
        const facts = { categories: new Map(SKUS.map((s) => [s, 'general'])), warehouses: await listWarehouseFacts(db), available: left, usedToday: new Map<string, number>() };
        for (const [i, order] of orders.entries()) {
          if (outcomes[i] === 'none') expect(planAllocation(order.lines, US, facts, { strategy: 'priority', allowSplit: false }).kind, order.id).toBe('none');
        }
        // and the stock allows at least as many whole orders as got one
        const reservedOrders = outcomes.filter((o) => o === 'reserved').length;
        const units = state.reduce((n, r) => n + r.onHand, 0);
        expect(reservedOrders).toBeLessThanOrEqual(units);
      }),
      { numRuns: 15 },
    );
  }, 180_000);

  it('gives 7 of 50 concurrent one-unit orders the 7 units on hand, and the other 43 nothing', async () => {
    // given 7 units of SKU-1 in one warehouse, none anywhere else
    await resetInventory({ 'wh-b': { 'SKU-1': 7 } });
    const orders = await insertOrders(Array.from({ length: 50 }, () => [orderLine('SKU-1', 1)]));
    // when 50 orders for one unit each are allocated at once
    const outcomes = await Promise.all(orders.map((o) => allocate(o.id, o.lines, 1)));
    // then exactly 7 got a unit, 43 got nothing, and no transaction failed (no deadlock)
    expect(outcomes.filter((o) => typeof o === 'object')).toEqual([]);
    expect(outcomes.filter((o) => o === 'reserved')).toHaveLength(7);
    expect(outcomes.filter((o) => o === 'none')).toHaveLength(43);
    const state = await expectStockConsistent();
    expect(state.find((r) => r.warehouse === 'wh-b' && r.sku === 'SKU-1')).toMatchObject({ onHand: 7, reserved: 7, held: 7 });
    const { rows } = await db.query<{ n: number }>(`SELECT count(DISTINCT order_id)::int AS n FROM reservations WHERE status = 'held'`);
    expect(rows[0]!.n).toBe(7);
  }, 60_000);

  it('refuses a reservation the guarded UPDATE cannot cover, and reserves nothing for it', async () => {
    // given 2 units, and an order whose plan was made on stale numbers (5 units)
    await resetInventory({ 'wh-a': { 'SKU-2': 2 } });
    const [order] = await insertOrders([[orderLine('SKU-2', 5)]]);
    // when it reserves without the lock-then-plan step
    const result = await withTransaction(db, (tx) => reserveStock(tx, order!.id, [{ warehouse: 'wh-a', sku: 'SKU-2', quantity: 5 }]));
    // then it is refused and the row is untouched
    expect(result).toBe(false);
    expect((await expectStockConsistent()).find((r) => r.warehouse === 'wh-a' && r.sku === 'SKU-2')).toMatchObject({ onHand: 2, reserved: 0 });
  });
  it('reserves all lines of an order or none: one line it cannot cover leaves the others unreserved', async () => {
    await resetInventory({ 'wh-a': { 'SKU-1': 10, 'SKU-2': 2 } });
    const [order] = await insertOrders([[orderLine('SKU-1', 3), orderLine('SKU-2', 5)]]);
    const result = await withTransaction(db, (tx) => reserveStock(tx, order!.id, [
      { warehouse: 'wh-a', sku: 'SKU-1', quantity: 3 }, { warehouse: 'wh-a', sku: 'SKU-2', quantity: 5 },
    ]));
    expect(result).toBe(false);
    const state = await expectStockConsistent();
    expect(state.find((r) => r.warehouse === 'wh-a' && r.sku === 'SKU-1')).toMatchObject({ onHand: 10, reserved: 0 });
    expect(state.find((r) => r.warehouse === 'wh-a' && r.sku === 'SKU-2')).toMatchObject({ onHand: 2, reserved: 0 });
    const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM reservations WHERE order_id = $1', [order!.id]);
    expect(rows[0]!.n).toBe(0);
  });

  it('reserves the sum of two lines of one SKU in one warehouse, held as one reservation', async () => {
    await resetInventory({ 'wh-a': { 'SKU-1': 10 } });
    const [order] = await insertOrders([[orderLine('SKU-1', 3), orderLine('SKU-1', 4)]]);
    const result = await withTransaction(db, (tx) => reserveStock(tx, order!.id, [
      { warehouse: 'wh-a', sku: 'SKU-1', quantity: 3 }, { warehouse: 'wh-a', sku: 'SKU-1', quantity: 4 },
    ]));
    expect(result).toBe(true);
    expect((await expectStockConsistent()).find((r) => r.warehouse === 'wh-a' && r.sku === 'SKU-1')).toMatchObject({ onHand: 10, reserved: 7, held: 7 });
  });
});

describe('setOnHand', () => {
  it('sets on-hand stock at or above what is reserved', async () => {
    // given 10 on hand with 4 reserved for an order
    await resetInventory({ 'wh-a': { 'SKU-3': 10 } });
    const [order] = await insertOrders([[orderLine('SKU-3', 4)]]);
    expect(await allocate(order!.id, order!.lines)).toBe('reserved');
    // when a warehouse count says 6, then 4
    const six = await setOnHand(db, 'wh-a', 'SKU-3', 6);
    const four = await setOnHand(db, 'wh-a', 'SKU-3', 4);
    // then both are taken
    expect(six).toMatchObject({ ok: true, row: { warehouse: 'wh-a', sku: 'SKU-3', onHand: 6, reserved: 4, available: 2 } });
    expect(four).toMatchObject({ ok: true, row: { onHand: 4, reserved: 4, available: 0 } });
    await expectStockConsistent();
  });

  it('refuses to go below what is reserved, returning the reserved count and changing nothing', async () => {
    // given 10 on hand with 4 reserved
    await resetInventory({ 'wh-a': { 'SKU-3': 10 } });
    const [order] = await insertOrders([[orderLine('SKU-3', 4)]]);
    expect(await allocate(order!.id, order!.lines)).toBe('reserved');
    // when a count of 3 (and of 0) arrives
    const three = await setOnHand(db, 'wh-a', 'SKU-3', 3);
    const zero = await setOnHand(db, 'wh-a', 'SKU-3', 0);
    // then both are refused with the 4 reserved, and on hand is still 10
    expect(three).toEqual({ ok: false, reserved: 4 });
    expect(zero).toEqual({ ok: false, reserved: 4 });
    expect((await expectStockConsistent()).find((r) => r.warehouse === 'wh-a' && r.sku === 'SKU-3')).toMatchObject({ onHand: 10, reserved: 4 });
  });

  it('creates the row when the warehouse has none for the SKU yet', async () => {
    await db.query(`DELETE FROM inventory WHERE warehouse = 'wh-b' AND sku = 'SKU-4'`);
    expect(await setOnHand(db, 'wh-b', 'SKU-4', 12)).toMatchObject({ ok: true, row: { onHand: 12, reserved: 0, available: 12 } });
  });

  it('races safely with allocation: concurrent counts never leave on hand below reserved', async () => {
    // given 20 on hand and 20 one-unit orders
    await resetInventory({ 'wh-a': { 'SKU-1': 20 } });
    const orders = await insertOrders(Array.from({ length: 20 }, () => [orderLine('SKU-1', 1)]));
    // when the orders are allocated while counts of 5..15 arrive
    const counts = Array.from({ length: 11 }, (_, i) => withTransaction(db, (tx) => setOnHand(tx, 'wh-a', 'SKU-1', 5 + i)));
    const outcomes = await Promise.all(orders.map((o) => allocate(o.id, o.lines, 1)));
    const results = await Promise.all(counts);
    // then nothing failed, and the row is consistent
    expect(outcomes.filter((o) => typeof o === 'object')).toEqual([]);
    for (const r of results) if (!r.ok) expect(r.reserved).toBeGreaterThan(0);
    await expectStockConsistent();
  });
});

describe('counting stock a warehouse receives', () => {
  it('counts every one of concurrent first receipts of a SKU the warehouse never held', async () => {
    await db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('SKU-NEW', 'New', 'general', 100)`);
    const receipts = Array.from({ length: 6 }, (_, i) => withTransaction(db, (tx) => adjustOnHand(tx, 'wh-a', 'SKU-NEW', i + 1)));
    await Promise.all(receipts);
    const { rows } = await db.query<{ onHand: number }>(`SELECT on_hand AS "onHand" FROM inventory WHERE warehouse = 'wh-a' AND sku = 'SKU-NEW'`);
    expect(rows).toEqual([{ onHand: 1 + 2 + 3 + 4 + 5 + 6 }]);
  });
});
