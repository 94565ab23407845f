// Login with Amazon access tokens for the SP-API poller: the token source against a loopback
// LWA token endpoint, then the poller against that and a loopback SP-API that takes only the
// current token (rows in a real Postgres namespace), then the hub's wiring from the
// environment. Real HTTP throughout; clocks and sleeps are injected, nothing else.
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amazonAccessFrom, createLwaTokenSource, type LwaTokenSourceOptions } from '../connectors/amazon-lwa.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath, readEnv } from '../core/config/env.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import { loadCursor } from '../core/db/sql/cursors.ts';
import { HubError } from '../core/errors.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { createLogger } from '../core/logger.ts';
import { createAmazonPoller, type AmazonPollerDeps } from '../core/pollers/amazon.ts';
import { eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { LWA_CLIENT_ID, LWA_CLIENT_SECRET, LWA_REFRESH_TOKEN, startLwaServer, type LwaServer, type LwaServerOptions } from './support/lwa-server.ts';
import { startSpApiServer, type SpApiServer, type SpApiServerOptions } from './support/sp-api-server.ts';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((close) => close()));
});

async function lwaServer(options: LwaServerOptions = {}): Promise<LwaServer> {
  const server = await startLwaServer(options);
  closers.push(() => server.close());
  return server;
}

async function spApi(options: SpApiServerOptions = {}): Promise<SpApiServer> {
  const server = await startSpApiServer(options);
  closers.push(() => server.close());
  return server;
}

/** A clock the test moves by hand. */
function manualClock(start = Date.parse('2026-03-01T12:00:00.000Z')) {
  let at = start;
  return { now: () => new Date(at), advance: (ms: number) => void (at += ms) };
}

/** Sleeps recorded, not slept. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

function source(lwa: LwaServer, overrides: Partial<LwaTokenSourceOptions> = {}) {
  return createLwaTokenSource({
    clientId: LWA_CLIENT_ID, clientSecret: LWA_CLIENT_SECRET, refreshToken: LWA_REFRESH_TOKEN, endpoint: lwa.url,
    sleep: recordedSleep().sleep,
    ...overrides,
  });
}

/** What a rejection carries, as a log line or an API answer would show it. */
async function rejectionOf(promise: Promise<unknown>): Promise<HubError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(HubError);
  return error as HubError;
}

function expectNoSecrets(error: Error): void {
  const shown = `${error.message}\n${error.stack ?? ''}\n${JSON.stringify(error)}`;
  for (const secret of [LWA_CLIENT_SECRET, LWA_REFRESH_TOKEN, encodeURIComponent(LWA_REFRESH_TOKEN)]) expect(shown).not.toContain(secret);
}

