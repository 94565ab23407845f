import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type Hub } from '../core/hub.ts';
import { quietLogger, removeNamespace, shopifySecret, testEnv, testNamespace } from './support/env.ts';

// Whatever arrives at a webhook — any bytes, any headers, correctly signed or not — the hub
// answers with a clear 2xx/4xx, never a 5xx, and keeps working.
const secrets = { WOOCOMMERCE_WEBHOOK_SECRET: 'wc-secret', WEBSITE_WEBHOOK_SECRET: 'web-secret', APP_WEBHOOK_SECRET: 'app-secret' };
const namespace = testNamespace('fuzz');
const env = testEnv(namespace, secrets);
let hub: Hub;

beforeAll(async () => {
  hub = await startHub(env, { roles: ['api'], port: 0, logger: quietLogger() });
});
afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

const base64Hmac = (secret: string, body: Uint8Array) => createHmac('sha256', secret).update(body).digest('base64');
/** The own-channel scheme over raw bytes (any bytes, not only valid UTF-8). */
const ownChannelSignature = (secret: string, body: Uint8Array) => {
  const t = Math.floor(Date.now() / 1000);
  return `t=${t},v1=${createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex')}`;
};
/** Headers that make the body pass each channel's signature check, so it reaches the parser. */
const signedFor: Record<string, (body: Uint8Array, topic: string) => Record<string, string>> = {
  shopify: (body, topic) => ({ 'x-shopify-hmac-sha256': base64Hmac(shopifySecret, body), 'x-shopify-topic': topic }),
  woocommerce: (body, topic) => ({ 'x-wc-webhook-signature': base64Hmac(secrets.WOOCOMMERCE_WEBHOOK_SECRET, body), 'x-wc-webhook-topic': topic }),
  website: (body, topic) => ({ 'x-hub-signature': ownChannelSignature(secrets.WEBSITE_WEBHOOK_SECRET, body), 'x-hub-topic': topic }),
  app: (body, topic) => ({ 'x-hub-signature': ownChannelSignature(secrets.APP_WEBHOOK_SECRET, body), 'x-hub-topic': topic }),
};
const samples = [
  readFileSync(new URL('./fixtures/shopify/orders-create.sample.json', import.meta.url), 'utf8'),
  readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url), 'utf8'),
  readFileSync(new URL('../docs/examples/website-order.json', import.meta.url), 'utf8'),
];

/** Bodies from harmless to hostile: raw bytes, any JSON, deep nesting, huge numbers, __proto__, and cut or spliced samples. */
const bodies = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.jsonValue({ maxDepth: 4 }).map((v) => new TextEncoder().encode(JSON.stringify(v))),
  fc.integer({ min: 60, max: 3000 }).map((depth) => new TextEncoder().encode('['.repeat(depth) + ']'.repeat(depth))),
  fc.constantFrom('{"__proto__":{"polluted":1},"id":1}', '{"id":1e999}', '{"id":123456789012345678901234567890}', '', 'null', '"text"').map((t) => new TextEncoder().encode(t)),
  fc.tuple(fc.constantFrom(...samples), fc.nat(), fc.string({ maxLength: 20 })).map(([sample, cut, insert]) => {
    const at = cut % sample.length;
    return new TextEncoder().encode(sample.slice(0, at) + insert + sample.slice(at + insert.length));
  }),
);
const topics = fc.constantFrom('orders/create', 'orders/updated', 'orders/cancelled', 'order.created', 'order.updated', 'order.cancelled', 'products/update', '', 'constructor', '__proto__');
const contentTypes = fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '');

describe('webhook routes under generated input', () => {
  it('signed bodies of any shape get 200, 409 or 422, never a 5xx', async () => {
    await fc.assert(fc.asyncProperty(fc.constantFrom(...Object.keys(signedFor)), bodies, topics, contentTypes, fc.uuid(), async (source, body, topic, type, eventId) => {
      const headers = { ...signedFor[source]!(body, topic), 'content-type': type, 'x-shopify-event-id': eventId, 'x-hub-event-id': eventId };
      const response = await hub.app.request(`/webhooks/orders/${source}`, { method: 'POST', body, headers });
      expect([200, 409, 422]).toContain(response.status);
      if (response.status !== 200) expect(response.headers.get('content-type')).toBe('application/problem+json');
    }), { numRuns: 300 });
  });

  it('unsigned or wrongly signed requests, on any path and with any headers, are refused with a 4xx', async () => {
    const headerNames = fc.constantFrom('x-shopify-hmac-sha256', 'x-wc-webhook-signature', 'x-hub-signature', 'content-type', 'x-shopify-topic', 'authorization');
    await fc.assert(fc.asyncProperty(
      fc.constantFrom('shopify', 'woocommerce', 'website', 'app', 'amazon', 'nope', '%00', '..%2F..', 'a'.repeat(300)),
      bodies, fc.dictionary(headerNames, fc.string({ maxLength: 80 }).filter((v) => !/[\r\n\0]/.test(v) && v.trim() === v), { maxKeys: 4 }),
      async (source, body, headers) => {
        const response = await hub.app.request(`/webhooks/orders/${source}`, { method: 'POST', body, headers });
        expect(response.status).toBeLessThan(500);
        if (response.status !== 200) expect(response.headers.get('content-type')).toBe('application/problem+json');
      },
    ), { numRuns: 300 });
  });

  it('still answers normally afterwards', async () => {
    expect((await hub.app.request('/ready')).status).toBe(200);
  });
});

describe('the operator API under generated input', () => {
  it('any query string, path and body gets a clear answer, never a 5xx', async () => {
    const text = fc.string({ maxLength: 40, unit: 'binary' });
    const route = fc.oneof(
      fc.record({ q: fc.dictionary(fc.constantFrom('channel', 'externalId', 'status', 'limit', 'sku', 'warehouse', 'source'), text, { maxKeys: 3 }) })
        .map(({ q }) => ({ method: 'GET', path: `/api/${['orders', 'inventory', 'inbound', 'exceptions'][Object.keys(q).length % 4]}?${new URLSearchParams(q).toString()}` })),
      fc.tuple(text, text).map(([a, b]) => ({ method: 'PUT', path: `/api/inventory/${encodeURIComponent(a)}/${encodeURIComponent(b)}` })),
      text.map((a) => ({ method: 'PUT', path: `/api/products/${encodeURIComponent(a)}` })),
      text.map((a) => ({ method: 'GET', path: `/api/orders/${encodeURIComponent(a)}` })),
      text.map((a) => ({ method: 'POST', path: `/api/inbound/${encodeURIComponent(a)}/replay` })),
    );
    const bodies = fc.oneof(fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)), fc.string({ maxLength: 60 }), fc.constant('{"onHand": 5}'));
    await fc.assert(fc.asyncProperty(route, bodies, async ({ method, path }, body) => {
      const response = await hub.app.request(path, {
        method, headers: { authorization: `Bearer ${env.adminToken}`, 'content-type': 'application/json' },
        ...(method === 'GET' ? {} : { body }),
      });
      expect(response.status, `${method} ${path}`).toBeLessThan(500);
    }), { numRuns: 300 });
  });
});

describe('text Postgres cannot store', () => {
  it('a NUL in a product name is a 400 naming the field', async () => {
    const response = await hub.app.request('/api/products/NUL-TEST', {
      method: 'PUT', headers: { authorization: `Bearer ${env.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'a\u0000b', category: 'x', weightGrams: 1 }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ problems: [expect.objectContaining({ path: '/name' })] });
  });
});
