// Pushing fulfilment work to a warehouse over real HTTP, against a loopback WMS with
// idempotency: the assertions are on events the warehouse actually took ("effective"), so a
// retry that delivered twice fails here however the client reported it.
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { cloudEvent, type CloudEvent } from '../core/messaging/cloudevent.ts';
import { createWarehousePushClient, type PushResult, type WarehousePushOptions } from '../connectors/warehouses/http-push.ts';
import { startWmsStub, WMS_STUB_KEY, type WmsStub, type WmsStubOptions } from './support/wms-stub.ts';

const START = new Date('2025-03-14T09:30:00.000Z');

let stub: WmsStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

async function wms(options: WmsStubOptions = {}): Promise<WmsStub> {
  stub = await startWmsStub(options);
  return stub;
}

/** The waits a client asked for, each taken in real time up to `capMs` (default: at once). */
function recordingSleep(capMs = 0): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: (ms) => {
      waits.push(ms);
      return new Promise((done) => setTimeout(done, Math.min(ms, capMs)));
    },
  };
}

/** A clock the test moves by hand. */
function manualClock(start = START): { now: () => Date; advance: (ms: number) => void } {
  let at = start.getTime();
  return { now: () => new Date(at), advance: (ms) => void (at += ms) };
}

function client(at: WmsStub, options: Partial<WarehousePushOptions> = {}) {
  return createWarehousePushClient('us-east', { baseUrl: at.url, apiKey: WMS_STUB_KEY, timeoutMs: 2_000, backoffMs: 10, sleep: recordingSleep().sleep, ...options });
}

let sequence = 0;
function fulfilmentRequested(overrides: Partial<CloudEvent<unknown>> = {}): CloudEvent<unknown> {
  sequence++;
  return {
    ...cloudEvent({
      id: `evt-fulfil-${sequence}`, source: 'order-hub/release', type: 'fulfillment.requested', subject: `ord_${1000 + sequence}`, time: START,
      data: { orderId: `ord_${1000 + sequence}`, warehouse: 'us-east', lines: [{ sku: 'MUG-BLUE', quantity: 2 }] },
    }),
    ...overrides,
  };
}

function failed(result: PushResult): PushResult & { ok: false } {
  if (result.ok) throw new Error(`expected a failure, got ${result.status}`);
  return result;
}

describe('pushing an event', () => {
  it('POSTs the CloudEvent in structured mode with its id as the key and the bearer key', async () => {
    const at = await wms();
    const event = fulfilmentRequested();
    const result = await client(at).push(event);

    expect(result).toEqual({ ok: true, status: 202, duplicate: false });
    expect(at.effective).toBe(1);
    expect(at.requests).toHaveLength(1);
    const [sent] = at.requests;
    expect(sent).toMatchObject({
      method: 'POST', path: '/fulfillment-requests', idempotencyKey: event.id, authorization: `Bearer ${WMS_STUB_KEY}`, outcome: 'accepted',
    });
    expect(sent?.contentType).toMatch(/^application\/cloudevents\+json\b/);
    expect(sent?.event).toEqual(event);
  });

  it('routes a cancellation to /fulfillment-cancellations', async () => {
    const at = await wms();
    const event = fulfilmentRequested({ type: 'fulfillment.cancel_requested', data: { orderId: 'ord_1', warehouse: 'us-east', reason: 'customer' } });
    expect(await client(at).push(event)).toEqual({ ok: true, status: 202, duplicate: false });
    expect(at.requests.map((r) => r.path)).toEqual(['/fulfillment-cancellations']);
    expect(at.accepted[0]?.event.type).toBe('fulfillment.cancel_requested');
  });

  it('sends no Authorization header to a WMS without a key', async () => {
    const at = await wms({ apiKey: null });
    expect((await client(at, { apiKey: undefined }).push(fulfilmentRequested())).ok).toBe(true);
    expect(at.requests[0]?.authorization).toBeNull();
  });

  it('does not send an event type the warehouses do not take, nor one without an id', async () => {
    const at = await wms();
    const push = client(at);
    expect(failed(await push.push(fulfilmentRequested({ type: 'order.created' })))).toMatchObject({ retryable: false, message: expect.stringContaining('order.created') });
    expect(failed(await push.push(fulfilmentRequested({ type: 'toString' }))).retryable).toBe(false);
    expect(failed(await push.push(fulfilmentRequested({ id: ' ' }))).retryable).toBe(false);
    expect(at.requests).toHaveLength(0);
  });

  it('refuses a configuration that cannot work when it is built', () => {
    const base = { baseUrl: 'http://127.0.0.1:1' };
    expect(() => createWarehousePushClient('us-east', { baseUrl: 'not a url' })).toThrow(/baseUrl/);
    expect(() => createWarehousePushClient('us-east', { baseUrl: 'ftp://wms.example.com' })).toThrow(/http/);
    expect(() => createWarehousePushClient('us-east', { ...base, apiKey: ' ' })).toThrow(/apiKey/);
    expect(() => createWarehousePushClient('', base)).toThrow(/code/);
    expect(() => createWarehousePushClient('us-east', { ...base, retries: -1 })).toThrow(/retries/);
    expect(() => createWarehousePushClient('us-east', { ...base, breaker: { failureThreshold: 0 } })).toThrow(/failureThreshold/);
  });
});

