// Refunds through Stripe and Adyen against a loopback imitation of each provider's refunds
// endpoint, with its idempotency: the assertions are on refunds actually made, so a retry
// that refunded twice fails here however the client reported it.
import { afterEach, describe, expect, it } from 'vitest';
import {
  createAdyenRefundClient,
  createStripeRefundClient,
  type RefundClientOptions,
  type RefundRequest,
  type RefundResult,
} from '../connectors/payments/refunds.ts';
import {
  ADYEN_STUB_KEY,
  ADYEN_STUB_MERCHANT,
  startProviderStub,
  STRIPE_STUB_KEY,
  type ProviderStub,
  type ProviderStubOptions,
} from './support/provider-stub.ts';

const PAYMENT_INTENT = 'pi_3MtwBwLkdIwHu7ix28a3tqPa';
const PSP_REFERENCE = '993617895204576J';

let stub: ProviderStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

async function stripeStub(options: Partial<ProviderStubOptions> = {}): Promise<ProviderStub> {
  stub = await startProviderStub({ provider: 'stripe', payments: { [PAYMENT_INTENT]: { amount: 5_000, currency: 'eur' } }, ...options });
  return stub;
}

async function adyenStub(): Promise<ProviderStub> {
  stub = await startProviderStub({ provider: 'adyen', payments: { [PSP_REFERENCE]: { amount: 5_000, currency: 'EUR' } } });
  return stub;
}

