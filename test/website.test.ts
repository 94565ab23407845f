import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InboundDelivery, InboundRequest, NormalizeResult, OrderConnector } from '../connectors/types.ts';
import { app, ownChannelConnector, signOwnChannelPayload, website } from '../connectors/website.ts';
import { normalizeDelivery } from '../core/inbound.ts';
import { canonicalOrderProblems } from '../core/order/canonical.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';

// The worked example of docs/channel-contract.md; the doc must show exactly these values.
const EXAMPLE = {
  secret: 'whsec_example_do_not_use',
  timestamp: 1735689600,
  body: '{"externalId":"W-1001","currency":"USD"}',
  header: 't=1735689600,v1=daa83f9a579c7ed2fb2f3b1c374ce00d212fd54d05d58a6722fdd6ac615198b1',
};

const SECRET = 'test-website-secret';
const NOW = new Date('2025-03-14T09:30:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);

const websiteBytes = readFileSync(new URL('../docs/examples/website-order.json', import.meta.url));
const appBytes = readFileSync(new URL('../docs/examples/app-order.json', import.meta.url));
const contractDoc = readFileSync(new URL('../docs/channel-contract.md', import.meta.url), 'utf8');

const created: InboundDelivery = { eventId: 'evt_1', topic: 'order.created' };

type Json = Record<string, unknown>;
/** a fresh, freely mutable copy of an example order */
const websiteOrder = (): Json => JSON.parse(websiteBytes.toString('utf8'));
const appOrder = (): Json => JSON.parse(appBytes.toString('utf8'));
/** a copy of `order` without `key` */
const without = (order: Json, key: string): Json => Object.fromEntries(Object.entries(order).filter(([k]) => k !== key));

function request(body: string | Buffer, signature: string | undefined, headers: Record<string, string> = {}): InboundRequest {
  return { rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), headers: { 'x-hub-signature': signature, ...headers } };
}

/** the order as the hub sees it: bytes through the connector, the schema and the money rules */
function throughHub(connector: OrderConnector, body: unknown, delivery: InboundDelivery = created): NormalizeResult {
  const bytes = Buffer.isBuffer(body) ? body : Buffer.from(JSON.stringify(body), 'utf8');
  return normalizeDelivery(connector, { code: connector.channel }, bytes, delivery);
}

function orderOf(result: NormalizeResult): CanonicalOrder {
  if (!result.ok) throw new Error(`expected an order, got ${JSON.stringify(result.problems)}`);
  return result.order;
}

function problemPaths(result: NormalizeResult): string[] {
  if (result.ok) throw new Error('expected problems, got an order');
  return result.problems.map((problem) => problem.path);
}

/** lines and totals that add up, for a variant order */
function withMoney(order: Json, currency: string, lines: { unitPrice: number; quantity: number; discount?: number; tax?: number }[], extra: { orderDiscount?: number; shipping?: number; taxIncluded?: boolean; otherCharges?: number } = {}): Json {
  const canonicalLines = lines.map((line, i) => ({
    sku: `SKU-${i + 1}`, name: `Item ${i + 1}`, quantity: line.quantity, unitPrice: line.unitPrice, discount: line.discount ?? 0, tax: line.tax ?? 0,
  }));
  const subtotal = canonicalLines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
  const discounts = canonicalLines.reduce((sum, l) => sum + l.discount, 0) + (extra.orderDiscount ?? 0);
  const tax = canonicalLines.reduce((sum, l) => sum + l.tax, 0);
  const shipping = extra.shipping ?? 0;
  const otherCharges = extra.otherCharges ?? 0;
  const taxIncluded = extra.taxIncluded ?? false;
  const grandTotal = subtotal - discounts + shipping + (taxIncluded ? 0 : tax) + otherCharges;
  return { ...order, currency, lines: canonicalLines, totals: { subtotal, discounts, shipping, tax, taxIncluded, otherCharges, grandTotal } };
}

function hasNaN(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (Array.isArray(value)) return value.some(hasNaN);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasNaN);
  return false;
}

