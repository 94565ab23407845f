import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundDelivery, InboundRequest, NormalizeResult } from '../connectors/types.ts';
import { woocommerce } from '../connectors/woocommerce.ts';
import { normalizeDelivery } from '../core/inbound.ts';
import { parseJsonLossless } from '../core/json.ts';
import { formatMinorUnits } from '../core/money.ts';
import { canonicalOrderProblems } from '../core/order/canonical.ts';
import { totalsProblems } from '../core/order/totals.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { expectSoundOutcome, keyPaths, replaced } from './support/normalize.ts';

// WooCommerce's own sample, byte for byte (see the .md beside it); the signature is over these bytes.
const rawBody = readFileSync(new URL('./fixtures/woocommerce/order-created.sample.json', import.meta.url));
const SECRET = 'test-wc-secret';
const PUBLISHED_SIGNATURE = '0NvCTSj7dhqIaF8fDdqwU/hDoKL9iqA6i8OdDoVuDtU=';
const CREATED: InboundDelivery = { eventId: null, topic: 'order.created' };
const UPDATED: InboundDelivery = { eventId: null, topic: 'order.updated' };
const CHANNEL = { code: 'woocommerce' };

type Json = Record<string, unknown>;

/** The sample with the one thing that keeps it from being an order fixed: its first line has no SKU. */
const placeableText = (): string => rawBody.toString('utf8').replace('"sku": "",', '"sku": "WOO-SINGLE-1",');

/** a fresh parsed copy of the placeable sample */
const sample = (): Json => parseJsonLossless(placeableText()) as Json;

const sign = (body: Buffer | string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('base64');

function deliver(body: Json | string | Buffer, delivery: InboundDelivery = CREATED): NormalizeResult {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body), 'utf8');
  return normalizeDelivery(woocommerce, CHANNEL, bytes, delivery);
}

function accepted(body: Json | string | Buffer, delivery: InboundDelivery = CREATED): NormalizeResult & { ok: true } {
  const result = deliver(body, delivery);
  if (!result.ok) throw new Error(`expected an order, got ${JSON.stringify(result.problems)}`);
  return result;
}

function rejected(body: Json | string | Buffer, delivery: InboundDelivery = CREATED): { path: string; message: string }[] {
  const result = deliver(body, delivery);
  if (result.ok) throw new Error('expected problems, got an order');
  return result.problems;
}

/** The sample's own (guest, United States) order with these lines and totals. */
function variant(changes: Json): Json {
  return { ...sample(), ...changes };
}

function line(fields: Json): Json {
  return { id: 1, name: 'Item', product_id: 10, variation_id: 0, tax_class: '', meta_data: [], taxes: [], ...fields };
}

describe('woocommerce.verify', () => {
  const request = (body: Buffer, signature: string | undefined): InboundRequest => ({
    rawBody: body,
    headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': signature },
  });

  it('accepts the published vector', () => {
    expect(woocommerce.verify(request(rawBody, PUBLISHED_SIGNATURE), SECRET, new Date())).toBe(true);
  });

  it('rejects a body with one byte flipped, and the same JSON in other bytes', () => {
    const tampered = Buffer.from(rawBody);
    tampered[200] = (tampered[200] ?? 0) ^ 0x01;
    expect(woocommerce.verify(request(tampered, PUBLISHED_SIGNATURE), SECRET, new Date())).toBe(false);
    // WooCommerce sends compact JSON; the signature is over the bytes, not the data.
    const compact = Buffer.from(JSON.stringify(JSON.parse(rawBody.toString('utf8'))));
    expect(woocommerce.verify(request(compact, PUBLISHED_SIGNATURE), SECRET, new Date())).toBe(false);
    expect(woocommerce.verify(request(compact, sign(compact)), SECRET, new Date())).toBe(true);
  });

  it('rejects the wrong secret, and an empty one', () => {
    expect(woocommerce.verify(request(rawBody, PUBLISHED_SIGNATURE), 'another-secret', new Date())).toBe(false);
    expect(woocommerce.verify(request(rawBody, PUBLISHED_SIGNATURE), '', new Date())).toBe(false);
    expect(woocommerce.verify(request(rawBody, sign(rawBody, '')), '', new Date())).toBe(false);
  });

  it('rejects a missing, empty or misnamed header', () => {
    expect(woocommerce.verify(request(rawBody, undefined), SECRET, new Date())).toBe(false);
    expect(woocommerce.verify(request(rawBody, ''), SECRET, new Date())).toBe(false);
    const shopifyStyle = { rawBody, headers: { 'x-shopify-hmac-sha256': PUBLISHED_SIGNATURE } };
    expect(woocommerce.verify(shopifyStyle, SECRET, new Date())).toBe(false);
  });

  it('rejects a header of the wrong length without throwing', () => {
    expect(woocommerce.verify(request(rawBody, PUBLISHED_SIGNATURE.slice(0, -1)), SECRET, new Date())).toBe(false);
    expect(woocommerce.verify(request(rawBody, `${PUBLISHED_SIGNATURE}=`), SECRET, new Date())).toBe(false);
    expect(woocommerce.verify(request(rawBody, 'é'.repeat(44)), SECRET, new Date())).toBe(false);
    // a hex digest of the right HMAC is still the wrong encoding
    const hex = createHmac('sha256', SECRET).update(rawBody).digest('hex');
    expect(woocommerce.verify(request(rawBody, hex), SECRET, new Date())).toBe(false);
  });

  it('verifies a body with non-ASCII text over its UTF-8 bytes', () => {
    const body = Buffer.from(JSON.stringify(variant({ customer_note: 'Zoë Ångström 山田' })), 'utf8');
    expect(woocommerce.verify(request(body, sign(body)), SECRET, new Date())).toBe(true);
  });
});

