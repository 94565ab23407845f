import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from 'pino';
import type { HubConfig } from '../schemas/config.ts';
import { withSop } from '../core/config/business.ts';
import { withTransaction, type Db } from '../core/db/pool.ts';
import { openException } from '../core/db/sql/exceptions.ts';
import { storeRawDelivery, type RawDelivery } from '../core/db/sql/raw.ts';
import { cancellationById, normalizeDelivery, type Channel } from '../core/inbound.ts';
import { acceptDelivery } from '../core/intake.ts';
import { normalizePayment } from '../core/inbound-payments.ts';
import { normalizeTracking } from '../core/inbound-tracking.ts';
import type { CarrierConnector } from '../connectors/carriers/types.ts';
import { verifyWarehouseWebhook } from '../connectors/warehouses/webhook.ts';
import { parseCloudEvent } from '../core/messaging/cloudevent.ts';
import type { PaymentConnector } from '../connectors/payments/types.ts';
import type { InboundDelivery, InboundRequest } from '../connectors/types.ts';
import type { InputProblem } from '../core/errors.ts';
import type { Metrics } from '../core/metrics.ts';
import type { DeliveryDedupe } from '../core/redis/dedupe.ts';
import { problemResponse } from './problem.ts';

export interface WebhookDeps {
  db: Db;
  namespace: string;
  config: HubConfig;
  /** channel code → its settings and connector */
  channels: ReadonlyMap<string, Channel>;
  /** payment provider → its connector */
  payments: ReadonlyMap<string, PaymentConnector>;
  /** carrier or tracking service → its connector */
  carriers: ReadonlyMap<string, CarrierConnector>;
  secrets: Readonly<Record<string, string>>;
  dedupe: DeliveryDedupe;
  metrics: Metrics;
  logger: Logger;
  now: () => Date;
  newId: () => string;
}

// Headers worth keeping with the raw body (for replay and audit); never credentials.
const keptHeader = /^(content-type|user-agent|x-shopify-|x-wc-|x-hub-|x-request-id)/;

/** How one kind of sender is received: its secrets, signature, topics, payload check and answer. */
interface Endpoint {
  kind: 'order' | 'payment' | 'carrier' | 'warehouse';
  secretNames: readonly string[];
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, now: Date): boolean;
  isPing?(request: InboundRequest): boolean;
  describe(request: InboundRequest): InboundDelivery;
  handles(topic: string): boolean;
  check(body: Buffer, delivery: InboundDelivery): { ok: true } | { ok: false; problems: InputProblem[]; ignore?: boolean | undefined };
  /** the message that sends an accepted delivery on: `inbound.accepted` (orders), `payment.received` */
  acceptedAs: string;
  /** what the payload should map to, for the exception */
  what: string;
  acknowledgement: { contentType: string; body: string } | null;
}

/**
 * `POST /webhooks/orders/:source` and `POST /webhooks/payments/:provider`. Order of work: size limit, signature on the raw bytes,
 * duplicate check, parse and normalize (to answer 4xx while the sender is still there),
 * then the raw delivery and its `inbound.accepted` message commit together, and only then
 * the 2xx. A bad payload is kept too, with an exception, so it can be replayed after fixing.
 */