describe('signOwnChannelPayload', () => {
  it('produces the worked example of the contract', () => {
    expect(signOwnChannelPayload(EXAMPLE.body, EXAMPLE.secret, EXAMPLE.timestamp)).toBe(EXAMPLE.header);
  });

  it('is the example the contract shows, so the doc cannot drift', () => {
    for (const value of [EXAMPLE.secret, String(EXAMPLE.timestamp), EXAMPLE.body, EXAMPLE.header]) expect(contractDoc).toContain(value);
  });

  it('refuses milliseconds-looking junk and an empty secret', () => {
    expect(() => signOwnChannelPayload('{}', SECRET, 1.5)).toThrow(RangeError);
    expect(() => signOwnChannelPayload('{}', SECRET, -1)).toThrow(RangeError);
    expect(() => signOwnChannelPayload('{}', '', NOW_SECONDS)).toThrow(RangeError);
  });
});

describe('verify', () => {
  const body = websiteBytes.toString('utf8');
  const fresh = signOwnChannelPayload(body, SECRET, NOW_SECONDS);

  it('accepts the worked example at its own time', () => {
    expect(website.verify(request(EXAMPLE.body, EXAMPLE.header), EXAMPLE.secret, new Date(EXAMPLE.timestamp * 1000))).toBe(true);
  });

  it('accepts a fresh signature, on both channels', () => {
    expect(website.verify(request(body, fresh), SECRET, NOW)).toBe(true);
    expect(app.verify(request(body, fresh), SECRET, NOW)).toBe(true);
  });

  it('signs the raw bytes: a multi-byte body verifies as sent', () => {
    const unicode = '{"name":"山田 花子 — Zoë"}';
    expect(website.verify(request(unicode, signOwnChannelPayload(unicode, SECRET, NOW_SECONDS)), SECRET, NOW)).toBe(true);
  });

  it('rejects a body with one byte flipped, or reformatted', () => {
    const tampered = Buffer.from(websiteBytes);
    tampered[40] = (tampered[40] ?? 0) ^ 0x01;
    expect(website.verify(request(tampered, fresh), SECRET, NOW)).toBe(false);
    expect(website.verify(request(JSON.stringify(JSON.parse(body)), fresh), SECRET, NOW)).toBe(false);
  });

  it('rejects the wrong secret, and an empty one', () => {
    expect(website.verify(request(body, fresh), 'another-secret', NOW)).toBe(false);
    expect(website.verify(request(body, signOwnChannelPayload(body, 'x', NOW_SECONDS)), '', NOW)).toBe(false);
  });

  it('accepts up to 300 s either way and refuses 301 s stale or in the future', () => {
    const at = (offset: number) => signOwnChannelPayload(body, SECRET, NOW_SECONDS + offset);
    expect(website.verify(request(body, at(-300)), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, at(300)), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, at(-301)), SECRET, NOW)).toBe(false);
    expect(website.verify(request(body, at(301)), SECRET, NOW)).toBe(false);
    expect(website.verify(request(body, at(-86_400)), SECRET, NOW)).toBe(false);
  });

  it('refuses a timestamp that was changed after signing', () => {
    const moved = fresh.replace(`t=${NOW_SECONDS}`, `t=${NOW_SECONDS + 1}`);
    expect(website.verify(request(body, moved), SECRET, NOW)).toBe(false);
  });

  it('refuses an invalid clock rather than skipping the window', () => {
    expect(website.verify(request(body, fresh), SECRET, new Date(Number.NaN))).toBe(false);
  });

  it('rejects a missing or empty header', () => {
    expect(website.verify(request(body, undefined), SECRET, NOW)).toBe(false);
    expect(website.verify(request(body, ''), SECRET, NOW)).toBe(false);
  });

  it('rejects malformed headers without throwing', () => {
    const v1 = fresh.split(',')[1] ?? '';
    const hex = v1.slice(3);
    const malformed = [
      v1, // no timestamp
      `t=${NOW_SECONDS}`, // no signature
      `t=${NOW_SECONDS},t=${NOW_SECONDS},${v1}`, // two timestamps
      `t=${NOW_SECONDS}.5,${v1}`,
      `t=-${NOW_SECONDS},${v1}`,
      `t=abc,${v1}`,
      `t=${NOW_SECONDS},v1=${hex.slice(0, -1)}`, // short
      `t=${NOW_SECONDS},v1=${hex}00`, // long
      `t=${NOW_SECONDS},v1=${'g'.repeat(64)}`,
      `t=${NOW_SECONDS},v1=${Buffer.from(hex, 'hex').toString('base64')}`,
      `t=${NOW_SECONDS};${v1}`,
      `t=${NOW_SECONDS},,${v1}`,
      `${fresh},=x`,
      `${fresh},${'v1=' + '0'.repeat(64) + ','}`.repeat(40), // absurdly long
      `t=${NOW_SECONDS},${Array.from({ length: 9 }, () => v1).join(',')}`, // too many signatures
      `sha256=${hex}`,
      'é'.repeat(100),
    ];
    for (const header of malformed) expect(website.verify(request(body, header), SECRET, NOW), header).toBe(false);
  });

  it('tolerates spaces around items and upper-case hex', () => {
    expect(website.verify(request(body, fresh.replace(',', ', ')), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, fresh.toUpperCase().replace('T=', 't=').replace('V1=', 'v1=')), SECRET, NOW)).toBe(true);
  });

  it('accepts when any one of several v1 matches (secret rotation), in any position', () => {
    const withOld = signOwnChannelPayload(body, 'old-secret', NOW_SECONDS);
    const withNew = signOwnChannelPayload(body, SECRET, NOW_SECONDS);
    const both = `${withOld},${withNew.split(',')[1] ?? ''}`;
    const reversed = `${withNew},${withOld.split(',')[1] ?? ''}`;
    expect(website.verify(request(body, both), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, both), 'old-secret', NOW)).toBe(true);
    expect(website.verify(request(body, reversed), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, both), 'a-third-secret', NOW)).toBe(false);
  });

  it('skips other signature schemes, so a future v2 can be added alongside', () => {
    expect(website.verify(request(body, `${fresh},v2=whatever`), SECRET, NOW)).toBe(true);
    expect(website.verify(request(body, `t=${NOW_SECONDS},v0=${'0'.repeat(64)}`), SECRET, NOW)).toBe(false);
  });
});

