import { HubError } from '../../errors.ts';
import type { Queryable } from '../pool.ts';

/** Where a polled channel has read up to; null before its first poll. */
export async function loadCursor<C>(db: Queryable, channel: string): Promise<C | null> {
  const { rows } = await db.query<{ cursor: C }>('SELECT cursor FROM channel_cursors WHERE channel = $1', [channel]);
  return rows[0]?.cursor ?? null;
}

/**
 * Moves the cursor from `previous` to `next`, compare-and-set: if another poller moved it
 * meanwhile (a job lock that expired mid-run), this transaction fails instead of moving it
 * backwards, and what it stored rolls back with it.
 */
export async function saveCursor<C>(tx: Queryable, channel: string, next: C, previous: C | null, now: Date): Promise<void> {
  const result = previous === null
    ? await tx.query(
        'INSERT INTO channel_cursors (channel, cursor, updated_at) VALUES ($1, $2, $3) ON CONFLICT (channel) DO NOTHING',
        [channel, JSON.stringify(next), now])
    : await tx.query(
        'UPDATE channel_cursors SET cursor = $2, updated_at = $3 WHERE channel = $1 AND cursor = $4::jsonb',
        [channel, JSON.stringify(next), now, JSON.stringify(previous)]);
  if (result.rowCount !== 1) {
    throw new HubError('cursor_moved', `the ${channel} cursor was moved by another poller`, { status: 409, retryable: true });
  }
}
