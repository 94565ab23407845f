import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { HubError } from '../core/errors.ts';

/** An RFC 9457 problem document. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  [extension: string]: unknown;
}

export function problemResponse(problem: Problem): Response {
  return new Response(JSON.stringify(problem), {
    status: problem.status,
    headers: { 'content-type': 'application/problem+json' },
  });
}

const titles: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict',
  413: 'Content Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Content', 503: 'Service Unavailable',
};

/** A problem from a HubError: `type` names the error code so clients can branch on it. */
export function problemFromError(error: HubError): Problem {
  return {
    type: `https://order-hub.local/problems/${error.code}`,
    title: titles[error.status] ?? 'Error',
    status: error.status,
    detail: error.message,
    code: error.code,
    ...(error.details ?? {}),
  };
}

/**
 * The one error handler: HubErrors and Hono's own HTTP exceptions become their problem
 * documents; anything else is a 500 without internals, logged by the caller.
 */
export function onError(log: (error: unknown) => void) {
  return (error: Error, c: Context): Response => {
    if (error instanceof HubError && error.status < 500) return problemResponse(problemFromError(error));
    if (error instanceof HTTPException) {
      return problemResponse({ type: 'about:blank', title: titles[error.status] ?? 'Error', status: error.status, detail: error.message });
    }
    log(error);
    const status = error instanceof HubError ? error.status : 500;
    return problemResponse({
      type: 'about:blank', title: status === 503 ? 'Service Unavailable' : 'Internal Server Error', status,
      detail: status === 503 ? error.message : 'the hub failed to handle this request; it has been logged',
      instance: c.req.path,
    });
  };
}
