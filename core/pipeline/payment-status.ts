import type { PaymentKind } from '../../connectors/payments/types.ts';
import type { PaymentStatus } from '../order/status.ts';

export interface LedgerLine { kind: PaymentKind; amount: number; currency: string }

export interface PaymentPosition {
  status: PaymentStatus;
  captured: number;
  refunded: number;
  /** what a person must look at: a wrong currency, too little or too much money, a dispute */
  problems: string[];
}

/**
 * An order's payment status from its ledger, whatever order the movements arrived in:
 * sums in integer minor units of the order's currency (money in another currency is not
 * counted, and is a problem). Captured money decides; refunds reduce it; an authorization
 * counts only until something is captured.
 */
export function paymentPosition(lines: readonly LedgerLine[], order: { grandTotal: number; currency: string }): PaymentPosition {
  const problems: string[] = [];
  const sum = (kind: PaymentKind) => lines.filter((l) => l.kind === kind && l.currency === order.currency).reduce((s, l) => s + l.amount, 0);
  const foreign = lines.filter((l) => l.currency !== order.currency && l.kind !== 'failed');
  if (foreign.length > 0) problems.push(`payment in ${[...new Set(foreign.map((l) => l.currency))].join(', ')} for an order in ${order.currency}`);
  const captured = sum('captured');
  const refunded = sum('refunded');
  const authorized = sum('authorized');
  const voided = sum('voided');
  if (lines.some((l) => l.kind === 'disputed')) problems.push('the customer disputed the payment');

  let status: PaymentStatus;
  if (captured > 0) {
    if (refunded >= captured) status = 'refunded';
    else if (refunded > 0) status = 'partially_refunded';
    else if (captured === order.grandTotal) status = 'paid';
    else if (captured < order.grandTotal) status = 'partially_paid';
    else status = 'overpaid';
    if (refunded > captured) problems.push(`refunded ${refunded}, more than the ${captured} captured`);
  } else if (authorized > 0 && voided < authorized) {
    status = 'authorized';
  } else if (voided > 0) {
    status = 'voided';
  } else if (lines.some((l) => l.kind === 'failed')) {
    status = 'failed';
  } else {
    status = 'pending';
  }
  if (status === 'partially_paid') problems.push(`captured ${captured} of ${order.grandTotal} ${order.currency}`);
  if (status === 'overpaid') problems.push(`captured ${captured}, more than the ${order.grandTotal} ${order.currency} due`);
  return { status, captured, refunded, problems };
}
