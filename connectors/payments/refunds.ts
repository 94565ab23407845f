import { HubError } from '../../core/errors.ts';
import { parseJson, retryAfterMs, sendWithRetries, type AttemptOutcome, type HttpClientOptions } from '../http.ts';
import { isObject } from '../reader.ts';

/**
 * Refunds through a payment provider's API, made safe to repeat.
 *
 * Every refund carries the hub's idempotency key in the provider's `Idempotency-Key`
 * header, and every retry (after a timeout, a dropped connection, a 5xx, a 429, or a whole
 * redelivered message) sends the same key with the same parameters: the provider answers a
 * repeat with the refund it already made instead of making a second one. A client never
 * throws for anything the provider or the network does; it answers a {@link RefundResult}
 * that says whether sending the same request again can still succeed.
 *
 * Stripe: `POST /v1/refunds` (https://docs.stripe.com/api/refunds/create), idempotency as in
 * https://docs.stripe.com/api/idempotent_requests and https://docs.stripe.com/error-low-level.
 * Adyen: Checkout API v71 `POST /payments/{paymentPspReference}/refunds`, idempotency as in
 * https://docs.adyen.com/development-resources/api-idempotency.
 */

/** One refund the hub wants made. `idempotencyKey` names this refund for good: one key, one refund. */
export interface RefundRequest {
  provider: string;
  /** the provider's payment: a Stripe PaymentIntent id (`pi_…`), an Adyen payment pspReference */
  paymentId: string;
  /** minor units of `currency`, > 0 */
  amount: number;
  currency: string;
  /** ≤ 255 characters for Stripe, ≤ 64 for Adyen; the same for every retry of this refund */
  idempotencyKey: string;
  /** the hub's reason, kept with the refund where the provider allows (Stripe metadata) */
  reason: string;
}

/** Why a refund failed, for the caller's logs and metrics (the message says it in words). */
export type RefundFailureCode =
  | 'invalid_request'
  | 'idempotency_conflict'
  | 'unauthorized'
  | 'refund_failed'
  | 'indeterminate'
  | 'retries_exhausted';

export type RefundResult =
  | { ok: true; refundId: string; status: 'succeeded' | 'pending' }
  | {
      ok: false;
      /** true: sending the same request with the same key later can still succeed */
      retryable: boolean;
      message: string;
      code?: RefundFailureCode;
      /** how long the provider asked to wait, when it asked (a 429's `Retry-After`) */
      retryAfterMs?: number;
    };

export interface RefundClient {
  /** the longest idempotency key the provider takes */
  readonly maxKeyLength: number;
  /**
   * How long the provider remembers a key: past it, the same key is a new request, and a
   * refund whose answer was lost would be made again. Stripe prunes keys after 24 hours
   * (docs.stripe.com/api/idempotent_requests); Adyen keeps them at least 7 days
   * (docs.adyen.com/development-resources/api-idempotency).
   */
  readonly keyRetentionMs: number;
  refund(request: RefundRequest): Promise<RefundResult>;
}

/** How a client talks to its provider; timeout 15 s unless set. */
export interface RefundClientOptions extends HttpClientOptions {
  apiKey: string;
}

export interface AdyenRefundClientOptions extends RefundClientOptions {
  merchantAccount: string;
}

/** Stripe's limit on one metadata value. */
const STRIPE_METADATA_VALUE_MAX = 500;

/**
 * Refunds a Stripe PaymentIntent: `POST {baseUrl}/v1/refunds`, form-encoded
 * `payment_intent`, `amount`, `reason=requested_by_customer` and the hub's reason as
 * `metadata[hub_reason]`, with `Authorization: Bearer` and `Idempotency-Key`.
 *
 * Retried: 429, 5xx, a 409 that is not a parameter mismatch (another request with the same
 * key still running), timeouts and network errors; a `Stripe-Should-Retry` header overrides
 * that either way, as in Stripe's own SDKs. Not retried: an `idempotency_error` (the key was
 * first used with other parameters) and every other 4xx.
 */
