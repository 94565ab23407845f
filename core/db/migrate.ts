import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Db } from './pool.ts';

const migrationsDir = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Numbered migration files (`001_name.sql`), in order. Append-only: never edit a released one. */
export function listMigrations(): { version: number; name: string; sql: string }[] {
  return readdirSync(migrationsDir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.slice(0, 3)), name: f, sql: readFileSync(migrationsDir + f, 'utf8') }));
}

/**
 * Creates the namespace's schema and applies the migrations it lacks, each in its own
 * transaction. An advisory lock per namespace makes concurrent starts (several replicas)
 * safe: one migrates, the others wait and then find nothing to do.
 */
export async function migrate(db: Db, namespace: string): Promise<string[]> {
  const client = await db.connect();
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`migrate:${namespace}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${namespace}`);
    await client.query(`SET search_path TO ${namespace}`);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version));
    for (const m of listMigrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`migrate:${namespace}`]).catch(() => {});
    await client.query('RESET search_path').catch(() => {});
    client.release();
  }
  return applied;
}

/** Drops the namespace's schema and everything in it (tests and the demo reset). */
export async function dropSchema(db: Db, namespace: string): Promise<void> {
  await db.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
}