describe('woocommerce.isPing', () => {
  // What WC_Webhook::deliver_ping() sends when a webhook is saved: a form body, a
  // User-Agent, no signature and no X-WC-* headers.
  const ping = (body: string, headers: Record<string, string | undefined> = {}): InboundRequest => ({
    rawBody: Buffer.from(body),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'user-agent': 'WooCommerce/8.9.1 Hookshot (WordPress/6.5.3)',
      ...headers,
    },
  });

  it('recognises the ping, with or without a charset or content type', () => {
    expect(woocommerce.isPing?.(ping('webhook_id=12'))).toBe(true);
    expect(woocommerce.isPing?.(ping('webhook_id=4711', { 'content-type': 'application/x-www-form-urlencoded; charset=UTF-8' }))).toBe(true);
    expect(woocommerce.isPing?.(ping('webhook_id=12', { 'content-type': undefined }))).toBe(true);
  });

  it('never takes an order delivery, or anything else, for a ping', () => {
    const signedOrder: InboundRequest = {
      rawBody,
      headers: { 'content-type': 'application/json', 'x-wc-webhook-topic': 'order.created', 'x-wc-webhook-signature': PUBLISHED_SIGNATURE },
    };
    expect(woocommerce.isPing?.(signedOrder)).toBe(false);
    expect(woocommerce.isPing?.(ping('webhook_id=12', { 'x-wc-webhook-signature': sign('webhook_id=12') }))).toBe(false);
    expect(woocommerce.isPing?.(ping('webhook_id=12', { 'content-type': 'application/json' }))).toBe(false);
    for (const body of ['', 'webhook_id=', 'webhook_id=12&id=1', 'webhook_id=12\n', 'webhook_id=abc', '{"webhook_id":12}', `webhook_id=${'9'.repeat(40)}`]) {
      expect(woocommerce.isPing?.(ping(body)), body).toBe(false);
    }
  });
});

describe('woocommerce.describe', () => {
  const describeHeaders = (headers: Record<string, string | undefined>) => woocommerce.describe({ rawBody: Buffer.alloc(0), headers });

  it('takes the topic and leaves the event id to the hub (sha256 of the body)', () => {
    // The delivery id is wp_hash(webhook id . second): new on a re-send, shared by two
    // deliveries in one second; the webhook id names the subscription. Neither names an event.
    expect(
      describeHeaders({ 'x-wc-webhook-topic': 'order.updated', 'x-wc-webhook-id': '12', 'x-wc-webhook-delivery-id': 'a3f1c0ffee', 'x-wc-webhook-resource': 'order' }),
    ).toEqual({ eventId: null, topic: 'order.updated' });
    expect(describeHeaders({})).toEqual({ eventId: null, topic: '' });
  });

  it('turns created, updated and restored orders into orders', () => {
    expect(woocommerce.orderTopics).toEqual(['order.created', 'order.updated', 'order.restored']);
    expect(woocommerce.channel).toBe('woocommerce');
    expect(woocommerce.delivery).toBe('webhook');
    expect(woocommerce.secretName).toBe('WOOCOMMERCE_WEBHOOK_SECRET');
  });
});

