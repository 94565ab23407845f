import type { Queryable } from '../pool.ts';

/**
 * Records that `consumer` processed `messageId`, in the caller's transaction. Returns false
 * when it already had: the message is a redelivery and must have no second effect.
 */
export async function recordProcessed(tx: Queryable, consumer: string, messageId: string): Promise<boolean> {
  const { rowCount } = await tx.query(
    'INSERT INTO inbox (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING',
    [consumer, messageId],
  );
  return rowCount === 1;
}
