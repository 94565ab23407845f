import type { ReservationLine } from '../../order/record.ts';
import type { WarehouseFacts } from '../../pipeline/warehouses.ts';
import type { Queryable } from '../pool.ts';
import { lockOrders } from './orders.ts';

export async function listWarehouseFacts(db: Queryable): Promise<WarehouseFacts[]> {
  const { rows } = await db.query<WarehouseFacts>(
    `SELECT code, priority, regions, categories, json_build_object('lat', lat, 'lng', lng) AS location,
            daily_capacity AS "dailyCapacity", cutoff_time AS "cutoffTime", time_zone AS "timeZone"
       FROM warehouses ORDER BY priority, code`);
  return rows.map((w) => (w.dailyCapacity === null ? { ...w, dailyCapacity: undefined } : w));
}

export async function weightsOf(db: Queryable, skus: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await db.query<{ sku: string; grams: number }>('SELECT sku, weight_grams AS grams FROM products WHERE sku = ANY($1::text[])', [skus]);
  return new Map(rows.map((r) => [r.sku, r.grams]));
}

export async function categoriesOf(db: Queryable, skus: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await db.query<{ sku: string; category: string }>('SELECT sku, category FROM products WHERE sku = ANY($1::text[])', [skus]);
  return new Map(rows.map((r) => [r.sku, r.category]));
}

/**
 * Available stock (on hand − reserved) of `skus` in every warehouse. With `lock`, the rows
 * stay locked until the transaction ends, in one fixed order (warehouse, sku) so that two
 * allocations never deadlock.
 */
export async function availableStock(db: Queryable, skus: readonly string[], lock: boolean): Promise<Map<string, Map<string, number>>> {
  const { rows } = await db.query<{ warehouse: string; sku: string; available: number }>(
    `SELECT warehouse, sku, on_hand - reserved AS available FROM inventory
      WHERE sku = ANY($1::text[]) ORDER BY warehouse, sku ${lock ? 'FOR UPDATE' : ''}`,
    [skus],
  );
  return stockByWarehouse(rows);
}

/**
 * Locks, for a batch of allocations in one transaction, the orders (by id), then the stock
 * rows of every SKU on their lines in every warehouse (by warehouse, sku): what each
 * allocation then locks again, taken up front in one fixed order, so two batches queue on
 * their first common row instead of deadlocking. Orders before stock, as every stage that
 * locks both takes them.
 */
export async function lockForAllocation(tx: Queryable, orderIds: readonly string[]): Promise<void> {
  if (orderIds.length === 0) return;
  await lockOrders(tx, orderIds);
  await tx.query(
    `SELECT 1 FROM inventory WHERE sku IN (SELECT sku FROM order_lines WHERE order_id = ANY($1::uuid[]))
      ORDER BY warehouse, sku FOR UPDATE`, [orderIds]);
}

/**
 * Locks the stock rows of `skus` in `warehouse`, in the (warehouse, sku) order allocation
 * takes them (lockForAllocation): a stage that changes several rows in one transaction then
 * queues behind an allocation batch on their first common row instead of deadlocking with
 * it. `create` first makes the missing rows of known products (on hand 0, as adjustOnHand
 * would), in the same order: `FOR UPDATE` locks no missing row.
 */
export async function lockStock(tx: Queryable, warehouse: string, skus: readonly string[], options: { create?: boolean } = {}): Promise<void> {
  if (skus.length === 0) return;
  if (options.create) {
    await tx.query(
      `INSERT INTO inventory (warehouse, sku, on_hand) SELECT $1, sku, 0 FROM products WHERE sku = ANY($2::text[])
        ORDER BY sku ON CONFLICT (warehouse, sku) DO NOTHING`, [warehouse, skus]);
  }
  await tx.query('SELECT 1 FROM inventory WHERE warehouse = $1 AND sku = ANY($2::text[]) ORDER BY sku FOR UPDATE', [warehouse, skus]);
}

/** Available stock rows as a map: warehouse, then SKU. */
export function stockByWarehouse(rows: readonly { warehouse: string; sku: string; available: number }[]): Map<string, Map<string, number>> {
  const byWarehouse = new Map<string, Map<string, number>>();
  for (const r of rows) {
    const stock = byWarehouse.get(r.warehouse) ?? new Map<string, number>();
    stock.set(r.sku, r.available);
    byWarehouse.set(r.warehouse, stock);
  }
  return byWarehouse;
}