describe('woocommerce.normalize of the official sample', () => {
  it('is accepted as it is: the line without a SKU is named by its product id, which a skuMap can map', () => {
    const result = accepted(rawBody);
    expect(result.order.lines[0]).toMatchObject({ sku: 'wc-product-93', name: 'Woo Single #1', quantity: 2 });
    const mapped = normalizeDelivery(woocommerce, { code: 'woocommerce', skuMap: { 'wc-product-93': 'WOO-SINGLE-1' } }, rawBody, { eventId: null, topic: 'order.created' });
    expect(mapped.ok && mapped.order.lines[0]).toMatchObject({ sku: 'WOO-SINGLE-1', channelSku: 'wc-product-93' });
  });

  it('maps the order once the line has a SKU; its money adds up', () => {
    const result = accepted(Buffer.from(placeableText()));
    expect(result.intent).toBe('create');
    expect(result.updatedAt).toBe('2017-03-22T19:28:08.000Z'); // date_modified_gmt, no zone in the payload
    expect(result.cancelReason).toBeNull();
    const address = {
      name: 'John Doe',
      company: null,
      line1: '969 Market',
      line2: null,
      city: 'San Francisco',
      region: 'CA',
      postalCode: '94103',
      country: 'US',
    };
    expect(result.order).toEqual<CanonicalOrder>({
      channel: 'woocommerce',
      externalId: '727',
      externalNumber: '727',
      placedAt: '2017-03-22T19:28:02.000Z', // date_created_gmt; date_created is site time (UTC−3 here)
      currency: 'USD',
      customer: { id: null, email: 'john.doe@example.com', phone: '(555) 555-5555', name: 'John Doe', locale: null },
      lines: [
        { externalLineId: '315', sku: 'WOO-SINGLE-1', name: 'Woo Single #1', quantity: 2, unitPrice: 300, discount: 0, tax: 45 },
        // the name arrives HTML-escaped (&ndash;)
        { externalLineId: '316', sku: 'Bar3', name: 'Ship Your Idea – Color: Black, Size: M Test', quantity: 1, unitPrice: 1200, discount: 0, tax: 90 },
      ],
      // 18.00 − 0 + 10.00 + 1.35 = 29.35; total_tax 1.35 = cart_tax 1.35 + shipping_tax 0.00
      totals: { subtotal: 1800, discounts: 0, shipping: 1000, tax: 135, taxIncluded: false, otherCharges: 0, grandTotal: 2935 },
      shippingAddress: { ...address, phone: null },
      billingAddress: { ...address, phone: '(555) 555-5555' },
      payment: { method: 'bank_transfer', provider: 'bacs', status: 'paid' },
      notes: null,
      tags: [],
      flags: { gift: false, priority: false, test: false },
    });
    expect(totalsProblems(result.order)).toEqual([]);
    expect(canonicalOrderProblems(result.order)).toEqual([]);
  });

  it('keeps ids above 2^53 exact', () => {
    const text = placeableText()
      .replace('"id": 727,', '"id": 9007199254740993,')
      .replace('"customer_id": 0,', '"customer_id": 18446744073709551615,')
      .replace('"id": 316,', '"id": 9007199254740995,');
    const { order } = accepted(text);
    expect(order.externalId).toBe('9007199254740993');
    expect(order.customer.id).toBe('18446744073709551615');
    expect(order.lines[1]?.externalLineId).toBe('9007199254740995');
  });

  it('does not depend on the topic, except for the intent', () => {
    const created = accepted(sample(), CREATED);
    expect(accepted(sample(), UPDATED)).toEqual({ ...created, intent: 'update' });
    expect(accepted(sample(), { eventId: null, topic: 'order.restored' })).toEqual({ ...created, intent: 'update' });
  });
});

