import type { CanonicalLine, CanonicalOrder } from '../../schemas/canonical-order.ts';

export interface Reduction {
  order: CanonicalOrder;
  /** what is no longer shipped, per SKU */
  removed: { sku: string; quantity: number }[];
  /** what the customer paid for and will not receive, in minor units */
  refundDue: number;
}

/**
 * "Ship what is there": the order cut down to the units available, its money still adding
 * up. A line's discount and tax shrink with its quantity (integer arithmetic, rounding
 * down, so the customer is never charged more than before); order-level discounts and
 * shipping stay. Returns null when nothing at all is available.
 */
export function reduceToAvailable(order: CanonicalOrder, available: ReadonlyMap<string, number>): Reduction | null {
  const left = new Map(available);
  const lines: CanonicalLine[] = [];
  const removed: { sku: string; quantity: number }[] = [];
  let removedDiscount = 0;
  let removedTax = 0;
  for (const line of order.lines) {
    const keep = Math.min(line.quantity, Math.max(0, left.get(line.sku) ?? 0));
    left.set(line.sku, (left.get(line.sku) ?? 0) - keep);
    if (keep < line.quantity) removed.push({ sku: line.sku, quantity: line.quantity - keep });
    if (keep === 0) {
      removedDiscount += line.discount;
      removedTax += line.tax;
      continue;
    }
    const discount = Math.floor((line.discount * keep) / line.quantity);
    const tax = Math.floor((line.tax * keep) / line.quantity);
    removedDiscount += line.discount - discount;
    removedTax += line.tax - tax;
    lines.push({ ...line, quantity: keep, discount, tax });
  }
  if (lines.length === 0) return null;
  const t = order.totals;
  const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
  const discounts = Math.max(0, t.discounts - removedDiscount);
  const tax = Math.max(0, t.tax - removedTax);
  const grandTotal = Math.max(0, subtotal - discounts + t.shipping + (t.taxIncluded ? 0 : tax) + t.otherCharges);
  return {
    order: { ...order, lines, totals: { ...t, subtotal, discounts, tax, grandTotal } },
    removed,
    refundDue: t.grandTotal - grandTotal,
  };
}
