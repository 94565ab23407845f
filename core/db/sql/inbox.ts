import type { Queryable } from '../pool.ts';

/**
 * Records that `consumer` processed `messageId`, in the caller's transaction. Returns false
 * when it already had: the message is a redelivery and must have no second effect.
 */
export async function recordProcessed(tx: Queryable, consumer: string, messageId: string): Promise<boolean> {
  return (await recordProcessedMany(tx, consumer, [messageId])).has(messageId);
}

/**
 * The same for several messages in one statement: returns the ids recorded now; an id
 * missing from the result was processed before (or appears twice in `messageIds`).
 */
export async function recordProcessedMany(tx: Queryable, consumer: string, messageIds: readonly string[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO inbox (consumer, message_id) SELECT $1, id FROM unnest($2::text[]) AS id
     ON CONFLICT DO NOTHING RETURNING message_id AS id`,
    [consumer, messageIds],
  );
  return new Set(rows.map((r) => r.id));
}

/** Whether `consumer` recorded `messageId` already (a stage that calls out checks before the call). */
export async function processedBefore(db: Queryable, consumer: string, messageId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM inbox WHERE consumer = $1 AND message_id = $2', [consumer, messageId]);
  return rows.length > 0;
}
