import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newApiKey } from '../core/config/api-keys.ts';
import { loadConfig, parseConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { bearerAuth } from '../routes/auth.ts';
import { openApiDocument } from '../routes/openapi.ts';
import { principalOf } from '../routes/principal.ts';
import { requiredRole, roleRules } from '../routes/roles.ts';
import { adminToken, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

// API keys and roles against the real hub: who may call which `/api` route, what the
// audit trail and the timeline say about who did it, and that no token reaches the log.
const secret = 'website-secret';
const namespace = testNamespace('apiauth');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
const viewer = newApiKey('ops-viewer', 'viewer');
const operator = newApiKey('ops-desk', 'operator');
const admin = newApiKey('catalogue', 'admin');
const logLines: string[] = [];
let hub: Hub;

beforeAll(async () => {
  const demo = loadConfig(defaultConfigPath);
  const config = parseConfig({
    ...demo,
    validation: { ...demo.validation, payment: { cashOnDelivery: { countries: ['US'] } } },
    apiKeys: [viewer.entry, operator.entry, admin.entry],
  }, 'test config');
  // Everything the hub logs, at every level, kept to be searched for tokens.
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { logLines.push(chunk.toString('utf8')); done(); } });
  hub = await startHub(env, { roles: ['worker'], logger: pino({ level: 'trace' }, sink), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

const call = (method: string, path: string, authorization?: string, body?: unknown) => Promise.resolve(hub.app.request(path, {
  method,
  headers: { 'content-type': 'application/json', ...(authorization === undefined ? {} : { authorization }) },
  ...(body === undefined ? {} : { body: JSON.stringify(body) }),
}));
const as = (token: string) => `Bearer ${token}`;

/** Every operation the OpenAPI document lists under `/api`, its path parameters filled with dummies. */
const operations = Object.entries(openApiDocument.paths as Record<string, Record<string, unknown>>)
  .filter(([path]) => path.startsWith('/api'))
  .flatMap(([path, item]) => Object.keys(item)
    .filter((m) => ['get', 'put', 'post', 'patch', 'delete'].includes(m))
    .map((m) => ({
      method: m.toUpperCase(),
      template: path,
      path: path.replace(/\{([^}]+)\}/g, (_, name: string) => (name === 'id' ? randomUUID() : name === 'email' ? 'someone@example.com' : `dummy-${name}`)),
    })));
const reads = operations.filter((o) => o.method === 'GET');
const writes = operations.filter((o) => o.method !== 'GET');
const adminOnly = writes.filter((o) => requiredRole(o.method, o.path) === 'admin');
const operatorWrites = writes.filter((o) => requiredRole(o.method, o.path) === 'operator');

async function expectProblem(response: Response, status: number): Promise<Record<string, unknown>> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toMatchObject({ status });
  return body;
}

describe('the route table', () => {
  it('lists a good part of the API, reads and writes', () => {
    expect(reads.length).toBeGreaterThan(10);
    expect(writes.length).toBeGreaterThan(8);
  });

  it('names only routes the hub documents, with their method', () => {
    for (const rule of roleRules) {
      const documented = `/api${rule.path.slice('/api'.length).replace(/:([A-Za-z]+)/g, '{$1}')}`;
      const item = (openApiDocument.paths as Record<string, Record<string, unknown>>)[documented];
      expect(item?.[rule.method.toLowerCase()], `${rule.method} ${rule.path}`).toBeDefined();
    }
  });

  it('lets a viewer read everything, asks an operator for any write, an admin for reference data and settlements', () => {
    for (const o of reads) expect(requiredRole(o.method, o.path)).toBe('viewer');
    expect(adminOnly.map((o) => `${o.method} ${o.template}`).sort()).toEqual([
      'POST /api/settlements/{provider}', 'PUT /api/inventory/{warehouse}/{sku}', 'PUT /api/products/{sku}',
    ]);
    expect(requiredRole('POST', '/api/not-a-route')).toBe('operator');
    expect(requiredRole('DELETE', '/api/products/x')).toBe('operator');
    expect(requiredRole('PUT', '/api/products/x/')).toBe('admin');
    expect(requiredRole('PUT', '/api/products')).toBe('operator');
  });
});

describe('every /api route refuses a request without a valid token', () => {
  it('no Authorization header: 401 problem+json with a Bearer challenge', async () => {
    for (const o of operations) {
      const response = await call(o.method, o.path, undefined, o.method === 'GET' ? undefined : {});
      const body = await expectProblem(response, 401);
      expect(body.detail, `${o.method} ${o.template}`).toMatch(/Authorization: Bearer/);
      expect(response.headers.get('www-authenticate')).toBe('Bearer realm="order-hub"');
    }
  });

  it('a wrong token, another scheme, or a valid token not after "Bearer": 401', async () => {
    for (const o of operations) {
      for (const authorization of [as('not-a-key'), `Basic ${Buffer.from(`admin:${adminToken}`).toString('base64')}`, admin.token, as(''), as(`${admin.token}x`)]) {
        await expectProblem(await call(o.method, o.path, authorization, o.method === 'GET' ? undefined : {}), 401);
      }
    }
  });

  it('never answers an arbitrary Authorization header with anything but 401', async () => {
    await fc.assert(fc.asyncProperty(
      fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.string().map((s) => `Bearer ${s}`), fc.stringMatching(/^[Bb][Ee][Aa][Rr][Ee][Rr][ \t]*[\x21-\x7e]{0,90}$/)),
      fc.constantFrom(...operations),
      async (header, o) => {
        // Only what an HTTP client can send at all: the Headers class refuses the rest.
        try {
          new Headers({ authorization: header });
        } catch {
          return;
        }
        const response = await call(o.method, o.path, header, o.method === 'GET' ? undefined : {});
        expect(response.status).toBe(401);
        expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      },
    ), { numRuns: 300 });
  });
});

describe('roles', () => {
  it('a viewer reads every route, and gets 403 naming both roles on every write', async () => {
    for (const o of reads) {
      const response = await call('GET', o.path, as(viewer.token));
      expect([401, 403], `${o.template}: ${response.status}`).not.toContain(response.status);
    }
    for (const o of writes) {
      const body = await expectProblem(await call(o.method, o.path, as(viewer.token), {}), 403);
      const needed = requiredRole(o.method, o.path);
      expect(body).toMatchObject({ code: 'forbidden', requiredRole: needed, role: 'viewer', key: 'ops-viewer' });
      expect(body.detail).toBe(`${o.method} ${o.path} needs the ${needed} role; the key "ops-viewer" is a viewer`);
    }
  });

  it('a write to a route the hub does not know needs an operator: 403 for a viewer, 404 for an operator', async () => {
    await expectProblem(await call('POST', '/api/nowhere', as(viewer.token), {}), 403);
    await expectProblem(await call('POST', '/api/nowhere', as(operator.token), {}), 404);
    await expectProblem(await call('GET', '/api/nowhere', as(viewer.token)), 404);
  });

  it('an operator gets past the role check on every operator write, and 403 on reference data and settlements', async () => {
    for (const o of operatorWrites) {
      const response = await call(o.method, o.path, as(operator.token), {});
      expect([401, 403], `${o.method} ${o.template}: ${response.status}`).not.toContain(response.status);
    }
    for (const o of adminOnly) {
      const body = await expectProblem(await call(o.method, o.path, as(operator.token), {}), 403);
      expect(body).toMatchObject({ requiredRole: 'admin', role: 'operator', key: 'ops-desk' });
      expect(body.detail).toMatch(/the key "ops-desk" is an operator$/);
    }
  });

  it('an admin key changes reference data, and the audit entry names the key', async () => {
    const response = await call('PUT', '/api/products/AUTH-SKU-1', as(admin.token), { name: 'Key test', category: 'test', weightGrams: 100 });
    expect(response.status).toBe(201);
    const stock = await call('PUT', '/api/inventory/dummy-warehouse/AUTH-SKU-1', as(admin.token), { onHand: 1 });
    expect(stock.status).toBe(404); // past the role check: the warehouse does not exist
    const { rows } = await hub.db.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE target = 'product:AUTH-SKU-1'`);
    expect(rows).toEqual([{ actor: 'catalogue' }]);
  });

  it('HUB_ADMIN_TOKEN stays the bootstrap admin, audited as admin', async () => {
    const response = await call('PUT', '/api/products/AUTH-SKU-2', as(adminToken), { name: 'Bootstrap', category: 'test', weightGrams: 1 });
    expect(response.status).toBe(201);
    const { rows } = await hub.db.query<{ actor: string }>(`SELECT actor FROM audit_log WHERE target = 'product:AUTH-SKU-2'`);
    expect(rows).toEqual([{ actor: 'admin' }]);
  });

  it("an operator's write goes through the pipeline under the key's name: audit entry and order timeline", async () => {
    const order = anOrder({
      externalId: 'AUTH-COD-1', payment: { method: 'cash_on_delivery', provider: null, status: 'pending' },
      shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('SKU2006-001', 1)],
    });
    expect((await postWebsiteOrder(hub, order, secret, 'auth-1')).status).toBe(200);
    await settled(hub);
    const found = (await (await call('GET', '/api/orders?channel=website&externalId=AUTH-COD-1', as(viewer.token))).json()) as { items: { id: string; grandTotal: number }[] };
    const { id, grandTotal } = found.items[0]!;
    const paid = await call('POST', `/api/orders/${id}/payments`, as(operator.token), { amount: grandTotal, currency: 'USD', method: 'cash_on_delivery', reference: 'auth-cash-1' });
    expect(paid.status, await paid.clone().text()).toBe(202);
    await settled(hub);
    const { rows } = await hub.db.query<{ actor: string; action: string }>('SELECT actor, action FROM audit_log WHERE target = $1', [`order:${id}`]);
    expect(rows).toEqual([{ actor: 'ops-desk', action: 'payment.record' }]);
    const detail = (await (await call('GET', `/api/orders/${id}`, as(viewer.token))).json()) as { paymentStatus: string; timeline: { actor: string; type: string }[] };
    expect(detail.paymentStatus).toBe('paid');
    const byKey = detail.timeline.filter((e) => e.actor === 'ops-desk');
    expect(byKey.length).toBeGreaterThan(0);
  });
});

describe('response headers', () => {
  it('every /api answer — read, 401, 403, 404 — is nosniff and no-store', async () => {
    const answers = [
      await call('GET', '/api/orders', as(viewer.token)),
      await call('GET', '/api/orders'),
      await call('POST', '/api/products', as(viewer.token), {}),
      await call('GET', '/api/no-such-route', as(viewer.token)),
    ];
    expect(answers.map((r) => r.status)).toEqual([200, 401, 403, 404]);
    for (const response of answers) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }
  });
});

describe('the log', () => {
  it('records refusals by key name and route, and never a token', async () => {
    const text = logLines.join('');
    expect(text).toContain('"msg":"api request refused: role too low"');
    expect(text).toContain('"key":"ops-viewer"');
    expect(text).toContain('"msg":"api request refused: no valid bearer token"');
    for (const token of [viewer.token, operator.token, admin.token, adminToken]) expect(text).not.toContain(token);
  });
});

describe('apiKeys in the config', () => {
  const demo = () => loadConfig(defaultConfigPath);
  const problemsOf = (apiKeys: unknown[]) => {
    try {
      parseConfig({ ...demo(), apiKeys }, 'test config');
    } catch (error) {
      return (error as Error).message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''));
    }
    return [];
  };

  it('refuses a name used twice, the name admin, and one token under two names', () => {
    const a = newApiKey('desk', 'operator').entry;
    expect(problemsOf([a, { ...newApiKey('desk', 'viewer').entry }])).toEqual(['/apiKeys/1/name "desk" is defined twice (first at /apiKeys/0/name)']);
    expect(problemsOf([newApiKey('admin', 'admin').entry])).toEqual(['/apiKeys/0/name "admin" is the name of HUB_ADMIN_TOKEN; give the key another name']);
    expect(problemsOf([a, { ...a, name: 'other', sha256: a.sha256.toUpperCase() }])).toEqual([`/apiKeys/1/sha256 "${a.sha256}" is defined twice (first at /apiKeys/0/sha256)`]);
  });

  it('refuses an unknown role and anything but a hex SHA-256', () => {
    expect(problemsOf([{ name: 'x', role: 'root', sha256: 'a'.repeat(64) }])).toEqual([expect.stringMatching(/^\/apiKeys\/0\/role must be equal to one of the allowed values/)]);
    expect(problemsOf([{ name: 'x', role: 'viewer', sha256: 'secret-token' }])).toEqual([expect.stringMatching(/^\/apiKeys\/0\/sha256 must match pattern/)]);
  });

  it('`hub hash-token` prints a token and the entry that admits it', async () => {
    const { stdout } = await promisify(execFile)('npx', ['tsx', 'bin/hub.ts', 'hash-token', '--name', 'cli-key', '--role', 'viewer'], { cwd: new URL('..', import.meta.url).pathname, env: { ...process.env, HUB_NAMESPACE: namespace } });
    const lines = stdout.trim().split('\n');
    const token = lines[1]!;
    const entry = JSON.parse(lines.at(-1)!) as { name: string; role: string; sha256: string };
    expect(entry).toMatchObject({ name: 'cli-key', role: 'viewer', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(stdout.split(token)).toHaveLength(2); // printed once; the entry holds its digest only
    const config = parseConfig({ ...demo(), apiKeys: [entry] }, 'test config');
    const app = new Hono();
    app.use('/api/*', bearerAuth({ adminToken: undefined, apiKeys: config.apiKeys ?? [] }));
    app.get('/api/whoami', (c) => c.json(principalOf(c)));
    const answer = await app.request('/api/whoami', { headers: { authorization: as(token) } });
    expect(await answer.json()).toEqual({ name: 'cli-key', role: 'viewer' });
    await expectProblem(await app.request('/api/whoami', { headers: { authorization: as(adminToken) } }), 401);
    await expectProblem(await app.request('/api/whoami', { method: 'POST', headers: { authorization: as(token) } }), 403);
  }, 60_000);
});

describe('body size', () => {
  it('refuses a body over 1 MiB with 413 problem+json before reading it, settlement reports aside', async () => {
    const huge = JSON.stringify({ text: 'x'.repeat(1024 * 1024 + 10) });
    const comment = await hub.app.request('/api/exceptions/1/comment', { method: 'POST', body: huge, headers: { authorization: as(operator.token), 'content-type': 'application/json' } });
    await expectProblem(comment, 413);
    const login = await hub.app.request('/login', { method: 'POST', body: `token=${'x'.repeat(20_000)}`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(login.status).toBe(413);
    // a settlement report of 2 MiB is read (and found to hold no rows), not refused for its size
    const report = await hub.app.request('/api/settlements/stripe', { method: 'POST', body: 'x'.repeat(2 * 1024 * 1024), headers: { authorization: as(admin.token), 'content-type': 'text/csv' } });
    expect(report.status).not.toBe(413);
    expect(report.status).toBeLessThan(500);
  });
});

