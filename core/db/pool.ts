import pg from 'pg';

export type Db = pg.Pool;
export type Tx = pg.PoolClient;
/** Anything that runs a query: the pool, or a client inside a transaction. */
export type Queryable = pg.Pool | pg.PoolClient;

// bigint (count(*), sums, bigserial ids) arrives as text by default; the hub's bigints
// (minor units, ids) stay far below 2^53, so read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/** A pool whose connections work inside the namespace's schema. */
export function createPool(databaseUrl: string, namespace: string, max = 10): Db {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    options: `-c search_path=${namespace}`,
    application_name: `${namespace}-hub`,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 10_000,
  });
  // A dropped idle connection must not crash the process; the next query gets a new one.
  pool.on('error', () => {});
  // Nor a connection dropped while checked out between queries (inside a transaction that
  // waits on the broker, say): pg emits that on the client, where nobody listens, and an
  // unhandled 'error' ends the process. The transaction's next query fails instead.
  pool.on('connect', (client) => client.on('error', () => {}));
  return pool;
}

/** Runs `work` in one transaction: commit on return, rollback on throw. */
export async function withTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release();
  }
}
