import { HubError } from '../core/errors.ts';
import { parseJson, retryAfterMs, sendWithRetries, type AttemptOutcome, type HttpClientOptions } from './http.ts';
import { isObject } from './reader.ts';

/**
 * Login with Amazon (LWA) access tokens for the SP-API poller.
 *
 * SP-API calls carry an LWA access token in `x-amz-access-token`, and an access token lives
 * one hour. What lasts is the refresh token the seller gave the app when authorizing it:
 * `POST https://api.amazon.com/auth/o2/token`, form-encoded
 * `grant_type=refresh_token&refresh_token=…&client_id=…&client_secret=…`, answers
 * `{ access_token, refresh_token, token_type: "bearer", expires_in: 3600 }` (developer-docs.amazon.com/sp-api,
 * "Connecting to the Selling Partner API", step 1). Errors are OAuth 2.0's
 * `{ error, error_description }` (RFC 6749 §5.2).
 *
 * The token source keeps one access token and fetches the next one shortly before it
 * expires, or as soon as SP-API refuses it (revoked early, or the clocks disagree). Callers
 * that ask while a refresh is under way wait for that one: LWA is asked once, not once per
 * caller. A 4xx refusal (`invalid_grant`: the refresh token is revoked or not this app's;
 * `invalid_client`: the client id or secret is wrong) is permanent: asking again cannot
 * help until someone changes the credentials. A 5xx, 408, 429, timeout or lost connection is
 * retried within the call, and ends retryable when the retries run out.
 *
 * The client secret and the refresh token never appear in an error message: whatever LWA
 * or the network says is quoted with them blanked out.
 */

/** North America's LWA token endpoint; Europe and the Far East have their own hosts, same path. */
export const LWA_TOKEN_ENDPOINT = 'https://api.amazon.com/auth/o2/token';

/** The environment variables of the LWA credentials (all three, or none), and of the endpoint. */
export const LWA_CREDENTIAL_NAMES = ['AMAZON_LWA_CLIENT_ID', 'AMAZON_LWA_CLIENT_SECRET', 'AMAZON_LWA_REFRESH_TOKEN'] as const;
export const LWA_ENDPOINT_NAME = 'AMAZON_LWA_ENDPOINT';

/** What SP-API calls need: a current access token, and a way to say the last one was refused. */
export interface AccessTokenSource {
  /** a token valid for a while yet (cached; fetched when there is none or it is about to expire) */
  token(): Promise<string>;
  /**
   * Drops the cached token, e.g. after SP-API refused it, so the next `token()` fetches a
   * new one. With `refused`, only if that is still the cached token: a caller whose
   * refusal arrives after someone else already refreshed does not throw the fresh one away.
   */
  invalidate(refused?: string): void;
}

export interface LwaCredentials {
  clientId: string;
  clientSecret: string;
  refreshToken: string;
}

export interface LwaTokenSourceOptions extends LwaCredentials, Omit<HttpClientOptions, 'baseUrl' | 'now'> {
  /** the token endpoint (default {@link LWA_TOKEN_ENDPOINT}): another region's, a sandbox, a test stub */
  endpoint?: string;
  /** the clock tokens expire by */
  now?: () => Date;
}

/** A token is replaced this long before it expires, so no request leaves with one about to lapse. */
const EXPIRY_MARGIN_MS = 60_000;
/** LWA documents one hour; an answer without `expires_in` is taken to mean that. */
const DEFAULT_LIFETIME_S = 3600;

/** A token as LWA issued it. */
export interface LwaToken {
  accessToken: string;
  expiresInS: number;
  /** present only when LWA hands out a new refresh token */
  refreshToken: string | null;
}

