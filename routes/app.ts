import { Hono } from 'hono';
import type { Redis } from 'ioredis';
import type { Broker } from '../core/messaging/broker.ts';
import { apiRoutes } from './api.ts';
import { bearerAuth } from './auth.ts';
import { healthRoutes } from './health.ts';
import { openApiDocument } from './openapi.ts';
import { asyncApiDocument } from '../asyncapi/asyncapi.ts';
import { onError, problemResponse } from './problem.ts';
import { webhookRoutes, type WebhookDeps } from './webhooks.ts';

export interface AppDeps extends WebhookDeps {
  redis: Redis;
  broker?: Broker | undefined;
  adminToken: string | undefined;
}

/** The hub's HTTP surface: webhooks, the operator API and health. Tests call `app.request()`. */
export function createApp(deps: AppDeps): Hono {
  const app = new Hono();
  const log = deps.logger.child({ component: 'http' });
  app.onError(onError((error) => log.error({ err: error }, 'request failed')));
  app.notFound((c) => problemResponse({ type: 'about:blank', title: 'Not Found', status: 404, detail: `no route for ${c.req.method} ${c.req.path}` }));
  app.route('/', healthRoutes(deps));
  app.get('/openapi.json', (c) => c.json(openApiDocument));
  app.get('/asyncapi.json', (c) => c.json(asyncApiDocument));
  app.route('/webhooks', webhookRoutes(deps));
  app.use('/api/*', bearerAuth(deps.adminToken));
  app.route('/api', apiRoutes({ db: deps.db, logger: deps.logger, ctx: { namespace: deps.namespace, config: deps.config, channels: deps.channels, payments: deps.payments, carriers: deps.carriers, now: deps.now, newId: deps.newId } }));
  return app;
}
