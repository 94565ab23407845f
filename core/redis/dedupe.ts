import type { Redis } from 'ioredis';

/**
 * A fast first check for webhook deliveries seen before, keyed by the platform's event id.
 * Redis only answers "seen, and committed"; Postgres's unique key stays the truth, so a
 * Redis failure or eviction costs a database round trip, never a duplicate.
 */
export function createDeliveryDedupe(redis: Redis, namespace: string, ttlSeconds = 7 * 86_400) {
  const key = (source: string, id: string) => `${namespace}:webhook:${source}:${id}`;
  return {
    async seen(source: string, id: string): Promise<boolean> {
      try {
        return (await redis.exists(key(source, id))) === 1;
      } catch {
        return false;
      }
    },
    /** Call only after the delivery is committed in Postgres. */
    async remember(source: string, id: string): Promise<void> {
      try {
        await redis.set(key(source, id), '1', 'EX', ttlSeconds);
      } catch {
        // best effort: Postgres still de-duplicates
      }
    },
  };
}
export type DeliveryDedupe = ReturnType<typeof createDeliveryDedupe>;
