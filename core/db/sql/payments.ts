import type { PaymentEvent } from '../../../connectors/payments/types.ts';
import type { LedgerLine } from '../../pipeline/payment-status.ts';
import { jsonb } from '../jsonb.ts';
import type { Queryable } from '../pool.ts';

/**
 * Records a movement of money; false when the ledger already has it (a duplicate report).
 * A cumulative entry reported again with a larger total is raised to it (and counts as new).
 */
export async function recordPayment(tx: Queryable, e: PaymentEvent, orderId: string | null, rawId: number | null): Promise<boolean> {
  const { rowCount } = await tx.query(
    `INSERT INTO payments (provider, entry_id, payment_id, account, kind, amount, currency, method, order_id, match, raw_id, failure_reason, occurred_at, matched_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, CASE WHEN $9::uuid IS NULL THEN NULL ELSE now() END)
     ON CONFLICT (provider, entry_id) DO UPDATE SET amount = EXCLUDED.amount, occurred_at = EXCLUDED.occurred_at
       WHERE $14::boolean AND payments.amount < EXCLUDED.amount`,
    [e.provider, e.entryId, e.paymentId, e.account, e.kind, e.amount, e.currency, e.method, orderId, jsonb(e.match), rawId, e.failureReason ?? null, e.occurredAt, e.cumulative === true],
  );
  return rowCount === 1;
}

/**
 * An order's ledger, oldest first. `entryId` names the movement as its provider did (a refund's
 * own id for Stripe and Adyen): what ties a refund in the ledger to the one the hub asked for.
 */
export async function ledgerOf(db: Queryable, orderId: string): Promise<(LedgerLine & { provider: string; paymentId: string; entryId: string })[]> {
  const { rows } = await db.query<LedgerLine & { provider: string; paymentId: string; entryId: string }>(
    `SELECT kind, amount, currency, provider, payment_id AS "paymentId", entry_id AS "entryId" FROM payments WHERE order_id = $1 ORDER BY id`, [orderId]);
  return rows;
}

/**
 * Serializes an order's creation with the matching of payments that name its external id,
 * until the transaction ends. Without it, an order and its payment arriving together could
 * each miss the other (neither committed yet), leaving the payment unmatched.
 */
export async function lockMatchKey(tx: Queryable, externalOrderId: string): Promise<void> {
  await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`payment-match:${externalOrderId}`]);
}

/** The order a payment points at: by the hub's id, its order number, or the channel's own order id. */
export async function findOrderForPayment(
  db: Queryable,
  match: PaymentEvent['match'],
  channels: readonly string[],
): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM orders
      WHERE ($1::text IS NOT NULL AND id::text = $1)
         OR ($2::text IS NOT NULL AND order_number = $2)
         OR ($3::text IS NOT NULL AND external_id = $3 AND channel = ANY($4::text[]))
      LIMIT 1`,
    [match.orderId ?? null, match.orderNumber ?? null, match.externalOrderId ?? null, channels],
  );
  return rows[0]?.id;
}

/**
 * Gives a newly received order the payments that came before it (matched by its id, number,
 * or — for providers linked to its channel — its external id), and returns them: they are
 * news to the order (a failure the customer must hear of, a capture that releases it).
 */
export async function claimEarlyPayments(
  tx: Queryable,
  order: { id: string; orderNumber: string; externalId: string },
  providers: readonly string[],
): Promise<PaymentEvent[]> {
  const { rows } = await tx.query<PaymentEvent>(
    `UPDATE payments SET order_id = $1::uuid, matched_at = now()
      WHERE order_id IS NULL AND expired_at IS NULL
        AND (match->>'orderId' = $5 OR match->>'orderNumber' = $2 OR (match->>'externalOrderId' = $3 AND provider = ANY($4::text[])))
      RETURNING provider, account, entry_id AS "entryId", payment_id AS "paymentId", kind, amount::float8 AS amount, currency,
                to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS "occurredAt", method, match, failure_reason AS "failureReason"`,
    [order.id, order.orderNumber, order.externalId, providers, order.id],
  );
  return rows;
}

export interface UnmatchedPayment { provider: string; entryId: string; paymentId: string; kind: string; amount: number; currency: string; match: Record<string, string>; recordedAt: Date }

/** Payments still without an order (and not expired), recorded before `before`. */
export async function unmatchedPayments(db: Queryable, before: Date): Promise<UnmatchedPayment[]> {
  const { rows } = await db.query<UnmatchedPayment>(
    `SELECT provider, entry_id AS "entryId", payment_id AS "paymentId", kind, amount, currency, match, recorded_at AS "recordedAt"
       FROM payments WHERE order_id IS NULL AND expired_at IS NULL AND recorded_at < $1 ORDER BY recorded_at LIMIT 500`, [before]);
  return rows;
}

/**
 * Marks a payment that never found its order as expired at `at`: no order claims it after
 * this. False when it was matched (or expired) in the meantime.
 */
export async function expirePayment(tx: Queryable, provider: string, entryId: string, at: Date): Promise<boolean> {
  const { rowCount } = await tx.query(
    `UPDATE payments SET expired_at = $3 WHERE provider = $1 AND entry_id = $2 AND order_id IS NULL AND expired_at IS NULL`, [provider, entryId, at]);
  return rowCount === 1;
}

/** Orders still unpaid (pending or failed) received before `before`, that are not paid on delivery. */
export async function unpaidOrders(db: Queryable, before: Date): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT id FROM orders
      WHERE payment_status IN ('pending', 'failed') AND created_at < $1
        AND status IN ('received', 'validated', 'on_hold', 'backordered', 'allocated', 'ready_to_ship')
        AND data->'payment'->>'method' <> 'cash_on_delivery'
      ORDER BY created_at LIMIT 500`, [before]);
  return rows.map((r) => r.id);
}

/** A provider's ledger entries, for a settlement report to be compared with. */
export async function providerLedger(db: Queryable, provider: string): Promise<{ provider: string; paymentId: string; kind: string; amount: number; currency: string; orderId: string | null }[]> {
  const { rows } = await db.query<{ provider: string; paymentId: string; kind: string; amount: number; currency: string; orderId: string | null }>(
    `SELECT provider, payment_id AS "paymentId", kind, amount, currency, order_id AS "orderId" FROM payments WHERE provider = $1`, [provider]);
  return rows;
}