describe('LWA token source', () => {
  it('fetches a token once, form-encoded as LWA documents it, and reuses it', async () => {
    const lwa = await lwaServer();
    const tokens = source(lwa);
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    expect(lwa.requests).toEqual([{
      method: 'POST',
      path: '/auth/o2/token',
      contentType: 'application/x-www-form-urlencoded;charset=UTF-8',
      form: { grant_type: 'refresh_token', refresh_token: LWA_REFRESH_TOKEN, client_id: LWA_CLIENT_ID, client_secret: LWA_CLIENT_SECRET },
      status: 200,
    }]);
  });

  it('fetches the next token 60 s before the last one expires, by the injected clock', async () => {
    const lwa = await lwaServer({ expiresIn: 3600 });
    const clock = manualClock();
    const tokens = source(lwa, { now: clock.now });
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    clock.advance(3539_000);
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    clock.advance(2_000); // 59 s before expiry
    expect(await tokens.token()).toBe('Atza|hub-test-access-2');
    clock.advance(3539_000);
    expect(await tokens.token()).toBe('Atza|hub-test-access-2');
    expect(lwa.requests).toHaveLength(2);
  });

  it('keeps a short-lived token for half its life rather than not at all', async () => {
    const lwa = await lwaServer({ expiresIn: 60 });
    const clock = manualClock();
    const tokens = source(lwa, { now: clock.now });
    await tokens.token();
    clock.advance(29_000);
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
    clock.advance(1_000);
    expect(await tokens.token()).toBe('Atza|hub-test-access-2');
  });

  it('lets concurrent callers share one refresh', async () => {
    const lwa = await lwaServer({ delayMs: 100 });
    const clock = manualClock();
    const tokens = source(lwa, { now: clock.now });
    const first = await Promise.all(Array.from({ length: 20 }, () => tokens.token()));
    expect(new Set(first)).toEqual(new Set(['Atza|hub-test-access-1']));
    expect(lwa.requests).toHaveLength(1);

    clock.advance(3600_000);
    const second = await Promise.all(Array.from({ length: 20 }, () => tokens.token()));
    expect(new Set(second)).toEqual(new Set(['Atza|hub-test-access-2']));
    expect(lwa.requests).toHaveLength(2);
  });

  it('drops the token on invalidate, but not a fresher one than the token refused', async () => {
    const lwa = await lwaServer();
    const tokens = source(lwa);
    const first = await tokens.token();
    tokens.invalidate(first);
    const second = await tokens.token();
    expect(second).toBe('Atza|hub-test-access-2');
    // A refusal of the first token arriving late leaves the second in place.
    tokens.invalidate(first);
    expect(await tokens.token()).toBe(second);
    tokens.invalidate();
    expect(await tokens.token()).toBe('Atza|hub-test-access-3');
    expect(lwa.requests).toHaveLength(3);
  });

  it('reports invalid_grant as a permanent error that names it, without the secrets, and asks only once', async () => {
    const lwa = await lwaServer();
    lwa.revoke();
    const tokens = source(lwa);
    const error = await rejectionOf(tokens.token());
    expect(error).toMatchObject({ code: 'amazon_lwa_refused', retryable: false, details: { httpStatus: 400, lwaError: 'invalid_grant' } });
    expect(error.message).toContain('Login with Amazon refused the token refresh (400 invalid_grant: The request has an invalid grant parameter : refresh_token)');
    expect(error.message).toContain('set the new AMAZON_LWA_REFRESH_TOKEN');
    expectNoSecrets(error);
    expect(lwa.requests).toHaveLength(1);
    // Nothing is cached: the next call asks again (and is refused again).
    await expect(tokens.token()).rejects.toThrow(/invalid_grant/);
    expect(lwa.requests).toHaveLength(2);
  });

  it('reports invalid_client and points at the client credentials, without the secret', async () => {
    const lwa = await lwaServer({ clientSecret: 'the-rotated-secret' });
    const error = await rejectionOf(source(lwa).token());
    expect(error).toMatchObject({ code: 'amazon_lwa_refused', retryable: false, details: { httpStatus: 401, lwaError: 'invalid_client' } });
    expect(error.message).toMatch(/401 invalid_client: Client authentication failed.*AMAZON_LWA_CLIENT_SECRET/);
    expectNoSecrets(error);
  });

  it('blanks out the secrets when LWA quotes them back', async () => {
    const lwa = await lwaServer();
    lwa.fail({ status: 400, body: { error: 'invalid_request', error_description: `bad refresh_token ${LWA_REFRESH_TOKEN} for secret ${LWA_CLIENT_SECRET}` } });
    const error = await rejectionOf(source(lwa).token());
    expect(error.message).toContain('400 invalid_request: bad refresh_token [redacted] for secret [redacted]');
    expectNoSecrets(error);
  });

  it('retries a 500 within the call, and then has its token', async () => {
    const lwa = await lwaServer();
    lwa.fail({ status: 500 });
    const sleeps = recordedSleep();
    expect(await source(lwa, { sleep: sleeps.sleep, backoffMs: 250 }).token()).toBe('Atza|hub-test-access-1');
    expect(lwa.requests.map((r) => r.status)).toEqual([500, 200]);
    expect(sleeps.waits).toEqual([250]);
  });

  it('waits out a 429 as Retry-After says, and retries a request that timed out', async () => {
    const lwa = await lwaServer();
    lwa.fail({ status: 429, retryAfter: '2', body: { error: 'TooManyRequests', error_description: 'Rate exceeded' } });
    lwa.fail({ delayMs: 1_000 });
    const sleeps = recordedSleep();
    expect(await source(lwa, { sleep: sleeps.sleep, backoffMs: 10, timeoutMs: 200 }).token()).toBe('Atza|hub-test-access-1');
    expect(lwa.requests.map((r) => r.status)).toEqual([429, 0, 200]);
    expect(lwa.issued).toEqual(['Atza|hub-test-access-1']);
    expect(sleeps.waits).toEqual([2_000, 20]);
  });

  it('ends a lasting outage retryable, caches no failure, and recovers on the next call', async () => {
    const lwa = await lwaServer();
    lwa.fail({ status: 503, times: 10 });
    const tokens = source(lwa, { retries: 2, backoffMs: 1 });
    const error = await rejectionOf(tokens.token());
    expect(error).toMatchObject({ code: 'amazon_lwa_unavailable', retryable: true });
    expect(error.message).toMatch(/^Login with Amazon answered 503 server_error: Internal server error \(gave up after 3 attempt\(s\)/);
    expectNoSecrets(error);
    lwa.clearFaults();
    expect(await tokens.token()).toBe('Atza|hub-test-access-1');
  });

  it('refuses empty credentials or an endpoint that is not a URL when made', () => {
    expect(() => createLwaTokenSource({ clientId: LWA_CLIENT_ID, clientSecret: ' ', refreshToken: '' })).toThrow('LWA token source: clientSecret, refreshToken are empty');
    expect(() => createLwaTokenSource({ clientId: LWA_CLIENT_ID, clientSecret: LWA_CLIENT_SECRET, refreshToken: LWA_REFRESH_TOKEN, endpoint: 'not a url' }))
      .toThrow('LWA token source: the endpoint is not a URL');
  });
});

// --- the poller with LWA tokens ----------------------------------------------------------------

const namespace = testNamespace('amazonlwa');
const env = testEnv(namespace);
let db: Db;
const NOW = new Date('2026-03-01T12:00:00.000Z');

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, 4);
  await migrate(db, namespace);
});

