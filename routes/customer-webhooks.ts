import { createHash } from 'node:crypto';
import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { verifyHubSignature } from '../connectors/signatures.ts';
import { withTransaction } from '../core/db/pool.ts';
import { lockOrderByExternalId } from '../core/db/sql/orders.ts';
import { markRawDelivery, storeRawDelivery, type RawDelivery } from '../core/db/sql/raw.ts';
import { HubError, notFound, type InputProblem } from '../core/errors.ts';
import { decodePayload } from '../core/payload.ts';
import { customerCallHandlers, type CustomerCall, type CustomerCallHandler } from '../core/stages/customer-calls.ts';
import { problemFromError, problemResponse } from './problem.ts';
import { eventIdReused, readInbound, secretsMissing, storeInvalidDelivery, type WebhookDeps } from './webhooks.ts';

/** Connectors of the channels the shop runs itself: only their customers call the hub directly. */
const OWN_CONNECTORS: readonly string[] = ['website', 'app'];
// Headers worth keeping with the raw body (for audit); never the signature.
const keptHeader = /^(content-type|user-agent|x-hub-|x-request-id)/;
const MAX_EXTERNAL_ID = 255;

/**
 * `POST /webhooks/customers/:source`: a customer's call from the shop's own website or app
 * (receipt confirmed, feedback given, …), signed like that channel's order webhooks
 * (`X-Hub-Signature: t=…,v1=…` with its secret) and de-duplicated on `X-Hub-Event-Id`.
 * Order of work: size limit, signature on the raw bytes (401, nothing stored), duplicate
 * check, the envelope and the type's fields (422, kept with an exception), then the raw
 * delivery is committed and the call applied to the order in a second transaction that
 * also marks it processed. A refusal (unknown order 404, wrong state 409) keeps the raw
 * delivery as `failed`; the same event id sent again later is tried again.
 */
export function customerWebhookRoutes(deps: WebhookDeps, handlers: Readonly<Record<string, CustomerCallHandler>> = customerCallHandlers): Hono {
  const app = new Hono();
  const maxBytes = deps.config.webhooks?.maxBodyBytes ?? 1_048_576;
  const log = deps.logger.child({ component: 'customer-webhooks' });
  const supported = Object.keys(handlers);
  // Metric labels from a bounded set: the path is the caller's to choose.
  const metricLabel = (source: string | undefined) => `customer-${source !== undefined && deps.channels.has(source) ? source : 'unknown'}`;

  const limit = bodyLimit({
    maxSize: maxBytes,
    onError: (c) => {
      deps.metrics.webhooks.inc({ source: metricLabel(c.req.param('source')), outcome: 'too_large' });
      return problemResponse({ type: 'https://order-hub.local/problems/body_too_large', title: 'Content Too Large', status: 413, detail: `the body exceeds ${maxBytes} bytes` });
    },
  });

  app.post('/customers/:source', limit, async (c) => {
    const source = c.req.param('source');
    // Kept apart from the channel's order deliveries: event ids of the two must not collide.
    const rawSource = `customer-${source}`;
    const label = metricLabel(source);
    const stopTimer = deps.metrics.webhookSeconds.startTimer({ source: label });
    const outcome = (name: string) => {
      deps.metrics.webhooks.inc({ source: label, outcome: name });
      stopTimer();
    };

    const settings = deps.config.channels.find((ch) => ch.code === source);
    const channel = deps.channels.get(source);
    if (!settings || !channel || !OWN_CONNECTORS.includes(settings.connector)) {
      outcome('unknown_source');
      return problemResponse({
        type: 'https://order-hub.local/problems/unknown_source', title: 'Not Found', status: 404,
        detail: settings && channel ? `customers of "${source}" do not call the hub; only the shop's own website and app do` : `no channel named "${source}"`,
      });
    }
    const secretName = channel.connector.secretName;
    const secret = deps.secrets[secretName];
    if (!secret) {
      outcome('not_configured');
      log.error({ source, missing: [secretName] }, 'webhook secret not configured');
      return secretsMissing([secretName]);
    }

    const request = await readInbound(c);
    const { rawBody, headers } = request;
    if (!verifyHubSignature(request, secret, deps.now())) {
      outcome('bad_signature');
      log.warn({ source: rawSource, ip: headers['x-forwarded-for'] ?? null, bytes: rawBody.length }, 'webhook signature rejected');
      return problemResponse({ type: 'https://order-hub.local/problems/bad_signature', title: 'Unauthorized', status: 401, detail: 'the signature does not match the body, or its timestamp is too far from now' });
    }

    const bodyHash = createHash('sha256').update(rawBody).digest('hex');
    const dedupeKey = headers['x-hub-event-id']?.trim() || `sha256:${bodyHash}`;
    if (await deps.dedupe.seen(rawSource, dedupeKey, bodyHash)) {
      outcome('duplicate');
      return c.json({ status: 'duplicate' }, 200);
    }

    const envelope = readEnvelope(rawBody, handlers, supported);
    const kept = Object.fromEntries(Object.entries(headers).filter(([name]) => keptHeader.test(name) && !name.includes('signature')));
    const base: Omit<RawDelivery, 'status'> = { source: rawSource, kind: 'customer', dedupeKey, topic: envelope.ok ? envelope.call.type : envelope.type, headers: kept, body: rawBody };

    if (!envelope.ok) {
      const stored = await storeInvalidDelivery(deps, base, envelope.problems, `${source} customer call${base.topic ? ` ${base.topic}` : ''} does not map to a call the hub takes`);
      outcome('invalid');
      return problemResponse({
        type: `https://order-hub.local/problems/${envelope.code}`, title: 'Unprocessable Content', status: 422,
        detail: envelope.code === 'unknown_call_type' ? `the hub takes calls of type ${supported.join(', ')}` : 'the payload was kept and an exception opened',
        rawId: stored.id, problems: envelope.problems.slice(0, 50), supportedTypes: supported,
      });
    }

    // Durable before anything is done with it.
    const stored = await storeRawDelivery(deps.db, { ...base, status: 'accepted' });
    if (!stored.isNew && !stored.sameBody) {
      outcome('event_id_reused');
      return eventIdReused(dedupeKey, stored.id);
    }
    if (!stored.isNew && stored.status === 'processed') {
      await deps.dedupe.remember(rawSource, dedupeKey, bodyHash);
      outcome('duplicate');
      return c.json({ status: 'duplicate', id: stored.id }, 200);
    }

    const { call, handler } = envelope;
    const ctx = { namespace: deps.namespace, config: deps.config, channels: deps.channels, payments: deps.payments, carriers: deps.carriers, now: deps.now, newId: deps.newId };
    try {
      const result = await withTransaction(deps.db, async (tx) => {
        const found = await lockOrderByExternalId(tx, source, call.externalId);
        if (!found) throw notFound('order_not_found', `no ${source} order with id ${call.externalId}`);
        const answer = await handler.handle(tx, ctx, found.record, call, { channel: source, actor: `customer:${source}` });
        await markRawDelivery(tx, stored.id, 'processed');
        return answer;
      });
      await deps.dedupe.remember(rawSource, dedupeKey, bodyHash);
      outcome('accepted');
      return c.json({ status: 'accepted', id: stored.id, type: call.type, result }, 200);
    } catch (error) {
      if (!(error instanceof HubError) || error.status >= 500) throw error;
      await markRawDelivery(deps.db, stored.id, 'failed', [{ path: '/', message: error.message }]);
      outcome('refused');
      return problemResponse({ ...problemFromError(error), rawId: stored.id });
    }
  });

  return app;
}

