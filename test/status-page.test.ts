import { mkdirSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../core/config/api-keys.ts';
import { loadConfig, parseConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { sessionCookie } from '../routes/status-page.tsx';
import { adminToken, eventually } from './support/env.ts';
import { postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine } from './support/orders.ts';

// The status page against a real hub (API and worker roles on a real port): the login and
// its cookie, CSRF and security headers through `app.request()`, then a real headless
// Chromium that logs in, finds an exception, resolves it and sees it gone.
const secret = 'website-secret';
const viewer = newApiKey('wall-screen', 'viewer');
const operator = newApiKey('ops-desk', 'operator');
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let exceptionId: number;
let orderNumber: string;

beforeAll(async () => {
  const demo = loadConfig(defaultConfigPath);
  const config = parseConfig({ ...demo, apiKeys: [viewer.entry, operator.entry] }, 'test config');
  t = await startTestHub('statuspage', ['api', 'worker'], { config, env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = t.hub;
  // An order for a SKU the catalogue does not know: held, with an exception for the catalogue owner.
  const order = anOrder({ channel: 'website', lines: [orderLine('NO-SUCH-SKU', 1)] });
  expect((await postWebsiteOrder(hub, order, secret, 'evt-status-page-1')).status).toBe(200);
  await settled(hub);
  const row = await eventually(async () => {
    const { rows } = await hub.db.query<{ id: number; orderNumber: string }>(
      `SELECT x.id, o.order_number AS "orderNumber" FROM exceptions x JOIN orders o ON o.id = x.order_id WHERE x.status = 'open'`);
    return rows[0];
  }, 15_000, 'the unknown-SKU exception');
  exceptionId = row.id;
  orderNumber = row.orderNumber;
});
afterAll(async () => {
  await t?.stop();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const formHeaders = (cookie?: string, extra: Record<string, string> = {}) => ({
  'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}), ...extra,
});

/** Logs in through `POST /login` and answers the `name=value` cookie pair and the page's CSRF token. */
async function logIn(token: string): Promise<{ cookie: string; csrf: string }> {
  const response = await hub.app.request('/login', { method: 'POST', headers: formHeaders(), body: form({ token }) });
  expect(response.status).toBe(303);
  const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0] ?? '';
  const page = await (await hub.app.request('/', { headers: { cookie } })).text();
  const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1];
  expect(csrf).toBeTruthy();
  return { cookie, csrf: csrf ?? '' };
}

const openExceptionCount = async () => {
  const { rows } = await hub.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM exceptions WHERE id = $1 AND status = 'open'`, [exceptionId]);
  return rows[0]?.n ?? 0;
};

describe('the status page over app.request()', () => {
  it('shows the login form without a session, with the security headers', async () => {
    const response = await hub.app.request('/');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    const body = await response.text();
    expect(body.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(body).toContain('name="token"');
    expect(body).not.toContain('Exception desk');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'none'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    // The one style sheet carries the nonce the policy allows.
    const nonce = /style-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(body).toContain(`<style nonce="${nonce}">`);
  });

  it('leaves the other routes alone: /health, /api and their headers', async () => {
    const health = await hub.app.request('/health');
    expect(health.status).toBe(200);
    expect(health.headers.get('content-security-policy')).toBeNull();
    const api = await hub.app.request('/api/exceptions');
    expect(api.status).toBe(401);
    expect(api.headers.get('content-type')).toBe('application/problem+json');
  });

  it('answers a wrong token with a 401 page and no cookie', async () => {
    const response = await hub.app.request('/login', { method: 'POST', headers: formHeaders(), body: form({ token: 'not-a-token' }) });
    expect(response.status).toBe(401);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(await response.text()).toContain('That token is not valid.');
    const empty = await hub.app.request('/login', { method: 'POST', headers: formHeaders(), body: form({ token: '' }) });
    expect(empty.status).toBe(401);
    const json = await hub.app.request('/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token: adminToken }) });
    expect(json.status).toBe(400);
    expect(json.headers.get('set-cookie')).toBeNull();
  });

  it('sets an HttpOnly, SameSite=Strict session cookie holding an opaque id mapped in Redis to the key', async () => {
    const response = await hub.app.request('/login', { method: 'POST', headers: formHeaders(), body: form({ token: operator.token }) });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(new RegExp(`^${sessionCookie}=[A-Za-z0-9_-]{43};`));
    expect(setCookie).toMatch(/; HttpOnly/i);
    expect(setCookie).toMatch(/; SameSite=Strict/i);
    expect(setCookie).toMatch(/; Path=\//);
    expect(setCookie).not.toMatch(/; Secure/i);
    expect(setCookie).not.toContain(operator.token);
    const id = /^[^=]+=([^;]+)/.exec(setCookie)?.[1] ?? '';
    const stored = JSON.parse((await hub.redis.get(`${hub.namespace}:ui:session:${id}`)) ?? '{}');
    expect(stored.principal).toEqual({ name: 'ops-desk', role: 'operator' });
    expect(JSON.stringify(stored)).not.toContain(operator.token);
    const ttl = await hub.redis.ttl(`${hub.namespace}:ui:session:${id}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(8 * 3600);

    const behindTls = await hub.app.request('/login', { method: 'POST', headers: formHeaders(undefined, { 'x-forwarded-proto': 'https' }), body: form({ token: operator.token }) });
    expect(behindTls.headers.get('set-cookie')).toMatch(/; Secure/i);
  });

  it('shows a logged-in session the page, refreshing itself, with the exception and the order', async () => {
    const { cookie } = await logIn(adminToken);
    const response = await hub.app.request('/', { headers: { cookie } });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).toContain('<meta http-equiv="refresh" content="10"/>');
    expect(body).toContain(`data-exception="${exceptionId}"`);
    expect(body).toContain(orderNumber);
    expect(body).toMatch(/data-stage="exceptions"[^>]*>exceptions<b>1<\/b>/);
    expect(body).toContain('1 orders received');
    // Queues as GET /api/flows reports them: the validate stage finished the order's message.
    expect(body).toContain('from GET /api/flows');
    expect(body).toMatch(new RegExp(`<tr data-queue="${hub.namespace}\\.stage\\.validate"><td>[^<]+</td><td>stage</td><td>0</td><td>1</td>`));
    expect(body).toMatch(/data-stage="validate"[^]*?queue 0 · [1-9]\d*\/5 min/);
  });

  it('refuses posts without the session\'s CSRF token, or from another site', async () => {
    const { cookie, csrf } = await logIn(adminToken);
    const resolve = `/ui/exceptions/${exceptionId}/resolve`;
    const missing = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(cookie), body: form({ note: 'x' }) });
    expect(missing.status).toBe(403);
    const wrong = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(cookie), body: form({ csrf: `${csrf}x` }) });
    expect(wrong.status).toBe(403);
    const other = await logIn(adminToken);
    const another = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(cookie), body: form({ csrf: other.csrf }) });
    expect(another.status).toBe(403);
    const foreign = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(cookie, { origin: 'https://evil.example' }), body: form({ csrf }) });
    expect(foreign.status).toBe(403);
    const crossSite = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(cookie, { 'sec-fetch-site': 'cross-site', origin: 'null' }), body: form({ csrf }) });
    expect(crossSite.status).toBe(403);
    const crossSiteLogin = await hub.app.request('/login', { method: 'POST', headers: formHeaders(undefined, { 'sec-fetch-site': 'cross-site' }), body: form({ token: adminToken }) });
    expect(crossSiteLogin.status).toBe(400);
    expect(crossSiteLogin.headers.get('set-cookie')).toBeNull();
    const logout = await hub.app.request('/logout', { method: 'POST', headers: formHeaders(cookie), body: form({}) });
    expect(logout.status).toBe(403);
    const noSession = await hub.app.request(resolve, { method: 'POST', headers: formHeaders(), body: form({ csrf }) });
    expect(noSession.status).toBe(401);
    expect(await openExceptionCount()).toBe(1);
    // The session survived every refusal.
    expect(await (await hub.app.request('/', { headers: { cookie } })).text()).toContain('Exception desk');
  });

  it('holds a viewer session to the API\'s role rule: resolving is refused with 403', async () => {
    const { cookie, csrf } = await logIn(viewer.token);
    const response = await hub.app.request(`/ui/exceptions/${exceptionId}/resolve`, { method: 'POST', headers: formHeaders(cookie), body: form({ csrf }) });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('needs the operator role');
    expect(await openExceptionCount()).toBe(1);
  });

  it('answers a malformed exception number with a 404 page, not a 5xx', async () => {
    const { cookie, csrf } = await logIn(adminToken);
    for (const id of ['abc', '0', '1e9', '99999999999999999999']) {
      const response = await hub.app.request(`/ui/exceptions/${id}/resolve`, { method: 'POST', headers: formHeaders(cookie), body: form({ csrf }) });
      expect(response.status).toBe(404);
    }
    const unknown = await hub.app.request('/ui/exceptions/987654/resolve', { method: 'POST', headers: formHeaders(cookie), body: form({ csrf }) });
    expect(unknown.status).toBe(404);
  });

  it('ends the session on logout', async () => {
    const { cookie, csrf } = await logIn(adminToken);
    const response = await hub.app.request('/logout', { method: 'POST', headers: formHeaders(cookie), body: form({ csrf }) });
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toMatch(new RegExp(`^${sessionCookie}=;.*Max-Age=0`, 'i'));
    const id = cookie.split('=')[1] ?? '';
    expect(await hub.redis.exists(`${hub.namespace}:ui:session:${id}`)).toBe(0);
    expect(await (await hub.app.request('/', { headers: { cookie } })).text()).toContain('name="token"');
  });
});

