import type { Queryable } from '../pool.ts';

/** Every warehouse's stock of every SKU it keeps. */
export async function allStockLevels(db: Queryable): Promise<{ warehouse: string; sku: string; available: number }[]> {
  const { rows } = await db.query<{ warehouse: string; sku: string; available: number }>(
    `SELECT warehouse, sku, on_hand - reserved AS available FROM inventory ORDER BY warehouse, sku`);
  return rows;
}

/** The message ids of the open low-stock alerts. */
export async function openLowStockAlerts(db: Queryable): Promise<Set<string>> {
  const { rows } = await db.query<{ messageId: string }>(
    `SELECT message_id AS "messageId" FROM exceptions WHERE type = 'low_stock' AND status = 'open' AND message_id IS NOT NULL`);
  return new Set(rows.map((r) => r.messageId));
}
