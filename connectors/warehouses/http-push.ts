import { HubError } from '../../core/errors.ts';
import type { CloudEvent } from '../../core/messaging/cloudevent.ts';
import { parseJson, retryAfterMs, sendWithRetries, type AttemptOutcome, type HttpClientOptions } from '../http.ts';
import { isObject } from '../reader.ts';

/**
 * Fulfilment work pushed to a warehouse system (WMS) over HTTP, for warehouses that do not
 * read their `out.warehouse.<code>` queue themselves. Made safe to repeat, like the refund
 * clients (connectors/payments/refunds.ts), and kept off a warehouse that is down by a
 * circuit breaker.
 *
 * The hub's contract for a WMS:
 *
 * - `POST {baseUrl}/fulfillment-requests` for `fulfillment.requested` and
 *   `POST {baseUrl}/fulfillment-cancellations` for `fulfillment.cancel_requested`; the body is
 *   the CloudEvent itself in structured mode (`Content-Type: application/cloudevents+json`).
 *   Other event types are not sent (refused, not retryable): a WMS must never read an event
 *   it was not built for as a request to pick.
 * - `Idempotency-Key: <event id>` on every attempt. The id is fixed when the event is written
 *   to the outbox, so every retry and every redelivery carries the same key and the same
 *   event: the WMS stores the event once per key.
 * - `Authorization: Bearer <apiKey>` when the warehouse has a key.
 * - The WMS answers 2xx when it has the event. A repeat of a key it already has is a 2xx with
 *   `{"duplicate": true}` (or `Idempotent-Replayed: true`), or a 409: the hub reads both as
 *   "already received" — `ok` with `duplicate: true`. A key cannot come back with another
 *   event, so a 409 cannot mean "same key, other body" here. The one exception is a 409 with
 *   `Retry-After`: the IETF idempotency-key draft's "a request with this key is still being
 *   processed", which is retried like a 503 — acking it could lose the event if that first
 *   request then fails.
 * - Any other 4xx is final (`retryable: false`): the same event will be refused again. 408,
 *   429, 5xx, timeouts and lost connections are retried within the call, same key, same
 *   bytes, with a doubling backoff (a `Retry-After` is honoured up to `maxWaitMs`); when the
 *   retries run out the answer is `retryable: true` and the caller's delayed retry takes over.
 *
 * Circuit breaker, per client (one client per warehouse): `failureThreshold` calls in a row
 * that end `retryable: true` open the circuit. While open, calls answer at once
 * `{ ok: false, retryable: true, circuitOpen: true, retryAfterMs }` without a request. After
 * `openMs` it is half-open: the next call is the one trial, a single attempt (no in-call
 * retries, so a recovering WMS gets one request, not a burst); calls meanwhile fail fast.
 * The trial's success closes the circuit, its failure opens it for another `openMs`. The
 * breaker measures whether the warehouse answers, so a final refusal (a 400, a 401) counts as
 * an answer, not a failure: retrying would not help, and a bad event must not open the
 * circuit for every good one. Calls still in flight when the circuit changes state do not
 * move it again. Time comes from `now()`.
 */

/** How a client talks to its WMS (timeout 10 s unless set), and its circuit breaker. */
export interface WarehousePushOptions extends HttpClientOptions {
  /** sent as `Authorization: Bearer <apiKey>` when set; set and blank is a configuration error */
  apiKey?: string;
  breaker?: {
    /** consecutive calls ending `retryable: true` that open the circuit (default 5) */
    failureThreshold?: number;
    /** how long an open circuit refuses calls before one trial (default 30 s) */
    openMs?: number;
  };
}

export type PushResult =
  | {
      ok: true;
      /** the WMS's status code */
      status: number;
      /** the WMS already had this event: from an earlier call, or from an attempt of this call whose answer was lost */
      duplicate: boolean;
    }
  | {
      ok: false;
      /** true: pushing the same event later can still succeed */
      retryable: boolean;
      message: string;
      /** refused by the open circuit without a request */
      circuitOpen?: boolean;
      /** how long to wait before pushing again, when known (an open circuit, a `Retry-After`) */
      retryAfterMs?: number;
    };

export type CircuitState = 'closed' | 'open' | 'half_open';

export interface WarehousePushClient {
  /** Sends the event to the WMS. Never throws for anything the WMS or the network does. */
  push(event: CloudEvent<unknown>): Promise<PushResult>;
  /** the circuit as the next call would find it */
  state(): CircuitState;
}

/** Where each event type goes; anything else is not sent. */
export const WAREHOUSE_PUSH_PATHS = {
  'fulfillment.requested': '/fulfillment-requests',
  'fulfillment.cancel_requested': '/fulfillment-cancellations',
} as const satisfies Record<string, string>;