describe('the status page in headless Chromium', () => {
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
  });

  it('logs in with a token, sees the exception, resolves it and sees it gone', async () => {
    browser = await chromium.launch({ executablePath: chromiumPath });
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const base = `http://127.0.0.1:${hub.port}`;
    const blocked: string[] = [];
    page.on('console', (message) => { if (message.type() === 'error') blocked.push(message.text()); });

    await page.goto(`${base}/`);
    await page.fill('#token', operator.token);
    await Promise.all([page.waitForNavigation(), page.click('button[type=submit]')]);
    expect({ url: page.url(), alert: await page.locator('[role=alert]').allTextContents() }).toEqual({ url: `${base}/`, alert: [] });

    const row = page.locator(`tr[data-exception="${exceptionId}"]`);
    await row.waitFor();
    expect(await row.textContent()).toContain('unknown_sku');
    expect(await page.locator('#recent-orders').textContent()).toContain(orderNumber);
    expect(await page.locator('header').textContent()).toContain('ops-desk (operator)');
    // Nothing on the page was refused by its own Content-Security-Policy.
    expect(blocked).toEqual([]);

    await row.locator('input[name=note]').fill('catalogue entry added');
    await Promise.all([page.waitForNavigation(), row.locator('button').click()]);
    // Back on the page (a refusal would leave the browser on an error page saying why).
    expect({ url: page.url(), alert: await page.locator('[role=alert]').allTextContents() }).toEqual({ url: `${base}/`, alert: [] });
    // The resolution is applied by the pipeline; the page shows the desk as it is on each load.
    await eventually(async () => {
      await page.reload();
      return (await page.locator(`tr[data-exception="${exceptionId}"]`).count()) === 0 ? true : undefined;
    }, 15_000, 'the exception to leave the desk');
    expect(await page.locator('#no-exceptions').isVisible()).toBe(true);

    mkdirSync(new URL('./artifacts/', import.meta.url), { recursive: true });
    await page.screenshot({ path: new URL('./artifacts/status-page.png', import.meta.url).pathname, fullPage: true });

    // The same resolve as through the API: resolved, audited under the session's key.
    expect(await openExceptionCount()).toBe(0);
    const { rows } = await hub.db.query<{ actor: string; action: string; detail: { action?: { type?: string }; note?: string } }>(
      `SELECT actor, action, detail FROM audit_log WHERE target = $1`, [`exception:${exceptionId}`]);
    expect(rows).toEqual([expect.objectContaining({ actor: 'ops-desk', action: 'exception.resolve' })]);
    expect(rows[0]?.detail).toMatchObject({ action: { type: 'acknowledge' }, note: 'catalogue entry added' });
  }, 60_000);
});
