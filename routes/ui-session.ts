import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Hono, type MiddlewareHandler } from 'hono';
import type { Redis } from 'ioredis';
import { principalOf, roles, type Principal } from './principal.ts';
import { problemResponse } from './problem.ts';
import { requiredRole, roleAllows } from './roles.ts';

/** A status-page login: whose key it was made with, and the token its forms carry against CSRF. */
export interface UiSession {
  principal: Principal;
  csrf: string;
}

/**
 * Status-page sessions in Redis. The cookie holds only an opaque random id; Redis maps it
 * to the key's name and role (never the token) and forgets it after `ttlSeconds`.
 */
export function createUiSessions(redis: Redis, namespace: string, ttlSeconds: number) {
  const key = (id: string) => `${namespace}:ui:session:${id}`;
  return {
    ttlSeconds,
    async start(principal: Principal): Promise<{ id: string; session: UiSession }> {
      const id = randomBytes(32).toString('base64url');
      const session: UiSession = { principal: { name: principal.name, role: principal.role }, csrf: randomBytes(32).toString('base64url') };
      await redis.set(key(id), JSON.stringify(session), 'EX', ttlSeconds);
      return { id, session };
    },
    async read(id: string | undefined): Promise<UiSession | undefined> {
      // Ids are 43 base64url characters; anything else cannot be one, so Redis is not asked.
      if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return undefined;
      const stored = await redis.get(key(id));
      return stored === null ? undefined : parseSession(stored);
    },
    async end(id: string): Promise<void> {
      await redis.del(key(id));
    },
  };
}
export type UiSessions = ReturnType<typeof createUiSessions>;

function parseSession(stored: string): UiSession | undefined {
  try {
    const value = JSON.parse(stored) as Partial<UiSession> & { principal?: Partial<Principal> };
    const role = value.principal?.role;
    if (typeof value.csrf !== 'string' || typeof value.principal?.name !== 'string' || !roles.includes(role as Principal['role'])) return undefined;
    return { principal: { name: value.principal.name, role: role as Principal['role'] }, csrf: value.csrf };
  } catch {
    return undefined;
  }
}

const digest = (value: string) => createHash('sha256').update(value).digest();

/** True when a form's CSRF token is the session's; hashed first so the comparison is constant-time. */
export function csrfMatches(session: UiSession, submitted: unknown): boolean {
  return typeof submitted === 'string' && timingSafeEqual(digest(submitted), digest(session.csrf));
}

/**
 * Who a bearer token belongs to, asked of the API's own auth middleware: the token goes
 * through exactly the check `/api` applies (keys, roles, the bootstrap admin token), and the
 * principal it sets is the answer; `undefined` when the middleware refuses the token.
 */
export function principalForToken(apiAuth: MiddlewareHandler): (token: string) => Promise<Principal | undefined> {
  const probe = new Hono();
  probe.use('*', apiAuth);
  probe.get('/', (c) => c.json(principalOf(c)));
  return async (token) => {
    // Only what a bearer header can carry (visible ASCII): anything else could never reach
    // `/api` either, and a Headers object throws on it.
    if (token === '' || /[^\x21-\x7e]/.test(token)) return undefined;
    const response = await probe.request('/', { headers: { authorization: `Bearer ${token}` } });
    if (response.status !== 200) return undefined;
    return (await response.json()) as Principal;
  };
}

// Set only by code in this process (`app.request(…, env)`): a request from the network has
// no way to put a symbol-keyed value in its env, so it cannot claim a session's principal.
const sessionPrincipal = Symbol('status page session principal');

/** The env for an in-process API call made on behalf of a status-page session. */
export function onBehalfOf(principal: Principal): Record<symbol, Principal> {
  return { [sessionPrincipal]: principal };
}

/**
 * The `/api` auth: a call the status page makes in-process for a logged-in session carries
 * that session's principal, held to the same role rule (`requiredRole`) a bearer token is,
 * so role checks and the audit trail see the same caller as with the key itself; every
 * other request goes through `apiAuth`.
 */
export function apiAuthWithSessions(apiAuth: MiddlewareHandler): MiddlewareHandler {
  return async (c, next) => {
    const env = c.env as Record<symbol, unknown> | undefined;
    const principal = env && typeof env === 'object' ? (env[sessionPrincipal] as Principal | undefined) : undefined;
    if (!principal) return apiAuth(c, next);
    const needed = requiredRole(c.req.method, c.req.path);
    if (!roleAllows(principal.role, needed)) {
      return problemResponse({
        type: 'https://order-hub.local/problems/forbidden', title: 'Forbidden', status: 403, code: 'forbidden',
        detail: `${c.req.method} ${c.req.path} needs the ${needed} role; ${principal.name} is ${principal.role === 'viewer' ? 'a' : 'an'} ${principal.role}`,
        requiredRole: needed, role: principal.role, key: principal.name,
      });
    }
    c.set('principal' as never, principal as never);
    await next();
    return undefined;
  };
}