describe('describe', () => {
  const describeHeaders = (headers: Record<string, string | undefined>) => website.describe({ rawBody: Buffer.alloc(0), headers });

  it('takes the event id and topic from the headers', () => {
    expect(describeHeaders({ 'x-hub-event-id': 'evt_01HQ', 'x-hub-topic': 'order.updated' })).toEqual({ eventId: 'evt_01HQ', topic: 'order.updated' });
  });

  it('gives a null event id and an empty topic when they are missing or blank', () => {
    expect(describeHeaders({})).toEqual({ eventId: null, topic: '' });
    expect(describeHeaders({ 'x-hub-event-id': '  ', 'x-hub-topic': '' })).toEqual({ eventId: null, topic: '' });
  });

  it('lists exactly the three order topics', () => {
    expect([...website.orderTopics].sort()).toEqual(['order.cancelled', 'order.created', 'order.updated']);
    expect(app.orderTopics).toEqual(website.orderTopics);
  });
});

describe('the channel connectors', () => {
  it('are webhooks named after their channel and secret', () => {
    expect([website.channel, website.delivery, website.secretName]).toEqual(['website', 'webhook', 'WEBSITE_WEBHOOK_SECRET']);
    expect([app.channel, app.delivery, app.secretName]).toEqual(['app', 'webhook', 'APP_WEBHOOK_SECRET']);
  });
});