describe('woocommerce.normalize of variants', () => {
  it('several lines with a coupon, tax added on top', () => {
    const body = variant({
      line_items: [
        line({ id: 11, sku: 'TEE-M', quantity: 3, subtotal: '30.00', subtotal_tax: '2.40', total: '27.00', total_tax: '2.16', price: 9 }),
        line({ id: 12, sku: 'CAP', quantity: 1, subtotal: '15.00', subtotal_tax: '1.20', total: '13.50', total_tax: '1.08', price: 13.5 }),
        line({ id: 13, sku: 'PIN', quantity: 2, subtotal: '5.00', subtotal_tax: '0.40', total: '4.50', total_tax: '0.36', price: 2.25 }),
      ],
      coupon_lines: [{ id: 20, code: 'tenoff', discount: '5.00', discount_tax: '0.40' }],
      discount_total: '5.00',
      discount_tax: '0.40',
      shipping_total: '4.99',
      shipping_tax: '0.40',
      cart_tax: '3.60',
      total_tax: '4.00',
      total: '53.99', // 50.00 − 5.00 + 4.99 + 4.00
    });
    const { order } = accepted(body);
    expect(order.lines.map(({ sku, quantity, unitPrice, discount, tax }) => ({ sku, quantity, unitPrice, discount, tax }))).toEqual([
      { sku: 'TEE-M', quantity: 3, unitPrice: 1000, discount: 300, tax: 216 },
      { sku: 'CAP', quantity: 1, unitPrice: 1500, discount: 150, tax: 108 },
      { sku: 'PIN', quantity: 2, unitPrice: 250, discount: 50, tax: 36 },
    ]);
    expect(order.totals).toEqual({ subtotal: 5000, discounts: 500, shipping: 499, tax: 400, taxIncluded: false, otherCharges: 0, grandTotal: 5399 });
  });

  it('prices entered with tax: the amounts carry the tax, as the customer saw them', () => {
    // 20 % VAT. WooCommerce still reports every amount without tax, and the tax beside it:
    // 3 × 12.00 with tax = 30.00 + 6.00, 10 % off; 1 × 9.99 = 8.32 + 1.67; shipping 5.00 = 4.17 + 0.83.
    const body = variant({
      currency: 'EUR',
      prices_include_tax: true,
      line_items: [
        line({ id: 11, sku: 'MUG', quantity: 3, subtotal: '30.00', subtotal_tax: '6.00', total: '27.00', total_tax: '5.40', price: 9 }),
        // 8.32 does not divide by 3, but per unit the customer pays a round 9.99
        line({ id: 12, sku: 'BOOK', quantity: 1, subtotal: '8.32', subtotal_tax: '1.67', total: '8.32', total_tax: '1.67', price: 8.32 }),
      ],
      discount_total: '3.00',
      discount_tax: '0.60',
      shipping_total: '4.17',
      shipping_tax: '0.83',
      cart_tax: '7.07',
      total_tax: '7.90',
      total: '47.39',
    });
    const { order } = accepted(body);
    expect(order.lines.map(({ unitPrice, discount, tax }) => ({ unitPrice, discount, tax }))).toEqual([
      { unitPrice: 1200, discount: 360, tax: 540 },
      { unitPrice: 999, discount: 0, tax: 167 },
    ]);
    // 45.99 − 3.60 + 5.00 = 47.39, the tax (7.90) being inside
    expect(order.totals).toEqual({ subtotal: 4599, discounts: 360, shipping: 500, tax: 790, taxIncluded: true, otherCharges: 0, grandTotal: 4739 });
    expect(order.currency).toBe('EUR');
  });

  it('a zero-decimal currency (JPY), with or without padded zeros', () => {
    for (const pad of ['', '.00']) {
      const body = variant({
        currency: 'JPY',
        line_items: [line({ sku: 'MATCHA', quantity: 2, subtotal: `3000${pad}`, subtotal_tax: `300${pad}`, total: `3000${pad}`, total_tax: `300${pad}`, price: 1500 })],
        discount_total: `0${pad}`,
        shipping_total: `500${pad}`,
        shipping_tax: `0${pad}`,
        cart_tax: `300${pad}`,
        total_tax: `300${pad}`,
        total: `3800${pad}`,
      });
      const { order } = accepted(body);
      expect(order.lines[0]).toMatchObject({ unitPrice: 1500, tax: 300 });
      expect(order.totals).toMatchObject({ subtotal: 3000, shipping: 500, tax: 300, grandTotal: 3800 });
    }
    const fractionalYen = variant({ currency: 'JPY', total: '29.35' });
    expect(rejected(fractionalYen).map((p) => p.path)).toContain('/total');
  });

  it('a three-decimal currency (KWD)', () => {
    const body = variant({
      currency: 'KWD',
      line_items: [line({ sku: 'DATES-1KG', quantity: 3, subtotal: '4.500', subtotal_tax: '0.000', total: '4.500', total_tax: '0.000', price: 1.5 })],
      discount_total: '0.000',
      shipping_total: '1.250',
      shipping_tax: '0.000',
      cart_tax: '0.000',
      total_tax: '0.000',
      total: '5.750',
    });
    const { order } = accepted(body);
    expect(order.lines[0]).toMatchObject({ unitPrice: 1500, quantity: 3 });
    expect(order.totals).toMatchObject({ subtotal: 4500, shipping: 1250, grandTotal: 5750 });
    const tooPrecise = variant({ currency: 'KWD', total: '5.7505' });
    expect(rejected(tooPrecise).map((p) => p.path)).toContain('/total');
  });

  it('money as numbers or strings gives the same order', () => {
    const asNumbers = variant({ total: 29.35, total_tax: 1.35, shipping_total: 10, discount_total: 0 });
    asNumbers.line_items = (sample().line_items as Json[]).map((l) => ({ ...l, subtotal: Number(l.subtotal), total: Number(l.total), total_tax: Number(l.total_tax), price: String(l.price) }));
    expect(accepted(asNumbers).order).toEqual(accepted(sample()).order);
  });

  it('guest without a shipping address: billing stands in; with no address at all, none', () => {
    const blankAddress = { first_name: '', last_name: '', company: '', address_1: '', address_2: '', city: '', state: '', postcode: '', country: '' };
    const noShipping = accepted(variant({ shipping: blankAddress }));
    expect(noShipping.order.customer.id).toBeNull();
    expect(noShipping.order.shippingAddress).toEqual(noShipping.order.billingAddress);
    expect(noShipping.order.shippingAddress).toMatchObject({ line1: '969 Market', phone: '(555) 555-5555' });

    // a virtual order: only a name and an email in billing
    const virtual = accepted(variant({ shipping: blankAddress, billing: { ...blankAddress, first_name: 'Ann', email: 'ann@example.com', phone: '' } }));
    expect(virtual.order).toMatchObject({
      shippingAddress: null,
      billingAddress: null,
      customer: { id: null, name: 'Ann', email: 'ann@example.com', phone: null },
    });
  });

  it('optional fields may be absent', () => {
    const body = sample();
    for (const key of ['number', 'date_modified_gmt', 'fee_lines', 'coupon_lines', 'refunds', 'shipping', 'customer_note', 'payment_method', 'date_paid_gmt', 'date_paid']) {
      delete body[key];
    }
    const result = accepted(body);
    expect(result.updatedAt).toBeNull();
    expect(result.order).toMatchObject({
      externalNumber: null,
      notes: null,
      payment: { method: 'unknown', provider: null, status: 'pending' }, // processing, not paid yet
    });
    expect(result.order.shippingAddress).toEqual(result.order.billingAddress);
  });

  it('a registered customer, a note and a plugin order number', () => {
    const { order } = accepted(variant({ customer_id: 12, customer_note: 'Leave it at the door', number: 'WC-1001' }));
    expect(order).toMatchObject({ customer: { id: '12' }, notes: 'Leave it at the door', externalNumber: 'WC-1001' });
  });

  it('keeps unicode names as they are', () => {
    const body = sample();
    const name = { first_name: 'Zoë', last_name: 'Ångström 山田' };
    Object.assign(body.billing as Json, name);
    Object.assign(body.shipping as Json, { ...name, city: 'Zürich', country: 'CH', state: 'ZH', postcode: '8001' });
    (body.line_items as Json[])[0] = { ...(body.line_items as Json[])[0], name: 'Tシャツ &ndash; Größe M &#x1F455;' };
    const { order } = accepted(Buffer.from(JSON.stringify(body), 'utf8'));
    expect(order.customer.name).toBe('Zoë Ångström 山田');
    expect(order.shippingAddress).toMatchObject({ name: 'Zoë Ångström 山田', city: 'Zürich', country: 'CH', region: 'ZH' });
    expect(order.lines[0]?.name).toBe('Tシャツ – Größe M 👕');
  });

  it('fees: a positive one is a charge, a negative one a discount', () => {
    const body = variant({
      fee_lines: [
        { id: 30, name: 'Gift wrap', total: '2.50', total_tax: '0.00' },
        { id: 31, name: 'Loyalty', total: '-3.00', total_tax: '0.00' },
      ],
      total: '28.85', // 29.35 + 2.50 − 3.00
    });
    expect(accepted(body).order.totals).toMatchObject({ discounts: 300, otherCharges: 250, grandTotal: 2885 });
    const withTax = variant({
      prices_include_tax: true,
      line_items: [line({ sku: 'A', quantity: 1, subtotal: '10.00', subtotal_tax: '2.00', total: '10.00', total_tax: '2.00' })],
      fee_lines: [{ id: 30, name: 'Handling', total: '1.00', total_tax: '0.20' }],
      shipping_total: '0.00',
      shipping_tax: '0.00',
      discount_tax: '0.00',
      cart_tax: '2.20',
      total_tax: '2.20',
      total: '13.20',
    });
    expect(accepted(withTax).order.totals).toMatchObject({ subtotal: 1200, otherCharges: 120, tax: 220, taxIncluded: true, grandTotal: 1320 });
  });

  it('refuses a unit price that does not divide, rather than round it', () => {
    const body = variant({
      line_items: [line({ sku: 'THIRDS', quantity: 3, subtotal: '10.00', subtotal_tax: '0.00', total: '10.00', total_tax: '0.00', price: 3.3333333333333335 })],
      total_tax: '0.00',
      cart_tax: '0.00',
      total: '20.00',
    });
    const problems = rejected(body);
    expect(problems.map((p) => p.path)).toEqual(['/line_items/0/subtotal']);
    expect(problems[0]?.message).toMatch(/1000 minor units do not divide into 3/);
  });

  it('refuses a line total above its subtotal, bad quantities and bad money, all at once', () => {
    const body = sample();
    const lines = body.line_items as Json[];
    lines[0] = { ...lines[0], total: '7.00' };
    lines[1] = { ...lines[1], quantity: 1.5 };
    Object.assign(body, { date_created_gmt: '2017-02-30T19:28:02', customer_id: 'abc' });
    expect(rejected(body).map((p) => p.path).sort()).toEqual(
      ['/customer_id', '/date_created_gmt', '/line_items/0/total', '/line_items/1/quantity'].sort(),
    );
    const badMoney = variant({ shipping_total: '-1.00', total: '29.355' });
    expect(rejected(badMoney)).toEqual([
      { path: '/shipping_total', message: 'must not be negative' },
      { path: '/total', message: '"29.355" has more than 2 decimal place(s), the minor unit of USD' },
    ]);
  });

  it('an unusable currency is one problem, not one per amount', () => {
    expect(rejected(variant({ currency: 'usd' }))).toEqual([{ path: '/currency', message: 'must be an ISO 4217 currency code' }]);
  });

  it('the hub refuses totals that do not add up', () => {
    const problems = rejected(variant({ total: '30.00' }));
    expect(problems.map((p) => p.path)).toEqual(['/totals/grandTotal']);
  });

  it('refuses a checkout draft: it is not a placed order', () => {
    expect(rejected(variant({ status: 'checkout-draft' }), UPDATED)).toEqual([
      { path: '/status', message: '"checkout-draft" is a checkout in progress, not a placed order' },
    ]);
  });

  it('order.deleted carries only the id', () => {
    expect(rejected({ id: 727 }, { eventId: null, topic: 'order.deleted' })).toEqual([
      { path: '/', message: 'WooCommerce sends only the order id on order.deleted; there is no order to read' },
    ]);
  });

  it('refuses a body that is not an object', () => {
    for (const body of ['null', '42', '"order"', '[]', 'true']) {
      expect(rejected(body)).toEqual([{ path: '/', message: 'the order must be a JSON object' }]);
    }
    expect(rejected('{"id": 1,')[0]?.path).toBe('/');
  });
});

