// Migrations on the real Postgres: concurrent starts (several replicas) apply each
// migration exactly once, a second run applies nothing, and the guarantees the schema
// itself enforces hold: the order timeline is append-only, stock is never oversold.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listMigrations, migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { removeNamespace, testEnv, testNamespace } from './support/env.ts';

const ns = testNamespace('migrations');
const env = testEnv(ns);
const migrationNames = listMigrations().map((m) => m.name);

/** One pool per simulated replica: five processes starting at once. */
const replicas: Db[] = [];
let db: Db;

beforeAll(() => {
  for (let i = 0; i < 5; i += 1) replicas.push(createPool(env.databaseUrl, ns, 2));
  db = replicas[0]!;
});

afterAll(async () => {
  await Promise.all(replicas.map((pool) => pool.end()));
  await removeNamespace(env);
});

/** The Postgres error a statement raises (or fails the test when it raises none). */
async function errorOf(run: () => Promise<unknown>): Promise<{ code?: string; message: string }> {
  try {
    await run();
  } catch (error) {
    return error as { code?: string; message: string };
  }
  throw new Error('expected the statement to fail');
}

async function insertOrder(): Promise<string> {
  const id = randomUUID();
  await db.query(
    `INSERT INTO orders (id, order_number, channel, external_id, status, payment_status, fulfillment_status, currency, grand_total, data, placed_at)
     VALUES ($1, $2, 'website', $3, 'received', 'pending', 'unfulfilled', 'USD', 1999, '{}', now())`,
    [id, `T-${id.slice(0, 8)}`, `ext-${id}`],
  );
  return id;
}

describe('migrate', () => {
  it('run five times at once on a fresh namespace, applies each migration exactly once', async () => {
    const { rows: before } = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [ns]);
    expect(before).toHaveLength(0);

    const results = await Promise.all(replicas.map((pool) => migrate(pool, ns)));

    // One replica applied everything, the others waited on the lock and found nothing to do.
    expect(results.flat().sort()).toEqual([...migrationNames].sort());
    expect(results.filter((applied) => applied.length > 0)).toHaveLength(1);
    const { rows } = await db.query<{ version: number; name: string }>('SELECT version, name FROM schema_migrations ORDER BY version');
    expect(rows).toEqual(listMigrations().map((m) => ({ version: m.version, name: m.name })));
  });

  it('run again, applies nothing and changes nothing', async () => {
    const { rows: before } = await db.query('SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
    expect(await migrate(replicas[1]!, ns)).toEqual([]);
    const { rows: after } = await db.query('SELECT version, name, applied_at FROM schema_migrations ORDER BY version');
    expect(after).toEqual(before);
  });
});

describe('schema guarantees', () => {
  it('order_events is append-only: UPDATE and DELETE raise, the row stays', async () => {
    const orderId = await insertOrder();
    const { rows } = await db.query<{ id: number }>(
      `INSERT INTO order_events (order_id, type, to_status, actor) VALUES ($1, 'order.received', 'received', 'test') RETURNING id`, [orderId]);
    const eventId = rows[0]!.id;

    const update = await errorOf(() => db.query(`UPDATE order_events SET actor = 'someone else' WHERE id = $1`, [eventId]));
    expect(update.message).toContain('order_events is append-only');
    const remove = await errorOf(() => db.query('DELETE FROM order_events WHERE id = $1', [eventId]));
    expect(remove.message).toContain('order_events is append-only');

    const { rows: kept } = await db.query<{ actor: string }>('SELECT actor FROM order_events WHERE id = $1', [eventId]);
    expect(kept).toEqual([{ actor: 'test' }]);
    // Appending more is what the table is for.
    await db.query(`INSERT INTO order_events (order_id, type, from_status, to_status, actor) VALUES ($1, 'order.validated', 'received', 'validated', 'test')`, [orderId]);
    const { rows: all } = await db.query('SELECT 1 FROM order_events WHERE order_id = $1', [orderId]);
    expect(all).toHaveLength(2);
  });

  it('inventory rejects reserved > on_hand, on insert and on update', async () => {
    await db.query(
      `INSERT INTO warehouses (code, name, lat, lng, country, regions, categories, priority, integration)
       VALUES ('w1', 'Test warehouse', 40.7, -74.0, 'US', '{US}', '{}', 1, 'queue')`);
    await db.query(`INSERT INTO products (sku, name, category, weight_grams) VALUES ('SKU-1', 'Test product', 'general', 100)`);

    const insert = await errorOf(() => db.query(`INSERT INTO inventory (warehouse, sku, on_hand, reserved) VALUES ('w1', 'SKU-1', 5, 6)`));
    expect(insert.code).toBe('23514'); // check_violation
    const { rows: none } = await db.query('SELECT 1 FROM inventory');
    expect(none).toHaveLength(0);

    await db.query(`INSERT INTO inventory (warehouse, sku, on_hand, reserved) VALUES ('w1', 'SKU-1', 5, 5)`);
    const reserve = await errorOf(() => db.query(`UPDATE inventory SET reserved = reserved + 1 WHERE warehouse = 'w1' AND sku = 'SKU-1'`));
    expect(reserve.code).toBe('23514');
    const shrink = await errorOf(() => db.query(`UPDATE inventory SET on_hand = 4 WHERE warehouse = 'w1' AND sku = 'SKU-1'`));
    expect(shrink.code).toBe('23514');
    const { rows } = await db.query('SELECT on_hand, reserved FROM inventory');
    expect(rows).toEqual([{ on_hand: 5, reserved: 5 }]);
  });
});
