/**
 * Which backordered orders to validate again when stock of a SKU arrives: the oldest
 * first, as many as the new stock could serve. Sending every waiting order back would
 * only backorder most of them again, each with a fresh exception.
 */
export function ordersToRetry(waiting: readonly { orderId: string; quantity: number }[], available: number): string[] {
  const chosen: string[] = [];
  let left = available;
  for (const order of waiting) {
    if (order.quantity > left) break;
    chosen.push(order.orderId);
    left -= order.quantity;
  }
  return chosen;
}

/** The low-stock threshold of a SKU: its own, else the default, else 5. */
export function lowStockThreshold(settings: { lowStockThreshold?: number; lowStockBySku?: Record<string, number> } | undefined, sku: string): number {
  const own = settings?.lowStockBySku && Object.hasOwn(settings.lowStockBySku, sku) ? settings.lowStockBySku[sku] : undefined;
  return own ?? settings?.lowStockThreshold ?? 5;
}