export function webhookRoutes(deps: WebhookDeps): Hono {
  const app = new Hono();
  const maxBytes = deps.config.webhooks?.maxBodyBytes ?? 1_048_576;
  const log = deps.logger.child({ component: 'webhooks' });

  // Metric labels must come from a bounded set: the path is the sender's to choose, and a
  // stream of made-up names would grow /metrics (and the process) without end.
  const knownSender = (name: string | undefined): string => (name !== undefined && (deps.channels.has(name) || deps.payments.has(name) || deps.carriers.has(name) || deps.config.warehouses.some((w) => w.code === name)) ? name : 'unknown');

  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      deps.metrics.webhooks.inc({ source: knownSender(c.req.param('source') ?? c.req.param('provider') ?? c.req.param('carrier') ?? c.req.param('code')), outcome: 'too_large' });
      return problemResponse({ type: 'https://order-hub.local/problems/body_too_large', title: 'Content Too Large', status: 413, detail: `the body exceeds ${maxBytes} bytes` });
    },
  });

  app.post('/orders/:source', limit, (c) => {
    const source = c.req.param('source');
    const channel = deps.channels.get(source);
    if (!channel || channel.connector.delivery !== 'webhook') {
      return unknownSource(c, source, channel ? `orders from "${source}" are fetched by the hub, not posted` : `no order channel named "${source}"`);
    }
    const { connector } = channel;
    return receive(c, source, {
      kind: 'order',
      secretNames: [connector.secretName],
      verify: (request, secrets, now) => connector.verify(request, secrets[connector.secretName] ?? '', now),
      ...(connector.isPing ? { isPing: (request: InboundRequest) => connector.isPing!(request) } : {}),
      describe: (request) => connector.describe(request),
      handles: (topic) => connector.orderTopics.includes(topic) || connector.cancelsById?.topics.includes(topic) === true,
      check: (body, delivery) => cancellationById(connector, body, delivery) ?? normalizeDelivery(connector, channel, body, delivery),
      acceptedAs: 'inbound.accepted',
      what: 'an order',
      acknowledgement: null,
    });
  });

  app.post('/payments/:provider', limit, (c) => {
    const provider = c.req.param('provider');
    const connector = deps.payments.get(provider);
    if (!connector) return unknownSource(c, provider, `no payment provider named "${provider}"`);
    return receive(c, provider, {
      kind: 'payment',
      secretNames: connector.secretNames,
      verify: (request, secrets, now) => connector.verify(request, secrets, now),
      describe: (request) => connector.describe(request),
      handles: () => true,
      check: (body, delivery) => normalizePayment(connector, body, delivery),
      acceptedAs: 'payment.received',
      what: 'payments',
      acknowledgement: connector.acknowledgement,
    });
  });

  app.post('/carriers/:carrier', limit, (c) => {
    const name = c.req.param('carrier');
    const connector = deps.carriers.get(name);
    if (!connector) return unknownSource(c, name, `no carrier named "${name}"`);
    return receive(c, name, {
      kind: 'carrier',
      secretNames: connector.secretNames,
      verify: (request, secrets, now) => connector.verify(request, secrets, now),
      describe: (request) => connector.describe(request),
      handles: () => true,
      check: (body, delivery) => normalizeTracking(connector, body, delivery),
      acceptedAs: 'tracking.received',
      what: 'tracking updates',
      acknowledgement: null,
    });
  });

  // A warehouse that posts its events instead of publishing them to its queue: the same
  // CloudEvents, signed like the shop's own channels, sent on to <ns>.in.warehouse-events.
  app.post('/warehouses/:code', limit, (c) => {
    const code = c.req.param('code');
    if (!deps.config.warehouses.some((w) => w.code === code)) return unknownSource(c, code, `no warehouse "${code}"`);
    const secretName = 'WAREHOUSE_WEBHOOK_SECRET';
    return receive(c, `warehouse-${code}`, {
      kind: 'warehouse',
      secretNames: [secretName],
      verify: (request, secrets, now) => verifyWarehouseWebhook(request, secrets[secretName] ?? '', now),
      describe: (request) => ({ eventId: request.headers['ce-id'] ?? null, topic: request.headers['ce-type'] ?? '' }),
      handles: () => true,
      check: (body) => warehouseEventProblems(body, code),
      acceptedAs: 'warehouse.event_received',
      what: 'a warehouse event',
      acknowledgement: null,
    });
  });

  function unknownSource(c: Context, source: string, detail: string): Response {
    deps.metrics.webhooks.inc({ source: knownSender(source), outcome: 'unknown_source' });
    return problemResponse({ type: 'https://order-hub.local/problems/unknown_source', title: 'Not Found', status: 404, detail });
  }

  /**
   * One webhook delivery, whatever sends it: the secrets are there, the signature holds,
   * it is not a duplicate, the payload maps (else 422, kept, with an exception), and only
   * once the raw bytes and their message are committed, the 2xx.
   */
  async function receive(c: Context, source: string, endpoint: Endpoint): Promise<Response> {
    const stopTimer = deps.metrics.webhookSeconds.startTimer({ source });
    const outcome = (name: string) => {
      deps.metrics.webhooks.inc({ source, outcome: name });
      stopTimer();
    };
    const missing = endpoint.secretNames.filter((name) => !deps.secrets[name]);
    if (missing.length > 0) {
      // The sender retries a 503, so nothing is lost while the operator sets the secret.
      outcome('not_configured');
      log.error({ source, missing }, 'webhook secret not configured');
      return secretsMissing(missing);
    }

    const request = await readInbound(c);
    const { rawBody, headers } = request;
    if (endpoint.isPing?.(request)) {
      // The platform checks the URL works when a webhook is created; nothing to keep.
      outcome('ping');
      return c.json({ status: 'ok' }, 200);
    }
    if (!endpoint.verify(request, deps.secrets, deps.now())) {
      outcome('bad_signature');
      log.warn({ source, ip: headers['x-forwarded-for'] ?? null, bytes: rawBody.length }, 'webhook signature rejected');
      return problemResponse({ type: 'https://order-hub.local/problems/bad_signature', title: 'Unauthorized', status: 401, detail: 'the signature does not match the body' });
    }

    const delivery = endpoint.describe(request);
    const bodyHash = createHash('sha256').update(rawBody).digest('hex');
    // Without an event id, the body names the delivery — with its topic: WooCommerce sends the
    // same `{"id": N}` for a deleted order, product or customer N.
    const dedupeKey = delivery.eventId ?? (delivery.topic ? `${delivery.topic}:sha256:${bodyHash}` : `sha256:${bodyHash}`);
    const accepted = (status: string, id?: number) => endpoint.acknowledgement
      ? c.body(endpoint.acknowledgement.body, 200, { 'content-type': endpoint.acknowledgement.contentType })
      : c.json({ status, ...(id === undefined ? {} : { id }) }, 200);
    if (await deps.dedupe.seen(source, dedupeKey, bodyHash)) {
      outcome('duplicate');
      return accepted('duplicate');
    }
    const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => keptHeader.test(name) && !name.includes('hmac') && !name.includes('signature')));
    const base = { source, kind: endpoint.kind, dedupeKey, topic: delivery.topic, headers: kept, body: rawBody };

    if (!endpoint.handles(delivery.topic)) {
      const stored = await storeRawDelivery(deps.db, { ...base, status: 'ignored' });
      await deps.dedupe.remember(source, dedupeKey, bodyHash);
      outcome('ignored');
      return endpoint.acknowledgement ? accepted('ignored') : c.json({ status: 'ignored', id: stored.id, detail: `topic "${delivery.topic}" is stored but not processed` }, 200);
    }

    const result = endpoint.check(rawBody, delivery);
    if (!result.ok && result.ignore) {
      const stored = await storeRawDelivery(deps.db, { ...base, status: 'ignored', problems: result.problems });
      await deps.dedupe.remember(source, dedupeKey, bodyHash);
      outcome('ignored');
      return endpoint.acknowledgement ? accepted('ignored') : c.json({ status: 'ignored', id: stored.id, detail: result.problems.map((p) => p.message).join('; ') }, 200);
    }
    if (!result.ok) {
      const stored = await storeInvalidDelivery(deps, base, result.problems, `${source} ${delivery.topic || 'delivery'} does not map to ${endpoint.what}`);
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

    const stored = await acceptDelivery(deps.db, deps, base, endpoint.acceptedAs);
    if (!stored.isNew && !stored.sameBody) {
      // Same event id, different bytes: a corrected resend under a used id would otherwise be
      // taken for a duplicate and dropped. Refuse it loudly instead.
      outcome('event_id_reused');
      return eventIdReused(dedupeKey, stored.id);
    }
    await deps.dedupe.remember(source, dedupeKey, bodyHash);
    outcome(stored.isNew ? 'accepted' : 'duplicate');
    return accepted(stored.isNew ? 'accepted' : 'duplicate', stored.id);
  }

  return app;
}