/**
 * Reserves stock for an order, all lines or none, in one statement. The guarded UPDATE is
 * the last line of defence against overselling: it reserves only while on hand − reserved
 * covers the quantity, and the table's CHECK rejects anything else. Returns false when a
 * line cannot be covered, with nothing reserved by this call; the caller rolls back.
 */
export async function reserveStock(tx: Queryable, orderId: string, lines: readonly ReservationLine[]): Promise<boolean> {
  if (lines.length === 0) return true;
  const { rows } = await tx.query<{ ok: boolean }>(
    `WITH wanted AS (
       SELECT warehouse, sku, sum(quantity)::int AS quantity
         FROM unnest($2::text[], $3::text[], $4::int[]) AS w(warehouse, sku, quantity) GROUP BY warehouse, sku),
     covered AS (
       SELECT count(*) AS n FROM wanted w JOIN inventory i USING (warehouse, sku) WHERE i.on_hand - i.reserved >= w.quantity),
     reserved AS (
       UPDATE inventory i SET reserved = i.reserved + w.quantity, updated_at = now() FROM wanted w
        WHERE i.warehouse = w.warehouse AND i.sku = w.sku AND i.on_hand - i.reserved >= w.quantity
          AND (SELECT n FROM covered) = (SELECT count(*) FROM wanted)
        RETURNING i.warehouse, i.sku, w.quantity),
     held AS (
       INSERT INTO reservations (order_id, warehouse, sku, quantity, status) SELECT $1, warehouse, sku, quantity, 'held' FROM reserved
       ON CONFLICT (order_id, warehouse, sku) DO UPDATE SET quantity = EXCLUDED.quantity, consumed = 0, status = 'held', created_at = now(), ended_at = NULL)
     SELECT (SELECT count(*) FROM reserved) = (SELECT count(*) FROM wanted) AS ok`,
    [orderId, lines.map((l) => l.warehouse), lines.map((l) => l.sku), lines.map((l) => l.quantity)],
  );
  return rows[0]?.ok === true;
}

/**
 * Gives back every stock reservation an order holds. The inventory rows are locked in the
 * same (warehouse, sku) order allocation uses, so a release never deadlocks with it.
 */
export async function releaseReservations(tx: Queryable, orderId: string): Promise<ReservationLine[]> {
  const held = await heldReservations(tx, orderId);
  if (held.length === 0) return held;
  await tx.query(
    `SELECT 1 FROM inventory WHERE (warehouse, sku) IN (SELECT warehouse, sku FROM reservations WHERE order_id = $1 AND status = 'held')
      ORDER BY warehouse, sku FOR UPDATE`, [orderId]);
  // Only what has not shipped goes back: a shipped unit already left the warehouse's stock.
  const { rows } = await tx.query<{ warehouse: string; sku: string; open: number }>(
    `SELECT warehouse, sku, quantity - consumed AS open FROM reservations WHERE order_id = $1 AND status = 'held' ORDER BY warehouse, sku`, [orderId]);
  for (const r of rows) {
    await tx.query('UPDATE inventory SET reserved = reserved - $3, updated_at = now() WHERE warehouse = $1 AND sku = $2', [r.warehouse, r.sku, r.open]);
  }
  // The row is kept (released) as history; a later allocation of the same SKU in the same
  // warehouse reuses it.
  await tx.query(`UPDATE reservations SET status = 'released', ended_at = now() WHERE order_id = $1 AND status = 'held'`, [orderId]);
  return held;
}

/** The stock order `$1` holds, as reservation lines (release reads them in its own statement too). */
export const heldReservationsQuery = `SELECT warehouse, sku, quantity FROM reservations WHERE order_id = $1 AND status = 'held' ORDER BY warehouse, sku`;

export async function heldReservations(db: Queryable, orderId: string): Promise<ReservationLine[]> {
  const { rows } = await db.query<ReservationLine>(heldReservationsQuery, [orderId]);
  return rows;
}

export interface ReservationRow { warehouse: string; sku: string; quantity: number; status: string; createdAt: Date }

export async function reservationsFor(db: Queryable, orderId: string): Promise<ReservationRow[]> {
  const { rows } = await db.query<ReservationRow>(
    `SELECT warehouse, sku, quantity, status, created_at AS "createdAt" FROM reservations WHERE order_id = $1 ORDER BY id`, [orderId]);
  return rows;
}

export interface InventoryRow { warehouse: string; sku: string; onHand: number; reserved: number; available: number; updatedAt: Date }

