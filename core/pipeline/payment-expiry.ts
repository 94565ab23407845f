/**
 * When a payment that matched no order expires, pure: after `days` days without its order
 * it is no longer matched to one (an order turning up that late is not paid by it), and
 * where the customer's money is held, finance must give it back.
 */

export interface UnmatchedMoney {
  kind: string;
  amount: number;
  currency: string;
  paymentId: string;
  provider: string;
  recordedAt: Date;
}

export interface PaymentExpiry {
  /** what finance must do, when the customer's money is held; absent: nothing to give back */
  refund?: { reason: string };
}

const DAY = 86_400_000;

/** The moment a payment recorded at `recordedAt` expires if it is still unmatched. */
export function expiresAt(recordedAt: Date, days: number): Date {
  return new Date(recordedAt.getTime() + days * DAY);
}

/** Whether the unmatched payment has expired at `now`, and what it leaves to do. */
export function paymentExpiry(p: UnmatchedMoney, now: Date, days: number): PaymentExpiry | undefined {
  if (now.getTime() < expiresAt(p.recordedAt, days).getTime()) return undefined;
  const what = `${p.provider} ${p.kind} ${p.paymentId} of ${p.amount} ${p.currency}`;
  switch (p.kind) {
    case 'captured':
      return { refund: { reason: `${what} matched no order within ${days} days: refund it to the customer` } };
    case 'authorized':
      return { refund: { reason: `${what} matched no order within ${days} days: void the authorization` } };
    default:
      // failed, voided, refunded, disputed: no money of the customer's is held
      return {};
  }
}
