import type { InputProblem } from '../../errors.ts';
import type { Queryable } from '../pool.ts';

export type RawStatus = 'accepted' | 'invalid' | 'ignored' | 'processed' | 'failed';

export interface RawDelivery {
  source: string;
  kind: 'order' | 'payment' | 'carrier' | 'warehouse';
  dedupeKey: string;
  topic: string;
  headers: Record<string, string>;
  body: Buffer;
  status: RawStatus;
  problems?: InputProblem[];
}

/**
 * Stores a delivery byte for byte. Returns its id and whether it is new; a delivery seen
 * before (same source and dedupe key) returns the first one's id and status.
 */
export async function storeRawDelivery(db: Queryable, d: RawDelivery): Promise<{ id: number; isNew: boolean; status: RawStatus }> {
  const inserted = await db.query<{ id: number; status: RawStatus }>(
    `INSERT INTO raw_inbound (source, kind, dedupe_key, topic, headers, body, status, problems)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (source, dedupe_key) DO NOTHING RETURNING id, status`,
    [d.source, d.kind, d.dedupeKey, d.topic, JSON.stringify(d.headers), d.body, d.status, d.problems ? JSON.stringify(d.problems) : null],
  );
  if (inserted.rows[0]) return { ...inserted.rows[0], isNew: true };
  const existing = await db.query<{ id: number; status: RawStatus }>(
    'SELECT id, status FROM raw_inbound WHERE source = $1 AND dedupe_key = $2', [d.source, d.dedupeKey]);
  return { ...existing.rows[0]!, isNew: false };
}

export interface StoredDelivery { id: number; source: string; topic: string; headers: Record<string, string>; body: Buffer; status: RawStatus }

export async function getRawDelivery(db: Queryable, id: number): Promise<StoredDelivery | undefined> {
  const { rows } = await db.query<StoredDelivery>('SELECT id, source, topic, headers, body, status FROM raw_inbound WHERE id = $1', [id]);
  return rows[0];
}

export async function markRawDelivery(db: Queryable, id: number, status: RawStatus, problems?: InputProblem[]): Promise<void> {
  await db.query('UPDATE raw_inbound SET status = $2, problems = COALESCE($3, problems), processed_at = now() WHERE id = $1',
    [id, status, problems ? JSON.stringify(problems) : null]);
}
