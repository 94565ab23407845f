import { createHash } from 'node:crypto';
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
  pool.on('connect', (client) => {
    client.on('error', () => {});
    preparing(client);
  });
  return pool;
}

// Names of the statements seen so far, by their text. The hub's statements are a fixed
// set written in the code (values always travel as parameters), so this stays small; the
// cap guards against a caller that builds SQL text from data.
const statementNames = new Map<string, string>();
const maxStatements = 2_000;

function nameOf(text: string): string | undefined {
  let name = statementNames.get(text);
  if (name === undefined && statementNames.size < maxStatements) {
    name = `hub_${createHash('sha1').update(text).digest('base64url').slice(0, 22)}`;
    statementNames.set(text, name);
  }
  return name;
}

/**
 * Makes every parameterised query of this connection a named prepared statement: Postgres
 * parses and plans it once per connection instead of on every call — most of its CPU per
 * order went to parsing and planning the same few dozen short statements. Queries without
 * parameters (BEGIN, COMMIT, migrations, multi-statement scripts) are sent as they are.
 */
function preparing(client: pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values, callback] = args;
    const name = typeof text === 'string' && Array.isArray(values) && args.length <= 3 ? nameOf(text) : undefined;
    if (!name) return query(...args);
    // the pool's own `query` passes a callback; a transaction's client awaits the promise
    return typeof callback === 'function' ? query({ name, text, values }, callback) : query({ name, text, values });
  }) as typeof client.query;
}

/**
 * A prepared statement whose result columns changed under it (a migration applied by a
 * newer process while this one runs) fails on its connection until that connection goes:
 * such a connection is closed rather than returned to the pool, so the retry prepares the
 * statement afresh.
 */
function isStalePlan(error: unknown): boolean {
  return error instanceof Error && (error as { code?: string }).code === '0A000' && /cached plan must not change result type/.test(error.message);
}

/** Runs `work` in one transaction: commit on return, rollback on throw. */
export async function withTransaction<T>(db: Db, work: (tx: Tx) => Promise<T>): Promise<T> {
  const client = await db.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    failure = error;
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    client.release(isStalePlan(failure) ? (failure as Error) : undefined);
  }
}

// SQLSTATE classes and socket errors that mean "Postgres is not there right now" rather
// than "Postgres refused this statement": 08 connection exception, 57P01 admin shutdown,
// 57P02 crash shutdown, 57P03 cannot connect now (starting up or in recovery).
const unreachableCodes = /^(08|57P0[123]$|ECONNREFUSED$|ECONNRESET$|EPIPE$|ETIMEDOUT$|ENOTFOUND$|EAI_AGAIN$)/;

/** Whether `error` (or an error it was caused by) says Postgres could not be reached or went away. */
export function isUnreachable(error: unknown): boolean {
  for (let e: unknown = error; e instanceof Error; e = e.cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && unreachableCodes.test(code)) return true;
    if (/Connection terminated|timeout exceeded when trying to connect|the database system is (starting up|shutting down)/i.test(e.message)) return true;
  }
  return false;
}

/**
 * Runs `work` again, with back-off, while it fails because Postgres cannot be reached — up
 * to `forMs`; any other failure, or the last one, is thrown. For startup: a process that
 * starts while the database restarts waits for it instead of exiting.
 */
export async function retryWhileUnreachable<T>(work: () => Promise<T>, options: { forMs: number; onRetry?: (error: Error, attempt: number) => void }): Promise<T> {
  const deadline = Date.now() + options.forMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!isUnreachable(error) || Date.now() >= deadline) throw error;
      options.onRetry?.(error as Error, attempt);
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * 2 ** attempt, 5_000, Math.max(0, deadline - Date.now()))));
    }
  }
}