/** An {@link AccessTokenSource} that exchanges the refresh token at LWA. */
export function createLwaTokenSource(options: LwaTokenSourceOptions): AccessTokenSource {
  const problems = (['clientId', 'clientSecret', 'refreshToken'] as const).filter((name) => options[name].trim() === '');
  if (problems.length > 0) {
    throw new HubError('amazon_lwa_invalid', `LWA token source: ${problems.join(', ')} ${problems.length === 1 ? 'is' : 'are'} empty`, { status: 500 });
  }
  let endpoint: string;
  try {
    endpoint = new URL(options.endpoint ?? LWA_TOKEN_ENDPOINT).href;
  } catch (error) {
    throw new HubError('amazon_lwa_invalid', 'LWA token source: the endpoint is not a URL', { status: 500, cause: error });
  }
  const doFetch = options.fetch ?? globalThis.fetch;
  const now = options.now ?? (() => new Date());
  const timeoutMs = options.timeoutMs ?? 10_000;
  const policy = {
    retries: options.retries ?? 3,
    backoffMs: options.backoffMs ?? 500,
    maxWaitMs: options.maxWaitMs ?? 15_000,
    sleep: options.sleep ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms))),
  };
  const originalRefreshToken = options.refreshToken;
  let refreshToken = options.refreshToken;
  const blank = (text: string) => withoutSecrets(text, [options.clientSecret, originalRefreshToken, refreshToken]);

  let cached: { token: string; refreshAt: number } | null = null;
  let inFlight: Promise<string> | null = null;

  async function refresh(): Promise<string> {
    // Lifetime counts from when the request left: the token may be older than its answer.
    const sentAt = now().getTime();
    const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: options.clientId, client_secret: options.clientSecret }).toString();
    const result = await sendWithRetries<LwaToken | HubError>(
      policy,
      'Login with Amazon',
      () => doFetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded;charset=UTF-8', accept: 'application/json' },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      }),
      (response, text) => readLwaAnswer(response.status, text, response.headers.get('retry-after'), now(), blank),
      (last, why) => new HubError('amazon_lwa_unavailable', why.waitTooLong === undefined
        ? `${blank(last.message)} (gave up after ${why.attempts} attempt(s); the next poll tries again)`
        : `${blank(last.message)}; LWA asks to wait ${why.waitTooLong} ms, more than ${policy.maxWaitMs} ms (the next poll tries again)`,
      { status: 503, retryable: true }),
    );
    if (result instanceof HubError) throw result;
    // OAuth 2.0 (RFC 6749 §6): a refresh token in the answer replaces the one sent (LWA sends
    // back the same one). It is kept in memory only: a restart starts from the configured one.
    if (result.refreshToken !== null) refreshToken = result.refreshToken;
    const lifetimeMs = result.expiresInS * 1000;
    cached = { token: result.accessToken, refreshAt: sentAt + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2) };
    return result.accessToken;
  }

  return {
    token() {
      if (cached !== null && now().getTime() < cached.refreshAt) return Promise.resolve(cached.token);
      inFlight ??= refresh().finally(() => {
        inFlight = null;
      });
      return inFlight;
    },
    invalidate(refused) {
      if (refused === undefined || cached?.token === refused) cached = null;
    },
  };
}

/**
 * One LWA answer: a token, a permanent refusal (as the error to throw), or a transient
 * failure worth the same request again. Pure; `blank` removes the secrets from quoted text.
 */