/** The CloudEvents structured-mode media type (CloudEvents HTTP binding 1.0, §3.2). */
export const CLOUDEVENTS_JSON = 'application/cloudevents+json; charset=utf-8';

/**
 * A push client for warehouse `code` (used in messages). Throws a {@link HubError} for a
 * configuration that cannot work (not a URL, a blank key, negative limits): that is the
 * composition root's mistake, not the warehouse's.
 */
export function createWarehousePushClient(code: string, options: WarehousePushOptions): WarehousePushClient {
  const o = resolve(code, options);
  const breaker = createBreaker(o);
  const label = `warehouse ${code}`;

  return {
    async push(event) {
      const path = Object.hasOwn(WAREHOUSE_PUSH_PATHS, event.type) ? WAREHOUSE_PUSH_PATHS[event.type as keyof typeof WAREHOUSE_PUSH_PATHS] : null;
      if (path === null) {
        return refused(`${label}: event ${event.id} not sent: type "${event.type}" is not pushed to warehouses (expected ${Object.keys(WAREHOUSE_PUSH_PATHS).join(' or ')})`);
      }
      if (typeof event.id !== 'string' || event.id.trim() === '') return refused(`${label}: ${event.type} not sent: the event has no id to use as its idempotency key`);

      const admission = breaker.admit();
      if (!admission.admitted) {
        return {
          ok: false, retryable: true, circuitOpen: true, retryAfterMs: admission.retryAfterMs,
          message: `${label}: circuit ${admission.state}, ${event.type} ${event.id} not sent (retry in ${admission.retryAfterMs} ms)`,
        };
      }

      // Serialised once: every attempt sends the same bytes under the same key.
      const body = JSON.stringify(event);
      const headers: Record<string, string> = {
        'content-type': CLOUDEVENTS_JSON,
        'idempotency-key': event.id,
        accept: 'application/json',
      };
      if (o.apiKey !== null) headers.authorization = `Bearer ${o.apiKey}`;
      const send = () => o.fetch(`${o.baseUrl}${path}`, { method: 'POST', headers, body, redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs) });

      const result = await pushWithRetries(o, label, admission.trial ? 0 : o.retries, send);
      const opened = breaker.settle(admission, result.ok || !result.retryable);
      if (opened === null || result.ok) return result;
      // This call opened the circuit: asking again before it half-opens would only fail fast.
      return { ...result, retryAfterMs: Math.max(result.retryAfterMs ?? 0, opened), message: `${result.message}; circuit open for ${opened} ms` };
    },
    state: () => breaker.state(),
  };
}

// --- the retry loop ---------------------------------------------------------------------------

interface ResolvedOptions {
  baseUrl: string;
  apiKey: string | null;
  fetch: typeof fetch;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
  now: () => Date;
  failureThreshold: number;
  openMs: number;
}

function resolve(code: string, options: WarehousePushOptions): ResolvedOptions {
  const invalid = (message: string, cause?: unknown) =>
    new HubError('warehouse_push_invalid', `warehouse push client ${JSON.stringify(code)}: ${message}`, { status: 500, cause });
  if (code.trim() === '') throw invalid('the warehouse code is empty');
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw invalid('baseUrl is not a URL', error);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw invalid(`baseUrl must be http(s), got ${base.protocol}`);
  if (options.apiKey !== undefined && options.apiKey.trim() === '') throw invalid('apiKey is set but blank');

  const resolved: ResolvedOptions = {
    baseUrl: base.href.replace(/\/+$/, ''),
    apiKey: options.apiKey ?? null,
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 10_000,
    retries: options.retries ?? 3,
    backoffMs: options.backoffMs ?? 500,
    maxWaitMs: options.maxWaitMs ?? 30_000,
    sleep: options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
    now: options.now ?? (() => new Date()),
    failureThreshold: options.breaker?.failureThreshold ?? 5,
    openMs: options.breaker?.openMs ?? 30_000,
  };
  const whole = (name: keyof ResolvedOptions, min: number) => {
    const value = resolved[name];
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw invalid(`${name} must be a whole number ≥ ${min}, got ${String(value)}`);
  };
  whole('timeoutMs', 1);
  whole('retries', 0);
  whole('backoffMs', 0);
  whole('maxWaitMs', 0);
  whole('failureThreshold', 1);
  whole('openMs', 0);
  return resolved;
}

type Outcome = AttemptOutcome<PushResult>;

/** {@link sendWithRetries} for the WMS's answers; what is left when it gives up is retryable, same event id. */
function pushWithRetries(o: ResolvedOptions, label: string, retries: number, send: () => Promise<Response>): Promise<PushResult> {
  return sendWithRetries(
    { ...o, retries },
    label,
    send,
    (response, text) => interpret(label, response.status, response.headers, text, o.now()),
    (last, why) => retryLater(why.waitTooLong === undefined
      ? `${last.message} (gave up after ${why.attempts} attempt(s); push again later, same event id)`
      : `${last.message}; ${label} asks to wait ${why.waitTooLong} ms, more than ${o.maxWaitMs} ms`, last.retryAfterMs),
  );
}