afterAll(async () => {
  await db?.end();
  await removeNamespace(env);
});

function poller(server: SpApiServer, code: string, token: AmazonPollerDeps['token']) {
  return createAmazonPoller({
    db, namespace,
    channel: { code, poller: { baseUrl: server.url, marketplaceIds: ['ATVPDKIKX0DER'], startAt: '1970-01-01T00:00:00Z' } },
    token, now: () => NOW, newId: randomUUID, logger: quietLogger(),
    sleep: recordedSleep().sleep, backoffMs: 5,
  });
}

async function storedKeys(source: string): Promise<string[]> {
  const { rows } = await db.query<{ dedupe_key: string }>('SELECT dedupe_key FROM raw_inbound WHERE source = $1 ORDER BY id', [source]);
  return rows.map((r) => r.dedupe_key.split(':')[0]!);
}

const ALL_ORDERS = ['902-1845936-5435065', '902-8745147-1934268', '902-3159896-1390916'];

describe('amazon poller with LWA tokens', () => {
  it('after a 401 from SP-API, refreshes once and sends the same request again with the new token', async () => {
    const lwa = await lwaServer();
    const server = await spApi({ acceptToken: (token) => lwa.isCurrent(token) });
    server.fail({ status: 401 });
    expect(await poller(server, 'amazon-lwa-401', source(lwa)).pollOnce()).toEqual({ pages: 1, orders: 3, stored: 3 });

    expect(lwa.issued).toEqual(['Atza|hub-test-access-1', 'Atza|hub-test-access-2']);
    const [refused, again, ...rest] = server.requests;
    expect(refused).toMatchObject({ operation: 'getOrders', status: 401, token: 'Atza|hub-test-access-1' });
    expect(again).toMatchObject({ operation: 'getOrders', status: 200, token: 'Atza|hub-test-access-2', query: refused!.query });
    expect(rest.map((r) => [r.status, r.token])).toEqual(rest.map(() => [200, 'Atza|hub-test-access-2']));
    expect(await storedKeys('amazon-lwa-401')).toEqual(ALL_ORDERS);
  });

  it('reports a second refusal as before, after one refresh, and stores nothing', async () => {
    const lwa = await lwaServer();
    const server = await spApi({ acceptToken: (token) => lwa.isCurrent(token) });
    server.fail({ status: 401, times: 2 });
    await expect(poller(server, 'amazon-lwa-twice', source(lwa)).pollOnce()).rejects.toThrow(/getOrders answered 401 \(is the access token valid and current\?\) after 1 attempt\(s\)/);
    expect(lwa.requests).toHaveLength(2);
    expect(server.requests.map((r) => [r.status, r.token])).toEqual([[401, 'Atza|hub-test-access-1'], [401, 'Atza|hub-test-access-2']]);
    expect(await loadCursor(db, 'amazon-lwa-twice')).toBeNull();
    expect(await storedKeys('amazon-lwa-twice')).toEqual([]);
  });

  it('keeps polling when the token is revoked mid-run and SP-API takes only the current one', async () => {
    const lwa = await lwaServer();
    let seen = 0;
    const server = await spApi({
      pageSize: 1,
      acceptToken: (token) => {
        // After the first page and its items, the token in use stops working.
        if (++seen === 3) lwa.expireCurrent();
        return lwa.isCurrent(token);
      },
    });
    expect(await poller(server, 'amazon-lwa-rotate', source(lwa)).pollOnce()).toEqual({ pages: 3, orders: 3, stored: 3 });

    expect(lwa.requests).toHaveLength(2);
    const statuses = server.requests.map((r) => r.status);
    expect(statuses.filter((s) => s !== 200)).toEqual([403]);
    const refusedAt = statuses.indexOf(403);
    expect(refusedAt).toBe(2);
    expect(server.requests[refusedAt + 1]).toMatchObject({ path: server.requests[refusedAt]!.path, query: server.requests[refusedAt]!.query, status: 200 });
    expect(server.requests.map((r) => r.token)).toEqual(server.requests.map((_, i) => (i <= refusedAt ? 'Atza|hub-test-access-1' : 'Atza|hub-test-access-2')));
    expect(await storedKeys('amazon-lwa-rotate')).toEqual(ALL_ORDERS);
  });

  it('takes a new token mid-run when the old one is about to expire, without a refusal', async () => {
    const lwa = await lwaServer();
    const clock = manualClock();
    let seen = 0;
    const server = await spApi({
      pageSize: 1,
      acceptToken: (token) => {
        if (++seen === 3) clock.advance(3550_000);
        return lwa.isCurrent(token) || token === lwa.issued[0];
      },
    });
    expect(await poller(server, 'amazon-lwa-expiry', source(lwa, { now: clock.now })).pollOnce()).toEqual({ pages: 3, orders: 3, stored: 3 });
    expect(server.requests.every((r) => r.status === 200)).toBe(true);
    expect(server.requests.map((r) => r.token)).toEqual(server.requests.map((_, i) => (i < 3 ? 'Atza|hub-test-access-1' : 'Atza|hub-test-access-2')));
  });

  it('ends the poll with LWA’s refusal, before asking SP-API anything', async () => {
    const lwa = await lwaServer();
    lwa.revoke();
    const server = await spApi({ acceptToken: (token) => lwa.isCurrent(token) });
    const error = await rejectionOf(poller(server, 'amazon-lwa-revoked', source(lwa)).pollOnce());
    expect(error).toMatchObject({ code: 'amazon_lwa_refused', retryable: false });
    expectNoSecrets(error);
    expect(server.requests).toEqual([]);
    expect(await loadCursor(db, 'amazon-lwa-revoked')).toBeNull();
  });

  it('with a fixed token, does not retry a refusal (nothing fresher to send)', async () => {
    const server = await spApi();
    server.fail({ status: 401 });
    await expect(poller(server, 'amazon-lwa-fixed', 'Atza|test-sp-api-access-token').pollOnce()).rejects.toThrow(/401 \(is the access token valid and current\?\)/);
    expect(server.requests).toHaveLength(1);
  });
});

