import { Hono, type Context } from 'hono';
import { Ajv, type JSONSchemaType } from 'ajv';
import type { HubConfig } from '../schemas/config.ts';
import type { Db } from '../core/db/pool.ts';
import {
  deadLetterStatuses, getDeadLetter, listDeadLetters, parkedDeadLetterIds,
  type DeadLetter, type DeadLetterStatus, type DeadLetterSummary,
} from '../core/db/sql/dead-letters.ts';
import { badRequest, HubError, notFound } from '../core/errors.ts';
import { discardDeadLetter, replayDeadLetter } from '../core/stages/dead-letters.ts';
import { actorOf } from './principal.ts';
import { readBody } from './request.ts';

/** At most this many dead letters in one bulk replay: each is its own transaction, and the answer lists every one. */
export const replayBatchLimit = 100;

const ajv = new Ajv({ allErrors: true });

interface DiscardBody { reason: string }
const validateDiscard = ajv.compile<DiscardBody>({
  type: 'object', additionalProperties: false, required: ['reason'],
  properties: { reason: { type: 'string', minLength: 1, maxLength: 1000, pattern: '\\S' } },
} satisfies JSONSchemaType<DiscardBody>);

/** Either the dead letters by id, or the parked ones of a queue (oldest first). */
interface ReplayManyBody { ids?: number[]; queue?: string; status?: 'parked' }
const validateReplayMany = ajv.compile<ReplayManyBody>({
  type: 'object', additionalProperties: false,
  oneOf: [
    { required: ['ids'], not: { anyOf: [{ required: ['queue'] }, { required: ['status'] }] } },
    { required: ['queue', 'status'], not: { required: ['ids'] } },
  ],
  properties: {
    ids: { type: 'array', minItems: 1, maxItems: replayBatchLimit, uniqueItems: true, items: { type: 'integer', minimum: 1, maximum: Number.MAX_SAFE_INTEGER }, nullable: true },
    queue: { type: 'string', minLength: 1, maxLength: 255, pattern: '^[^\\u0000-\\u001f]+$', nullable: true },
    status: { type: 'string', const: 'parked', nullable: true },
  },
} as unknown as JSONSchemaType<ReplayManyBody>);


/** `:id` of a dead letter; anything that is not a positive integer names none. */
function idParam(c: Context): number {
  const text = c.req.param('id') ?? '';
  const id = /^\d{1,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id) || id < 1) throw notFound('dead_letter_not_found', `no dead letter ${text.slice(0, 50)}`);
  return id;
}

function query(c: Context, name: string, max = 255): string | undefined {
  const value = c.req.query(name);
  if (value === undefined || value === '') return undefined;
  if (value.length > max || /\p{Cc}/u.test(value)) throw badRequest('invalid_query', `${name} is too long or contains control characters`);
  return value;
}

/** A dead letter as listed: why, from where, how many attempts, how long ago. */
function summaryView(d: DeadLetterSummary, now: Date) {
  return {
    id: d.id, messageId: d.messageId, queue: d.queue, exchange: d.exchange, routingKey: d.routingKey,
    error: d.reason, attempts: d.attempts, status: d.status,
    orderId: d.refs.orderId ?? null, eventType: d.refs.eventType ?? null, replayOf: d.refs.replayOf ?? null, replayCount: d.replayCount,
    parkedAt: d.parkedAt, ageSeconds: Math.max(0, Math.floor((now.getTime() - d.parkedAt.getTime()) / 1000)),
    resolvedAt: d.resolvedAt, resolvedBy: d.resolvedBy, resolution: d.resolution, replayedAs: d.replayedAs,
  };
}

/**
 * Bodies up to this size are shown whole in a dead letter's detail; a larger one (a hostile
 * or broken message can be megabytes) is shown by its first `bodyPreviewBytes`, and
 * `GET /dead-letters/:id/body` gives its bytes as they were parked.
 */
export const bodyShownWhole = 256 * 1024;
const bodyPreviewBytes = 64 * 1024;

/**
 * One dead letter in full: its AMQP headers and its body (as JSON when it is JSON, and
 * always as text and base64), or a preview of a body too large to show.
 */
function detailView(d: DeadLetter, now: Date) {
  const base = { ...summaryView(d, now), headers: d.headers, bodyBytes: d.body.length, bodyUrl: `/api/dead-letters/${d.id}/body` };
  if (d.body.length > bodyShownWhole) {
    // cut at a character boundary: a UTF-8 sequence is never split into a replacement character
    let end = bodyPreviewBytes;
    while (end > 0 && (d.body[end]! & 0xc0) === 0x80) end--;
    return { ...base, body: null, bodyText: d.body.subarray(0, end).toString('utf8'), bodyBase64: null, bodyTruncated: true };
  }
  const text = d.body.toString('utf8');
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the text and base64 forms say what it is
  }
  return { ...base, body: json, bodyText: text, bodyBase64: d.body.toString('base64'), bodyTruncated: false };
}