/** The waits a client asked for, taken at once so the tests do not sleep through backoffs. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

function stripeClient(at: ProviderStub, options: Partial<RefundClientOptions> = {}) {
  return createStripeRefundClient({ baseUrl: at.url, apiKey: STRIPE_STUB_KEY, timeoutMs: 2_000, backoffMs: 10, ...options });
}

function adyenClient(at: ProviderStub, options: Partial<RefundClientOptions> = {}) {
  return createAdyenRefundClient({ baseUrl: at.url, apiKey: ADYEN_STUB_KEY, merchantAccount: ADYEN_STUB_MERCHANT, timeoutMs: 2_000, backoffMs: 10, ...options });
}

function stripeRefund(overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    provider: 'stripe', paymentId: PAYMENT_INTENT, amount: 1_500, currency: 'EUR',
    idempotencyKey: 'refund-ord-1001-return-1', reason: 'return: 1 × blue mug, damaged', ...overrides,
  };
}

function adyenRefund(overrides: Partial<RefundRequest> = {}): RefundRequest {
  return {
    provider: 'adyen', paymentId: PSP_REFERENCE, amount: 2_500, currency: 'EUR',
    idempotencyKey: 'refund-ord-2002-cancel', reason: 'order cancelled after payment', ...overrides,
  };
}

function failed(result: RefundResult): RefundResult & { ok: false } {
  if (result.ok) throw new Error(`expected a failure, got refund ${result.refundId}`);
  return result;
}

describe('Stripe refunds', () => {
  it('makes the refund and sends the key and the form as Stripe documents them', async () => {
    const at = await stripeStub();
    const result = await stripeClient(at).refund(stripeRefund());

    expect(result).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'succeeded' });
    expect(at.refundsCreated).toBe(1);
    expect(at.requests).toHaveLength(1);
    const [sent] = at.requests;
    expect(sent).toMatchObject({
      method: 'POST', path: '/v1/refunds', authorization: `Bearer ${STRIPE_STUB_KEY}`,
      idempotencyKey: 'refund-ord-1001-return-1', contentType: 'application/x-www-form-urlencoded',
    });
    expect(sent?.params).toEqual({
      payment_intent: PAYMENT_INTENT, amount: '1500', reason: 'requested_by_customer',
      'metadata[hub_reason]': 'return: 1 × blue mug, damaged',
    });
    expect(at.refunds[0]).toMatchObject({ paymentId: PAYMENT_INTENT, amount: 1_500, currency: 'eur' });
  });

  it('after two 500s succeeds on the third try, with the same key and body each time, and refunds once', async () => {
    const at = await stripeStub();
    at.failNext(2, 500);
    const { sleep, waits } = recordingSleep();
    const result = await stripeClient(at, { sleep, retries: 3, backoffMs: 100 }).refund(stripeRefund());

    expect(result).toMatchObject({ ok: true, status: 'succeeded' });
    expect(at.requests.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(new Set(at.requests.map((r) => r.idempotencyKey))).toEqual(new Set(['refund-ord-1001-return-1']));
    expect(new Set(at.requests.map((r) => r.body)).size).toBe(1);
    expect(waits).toEqual([100, 200]);
    expect(at.refundsCreated).toBe(1);
  });

  it('a timeout after Stripe made the refund: the retry gets the stored refund, not a second one', async () => {
    const at = await stripeStub();
    at.delayNext(1_000, 'after');
    const result = await stripeClient(at, { timeoutMs: 150, sleep: recordingSleep().sleep }).refund(stripeRefund());

    expect(result).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'succeeded' });
    expect(at.requests.map((r) => r.outcome)).toEqual(['created', 'replayed']);
    expect(at.requests[0]?.status).toBeNull(); // that answer never reached the client
    expect(at.refundsCreated).toBe(1);
  });

  it('a timeout while Stripe is still working: the retry meets the running request (409), waits, then gets the refund', async () => {
    const at = await stripeStub();
    at.delayNext(400, 'before');
    // Real waits here: the stub finishes the first request in its own time.
    const result = await stripeClient(at, { timeoutMs: 100, backoffMs: 150, retries: 4 }).refund(stripeRefund());

    expect(result).toMatchObject({ ok: true, status: 'succeeded' });
    const outcomes = at.requests.map((r) => r.outcome);
    expect(outcomes[0]).toBe('created');
    expect(outcomes).toContain('in_progress');
    expect(outcomes.at(-1)).toBe('replayed');
    expect(at.refundsCreated).toBe(1);
  });

  it('a connection dropped after the refund was made: the retry gets that refund', async () => {
    const at = await stripeStub();
    at.dropNext('after');
    const result = await stripeClient(at, { sleep: recordingSleep().sleep }).refund(stripeRefund());

    expect(result).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'succeeded' });
    expect(at.requests.map((r) => r.outcome)).toEqual(['dropped', 'replayed']);
    expect(at.refundsCreated).toBe(1);
  });

  it('the same refund asked twice (a redelivered message, a restarted hub) is one refund with one id', async () => {
    const at = await stripeStub();
    const first = await stripeClient(at).refund(stripeRefund());
    const again = await stripeClient(at).refund(stripeRefund()); // a fresh client, as after a restart

    expect(first.ok && again.ok).toBe(true);
    expect(again).toEqual(first);
    expect(at.requests.map((r) => r.outcome)).toEqual(['created', 'replayed']);
    expect(at.refundsCreated).toBe(1);
  });

  it('the same key with another amount is refused, not retried, and says why', async () => {
    const at = await stripeStub();
    await stripeClient(at).refund(stripeRefund());
    const result = failed(await stripeClient(at).refund(stripeRefund({ amount: 2_000 })));

    expect(result).toMatchObject({ retryable: false, code: 'idempotency_conflict' });
    expect(result.message).toMatch(/refund-ord-1001-return-1.*other parameters/);
    expect(at.requests.map((r) => r.outcome)).toEqual(['created', 'idempotency_mismatch']);
    expect(at.refundsCreated).toBe(1);
  });

  it('reads an idempotency_error the same way when Stripe answers it with a 400', async () => {
    const at = await stripeStub({ idempotencyMismatchStatus: 400 });
    await stripeClient(at).refund(stripeRefund());
    const result = failed(await stripeClient(at).refund(stripeRefund({ reason: 'another reason' })));

    expect(result).toMatchObject({ retryable: false, code: 'idempotency_conflict' });
    expect(at.requests).toHaveLength(2);
  });

  it('an invalid request (no such PaymentIntent) is not retryable and is sent once', async () => {
    const at = await stripeStub();
    const result = failed(await stripeClient(at).refund(stripeRefund({ paymentId: 'pi_unknown' })));

    expect(result).toMatchObject({ retryable: false, code: 'invalid_request' });
    expect(result.message).toContain("No such payment_intent: 'pi_unknown'");
    expect(at.requests).toHaveLength(1);
    expect(at.refundsCreated).toBe(0);
  });

  it('more than the payment has left to refund is not retryable', async () => {
    const at = await stripeStub();
    const result = failed(await stripeClient(at).refund(stripeRefund({ amount: 9_000 })));

    expect(result).toMatchObject({ retryable: false, code: 'invalid_request' });
    expect(at.refundsCreated).toBe(0);
  });

  it('a wrong API key is not retryable', async () => {
    const at = await stripeStub();
    const result = failed(await stripeClient(at, { apiKey: 'sk_test_wrong' }).refund(stripeRefund()));

    expect(result).toMatchObject({ retryable: false, code: 'unauthorized' });
    expect(at.requests).toHaveLength(1);
  });

  it('when the retries run out the failure is retryable, and nothing was refunded', async () => {
    const at = await stripeStub();
    at.failNext(10, 503);
    const { sleep, waits } = recordingSleep();
    const result = failed(await stripeClient(at, { sleep, retries: 2, backoffMs: 100 }).refund(stripeRefund()));

    expect(result).toMatchObject({ retryable: true, code: 'retries_exhausted' });
    expect(result.message).toMatch(/503.*3 attempt/);
    expect(at.requests).toHaveLength(3);
    expect(waits).toEqual([100, 200]);
    expect(at.refundsCreated).toBe(0);
  });

  it('every answer too late: retryable, and the redelivered message later gets the refund already made', async () => {
    const at = await stripeStub();
    for (let i = 0; i < 3; i++) at.delayNext(1_000, 'after');
    const result = failed(await stripeClient(at, { timeoutMs: 100, retries: 2, sleep: recordingSleep().sleep }).refund(stripeRefund()));

    expect(result).toMatchObject({ retryable: true, code: 'retries_exhausted' });
    expect(result.message).toMatch(/timed out.*3 attempt/);
    expect(at.refundsCreated).toBe(1); // made on the first attempt; the client could not know

    const redelivered = await stripeClient(at).refund(stripeRefund());
    expect(redelivered).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'succeeded' });
    expect(at.refundsCreated).toBe(1);
  });

  it('waits out a 429 as long as Retry-After says, then refunds once', async () => {
    const at = await stripeStub();
    at.throttleNext('2');
    const { sleep, waits } = recordingSleep();
    const result = await stripeClient(at, { sleep }).refund(stripeRefund());

    expect(result).toMatchObject({ ok: true });
    expect(waits).toEqual([2_000]);
    expect(at.requests.map((r) => r.status)).toEqual([429, 200]);
    expect(at.refundsCreated).toBe(1);
  });

  it('does not hold the caller for a Retry-After longer than maxWaitMs: retryable, with the wait asked for', async () => {
    const at = await stripeStub();
    at.throttleNext('120');
    const { sleep, waits } = recordingSleep();
    const result = failed(await stripeClient(at, { sleep, maxWaitMs: 10_000 }).refund(stripeRefund()));

    expect(result).toMatchObject({ retryable: true, retryAfterMs: 120_000 });
    expect(waits).toEqual([]);
    expect(at.requests).toHaveLength(1);
  });

  it('reports a pending refund as pending', async () => {
    const at = await stripeStub({ refundStatus: 'pending' });
    expect(await stripeClient(at).refund(stripeRefund())).toMatchObject({ ok: true, status: 'pending' });
  });

  it('a refund Stripe made but failed is a failure the same key cannot fix', async () => {
    const at = await stripeStub({ refundStatus: 'failed' });
    const result = failed(await stripeClient(at).refund(stripeRefund()));
    expect(result).toMatchObject({ retryable: false, code: 'refund_failed' });
  });

  it('refuses a request it cannot send before sending anything', async () => {
    const at = await stripeStub();
    const client = stripeClient(at);
    for (const bad of [{ amount: 0 }, { amount: 12.5 }, { idempotencyKey: '' }, { idempotencyKey: 'k'.repeat(256) }, { provider: 'adyen' }, { currency: 'euro' }]) {
      expect(failed(await client.refund(stripeRefund(bad)))).toMatchObject({ retryable: false, code: 'invalid_request' });
    }
    expect(at.requests).toHaveLength(0);
  });
});

describe("Stripe's retry hints", () => {
  /** A fetch that answers from a list, for the answers the stub does not give. */
  function scripted(...answers: { status: number; body: unknown; headers?: Record<string, string> }[]) {
    const calls: RequestInit[] = [];
    const fetch: typeof globalThis.fetch = async (_url, init) => {
      calls.push(init ?? {});
      const next = answers.shift();
      if (!next) throw new Error('no more scripted answers');
      return new Response(JSON.stringify(next.body), { status: next.status, headers: { 'content-type': 'application/json', ...next.headers } });
    };
    return { fetch, calls };
  }
  const refundObject = { id: 're_1NoTQp2eZvKYlo2C', object: 'refund', status: 'succeeded' };

  it('a 500 with Stripe-Should-Retry: false is not retried: the outcome is unknown, so not retryable', async () => {
    const { fetch, calls } = scripted({ status: 500, body: { error: { type: 'api_error', message: 'boom' } }, headers: { 'stripe-should-retry': 'false' } });
    const result = failed(await createStripeRefundClient({ baseUrl: 'http://stripe.invalid', apiKey: 'sk', fetch, sleep: async () => {} }).refund(stripeRefund()));

    expect(result).toMatchObject({ retryable: false, code: 'indeterminate' });
    expect(calls).toHaveLength(1);
  });

  it('a 409 for a request still in progress is retried with the same key', async () => {
    const { fetch, calls } = scripted(
      { status: 409, body: { error: { type: 'invalid_request_error', message: 'There is currently another in-progress request using this Idempotent Key' } } },
      { status: 200, body: refundObject },
    );
    const result = await createStripeRefundClient({ baseUrl: 'http://stripe.invalid', apiKey: 'sk', fetch, sleep: async () => {} }).refund(stripeRefund());

    expect(result).toEqual({ ok: true, refundId: refundObject.id, status: 'succeeded' });
    expect(calls.map((init) => new Headers(init.headers).get('idempotency-key'))).toEqual(['refund-ord-1001-return-1', 'refund-ord-1001-return-1']);
  });

  it('a 400 with Stripe-Should-Retry: true is retried', async () => {
    const { fetch, calls } = scripted(
      { status: 400, body: { error: { type: 'invalid_request_error', message: 'lock timeout' } }, headers: { 'stripe-should-retry': 'true' } },
      { status: 200, body: refundObject },
    );
    const result = await createStripeRefundClient({ baseUrl: 'http://stripe.invalid', apiKey: 'sk', fetch, sleep: async () => {} }).refund(stripeRefund());

    expect(result).toMatchObject({ ok: true });
    expect(calls).toHaveLength(2);
  });
});