describe('repeats', () => {
  it('retries two 5xx with the same key and doubling backoff: three calls, one effective', async () => {
    const at = await wms();
    at.failNext(1, 500);
    at.failNext(1, 503);
    const { sleep, waits } = recordingSleep();
    const event = fulfilmentRequested();
    const result = await client(at, { sleep }).push(event);

    expect(result).toEqual({ ok: true, status: 202, duplicate: false });
    expect(at.requests.map((r) => r.status)).toEqual([500, 503, 202]);
    expect(new Set(at.requests.map((r) => r.idempotencyKey))).toEqual(new Set([event.id]));
    expect(new Set(at.requests.map((r) => r.body)).size).toBe(1);
    expect(at.effective).toBe(1);
    expect(waits).toEqual([10, 20]);
  });

  it('retries after a timeout whose request did reach the WMS: one effective, reported as a duplicate', async () => {
    const at = await wms();
    at.delayNext(1_000, 'after');
    const event = fulfilmentRequested();
    const result = await client(at, { timeoutMs: 200 }).push(event);

    expect(result).toEqual({ ok: true, status: 200, duplicate: true });
    expect(at.requests.map((r) => [r.idempotencyKey, r.outcome])).toEqual([[event.id, 'accepted'], [event.id, 'replayed']]);
    expect(at.requests[0]?.status).toBeNull(); // the first answer never reached the client
    expect(at.effective).toBe(1);
  });

  it('waits out a key still in progress (409 with Retry-After) instead of taking it as delivered', async () => {
    const at = await wms();
    at.delayNext(300, 'before'); // the key is locked, the event not stored yet
    const { sleep, waits } = recordingSleep(400);
    const result = await client(at, { timeoutMs: 100, sleep }).push(fulfilmentRequested());

    expect(at.requests.map((r) => r.outcome)).toEqual(['accepted', 'in_progress', 'replayed']);
    expect(waits).toEqual([10, 1_000]);
    expect(result).toEqual({ ok: true, status: 200, duplicate: true });
    expect(at.effective).toBe(1);
  });

  it('retries a dropped connection, before or after the WMS stored the event', async () => {
    const at = await wms();
    at.dropNext('before');
    expect(await client(at).push(fulfilmentRequested())).toEqual({ ok: true, status: 202, duplicate: false });
    at.dropNext('after');
    expect(await client(at).push(fulfilmentRequested())).toEqual({ ok: true, status: 200, duplicate: true });
    expect(at.requests.map((r) => r.outcome)).toEqual(['dropped', 'accepted', 'dropped', 'replayed']);
    expect(at.effective).toBe(2);
  });

  it('reads the same event pushed again as a duplicate, not a second request to pick', async () => {
    const at = await wms();
    const push = client(at);
    const event = fulfilmentRequested();
    expect(await push.push(event)).toEqual({ ok: true, status: 202, duplicate: false });
    expect(await push.push(event)).toEqual({ ok: true, status: 200, duplicate: true });
    // a redelivery after a restart: another client, same event
    expect(await client(at).push(structuredClone(event))).toEqual({ ok: true, status: 200, duplicate: true });
    expect(at.requests).toHaveLength(3);
    expect(at.effective).toBe(1);
  });

  it('reads a 409 "already received" as a duplicate too', async () => {
    const at = await wms({ duplicateAnswer: 409 });
    const push = client(at);
    const event = fulfilmentRequested();
    await push.push(event);
    expect(await push.push(event)).toEqual({ ok: true, status: 409, duplicate: true });
    expect(at.requests).toHaveLength(2);
    expect(at.effective).toBe(1);
  });

  it('gives up after the retries, retryable, having delivered nothing twice', async () => {
    const at = await wms();
    at.failNext(4, 503);
    const { sleep, waits } = recordingSleep();
    const result = failed(await client(at, { sleep, retries: 3 }).push(fulfilmentRequested()));

    expect(result).toMatchObject({ retryable: true, message: expect.stringContaining('4 attempt(s)') });
    expect(result.circuitOpen).toBeUndefined();
    expect(at.requests).toHaveLength(4);
    expect(waits).toEqual([10, 20, 40]);
    expect(at.effective).toBe(0);
  });

  it('answers retryable when nothing listens', async () => {
    const port = await freePort();
    const push = createWarehousePushClient('us-east', { baseUrl: `http://127.0.0.1:${port}`, retries: 1, backoffMs: 1, sleep: recordingSleep().sleep });
    expect(failed(await push.push(fulfilmentRequested()))).toMatchObject({ retryable: true, message: expect.stringContaining('did not answer') });
  });
});