describe('woocommerce.normalize: status, intent and payment', () => {
  it.each([
    ['cancelled', 'cancel'],
    ['refunded', 'cancel'],
    ['trash', 'cancel'],
    // the customer may still pay a failed order: an update, not a final cancel
    ['failed', 'update'],
    ['on-hold', 'update'],
    ['completed', 'update'],
  ])('order.updated with status %s → %s', (status, intent) => {
    const result = accepted(variant({ status }), UPDATED);
    expect(result.intent).toBe(intent);
    expect(result.cancelReason).toBe(intent === 'cancel' ? `WooCommerce status ${status}` : null);
  });

  it('a cancelled status on order.created is still a create', () => {
    expect(accepted(variant({ status: 'cancelled' }), CREATED).intent).toBe('create');
  });

  it.each([
    ['pending', false, [], 'pending'],
    ['on-hold', false, [], 'pending'],
    ['processing', false, [], 'pending'], // cash on delivery
    ['processing', true, [], 'paid'],
    ['completed', true, [], 'paid'],
    ['completed', true, [{ id: 1, reason: '', total: '-5.00' }], 'partially_refunded'],
    ['refunded', true, [{ id: 1, reason: '', total: '-29.35' }], 'refunded'],
    ['failed', false, [], 'failed'],
    ['cancelled', false, [], 'voided'],
    ['cancelled', true, [], 'paid'],
    ['trash', false, [], 'unknown'],
    ['shipped-by-plugin', true, [], 'paid'],
  ])('status %s, paid %s, refunds %j → payment %s', (status, paid, refunds, payment) => {
    const body = variant({ status, refunds, date_paid: paid ? '2017-03-22T16:28:08' : null, date_paid_gmt: paid ? '2017-03-22T19:28:08' : null });
    expect(accepted(body, UPDATED).order.payment.status).toBe(payment);
  });

  it.each([
    ['cod', 'cash_on_delivery'],
    ['bacs', 'bank_transfer'],
    ['cheque', 'bank_transfer'],
    ['stripe', 'card'],
    ['woocommerce_payments', 'card'],
    ['paypal', 'wallet'],
    ['ppcp-gateway', 'wallet'],
    ['some_local_gateway', 'unknown'],
    ['constructor', 'unknown'],
    ['', 'unknown'],
  ])('payment_method %j → %s', (gateway, method) => {
    const { order } = accepted(variant({ payment_method: gateway }));
    expect(order.payment).toMatchObject({ method, provider: gateway === '' ? null : gateway });
  });
});

