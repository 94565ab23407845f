import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Login with Amazon's token endpoint on loopback, for the SP-API poller's tests:
 * `POST /auth/o2/token`, form-encoded `grant_type=refresh_token` with the refresh token and
 * the client credentials, answering as LWA does — `{ access_token, refresh_token,
 * token_type: "bearer", expires_in }` (the example in developer-docs.amazon.com/sp-api,
 * "Connecting to the Selling Partner API"), and OAuth 2.0's `{ error, error_description }`
 * otherwise: `invalid_client` (401) for wrong client credentials, `invalid_grant` (400) for a
 * refresh token it does not know or has revoked. Every answer is a new access token; the last
 * one issued is the current one, which an SP-API stub can be told to accept alone. Faults
 * (a status, a delay) on demand; every request recorded.
 */

export const LWA_CLIENT_ID = 'amzn1.application-oa2-client.hubtest0001';
export const LWA_CLIENT_SECRET = 'amzn1.oa2-cs.v1.hub-test-client-secret-7f3a';
export const LWA_REFRESH_TOKEN = 'Atzr|IwEB-hub-test-refresh-token-91c2';

export interface LwaServerOptions {
  clientId?: string;
  clientSecret?: string;
  refreshToken?: string;
  /** `expires_in` of the tokens it issues, in seconds (default 3600) */
  expiresIn?: number;
  /** hold every answer this long (default 0) */
  delayMs?: number;
}

export interface LwaRequest {
  method: string;
  path: string;
  contentType: string | undefined;
  form: Record<string, string>;
  status: number;
}

/** The next `times` requests get `status` (with `body`, default a `server_error`), or are held `delayMs` first. */
export interface LwaFault {
  status?: number;
  times?: number;
  body?: unknown;
  retryAfter?: string;
  delayMs?: number;
}

export interface LwaServer {
  /** the token endpoint's full URL */
  url: string;
  requests: LwaRequest[];
  /** access tokens issued, oldest first */
  issued: string[];
  /** whether SP-API would take this token now: the last one issued, unless expired or revoked */
  isCurrent(token: string): boolean;
  /** the current access token stops working (expired early, revoked); the next one issued works */
  expireCurrent(): void;
  /** the refresh token is revoked: `invalid_grant` from now on */
  revoke(): void;
  fail(fault: LwaFault): void;
  clearFaults(): void;
  close(): Promise<void>;
}

export async function startLwaServer(options: LwaServerOptions = {}): Promise<LwaServer> {
  const clientId = options.clientId ?? LWA_CLIENT_ID;
  const clientSecret = options.clientSecret ?? LWA_CLIENT_SECRET;
  const refreshToken = options.refreshToken ?? LWA_REFRESH_TOKEN;
  const expiresIn = options.expiresIn ?? 3600;
  const requests: LwaRequest[] = [];
  const issued: string[] = [];
  const faults: (LwaFault & { times: number })[] = [];
  let currentValid = false;
  let revoked = false;

  function answer(res: ServerResponse, record: LwaRequest, status: number, body: unknown, headers: Record<string, string> = {}): void {
    record.status = status;
    res.writeHead(status, { 'content-type': 'application/json;charset=UTF-8', ...headers });
    res.end(JSON.stringify(body));
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
    const record: LwaRequest = { method: req.method ?? '', path: new URL(req.url ?? '/', 'http://127.0.0.1').pathname, contentType: req.headers['content-type'], form, status: 0 };
    requests.push(record);

    const fault = faults.find((f) => f.times > 0);
    if (fault) fault.times -= 1;
    const delayMs = (fault?.delayMs ?? 0) + (options.delayMs ?? 0);
    if (delayMs > 0) await new Promise((done) => setTimeout(done, delayMs));
    // The client gave up waiting: nothing is issued to nobody.
    if (res.destroyed || req.socket.destroyed) return;
    if (fault?.status !== undefined) {
      return answer(res, record, fault.status, fault.body ?? { error: 'server_error', error_description: 'Internal server error' },
        fault.retryAfter === undefined ? {} : { 'retry-after': fault.retryAfter });
    }

    if (record.method !== 'POST' || record.path !== '/auth/o2/token') return answer(res, record, 404, { error: 'not_found', error_description: 'Not found' });
    if (!record.contentType?.startsWith('application/x-www-form-urlencoded')) {
      return answer(res, record, 400, { error: 'invalid_request', error_description: 'Content-Type must be application/x-www-form-urlencoded' });
    }
    if (form.grant_type !== 'refresh_token') return answer(res, record, 400, { error: 'unsupported_grant_type', error_description: 'The authorization grant type is not supported' });
    if (form.client_id !== clientId || form.client_secret !== clientSecret) {
      return answer(res, record, 401, { error: 'invalid_client', error_description: 'Client authentication failed' });
    }
    if (revoked || form.refresh_token !== refreshToken) {
      return answer(res, record, 400, { error: 'invalid_grant', error_description: 'The request has an invalid grant parameter : refresh_token' });
    }
    const token = `Atza|hub-test-access-${issued.length + 1}`;
    issued.push(token);
    currentValid = true;
    answer(res, record, 200, { access_token: token, refresh_token: refreshToken, token_type: 'bearer', expires_in: expiresIn });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/auth/o2/token`,
    requests,
    issued,
    isCurrent(token) {
      return currentValid && token === issued.at(-1);
    },
    expireCurrent() {
      currentValid = false;
    },
    revoke() {
      revoked = true;
    },
    fail(fault) {
      faults.push({ ...fault, times: fault.times ?? 1 });
    },
    clearFaults() {
      faults.length = 0;
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      });
    },
  };
}
