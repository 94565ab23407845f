import type { MiddlewareHandler } from 'hono';

/**
 * On every `/api` answer, refusals included: `nosniff`, so a browser never runs a JSON body
 * as something else, and `no-store`, since answers carry orders and customers' details that
 * no shared or browser cache should keep. A route that sets its own `Cache-Control` keeps it.
 */
export const apiResponseHeaders: MiddlewareHandler = async (c, next) => {
  await next();
  const set = (headers: Headers) => {
    headers.set('x-content-type-options', 'nosniff');
    if (!headers.has('cache-control')) headers.set('cache-control', 'no-store');
  };
  try {
    set(c.res.headers);
  } catch {
    // A response whose headers are immutable: copy it first.
    c.res = new Response(c.res.body, c.res);
    set(c.res.headers);
  }
};