// --- wiring from the environment ----------------------------------------------------------------

describe('Amazon access from the environment', () => {
  const lwaVars = { AMAZON_LWA_CLIENT_ID: LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET: LWA_CLIENT_SECRET, AMAZON_LWA_REFRESH_TOKEN: LWA_REFRESH_TOKEN };

  it('collects the LWA credentials and endpoint with the secrets, and refuses an endpoint that is not a URL', () => {
    const read = readEnv({ ...lwaVars, AMAZON_LWA_ENDPOINT: 'https://api.amazon.co.uk/auth/o2/token' });
    expect(read.secrets).toEqual({ ...lwaVars, AMAZON_LWA_ENDPOINT: 'https://api.amazon.co.uk/auth/o2/token' });
    expect(() => readEnv({ AMAZON_LWA_ENDPOINT: 'api.amazon.com/auth/o2/token' })).toThrow('AMAZON_LWA_ENDPOINT must be an http(s) URL, got "api.amazon.com/auth/o2/token"');
  });

  it('prefers LWA refresh, falls back to the fixed token, and says what to set when there is neither', () => {
    expect(amazonAccessFrom({ ...lwaVars, AMAZON_SP_API_TOKEN: 'Atza|fixed', AMAZON_LWA_ENDPOINT: 'http://127.0.0.1:1/auth/o2/token' }, 'AMAZON_SP_API_TOKEN')).toEqual({
      kind: 'lwa', options: { clientId: LWA_CLIENT_ID, clientSecret: LWA_CLIENT_SECRET, refreshToken: LWA_REFRESH_TOKEN, endpoint: 'http://127.0.0.1:1/auth/o2/token' },
    });
    expect(amazonAccessFrom({ AMAZON_SP_API_TOKEN: 'Atza|fixed' }, 'AMAZON_SP_API_TOKEN')).toEqual({ kind: 'static', token: 'Atza|fixed', warning: null });
    expect(amazonAccessFrom({ AMAZON_LWA_CLIENT_ID: LWA_CLIENT_ID, AMAZON_SP_API_TOKEN: 'Atza|fixed' }, 'AMAZON_SP_API_TOKEN')).toEqual({
      kind: 'static', token: 'Atza|fixed',
      warning: 'AMAZON_LWA_CLIENT_SECRET, AMAZON_LWA_REFRESH_TOKEN are not set (LWA refresh needs all of AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, AMAZON_LWA_REFRESH_TOKEN): using the fixed AMAZON_SP_API_TOKEN, which stops working when it expires',
    });
    expect(amazonAccessFrom({}, 'AMAZON_SP_API_TOKEN')).toEqual({
      kind: 'none',
      warning: 'neither AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, AMAZON_LWA_REFRESH_TOKEN nor AMAZON_SP_API_TOKEN is set: set the three LWA variables (or AMAZON_SP_API_TOKEN, a fixed access token)',
    });
    expect(amazonAccessFrom({ AMAZON_LWA_REFRESH_TOKEN: LWA_REFRESH_TOKEN }, 'AMAZON_SP_API_TOKEN')).toMatchObject({
      kind: 'none', warning: expect.stringMatching(/^AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET are not set/),
    });
  });

  it('runs the hub’s poller on LWA tokens from AMAZON_LWA_*, refreshing after a refusal, with no secret in the log', async () => {
    const lwa = await lwaServer();
    const server = await spApi({ redactPending: true, acceptToken: (token) => lwa.isCurrent(token) });
    server.fail({ status: 403 });
    const hubNamespace = testNamespace('amazonlwahub');
    const hubEnv = testEnv(hubNamespace, { ...lwaVars, AMAZON_LWA_ENDPOINT: lwa.url, AMAZON_SP_API_TOKEN: '' });
    const config = loadConfig(defaultConfigPath);
    config.channels = config.channels.map((c) => c.connector === 'amazon'
      ? { ...c, poller: { baseUrl: server.url, schedule: '* * * * * *', marketplaceIds: ['ATVPDKIKX0DER'], startAt: '1970-01-01T00:00:00Z' } }
      : c);
    const amazonCode = config.channels.find((c) => c.connector === 'amazon')!.code;
    const lines: string[] = [];
    const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString('utf8')); done(); } });
    let hub: Hub | undefined;
    try {
      hub = await startHub(hubEnv, { roles: ['scheduler'], logger: createLogger({ level: 'trace' }, sink), config });
      const stored = await eventually(async () => {
        const { rows } = await hub!.db.query<{ n: number }>('SELECT count(*)::int AS n FROM raw_inbound WHERE source = $1', [amazonCode]);
        return rows[0]!.n >= 3 ? rows[0]!.n : undefined;
      }, 20_000, 'the polled orders');
      expect(stored).toBe(3);
    } finally {
      await hub?.stop();
      await removeNamespace(hubEnv, hub?.topology);
    }
    expect(server.requests[0]).toMatchObject({ status: 403, token: 'Atza|hub-test-access-1' });
    expect(server.requests[1]).toMatchObject({ status: 200, token: 'Atza|hub-test-access-2' });
    const log = lines.join('');
    expect(log).toContain('SP-API refused the access token; fetching a fresh one and sending the request again');
    for (const secret of [LWA_CLIENT_SECRET, LWA_REFRESH_TOKEN, 'Atza|hub-test-access']) expect(log).not.toContain(secret);
  });
});
