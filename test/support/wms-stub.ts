import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A warehouse system (WMS) on loopback that speaks the hub's push contract
 * (connectors/warehouses/http-push.ts), with the idempotency a real one must have, so push
 * tests count events the warehouse actually took ("effective") rather than requests sent.
 *
 * - `POST /fulfillment-requests` takes `fulfillment.requested`, `POST /fulfillment-cancellations`
 *   takes `fulfillment.cancel_requested`: a structured CloudEvent
 *   (`application/cloudevents+json`) whose `id` is the `Idempotency-Key`, `data` an object.
 *   Anything else is a 400 (problem+json); a wrong or missing bearer key, when the stub has
 *   one, a 401.
 * - The first request of a key is stored and answered 202 `{ id, accepted: true }`. The same
 *   key again gets the stored answer marked as a replay: 200 with `duplicate: true` and
 *   `Idempotent-Replayed: true` (or, with `duplicateAnswer: 409`, a 409 "already received").
 *   The same key with another body is a 422; a key whose first request is still being
 *   processed, a 409 with `Retry-After: 1`.
 *
 * Faults sit in front of the idempotency layer, as a load balancer's or a rate limiter's
 * would: an injected 500 or 429 stores nothing. A delay or a dropped connection can come
 * before the event is stored (nothing stored, or the key locked while it waits) or after (the
 * event stored, the answer late or lost) — the case idempotency keys exist for.
 */

export const WMS_STUB_KEY = 'wms_test_push_key';

/** What each path accepts. */
const ROUTES: Readonly<Record<string, string>> = {
  '/fulfillment-requests': 'fulfillment.requested',
  '/fulfillment-cancellations': 'fulfillment.cancel_requested',
};

export interface WmsStubOptions {
  /** the bearer key it requires; null accepts requests without one (default {@link WMS_STUB_KEY}) */
  apiKey?: string | null;
  /** how a repeated key is answered: the stored answer marked as a replay (default), or a 409 */
  duplicateAnswer?: 'replay' | 409;
}

export type WmsOutcome = 'accepted' | 'replayed' | 'in_progress' | 'key_mismatch' | 'invalid' | 'unauthorized' | 'not_found' | 'fault' | 'dropped';

export interface WmsRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  authorization: string | null;
  contentType: string | null;
  /** the body as sent */
  body: string;
  /** the body parsed, null when it is not JSON */
  event: unknown;
  /** the status answered; null while pending, or when the connection was dropped or the client had gone */
  status: number | null;
  outcome: WmsOutcome | null;
}

export interface WmsAccepted {
  key: string;
  path: string;
  event: Record<string, unknown>;
}

type Phase = 'before' | 'after';
type Fault =
  | { kind: 'status'; status: number; retryAfter: string | null }
  | { kind: 'delay'; ms: number; phase: Phase }
  | { kind: 'drop'; phase: Phase };

export interface WmsStub {
  url: string;
  /** every request, in order of arrival */
  requests: WmsRequest[];
  /** every event the WMS took, once per key */
  accepted: WmsAccepted[];
  /** distinct keys accepted: the events the warehouse will act on */
  readonly effective: number;
  /** answer the next `times` requests with `status` (default 500), storing nothing */
  failNext(times: number, status?: number): void;
  /** answer the next `times` requests 429 with this `Retry-After` (seconds or an HTTP date) */
  throttleNext(retryAfter: string, times?: number): void;
  /**
   * hold the next request `ms`: `after` (default) stores the event at once and answers late;
   * `before` locks the key, waits, then stores it — even if the client has gone
   */
  delayNext(ms: number, phase?: Phase): void;
  /** close the next request's connection without an answer: `after` (default) the event is stored first */
  dropNext(phase?: Phase): void;
  /** forget every fault not applied yet; returns how many there were */
  clearFaults(): number;
  close(): Promise<void>;
}

type Stored = { state: 'in_progress'; fingerprint: string } | { state: 'done'; fingerprint: string; status: number; body: Record<string, unknown> };