/** One dead letter of a bulk replay: replayed, or the problem that kept it back. */
type ReplayOutcome =
  | { id: number; outcome: 'replayed'; messageId: string; replayedAs: string }
  | { id: number; outcome: 'refused'; status: number; code: string; detail: string };

/**
 * Dead letters for operators (behind bearer auth, mounted at `/api`): the messages the hub
 * parked, listed with their error and attempts, inspected with headers and body, replayed
 * one or many (each back to the queue it came from, through the outbox), or discarded with a
 * reason. Every write is audited with the caller's name and resolves the message's
 * `poison_message` exception.
 */
export function deadLetterRoutes(deps: { db: Db; namespace: string; config: HubConfig; now: () => Date; newId: () => string }): Hono {
  const app = new Hono();

  app.get('/dead-letters', async (c) => {
    const status = query(c, 'status');
    if (status !== undefined && !(deadLetterStatuses as readonly string[]).includes(status)) {
      throw badRequest('invalid_query', `status must be one of ${deadLetterStatuses.join(', ')}`);
    }
    const cursor = query(c, 'cursor', 20);
    if (cursor !== undefined && !/^[1-9]\d{0,14}$/.test(cursor)) throw badRequest('invalid_query', 'cursor must be the nextCursor of a previous page');
    const limitText = query(c, 'limit', 10) ?? '50';
    const limit = Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) throw badRequest('invalid_query', 'limit must be an integer 1..500');
    const rows = await listDeadLetters(deps.db, {
      status: status as DeadLetterStatus | undefined, queue: query(c, 'queue'), before: cursor === undefined ? undefined : Number(cursor), limit,
    });
    const now = deps.now();
    const last = rows[rows.length - 1];
    return c.json({ items: rows.map((r) => summaryView(r, now)), nextCursor: rows.length === limit && last ? String(last.id) : null });
  });

  app.get('/dead-letters/:id', async (c) => {
    const id = idParam(c);
    const letter = await getDeadLetter(deps.db, id);
    if (!letter) throw notFound('dead_letter_not_found', `no dead letter ${id}`);
    return c.json(detailView(letter, deps.now()));
  });

  app.get('/dead-letters/:id/body', async (c) => {
    const id = idParam(c);
    const letter = await getDeadLetter(deps.db, id);
    if (!letter) throw notFound('dead_letter_not_found', `no dead letter ${id}`);
    // Bytes as parked, never rendered: the body may be anything a sender put on a queue.
    return c.body(new Uint8Array(letter.body), 200, {
      'content-type': 'application/octet-stream', 'content-disposition': `attachment; filename="dead-letter-${id}.bin"`, 'x-content-type-options': 'nosniff',
    });
  });

  app.post('/dead-letters/replay', async (c) => {
    const body = await readBody(c, validateReplayMany);
    const ids = body.ids ?? await parkedDeadLetterIds(deps.db, body.queue ?? '', replayBatchLimit);
    const actor = actorOf(c);
    const items: ReplayOutcome[] = [];
    // One at a time, each in its own transaction: one that cannot be replayed keeps none of the others back.
    for (const id of ids) {
      try {
        const done = await replayDeadLetter(deps, id, actor);
        items.push({ id, outcome: 'replayed', messageId: done.messageId, replayedAs: done.replayedAs });
      } catch (error) {
        if (!(error instanceof HubError) || error.status >= 500) throw error;
        items.push({ id, outcome: 'refused', status: error.status, code: error.code, detail: error.message });
      }
    }
    return c.json({
      items,
      replayed: items.filter((i) => i.outcome === 'replayed').length,
      refused: items.filter((i) => i.outcome === 'refused').length,
    });
  });

  app.post('/dead-letters/:id/replay', async (c) => {
    const id = idParam(c);
    const done = await replayDeadLetter(deps, id, actorOf(c));
    return c.json({ ...done, status: 'replayed' }, 202);
  });

  app.post('/dead-letters/:id/discard', async (c) => {
    const id = idParam(c);
    const { reason } = await readBody(c, validateDiscard);
    const done = await discardDeadLetter(deps, id, actorOf(c), reason.trim());
    return c.json({ ...done, status: 'discarded', reason: reason.trim() });
  });

  return app;
}
