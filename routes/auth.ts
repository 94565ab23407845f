import { timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import { tokenDigest, type ApiKeyEntry } from '../core/config/api-keys.ts';
import type { Principal } from './principal.ts';
import { problemResponse } from './problem.ts';
import { requiredRole, roleAllows } from './roles.ts';

export interface BearerAuthOptions {
  /** HUB_ADMIN_TOKEN: the bootstrap key, named `admin`, role `admin` */
  adminToken: string | undefined;
  /** the config's `apiKeys` (SHA-256 of each token) */
  apiKeys?: readonly ApiKeyEntry[];
  /** where refusals are logged (key names and routes; never a token) */
  logger?: Pick<Logger, 'warn'>;
}

interface Candidate {
  principal: Principal;
  digest: Buffer;
}

const bearer = /^Bearer[ \t]+(.+)$/i;

/** A 401 problem, with the `WWW-Authenticate` challenge RFC 6750 asks for. */
function unauthorized(detail: string): Response {
  const response = problemResponse({ type: 'https://order-hub.local/problems/unauthorized', title: 'Unauthorized', status: 401, detail, code: 'unauthorized' });
  response.headers.set('www-authenticate', 'Bearer realm="order-hub"');
  return response;
}

/**
 * Bearer-token check and role enforcement for `/api`. The presented token is hashed once
 * and compared with every key's digest by `timingSafeEqual`, without stopping at a match,
 * so neither which key matched nor whether one did shows in the time taken. The key found
 * becomes the request's principal (`principalOf(c)`); its role must reach what
 * `requiredRole` asks for the route (401 without a valid token, 403 for a role too low).
 */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler {
  const candidates: Candidate[] = [
    ...(options.adminToken ? [{ principal: { name: 'admin', role: 'admin' as const }, digest: tokenDigest(options.adminToken) }] : []),
    ...(options.apiKeys ?? []).map((k) => ({ principal: { name: k.name, role: k.role }, digest: Buffer.from(k.sha256, 'hex') })),
  ];
  const log = options.logger;
  return async (c, next) => {
    const { method, path } = c.req;
    if (candidates.length === 0) return unauthorized('HUB_ADMIN_TOKEN is not set and no apiKeys are configured; the API is closed');
    const presented = bearer.exec(c.req.header('authorization') ?? '')?.[1]?.trim() ?? '';
    // Hashing first makes every comparison the same length, whatever was presented.
    const digest = tokenDigest(presented);
    let found: Principal | undefined;
    for (const candidate of candidates) {
      if (timingSafeEqual(digest, candidate.digest) && presented !== '') found = candidate.principal;
    }
    if (!found) {
      log?.warn({ method, path, presented: presented === '' ? 'none' : 'unknown' }, 'api request refused: no valid bearer token');
      return unauthorized('a valid "Authorization: Bearer <token>" header is required');
    }
    const needed = requiredRole(method, path);
    if (!roleAllows(found.role, needed)) {
      log?.warn({ method, path, key: found.name, role: found.role, needed }, 'api request refused: role too low');
      const response = problemResponse({
        type: 'https://order-hub.local/problems/forbidden', title: 'Forbidden', status: 403, code: 'forbidden',
        detail: `${method} ${path} needs the ${needed} role; the key "${found.name}" is ${found.role === 'viewer' ? 'a' : 'an'} ${found.role}`,
        requiredRole: needed, role: found.role, key: found.name,
      });
      response.headers.set('www-authenticate', 'Bearer realm="order-hub", error="insufficient_scope"');
      return response;
    }
    c.set('principal' as never, found as never);
    await next();
    return undefined;
  };
}
