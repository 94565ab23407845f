import type { CustomerFacts } from '../../pipeline/validate.ts';
import type { Queryable } from '../pool.ts';
import { stockByWarehouse } from './inventory.ts';

export interface OrderValidationFacts {
  /** available (on hand − reserved) by warehouse, then SKU — read without locks: allocation re-checks under them */
  available: Map<string, Map<string, number>>;
  customer: CustomerFacts;
  /** the hold rules an operator waived for this order (`order.review_approved` entries name them), sorted */
  waivedRules: string[];
}

/**
 * What validation reads once the order is locked, in one round trip: the stock of its SKUs,
 * the customer's earlier orders (rejected and cancelled ones not counted) and store credit
 * not yet held (under `customerKey`; null without an account), and the rules waived for it.
 * A statement of its own after the lock, so every part sees what committed before the
 * lock was granted.
 */
export async function validationFacts(
  db: Queryable,
  order: { id: string; email: string | null | undefined; customerKey: string | null; skus: readonly string[] },
): Promise<OrderValidationFacts> {
  const { rows } = await db.query<{
    stock: { warehouse: string; sku: string; available: number }[];
    previousOrders: number;
    storeCredit: { balance: number; currency: string } | null;
    waivedRules: string[];
  }>(
    `SELECT
       (SELECT coalesce(json_agg(json_build_object('warehouse', warehouse, 'sku', sku, 'available', on_hand - reserved)), '[]')
          FROM inventory WHERE sku = ANY($1::text[])) AS stock,
       (SELECT count(*) FROM orders
         WHERE $2::text IS NOT NULL AND lower(customer_email) = lower($2) AND id <> $3 AND status NOT IN ('rejected', 'cancelled')) AS "previousOrders",
       (SELECT json_build_object('balance', balance - held, 'currency', currency)
          FROM customer_accounts WHERE customer_key = $4) AS "storeCredit",
       (SELECT coalesce(array_agg(DISTINCT rule ORDER BY rule), '{}')
          FROM order_events, jsonb_array_elements_text(data->'waivedRules') AS rule
         WHERE order_id = $3 AND type = 'order.review_approved' AND jsonb_typeof(data->'waivedRules') = 'array') AS "waivedRules"`,
    [order.skus, order.email || null, order.id, order.customerKey],
  );
  const facts = rows[0]!;
  const available = stockByWarehouse(facts.stock);
  return { available, customer: { previousOrders: facts.previousOrders, storeCredit: facts.storeCredit }, waivedRules: facts.waivedRules };
}
