import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { readEnv, type HubEnv } from '../../core/config/env.ts';
import { dropSchema } from '../../core/db/migrate.ts';
import { createPool } from '../../core/db/pool.ts';
import { createLogger } from '../../core/logger.ts';
import { deleteTopology } from '../../core/messaging/broker.ts';
import type { Topology } from '../../core/messaging/topology.ts';

export const shopifySecret = 'test-shopify-client-secret';
export const adminToken = 'test-admin-token';

/** A fresh namespace for one test file: its own schema, queues and Redis keys. */
export function testNamespace(label: string): string {
  return `t_${label.replace(/[^a-z0-9]/g, '_').slice(0, 20)}_${randomBytes(4).toString('hex')}`;
}

/** The hub environment for tests: the real local services, a private namespace. */
export function testEnv(namespace: string, overrides: NodeJS.ProcessEnv = {}): HubEnv {
  return readEnv({
    ...process.env,
    HUB_NAMESPACE: namespace,
    HUB_ADMIN_TOKEN: adminToken,
    SHOPIFY_WEBHOOK_SECRET: shopifySecret,
    PORT: '0',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...overrides,
  });
}

export const quietLogger = () => createLogger({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** Removes everything a namespace created: schema, queues and exchanges, Redis keys. */
export async function removeNamespace(env: HubEnv, topology?: Topology): Promise<void> {
  const db = createPool(env.databaseUrl, env.namespace, 1);
  try {
    await dropSchema(db, env.namespace);
  } finally {
    await db.end();
  }
  if (topology) await deleteTopology(env.amqpUrl, topology);
  const redis = new Redis(env.redisUrl);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${env.namespace}:*`, 'COUNT', 500);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** Polls `probe` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
