import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Redis } from 'ioredis';
import type { Broker } from '../core/messaging/broker.ts';
import { apiRoutes } from './api.ts';
import { bearerAuth } from './auth.ts';
import { healthRoutes } from './health.ts';
import { openApiDocument } from './openapi.ts';
import { asyncApiDocument } from '../asyncapi/asyncapi.ts';
import { onError, problemResponse } from './problem.ts';
import { webhookRoutes, type WebhookDeps } from './webhooks.ts';
import { customerWebhookRoutes } from './customer-webhooks.ts';
import { completionRoutes } from './completion-api.ts';
import { reportRoutes } from './reports.ts';
import { returnRoutes } from './returns.ts';
import { jobRoutes } from './jobs.ts';
import { flowRoutes, type FlowSources } from './flows.ts';
import { exceptionRoutes } from './exceptions.ts';
import { deadLetterRoutes } from './dead-letters.ts';
import type { Job } from '../core/scheduling/jobs.ts';
import { statusPageRoutes } from './status-page.tsx';
import { apiAuthWithSessions, onBehalfOf, principalForToken } from './ui-session.ts';
import { createRateLimits, rateLimitSettings } from './rate-limit.ts';
import { apiResponseHeaders } from './api-headers.ts';
import type { ReferenceCache } from '../core/stages/reference-cache.ts';

export interface AppDeps extends WebhookDeps {
  redis: Redis;
  broker?: Broker | undefined;
  adminToken: string | undefined;
  /** the scheduled jobs `GET /api/jobs` lists and `POST /api/jobs/:name/run` runs */
  jobs?: readonly Job[];
  /** what `GET /api/flows` reads: the topology, the Redis flow counters, the broker probe */
  flows?: FlowSources;
  /** the stages' reference cache in this process, told when the API changes a product */
  reference?: ReferenceCache;
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
  app.route('/webhooks', customerWebhookRoutes(deps));
  // Bodies are read whole: a size cap keeps a huge one from costing memory. Settlement
  // reports are whole CSV files, so they get more room.
  const tooLarge = (maxSize: number) => bodyLimit({
    maxSize,
    onError: () => problemResponse({ type: 'https://order-hub.local/problems/body_too_large', title: 'Content Too Large', status: 413, detail: `the body exceeds ${maxSize} bytes` }),
  });
  app.use('/api/settlements/*', tooLarge(64 * 1024 * 1024));
  const apiLimit = tooLarge(1024 * 1024);
  app.use('/api/*', async (c, next) => (c.req.path.startsWith('/api/settlements/') ? next() : apiLimit(c as unknown as Parameters<typeof apiLimit>[0], next)));
  // The status page's forms cap their own bodies (16 KiB) and answer with a page, as a browser expects.
  const ctx = { namespace: deps.namespace, config: deps.config, channels: deps.channels, payments: deps.payments, carriers: deps.carriers, now: deps.now, newId: deps.newId, ...(deps.reference ? { reference: deps.reference } : {}) };
  const apiAuth = bearerAuth({ adminToken: deps.adminToken, apiKeys: deps.config.apiKeys ?? [], logger: log });
  // Webhooks are not limited: platforms burst during sales and retry on a 429 anyway.
  const limits = createRateLimits({ redis: deps.redis, namespace: deps.namespace, settings: rateLimitSettings(deps.config.rateLimits), now: deps.now, logger: log });
  app.use('/api/*', apiResponseHeaders);
  app.use('/api/*', limits.beforeAuth);
  app.use('/api/*', apiAuthWithSessions(apiAuth));
  app.use('/api/*', limits.afterAuth);
  app.use('/login', limits.login);
  for (const path of ['/', '/logout', '/ui/*']) app.use(path, limits.page);
  app.route('/api', apiRoutes({ db: deps.db, logger: deps.logger, ctx }));
  app.route('/api', completionRoutes({ db: deps.db, ctx }));
  app.route('/api', reportRoutes({ db: deps.db, ctx: { config: deps.config, now: deps.now } }));
  app.route('/api', returnRoutes({ db: deps.db, ctx }));
  app.route('/api', jobRoutes({ db: deps.db, redis: deps.redis, namespace: deps.namespace, logger: deps.logger, jobs: deps.jobs ?? [], now: deps.now }));
  if (deps.flows) app.route('/api', flowRoutes({ db: deps.db, namespace: deps.namespace, now: deps.now, ...deps.flows }));
  app.route('/api', exceptionRoutes({ db: deps.db, ctx }));
  app.route('/api', deadLetterRoutes({ db: deps.db, namespace: deps.namespace, config: deps.config, now: deps.now, newId: deps.newId }));
  // The status page: `/`, `/login`, `/logout`, `/ui/…`; its actions are the API's routes, called in-process.
  app.route('/', statusPageRoutes({
    db: deps.db, redis: deps.redis, namespace: deps.namespace, now: deps.now, authenticate: principalForToken(apiAuth),
    callApi: (path, init, principal) => Promise.resolve(app.request(path, init, onBehalfOf(principal))),
  }));
  return app;
}
