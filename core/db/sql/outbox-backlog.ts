import type { Queryable } from '../pool.ts';

/** Messages committed but not yet published, and when the oldest of them was committed. */
export async function outboxBacklog(db: Queryable): Promise<{ pending: number; oldestCreatedAt: Date | null }> {
  const { rows } = await db.query<{ pending: number; oldest: Date | null }>(
    'SELECT count(*)::int AS pending, min(created_at) AS oldest FROM outbox WHERE published_at IS NULL',
  );
  return { pending: rows[0]?.pending ?? 0, oldestCreatedAt: rows[0]?.oldest ?? null };
}