/** Starts the stub on 127.0.0.1 at a free port. */
export async function startWmsStub(options: WmsStubOptions = {}): Promise<WmsStub> {
  const apiKey = options.apiKey === undefined ? WMS_STUB_KEY : options.apiKey;
  const duplicateAnswer = options.duplicateAnswer ?? 'replay';
  const keys = new Map<string, Stored>();
  const faults: Fault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const requests: WmsRequest[] = [];
  const accepted: WmsAccepted[] = [];

  const wait = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        done();
      }, ms);
      timers.add(timer);
    });

  function send(res: ServerResponse, record: WmsRequest, outcome: WmsOutcome, status: number, body: unknown, headers: Record<string, string> = {}): void {
    record.outcome = outcome;
    if (res.destroyed || res.socket?.destroyed) return; // the client gave up: the answer is lost
    record.status = status;
    const problem = status >= 400 ? 'application/problem+json' : 'application/json';
    res.writeHead(status, { 'content-type': problem, ...headers });
    res.end(JSON.stringify(body));
  }

  function drop(res: ServerResponse, record: WmsRequest): void {
    record.outcome = 'dropped';
    res.socket?.destroy();
  }

  const problem = (status: number, title: string, detail: string) => ({ type: 'about:blank', status, title, detail });

  /** What is wrong with the request as a push of `type`, or null. */
  function invalid(record: WmsRequest, type: string): string | null {
    if (!record.contentType?.toLowerCase().startsWith('application/cloudevents+json')) return `Content-Type must be application/cloudevents+json, got ${record.contentType ?? 'none'}`;
    if (!record.idempotencyKey) return 'Idempotency-Key is required';
    const event = record.event;
    if (!isObject(event)) return 'the body must be a CloudEvent (a JSON object)';
    if (event.specversion !== '1.0') return 'specversion must be "1.0"';
    if (event.id !== record.idempotencyKey) return 'the Idempotency-Key must be the event id';
    if (event.type !== type) return `${record.path} takes ${type}, not ${String(event.type)}`;
    if (!isObject(event.data)) return 'data must be a JSON object';
    return null;
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const record: WmsRequest = {
      method: req.method ?? '', path, idempotencyKey: header('idempotency-key'), authorization: header('authorization'),
      contentType: header('content-type'), body: raw, event: parseJson(raw), status: null, outcome: null,
    };
    requests.push(record);

    const type = Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
    if (req.method !== 'POST' || type === undefined) return send(res, record, 'not_found', 404, problem(404, 'Not Found', `${req.method} ${path}`));

    const fault = faults.shift();
    if (fault?.kind === 'status') {
      return send(res, record, 'fault', fault.status, problem(fault.status, fault.status === 429 ? 'Too Many Requests' : 'Injected Fault', `stub: injected ${fault.status}`),
        fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter });
    }
    if (fault?.kind === 'drop' && fault.phase === 'before') return drop(res, record);

    // A delay or a drop still pending applies to whatever the answer turns out to be.
    let pending = fault;
    const reply = async (outcome: WmsOutcome, status: number, body: unknown, headers: Record<string, string> = {}) => {
      const late = pending;
      pending = undefined;
      if (late?.kind === 'drop') return drop(res, record);
      if (late?.kind === 'delay') await wait(late.ms);
      send(res, record, outcome, status, body, headers);
    };

    if (apiKey !== null && record.authorization !== `Bearer ${apiKey}`) return reply('unauthorized', 401, problem(401, 'Unauthorized', 'missing or wrong bearer key'));
    const problemText = invalid(record, type);
    if (problemText !== null) return reply('invalid', 400, problem(400, 'Bad Request', problemText));

    const key = record.idempotencyKey ?? '';
    const fingerprint = `${path}\n${raw}`;
    const stored = keys.get(key);
    if (stored?.state === 'in_progress') {
      return reply('in_progress', 409, problem(409, 'Conflict', `a request with key ${key} is still being processed`), { 'retry-after': '1' });
    }
    if (stored?.state === 'done') {
      if (stored.fingerprint !== fingerprint) return reply('key_mismatch', 422, problem(422, 'Unprocessable Content', `key ${key} was first used with another request`));
      if (duplicateAnswer === 409) return reply('replayed', 409, problem(409, 'Conflict', `already received: ${key}`));
      return reply('replayed', 200, { ...stored.body, duplicate: true }, { 'idempotent-replayed': 'true' });
    }

    if (pending?.kind === 'delay' && pending.phase === 'before') {
      // Slow before it acts: the key is taken, the event not stored yet.
      keys.set(key, { state: 'in_progress', fingerprint });
      await wait(pending.ms);
      pending = undefined;
    }
    const body = { id: key, accepted: true };
    accepted.push({ key, path, event: record.event as Record<string, unknown> });
    keys.set(key, { state: 'done', fingerprint, status: 202, body });
    record.outcome = 'accepted';
    return reply('accepted', 202, body);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks).toString('utf8')).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(`stub crashed: ${String(error)}`);
        }
      });
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    accepted,
    get effective() {
      return new Set(accepted.map((event) => event.key)).size;
    },
    failNext(times, status = 500) {
      for (let i = 0; i < times; i++) faults.push({ kind: 'status', status, retryAfter: null });
    },
    throttleNext(retryAfter, times = 1) {
      for (let i = 0; i < times; i++) faults.push({ kind: 'status', status: 429, retryAfter });
    },
    delayNext(ms, phase = 'after') {
      faults.push({ kind: 'delay', ms, phase });
    },
    dropNext(phase = 'after') {
      faults.push({ kind: 'drop', phase });
    },
    clearFaults() {
      return faults.splice(0).length;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((closed, failed) => server.close((error) => (error ? failed(error) : closed())));
    },
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