/** What one answer of the WMS means, per the contract above. */
function interpret(label: string, status: number, headers: Headers, text: string, now: Date): Outcome {
  const body = parseJson(text);
  if (status >= 200 && status < 300) {
    const duplicate = (isObject(body) && body.duplicate === true) || headers.get('idempotent-replayed')?.trim().toLowerCase() === 'true';
    return { kind: 'final', result: { ok: true, status, duplicate } };
  }
  const detail = `${status}: ${errorText(body, text)}`;
  const retryAfter = retryAfterMs(headers.get('retry-after'), now);
  const wait = retryAfter === null ? {} : { retryAfterMs: retryAfter };
  if (status === 409) {
    if (retryAfter !== null) return { kind: 'transient', message: `${label} answered ${detail} (a request with this key is still being processed)`, ...wait };
    return { kind: 'final', result: { ok: true, status, duplicate: true } };
  }
  if (status === 429) return { kind: 'transient', message: `${label} is rate limiting (${detail})`, ...wait };
  if (status === 408 || status >= 500) return { kind: 'transient', message: `${label} answered ${detail}`, ...wait };
  if (status === 401 || status === 403) return { kind: 'final', result: refused(`${label} refused the API key: ${detail}`) };
  if (status >= 300 && status < 400) return { kind: 'final', result: refused(`${label} answered a redirect (${detail}, to ${headers.get('location') ?? 'nowhere'}); fix its baseUrl`) };
  return { kind: 'final', result: refused(`${label} refused the event: ${detail}`) };
}

// --- the circuit breaker ----------------------------------------------------------------------

type Admission =
  | { admitted: true; trial: boolean; generation: number }
  | { admitted: false; state: CircuitState; retryAfterMs: number };

interface Breaker {
  admit(): Admission;
  /** records how an admitted call ended (`healthy`: the WMS answered); the open period when this call opened the circuit, else null */
  settle(admission: Extract<Admission, { admitted: true }>, healthy: boolean): number | null;
  state(): CircuitState;
}

type Circuit =
  | { state: 'closed'; failures: number }
  | { state: 'open'; until: number }
  /** the trial call is in flight */
  | { state: 'half_open' };

function createBreaker(o: ResolvedOptions): Breaker {
  let circuit: Circuit = { state: 'closed', failures: 0 };
  // Bumped at every change of state: calls admitted before it do not move the circuit again.
  let generation = 0;
  const now = () => o.now().getTime();
  const become = (next: Circuit) => {
    circuit = next;
    generation++;
  };

  return {
    admit() {
      switch (circuit.state) {
        case 'closed':
          return { admitted: true, trial: false, generation };
        case 'open': {
          const left = circuit.until - now();
          if (left > 0) return { admitted: false, state: 'open', retryAfterMs: left };
          become({ state: 'half_open' });
          return { admitted: true, trial: true, generation };
        }
        case 'half_open':
          // The trial is one attempt, over within timeoutMs: by then the circuit is closed or open again.
          return { admitted: false, state: 'half_open', retryAfterMs: o.timeoutMs };
        default:
          return unreachable(circuit);
      }
    },

    settle(admission, healthy) {
      if (admission.generation !== generation) return null;
      if (healthy) {
        if (circuit.state === 'closed') circuit.failures = 0;
        else become({ state: 'closed', failures: 0 });
        return null;
      }
      if (circuit.state === 'closed' && circuit.failures + 1 < o.failureThreshold) {
        circuit.failures++;
        return null;
      }
      become({ state: 'open', until: now() + o.openMs });
      return o.openMs;
    },

    state() {
      if (circuit.state === 'open' && now() >= circuit.until) return 'half_open';
      return circuit.state;
    },
  };
}

// --- small pieces -----------------------------------------------------------------------------

function refused(message: string): PushResult {
  return { ok: false, retryable: false, message };
}

function retryLater(message: string, retryAfterMs: number | undefined): PushResult {
  return retryAfterMs === undefined ? { ok: false, retryable: true, message } : { ok: false, retryable: true, message, retryAfterMs };
}

/** A WMS's error in a few words: a problem+json `detail`/`title`, a `message`, an `error`, or the text. */
function errorText(body: unknown, text: string): string {
  if (isObject(body)) {
    for (const field of ['detail', 'message', 'title', 'error']) {
      const value = body[field];
      if (typeof value === 'string' && value !== '') return value.slice(0, 200);
    }
  }
  return text.slice(0, 200) || '(no body)';
}

function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
