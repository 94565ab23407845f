// The per-process cache of reference data the stages read for every order, on the real
// Postgres: how stale it may be, and where it must never be stale at all.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceCache } from '../core/stages/reference-cache.ts';
import { adminRequest, startTestHub } from './support/hub.ts';

let t: Awaited<ReturnType<typeof startTestHub>>;

beforeAll(async () => {
  t = await startTestHub('refcache', ['api']);
});
afterAll(async () => {
  await t?.stop();
});

const setCategory = (sku: string, category: string) => t.hub.db.query('UPDATE products SET category = $2 WHERE sku = $1', [sku, category]);

describe('the reference cache', () => {
  it('holds products and warehouses for its time to live, then reads them again', async () => {
    let clock = 0;
    const cache = referenceCache(5_000, () => clock);
    await t.hub.db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('RC-1', 'One', 'kitchen', 100)`);
    expect(await cache.categories(t.hub.db, ['RC-1'])).toEqual(new Map([['RC-1', 'kitchen']]));
    expect(await cache.weights(t.hub.db, ['RC-1'])).toEqual(new Map([['RC-1', 100]]));
    const before = await cache.warehouses(t.hub.db);

    await setCategory('RC-1', 'apparel');
    await t.hub.db.query('UPDATE warehouses SET priority = priority + 100');
    clock = 4_999;
    expect(await cache.categories(t.hub.db, ['RC-1'])).toEqual(new Map([['RC-1', 'kitchen']]));
    expect(await cache.warehouses(t.hub.db)).toEqual(before);
    clock = 5_000;
    expect(await cache.categories(t.hub.db, ['RC-1'])).toEqual(new Map([['RC-1', 'apparel']]));
    expect((await cache.warehouses(t.hub.db)).map((w) => w.priority)).toEqual(before.map((w) => w.priority + 100));
  });

  it('never misses a product it does not hold: a new SKU is read with the others at once', async () => {
    const cache = referenceCache(60_000, () => 0);
    await t.hub.db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('RC-2', 'Two', 'kitchen', 200)`);
    expect(await cache.categories(t.hub.db, ['RC-2', 'RC-NEW'])).toEqual(new Map([['RC-2', 'kitchen']]));
    await t.hub.db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('RC-NEW', 'New', 'apparel', 300)`);
    expect(await cache.categories(t.hub.db, ['RC-2', 'RC-NEW'])).toEqual(new Map([['RC-2', 'kitchen'], ['RC-NEW', 'apparel']]));
    expect(await cache.weights(t.hub.db, ['RC-NEW'])).toEqual(new Map([['RC-NEW', 300]]));
  });

  it('holds at most maxProducts products, dropping the longest held: a dropped one is read afresh', async () => {
    const cache = referenceCache(60_000, () => 0, 2);
    await t.hub.db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('RC-CAP-1', 'C1', 'kitchen', 1), ('RC-CAP-2', 'C2', 'kitchen', 2), ('RC-CAP-3', 'C3', 'kitchen', 3)`);
    await cache.categories(t.hub.db, ['RC-CAP-1']);
    await cache.categories(t.hub.db, ['RC-CAP-2', 'RC-CAP-3']);
    await t.hub.db.query(`UPDATE products SET category = 'apparel' WHERE sku LIKE 'RC-CAP-%'`);
    // RC-CAP-1 was dropped to make room; the other two are still held, stale within the time to live
    expect(await cache.categories(t.hub.db, ['RC-CAP-1'])).toEqual(new Map([['RC-CAP-1', 'apparel']]));
    expect(await cache.categories(t.hub.db, ['RC-CAP-3'])).toEqual(new Map([['RC-CAP-3', 'kitchen']]));
  });

  it('hands out copies: what a caller changes in the warehouses it got, the next caller does not see', async () => {
    const cache = referenceCache(60_000, () => 0);
    const first = await cache.warehouses(t.hub.db);
    first[0]!.priority = -1;
    first.pop();
    const second = await cache.warehouses(t.hub.db);
    expect(second).toHaveLength(first.length + 1);
    expect(second[0]!.priority).not.toBe(-1);
  });

  it('a product changed through the API is seen at once by the stages of the process that took the change', async () => {
    const reference = t.hub.ctx.reference!;
    const put = (category: string) => adminRequest(t.hub, '/products/RC-API', { method: 'PUT', body: JSON.stringify({ name: 'Api', category, weightGrams: 10 }) });
    expect((await put('kitchen')).status).toBe(201);
    expect(await reference.categories(t.hub.db, ['RC-API'])).toEqual(new Map([['RC-API', 'kitchen']]));
    expect((await put('apparel')).status).toBe(200);
    expect(await reference.categories(t.hub.db, ['RC-API'])).toEqual(new Map([['RC-API', 'apparel']]));
  });
});
