import type { HubConfig } from '../../../schemas/config.ts';
import type { Queryable } from '../pool.ts';

/**
 * Seeds warehouses, products and initial stock from the business config. Existing rows
 * are left alone: once seeded, the database (kept current by operators and warehouses
 * through the API) is the truth, and a restart must not reset stock.
 */
export async function seedReferenceData(db: Queryable, config: HubConfig): Promise<void> {
  for (const w of config.warehouses) {
    await db.query(
      `INSERT INTO warehouses (code, name, lat, lng, country, regions, categories, priority, integration, daily_capacity, cutoff_time, time_zone)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) ON CONFLICT (code) DO NOTHING`,
      [w.code, w.name, w.location.lat, w.location.lng, w.country, w.regions, w.categories, w.priority, w.integration ?? 'queue',
        w.dailyCapacity ?? null, w.cutoffTime ?? '15:00', w.timeZone ?? 'UTC'],
    );
  }
  for (const p of config.products) {
    await db.query(
      `INSERT INTO products (sku, name, category, weight_grams) VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO NOTHING`,
      [p.sku, p.name, p.category, p.weightGrams],
    );
  }
  for (const c of config.customers ?? []) {
    await db.query(
      `INSERT INTO customer_accounts (customer_key, currency, balance) VALUES ($1, $2, $3) ON CONFLICT (customer_key) DO NOTHING`,
      [c.email.trim().toLowerCase(), c.storeCredit.currency, c.storeCredit.balance],
    );
  }
  for (const s of config.stock) {
    await db.query(
      `INSERT INTO inventory (warehouse, sku, on_hand) VALUES ($1, $2, $3) ON CONFLICT (warehouse, sku) DO NOTHING`,
      [s.warehouse, s.sku, s.onHand],
    );
  }
}

export interface WarehouseRow {
  code: string; name: string; lat: number; lng: number; country: string; regions: string[]; categories: string[]; priority: number; integration: string;
  dailyCapacity: number | null; cutoffTime: string; timeZone: string;
}

export async function listWarehouses(db: Queryable): Promise<WarehouseRow[]> {
  const { rows } = await db.query<WarehouseRow>(
    `SELECT code, name, lat, lng, country, regions, categories, priority, integration, daily_capacity AS "dailyCapacity",
            cutoff_time AS "cutoffTime", time_zone AS "timeZone" FROM warehouses ORDER BY code`);
  return rows;
}

export interface Product { sku: string; name: string; category: string; weightGrams: number; updatedAt?: Date }

export async function listProducts(db: Queryable): Promise<Product[]> {
  const { rows } = await db.query<Product>(
    `SELECT sku, name, category, weight_grams AS "weightGrams", updated_at AS "updatedAt" FROM products ORDER BY sku LIMIT 10000`);
  return rows;
}

export async function upsertProduct(db: Queryable, p: Product): Promise<{ product: Product; created: boolean }> {
  const { rows } = await db.query<Product & { created: boolean }>(
    `INSERT INTO products (sku, name, category, weight_grams) VALUES ($1, $2, $3, $4)
     ON CONFLICT (sku) DO UPDATE SET name = EXCLUDED.name, category = EXCLUDED.category,
                                     weight_grams = EXCLUDED.weight_grams, updated_at = now()
     RETURNING sku, name, category, weight_grams AS "weightGrams", updated_at AS "updatedAt", (xmax = 0) AS created`,
    [p.sku, p.name, p.category, p.weightGrams],
  );
  const { created, ...product } = rows[0]!;
  return { product, created };
}

export async function warehouseExists(db: Queryable, code: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM warehouses WHERE code = $1', [code]);
  return rowCount === 1;
}

export async function productExists(db: Queryable, sku: string): Promise<boolean> {
  const { rowCount } = await db.query('SELECT 1 FROM products WHERE sku = $1', [sku]);
  return rowCount === 1;
}