export function readLwaAnswer(
  status: number,
  text: string,
  retryAfter: string | null,
  now: Date,
  blank: (text: string) => string = (t) => t,
): AttemptOutcome<LwaToken | HubError> {
  const body = parseJson(text);
  if (status >= 200 && status < 300) {
    const token = isObject(body) ? body.access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      // A gateway's page or a truncated answer, not LWA's: asking again is harmless.
      return { kind: 'transient', message: `Login with Amazon answered ${status} without an access_token: ${blank(text.slice(0, 200))}` };
    }
    const expiresIn = isObject(body) ? Number(body.expires_in) : Number.NaN;
    const refreshed = isObject(body) ? body.refresh_token : undefined;
    return {
      kind: 'final',
      result: {
        accessToken: token,
        expiresInS: Number.isFinite(expiresIn) && expiresIn > 0 ? expiresIn : DEFAULT_LIFETIME_S,
        refreshToken: typeof refreshed === 'string' && refreshed !== '' ? refreshed : null,
      },
    };
  }
  const error = isObject(body) && typeof body.error === 'string' ? body.error : null;
  const description = isObject(body) && typeof body.error_description === 'string' ? body.error_description : null;
  const detail = blank(error !== null ? `${status} ${error}${description !== null ? `: ${description}` : ''}` : `${status}: ${text.slice(0, 200)}`);
  if (status === 408 || status === 429 || status >= 500) {
    const wait = status === 429 ? retryAfterMs(retryAfter, now) : null;
    return { kind: 'transient', message: `Login with Amazon answered ${detail}`, ...(wait === null ? {} : { retryAfterMs: wait }) };
  }
  return {
    kind: 'final',
    result: new HubError('amazon_lwa_refused', `Login with Amazon refused the token refresh (${detail})${hintFor(error)}`, {
      status: 502, retryable: false, details: { httpStatus: status, lwaError: error },
    }),
  };
}

/** What an operator can do about LWA's `error` code. */
function hintFor(error: string | null): string {
  if (error === 'invalid_grant') {
    return ': the refresh token is revoked, expired or not issued to this app; authorize the app again and set the new AMAZON_LWA_REFRESH_TOKEN';
  }
  if (error === 'invalid_client' || error === 'unauthorized_client') {
    return ': check AMAZON_LWA_CLIENT_ID and AMAZON_LWA_CLIENT_SECRET (a client secret stops working when it is not rotated within 180 days)';
  }
  return '';
}

/** `text` with every secret replaced, however LWA or an error quoted it. */
function withoutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret === '') continue;
    out = out.split(secret).join('[redacted]');
    // a form-encoded echo of the request spells it differently
    const encoded = encodeURIComponent(secret);
    if (encoded !== secret) out = out.split(encoded).join('[redacted]');
  }
  return out;
}

/** How the poller is to get its access tokens, read from the connector secrets by name. */
export type AmazonAccess =
  | { kind: 'lwa'; options: LwaCredentials & { endpoint?: string } }
  | { kind: 'static'; token: string; warning: string | null }
  | { kind: 'none'; warning: string };

/**
 * LWA refresh when its three credentials are set; else the fixed access token
 * `staticName` names (it lapses an hour after it was issued: fine for a sandbox, not for
 * production); else nothing, with a warning that says what to set. Pure.
 */
export function amazonAccessFrom(secrets: Readonly<Record<string, string | undefined>>, staticName: string): AmazonAccess {
  const [clientId, clientSecret, refreshToken] = LWA_CREDENTIAL_NAMES.map((name) => secrets[name] ?? '');
  const missing = LWA_CREDENTIAL_NAMES.filter((name) => !secrets[name]);
  const endpoint = secrets[LWA_ENDPOINT_NAME];
  if (missing.length === 0) {
    return { kind: 'lwa', options: { clientId: clientId!, clientSecret: clientSecret!, refreshToken: refreshToken!, ...(endpoint ? { endpoint } : {}) } };
  }
  const partly = missing.length < LWA_CREDENTIAL_NAMES.length ? `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set (LWA refresh needs all of ${LWA_CREDENTIAL_NAMES.join(', ')})` : null;
  const token = secrets[staticName];
  if (token) return { kind: 'static', token, warning: partly === null ? null : `${partly}: using the fixed ${staticName}, which stops working when it expires` };
  return {
    kind: 'none',
    warning: `${partly ?? `neither ${LWA_CREDENTIAL_NAMES.join(', ')} nor ${staticName} is set`}: set the three LWA variables (or ${staticName}, a fixed access token)`,
  };
}
