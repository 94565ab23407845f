import type { Queryable } from '../db/pool.ts';
import { categoriesOf, listWarehouseFacts, weightsOf } from '../db/sql/inventory.ts';
import type { WarehouseFacts } from '../pipeline/warehouses.ts';

/**
 * Reference data every order reads at validation, allocation and release — the warehouses'
 * facts, the products' categories and weights — kept per process for a few seconds: they
 * change by hand, rarely, and reading them cost 7 of an order's ~80 round trips.
 *
 * How stale it can be: a product created through the API is never missed (a SKU the cache
 * does not hold is read from the database, with the others asked for at the same time); a
 * product changed through the API is seen at once in the process that took the change
 * (`forget`) and within `ttlMs` in the others; a warehouse changed in the database, within
 * `ttlMs`. At most `maxProducts` products are held, the longest held dropped first: a large
 * catalogue costs a bounded amount of memory, not one entry per SKU ever sold.
 */
export interface ReferenceCache {
  warehouses(db: Queryable): Promise<WarehouseFacts[]>;
  categories(db: Queryable, skus: readonly string[]): Promise<Map<string, string>>;
  weights(db: Queryable, skus: readonly string[]): Promise<Map<string, number>>;
  /** drops everything held: the next read goes to the database */
  forget(): void;
}

interface ProductFacts { category: string; grams: number; at: number }

export function referenceCache(ttlMs = 5_000, clock: () => number = () => performance.now(), maxProducts = 10_000): ReferenceCache {
  let warehouses: { facts: WarehouseFacts[]; at: number } | undefined;
  const products = new Map<string, ProductFacts>();
  const fresh = (at: number) => clock() - at < ttlMs;

  async function productFacts(db: Queryable, skus: readonly string[]): Promise<Map<string, ProductFacts>> {
    const held = new Map<string, ProductFacts>();
    for (const sku of skus) {
      const p = products.get(sku);
      if (p && fresh(p.at)) held.set(sku, p);
    }
    if (held.size === new Set(skus).size) return held;
    const { rows } = await db.query<{ sku: string; category: string; grams: number }>(
      'SELECT sku, category, weight_grams AS grams FROM products WHERE sku = ANY($1::text[])', [skus]);
    const at = clock();
    const read = new Map<string, ProductFacts>();
    for (const r of rows) {
      const p = { category: r.category, grams: r.grams, at };
      // deleted first, so the Map's order is the order products were read in
      products.delete(r.sku);
      products.set(r.sku, p);
      read.set(r.sku, p);
    }
    for (const sku of products.keys()) {
      if (products.size <= maxProducts) break;
      products.delete(sku);
    }
    return read;
  }

  return {
    async warehouses(db) {
      if (!warehouses || !fresh(warehouses.at)) warehouses = { facts: await listWarehouseFacts(db), at: clock() };
      // a copy: the callers' plans must not be able to change what the next order reads
      return structuredClone(warehouses.facts);
    },
    async categories(db, skus) {
      return new Map([...(await productFacts(db, skus))].map(([sku, p]) => [sku, p.category]));
    },
    async weights(db, skus) {
      return new Map([...(await productFacts(db, skus))].map(([sku, p]) => [sku, p.grams]));
    },
    forget() {
      warehouses = undefined;
      products.clear();
    },
  };
}

/** The same reads, each from the database: for a context built without a cache. */
export const uncachedReference: ReferenceCache = {
  warehouses: listWarehouseFacts, categories: categoriesOf, weights: weightsOf, forget() {},
};
