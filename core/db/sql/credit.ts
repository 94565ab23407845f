import type { Queryable } from '../pool.ts';

/** The key store credit is kept under: the customer's email, lower-cased. */
export const customerKey = (email: string | null | undefined): string | null => (email ? email.trim().toLowerCase() : null);

/**
 * Holds store credit for an order, atomically: only while the balance not yet held covers
 * it (the CHECK makes anything else impossible). False when it no longer does.
 */
export async function holdCredit(tx: Queryable, orderId: string, key: string, amount: number, currency: string): Promise<boolean> {
  // An order validated again (after an edit or a backorder) holds once, not twice.
  await releaseCredit(tx, orderId);
  const { rowCount } = await tx.query(
    `UPDATE customer_accounts SET held = held + $2, updated_at = now()
      WHERE customer_key = $1 AND currency = $3 AND balance - held >= $2`, [key, amount, currency]);
  if (rowCount !== 1) return false;
  await tx.query(
    `INSERT INTO credit_holds (order_id, customer_key, amount, status) VALUES ($1, $2, $3, 'held')
     ON CONFLICT (order_id) DO UPDATE SET amount = EXCLUDED.amount, status = 'held', ended_at = NULL, customer_key = EXCLUDED.customer_key`,
    [orderId, key, amount]);
  return true;
}

/** Gives back the credit an order holds (cancel, rejection, an edit that validates again). */
export async function releaseCredit(tx: Queryable, orderId: string): Promise<number> {
  const { rows } = await tx.query<{ amount: number; customer_key: string }>(
    `UPDATE credit_holds SET status = 'released', ended_at = now() WHERE order_id = $1 AND status = 'held' RETURNING amount, customer_key`, [orderId]);
  const hold = rows[0];
  if (!hold) return 0;
  await tx.query('UPDATE customer_accounts SET held = held - $2, updated_at = now() WHERE customer_key = $1', [hold.customer_key, hold.amount]);
  return hold.amount;
}

/** Sets a customer's store credit (seed data and the operator API); never below what is held. */
export async function setCredit(db: Queryable, key: string, currency: string, balance: number): Promise<boolean> {
  const { rowCount } = await db.query(
    `INSERT INTO customer_accounts (customer_key, currency, balance) VALUES ($1, $2, $3)
     ON CONFLICT (customer_key) DO UPDATE SET balance = EXCLUDED.balance, currency = EXCLUDED.currency, updated_at = now()
       WHERE customer_accounts.held <= EXCLUDED.balance`, [key, currency, balance]);
  return rowCount === 1;
}