export function createStripeRefundClient(options: RefundClientOptions): RefundClient {
  const o = resolve('stripe', options);
  return {
    maxKeyLength: 255,
    keyRetentionMs: 24 * 3_600_000,
    async refund(request) {
      const problem = requestProblem(request, 'stripe', 255);
      if (problem) return problem;
      const form = new URLSearchParams({
        payment_intent: request.paymentId,
        amount: String(request.amount),
        reason: 'requested_by_customer',
      });
      if (request.reason !== '') form.set('metadata[hub_reason]', request.reason.slice(0, STRIPE_METADATA_VALUE_MAX));
      return sendRefund(o, 'Stripe', stripeOutcome(request, o.now), () =>
        o.fetch(`${o.baseUrl}/v1/refunds`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${o.apiKey}`,
            'idempotency-key': request.idempotencyKey,
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: form.toString(),
          signal: AbortSignal.timeout(o.timeoutMs),
        }),
      );
    },
  };
}

/**
 * Refunds a captured Adyen payment: `POST {baseUrl}/v71/payments/{paymentPspReference}/refunds`
 * with `x-api-key`, `Idempotency-Key` and JSON `{ merchantAccount, amount: { value, currency },
 * reference }`, where `reference` is the idempotency key (the refund's own name, ≤ 64
 * characters, within Adyen's 80). Adyen answers 201 `status: "received"`: the outcome comes
 * later in a REFUND webhook, so a success is `pending`, its id the refund's `pspReference`.
 *
 * Retried: 429, 5xx, any answer marked `transient-error: true` (Adyen's 409 for a request with
 * the same key still in progress, https://docs.adyen.com/development-resources/response-handling),
 * timeouts and network errors. Not retried: every other 4xx.
 */
export function createAdyenRefundClient(options: AdyenRefundClientOptions): RefundClient {
  const o = resolve('adyen', options);
  if (options.merchantAccount.trim() === '') {
    throw new HubError('refund_client_invalid', 'adyen refund client: merchantAccount is empty', { status: 500 });
  }
  return {
    maxKeyLength: 64,
    keyRetentionMs: 7 * 24 * 3_600_000,
    async refund(request) {
      const problem = requestProblem(request, 'adyen', 64);
      if (problem) return problem;
      const body = {
        merchantAccount: options.merchantAccount,
        amount: { value: request.amount, currency: request.currency.toUpperCase() },
        reference: request.idempotencyKey,
      };
      return sendRefund(o, 'Adyen', adyenOutcome(request, o.now), () =>
        o.fetch(`${o.baseUrl}/v71/payments/${encodeURIComponent(request.paymentId)}/refunds`, {
          method: 'POST',
          headers: {
            'x-api-key': o.apiKey,
            'idempotency-key': request.idempotencyKey,
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(o.timeoutMs),
        }),
      );
    },
  };
}

// --- the retry loop ---------------------------------------------------------------------------

type ResolvedOptions = Required<Omit<RefundClientOptions, 'baseUrl'>> & { baseUrl: string };

function resolve(provider: string, options: RefundClientOptions): ResolvedOptions {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw new HubError('refund_client_invalid', `${provider} refund client: baseUrl is not a URL`, { status: 500, cause: error });
  }
  if (options.apiKey.trim() === '') {
    throw new HubError('refund_client_invalid', `${provider} refund client: apiKey is empty`, { status: 500 });
  }
  return {
    baseUrl: base.href.replace(/\/+$/, ''),
    apiKey: options.apiKey,
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 15_000,
    retries: options.retries ?? 3,
    backoffMs: options.backoffMs ?? 500,
    maxWaitMs: options.maxWaitMs ?? 30_000,
    sleep: options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
    now: options.now ?? (() => new Date()),
  };
}

type Outcome = AttemptOutcome<RefundResult>;

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/**
 * {@link sendWithRetries} for a provider's answers. A transient failure at the end is
 * `retryable: true`: the same key later is still safe and still the same refund.
 */
function sendRefund(o: ResolvedOptions, provider: string, interpret: (answer: Answer) => Outcome, send: () => Promise<Response>): Promise<RefundResult> {
  return sendWithRetries(
    o,
    provider,
    send,
    (response, text) => interpret({ status: response.status, headers: response.headers, body: parseJson(text), text }),
    (last, why) => failure(true, 'retries_exhausted', why.waitTooLong === undefined
      ? `${last.message} (gave up after ${why.attempts} attempt(s); retry later with the same idempotency key)`
      : `${last.message}; ${provider} asks to wait ${why.waitTooLong} ms, more than ${o.maxWaitMs} ms (retry later with the same idempotency key)`, last.retryAfterMs),
  );
}

// --- Stripe answers ---------------------------------------------------------------------------

function stripeOutcome(request: RefundRequest, now: () => Date): (answer: Answer) => Outcome {
  return ({ status, headers, body, text }) => {
    if (status >= 200 && status < 300) {
      const refund = isObject(body) ? body : {};
      const id = refund.id;
      if (typeof id !== 'string' || id === '') {
        // The refund was probably made; the same key replays the answer, so asking again is safe.
        return { kind: 'transient', message: `Stripe answered ${status} without a refund id: ${text.slice(0, 200)}` };
      }
      switch (refund.status) {
        case 'succeeded':
          return { kind: 'final', result: { ok: true, refundId: id, status: 'succeeded' } };
        case 'failed':
        case 'canceled': {
          const why = typeof refund.failure_reason === 'string' ? ` (${refund.failure_reason})` : '';
          return final(false, 'refund_failed', `Stripe refund ${id} for ${request.paymentId} is ${refund.status}${why}; the same key only replays it, a new attempt needs a new key`);
        }
        default:
          // pending, requires_action, or a status this code does not know yet: the refund
          // exists and its end comes by webhook (charge.refund.updated).
          return { kind: 'final', result: { ok: true, refundId: id, status: 'pending' } };
      }
    }

    const error = isObject(body) && isObject(body.error) ? body.error : {};
    const type = typeof error.type === 'string' ? error.type : null;
    const detail = `${status}${type ? ` ${type}` : ''}${typeof error.code === 'string' ? `/${error.code}` : ''}: ${typeof error.message === 'string' ? error.message : text.slice(0, 200)}`;
    const retryAfter = retryAfterMs(headers.get('retry-after'), now());

    // Stripe's own hint wins (as in its SDKs): it knows whether the same request can still succeed.
    const shouldRetry = headers.get('stripe-should-retry');
    const message = typeof error.message === 'string' ? error.message : '';
    if (type === 'idempotency_error' && shouldRetry !== 'true' && !/in[- ]progress/i.test(message)) {
      return final(false, 'idempotency_conflict', `Stripe refused idempotency key "${request.idempotencyKey}": it was first used with other parameters (another payment, amount or reason), so this is not a repeat of that refund and Stripe will refuse it every time. A different refund needs its own key; otherwise the hub sent two different refunds under one key (Stripe ${detail})`);
    }
    if (shouldRetry === 'true') return { kind: 'transient', message: `Stripe answered ${detail}`, ...(retryAfter === null ? {} : { retryAfterMs: retryAfter }) };
    if (shouldRetry === 'false') {
      if (status >= 500) {
        return final(false, 'indeterminate', `Stripe answered ${detail} and says repeating it will not help (it replays the stored failure for this key); whether the refund exists is unknown — check the payment in Stripe before refunding with a new key`);
      }
      return final(false, status === 401 || status === 403 ? 'unauthorized' : 'invalid_request', `Stripe refused the refund: ${detail}`);
    }
    if (status === 429) return { kind: 'transient', message: `Stripe is rate limiting (${detail})`, ...(retryAfter === null ? {} : { retryAfterMs: retryAfter }) };
    if (status >= 500) return { kind: 'transient', message: `Stripe answered ${detail}` };
    // A 409 that is not a parameter mismatch: another request with this key is still running.
    if (status === 409) return { kind: 'transient', message: `Stripe answered ${detail} (another request with the same key is still running)` };
    if (status === 401 || status === 403) return final(false, 'unauthorized', `Stripe refused the API key: ${detail}`);
    return final(false, 'invalid_request', `Stripe refused the refund: ${detail}`);
  };
}

// --- Adyen answers ----------------------------------------------------------------------------

function adyenOutcome(request: RefundRequest, now: () => Date): (answer: Answer) => Outcome {
  return ({ status, headers, body, text }) => {
    if (status >= 200 && status < 300) {
      const psp = isObject(body) ? body.pspReference : undefined;
      if (typeof psp !== 'string' || psp === '') {
        return { kind: 'transient', message: `Adyen answered ${status} without a pspReference: ${text.slice(0, 200)}` };
      }
      // "received" is all Adyen says now; the REFUND webhook says whether it went through.
      return { kind: 'final', result: { ok: true, refundId: psp, status: 'pending' } };
    }
    const error = isObject(body) ? body : {};
    const code = typeof error.errorCode === 'string' ? ` ${error.errorCode}` : '';
    const detail = `${status}${code}: ${typeof error.message === 'string' ? error.message : text.slice(0, 200)}`;
    if (status === 429) {
      const retryAfter = retryAfterMs(headers.get('retry-after'), now());
      return { kind: 'transient', message: `Adyen is rate limiting (${detail})`, ...(retryAfter === null ? {} : { retryAfterMs: retryAfter }) };
    }
    // Adyen marks the errors worth repeating (a 409 for a request with this key still in progress, among others).
    if (headers.get('transient-error') === 'true') return { kind: 'transient', message: `Adyen answered ${detail} (transient)` };
    if (status >= 500) return { kind: 'transient', message: `Adyen answered ${detail}` };
    if (status === 401 || status === 403) return final(false, 'unauthorized', `Adyen refused the API key: ${detail}`);
    return final(false, 'invalid_request', `Adyen refused the refund of ${request.paymentId} (key "${request.idempotencyKey}"): ${detail}`);
  };
}

// --- small pieces -----------------------------------------------------------------------------

/** The request as the provider will accept it, or why not (refused before anything is sent). */
function requestProblem(request: RefundRequest, provider: string, maxKeyLength: number): RefundResult | null {
  const problems: string[] = [];
  if (request.provider !== provider) problems.push(`provider is "${request.provider}", this client refunds through ${provider}`);
  if (request.paymentId.trim() === '') problems.push('paymentId is empty');
  if (!Number.isSafeInteger(request.amount) || request.amount <= 0) problems.push(`amount ${request.amount} is not a positive whole number of minor units`);
  if (!/^[A-Za-z]{3}$/.test(request.currency)) problems.push(`currency "${request.currency}" is not an ISO 4217 code`);
  if (request.idempotencyKey.trim() === '') problems.push('idempotencyKey is empty');
  if (request.idempotencyKey.length > maxKeyLength) problems.push(`idempotencyKey is longer than ${provider}'s ${maxKeyLength} characters`);
  if (problems.length === 0) return null;
  return failure(false, 'invalid_request', `refund not sent: ${problems.join('; ')}`);
}

function final(retryable: boolean, code: RefundFailureCode, message: string): Outcome {
  return { kind: 'final', result: failure(retryable, code, message) };
}

function failure(retryable: boolean, code: RefundFailureCode, message: string, retryAfterMs?: number): RefundResult {
  return retryAfterMs === undefined ? { ok: false, retryable, code, message } : { ok: false, retryable, code, message, retryAfterMs };
}
