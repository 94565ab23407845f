/** The OpenAPI description of the status page (`routes/status-page.tsx`), spread into `openapi.ts`. */

const page = (description: string) => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });
const seeOther = { description: 'done; back to the page (`Location: /`)' };
const form = (properties: Record<string, unknown>, required: string[]) => ({
  required: true,
  content: { 'application/x-www-form-urlencoded': { schema: { type: 'object', required, properties } } },
});
const csrf = { type: 'string', description: "the session's CSRF token, as the page's forms carry it" };
const refused = page("the form's CSRF token is missing or not the session's, or the post came from another site");
const noSession = page('no session (or it expired): the login form');

/** Paths of the status page: HTML for browsers, a session cookie instead of a bearer token. */
export const statusPageOpenApiPaths = {
  '/': {
    get: {
      summary: 'The status page: flow with live counts, the exception desk by deadline, recent orders, the last hour\'s throughput; the login form without a session',
      responses: { 200: page('the page (reloads itself every 10 s), or the login form') },
    },
  },
  '/login': {
    post: {
      summary: 'Logs in with an API token (checked as the API checks a bearer token); sets an HttpOnly, SameSite=Strict session cookie holding an opaque id',
      requestBody: form({ token: { type: 'string' } }, ['token']),
      responses: { 303: seeOther, 400: page('not a form post from this site'), 401: page('the token is not valid'), 413: page('body over the limit') },
    },
  },
  '/logout': {
    post: {
      summary: 'Ends the session',
      requestBody: form({ csrf }, ['csrf']),
      responses: { 303: seeOther, 401: noSession, 403: refused, 413: page('body over the limit') },
    },
  },
  '/ui/exceptions/{id}/resolve': {
    post: {
      summary: 'Resolves an exception with an acknowledgement: `POST /api/exceptions/{id}/resolve` on behalf of the session (same role check and audit)',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
      requestBody: form({ csrf, note: { type: 'string', maxLength: 500 } }, ['csrf']),
      responses: {
        303: seeOther, 401: noSession, 403: page("the session's role may not resolve exceptions, or the CSRF token was refused"),
        404: page('no such exception'), 409: page('the exception is not open'), 413: page('body over the limit'), 422: page('the API refused the resolution'),
      },
    },
  },
} as const;