describe('normalize: topics, updatedAt, cancelReason', () => {
  it('maps each topic to its intent', () => {
    const intents = ['order.created', 'order.updated', 'order.cancelled'].map((topic) => {
      const result = website.normalize(websiteOrder(), { eventId: 'e', topic });
      return result.ok ? result.intent : null;
    });
    expect(intents).toEqual(['create', 'update', 'cancel']);
  });

  it('refuses a topic it does not know (the route stores those without normalizing)', () => {
    expect(problemPaths(website.normalize(websiteOrder(), { eventId: 'e', topic: 'orders/create' }))).toEqual(['/']);
  });

  it('reads updatedAt from the body as UTC and removes it from the order', () => {
    const result = throughHub(website, { ...websiteOrder(), updatedAt: '2025-03-14T18:40:00.250+09:00' }, { eventId: 'e', topic: 'order.updated' });
    expect(result.ok && result.updatedAt).toBe('2025-03-14T09:40:00.250Z');
    expect(orderOf(result)).not.toHaveProperty('updatedAt');
  });

  it('gives updatedAt null when it is left out', () => {
    const result = throughHub(website, websiteOrder());
    expect(result.ok && result.updatedAt).toBeNull();
  });

  it('refuses an updatedAt without an offset or that is no time at all', () => {
    for (const updatedAt of ['2025-03-14T09:40:00', '2025-02-30T00:00:00Z', 'yesterday', 1741944000]) {
      expect(problemPaths(website.normalize({ ...websiteOrder(), updatedAt }, created))).toEqual(['/updatedAt']);
    }
  });

  it('keeps cancelReason for a cancellation only, and removes it from the order', () => {
    const body = { ...websiteOrder(), cancelReason: 'customer changed their mind' };
    const cancelled = throughHub(website, body, { eventId: 'e', topic: 'order.cancelled' });
    expect(cancelled.ok && cancelled.intent).toBe('cancel');
    expect(cancelled.ok && cancelled.cancelReason).toBe('customer changed their mind');
    expect(orderOf(cancelled)).not.toHaveProperty('cancelReason');
    const updated = throughHub(website, body, { eventId: 'e', topic: 'order.updated' });
    expect(updated.ok && updated.cancelReason).toBeNull();
  });

  it('refuses a cancelReason that is not text or too long', () => {
    expect(problemPaths(website.normalize({ ...websiteOrder(), cancelReason: 42 }, created))).toEqual(['/cancelReason']);
    expect(problemPaths(website.normalize({ ...websiteOrder(), cancelReason: 'x'.repeat(1001) }, created))).toEqual(['/cancelReason']);
  });
});

describe('normalize: the example orders', () => {
  it('turns docs/examples/website-order.json into an order, byte for byte as posted', () => {
    const result = normalizeDelivery(website, { code: 'website' }, websiteBytes, created);
    const order = orderOf(result);
    expect(order.channel).toBe('website');
    expect(order.externalId).toBe('W-100234');
    expect(order.totals.grandTotal).toBe(7103);
    expect(order.customer.name).toBe("Renée O'Connor");
    expect(canonicalOrderProblems(order)).toEqual([]);
  });

  it('turns docs/examples/app-order.json into an app order with its client', () => {
    const order = orderOf(normalizeDelivery(app, { code: 'app' }, appBytes, created));
    expect(order.channel).toBe('app');
    expect(order.client).toEqual({ platform: 'ios', appVersion: '5.12.0', deviceId: '6F9619FF-8B86-D011-B42D-00C04FC964FF', osVersion: '17.5' });
    expect(order.currency).toBe('JPY');
    expect(order.totals.grandTotal).toBe(4862);
    expect(order.lines[0]?.name).toBe('抹茶ラテ ボトル 500ml');
  });

  it('takes the channel code it arrived on (a second website store stays apart)', () => {
    const order = orderOf(normalizeDelivery(website, { code: 'website-eu' }, websiteBytes, created));
    expect(order.channel).toBe('website-eu');
  });

  it('maps SKUs and records the one the shop sent', () => {
    const order = orderOf(normalizeDelivery(website, { code: 'website', skuMap: { 'MUG-CLASSIC': 'MUG-350' } }, websiteBytes, created));
    expect(order.lines[1]).toMatchObject({ sku: 'MUG-350', channelSku: 'MUG-CLASSIC' });
  });

  it('does not change the body it was given', () => {
    const body = { ...appOrder(), updatedAt: '2025-03-14T03:05:11Z' };
    const before = JSON.stringify(body);
    app.normalize(body, created);
    expect(JSON.stringify(body)).toBe(before);
  });
});

