import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A payment provider's refunds endpoint on loopback, with the idempotency the real one has,
 * so refund tests can count refunds actually made rather than requests sent.
 *
 * - Stripe: `POST /v1/refunds`, form-encoded, `Authorization: Bearer <key>`. Idempotency as
 *   Stripe documents it (docs.stripe.com/api/idempotent_requests, /error-low-level): the
 *   first answer for a key is stored once the endpoint runs and replayed for the same
 *   parameters (`Idempotent-Replayed: true`); the same key with other parameters is an
 *   `idempotency_error`; a key whose first request is still running gets a 409 with
 *   `Stripe-Should-Retry: true`; a request that fails validation stores nothing.
 * - Adyen: `POST /v71/payments/{pspReference}/refunds`, JSON, `x-api-key`, answering 201
 *   `status: "received"`. A key still in progress gets a 409 with `transient-error: true`
 *   (docs.adyen.com/development-resources/response-handling); the same key with another
 *   body gets a 422 (the stub's choice: Adyen does not document that answer).
 *
 * Faults happen in front of the idempotency layer, as a load balancer's or rate limiter's
 * would: an injected 500 or 429 stores nothing. A delay or a dropped connection can come
 * before the refund is made (nothing made, or the key locked while it waits) or after (the
 * refund made, the answer late or lost) — the case idempotency keys exist for.
 */

export type StubProvider = 'stripe' | 'adyen';

export const STRIPE_STUB_KEY = 'sk_test_refund_stub';
export const ADYEN_STUB_KEY = 'AQE_refund_stub_api_key';
export const ADYEN_STUB_MERCHANT = 'HubTestMerchantECOM';

export interface StubPayment {
  /** minor units captured, the most that can be refunded in total */
  amount: number;
  currency: string;
}

export interface ProviderStubOptions {
  provider: StubProvider;
  /** the API key it accepts (default {@link STRIPE_STUB_KEY} / {@link ADYEN_STUB_KEY}) */
  apiKey?: string;
  /** Adyen: the merchant account it accepts (default {@link ADYEN_STUB_MERCHANT}) */
  merchantAccount?: string;
  /** payments that can be refunded, by PaymentIntent id / pspReference */
  payments?: Record<string, StubPayment>;
  /** Stripe: the status of the refunds it makes (default "succeeded") */
  refundStatus?: string;
  /** Stripe: the HTTP status of an `idempotency_error` for a key reused with other parameters (default 409) */
  idempotencyMismatchStatus?: number;
}

/** What the stub did with a request. */
export type StubOutcome =
  | 'created'
  | 'replayed'
  | 'in_progress'
  | 'idempotency_mismatch'
  | 'invalid'
  | 'unauthorized'
  | 'not_found'
  | 'fault'
  | 'dropped';

export interface StubRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  authorization: string | null;
  apiKey: string | null;
  contentType: string | null;
  /** the body as sent */
  body: string;
  /** the form fields (Stripe) or the parsed JSON (Adyen) */
  params: Record<string, unknown>;
  /** the status answered, null while pending or when the connection was dropped */
  status: number | null;
  outcome: StubOutcome | null;
}

export interface StubRefund {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  idempotencyKey: string | null;
  /** the answer body stored for the key */
  answer: Record<string, unknown>;
}

type Phase = 'before' | 'after';
type Fault =
  | { kind: 'status'; status: number; retryAfter: string | null }
  | { kind: 'delay'; ms: number; phase: Phase }
  | { kind: 'drop'; phase: Phase };

export interface ProviderStub {
  url: string;
  provider: StubProvider;
  /** every request, in order of arrival */
  requests: StubRequest[];
  /** every refund actually made */
  refunds: StubRefund[];
  /** how many refunds were actually made */
  readonly refundsCreated: number;
  /** answer the next `times` requests with `status` (default 500), storing nothing */
  failNext(times: number, status?: number): void;
  /** answer the next `times` requests 429 with this `Retry-After` (seconds or an HTTP date) */
  throttleNext(retryAfter: string, times?: number): void;
  /**
   * hold the next request `ms`: `after` (default) makes the refund at once and answers late;
   * `before` locks the key, waits, then makes the refund — even if the client has gone
   */
  delayNext(ms: number, phase?: Phase): void;
  /** close the next request's connection without an answer: `after` (default) the refund is made first */
  dropNext(phase?: Phase): void;
  /** forget the faults still queued */
  clearFaults(): void;
  /** answer every refund of these payments 503, storing nothing, until called again with others (none: all back) */
  unavailableFor(...paymentIds: string[]): void;
  close(): Promise<void>;
}

type StoredAnswer = { state: 'in_progress'; fingerprint: string } | { state: 'done'; fingerprint: string; status: number; body: Record<string, unknown> };