describe('refusals', () => {
  it('does not retry a 400: the same event would be refused again', async () => {
    const at = await wms();
    const result = failed(await client(at).push(fulfilmentRequested({ data: null })));
    expect(result).toMatchObject({ retryable: false, message: expect.stringContaining('data must be a JSON object') });
    expect(at.requests).toHaveLength(1);
    expect(at.effective).toBe(0);
  });

  it('does not retry a wrong API key', async () => {
    const at = await wms();
    const result = failed(await client(at, { apiKey: 'wrong' }).push(fulfilmentRequested()));
    expect(result).toMatchObject({ retryable: false, message: expect.stringContaining('API key') });
    expect(at.requests).toHaveLength(1);
  });

  it('retries a 408', async () => {
    const at = await wms();
    at.failNext(1, 408);
    expect(await client(at).push(fulfilmentRequested())).toEqual({ ok: true, status: 202, duplicate: false });
    expect(at.requests.map((r) => r.status)).toEqual([408, 202]);
  });
});

describe('rate limiting', () => {
  it('waits the Retry-After seconds when longer than the backoff', async () => {
    const at = await wms();
    at.throttleNext('2');
    const { sleep, waits } = recordingSleep();
    expect(await client(at, { sleep }).push(fulfilmentRequested())).toEqual({ ok: true, status: 202, duplicate: false });
    expect(waits).toEqual([2_000]);
    expect(at.effective).toBe(1);
  });

  it('reads a Retry-After HTTP date against its clock', async () => {
    const at = await wms();
    at.throttleNext(new Date(START.getTime() + 5_000).toUTCString());
    const { sleep, waits } = recordingSleep();
    await client(at, { sleep, now: () => START }).push(fulfilmentRequested());
    expect(waits).toEqual([5_000]);
  });

  it('does not hold the call for a Retry-After longer than maxWaitMs: retryable, with the wait', async () => {
    const at = await wms();
    at.throttleNext('120');
    const { sleep, waits } = recordingSleep();
    const result = failed(await client(at, { sleep, maxWaitMs: 30_000 }).push(fulfilmentRequested()));
    expect(result).toMatchObject({ retryable: true, retryAfterMs: 120_000 });
    expect(waits).toEqual([]);
    expect(at.requests).toHaveLength(1);
  });
});

