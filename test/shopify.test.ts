import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { shopify } from '../connectors/shopify.ts';
import type { InboundRequest, NormalizeResult, OrderIntent } from '../connectors/types.ts';
import { normalizeDelivery, type ChannelSettings } from '../core/inbound.ts';
import { parseJsonLossless } from '../core/json.ts';
import { canonicalOrderProblems } from '../core/order/canonical.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { expectSoundOutcome, keyPaths, replaced } from './support/normalize.ts';

// Shopify's own sample, byte for byte (see the .md beside it); the signature is over these bytes.
const rawBody = readFileSync(new URL('./fixtures/shopify/orders-create.sample.json', import.meta.url));
const SAMPLE = rawBody.toString('utf8');
const SECRET = 'test-shopify-client-secret';
const PUBLISHED_HMAC = 'Qf/9+5VT/tfzKy1F2HkfCmgc9eZM5MHHuX0SnYWjdwI=';
const CREATE = { eventId: null, topic: 'orders/create' };
const SHOPIFY: ChannelSettings = { code: 'shopify' };
const TOPICS = ['orders/create', 'orders/updated', 'orders/paid', 'orders/cancelled'];

type Accepted = Extract<NormalizeResult, { ok: true }>;
type Rejected = Extract<NormalizeResult, { ok: false }>;

// ---------------------------------------------------------------------------------------------
// Delivering bodies the way the hub does: raw bytes → normalizeDelivery (parse, connector, SKU
// mapping, channel code, schema, money rules).

function deliver(body: string | Buffer, topic = 'orders/create', channel: ChannelSettings = SHOPIFY): NormalizeResult {
  return normalizeDelivery(shopify, channel, typeof body === 'string' ? Buffer.from(body) : body, { eventId: null, topic });
}

function accepted(body: string, topic = 'orders/create', channel: ChannelSettings = SHOPIFY): Accepted {
  const result = deliver(body, topic, channel);
  if (!result.ok) throw new Error(`expected an order, got problems: ${JSON.stringify(result.problems)}`);
  return result;
}

const orderOf = (body: string, channel: ChannelSettings = SHOPIFY): CanonicalOrder => accepted(body, 'orders/create', channel).order;

function rejected(body: string | Buffer, topic = 'orders/create', channel: ChannelSettings = SHOPIFY): Rejected {
  const result = deliver(body, topic, channel);
  if (result.ok) throw new Error('expected problems, got an order');
  return result;
}

const problemPaths = (body: string | Buffer, topic?: string): string[] => rejected(body, topic).problems.map((p) => p.path).sort();

/** What the connector alone makes of a body (before the hub's checks). */
const connectorResult = (body: string, topic = 'orders/create'): NormalizeResult =>
  shopify.normalize(parseJsonLossless(body), { eventId: null, topic });

// ---------------------------------------------------------------------------------------------
// Variants of the official sample by text substitution only, so every other byte (and every big
// id, a JSON number above 2^53) stays as Shopify sent it. The sample is pretty-printed: the
// order's own fields are indented 2 spaces, a customer's or address's 4, a line item's 6.

const SCALAR = String.raw`"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null`;
const escapeRegExp = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

function keyPattern(indent: number, key: string, suffix = ''): RegExp {
  const pad = ' '.repeat(indent);
  const value = String.raw`${SCALAR}|\{\}|\[\]|\{[\s\S]*?\n${pad}\}|\[[\s\S]*?\n${pad}\]`;
  return new RegExp(String.raw`(\n${pad}"${escapeRegExp(key)}": )(${value})${suffix}`, 'g');
}

/** The JSON text of `key` at `indent`; it must occur exactly once there, so a typo cannot go unnoticed. */
function valueAt(text: string, indent: number, key: string): string {
  const matches = [...text.matchAll(keyPattern(indent, key))];
  const value = matches.length === 1 ? matches[0]?.[2] : undefined;
  if (value === undefined) throw new Error(`"${key}" occurs ${matches.length} times at indent ${indent}`);
  return value;
}

/** Sets `key` at `indent` to `value` (JSON text). */
function setKey(text: string, indent: number, key: string, value: string): string {
  valueAt(text, indent, key);
  return text.replace(keyPattern(indent, key), (_match, head: string) => head + value);
}

/** Removes `key` (not the last of its object) at `indent`. */
function dropKey(text: string, indent: number, key: string): string {
  valueAt(text, indent, key);
  return text.replace(keyPattern(indent, key, ','), '');
}

/** Sets the order's own fields. */
const withOrder = (text: string, fields: Record<string, string>): string =>
  Object.entries(fields).reduce((acc, [key, value]) => setKey(acc, 2, key, value), text);

/** Edits inside one of the order's object fields (`customer`, `shipping_address`…), whose keys sit at indent 4. */
const within = (text: string, key: string, fields: Record<string, string>): string =>
  setKey(text, 2, key, Object.entries(fields).reduce((acc, [k, v]) => setKey(acc, 4, k, v), valueAt(text, 2, key)));

const json = (value: unknown): string => JSON.stringify(value);

/** Pretty JSON text for a value placed at `indent`. */
const nested = (value: unknown, indent: number): string => JSON.stringify(value, null, 2).replaceAll('\n', `\n${' '.repeat(indent)}`);

const moneySet = (amount: string, currency: string, presentment = { amount, currency }) => ({
  shop_money: { amount, currency_code: currency },
  presentment_money: { amount: presentment.amount, currency_code: presentment.currency },
});