/** The request's raw bytes and its headers (names in lower case), for verifying and keeping. */
export async function readInbound(c: Context): Promise<{ rawBody: Buffer; headers: Record<string, string> }> {
  const rawBody = Buffer.from(await c.req.arrayBuffer());
  const headers: Record<string, string> = {};
  c.req.raw.headers.forEach((value, name) => {
    headers[name] = value;
  });
  return { rawBody, headers };
}

/** 503 for a sender whose secrets are not set: it retries, so nothing is lost meanwhile. */
export function secretsMissing(missing: readonly string[]): Response {
  return problemResponse({ type: 'https://order-hub.local/problems/source_not_configured', title: 'Service Unavailable', status: 503, detail: `${missing.join(', ')} not set on the hub` });
}

/** Keeps a delivery that does not map as `invalid`, with an `invalid_payload` exception saying `reason`. */
export async function storeInvalidDelivery(
  deps: Pick<WebhookDeps, 'db' | 'config' | 'now'>, base: Omit<RawDelivery, 'status' | 'problems'>, problems: InputProblem[], reason: string,
): Promise<{ id: number }> {
  return withTransaction(deps.db, async (tx) => {
    const raw = await storeRawDelivery(tx, { ...base, status: 'invalid', problems });
    await openException(tx, withSop(deps.config, deps.now(), {
      type: 'invalid_payload',
      reason, rawId: raw.id, messageId: `raw:${raw.id}`,
      stage: 'webhook', details: { problems: problems.slice(0, 50) },
    }));
    return raw;
  });
}

/** 409 for an event id already stored with other bytes: a corrected resend needs a new id. */
export function eventIdReused(dedupeKey: string, rawId: number): Response {
  return problemResponse({
    type: 'https://order-hub.local/problems/event_id_reused', title: 'Conflict', status: 409,
    detail: `event id ${dedupeKey} was already used for a different payload (stored as ${rawId}); send a changed payload under a new event id`,
    rawId,
  });
}

/** A warehouse's posted event must be a CloudEvent about that warehouse. */
function warehouseEventProblems(body: Buffer, code: string): { ok: true } | { ok: false; problems: InputProblem[] } {
  const event = parseCloudEvent(body);
  if ('problem' in event) return { ok: false, problems: [{ path: '/', message: event.problem }] };
  if (event.data.warehouse !== undefined && event.data.warehouse !== code) {
    return { ok: false, problems: [{ path: '/data/warehouse', message: `is ${JSON.stringify(event.data.warehouse)}, but this is the endpoint of ${code}` }] };
  }
  return { ok: true };
}
