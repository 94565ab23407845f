import type { Redis } from 'ioredis';

/**
 * A fast first check for webhook deliveries seen before, keyed by the platform's event id
 * and remembering the body's hash. Redis only answers "this exact delivery was committed";
 * anything else (a new id, the same id with other bytes, Redis down or evicted) goes to
 * Postgres, whose unique key stays the truth.
 */
export function createDeliveryDedupe(redis: Redis, namespace: string, ttlSeconds = 7 * 86_400) {
  const key = (source: string, id: string) => `${namespace}:webhook:${source}:${id}`;
  return {
    /** True only when this id was committed with exactly this body hash. */
    async seen(source: string, id: string, bodyHash: string): Promise<boolean> {
      try {
        return (await redis.get(key(source, id))) === bodyHash;
      } catch {
        return false;
      }
    },
    /** Call only after the delivery is committed in Postgres. */
    async remember(source: string, id: string, bodyHash: string): Promise<void> {
      try {
        await redis.set(key(source, id), bodyHash, 'EX', ttlSeconds);
      } catch {
        // best effort: Postgres still de-duplicates
      }
    },
  };
}
export type DeliveryDedupe = ReturnType<typeof createDeliveryDedupe>;
