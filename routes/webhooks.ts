import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { HubConfig } from '../schemas/config.ts';
import { sopFor } from '../core/config/business.ts';
import { withTransaction, type Db } from '../core/db/pool.ts';
import { openException } from '../core/db/sql/exceptions.ts';
import { storeRawDelivery } from '../core/db/sql/raw.ts';
import { normalizeDelivery, type Channel } from '../core/inbound.ts';
import { acceptDelivery } from '../core/intake.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeliveryDedupe } from '../core/redis/dedupe.ts';
import { problemResponse } from './problem.ts';

export interface WebhookDeps {
  db: Db;
  namespace: string;
  config: HubConfig;
  /** channel code → its settings and connector */
  channels: ReadonlyMap<string, Channel>;
  secrets: Readonly<Record<string, string>>;
  dedupe: DeliveryDedupe;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  newId: () => string;
}

// Headers worth keeping with the raw body (for replay and audit); never credentials.
const keptHeader = /^(content-type|user-agent|x-shopify-|x-wc-|x-hub-|x-request-id)/;

/**
 * `POST /webhooks/orders/:source`. Order of work: size limit, signature on the raw bytes,
 * duplicate check, parse and normalize (to answer 4xx while the sender is still there),
 * then the raw delivery and its `inbound.accepted` message commit together, and only then
 * the 2xx. A bad payload is kept too, with an exception, so it can be replayed after fixing.
 */
export function webhookRoutes(deps: WebhookDeps): Hono {
  const app = new Hono();
  const maxBytes = deps.config.webhooks?.maxBodyBytes ?? 1_048_576;
  const log = deps.logger.child({ component: 'webhooks' });

  app.post(
    '/orders/:source',
    bodyLimit({
      maxSize: maxBytes,
      onError: (c) => {
        deps.metrics.webhooks.inc({ source: c.req.param('source') ?? '?', outcome: 'too_large' });
        return problemResponse({ type: 'https://order-hub.local/problems/body_too_large', title: 'Content Too Large', status: 413, detail: `the body exceeds ${maxBytes} bytes` });
      },
    }),
    async (c) => {
      const source = c.req.param('source');
      const stopTimer = deps.metrics.webhookSeconds.startTimer({ source });
      const outcome = (name: string) => {
        deps.metrics.webhooks.inc({ source, outcome: name });
        stopTimer();
      };
      const channel = deps.channels.get(source);
      if (!channel || channel.connector.delivery !== 'webhook') {
        outcome('unknown_source');
        const detail = channel ? `orders from "${source}" are fetched by the hub, not posted` : `no order channel named "${source}"`;
        return problemResponse({ type: 'https://order-hub.local/problems/unknown_source', title: 'Not Found', status: 404, detail });
      }
      const { connector } = channel;
      const secret = deps.secrets[connector.secretName];
      if (!secret) {
        // The sender retries a 503, so nothing is lost while the operator sets the secret.
        outcome('not_configured');
        log.error({ source, secret: connector.secretName }, 'webhook secret not configured');
        return problemResponse({ type: 'https://order-hub.local/problems/source_not_configured', title: 'Service Unavailable', status: 503, detail: `${connector.secretName} is not set on the hub` });
      }

      const rawBody = Buffer.from(await c.req.arrayBuffer());
      const headers: Record<string, string> = {};
      c.req.raw.headers.forEach((value, name) => {
        headers[name] = value;
      });
      const request = { rawBody, headers };
      if (connector.isPing?.(request)) {
        // The platform checks the URL works when a webhook is created; nothing to keep.
        outcome('ping');
        return c.json({ status: 'ok' }, 200);
      }
      if (!connector.verify(request, secret, deps.now())) {
        outcome('bad_signature');
        log.warn({ source, ip: headers['x-forwarded-for'] ?? null, bytes: rawBody.length }, 'webhook signature rejected');
        return problemResponse({ type: 'https://order-hub.local/problems/bad_signature', title: 'Unauthorized', status: 401, detail: 'the signature does not match the body' });
      }

      const delivery = connector.describe(request);
      const bodyHash = createHash('sha256').update(rawBody).digest('hex');
      const dedupeKey = delivery.eventId ?? `sha256:${bodyHash}`;
      if (await deps.dedupe.seen(source, dedupeKey, bodyHash)) {
        outcome('duplicate');
        return c.json({ status: 'duplicate' }, 200);
      }
      const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => keptHeader.test(name) && !name.includes('hmac') && !name.includes('signature')));
      const base = { source, kind: 'order' as const, dedupeKey, topic: delivery.topic, headers: kept, body: rawBody };

      if (!connector.orderTopics.includes(delivery.topic)) {
        const stored = await storeRawDelivery(deps.db, { ...base, status: 'ignored' });
        await deps.dedupe.remember(source, dedupeKey, bodyHash);
        outcome('ignored');
        return c.json({ status: 'ignored', id: stored.id, detail: `topic "${delivery.topic}" is stored but not processed` }, 200);
      }

      const result = normalizeDelivery(connector, channel, rawBody, delivery);
      if (!result.ok && result.ignore) {
        const stored = await storeRawDelivery(deps.db, { ...base, status: 'ignored', problems: result.problems });
        await deps.dedupe.remember(source, dedupeKey, bodyHash);
        outcome('ignored');
        return c.json({ status: 'ignored', id: stored.id, detail: result.problems.map((p) => p.message).join('; ') }, 200);
      }
      if (!result.ok) {
        const stored = await withTransaction(deps.db, async (tx) => {
          const raw = await storeRawDelivery(tx, { ...base, status: 'invalid', problems: result.problems });
          const sop = sopFor(deps.config, 'invalid_payload');
          await openException(tx, {
            type: 'invalid_payload', owner: sop.owner, deadline: new Date(deps.now().getTime() + sop.deadlineMinutes * 60_000),
            reason: `${source} ${delivery.topic || 'delivery'} does not map to an order`, rawId: raw.id, messageId: `raw:${raw.id}`,
            stage: 'webhook', details: { problems: result.problems.slice(0, 50) },
          });
          return raw;
        });
        outcome('invalid');
        // One status for every payload the hub cannot map (senders treat them alike); the type
        // says whether the bytes were not even JSON.
        const malformed = result.problems.length === 1 && result.problems[0]?.path === '/';
        return problemResponse({
          type: `https://order-hub.local/problems/${malformed ? 'malformed_payload' : 'invalid_payload'}`,
          title: 'Unprocessable Content',
          status: 422,
          detail: 'the payload was kept and an exception opened; it can be replayed once the mapping is fixed',
          rawId: stored.id,
          problems: result.problems.slice(0, 50),
        });
      }

      const stored = await withTransaction(deps.db, (tx) => acceptDelivery(tx, deps, base));
      if (!stored.isNew && !stored.sameBody) {
        // Same event id, different bytes: a corrected resend under a used id would otherwise be
        // taken for a duplicate and dropped. Refuse it loudly instead.
        outcome('event_id_reused');
        return problemResponse({
          type: 'https://order-hub.local/problems/event_id_reused', title: 'Conflict', status: 409,
          detail: `event id ${dedupeKey} was already used for a different payload (stored as ${stored.id}); send a changed payload under a new event id`,
          rawId: stored.id,
        });
      }
      await deps.dedupe.remember(source, dedupeKey, bodyHash);
      outcome(stored.isNew ? 'accepted' : 'duplicate');
      return c.json({ status: stored.isNew ? 'accepted' : 'duplicate', id: stored.id }, 200);
    },
  );
  return app;
}
