import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Db } from '../core/db/pool.ts';
import type { Broker } from '../core/messaging/broker.ts';
import type { Metrics } from '../core/metrics.ts';
import { withTimeout } from '../core/timeout.ts';


/** `/health` (the process is up), `/ready` (it can do its work: Postgres, Redis, RabbitMQ), `/metrics`. */
export function healthRoutes(deps: { db: Db; redis: Redis; broker?: Broker | undefined; metrics: Metrics }): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json({ status: 'ok' }));
  app.get('/ready', async (c) => {
    const check = async (run: () => Promise<unknown>) => {
      try {
        await withTimeout(run(), 2_000);
        return 'ok';
      } catch (error) {
        return `down: ${(error as Error).message}`;
      }
    };
    const checks = {
      postgres: await check(() => deps.db.query('SELECT 1')),
      redis: await check(() => deps.redis.ping()),
      rabbitmq: deps.broker ? (deps.broker.connected() ? 'ok' : 'down: reconnecting') : 'not used by this role',
    };
    const ready = Object.values(checks).every((v) => !v.startsWith('down'));
    return c.json({ status: ready ? 'ready' : 'not_ready', checks }, ready ? 200 : 503);
  });
  app.get('/metrics', async (c) => {
    c.header('content-type', deps.metrics.registry.contentType);
    return c.body(await deps.metrics.registry.metrics());
  });
  return app;
}