describe('circuit breaker', () => {
  const openMs = 1_000;

  function breakerClient(at: WmsStub, clock: { now: () => Date }, options: Partial<WarehousePushOptions> = {}) {
    return client(at, { retries: 2, now: clock.now, breaker: { failureThreshold: 2, openMs }, ...options });
  }

  /** Sends `calls` pushes that each fail all three attempts with 503. */
  async function failCalls(at: WmsStub, push: ReturnType<typeof client>, calls: number): Promise<PushResult[]> {
    const results: PushResult[] = [];
    for (let i = 0; i < calls; i++) {
      at.failNext(3, 503);
      results.push(await push.push(fulfilmentRequested()));
    }
    return results;
  }

  it('opens after the threshold of failed calls and then fails fast without a request', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock);

    const [first, second] = await failCalls(at, push, 2);
    expect(failed(first!)).toMatchObject({ retryable: true });
    expect(failed(first!).retryAfterMs).toBeUndefined();
    expect(push.state()).toBe('open');
    // the call that opened it says how long asking again would be pointless
    expect(failed(second!)).toMatchObject({ retryable: true, retryAfterMs: openMs, message: expect.stringContaining('circuit open') });
    expect(at.requests).toHaveLength(6);

    expect(await push.push(fulfilmentRequested())).toEqual({ ok: false, retryable: true, circuitOpen: true, retryAfterMs: openMs, message: expect.stringContaining('circuit open') });
    clock.advance(400);
    expect(failed(await push.push(fulfilmentRequested()))).toMatchObject({ circuitOpen: true, retryAfterMs: 600 });
    expect(at.requests).toHaveLength(6);
    expect(push.state()).toBe('open');
  });

  it('goes half-open after openMs, and one successful trial closes it', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock);
    await failCalls(at, push, 2);

    clock.advance(openMs);
    expect(push.state()).toBe('half_open');
    expect(await push.push(fulfilmentRequested())).toEqual({ ok: true, status: 202, duplicate: false });
    expect(push.state()).toBe('closed');
    expect((await push.push(fulfilmentRequested())).ok).toBe(true);
    expect(at.requests).toHaveLength(8);
    expect(at.effective).toBe(2);
  });

  it('re-opens when the trial fails; the trial is a single attempt', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock);
    await failCalls(at, push, 2);

    clock.advance(openMs);
    // One 503: a trial that retried would succeed on its second attempt.
    at.failNext(1, 503);
    const trial = failed(await push.push(fulfilmentRequested()));
    expect(trial).toMatchObject({ retryable: true, retryAfterMs: openMs });
    expect(at.requests).toHaveLength(7);
    expect(push.state()).toBe('open');

    clock.advance(openMs - 1);
    expect(failed(await push.push(fulfilmentRequested()))).toMatchObject({ circuitOpen: true, retryAfterMs: 1 });
    expect(at.requests).toHaveLength(7);
    clock.advance(1);
    expect(push.state()).toBe('half_open');
    expect((await push.push(fulfilmentRequested())).ok).toBe(true);
    expect(push.state()).toBe('closed');
    expect(at.effective).toBe(1);
  });

  it('lets only the trial through while it is in flight', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock, { timeoutMs: 2_000 });
    await failCalls(at, push, 2);

    clock.advance(openMs);
    at.delayNext(300);
    const trial = push.push(fulfilmentRequested());
    await until(() => at.requests.length === 7);
    expect(push.state()).toBe('half_open');
    expect(await push.push(fulfilmentRequested())).toMatchObject({ ok: false, retryable: true, circuitOpen: true, retryAfterMs: 2_000 });
    expect(await trial).toEqual({ ok: true, status: 202, duplicate: false });
    expect(at.requests).toHaveLength(7);
    expect(push.state()).toBe('closed');
  });

  it('counts consecutive failures only: a success in between starts the count again', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock);
    await failCalls(at, push, 1);
    expect((await push.push(fulfilmentRequested())).ok).toBe(true);
    await failCalls(at, push, 1);
    expect(push.state()).toBe('closed');
    await failCalls(at, push, 1);
    expect(push.state()).toBe('open');
  });

  it('does not open for refusals: the warehouse answered, the events were wrong', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock);
    for (let i = 0; i < 4; i++) expect(failed(await push.push(fulfilmentRequested({ data: 'not an object' }))).retryable).toBe(false);
    expect(push.state()).toBe('closed');
    expect((await push.push(fulfilmentRequested())).ok).toBe(true);
  });

  it('counts timeouts and exhausted rate limits as failures', async () => {
    const at = await wms();
    const clock = manualClock();
    const push = breakerClient(at, clock, { retries: 0, timeoutMs: 100 });
    at.delayNext(500);
    expect(failed(await push.push(fulfilmentRequested())).message).toContain('timed out');
    at.throttleNext('1');
    expect(failed(await push.push(fulfilmentRequested())).retryable).toBe(true);
    expect(push.state()).toBe('open');
  });

  it('is per client: another warehouse is not refused', async () => {
    const at = await wms();
    const clock = manualClock();
    const usEast = breakerClient(at, clock);
    await failCalls(at, usEast, 2);
    const usWest = breakerClient(at, clock);
    expect(usEast.state()).toBe('open');
    expect(usWest.state()).toBe('closed');
    expect((await usWest.push(fulfilmentRequested())).ok).toBe(true);
  });
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((done) => setTimeout(done, 5));
  }
}

/** A loopback port nothing listens on (taken, then released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const address = server.address();
  await new Promise<void>((closed) => server.close(() => closed()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}
