import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shopify } from '../connectors/shopify.ts';
import type { InboundRequest, NormalizeResult } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { canonicalOrderSchema, type CanonicalOrder } from '../schemas/canonical-order.ts';

// Shopify's own sample, byte for byte (see the .md beside it); the signature is over these bytes.
const rawBody = readFileSync(new URL('./fixtures/shopify/orders-create.sample.json', import.meta.url));
const SECRET = 'test-shopify-client-secret';
const PUBLISHED_HMAC = 'Qf/9+5VT/tfzKy1F2HkfCmgc9eZM5MHHuX0SnYWjdwI=';
const DELIVERY = { eventId: null, topic: 'orders/create' };

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
const isCanonicalOrder = ajv.compile(canonicalOrderSchema);

function request(body: Buffer, hmac: string | undefined): InboundRequest {
  return { rawBody: body, headers: { 'x-shopify-hmac-sha256': hmac, 'x-shopify-topic': 'orders/create' } };
}

/** a fresh copy of the parsed fixture, big ids as strings */
function fixture(): Record<string, unknown> {
  return parseJsonLossless(rawBody.toString('utf8')) as Record<string, unknown>;
}

function normalizedFixture(): CanonicalOrder {
  const result = shopify.normalize(fixture(), DELIVERY);
  if (!result.ok) throw new Error(`fixture did not normalize: ${JSON.stringify(result.problems)}`);
  return result.order;
}

function problemsOf(body: unknown): NormalizeResult & { ok: false } {
  const result = shopify.normalize(body, DELIVERY);
  if (result.ok) throw new Error('expected problems, got an order');
  return result;
}

describe('shopify.verify', () => {
  it('accepts the published vector', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), SECRET, new Date())).toBe(true);
  });

  it('rejects a body with one byte flipped', () => {
    const tampered = Buffer.from(rawBody);
    tampered[100] = (tampered[100] ?? 0) ^ 0x01;
    expect(shopify.verify(request(tampered, PUBLISHED_HMAC), SECRET, new Date())).toBe(false);
  });

  it('rejects the wrong secret, and an empty one', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), 'another-secret', new Date())).toBe(false);
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), '', new Date())).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(shopify.verify(request(rawBody, undefined), SECRET, new Date())).toBe(false);
    expect(shopify.verify(request(rawBody, ''), SECRET, new Date())).toBe(false);
  });

  it('rejects a header of the wrong length without throwing', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC.slice(0, -1, new Date())), SECRET)).toBe(false);
    expect(shopify.verify(request(rawBody, `${PUBLISHED_HMAC}=`), SECRET, new Date())).toBe(false);
    expect(shopify.verify(request(rawBody, 'é'.repeat(44, new Date())), SECRET)).toBe(false);
  });
});

describe('shopify.describe', () => {
  const describeHeaders = (headers: Record<string, string | undefined>) =>
    shopify.describe({ rawBody: Buffer.alloc(0), headers });

  it('takes the event id, else the webhook id, else null', () => {
    expect(
      describeHeaders({ 'x-shopify-event-id': 'evt-1', 'x-shopify-webhook-id': 'wh-1', 'x-shopify-topic': 'orders/create' }),
    ).toEqual({ eventId: 'evt-1', topic: 'orders/create' });
    expect(describeHeaders({ 'x-shopify-webhook-id': 'wh-1', 'x-shopify-topic': 'orders/paid' })).toEqual({
      eventId: 'wh-1',
      topic: 'orders/paid',
    });
    expect(describeHeaders({})).toEqual({ eventId: null, topic: '' });
  });

  it('turns only orders/create into orders', () => {
    expect(shopify.orderTopics).toEqual(['orders/create']);
    expect(shopify.channel).toBe('shopify');
    expect(shopify.secretName).toBe('SHOPIFY_WEBHOOK_SECRET');
  });
});

