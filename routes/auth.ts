import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { problemResponse } from './problem.ts';

const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Bearer-token check for `/api`. Both sides are hashed first so the comparison is
 * constant-time whatever the lengths.
 */
export function bearerAuth(adminToken: string | undefined): MiddlewareHandler {
  const expected = adminToken ? digest(adminToken) : undefined;
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!expected || !match?.[1] || !timingSafeEqual(digest(match[1].trim()), expected)) {
      return new Response(problemResponse({
        type: 'https://order-hub.local/problems/unauthorized', title: 'Unauthorized', status: 401,
        detail: expected ? 'a valid "Authorization: Bearer <token>" header is required' : 'HUB_ADMIN_TOKEN is not set on the hub; the API is closed',
      }).body, { status: 401, headers: { 'content-type': 'application/problem+json', 'www-authenticate': 'Bearer realm="order-hub"' } });
    }
    await next();
    return undefined;
  };
}
