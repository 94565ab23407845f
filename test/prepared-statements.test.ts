import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, withTransaction, type Db } from '../core/db/pool.ts';
import { testEnv, testNamespace } from './support/env.ts';

// Every parameterised query is a named prepared statement on its connection (core/db/pool.ts):
// parsed and planned once per connection. These tests look at Postgres' own view of it.
const namespace = testNamespace('prepared');
const env = testEnv(namespace);
let db: Db;

beforeAll(async () => {
  // one connection, so every query below meets the statements the earlier ones prepared
  db = createPool(env.databaseUrl, namespace, 1);
  await db.query(`CREATE SCHEMA ${namespace}`);
  await db.query(`CREATE TABLE ${namespace}.things (id int PRIMARY KEY, name text)`);
  await db.query(`INSERT INTO ${namespace}.things VALUES (1, 'one'), (2, 'two')`);
});
afterAll(async () => {
  await db.query(`DROP SCHEMA IF EXISTS ${namespace} CASCADE`);
  await db.end();
});

const preparedHere = async (tx: { query: Db['query'] }) =>
  (await tx.query<{ statement: string }>(`SELECT statement FROM pg_prepared_statements`)).rows.map((r) => r.statement);

describe('prepared statements', () => {
  it('prepares a query with parameters once per connection, from the pool and inside a transaction', async () => {
    const byPool = await db.query<{ name: string }>('SELECT name FROM things WHERE id = $1', [1]);
    expect(byPool.rows).toEqual([{ name: 'one' }]);
    const statements = await withTransaction(db, async (tx) => {
      await tx.query('SELECT name FROM things WHERE id = $1', [2]);
      await tx.query('SELECT count(*) FROM things WHERE name = $1', ['two']);
      return preparedHere(tx);
    });
    expect(statements).toContain('SELECT name FROM things WHERE id = $1');
    expect(statements).toContain('SELECT count(*) FROM things WHERE name = $1');
    // the same text is one statement, however often it ran
    expect(statements.filter((s) => s === 'SELECT name FROM things WHERE id = $1')).toHaveLength(1);
  });

  it('sends a query without parameters as it is (BEGIN, scripts, DDL are never prepared)', async () => {
    await db.query('SELECT 1; SELECT 2');
    expect(await preparedHere(db)).not.toContain('SELECT 1; SELECT 2');
  });

  it('closes a connection whose statement went stale under a migration, so the retry works', async () => {
    const read = (tx: { query: Db['query'] }) => tx.query('SELECT * FROM things WHERE id = $1', [1]);
    await withTransaction(db, read);
    // another process adds a column: the prepared statement's result type changed
    const other = createPool(env.databaseUrl, namespace, 1);
    await other.query('ALTER TABLE things ADD COLUMN colour text');
    await other.end();
    await expect(withTransaction(db, read)).rejects.toMatchObject({ code: '0A000' });
    const again = await withTransaction(db, read);
    expect(again.rows).toEqual([{ id: 1, name: 'one', colour: null }]);
  });
});