describe('normalize: channel and client', () => {
  it('sets the channel when it is left out, accepts its own, refuses another', () => {
    expect(orderOf(throughHub(app, without(appOrder(), 'channel'))).channel).toBe('app');
    expect(orderOf(throughHub(website, { ...websiteOrder(), channel: 'website' })).channel).toBe('website');
    expect(problemPaths(throughHub(website, appOrder()))).toEqual(['/channel']);
    expect(problemPaths(throughHub(website, { ...websiteOrder(), channel: null }))).toEqual(['/channel']);
    expect(problemPaths(throughHub(app, { ...appOrder(), channel: 'shopify' }))).toEqual(['/channel']);
  });

  it('requires client on the app, absent, null or wrong', () => {
    expect(problemPaths(throughHub(app, without(appOrder(), 'client')))).toEqual(['/client']);
    expect(problemPaths(throughHub(app, { ...appOrder(), client: null }))).toEqual(['/client']);
    expect(problemPaths(throughHub(app, { ...appOrder(), client: 'ios' }))).toEqual(['/client']);
    expect(problemPaths(throughHub(app, { ...appOrder(), client: { platform: 'web' } }))).toEqual(['/client/platform']);
    expect(problemPaths(throughHub(app, { ...appOrder(), client: {} }))).toEqual(['/client/platform']);
  });

  it('accepts an android client with only its platform', () => {
    expect(orderOf(throughHub(app, { ...appOrder(), client: { platform: 'android' } })).client).toEqual({ platform: 'android' });
  });

  it('lets the website leave client out, or send one', () => {
    expect(orderOf(throughHub(website, websiteOrder())).client).toBeUndefined();
    expect(orderOf(throughHub(website, { ...websiteOrder(), client: null })).client).toBeNull();
    expect(orderOf(throughHub(website, { ...websiteOrder(), client: { platform: 'web', appVersion: '2025.03.1' } })).client).toMatchObject({ platform: 'web' });
  });

  it('leaves the client schema to the hub', () => {
    const result = throughHub(app, { ...appOrder(), client: { platform: 'ios', appVersion: 512 } });
    expect(problemPaths(result)).toContain('/client/appVersion');
  });

  it('a connector built for other platforms checks those', () => {
    const kiosk = ownChannelConnector({ channel: 'kiosk', secretName: 'KIOSK_WEBHOOK_SECRET', clientPlatforms: ['other'] });
    expect(orderOf(throughHub(kiosk, { ...websiteOrder(), client: { platform: 'other' } })).channel).toBe('kiosk');
    expect(problemPaths(throughHub(kiosk, websiteOrder()))).toEqual(['/client']);
  });
});

describe('normalize: order variants through the hub', () => {
  it('several lines with line and order discounts, tax on top', () => {
    const body = withMoney(websiteOrder(), 'USD', [
      { unitPrice: 1999, quantity: 3, discount: 600, tax: 431 },
      { unitPrice: 450, quantity: 10, tax: 360 },
      { unitPrice: 1, quantity: 1 },
    ], { orderDiscount: 250, shipping: 0 });
    const order = orderOf(throughHub(website, body));
    expect(order.lines).toHaveLength(3);
    expect(order.totals).toEqual({ subtotal: 10498, discounts: 850, shipping: 0, tax: 791, taxIncluded: false, otherCharges: 0, grandTotal: 10439 });
  });

  it('tax included in the prices (VAT)', () => {
    const body = withMoney(websiteOrder(), 'EUR', [{ unitPrice: 11900, quantity: 1, tax: 1900 }], { taxIncluded: true, shipping: 490 });
    expect(orderOf(throughHub(website, body)).totals.grandTotal).toBe(12390);
  });

  it('JPY amounts are whole yen', () => {
    const body = withMoney(websiteOrder(), 'JPY', [{ unitPrice: 1500, quantity: 2, tax: 300 }], { shipping: 700 });
    expect(orderOf(throughHub(website, body)).totals.grandTotal).toBe(4000);
  });

  it('KWD amounts are fils (three decimals)', () => {
    const body = withMoney(websiteOrder(), 'KWD', [{ unitPrice: 12_345, quantity: 2, discount: 1_005 }], { shipping: 1_500, otherCharges: 250 });
    expect(orderOf(throughHub(website, body)).totals.grandTotal).toBe(24_690 - 1_005 + 1_500 + 250);
  });

  it('only the required fields', () => {
    const body = {
      externalId: 'W-min-1',
      placedAt: '2025-03-14T09:26:53Z',
      currency: 'USD',
      customer: {},
      lines: [{ sku: 'GIFT-CARD-25', name: 'Gift card', quantity: 1, unitPrice: 2500, discount: 0, tax: 0 }],
      totals: { subtotal: 2500, discounts: 0, shipping: 0, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 2500 },
      shippingAddress: null,
      billingAddress: null,
      payment: { method: 'card', status: 'paid' },
      tags: [],
      flags: { gift: false, priority: false, test: true },
    };
    const order = orderOf(throughHub(website, body));
    expect(order).toEqual({ ...body, channel: 'website' });
  });

  it('unicode names, addresses and notes pass through unchanged', () => {
    const body = {
      ...websiteOrder(),
      customer: { name: 'Zoë Ångström-Núñez 🙂', email: 'zoe@例え.jp' },
      notes: 'Bitte klingeln — 門の横に置いてください',
      lines: [{ sku: 'ÉCHARPE-LAINE', name: 'Écharpe en laine – « grise »', quantity: 1, unitPrice: 6800, discount: 500, tax: 504 }],
    };
    const order = orderOf(throughHub(website, body));
    expect(order.customer.name).toBe('Zoë Ångström-Núñez 🙂');
    expect(order.lines[0]?.sku).toBe('ÉCHARPE-LAINE');
  });
});

