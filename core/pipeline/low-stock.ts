/**
 * What the low-stock sweep does to one warehouse's stock of a SKU, pure: open the alert
 * that is missing, resolve the one that is stale, or leave things as they are.
 */
export type LowStockAlertChange = 'open' | 'resolve';

/** At or under the threshold there should be an open alert; above it, none. */
export function lowStockAlertChange(available: number, threshold: number, alertOpen: boolean): LowStockAlertChange | undefined {
  const low = available <= threshold;
  if (low && !alertOpen) return 'open';
  if (!low && alertOpen) return 'resolve';
  return undefined;
}
