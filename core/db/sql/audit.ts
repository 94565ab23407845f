import type { Queryable } from '../pool.ts';
import { jsonb } from '../jsonb.ts';

/** Records an operator's write, in the same transaction as the write. */
export async function appendAudit(db: Queryable, e: { actor: string; action: string; target: string; detail?: Record<string, unknown> }): Promise<void> {
  await db.query('INSERT INTO audit_log (actor, action, target, detail) VALUES ($1, $2, $3, $4)',
    [e.actor, e.action, e.target, jsonb(e.detail ?? {})]);
}