/** The line items of a body, each as its own text. */
function lineBlocks(text: string): string[] {
  return valueAt(text, 2, 'line_items').slice('[\n'.length, -'\n  ]'.length).split(/,\n(?= {4}\{\n)/);
}

const SAMPLE_LINES = lineBlocks(SAMPLE);

const withLines = (text: string, blocks: string[]): string => setKey(text, 2, 'line_items', `[\n${blocks.join(',\n')}\n  ]`);

interface LineSpec {
  id?: string;
  sku?: string;
  name?: string;
  price?: string;
  quantity?: number;
  /** `null` writes JSON null; absent keeps the sample's "0.00" */
  totalDiscount?: string | null;
  /** amounts of `discount_allocations` */
  allocations?: string[];
  /** prices of `tax_lines` */
  taxLines?: string[];
}

function lineText(template: string, line: LineSpec, currency: string): string {
  const fields: Record<string, string> = {};
  if (line.id !== undefined) fields.id = line.id;
  if (line.sku !== undefined) fields.sku = json(line.sku);
  if (line.name !== undefined) fields.name = json(line.name);
  if (line.price !== undefined) {
    fields.price = json(line.price);
    fields.price_set = nested(moneySet(line.price, currency), 6);
  }
  if (line.quantity !== undefined) fields.quantity = String(line.quantity);
  if (line.totalDiscount !== undefined) fields.total_discount = json(line.totalDiscount);
  if (line.allocations !== undefined) {
    fields.discount_allocations = nested(
      line.allocations.map((amount, index) => ({ amount, amount_set: moneySet(amount, currency), discount_application_index: index })),
      6,
    );
  }
  if (line.taxLines !== undefined) {
    fields.tax_lines = nested(
      line.taxLines.map((price, index) => ({ channel_liable: false, price, price_set: moneySet(price, currency), rate: 0.1, title: `Tax ${index + 1}` })),
      6,
    );
  }
  return Object.entries(fields).reduce((acc, [key, value]) => setKey(acc, 6, key, value), template);
}

interface OrderSpec {
  currency?: string;
  /** replaces the line items; line i is made from the sample's line i mod 3 (new ids from the 4th) */
  lines?: LineSpec[];
  totalLineItemsPrice?: string;
  totalDiscounts?: string;
  totalTax?: string;
  taxesIncluded?: boolean;
  /** `total_shipping_price_set` (shop and presentment money) */
  shipping?: string;
  tip?: string;
  totalPrice?: string;
}

/** The official sample with its money changed; whatever is not given stays as in the sample. */
function shopifyOrder(spec: OrderSpec, text = SAMPLE): string {
  const currency = spec.currency ?? 'USD';
  const fields: Record<string, string> = {};
  if (spec.currency !== undefined) Object.assign(fields, { currency: json(currency), presentment_currency: json(currency) });
  if (spec.totalLineItemsPrice !== undefined) fields.total_line_items_price = json(spec.totalLineItemsPrice);
  if (spec.totalDiscounts !== undefined) fields.total_discounts = json(spec.totalDiscounts);
  if (spec.totalTax !== undefined) fields.total_tax = json(spec.totalTax);
  if (spec.taxesIncluded !== undefined) fields.taxes_included = json(spec.taxesIncluded);
  if (spec.shipping !== undefined) fields.total_shipping_price_set = nested(moneySet(spec.shipping, currency), 2);
  if (spec.tip !== undefined) fields.total_tip_received = json(spec.tip);
  if (spec.totalPrice !== undefined) fields.total_price = json(spec.totalPrice);
  let body = withOrder(text, fields);
  if (spec.lines !== undefined) {
    const lines = spec.lines;
    body = withLines(
      body,
      lines.map((line, i) =>
        lineText(SAMPLE_LINES[i % SAMPLE_LINES.length] ?? '', i < SAMPLE_LINES.length || line.id !== undefined ? line : { ...line, id: String(900_000_000_000_000_000n + BigInt(i)) }, currency),
      ),
    );
  }
  return body;
}

/** The sample as a plain (not cancelled) order. */
const NOT_CANCELLED = withOrder(SAMPLE, { cancelled_at: 'null', cancel_reason: 'null' });

/** Every number that is not finite (NaN, ±Infinity) anywhere inside `value`, by path. */
function nonFiniteNumbers(value: unknown, path = ''): string[] {
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [path || '/'];
  if (typeof value !== 'object' || value === null) return [];
  return Object.entries(value).flatMap(([key, child]) => nonFiniteNumbers(child, `${path}/${key}`));
}

function request(body: Buffer, hmac: string | undefined): InboundRequest {
  return { rawBody: body, headers: { 'x-shopify-hmac-sha256': hmac, 'x-shopify-topic': 'orders/create' } };
}

// ---------------------------------------------------------------------------------------------

describe('the text-substitution helpers', () => {
  it('leave the sample as it is when nothing is changed, and refuse a key that is not there', () => {
    expect(SAMPLE_LINES).toHaveLength(3);
    expect(withLines(SAMPLE, SAMPLE_LINES)).toBe(SAMPLE);
    expect(shopifyOrder({})).toBe(SAMPLE);
    expect(() => withOrder(SAMPLE, { totl_price: '"1.00"' })).toThrow(/occurs 0 times/);
    // big ids stay JSON numbers
    expect(shopifyOrder({ lines: [{}, {}, {}, {}] })).toMatch(/\n {6}"id": 900000000000000003,/);
  });
});

describe('shopify.verify', () => {
  const now = new Date();

  it('accepts the published vector', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), SECRET, now)).toBe(true);
  });

  it('ignores the clock: Shopify signs no timestamp', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), SECRET, new Date('2099-01-01T00:00:00Z'))).toBe(true);
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), SECRET, new Date(0))).toBe(true);
  });

  it('rejects a body with one byte flipped', () => {
    const tampered = Buffer.from(rawBody);
    tampered[100] = (tampered[100] ?? 0) ^ 0x01;
    expect(shopify.verify(request(tampered, PUBLISHED_HMAC), SECRET, now)).toBe(false);
  });

  it('rejects the wrong secret, and an empty one', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), 'another-secret', now)).toBe(false);
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC), '', now)).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(shopify.verify(request(rawBody, undefined), SECRET, now)).toBe(false);
    expect(shopify.verify(request(rawBody, ''), SECRET, now)).toBe(false);
  });

  it('rejects a header of the wrong length without throwing', () => {
    expect(shopify.verify(request(rawBody, PUBLISHED_HMAC.slice(0, -1)), SECRET, now)).toBe(false);
    expect(shopify.verify(request(rawBody, `${PUBLISHED_HMAC}=`), SECRET, now)).toBe(false);
    expect(shopify.verify(request(rawBody, 'é'.repeat(44)), SECRET, now)).toBe(false);
  });
});

describe('shopify.describe', () => {
  const describeHeaders = (headers: Record<string, string | undefined>) => shopify.describe({ rawBody: Buffer.alloc(0), headers });

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

  it('turns the order topics into orders', () => {
    expect(shopify.orderTopics).toEqual(TOPICS);
    expect(shopify.channel).toBe('shopify');
    expect(shopify.delivery).toBe('webhook');
    expect(shopify.secretName).toBe('SHOPIFY_WEBHOOK_SECRET');
  });
});