describe('normalize: what the hub refuses', () => {
  it('totals that do not add up name /totals/grandTotal', () => {
    const body = websiteOrder();
    (body.totals as Json).grandTotal = 7104;
    const result = throughHub(website, body);
    expect(problemPaths(result)).toEqual(['/totals/grandTotal']);
    expect(result.ok ? '' : result.problems[0]?.message).toContain('= 7103');
  });

  it('tax counted on top of prices that include it is a grandTotal problem', () => {
    const body = appOrder();
    (body.totals as Json).taxIncluded = false;
    expect(problemPaths(throughHub(app, body))).toEqual(['/totals/grandTotal']);
  });

  it('a subtotal that is not the lines', () => {
    const body = websiteOrder();
    (body.lines as Json[])[0]!.quantity = 3;
    expect(problemPaths(throughHub(website, body))).toEqual(['/totals/subtotal']);
  });

  it('decimal amounts (not minor units), with their paths', () => {
    const body = websiteOrder();
    (body.lines as Json[])[0]!.unitPrice = 25.0001;
    expect(problemPaths(throughHub(website, body))).toContain('/lines/0/unitPrice');
  });

  it('an amount beyond 2^53 (kept as digits by the lossless parser) is no integer', () => {
    const text = websiteBytes.toString('utf8').replace('"shipping": 599', '"shipping": 90071992547409930');
    expect(problemPaths(throughHub(website, Buffer.from(text)))).toContain('/totals/shipping');
  });

  it('fields the canonical order does not have', () => {
    expect(problemPaths(throughHub(website, { ...websiteOrder(), status: 'paid' }))).toEqual(['/']);
  });

  it('a __proto__ key is an unknown field, not a prototype', () => {
    const text = websiteBytes.toString('utf8').replace('{', '{"__proto__": {"flags": {"test": true}},');
    expect(problemPaths(throughHub(website, Buffer.from(text)))).toEqual(['/']);
    expect(({} as Json).flags).toBeUndefined();
  });

  it('channelSku is the hub’s to set', () => {
    const body = websiteOrder();
    (body.lines as Json[])[0]!.channelSku = 'X';
    expect(problemPaths(throughHub(website, body))).toEqual(['/lines/0/channelSku']);
  });

  it('lines that are not an array of objects, before the hub maps SKUs over them', () => {
    expect(problemPaths(throughHub(website, without(websiteOrder(), 'lines')))).toEqual(['/lines']);
    expect(problemPaths(throughHub(website, { ...websiteOrder(), lines: 'two mugs' }))).toEqual(['/lines']);
    expect(problemPaths(throughHub(website, { ...websiteOrder(), lines: [null, 3] }))).toEqual(['/lines/0', '/lines/1']);
  });

  it('bodies that are not an object, or not JSON', () => {
    for (const body of [[], null, 'order', 42, true]) expect(problemPaths(throughHub(website, body))).toEqual(['/']);
    expect(problemPaths(throughHub(website, Buffer.from('{"externalId": "W-1",')))).toEqual(['/']);
    expect(problemPaths(throughHub(website, Buffer.from([0xff, 0xfe, 0x7b, 0x7d])))).toEqual(['/']);
  });

  it('every problem the connector finds comes back at once', () => {
    const body = { ...without(appOrder(), 'client'), channel: 'website', updatedAt: 'soon', lines: [null] };
    expect(problemPaths(app.normalize(body, created)).sort()).toEqual(['/channel', '/client', '/lines/0', '/updatedAt']);
  });
});