describe('woocommerce.normalize never throws', () => {
  function checkOutcome(bytes: Buffer, delivery: InboundDelivery): void {
    const parsed = (() => {
      try {
        return { ok: true as const, value: parseJsonLossless(bytes.toString('utf8')) };
      } catch {
        return { ok: false as const };
      }
    })();
    // the connector itself must not throw (normalizeDelivery would hide it)
    if (parsed.ok) expect(() => woocommerce.normalize(parsed.value, delivery)).not.toThrow();
    const result = normalizeDelivery(woocommerce, CHANNEL, bytes, delivery);
    expectSoundOutcome(result);
    if (!result.ok) {
      expect(result.problems.length).toBeGreaterThan(0);
      for (const problem of result.problems) {
        expect(problem.path).toMatch(/^\//);
        expect(problem.message).not.toBe('');
      }
    }
  }

  const topics = fc.constantFrom(CREATED, UPDATED, { eventId: null, topic: 'order.deleted' }, { eventId: null, topic: 'order.restored' });

  it('property: for any JSON value', () => {
    fc.assert(
      fc.property(fc.jsonValue(), topics, (body, delivery) => checkOutcome(Buffer.from(JSON.stringify(body)), delivery)),
      { numRuns: 300 },
    );
  });

  it('property: for the sample with fields replaced by random values', () => {
    const base = sample();
    const paths = keyPaths(base);
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(undefined, null, '', '-1.00', '1e3', '0.001', '29.35', 29.35, 0, -0, 1.5, '99999999999999999999', 'checkout-draft', 'trash', 'JPY', 'KWD', '2017-03-22T19:28:02', true),
    );
    const edits = fc.array(fc.tuple(fc.constantFrom(...paths), replacement), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(edits, topics, (changes, delivery) => {
        const body = changes.reduce<unknown>((acc, [path, value]) => replaced(acc, path, value), base);
        checkOutcome(Buffer.from(JSON.stringify(body), 'utf8'), delivery);
      }),
      { numRuns: 500 },
    );
  });

  it('property: any order whose numbers are consistent is accepted, and its totals match', () => {
    const lineArb = fc.record({
      quantity: fc.integer({ min: 1, max: 50 }),
      unit: fc.integer({ min: 0, max: 200_000 }),
      discountShare: fc.integer({ min: 0, max: 100 }),
      taxRate: fc.integer({ min: 0, max: 25 }),
    });
    const orderArb = fc.record({
      currency: fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'),
      taxIncluded: fc.boolean(),
      asNumbers: fc.boolean(),
      lines: fc.array(lineArb, { minLength: 1, maxLength: 5 }),
      shipping: fc.integer({ min: 0, max: 5_000 }),
      shippingRate: fc.integer({ min: 0, max: 25 }),
      fee: fc.integer({ min: -100_000, max: 100_000 }),
    });
    fc.assert(
      fc.property(orderArb, (o) => {
        const amount = (minor: number): string | number => (o.asNumbers ? Number(formatMinorUnits(minor, o.currency)) : formatMinorUnits(minor, o.currency));
        // the tax inside an amount that includes it, as WooCommerce rounds it (down, here)
        const taxIn = (gross: number, rate: number) => Math.floor((gross * rate) / (100 + rate));
        const taxOn = (net: number, rate: number) => Math.floor((net * rate) / 100);
        const lines = o.lines.map((l, i) => {
          const gross = l.unit * l.quantity;
          const discount = Math.floor((gross * l.discountShare) / 100);
          const net = gross - discount;
          // with tax included, gross and net contain the tax; without, it comes on top
          const subtotalTax = o.taxIncluded ? taxIn(gross, l.taxRate) : taxOn(gross, l.taxRate);
          const totalTax = o.taxIncluded ? taxIn(net, l.taxRate) : taxOn(net, l.taxRate);
          const subtotal = o.taxIncluded ? gross - subtotalTax : gross;
          const total = o.taxIncluded ? net - totalTax : net;
          return { i, l, gross, discount, subtotal, total, subtotalTax, totalTax };
        });
        const shippingTax = o.taxIncluded ? taxIn(o.shipping, o.shippingRate) : taxOn(o.shipping, o.shippingRate);
        const shippingTotal = o.taxIncluded ? o.shipping - shippingTax : o.shipping;
        const linesTotal = lines.reduce((s, l) => s + l.total, 0);
        const fee = Math.max(o.fee, -linesTotal);
        const cartTax = lines.reduce((s, l) => s + l.totalTax, 0);
        const total = linesTotal + shippingTotal + fee + cartTax + shippingTax;
        const body = variant({
          currency: o.currency,
          prices_include_tax: o.taxIncluded,
          line_items: lines.map(({ i, l, subtotal, total: lineTotal, subtotalTax, totalTax }) =>
            line({ id: 100 + i, sku: `SKU-${i}`, quantity: l.quantity, subtotal: amount(subtotal), subtotal_tax: amount(subtotalTax), total: amount(lineTotal), total_tax: amount(totalTax) }),
          ),
          discount_total: amount(lines.reduce((s, l) => s + l.subtotal - l.total, 0)),
          discount_tax: amount(lines.reduce((s, l) => s + l.subtotalTax - l.totalTax, 0)),
          shipping_total: amount(shippingTotal),
          shipping_tax: amount(shippingTax),
          fee_lines: fee === 0 ? [] : [{ id: 90, name: 'Fee', total: amount(fee), total_tax: amount(0) }],
          cart_tax: amount(cartTax),
          total_tax: amount(cartTax + shippingTax),
          total: amount(total),
        });
        const { order } = accepted(body);
        expect(canonicalOrderProblems(order)).toEqual([]);
        expect(order.totals.grandTotal).toBe(total);
        expect(order.totals.tax).toBe(cartTax + shippingTax);
        expect(order.lines.map((l) => l.unitPrice)).toEqual(o.lines.map((l) => l.unit));
        expect(order.lines.map((l) => l.discount)).toEqual(lines.map((l) => l.discount));
      }),
      { numRuns: 300 },
    );
  });
});