describe('shopify.normalize of the official sample', () => {
  it('keeps every id exact', () => {
    const order = normalizedFixture();
    expect(order.externalId).toBe('820982911946154508');
    expect(order.customer.id).toBe('115310627314723954');
    expect(order.lines.map((line) => line.externalLineId)).toEqual([
      '487817672276298554',
      '976318377106520349',
      '315789986012684393',
    ]);
  });

  it('maps the order', () => {
    const order = normalizedFixture();
    expect(isCanonicalOrder(order)).toBe(true);
    expect(order).toMatchObject({
      channel: 'shopify',
      externalNumber: '#9999',
      placedAt: '2022-01-01T00:00:00.000Z', // 2021-12-31T19:00:00-05:00
      currency: 'USD',
      customer: { email: 'jon@example.com', phone: null, name: 'John Smith', locale: 'en' },
      // the sample's numbers do not add up (see the .md); they are taken as given
      totals: { subtotal: 36997, discounts: 2000, shipping: 1000, tax: 0, grandTotal: 35997 },
      payment: { method: 'card', provider: 'visa', status: 'voided' },
      notes: null,
      tags: ['tag1', 'tag2'],
      flags: { gift: false, priority: false, test: true },
    });
    expect(order.lines).toEqual([
      { externalLineId: '487817672276298554', sku: 'SKU2006-001', name: 'Aviator sunglasses', quantity: 1, unitPrice: 8999, discount: 0, tax: 0 },
      { externalLineId: '976318377106520349', sku: 'SKU2006-020', name: 'Mid-century lounger', quantity: 1, unitPrice: 15999, discount: 0, tax: 0 },
      { externalLineId: '315789986012684393', sku: 'SKU2006-035', name: 'Coffee table', quantity: 1, unitPrice: 11999, discount: 0, tax: 0 },
    ]);
    expect(order.shippingAddress).toEqual({
      name: 'Steve Shipper',
      company: 'Shipping Company',
      line1: '123 Shipping Street',
      line2: null,
      city: 'Shippington',
      region: 'KY',
      postalCode: '40003',
      country: 'US',
      phone: '555-555-SHIP',
    });
    expect(order.billingAddress).toEqual(order.shippingAddress);
  });

  it('does not depend on the topic', () => {
    expect(shopify.normalize(fixture(), { eventId: 'e', topic: 'orders/paid' })).toEqual(
      shopify.normalize(fixture(), DELIVERY),
    );
  });
});

