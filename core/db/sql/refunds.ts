import type { Queryable } from '../pool.ts';

/** A refund the hub asked a provider (or finance) for: a row of `refunds`. */
export interface AskedRefund {
  /** the idempotency key sent to the provider */
  id: string;
  /** the id of the event that asked for it; null on refunds older than the column */
  cause: string | null;
  provider: string;
  paymentId: string;
  amount: number;
  currency: string;
  /** the cause (`order.cancelled`, `order.reduced`, `return.refund_due`), or `by hand` once finance has it */
  reason: string;
  status: string;
  /** the provider's id for the refund (Stripe `re_…`, Adyen pspReference), once it answered */
  providerRefundId: string | null;
  /** when it was first asked (planned) */
  createdAt: Date;
}

/** Every refund the hub has asked for on the order, oldest first. */
export async function refundsAsked(db: Queryable, orderId: string): Promise<AskedRefund[]> {
  const { rows } = await db.query<AskedRefund>(
    `SELECT id, cause, provider, payment_id AS "paymentId", amount, currency, reason, status, provider_refund_id AS "providerRefundId", created_at AS "createdAt"
       FROM refunds WHERE order_id = $1 ORDER BY created_at, id`, [orderId]);
  return rows;
}

/**
 * A refund to ask of the provider's API, committed before it is asked: `id` is the
 * idempotency key sent with it, `cause` the event that asked.
 */
export async function recordRefundRequested(
  tx: Queryable, r: { id: string; cause: string; orderId: string; provider: string; paymentId: string; amount: number; currency: string; reason: string },
): Promise<void> {
  await tx.query(
    `INSERT INTO refunds (id, cause, order_id, provider, payment_id, amount, currency, reason, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'requested')
     ON CONFLICT (id) DO NOTHING`, [r.id, r.cause, r.orderId, r.provider, r.paymentId, r.amount, r.currency, r.reason]);
}

/**
 * The provider's answer to a refund still `requested`: its status and its own id for it.
 * False when another delivery of the same cause recorded the answer first.
 */
export async function recordRefundAnswer(tx: Queryable, id: string, status: string, providerRefundId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE refunds SET status = $2, provider_refund_id = $3, updated_at = now() WHERE id = $1 AND status = 'requested'`, [id, status, providerRefundId]);
  return rowCount === 1;
}

/**
 * A refund handed to finance: `by hand`, `failed` (at the provider, or never sent), with why.
 * A refund the provider refused was recorded as requested first; it becomes this one, so
 * the table says who is paying it back.
 */
export async function recordRefundByHand(
  tx: Queryable, r: { id: string; cause: string; orderId: string; provider: string; paymentId: string; amount: number; error: string },
): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO refunds (id, cause, order_id, provider, payment_id, amount, currency, reason, status, error)
     SELECT $1, $2, $3, $4, $5, $6, currency, 'by hand', 'failed', $7 FROM orders WHERE id = $3
     ON CONFLICT (id) DO UPDATE SET reason = 'by hand', status = 'failed', error = EXCLUDED.error, updated_at = now()
      WHERE refunds.status = 'requested'`,
    [r.id, r.cause, r.orderId, r.provider, r.paymentId, r.amount, r.error]);
  return rowCount === 1;
}

/** A refund the provider took as pending (or never answered) and whose money the ledger never showed. */
export interface UnconfirmedRefund { id: string; orderId: string; provider: string; paymentId: string; amount: number; currency: string; status: string; providerRefundId: string | null }

/**
 * Refunds still `requested` or `pending` since before `before`, with no refund in the ledger
 * under their provider id, and not yet handed to finance as unconfirmed (an exception keyed
 * `refund-unconfirmed:<id>`, open or resolved: a person who checked one is not asked again).
 */
export async function unconfirmedRefunds(db: Queryable, before: Date): Promise<UnconfirmedRefund[]> {
  const { rows } = await db.query<UnconfirmedRefund>(
    `SELECT r.id, r.order_id AS "orderId", r.provider, r.payment_id AS "paymentId", r.amount, r.currency, r.status, r.provider_refund_id AS "providerRefundId"
       FROM refunds r
      WHERE r.status IN ('requested', 'pending') AND r.updated_at < $1
        AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.kind = 'refunded' AND p.provider = r.provider AND p.entry_id = r.provider_refund_id)
        AND NOT EXISTS (SELECT 1 FROM exceptions e WHERE e.type = 'refund_needed' AND e.message_id = 'refund-unconfirmed:' || r.id)
      ORDER BY r.updated_at LIMIT 500`, [before]);
  return rows;
}
