import { withTransaction, type Db } from '../db/pool.ts';
import { stockLevel } from '../db/sql/inventory.ts';
import { allStockLevels, openLowStockAlerts } from '../db/sql/low-stock.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import { lowStockThreshold } from '../pipeline/backorders.ts';
import { lowStockAlertChange } from '../pipeline/low-stock.ts';
import type { StageContext } from './context.ts';
import { applyLowStockAlert, lowStockAlertId } from './stock.ts';

/**
 * Job `low-stock`: a stock change alerts as it crosses the threshold, but reservations and a
 * changed threshold in the config move the picture without one. The sweep compares every
 * warehouse's stock of every SKU with its threshold, opens the alerts that are missing and
 * resolves the stale ones, through the same code as a stock change.
 */
export async function sweepLowStock(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const [levels, open] = await Promise.all([allStockLevels(db), openLowStockAlerts(db)]);
  let opened = 0;
  let resolved = 0;
  for (const { warehouse, sku, available } of levels) {
    if (!lowStockAlertChange(available, lowStockThreshold(ctx.config.inventory, sku), open.has(lowStockAlertId(warehouse, sku)))) continue;
    await withTransaction(db, async (tx) => {
      // read again: the stock may have moved since the list was taken
      const level = await stockLevel(tx, warehouse, sku);
      if (!level) return;
      const { change, messages } = await applyLowStockAlert(tx, ctx, warehouse, sku, level);
      await enqueueMessages(tx, messages);
      if (change === 'opened') opened++;
      if (change === 'resolved') resolved++;
    });
  }
  return { checked: levels.length, opened, resolved };
}