/** Starts the stub on 127.0.0.1 at a free port. */
export async function startProviderStub(options: ProviderStubOptions): Promise<ProviderStub> {
  const { provider } = options;
  const apiKey = options.apiKey ?? (provider === 'stripe' ? STRIPE_STUB_KEY : ADYEN_STUB_KEY);
  const merchantAccount = options.merchantAccount ?? ADYEN_STUB_MERCHANT;
  const payments = new Map(Object.entries(options.payments ?? {}));
  const keys = new Map<string, StoredAnswer>();
  const faults: Fault[] = [];
  let unavailable = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const requests: StubRequest[] = [];
  const refunds: StubRefund[] = [];

  const wait = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        done();
      }, ms);
      timers.add(timer);
    });

  function send(res: ServerResponse, record: StubRequest, outcome: StubOutcome, status: number, body: unknown, headers: Record<string, string> = {}): void {
    record.outcome = outcome;
    if (res.destroyed || res.socket?.destroyed) return; // the client gave up: the answer is lost
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  }

  function drop(res: ServerResponse, record: StubRequest): void {
    record.outcome = 'dropped';
    res.socket?.destroy();
  }

  // Error bodies in each provider's shape: Stripe `{ error: { type, code, message, param } }`,
  // Adyen `{ status, errorCode, message, errorType }`.
  const errorBody = (status: number, type: string, message: string, extra: Record<string, string> = {}) =>
    provider === 'stripe'
      ? { error: { type, message, ...extra } }
      : { status, errorCode: extra.code ?? 'stub', message, errorType: type };

  function refundsOf(paymentId: string): number {
    return refunds.filter((refund) => refund.paymentId === paymentId).reduce((sum, refund) => sum + refund.amount, 0);
  }

  /** The request's refund as the provider would check it: its payment, amount and currency, or what is wrong. */
  function validate(record: StubRequest, paymentFromPath: string | null): { paymentId: string; amount: number; currency: string } | string {
    const p = record.params;
    if (provider === 'stripe') {
      const paymentId = typeof p.payment_intent === 'string' ? p.payment_intent : '';
      if (paymentId === '') return 'Missing required param: payment_intent.';
      const payment = payments.get(paymentId);
      if (!payment) return `No such payment_intent: '${paymentId}'`;
      const amount = p.amount === undefined ? payment.amount - refundsOf(paymentId) : Number(p.amount);
      if (!Number.isSafeInteger(amount) || amount <= 0) return 'Invalid positive integer';
      if (!['duplicate', 'fraudulent', 'requested_by_customer', undefined].includes(p.reason as string | undefined)) return 'Invalid reason';
      if (amount > payment.amount - refundsOf(paymentId)) return `Refund amount (${amount}) is greater than unrefunded amount on charge (${payment.amount - refundsOf(paymentId)})`;
      return { paymentId, amount, currency: payment.currency.toLowerCase() };
    }
    const paymentId = paymentFromPath ?? '';
    const payment = payments.get(paymentId);
    if (!payment) return `stub: no captured payment ${paymentId}`;
    if (p.merchantAccount !== merchantAccount) return 'stub: merchantAccount is not the one this API key belongs to';
    const amount = (p.amount ?? {}) as { value?: unknown; currency?: unknown };
    if (!Number.isSafeInteger(amount.value) || (amount.value as number) <= 0) return 'Required field \'amount.value\' is not provided or invalid.';
    if (amount.currency !== payment.currency.toUpperCase()) return 'Currency of modification does not match currency of the original payment';
    if ((amount.value as number) > payment.amount - refundsOf(paymentId)) return 'stub: refund amount exceeds the unrefunded amount';
    return { paymentId, amount: amount.value as number, currency: amount.currency };
  }

  function makeRefund(record: StubRequest, refund: { paymentId: string; amount: number; currency: string }): { status: number; body: Record<string, unknown> } {
    const n = refunds.length + 1;
    if (provider === 'stripe') {
      const id = `re_stub${String(n).padStart(17, '0')}`;
      const metadata = Object.fromEntries(
        Object.entries(record.params).flatMap(([name, value]) => {
          const key = /^metadata\[(.+)\]$/.exec(name)?.[1];
          return key === undefined ? [] : [[key, value]];
        }),
      );
      const body = {
        id, object: 'refund', amount: refund.amount, currency: refund.currency, payment_intent: refund.paymentId,
        reason: record.params.reason ?? null, status: options.refundStatus ?? 'succeeded', metadata, created: 1_700_000_000 + n,
      };
      refunds.push({ id, ...refund, idempotencyKey: record.idempotencyKey, answer: body });
      return { status: 200, body };
    }
    const id = `RFND${String(n).padStart(12, '0')}`;
    const body = {
      merchantAccount, paymentPspReference: refund.paymentId, pspReference: id,
      reference: record.params.reference, status: 'received', amount: record.params.amount,
    };
    refunds.push({ id, ...refund, idempotencyKey: record.idempotencyKey, answer: body });
    return { status: 201, body };
  }

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://stub').pathname;
    const header = (name: string) => {
      const value = req.headers[name];
      return typeof value === 'string' ? value : null;
    };
    const record: StubRequest = {
      method: req.method ?? '', path, idempotencyKey: header('idempotency-key'), authorization: header('authorization'),
      apiKey: header('x-api-key'), contentType: header('content-type'), body: raw, params: parseBody(raw, header('content-type')),
      status: null, outcome: null,
    };
    requests.push(record);

    const adyenPath = /^\/v71\/payments\/([^/]+)\/refunds$/.exec(path);
    const routed = req.method === 'POST' && (provider === 'stripe' ? path === '/v1/refunds' : adyenPath !== null);
    if (!routed) return send(res, record, 'not_found', 404, errorBody(404, 'invalid_request_error', `Unrecognized request URL (${req.method} ${path})`));

    const target = provider === 'stripe' ? record.params.payment_intent : adyenPath?.[1];
    if (typeof target === 'string' && unavailable.has(target)) {
      return send(res, record, 'fault', 503, errorBody(503, 'api_error', `stub: refunds of ${target} are unavailable`));
    }
    const fault = faults.shift();
    if (fault?.kind === 'status') {
      const throttled = fault.status === 429;
      return send(res, record, 'fault', fault.status,
        errorBody(fault.status, throttled ? 'invalid_request_error' : 'api_error', throttled ? 'stub: too many requests' : `stub: injected ${fault.status}`),
        fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter });
    }
    if (fault?.kind === 'drop' && fault.phase === 'before') return drop(res, record);

    // A delay or a drop still pending applies to whatever the answer turns out to be.
    let pending = fault;
    const reply = async (outcome: StubOutcome, status: number, body: unknown, headers: Record<string, string> = {}) => {
      const late = pending;
      pending = undefined;
      if (late?.kind === 'drop') return drop(res, record);
      if (late?.kind === 'delay') await wait(late.ms);
      send(res, record, outcome, status, body, headers);
    };

    const authorized = provider === 'stripe' ? record.authorization === `Bearer ${apiKey}` : record.apiKey === apiKey;
    if (!authorized) {
      return reply('unauthorized', 401, provider === 'stripe'
        ? errorBody(401, 'invalid_request_error', 'Invalid API Key provided')
        : errorBody(401, 'security', 'HTTP Status Response - Unauthorized', { code: '000' }));
    }

    const key = record.idempotencyKey;
    const fingerprint = JSON.stringify([path, sorted(record.params)]);
    const stored = key === null ? undefined : keys.get(key);
    if (stored?.state === 'in_progress') {
      return provider === 'stripe'
        ? reply('in_progress', 409, errorBody(409, 'idempotency_error', `There is currently another in-progress request using this Idempotent Key (that probably means you submitted twice, and the other request is still going through): ${key}. Please try again later.`), { 'stripe-should-retry': 'true' })
        : reply('in_progress', 409, errorBody(409, 'validation', 'request already processed or in progress', { code: '704' }), { 'transient-error': 'true' });
    }
    if (stored?.state === 'done') {
      if (stored.fingerprint === fingerprint) {
        return reply('replayed', stored.status, stored.body, provider === 'stripe' ? { 'idempotent-replayed': 'true' } : { 'idempotency-key': key ?? '' });
      }
      return provider === 'stripe'
        ? reply('idempotency_mismatch', options.idempotencyMismatchStatus ?? 409, errorBody(409, 'idempotency_error', `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`))
        : reply('idempotency_mismatch', 422, errorBody(422, 'validation', 'stub: idempotency key already used with a different request'));
    }

    const checked = validate(record, adyenPath?.[1] !== undefined ? decodeURIComponent(adyenPath[1]) : null);
    if (typeof checked === 'string') {
      const status = provider === 'stripe' ? 400 : 422;
      const extra: Record<string, string> = checked.startsWith('No such') ? { code: 'resource_missing', param: 'payment_intent' } : {};
      return reply('invalid', status, errorBody(status, provider === 'stripe' ? 'invalid_request_error' : 'validation', checked, extra));
    }

    if (pending?.kind === 'delay' && pending.phase === 'before') {
      // Slow before it acts: the key is taken, the refund not made yet.
      if (key !== null) keys.set(key, { state: 'in_progress', fingerprint });
      await wait(pending.ms);
      pending = undefined;
    }
    const made = makeRefund(record, checked);
    record.outcome = 'created';
    if (key !== null) keys.set(key, { state: 'done', fingerprint, ...made });
    return reply('created', made.status, made.body, provider === 'adyen' && key !== null ? { 'idempotency-key': key } : {});
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
    provider,
    requests,
    refunds,
    get refundsCreated() {
      return refunds.length;
    },
    clearFaults() {
      faults.length = 0;
    },
    unavailableFor(...paymentIds) {
      unavailable = new Set(paymentIds);
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
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((closed, failed) => server.close((error) => (error ? failed(error) : closed())));
    },
  };
}

function parseBody(raw: string, contentType: string | null): Record<string, unknown> {
  if (contentType?.startsWith('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(raw));
  try {
    const parsed = JSON.parse(raw) as unknown;
    return typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** A JSON value with its object keys sorted, so the same parameters in another order compare equal. */
function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, sorted(v)]));
  }
  return value;
}
