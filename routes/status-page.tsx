/**
 * The status page at `GET /`: a server-rendered view of the flow, the exception desk, recent
 * orders and the last hour's throughput, for a browser logged in with an API token. Actions
 * on it are the operator API's own routes, called in-process on behalf of the session.
 */
import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { html } from 'hono/html';
import type { JSX } from 'hono/jsx/jsx-runtime';
import { NONCE, secureHeaders } from 'hono/secure-headers';
import type { Redis } from 'ioredis';
import type { Queryable } from '../core/db/pool.ts';
import { countOrdersByStatus } from '../core/db/sql/orders.ts';
import {
  inboundAwaitingNormalize, openExceptionsByDeadline, outboxBacklog, receivedAndReleasedSince, recentOrders,
} from '../core/db/sql/status-page.ts';
import { throughputByMinute } from '../core/reports/throughput.ts';
import type { FlowsReport } from '../core/reports/flows.ts';
import type { Principal } from './principal.ts';
import { LoginPage, MessagePage, StatusPage, type FlowCounts } from './status-page-views.tsx';
import { createUiSessions, csrfMatches, type UiSession } from './ui-session.ts';

/** The session cookie's name; its value is an opaque id, never a token. */
export const sessionCookie = 'hub_session';

/** The paths the status page serves (listed in the OpenAPI document as well). */
export const statusPagePaths = ['/', '/login', '/logout', '/ui/exceptions/:id/resolve'] as const;

export interface StatusPageDeps {
  db: Queryable;
  redis: Redis;
  namespace: string;
  now: () => Date;
  /** the principal a bearer token stands for, by the API's own check; undefined when refused */
  authenticate: (token: string) => Promise<Principal | undefined>;
  /** an operator-API request made in-process on behalf of `principal` (roles and audit apply) */
  callApi: (path: string, init: RequestInit, principal: Principal) => Promise<Response>;
  /** how long a login lasts; 8 hours by default (a working shift) */
  sessionTtlSeconds?: number;
}

const deskSize = 200;
const recentOrderCount = 20;
const chartMinutes = 60;

/**
 * The flows report exactly as `GET /api/flows` answers it, asked in-process for the session;
 * undefined when this process serves no flows report (no broker, say) or it failed, and the
 * page then shows what Postgres alone says.
 */
async function readFlowsReport(deps: StatusPageDeps, principal: Principal): Promise<FlowsReport | undefined> {
  const response = await deps.callApi('/api/flows', { method: 'GET' }, principal);
  if (!response.ok) return undefined;
  return (await response.json()) as FlowsReport;
}

/** What the flow diagram shows: order counts from Postgres, queues from the flows report when there is one. */
async function readFlowCounts(deps: StatusPageDeps, principal: Principal, now: Date, openExceptions: number): Promise<FlowCounts> {
  const [ordersByStatus, inboundWaiting, outbox, flows] = await Promise.all([
    countOrdersByStatus(deps.db), inboundAwaitingNormalize(deps.db), outboxBacklog(deps.db, now), readFlowsReport(deps, principal),
  ]);
  return {
    ordersByStatus, inboundWaiting, outbox, openExceptions, flows,
    source: flows
      ? 'Orders by status from Postgres; queue depths, consumers and traffic (last 5 minutes) from GET /api/flows.'
      : 'Orders by status and the outbox backlog from Postgres; this process has no flows report (GET /api/flows), so no queue depths.',
  };
}

const securePage = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    scriptSrc: ["'none'"],
    styleSrc: [NONCE],
    imgSrc: ["'self'", 'data:'],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: 'DENY',
  referrerPolicy: 'no-referrer',
  xContentTypeOptions: 'nosniff',
});

const nonceOf = (c: Context) => (c.get('secureHeadersNonce' as never) as string | undefined) ?? '';

/** A full HTML document from a page component. */
function page(c: Context, body: JSX.Element, status: 200 | 400 | 401 | 403 | 404 | 409 | 413 | 422 = 200) {
  c.header('cache-control', 'no-store');
  return c.html(html`<!DOCTYPE html>${body}`, status);
}

/** Requests served over https, directly or behind a proxy that terminates TLS. */
const overHttps = (c: Context) => new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';

/**
 * A post from another site. Browsers say so in `Sec-Fetch-Site`; the Origin header is the
 * fallback, and says nothing when it is `null` (what a browser sends for a page served with
 * `Referrer-Policy: no-referrer`, as this one is). The CSRF token is the real check.
 */
function foreignOrigin(c: Context): boolean {
  const site = c.req.header('sec-fetch-site');
  if (site !== undefined) return site !== 'same-origin' && site !== 'none';
  const origin = c.req.header('origin');
  if (origin === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host !== new URL(c.req.url).host;
  } catch {
    return true;
  }
}

/** The form fields of a post, or undefined when the body is not a form. */
async function formOf(c: Context): Promise<Record<string, unknown> | undefined> {
  const type = c.req.header('content-type') ?? '';
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)\b/i.test(type)) return undefined;
  try {
    return await c.req.parseBody();
  } catch {
    return undefined;
  }
}