type Envelope =
  | { ok: true; call: CustomerCall; handler: CustomerCallHandler }
  | { ok: false; code: 'malformed_payload' | 'invalid_payload' | 'unknown_call_type'; type: string; problems: InputProblem[] };

/** The body as a call: JSON, with a known `type`, an `externalId`, and the type's own fields right. */
function readEnvelope(body: Buffer, handlers: Readonly<Record<string, CustomerCallHandler>>, supported: readonly string[]): Envelope {
  const decoded = decodePayload(body);
  if (!decoded.ok) return { ok: false, code: 'malformed_payload', type: '', problems: decoded.problems };
  const value = decoded.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'invalid_payload', type: '', problems: [{ path: '/', message: 'must be a JSON object' }] };
  }
  const fields = value as Record<string, unknown>;
  const type = typeof fields.type === 'string' ? fields.type.slice(0, 100) : '';
  const problems: InputProblem[] = [];
  if (typeof fields.type !== 'string' || fields.type === '') problems.push({ path: '/type', message: `must be one of ${supported.join(', ')}` });
  if (typeof fields.externalId !== 'string' || fields.externalId.trim() === '' || fields.externalId.length > MAX_EXTERNAL_ID) {
    problems.push({ path: '/externalId', message: `must be the channel's order id (a string of 1..${MAX_EXTERNAL_ID} characters)` });
  }
  if (problems.length > 0) return { ok: false, code: 'invalid_payload', type, problems };
  const handler = Object.hasOwn(handlers, type) ? handlers[type] : undefined;
  if (!handler) return { ok: false, code: 'unknown_call_type', type, problems: [{ path: '/type', message: `${JSON.stringify(type)} is not a call the hub takes; expected one of ${supported.join(', ')}` }] };
  const call = fields as CustomerCall;
  const own = handler.problems(call);
  if (own.length > 0) return { ok: false, code: 'invalid_payload', type, problems: own };
  return { ok: true, call, handler };
}