describe('Adyen refunds', () => {
  it('makes the refund, pending until the REFUND webhook, and sends the key and the JSON as Adyen documents them', async () => {
    const at = await adyenStub();
    const result = await adyenClient(at).refund(adyenRefund());

    expect(result).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'pending' });
    expect(at.refundsCreated).toBe(1);
    const [sent] = at.requests;
    expect(sent).toMatchObject({
      method: 'POST', path: `/v71/payments/${PSP_REFERENCE}/refunds`, apiKey: ADYEN_STUB_KEY,
      idempotencyKey: 'refund-ord-2002-cancel', contentType: 'application/json', status: 201,
    });
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      merchantAccount: ADYEN_STUB_MERCHANT, amount: { value: 2_500, currency: 'EUR' }, reference: 'refund-ord-2002-cancel',
    });
  });

  it('retries after a dropped connection and a 503 with the same key: one refund, one pspReference', async () => {
    const at = await adyenStub();
    at.dropNext('after');
    at.failNext(1, 503);
    const result = await adyenClient(at, { sleep: recordingSleep().sleep }).refund(adyenRefund());

    expect(result).toEqual({ ok: true, refundId: at.refunds[0]?.id, status: 'pending' });
    expect(at.requests.map((r) => r.outcome)).toEqual(['dropped', 'fault', 'replayed']);
    expect(new Set(at.requests.map((r) => r.idempotencyKey)).size).toBe(1);
    expect(at.refundsCreated).toBe(1);
  });

  it('a key still in progress (409, transient-error: true) is retried until the refund is there', async () => {
    const at = await adyenStub();
    at.delayNext(400, 'before');
    const result = await adyenClient(at, { timeoutMs: 100, backoffMs: 150, retries: 4 }).refund(adyenRefund());

    expect(result).toMatchObject({ ok: true, status: 'pending' });
    expect(at.requests.map((r) => r.outcome)).toContain('in_progress');
    expect(at.refundsCreated).toBe(1);
  });

  it('the same refund asked twice is one refund', async () => {
    const at = await adyenStub();
    const first = await adyenClient(at).refund(adyenRefund());
    const again = await adyenClient(at).refund(adyenRefund());

    expect(again).toEqual(first);
    expect(at.refundsCreated).toBe(1);
  });

  it('the same key with another amount is refused and not retried', async () => {
    const at = await adyenStub();
    await adyenClient(at).refund(adyenRefund());
    const result = failed(await adyenClient(at).refund(adyenRefund({ amount: 100 })));

    expect(result).toMatchObject({ retryable: false, code: 'invalid_request' });
    expect(at.requests).toHaveLength(2);
    expect(at.refundsCreated).toBe(1);
  });

  it('refuses a key longer than the 64 characters Adyen takes, before sending', async () => {
    const at = await adyenStub();
    const result = failed(await adyenClient(at).refund(adyenRefund({ idempotencyKey: 'k'.repeat(65) })));

    expect(result).toMatchObject({ retryable: false, code: 'invalid_request' });
    expect(at.requests).toHaveLength(0);
  });

  it('when the retries run out the failure is retryable', async () => {
    const at = await adyenStub();
    at.failNext(5, 500);
    const result = failed(await adyenClient(at, { retries: 1, sleep: recordingSleep().sleep }).refund(adyenRefund()));

    expect(result).toMatchObject({ retryable: true, code: 'retries_exhausted' });
    expect(at.requests).toHaveLength(2);
    expect(at.refundsCreated).toBe(0);
  });
});