/** The problem's `detail` (or title) from an API answer, for the page to show. */
async function problemDetail(response: Response): Promise<string> {
  try {
    const problem = (await response.json()) as { detail?: unknown; title?: unknown };
    if (typeof problem.detail === 'string') return problem.detail;
    return typeof problem.title === 'string' ? problem.title : `the API answered ${response.status}`;
  } catch {
    return `the API answered ${response.status}`;
  }
}

const pageStatus = (status: number) => ([400, 401, 403, 404, 409, 413, 422] as const).find((s) => s === status) ?? 422;

/** The status page's routes; mount at `/`. Security headers apply to these paths only. */
export function statusPageRoutes(deps: StatusPageDeps): Hono {
  const sessions = createUiSessions(deps.redis, deps.namespace, deps.sessionTtlSeconds ?? 8 * 3600);
  const app = new Hono();
  const smallForm = bodyLimit({ maxSize: 16 * 1024, onError: (c) => page(c, <MessagePage nonce={nonceOf(c)} title="Too large" message="the form is larger than the page ever sends" />, 413) });
  for (const path of statusPagePaths) app.use(path, securePage);

  const sessionOf = async (c: Context): Promise<{ id: string; session: UiSession } | undefined> => {
    const id = getCookie(c, sessionCookie);
    const session = await sessions.read(id);
    return id && session ? { id, session } : undefined;
  };

  /** Posts of a logged-in session with its CSRF token; anything else is refused before `handle`. */
  const sessionPost = (handle: (c: Context, s: { id: string; session: UiSession }, form: Record<string, unknown>) => Promise<Response>): MiddlewareHandler =>
    async (c) => {
      const current = await sessionOf(c);
      if (!current) return page(c, <LoginPage nonce={nonceOf(c)} message="Your session has ended; log in again." />, 401);
      const form = await formOf(c);
      if (!form || foreignOrigin(c) || !csrfMatches(current.session, form.csrf)) {
        return page(c, <MessagePage nonce={nonceOf(c)} title="Refused" message="the form's security token is missing or stale; reload the page and try again" />, 403);
      }
      return handle(c, current, form);
    };

  app.get('/', async (c) => {
    const current = await sessionOf(c);
    if (!current) {
      if (getCookie(c, sessionCookie) !== undefined) deleteCookie(c, sessionCookie, { path: '/' });
      return page(c, <LoginPage nonce={nonceOf(c)} />);
    }
    const now = deps.now();
    const [exceptions, orders, moves] = await Promise.all([
      openExceptionsByDeadline(deps.db, now, deskSize),
      recentOrders(deps.db, recentOrderCount),
      receivedAndReleasedSince(deps.db, new Date(now.getTime() - chartMinutes * 60_000), new Date(now.getTime() + 60_000)),
    ]);
    const flow = await readFlowCounts(deps, current.session.principal, now, exceptions.length);
    const throughput = throughputByMinute(moves.map((m) => ({ milestone: m.milestone, at: m.at.getTime() })), now.getTime(), chartMinutes);
    return page(c, (
      <StatusPage nonce={nonceOf(c)} csrf={current.session.csrf} principal={current.session.principal} now={now}
        flow={flow} exceptions={exceptions} orders={orders} throughput={throughput} />
    ));
  });

  app.post('/login', smallForm, async (c) => {
    const form = await formOf(c);
    if (!form || foreignOrigin(c)) return page(c, <LoginPage nonce={nonceOf(c)} message="Log in with the form on this page." />, 400);
    const token = typeof form.token === 'string' ? form.token.trim() : '';
    const principal = token === '' ? undefined : await deps.authenticate(token);
    if (!principal) return page(c, <LoginPage nonce={nonceOf(c)} message="That token is not valid." />, 401);
    const { id } = await sessions.start(principal);
    setCookie(c, sessionCookie, id, { httpOnly: true, sameSite: 'Strict', secure: overHttps(c), path: '/', maxAge: sessions.ttlSeconds });
    return c.redirect('/', 303);
  });

  app.post('/logout', smallForm, sessionPost(async (c, current) => {
    await sessions.end(current.id);
    deleteCookie(c, sessionCookie, { path: '/', secure: overHttps(c) });
    return c.redirect('/', 303);
  }));

  // Resolving from the page is the API's resolve with an acknowledgement: the same route,
  // role check and audit entry as a call with the session's key.
  app.post('/ui/exceptions/:id/resolve', smallForm, sessionPost(async (c, current, form) => {
    const id = c.req.param('id') ?? '';
    if (!/^[1-9][0-9]{0,17}$/.test(id)) return page(c, <MessagePage nonce={nonceOf(c)} title="No such exception" message={`"${id}" is not an exception number`} />, 404);
    const typed = typeof form.note === 'string' ? form.note.trim() : '';
    const note = typed === '' ? 'acknowledged on the status page' : typed;
    const response = await deps.callApi(`/api/exceptions/${id}/resolve`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ action: { type: 'acknowledge' }, note }),
    }, current.session.principal);
    if (response.ok) return c.redirect('/', 303);
    return page(c, <MessagePage nonce={nonceOf(c)} title={`Exception ${id} not resolved`} message={await problemDetail(response)} />, pageStatus(response.status));
  }));

  return app;
}