export async function listInventory(db: Queryable, f: { sku?: string | undefined; warehouse?: string | undefined }): Promise<InventoryRow[]> {
  const { rows } = await db.query<InventoryRow>(
    `SELECT warehouse, sku, on_hand AS "onHand", reserved, on_hand - reserved AS available, updated_at AS "updatedAt"
       FROM inventory WHERE ($1::text IS NULL OR sku = $1) AND ($2::text IS NULL OR warehouse = $2)
      ORDER BY warehouse, sku LIMIT 5000`,
    [f.sku ?? null, f.warehouse ?? null],
  );
  return rows;
}

export type SetOnHandResult = { ok: true; row: InventoryRow } | { ok: false; reserved: number };

/** Sets on-hand stock (a count from the warehouse), never below what is reserved. */
export async function setOnHand(tx: Queryable, warehouse: string, sku: string, onHand: number): Promise<SetOnHandResult> {
  const { rows } = await tx.query<InventoryRow>(
    `INSERT INTO inventory (warehouse, sku, on_hand) VALUES ($1, $2, $3)
     ON CONFLICT (warehouse, sku) DO UPDATE SET on_hand = EXCLUDED.on_hand, updated_at = now()
       WHERE inventory.reserved <= EXCLUDED.on_hand
     RETURNING warehouse, sku, on_hand AS "onHand", reserved, on_hand - reserved AS available, updated_at AS "updatedAt"`,
    [warehouse, sku, onHand],
  );
  if (rows[0]) return { ok: true, row: rows[0] };
  const current = await tx.query<{ reserved: number }>('SELECT reserved FROM inventory WHERE warehouse = $1 AND sku = $2', [warehouse, sku]);
  return { ok: false, reserved: current.rows[0]?.reserved ?? 0 };
}

/** Backordered orders that want `sku`, oldest first, with the quantity they want. */
export async function backordersWanting(db: Queryable, sku: string, limit: number): Promise<{ orderId: string; quantity: number }[]> {
  const { rows } = await db.query<{ orderId: string; quantity: number }>(
    `SELECT o.id AS "orderId", sum(l.quantity)::int AS quantity
       FROM orders o JOIN order_lines l ON l.order_id = o.id AND l.sku = $1
      WHERE o.status = 'backordered' GROUP BY o.id, o.created_at ORDER BY o.created_at, o.id LIMIT $2`,
    [sku, limit]);
  return rows;
}

/** Stock of one SKU in one warehouse, or undefined when the warehouse does not carry it. */
export async function stockLevel(db: Queryable, warehouse: string, sku: string): Promise<{ onHand: number; reserved: number; available: number } | undefined> {
  const { rows } = await db.query<{ onHand: number; reserved: number; available: number }>(
    `SELECT on_hand AS "onHand", reserved, on_hand - reserved AS available FROM inventory WHERE warehouse = $1 AND sku = $2`, [warehouse, sku]);
  return rows[0];
}

/**
 * `stockLevel`, and in the same statement the SKU's open low-stock alert in that warehouse
 * (`alertId`) resolved when the level is above `threshold`: allocation reads the level of
 * every SKU it reserved, and an alert to resolve is rare, so it costs no round trip of its own.
 */
export async function stockLevelResolvingAlert(
  db: Queryable, warehouse: string, sku: string, alert: { id: string; threshold: number },
): Promise<{ onHand: number; reserved: number; available: number } | undefined> {
  const { rows } = await db.query<{ onHand: number; reserved: number; available: number }>(
    `WITH level AS (SELECT on_hand, reserved, on_hand - reserved AS available FROM inventory WHERE warehouse = $1 AND sku = $2),
          resolved AS (
            UPDATE exceptions SET status = 'resolved', resolved_at = now(),
                   details = details || jsonb_build_object('resolution', format('%s available, above the threshold of %s', level.available, $4::numeric))
              FROM level
             WHERE type = 'low_stock' AND message_id = $3 AND status = 'open' AND level.available > $4::numeric)
     SELECT on_hand AS "onHand", reserved, available FROM level`, [warehouse, sku, alert.id, alert.threshold]);
  return rows[0];
}

/** Total available of a SKU across all warehouses. */
export async function totalAvailable(db: Queryable, sku: string): Promise<number> {
  const { rows } = await db.query<{ n: number | null }>('SELECT sum(on_hand - reserved)::int AS n FROM inventory WHERE sku = $1', [sku]);
  return rows[0]?.n ?? 0;
}