describe('shopify.normalize of variations', () => {
  it('reads small ids given as numbers and falls back to admin_graphql_api_id', () => {
    const body = { ...fixture(), id: 1001 };
    expect(shopify.normalize(body, DELIVERY)).toMatchObject({ ok: true, order: { externalId: '1001' } });
    const withoutId = fixture();
    delete withoutId.id;
    expect(shopify.normalize(withoutId, DELIVERY)).toMatchObject({ ok: true, order: { externalId: '820982911946154508' } });
  });

  it('reports a line without a SKU at its path', () => {
    const body = fixture();
    const lines = body.line_items as Record<string, unknown>[];
    lines[1] = { ...lines[1], sku: '' };
    lines[2] = { ...lines[2], sku: null };
    expect(problemsOf(body).problems.map((p) => p.path)).toEqual(['/line_items/1/sku', '/line_items/2/sku']);
  });

  it('reports bad money and wrong types, all at once', () => {
    const body = { ...fixture(), total_price: '359.975', total_tax: 12, created_at: '2021-02-30T10:00:00Z', tags: ['a'] };
    expect(problemsOf(body).problems.map((p) => p.path).sort()).toEqual(['/created_at', '/tags', '/total_price']);
  });

  it('takes discounts and taxes from allocations and tax lines', () => {
    const body = fixture();
    const lines = body.line_items as Record<string, unknown>[];
    lines[0] = {
      ...lines[0],
      total_discount: null,
      discount_allocations: [{ amount: '5.00' }, { amount: '1.50' }],
      tax_lines: [{ price: '7.20' }, { price: '0.01' }],
    };
    const result = shopify.normalize(body, DELIVERY);
    expect(result).toMatchObject({ ok: true, order: { lines: [{ discount: 650, tax: 721 }, {}, {}] } });
  });

  it('sums shipping lines when there is no total shipping set', () => {
    const body = { ...fixture(), total_shipping_price_set: null, shipping_lines: [{ price: '4.99' }, { price: '1.01' }] };
    expect(shopify.normalize(body, DELIVERY)).toMatchObject({ ok: true, order: { totals: { shipping: 600 } } });
  });

  it('uses each currency’s minor unit', () => {
    const body: Record<string, unknown> = { ...fixture(), currency: 'JPY', total_price: '3600', total_line_items_price: '3700' };
    const lines = body.line_items as Record<string, unknown>[];
    body.line_items = lines.map((line) => ({ ...line, price: '1200', total_discount: '0' }));
    Object.assign(body, { total_discounts: '0', total_tax: '0', total_shipping_price_set: null, shipping_lines: [] });
    expect(shopify.normalize(body, DELIVERY)).toMatchObject({
      ok: true,
      order: { currency: 'JPY', totals: { grandTotal: 3600 }, lines: [{ unitPrice: 1200 }, {}, {}] },
    });
  });

  it.each([
    [['Cash on Delivery (COD)'], 'cash_on_delivery'],
    [['cash_on_delivery'], 'cash_on_delivery'],
    [['manual'], 'bank_transfer'],
    [['Bank Deposit'], 'bank_transfer'],
    [['gift_card'], 'store_credit'],
    [['paypal'], 'wallet'],
    [['shopify_payments'], 'card'],
    [['stripe'], 'card'],
    [[], 'unknown'],
  ])('maps gateways %j to %s', (gateways, method) => {
    const result = shopify.normalize({ ...fixture(), payment_gateway_names: gateways }, DELIVERY);
    expect(result).toMatchObject({ ok: true, order: { payment: { method, provider: gateways[0] ?? null } } });
  });

  it('maps an unknown financial status to unknown', () => {
    const result = shopify.normalize({ ...fixture(), financial_status: 'expired' }, DELIVERY);
    expect(result).toMatchObject({ ok: true, order: { payment: { status: 'unknown' } } });
  });

  it('accepts an order without customer or addresses', () => {
    const body = { ...fixture(), customer: null, billing_address: null, shipping_address: undefined };
    expect(shopify.normalize(body, DELIVERY)).toMatchObject({
      ok: true,
      order: { customer: { id: null, email: 'jon@example.com' }, billingAddress: null, shippingAddress: null },
    });
  });

  it('reports a body that is not an object at the root', () => {
    for (const body of [null, 42, 'order', [], true]) {
      const { problems } = problemsOf(body);
      expect(problems.map((p) => p.path)).toEqual(['/']);
      expect(problems[0]?.message).toBe('the order must be a JSON object');
    }
  });

  it('turns schema violations into problems', () => {
    const body = fixture();
    const lines = body.line_items as Record<string, unknown>[];
    lines[0] = { ...lines[0], sku: 'X'.repeat(200) };
    const { problems } = problemsOf(body);
    expect(problems.map((p) => p.path)).toEqual(['/lines/0/sku']);
    expect(problems[0]?.message).toMatch(/128 characters/);
  });
});

describe('shopify.normalize never throws', () => {
  /** every path (as keys) to a value inside `value`, the root excluded */
  function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== 'object' || value === null) return [];
    const entries = Array.isArray(value) ? value.map((v, i) => [i, v] as const) : Object.entries(value);
    return entries.flatMap(([key, child]) => [[...prefix, key], ...pathsOf(child, [...prefix, key])]);
  }

  function replaced(body: unknown, path: (string | number)[], replacement: unknown): unknown {
    if (path.length === 0) return replacement;
    const [head, ...rest] = path as [string | number, ...(string | number)[]];
    const copy = (Array.isArray(body) ? [...(body as unknown[])] : { ...(body as object) }) as Record<string | number, unknown>;
    copy[head] = replaced(copy[head], rest, replacement);
    return copy;
  }

  function checkOutcome(result: NormalizeResult): void {
    if (result.ok) {
      expect(isCanonicalOrder(result.order), JSON.stringify(isCanonicalOrder.errors)).toBe(true);
    } else {
      expect(result.problems.length).toBeGreaterThan(0);
      for (const problem of result.problems) {
        expect(problem.path).toMatch(/^\//);
        expect(problem.message).not.toBe('');
      }
    }
  }

  it('property: for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => checkOutcome(shopify.normalize(body, DELIVERY))));
  });

  it('property: for the sample with fields replaced by random values', () => {
    const base = fixture();
    const paths = pathsOf(base);
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(undefined, null, '', '-1.00', '1e3', '0.001', '99999999999999999999', '820982911946154508'),
    );
    const edits = fc.array(fc.tuple(fc.constantFrom(...paths), replacement), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(edits, (changes) => {
        const body = changes.reduce<unknown>((acc, [path, value]) => replaced(acc, path, value), base);
        checkOutcome(shopify.normalize(body, DELIVERY));
      }),
      { numRuns: 500 },
    );
  });
});