describe('the official sample through the hub', () => {
  it('keeps every id exact', () => {
    const order = orderOf(SAMPLE);
    expect(order.externalId).toBe('820982911946154508');
    expect(order.customer.id).toBe('115310627314723954');
    expect(order.lines.map((line) => line.externalLineId)).toEqual(['487817672276298554', '976318377106520349', '315789986012684393']);
  });

  it('maps the order', () => {
    const order = orderOf(SAMPLE);
    expect(canonicalOrderProblems(order)).toEqual([]);
    expect(order).toMatchObject({
      channel: 'shopify',
      externalNumber: '#9999',
      placedAt: '2022-01-01T00:00:00.000Z', // 2021-12-31T19:00:00-05:00
      currency: 'USD',
      customer: { email: 'jon@example.com', phone: null, name: 'John Smith', locale: 'en' },
      // 369.97 − 20.00 + 10.00 = 359.97: the sample adds up under the hub's rules
      totals: { subtotal: 36997, discounts: 2000, shipping: 1000, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 35997 },
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

  it('is exactly what the connector makes of it when the channel is plain `shopify` without a SKU map', () => {
    const direct = shopify.normalize(parseJsonLossless(SAMPLE), CREATE);
    expect(deliver(SAMPLE)).toEqual(direct);
  });
});

describe('topics and intents', () => {
  it.each([
    ['orders/create', 'the sample (cancelled_at set)', 'create', null, SAMPLE],
    ['orders/create', 'a plain order', 'create', null, NOT_CANCELLED],
    ['orders/updated', 'a plain order', 'update', null, NOT_CANCELLED],
    ['orders/paid', 'a plain order', 'update', null, NOT_CANCELLED],
    ['orders/edited', 'a plain order', 'update', null, NOT_CANCELLED],
    ['orders/cancelled', 'the sample', 'cancel', 'customer', SAMPLE],
    ['orders/cancelled', 'a plain order', 'cancel', null, NOT_CANCELLED],
    ['orders/updated', 'the sample (cancelled_at set)', 'cancel', 'customer', SAMPLE],
  ] as const)('%s with %s → %s, reason %s', (topic, _label, intent: OrderIntent, cancelReason, body) => {
    const result = accepted(body, topic);
    expect(result.intent).toBe(intent);
    expect(result.cancelReason).toBe(cancelReason);
  });

  it('reads any cancel reason on a cancel, and none on anything else', () => {
    const fraud = withOrder(SAMPLE, { cancel_reason: '"fraud"' });
    expect(accepted(fraud, 'orders/cancelled')).toMatchObject({ intent: 'cancel', cancelReason: 'fraud' });
    expect(accepted(fraud, 'orders/updated')).toMatchObject({ intent: 'cancel', cancelReason: 'fraud' });
    expect(accepted(fraud, 'orders/create')).toMatchObject({ intent: 'create', cancelReason: null });
    // a reason without cancelled_at is no cancellation
    const reasonOnly = withOrder(SAMPLE, { cancelled_at: 'null' });
    expect(accepted(reasonOnly, 'orders/updated')).toMatchObject({ intent: 'update', cancelReason: null });
    expect(accepted(withOrder(SAMPLE, { cancelled_at: '""' }), 'orders/updated')).toMatchObject({ intent: 'update' });
  });

  it('gives a topic named like an Object prototype property a real intent', () => {
    for (const topic of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
      expect(['create', 'update', 'cancel']).toContain(accepted(NOT_CANCELLED, topic).intent);
    }
  });

  it('makes the same order whatever the topic', () => {
    const order = orderOf(SAMPLE);
    for (const topic of TOPICS) expect(accepted(SAMPLE, topic).order).toEqual(order);
  });

  // The topic alone says what a delivery means; only an orders/updated for a cancelled order
  // is a cancellation. The official sample carries cancelled_at, yet on orders/paid it is paid news.
  it('orders/paid (and orders/edited) with the official sample is an update, not a cancel', () => {
    expect(accepted(SAMPLE, 'orders/paid')).toMatchObject({ intent: 'update', cancelReason: null });
    expect(accepted(SAMPLE, 'orders/edited')).toMatchObject({ intent: 'update', cancelReason: null });
  });

  // Ours, not an official sample: the shape Shopify documents for orders/edited — an OrderEdit
  // (what changed), not the REST Order the other order topics deliver.
  const ORDER_EDIT = `{
  "order_edit": {
    "id": 78912328,
    "app_id": null,
    "created_at": "2024-07-01T10:00:00-04:00",
    "committed_at": "2024-07-01T10:00:05-04:00",
    "notify_customer": false,
    "order_id": 820982911946154508,
    "staff_note": "",
    "user_id": null,
    "line_items": {
      "additions": [{ "id": 487817672276298554, "delta": 1 }],
      "removals": []
    }
  }
}`;

  it('an orders/edited body (an OrderEdit) does not map to an order', () => {
    expect(problemPaths(ORDER_EDIT, 'orders/edited')).toEqual(expect.arrayContaining(['/currency', '/id', '/line_items', '/total_price']));
  });

  // So orders/edited is not an order topic: it is stored and acknowledged, never answered 422
  // (Shopify would retry it), and the orders/updated that follows every edit carries the order.
  it('an orders/edited delivery is either read or not treated as an order topic', () => {
    expect(deliver(ORDER_EDIT, 'orders/edited').ok || !shopify.orderTopics.includes('orders/edited')).toBe(true);
  });
});

describe('updatedAt', () => {
  it('is updated_at in UTC', () => {
    expect(accepted(SAMPLE).updatedAt).toBe('2022-01-01T00:00:00.000Z');
    const later = withOrder(SAMPLE, { updated_at: '"2022-03-01T05:15:00+05:30"' });
    expect(accepted(later, 'orders/updated').updatedAt).toBe('2022-02-28T23:45:00.000Z');
    expect(accepted(withOrder(SAMPLE, { updated_at: '"2024-02-29T23:30:00-08:00"' })).updatedAt).toBe('2024-03-01T07:30:00.000Z');
  });

  it('is null when Shopify sends none', () => {
    expect(accepted(withOrder(SAMPLE, { updated_at: 'null' })).updatedAt).toBeNull();
    expect(accepted(dropKey(SAMPLE, 2, 'updated_at')).updatedAt).toBeNull();
  });

  it('is a problem when it is not a timestamp with an offset', () => {
    expect(problemPaths(withOrder(SAMPLE, { updated_at: '"yesterday"' }))).toEqual(['/updated_at']);
    expect(problemPaths(withOrder(SAMPLE, { updated_at: '"2022-03-01T05:15:00"' }))).toEqual(['/updated_at']);
  });
});

describe('problems found by the connector (paths into the Shopify payload)', () => {
  it('reads small ids given as numbers and falls back to admin_graphql_api_id', () => {
    expect(orderOf(withOrder(SAMPLE, { id: '1001' })).externalId).toBe('1001');
    expect(orderOf(dropKey(SAMPLE, 2, 'id')).externalId).toBe('820982911946154508');
    expect(problemPaths(withOrder(SAMPLE, { id: 'null', admin_graphql_api_id: '"gid://shopify/Customer/1"' }))).toEqual(['/id']);
  });

  it('reports a line without a SKU at its path', () => {
    const body = withLines(SAMPLE, [SAMPLE_LINES[0] ?? '', lineText(SAMPLE_LINES[1] ?? '', { sku: '' }, 'USD'), setKey(SAMPLE_LINES[2] ?? '', 6, 'sku', 'null')]);
    expect(problemPaths(body)).toEqual(['/line_items/1/sku', '/line_items/2/sku']);
  });

  it('reports bad money and wrong types, all at once', () => {
    const body = withOrder(SAMPLE, { total_price: '"359.975"', total_tax: '0', created_at: '"2021-02-30T10:00:00Z"', tags: '["a"]' });
    expect(problemPaths(body)).toEqual(['/created_at', '/tags', '/total_price']);
  });

  it('reports a body that is not an order object at the root', () => {
    for (const body of ['null', '42', '"order"', '[]', 'true']) {
      const { problems } = rejected(body);
      expect(problems).toEqual([{ path: '/', message: 'the order must be a JSON object' }]);
    }
  });

  it('reports bytes that are not JSON, or not UTF-8, at the root', () => {
    expect(rejected(SAMPLE.slice(0, -1)).problems.map((p) => p.path)).toEqual(['/']);
    expect(rejected(Buffer.from([0x7b, 0xff, 0x7d])).problems).toEqual([{ path: '/', message: 'the body is not valid UTF-8' }]);
  });
});

describe('schema violations (found by the hub, paths into the canonical order)', () => {
  it('reports every field that does not fit the canonical order, though the connector accepts it', () => {
    const lines = [
      lineText(SAMPLE_LINES[0] ?? '', { sku: 'X'.repeat(200) }, 'USD'),
      lineText(SAMPLE_LINES[1] ?? '', { quantity: 100_001, price: '0.01' }, 'USD'),
      lineText(SAMPLE_LINES[2] ?? '', { name: 'N'.repeat(501) }, 'USD'),
    ];
    // keep the money adding up: 89.99 + 1000.01 + 119.99
    let body = withLines(shopifyOrder({ totalLineItemsPrice: '1209.99', totalPrice: '1199.99' }), lines);
    body = withOrder(body, {
      name: json('#'.repeat(65)),
      customer_locale: json('x'.repeat(36)),
      tags: json(Array.from({ length: 101 }, (_, i) => `t${i}`).join(', ')),
    });
    body = within(body, 'shipping_address', { zip: json('9'.repeat(33)) });
    expect(connectorResult(body).ok).toBe(true);
    const { problems } = rejected(body);
    expect(problems.map((p) => p.path).sort()).toEqual([
      '/customer/locale',
      '/externalNumber',
      '/lines/0/sku',
      '/lines/1/quantity',
      '/lines/2/name',
      // the address is `anyOf: [address, null]`: ajv also reports the branches it tried
      '/shippingAddress',
      '/shippingAddress',
      '/shippingAddress/postalCode',
      '/tags',
    ]);
    expect(problems.find((p) => p.path === '/lines/0/sku')?.message).toMatch(/128 characters/);
  });

  it('checks the money only of a well-formed order', () => {
    // a bad SKU and totals that do not add up: the schema problem alone is reported
    const body = withLines(shopifyOrder({ totalPrice: '1.00' }), [lineText(SAMPLE_LINES[0] ?? '', { sku: 'X'.repeat(200) }, 'USD'), ...SAMPLE_LINES.slice(1)]);
    expect(problemPaths(body)).toEqual(['/lines/0/sku']);
  });
});

describe('money', () => {
  it('adds up several lines with quantities above 1', () => {
    // 2 × 89.99 + 3 × 159.99 + 5 × 19.95 + 4 × 0.99 = 179.98 + 479.97 + 99.75 + 3.96 = 763.66
    const body = shopifyOrder({
      lines: [{ quantity: 2 }, { quantity: 3 }, { quantity: 5, price: '19.95' }, { quantity: 4, price: '0.99', sku: 'SKU2006-099' }],
      totalLineItemsPrice: '763.66',
      totalPrice: '753.66', // − 20.00 discounts + 10.00 shipping
    });
    const order = orderOf(body);
    expect(order.lines.map((l) => [l.externalLineId, l.quantity, l.unitPrice])).toEqual([
      ['487817672276298554', 2, 8999],
      ['976318377106520349', 3, 15999],
      ['315789986012684393', 5, 1995],
      ['900000000000000003', 4, 99],
    ]);
    expect(order.totals).toEqual({ subtotal: 76366, discounts: 2000, shipping: 1000, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 75366 });
  });

  it('reports a subtotal that is not the sum of the lines', () => {
    // quantities changed, total_line_items_price left at the sample's 369.97
    const body = shopifyOrder({ lines: [{ quantity: 2 }, { quantity: 3 }, {}], totalPrice: '769.94' });
    const { problems } = rejected(body);
    expect(problems.map((p) => p.path)).toEqual(['/totals/subtotal', '/totals/grandTotal']);
    expect(problems[0]?.message).toBe('is 36997 but the lines add up to 77994');
  });

  it('reports a grand total that does not add up', () => {
    // 2 × 89.99 + 3 × 159.99 + 119.99 = 779.94; the total forgets the 20.00 discount
    const body = shopifyOrder({ lines: [{ quantity: 2 }, { quantity: 3 }, {}], totalLineItemsPrice: '779.94', totalPrice: '789.94' });
    const { problems } = rejected(body);
    expect(problems.map((p) => p.path)).toEqual(['/totals/grandTotal']);
    expect(problems[0]?.message).toBe('is 78994 but subtotal 77994 − discounts 2000 + shipping 1000 + tax 0 + other charges 0 = 76994');
  });

  it('sums shipping lines when there is no total shipping set', () => {
    const body = withOrder(SAMPLE, { total_shipping_price_set: 'null', shipping_lines: nested([{ price: '4.99' }, { price: '5.01' }], 2) });
    expect(orderOf(body).totals.shipping).toBe(1000);
  });
});

describe('line discounts', () => {
  const discounted = (line: LineSpec, spec: OrderSpec = {}) => shopifyOrder({ ...spec, lines: [line, {}, {}] });

  it('takes discount_allocations when total_discount is null', () => {
    const order = orderOf(discounted({ totalDiscount: null, allocations: ['5.00', '1.50'] }));
    expect(order.lines.map((l) => l.discount)).toEqual([650, 0, 0]);
    expect(order.totals.discounts).toBe(2000);
  });

  it('takes total_discount when there are no allocations', () => {
    expect(orderOf(discounted({ totalDiscount: '6.50', allocations: [] })).lines[0]?.discount).toBe(650);
  });

  it('counts a discount once when total_discount and the allocations both carry it (app-made orders)', () => {
    expect(orderOf(discounted({ totalDiscount: '6.50', allocations: ['5.00', '1.50'] })).lines[0]?.discount).toBe(650);
  });

  it('spreads an order discount over the lines', () => {
    // 10% off, allocated: 9.00 + 16.00 + 12.00 = 37.00
    const body = shopifyOrder({
      lines: [{ totalDiscount: null, allocations: ['9.00'] }, { totalDiscount: null, allocations: ['16.00'] }, { totalDiscount: null, allocations: ['12.00'] }],
      totalDiscounts: '37.00',
      totalPrice: '342.97',
    });
    const order = orderOf(body);
    expect(order.lines.map((l) => l.discount)).toEqual([900, 1600, 1200]);
    expect(order.totals).toMatchObject({ discounts: 3700, grandTotal: 34297 });
  });

  // Shopify's checkout (online store, POS, draft orders) leaves line_items[].total_discount at
  // "0.00" — as in the official sample — and puts the line's discount in discount_allocations
  // only; total_discount is deprecated. The connector prefers any non-null total_discount, so the
  // line discount of every checkout order is read as 0 (the order total still adds up, because
  // totals.discounts comes from total_discounts, so nothing rejects it).
  it('takes discount_allocations when total_discount is the checkout\'s "0.00"', () => {
    expect(orderOf(discounted({ allocations: ['5.00', '1.50'] })).lines[0]?.discount).toBe(650);
  });

  it('reports line discounts above the order discounts', () => {
    expect(problemPaths(discounted({ totalDiscount: null, allocations: ['25.00'] }))).toEqual(['/totals/discounts']);
  });

  it('reports a line discount above the line', () => {
    const body = discounted({ totalDiscount: null, allocations: ['90.00'] }, { totalDiscounts: '90.00', totalPrice: '289.97' });
    expect(problemPaths(body)).toEqual(['/lines/0/discount']);
  });
});

describe('taxes', () => {
  it('adds tax on top when prices exclude it', () => {
    const body = shopifyOrder({
      lines: [{ taxLines: ['7.20'] }, { taxLines: ['12.80', '1.60'] }, {}],
      totalTax: '21.60',
      taxesIncluded: false,
      totalPrice: '381.57', // 359.97 + 21.60
    });
    const order = orderOf(body);
    expect(order.lines.map((l) => l.tax)).toEqual([720, 1440, 0]);
    expect(order.totals).toMatchObject({ tax: 2160, taxIncluded: false, grandTotal: 38157 });
  });

  it('does not add tax that prices already include', () => {
    const body = shopifyOrder({
      currency: 'EUR',
      lines: [{ taxLines: ['15.00'] }, { taxLines: ['26.67'] }, { taxLines: ['20.00'] }],
      totalTax: '61.67',
      taxesIncluded: true,
      totalPrice: '359.97',
    });
    const order = orderOf(body);
    expect(order.currency).toBe('EUR');
    expect(order.lines.map((l) => l.tax)).toEqual([1500, 2667, 2000]);
    expect(order.totals).toMatchObject({ subtotal: 36997, tax: 6167, taxIncluded: true, grandTotal: 35997 });
  });

  it('reports a total that adds included tax again, or leaves excluded tax out', () => {
    const included = shopifyOrder({ lines: [{ taxLines: ['15.00'] }, {}, {}], totalTax: '15.00', taxesIncluded: true, totalPrice: '374.97' });
    expect(problemPaths(included)).toEqual(['/totals/grandTotal']);
    const excluded = shopifyOrder({ lines: [{ taxLines: ['15.00'] }, {}, {}], totalTax: '15.00', taxesIncluded: false, totalPrice: '359.97' });
    expect(problemPaths(excluded)).toEqual(['/totals/grandTotal']);
  });
});

describe('currencies', () => {
  it('keeps the shop money when the buyer paid in another currency', () => {
    // every presentment_money in EUR at 0.92, presentment_currency EUR; shop money untouched
    const body = withOrder(SAMPLE, { presentment_currency: '"EUR"' }).replace(
      /("presentment_money": \{\s*"amount": ")(\d+)\.(\d{2})(",\s*"currency_code": )"USD"/g,
      (_match, head: string, units: string, cents: string, middle: string) => {
        const eur = Math.round((Number(units) * 100 + Number(cents)) * 0.92);
        return `${head}${Math.floor(eur / 100)}.${String(eur % 100).padStart(2, '0')}${middle}"EUR"`;
      },
    );
    expect(body).toMatch(/"presentment_money": \{\s*"amount": "331.17",\s*"currency_code": "EUR"/); // 359.97 × 0.92
    expect(body).not.toMatch(/"presentment_money": \{[^}]*"USD"/);
    const order = orderOf(body);
    expect(order.currency).toBe('USD');
    expect(order).toEqual(orderOf(SAMPLE));
  });

  it('reads a zero-decimal currency (JPY)', () => {
    const body = shopifyOrder({
      currency: 'JPY',
      lines: [
        { price: '1500', quantity: 2, totalDiscount: '0' },
        { price: '12800', totalDiscount: '0' },
        { price: '980', quantity: 3, totalDiscount: '0' },
      ],
      totalLineItemsPrice: '18740',
      totalDiscounts: '500',
      totalTax: '0',
      shipping: '800',
      tip: '0',
      totalPrice: '19040',
    });
    const order = orderOf(body);
    expect(order.currency).toBe('JPY');
    expect(order.lines.map((l) => l.unitPrice)).toEqual([1500, 12800, 980]);
    expect(order.totals).toEqual({ subtotal: 18740, discounts: 500, shipping: 800, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 19040 });
    // trailing zeros are no precision
    expect(orderOf(body.replace('"price": "1500"', '"price": "1500.00"')).lines[0]?.unitPrice).toBe(1500);
  });

  it('reports yen with decimals as a precision problem', () => {
    const body = shopifyOrder({ currency: 'JPY', lines: [{ price: '1500.50' }, { price: '1000' }, { price: '1000' }], totalLineItemsPrice: '3500', totalPrice: '3490' });
    const { problems } = rejected(body);
    expect(problems).toEqual([{ path: '/line_items/0/price', message: '"1500.50" has more than 0 decimal place(s), the minor unit of JPY' }]);
  });

  it('reads a three-decimal currency (KWD)', () => {
    // 2 × 12.345 + 3.000 + 4 × 0.125 = 28.190; − 1.000 + 2.500 = 29.690
    const body = shopifyOrder({
      currency: 'KWD',
      lines: [{ price: '12.345', quantity: 2 }, { price: '3.000' }, { price: '0.125', quantity: 4 }],
      totalLineItemsPrice: '28.190',
      totalDiscounts: '1.000',
      totalTax: '0.000',
      shipping: '2.500',
      totalPrice: '29.690',
    });
    const order = orderOf(body);
    expect(order.lines.map((l) => l.unitPrice)).toEqual([12345, 3000, 125]);
    expect(order.totals).toMatchObject({ subtotal: 28190, discounts: 1000, shipping: 2500, grandTotal: 29690 });
    expect(problemPaths(body.replace('"price": "12.345"', '"price": "12.3456"'))).toEqual(['/line_items/0/price']);
  });

  it('reports cents below the minor unit in a two-decimal currency', () => {
    expect(problemPaths(shopifyOrder({ lines: [{ price: '89.999' }, {}, {}] }))).toEqual(['/line_items/0/price']);
  });
});

describe('tips and duties', () => {
  it('counts tips in otherCharges', () => {
    const order = orderOf(shopifyOrder({ tip: '5.00', totalPrice: '364.97' }));
    expect(order.totals).toMatchObject({ otherCharges: 500, grandTotal: 36497 });
    expect(problemPaths(shopifyOrder({ tip: '5.00' }))).toEqual(['/totals/grandTotal']);
  });

  it('counts duties with tips', () => {
    const body = withOrder(shopifyOrder({ tip: '5.00', totalPrice: '372.47' }), {
      original_total_duties_set: nested(moneySet('7.50', 'USD'), 2),
      current_total_duties_set: nested(moneySet('7.50', 'USD'), 2),
    });
    expect(orderOf(body).totals).toMatchObject({ otherCharges: 1250, grandTotal: 37247 });
  });

  // Suspected: every other total is read from the original fields (total_price,
  // total_line_items_price, total_discounts), but duties from current_total_duties_set, which
  // Shopify lowers on refunds and edits. Once a duty is refunded, the orders/updated snapshot no
  // longer adds up and is rejected at /totals/grandTotal. original_total_duties_set matches
  // total_price.
  it('still adds up after the duties were refunded (current duties 0, original 7.50)', () => {
    const body = withOrder(shopifyOrder({ totalPrice: '367.47' }), {
      original_total_duties_set: nested(moneySet('7.50', 'USD'), 2),
      current_total_duties_set: nested(moneySet('0.00', 'USD'), 2),
    });
    expect(accepted(body, 'orders/updated').order.totals).toMatchObject({ otherCharges: 750, grandTotal: 36747 });
  });
});

describe('times', () => {
  it.each([
    ['2022-03-01T05:15:00+05:30', '2022-02-28T23:45:00.000Z'],
    ['2022-01-01T03:00:00+05:30', '2021-12-31T21:30:00.000Z'],
    ['2021-12-31T19:30:00-08:00', '2022-01-01T03:30:00.000Z'],
    ['2024-02-29T23:30:00-08:00', '2024-03-01T07:30:00.000Z'],
    ['2022-06-15T12:00:00+05:45', '2022-06-15T06:15:00.000Z'],
    ['2022-06-15T00:00:00+14:00', '2022-06-14T10:00:00.000Z'],
    ['2022-06-15T12:00:00Z', '2022-06-15T12:00:00.000Z'],
    ['2022-06-15T12:00:00.123-05:00', '2022-06-15T17:00:00.123Z'],
  ])('placedAt of %s is %s', (createdAt, utc) => {
    expect(orderOf(withOrder(SAMPLE, { created_at: json(createdAt) })).placedAt).toBe(utc);
  });

  it('reports a time without an offset', () => {
    expect(problemPaths(withOrder(SAMPLE, { created_at: '"2022-03-01T05:15:00"' }))).toEqual(['/created_at']);
  });
});

describe('optional fields', () => {
  it('accepts an order without customer, shipping address, phone, note or tags', () => {
    const body = withOrder(SAMPLE, { customer: 'null', shipping_address: 'null', phone: 'null', note: 'null', tags: '""' });
    const order = orderOf(body);
    expect(order.customer).toEqual({ id: null, email: 'jon@example.com', phone: null, name: null, locale: 'en' });
    expect(order.shippingAddress).toBeNull();
    expect(order.billingAddress).toMatchObject({ name: 'Steve Shipper', country: 'US' });
    expect(order.notes).toBeNull();
    expect(order.tags).toEqual([]);
  });

  it('accepts an order with all of them left out', () => {
    const body = ['customer', 'shipping_address', 'billing_address', 'phone', 'note', 'tags', 'email', 'contact_email', 'customer_locale', 'payment_gateway_names', 'financial_status'].reduce(
      (acc, key) => dropKey(acc, 2, key),
      SAMPLE,
    );
    const order = orderOf(body);
    expect(order.customer).toEqual({ id: null, email: null, phone: null, name: null, locale: null });
    expect(order).toMatchObject({ shippingAddress: null, billingAddress: null, notes: null, tags: [], payment: { method: 'unknown', provider: null, status: 'unknown' } });
  });

  it('takes them when present; blank text and blank tags count as absent', () => {
    const body = withOrder(SAMPLE, { phone: '"+1 555 0100"', note: '"Leave at the door"', tags: '" ,  vip , ,wholesale "', customer_locale: '""' });
    const order = orderOf(body);
    expect(order).toMatchObject({ customer: { phone: '+1 555 0100', locale: null }, notes: 'Leave at the door', tags: ['vip', 'wholesale'] });
  });

  it('takes the customer id and name from the customer, the email from the order first', () => {
    const body = within(withOrder(SAMPLE, { email: 'null', contact_email: 'null' }), 'customer', { phone: '"+44 20 7946 0000"' });
    expect(orderOf(body).customer).toEqual({ id: '115310627314723954', email: 'john@example.com', phone: '+44 20 7946 0000', name: 'John Smith', locale: 'en' });
  });
});

describe('unicode', () => {
  it('keeps names and text exactly', () => {
    let body = within(SAMPLE, 'customer', { first_name: json('Zoë'), last_name: json('Ångström') });
    body = within(body, 'shipping_address', { name: json('山田 太郎'), first_name: json('太郎'), last_name: json('山田'), city: json('東京都'), address1: json('千代田区千代田1-1') });
    body = withOrder(body, { note: json('Geschenk 🎁 – bitte nicht knicken 👍🏽'), tags: json('été, 夏, 🎉') });
    body = withLines(body, [lineText(SAMPLE_LINES[0] ?? '', { name: 'Café crème ☕ 👨‍👩‍👧' }, 'USD'), ...SAMPLE_LINES.slice(1)]);
    const order = orderOf(body);
    expect(order.customer.name).toBe('Zoë Ångström');
    expect(order.shippingAddress).toMatchObject({ name: '山田 太郎', city: '東京都', line1: '千代田区千代田1-1' });
    expect(order.notes).toBe('Geschenk 🎁 – bitte nicht knicken 👍🏽');
    expect(order.tags).toEqual(['été', '夏', '🎉']);
    expect(order.lines[0]?.name).toBe('Café crème ☕ 👨‍👩‍👧');
  });

  it('does not normalize: decomposed stays decomposed, and JSON escapes are decoded', () => {
    const decomposed = 'Zoe\u0308';
    expect(decomposed).not.toBe('Zoë');
    let body = within(SAMPLE, 'customer', { first_name: json(decomposed), last_name: String.raw`"\u00c5ngstr\u00f6m \ud83d\ude00"` });
    body = within(body, 'shipping_address', { name: json('') });
    const order = orderOf(body);
    expect(order.customer.name).toBe('Zoe\u0308 Ångström 😀');
    // a blank address name falls back to first and last name (in Shopify's order: first, then last)
    expect(order.shippingAddress?.name).toBe('Steve Shipper');
  });
});

describe('channel settings', () => {
  it('maps SKUs and keeps the channel’s SKU', () => {
    const order = orderOf(SAMPLE, { code: 'shopify', skuMap: { 'SKU2006-001': 'SUN-AVIATOR' } });
    expect(order.lines[0]).toEqual({
      externalLineId: '487817672276298554', sku: 'SUN-AVIATOR', channelSku: 'SKU2006-001', name: 'Aviator sunglasses', quantity: 1, unitPrice: 8999, discount: 0, tax: 0,
    });
    expect(order.lines[1]).toMatchObject({ sku: 'SKU2006-020' });
    expect(order.lines[1]).not.toHaveProperty('channelSku');
    // the connector itself sends the channel's SKUs
    expect(connectorResult(SAMPLE)).toMatchObject({ ok: true, order: { lines: [{ sku: 'SKU2006-001' }, {}, {}] } });
  });

  it('maps only SKUs the map really has (no prototype keys)', () => {
    const body = withLines(SAMPLE, [SAMPLE_LINES[0] ?? '', lineText(SAMPLE_LINES[1] ?? '', { sku: 'constructor' }, 'USD'), lineText(SAMPLE_LINES[2] ?? '', { sku: '__proto__' }, 'USD')]);
    const order = orderOf(body, { code: 'shopify', skuMap: {} });
    expect(order.lines.map((l) => [l.sku, l.channelSku])).toEqual([['SKU2006-001', undefined], ['constructor', undefined], ['__proto__', undefined]]);
  });

  // The config allows any non-empty mapped SKU (schemas/config.ts: minLength 1, no maxLength),
  // the canonical order at most 128 characters. core/inbound.ts (since 0b82c95, "schema before SKU
  // mapping") checks the schema before mapping and not after, so the mapped order is never checked
  // and an order that breaks the schema is accepted.
  it('checks the order after the SKU mapping', () => {
    const mapped = deliver(SAMPLE, 'orders/create', { code: 'shopify', skuMap: { 'SKU2006-020': 'X'.repeat(129) } });
    expect(mapped).toMatchObject({ ok: false, problems: [{ path: '/lines/1/sku' }] });
  });

  it('takes the channel code the order arrived on', () => {
    expect(orderOf(SAMPLE, { code: 'shopify-eu' }).channel).toBe('shopify-eu');
    expect(rejected(SAMPLE, 'orders/create', { code: 'Shopify EU' }).problems.map((p) => p.path)).toEqual(['/channel']);
  });
});

describe('payment', () => {
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
    const order = orderOf(withOrder(SAMPLE, { payment_gateway_names: json(gateways) }));
    expect(order.payment).toMatchObject({ method, provider: gateways[0] ?? null });
  });

  it('maps financial statuses, an unknown one to unknown', () => {
    expect(orderOf(withOrder(SAMPLE, { financial_status: '"paid"' })).payment.status).toBe('paid');
    expect(orderOf(withOrder(SAMPLE, { financial_status: '"expired"' })).payment.status).toBe('unknown');
  });
});

// ---------------------------------------------------------------------------------------------

describe('normalizeDelivery never throws (properties)', () => {
  const topic = fc.constantFrom(...TOPICS, 'orders/fulfilled', '', 'constructor', 'toString', '__proto__');

  function checkOutcome(result: NormalizeResult, code = 'shopify'): void {
    expect(nonFiniteNumbers(result)).toEqual([]);
    expectSoundOutcome(result);
    if (result.ok) {
      expect(result.order.channel).toBe(code);
      expect(['create', 'update', 'cancel']).toContain(result.intent);
    }
  }

  it('property: for any JSON value', () => {
    fc.assert(fc.property(fc.jsonValue(), topic, (body, t) => checkOutcome(deliver(JSON.stringify(body), t))), { numRuns: 300 });
  });

  it('property: for any text and any bytes', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), topic, (body, t) => checkOutcome(deliver(body, t))), { numRuns: 200 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => checkOutcome(deliver(Buffer.from(bytes)))), { numRuns: 200 });
  });

  // Each JSON scalar (or empty container) of the sample text, by position.
  const slots = [...SAMPLE.matchAll(new RegExp(String.raw`(?<=": )(?:${SCALAR}|\[\]|\{\})`, 'g'))].map((m) => [m.index, m.index + m[0].length] as const);
  const odd = [
    'null', '""', '"0.00"', '"-20.00"', '-1', '"1e3"', '1e3', '"0.001"', '"99999999999999999999"', '99999999999999999999', '9007199254740993',
    '820982911946154508', '-0', '1.5', '0.1', '"NaN"', '"Infinity"', '" 1.00"', '"1500.50"', '"12.345"', '"2021-02-30T10:00:00Z"',
    '"2024-02-29T23:30:00-08:00"', '"9999-12-31T23:59:59-01:00"', '"0000-01-01T00:00:00+01:00"', String.raw`"\u0000"`, String.raw`"\ud800"`, '[]', '{}', '[null]',
    'true', '"💥"', '"SKU2006-001"', '"JPY"', '"KWD"', '"usd"', `"${'x'.repeat(2000)}"`, '"gid://shopify/Order/1"',
  ];
  const replacementText = fc.oneof(fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)), fc.constantFrom(...odd));

  it('property: for the sample text with values replaced', () => {
    const edits = fc.array(fc.tuple(fc.nat({ max: slots.length - 1 }), replacementText), { minLength: 1, maxLength: 8 });
    // SKU maps the canonical order can hold (a longer mapped SKU: see 'checks the order after the SKU mapping')
    const skuMap = fc.dictionary(fc.constantFrom('SKU2006-001', 'SKU2006-020', 'SKU2006-035', 'toString'), fc.string({ minLength: 1, maxLength: 128 }), { maxKeys: 3 });
    const code = fc.constantFrom('shopify', 'shopify-eu');
    fc.assert(
      fc.property(edits, topic, skuMap, code, (changes, t, map, c) => {
        const bySlot = new Map(changes);
        const body = [...bySlot.entries()]
          .sort(([a], [b]) => b - a)
          .reduce((text, [slot, replacement]) => {
            const [start, end] = slots[slot] ?? [0, 0];
            return text.slice(0, start) + replacement + text.slice(end);
          }, SAMPLE);
        checkOutcome(deliver(body, t, { code: c, skuMap: map }), c);
      }),
      { numRuns: 1000 },
    );
  });

  it('property: for the sample with whole fields replaced or removed', () => {
    const base = parseJsonLossless(SAMPLE);
    const paths = keyPaths(base);
    const replacement = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(undefined, null, '', '-1.00', '1e3', '0.001', '99999999999999999999', '820982911946154508'));
    const edits = fc.array(fc.tuple(fc.constantFrom(...paths), replacement), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(edits, topic, (changes, t) => {
        const body = changes.reduce<unknown>((acc, [path, value]) => replaced(acc, path, value), base);
        checkOutcome(deliver(JSON.stringify(body), t));
      }),
      { numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------

describe('generated valid Shopify orders (property)', () => {
  const CURRENCIES = [['USD', 2], ['EUR', 2], ['GBP', 2], ['JPY', 0], ['KRW', 0], ['KWD', 3], ['BHD', 3]] as const;

  /** minor units → Shopify's decimal string, written here independently of core/money.ts */
  function decimal(minor: number, exponent: number): string {
    if (exponent === 0) return String(minor);
    const digits = String(minor).padStart(exponent + 1, '0');
    return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  }

  /** an instant written in a shop's local time with its UTC offset, as Shopify writes times */
  function localTime(epochSeconds: number, offsetMinutes: number): string {
    const local = new Date((epochSeconds + offsetMinutes * 60) * 1000).toISOString().slice(0, 19);
    const abs = Math.abs(offsetMinutes);
    const two = (n: number) => String(n).padStart(2, '0');
    return `${local}${offsetMinutes < 0 ? '-' : '+'}${two(Math.floor(abs / 60))}:${two(abs % 60)}`;
  }

  const line = fc.record({
    id: fc.bigInt({ min: 2n ** 53n, max: 10n ** 19n - 1n }),
    sku: fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,23}$/),
    name: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }),
    unitPrice: fc.integer({ min: 0, max: 5_000_000 }),
    quantity: fc.integer({ min: 1, max: 100 }),
    discountSeeds: fc.array(fc.nat(), { maxLength: 3 }),
    discountField: fc.constantFrom('allocations', 'both', 'total_discount'),
    taxes: fc.array(fc.integer({ min: 0, max: 500_000 }), { maxLength: 3 }),
  });

  const order = fc.record({
    currency: fc.constantFrom(...CURRENCIES),
    lines: fc.array(line, { minLength: 1, maxLength: 6 }),
    orderDiscountSeed: fc.nat(),
    shipping: fc.integer({ min: 0, max: 100_000 }),
    shippingSplit: fc.nat(),
    shippingAs: fc.constantFrom('set', 'lines'),
    shippingTax: fc.integer({ min: 0, max: 10_000 }),
    tip: fc.integer({ min: 0, max: 50_000 }),
    taxesIncluded: fc.boolean(),
    placed: fc.integer({ min: 946_684_800, max: 4_102_444_799 }), // 2000 … 2099
    offsetQuarterHours: fc.integer({ min: -48, max: 56 }), // −12:00 … +14:00
    updatedAfter: fc.integer({ min: 0, max: 30 * 86_400 }),
    topic: fc.constantFrom('orders/create', 'orders/updated', 'orders/paid', 'orders/cancelled'),
  });

  it('property: always accepted, with the totals Shopify computed', () => {
    fc.assert(
      fc.property(order, (g) => {
        const [code, exponent] = g.currency;
        const money = (minor: number) => decimal(minor, exponent);

        const lines = g.lines.map((l) => {
          const gross = l.unitPrice * l.quantity;
          const share = Math.floor(gross / Math.max(l.discountSeeds.length, 1));
          const allocations = l.discountSeeds.map((seed) => seed % (share + 1));
          const discount = allocations.reduce((a, b) => a + b, 0);
          const tax = l.taxes.reduce((a, b) => a + b, 0);
          return { ...l, gross, allocations, discount, tax };
        });
        const subtotal = lines.reduce((sum, l) => sum + l.gross, 0);
        const lineDiscounts = lines.reduce((sum, l) => sum + l.discount, 0);
        const discounts = lineDiscounts + (g.orderDiscountSeed % (subtotal - lineDiscounts + 1));
        const tax = lines.reduce((sum, l) => sum + l.tax, 0) + g.shippingTax;
        const grandTotal = subtotal - discounts + g.shipping + (g.taxesIncluded ? 0 : tax) + g.tip;
        const offset = g.offsetQuarterHours * 15;
        const firstShippingLine = g.shippingSplit % (g.shipping + 1);

        let body = withOrder(SAMPLE, {
          currency: json(code),
          presentment_currency: json(code),
          total_line_items_price: json(money(subtotal)),
          total_discounts: json(money(discounts)),
          total_tax: json(money(tax)),
          taxes_included: json(g.taxesIncluded),
          total_shipping_price_set: g.shippingAs === 'set' ? nested(moneySet(money(g.shipping), code), 2) : 'null',
          shipping_lines: nested([{ price: money(firstShippingLine) }, { price: money(g.shipping - firstShippingLine) }], 2),
          total_tip_received: json(money(g.tip)),
          total_price: json(money(grandTotal)),
          created_at: json(localTime(g.placed, offset)),
          updated_at: json(localTime(g.placed + g.updatedAfter, offset)),
          cancelled_at: 'null',
          cancel_reason: 'null',
        });
        body = withLines(
          body,
          lines.map((l, i) =>
            lineText(
              SAMPLE_LINES[i % SAMPLE_LINES.length] ?? '',
              {
                id: l.id.toString(),
                sku: l.sku,
                name: l.name,
                price: money(l.unitPrice),
                quantity: l.quantity,
                totalDiscount: l.discountField === 'allocations' ? null : money(l.discount),
                allocations: l.discountField === 'total_discount' ? [] : l.allocations.map(money),
                taxLines: l.taxes.map(money),
              },
              code,
            ),
          ),
        );

        const result = accepted(body, g.topic);
        expect(nonFiniteNumbers(result)).toEqual([]);
        expect(result.intent).toBe(g.topic === 'orders/create' ? 'create' : g.topic === 'orders/cancelled' ? 'cancel' : 'update');
        expect(result.updatedAt).toBe(new Date((g.placed + g.updatedAfter) * 1000).toISOString());
        expect(result.order.currency).toBe(code);
        expect(result.order.placedAt).toBe(new Date(g.placed * 1000).toISOString());
        expect(result.order.totals).toEqual({ subtotal, discounts, shipping: g.shipping, tax, taxIncluded: g.taxesIncluded, otherCharges: g.tip, grandTotal });
        expect(result.order.lines).toEqual(
          lines.map((l) => ({ externalLineId: l.id.toString(), sku: l.sku, name: l.name, quantity: l.quantity, unitPrice: l.unitPrice, discount: l.discount, tax: l.tax })),
        );
      }),
      { numRuns: 300 },
    );
  });
});