/**
 * Moves on-hand stock by `delta` (a warehouse's count correction or receipt), never below
 * what is reserved: a shortfall stops at the reservations and is reported, because the units
 * are promised to orders and a person must decide which order loses them.
 */
export async function adjustOnHand(tx: Queryable, warehouse: string, sku: string, delta: number): Promise<{ before: number; after: number; shortfall: number }> {
  // The row must exist before it is locked: `FOR UPDATE` on a missing row locks nothing, and
  // two first receipts of a SKU would each write their own total. A concurrent insert waits
  // on the key until the first commits, then the lock below reads the committed count.
  await tx.query(`INSERT INTO inventory (warehouse, sku, on_hand) VALUES ($1, $2, 0) ON CONFLICT (warehouse, sku) DO NOTHING`, [warehouse, sku]);
  const { rows } = await tx.query<{ before: number; reserved: number }>(
    `SELECT on_hand AS before, reserved FROM inventory WHERE warehouse = $1 AND sku = $2 FOR UPDATE`, [warehouse, sku]);
  const current = rows[0] ?? { before: 0, reserved: 0 };
  const wanted = current.before + delta;
  const after = Math.max(wanted, current.reserved, 0);
  await tx.query(`UPDATE inventory SET on_hand = $3, updated_at = now() WHERE warehouse = $1 AND sku = $2`, [warehouse, sku, after]);
  return { before: current.before, after, shortfall: after - wanted };
}

/**
 * A warehouse shipped units of an order: they leave its stock (on hand and reserved
 * together) and count as consumed on the reservation. Never more than was reserved; returns
 * what was consumed per SKU, so an over-shipment shows.
 */
export async function consumeReservations(tx: Queryable, orderId: string, warehouse: string, lines: readonly { sku: string; quantity: number }[]): Promise<{ sku: string; consumed: number; wanted: number }[]> {
  const result: { sku: string; consumed: number; wanted: number }[] = [];
  // the stock rows in allocation's order up front, whatever order the lines name them in
  await lockStock(tx, warehouse, lines.map((l) => l.sku));
  for (const line of [...lines].sort((a, b) => a.sku.localeCompare(b.sku))) {
    const { rows } = await tx.query<{ open: number }>(
      `SELECT quantity - consumed AS open FROM reservations WHERE order_id = $1 AND warehouse = $2 AND sku = $3 AND status = 'held' FOR UPDATE`,
      [orderId, warehouse, line.sku]);
    const consumed = Math.min(line.quantity, Math.max(0, rows[0]?.open ?? 0));
    if (consumed > 0) {
      await tx.query(`UPDATE inventory SET on_hand = on_hand - $3, reserved = reserved - $3, updated_at = now() WHERE warehouse = $1 AND sku = $2`, [warehouse, line.sku, consumed]);
      await tx.query(
        `UPDATE reservations SET consumed = consumed + $4, status = CASE WHEN consumed + $4 = quantity THEN 'consumed' ELSE status END,
                ended_at = CASE WHEN consumed + $4 = quantity THEN now() ELSE ended_at END
          WHERE order_id = $1 AND warehouse = $2 AND sku = $3`, [orderId, warehouse, line.sku, consumed]);
    }
    result.push({ sku: line.sku, consumed, wanted: line.quantity });
  }
  return result;
}

/** How much of the order's reserved stock is still to ship (held, not yet consumed). */
export async function unshippedUnits(db: Queryable, orderId: string): Promise<number> {
  const { rows } = await db.query<{ n: number | null }>(`SELECT sum(quantity - consumed)::int AS n FROM reservations WHERE order_id = $1 AND status = 'held'`, [orderId]);
  return rows[0]?.n ?? 0;
}

/** Gives back an order's reservations in one warehouse (a warehouse refused its part). */
export async function releaseReservationsIn(tx: Queryable, orderId: string, warehouse: string): Promise<void> {
  const { rows } = await tx.query<{ sku: string; open: number }>(
    `SELECT sku, quantity - consumed AS open FROM reservations WHERE order_id = $1 AND warehouse = $2 AND status = 'held' ORDER BY sku FOR UPDATE`, [orderId, warehouse]);
  for (const r of rows) {
    await tx.query('UPDATE inventory SET reserved = reserved - $3, updated_at = now() WHERE warehouse = $1 AND sku = $2', [warehouse, r.sku, r.open]);
  }
  await tx.query(`UPDATE reservations SET status = 'released', ended_at = now() WHERE order_id = $1 AND warehouse = $2 AND status = 'held'`, [orderId, warehouse]);
}