describe('normalize: properties', () => {
  const topics = fc.constantFrom('order.created', 'order.updated', 'order.cancelled', '', 'orders/create');
  const connectors = fc.constantFrom(website, app);

  /** every ok result is a checked canonical order without NaN */
  function assertSound(result: NormalizeResult): void {
    if (!result.ok) {
      expect(result.problems.length).toBeGreaterThan(0);
      return;
    }
    expect(canonicalOrderProblems(result.order)).toEqual([]);
    expect(hasNaN(result.order)).toBe(false);
  }

  it('normalize never throws on any value at all', () => {
    fc.assert(
      fc.property(connectors, fc.anything(), topics, (connector, body, topic) => {
        const result = connector.normalize(body, { eventId: null, topic });
        expect(typeof result.ok).toBe('boolean');
      }),
      { numRuns: 500 },
    );
  });

  it('the hub path never throws on arbitrary JSON, and an ok result is sound', () => {
    fc.assert(
      fc.property(connectors, fc.jsonValue(), topics, (connector, body, topic) => {
        assertSound(throughHub(connector, body, { eventId: null, topic }));
      }),
      { numRuns: 500 },
    );
  });

  /** every JSON pointer in a value, as key paths */
  function pathsOf(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
    if (typeof value !== 'object' || value === null) return [];
    const keys = Array.isArray(value) ? value.map((_, i) => i) : Object.keys(value);
    return keys.flatMap((key) => [[...prefix, key], ...pathsOf((value as Record<string | number, unknown>)[key], [...prefix, key])]);
  }

  function mutate(order: Json, path: (string | number)[], replacement: unknown, remove: boolean): Json {
    const copy: Json = JSON.parse(JSON.stringify(order));
    let parent: unknown = copy;
    for (const key of path.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[key];
    const last = path[path.length - 1]!;
    const container = parent as Record<string | number, unknown>;
    if (remove && Array.isArray(container)) container.splice(Number(last), 1);
    else if (remove) delete container[last];
    else container[last] = replacement;
    return copy;
  }

  const examples = [
    { connector: website, order: websiteOrder() },
    { connector: app, order: appOrder() },
  ];
  const mutation = fc.record({
    example: fc.constantFrom(...examples),
    pick: fc.nat(),
    replacement: fc.oneof(fc.jsonValue(), fc.integer(), fc.double(), fc.constantFrom(null, '', -1, 0, 2 ** 53, '1e3', 'NaN')),
    remove: fc.boolean(),
  });

  it('mutated examples never throw, and an ok result is sound', () => {
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), topics, (mutations, topic) => {
        const { connector } = mutations[0]!.example;
        let body = mutations[0]!.example.order;
        for (const { pick, replacement, remove } of mutations) {
          const paths = pathsOf(body);
          if (paths.length === 0) break;
          body = mutate(body, paths[pick % paths.length]!, replacement, remove);
        }
        assertSound(throughHub(connector, body, { eventId: null, topic }));
      }),
      { numRuns: 1000 },
    );
  });

  it('byte-level damage to the examples never throws', () => {
    fc.assert(
      fc.property(fc.constantFrom(websiteBytes, appBytes), fc.nat(), fc.integer({ min: 0, max: 255 }), connectors, (bytes, at, byte, connector) => {
        const damaged = Buffer.from(bytes);
        damaged[at % damaged.length] = byte;
        assertSound(throughHub(connector, damaged));
      }),
      { numRuns: 500 },
    );
  });
});
