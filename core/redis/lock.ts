import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';

// Delete the key only if we still own it: a lock that expired and was taken by another
// replica must not be released by the old owner.
const releaseScript = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface Lock { release(): Promise<void> }

/**
 * Takes a lock with an expiry (SET NX PX) so that a job runs once across replicas. Returns
 * undefined when another holder has it. The expiry frees the lock if its holder dies.
 */
export async function acquireLock(redis: Redis, key: string, ttlMs: number): Promise<Lock | undefined> {
  const token = randomUUID();
  const ok = await redis.set(key, token, 'PX', ttlMs, 'NX');
  if (ok !== 'OK') return undefined;
  return {
    async release() {
      await redis.eval(releaseScript, 1, key, token);
    },
  };
}
