import { Redis } from 'ioredis';

/** A Redis client that retries its connection forever and never crashes the process. */
export function createRedis(url: string): Redis {
  const redis = new Redis(url, {
    lazyConnect: false,
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(times * 200, 5_000),
  });
  redis.on('error', () => {}); // reconnects on its own; callers see failed commands
  return redis;
}
