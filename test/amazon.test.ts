// Amazon SP-API: the connector on Amazon's own examples (and variants of them), then the
// poller against a loopback SP-API and a real Postgres namespace (no broker: the assertions
// are on raw_inbound, outbox and channel_cursors rows).
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { amazon, type AmazonOrderDocument } from '../connectors/amazon.ts';
import type { NormalizeResult } from '../connectors/types.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, type Db } from '../core/db/pool.ts';
import type { InputProblem } from '../core/errors.ts';
import { normalizeDelivery } from '../core/inbound.ts';
import { parseJsonLossless } from '../core/json.ts';
import { formatMinorUnits } from '../core/money.ts';
import { loadCursor } from '../core/db/sql/cursors.ts';
import { createAmazonPoller, type AmazonCursor, type AmazonPollerDeps } from '../core/pollers/amazon.ts';
import { quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import {
  officialExample,
  officialItems,
  officialOrders,
  SP_API_TOKEN,
  startSpApiServer,
  type SpApiServer,
  type SpApiServerOptions,
} from './support/sp-api-server.ts';
import { expectSoundOutcome, keyPaths, replaced } from './support/normalize.ts';

// Amazon's documents are read and varied loosely here; the connector under test is what checks them.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = Record<string, any>;
const example = (name: string): Json => officialExample(name);

const DELIVERY = { eventId: null, topic: 'order' };

/** What the hub does with a stored delivery: bytes → connector → schema and money checks. */
function normalize(doc: unknown): NormalizeResult {
  return normalizeDelivery(amazon, { code: 'amazon' }, Buffer.from(JSON.stringify(doc)), DELIVERY);
}

function accepted(doc: unknown): NormalizeResult & { ok: true } {
  const result = normalize(doc);
  if (!result.ok) throw new Error(`expected an order, got problems: ${JSON.stringify(result.problems)}`);
  return result;
}

function problemsOf(doc: unknown): InputProblem[] {
  const result = normalize(doc);
  if (result.ok) throw new Error('expected problems, got an order');
  return result.problems;
}

const sandboxOrders = () => example('getOrders.response.sandbox-TEST_CASE_200.json').payload.Orders as Json[];
const sandboxItems = () => example('getOrderItems.response.sandbox-TEST_CASE_200.json').payload.OrderItems as Json[];
const exampleItems = () => example('getOrderItems.response.example.json').payload.OrderItems as Json[];

/** The sandbox order 902-1845936-5435065 with its own sandbox items: the one official pair that belongs together. */
function sandboxDocument(): Json {
  return { order: sandboxOrders()[0], items: sandboxItems() };
}

/** The getOrders example's Pending order (no OrderTotal) with the getOrderItems example's items. */
function pendingDocument(): Json {
  return { order: example('getOrders.response.example.json').payload.Orders[0], items: exampleItems() };
}

const money = (currency: string, amount: string) => ({ CurrencyCode: currency, Amount: amount });
const usd = (amount: string) => money('USD', amount);

/** Every money object inside `value` moved to `currency` (the examples' JPY amounts have cents). */
function inCurrency<T>(value: T, currency: string): T {
  return JSON.parse(JSON.stringify(value), (key, v: unknown) => (key === 'CurrencyCode' ? currency : v)) as T;
}

/** A sandbox-like Unshipped US order with the given items; OrderTotal as given (null: none). */
function usOrder(items: Json[], orderTotal: string | null, overrides: Json = {}): Json {
  const order: Json = { ...sandboxOrders()[0], ...overrides };
  if (orderTotal === null) delete order.OrderTotal;
  else order.OrderTotal = usd(orderTotal);
  return { order, items };
}

function anItem(overrides: Json = {}): Json {
  return {
    OrderItemId: '12345678901234', SellerSKU: 'SKU-1', ASIN: 'B000000001', Title: 'Widget',
    QuantityOrdered: 1, ItemPrice: usd('10.00'), ItemTax: usd('0.00'), PromotionDiscount: usd('0.00'), ...overrides,
  };
}

describe('amazon connector contract', () => {
  it('is a polled channel that never accepts a webhook', () => {
    expect(amazon).toMatchObject({ channel: 'amazon', delivery: 'poll', secretName: 'AMAZON_SP_API_TOKEN', orderTopics: ['order'] });
    const request = { rawBody: Buffer.from(JSON.stringify(sandboxDocument())), headers: { 'x-amz-access-token': SP_API_TOKEN } };
    expect(amazon.verify(request, SP_API_TOKEN, new Date())).toBe(false);
    expect(amazon.verify(request, '', new Date())).toBe(false);
    expect(amazon.describe(request)).toEqual({ eventId: null, topic: 'order' });
  });
});

describe('amazon.normalize of the official examples', () => {
  it('maps the sandbox order with its sandbox items exactly', () => {
    const result = accepted(sandboxDocument());
    expect(result.intent).toBe('create');
    expect(result.updatedAt).toBe('1970-01-19T03:58:32.000Z'); // the sandbox's epoch-like dates, as sent
    expect(result.cancelReason).toBeNull();
    expect(result.order).toEqual({
      channel: 'amazon',
      externalId: '902-1845936-5435065',
      externalNumber: '902-1845936-5435065',
      placedAt: '1970-01-19T03:58:30.000Z',
      currency: 'USD',
      // no BuyerInfo in the sandbox answer: no customer identity at all
      customer: { id: null, email: null, phone: null, name: null, locale: null },
      lines: [{
        externalLineId: '05015851154158', // a digit string with a leading zero, kept as is
        sku: 'NABetaASINB00551Q3CS',
        name: 'B00551Q3CS [Card Book]',
        quantity: 1,
        unitPrice: 1000,
        discount: 0,
        tax: 101,
      }],
      // OrderTotal 11.01 = ItemPrice 10.00 + ItemTax 1.01: US tax comes on top
      totals: { subtotal: 1000, discounts: 0, shipping: 0, tax: 101, taxIncluded: false, otherCharges: 0, grandTotal: 1101 },
      shippingAddress: null, // only DefaultShipFromLocationAddress (the seller's) is there
      billingAddress: null,
      payment: { method: 'card', provider: 'amazon', status: 'paid' },
      // the sandbox item says the buyer asked to cancel ("IsBuyerRequestedCancel": "true", a string)
      notes: 'The buyer asked to cancel: Found cheaper somewhere else.',
      tags: ['marketplace:ATVPDKIKX0DER', 'fulfillment:MFN', 'buyer-requested-cancel'],
      flags: { gift: false, priority: false, test: false },
    });
  });

  it('maps the second sandbox order with the same items', () => {
    const result = accepted({ order: sandboxOrders()[1], items: sandboxItems() });
    expect(result.order).toMatchObject({ externalId: '902-8745147-1934268', totals: { grandTotal: 1101 }, payment: { status: 'paid' } });
  });

  it('reports every problem of the getOrderItems example: cents on yen, and a GBP gift wrap on a JPY item', () => {
    expect(problemsOf(pendingDocument())).toEqual([
      { path: '/items/0/ItemPrice/Amount', message: '"25.99" has more than 0 decimal place(s), the minor unit of JPY' },
      { path: '/items/0/ShippingPrice/Amount', message: '"1.26" has more than 0 decimal place(s), the minor unit of JPY' },
      { path: '/items/0/BuyerInfo/GiftWrapPrice/CurrencyCode', message: 'is GBP but the order is in JPY; amounts are never converted' },
      { path: '/items/1/ItemPrice/Amount', message: '"17.95" has more than 0 decimal place(s), the minor unit of JPY' },
      { path: '/items/1/BuyerInfo/GiftWrapPrice/Amount', message: '"1.99" has more than 0 decimal place(s), the minor unit of JPY' },
    ]);
  });

  it('reads ItemPrice as the price of all units, and never rounds a unit price', () => {
    // The example items in dollars: 17.95 for 2 units is 8.975 each.
    const doc = inCurrency(pendingDocument(), 'USD');
    expect(problemsOf(doc)).toEqual([
      { path: '/items/1/ItemPrice/Amount', message: '17.95 USD for 2 units is not a whole number of minor units per unit (not rounded)' },
    ]);
  });

  it('maps the Pending example (no OrderTotal) in dollars: computed total, gift wrap and COD fee as other charges', () => {
    const doc = inCurrency(pendingDocument(), 'USD');
    doc.items[1].ItemPrice = usd('17.96');
    const result = accepted(doc);
    expect(result.order).toMatchObject({
      externalId: '902-3159896-1390916',
      placedAt: '2017-01-20T19:49:35.000Z',
      currency: 'USD',
      customer: { email: 'user@example.com', name: 'John Doe', phone: null },
      shippingAddress: {
        name: 'Michigan address', company: null, line1: '1 Cross St.', line2: null, city: 'Canton', region: 'MI', postalCode: '48817', country: 'US', phone: null,
      },
      payment: { method: 'card', provider: 'amazon', status: 'pending' },
      flags: { gift: false, priority: false, test: false },
    });
    expect(result.order.lines).toEqual([
      { externalLineId: '68828574383266', sku: 'CBA_OTF_1', name: 'Example item name', quantity: 1, unitPrice: 2599, discount: 0, tax: 0 },
      { externalLineId: '79039765272157', sku: 'CBA_OTF_5', name: 'Example item name', quantity: 2, unitPrice: 898, discount: 0, tax: 0 },
    ]);
    // gift wraps 41.99 + 1.99 and the COD fee 10.00 − 1.00
    expect(result.order.totals).toEqual({
      subtotal: 4395, discounts: 0, shipping: 126, tax: 0, taxIncluded: false, otherCharges: 5298, grandTotal: 9819,
    });
  });
});

describe('amazon.normalize of variations', () => {
  it('adds up several items with promotions, a shipping discount and taxes to OrderTotal', () => {
    const items = [
      anItem({ QuantityOrdered: 3, ItemPrice: usd('30.00'), ItemTax: usd('2.40'), PromotionDiscount: usd('5.00'), PromotionIds: ['PROMO-5'] }),
      anItem({
        OrderItemId: '22222222222222', SellerSKU: 'SKU-2', ItemPrice: usd('19.99'), ItemTax: usd('1.60'),
        ShippingPrice: usd('4.99'), ShippingTax: usd('0.40'), ShippingDiscount: usd('4.99'), PromotionIds: ['FREESHIP'],
      }),
    ];
    // 30.00 + 19.99 − 5.00 − 4.99 + 4.99 + (2.40 + 1.60 + 0.40)
    const result = accepted(usOrder(items, '49.39'));
    expect(result.order.totals).toEqual({
      subtotal: 4999, discounts: 999, shipping: 499, tax: 440, taxIncluded: false, otherCharges: 0, grandTotal: 4939,
    });
    expect(result.order.lines.map((l) => [l.sku, l.quantity, l.unitPrice, l.discount, l.tax])).toEqual([
      ['SKU-1', 3, 1000, 500, 240],
      ['SKU-2', 1, 1999, 0, 160],
    ]);
  });

  it('subtracts discount taxes and reads a negative discount as the same discount', () => {
    const items = [anItem({ ItemPrice: usd('20.00'), ItemTax: usd('2.00'), PromotionDiscount: usd('-4.00'), PromotionDiscountTax: usd('-0.40') })];
    const result = accepted(usOrder(items, '17.60'));
    expect(result.order.totals).toMatchObject({ discounts: 400, tax: 160, grandTotal: 1760 });
  });

  it('learns from OrderTotal that prices include tax (UK), and from the marketplace when there is none', () => {
    const items = [anItem({ ItemPrice: money('GBP', '12.00'), ItemTax: money('GBP', '2.00'), PromotionDiscount: money('GBP', '0.00') })];
    const uk = { MarketplaceId: 'A1F83G8C2ARO7P', OrderTotal: money('GBP', '12.00') };
    expect(accepted({ order: { ...sandboxOrders()[0], ...uk }, items }).order.totals).toMatchObject({ taxIncluded: true, tax: 200, grandTotal: 1200 });
    const pending: Json = { ...sandboxOrders()[0], MarketplaceId: 'A1F83G8C2ARO7P', OrderStatus: 'Pending' };
    delete pending.OrderTotal;
    expect(accepted({ order: pending, items }).order.totals).toMatchObject({ taxIncluded: true, grandTotal: 1200 });
    // a US marketplace whose OrderTotal says the tax is inside the price: the OrderTotal wins
    const usItems = inCurrency(items, 'USD');
    expect(accepted(usOrder(usItems, '12.00')).order.totals).toMatchObject({ taxIncluded: true, grandTotal: 1200 });
    expect(accepted(usOrder(usItems, '14.00')).order.totals).toMatchObject({ taxIncluded: false, grandTotal: 1400 });
  });

  it('explains an OrderTotal the items do not add up to', () => {
    const problems = problemsOf(usOrder([anItem({ ItemTax: usd('1.00') })], '12.34'));
    expect(problems).toEqual([{
      path: '/order/OrderTotal/Amount',
      message: 'OrderTotal 12.34 does not match the items: ItemPrice 10.00 − discounts 0.00 + shipping 0.00'
        + ' + gift wrap and COD fees 0.00 = 10.00, or 11.00 with tax 1.00 on top',
    }]);
  });

  it('uses each currency’s minor unit: yen without decimals, dinars with three', () => {
    const yen = inCurrency(usOrder([anItem({ QuantityOrdered: 2, ItemPrice: usd('3000'), ItemTax: usd('0') })], '3000'), 'JPY');
    yen.order.MarketplaceId = 'A1VC38T7YXB528';
    expect(accepted(yen).order).toMatchObject({ currency: 'JPY', lines: [{ unitPrice: 1500, quantity: 2 }], totals: { grandTotal: 3000 } });

    const dinars = inCurrency(usOrder([anItem({ QuantityOrdered: 3, ItemPrice: usd('37.035'), ItemTax: usd('0.000') })], '37.035'), 'KWD');
    expect(accepted(dinars).order).toMatchObject({ currency: 'KWD', lines: [{ unitPrice: 12345 }], totals: { subtotal: 37035, grandTotal: 37035 } });

    const tooPrecise = inCurrency(usOrder([anItem({ ItemPrice: usd('1.2345') })], null), 'KWD');
    expect(problemsOf(tooPrecise).map((p) => p.path)).toEqual(['/items/0/ItemPrice/Amount']);
  });

  it('accepts an order without buyer, address, OrderTotal or optional item money', () => {
    const pending: Json = { ...sandboxOrders()[0], OrderStatus: 'Pending' };
    delete pending.OrderTotal;
    const result = accepted({ order: pending, items: [{ OrderItemId: '1', SellerSKU: 'SKU-1', QuantityOrdered: 1, ItemPrice: usd('5.00') }] });
    expect(result.order).toMatchObject({
      customer: { id: null, email: null, name: null, phone: null },
      shippingAddress: null,
      payment: { status: 'pending' },
      totals: { subtotal: 500, tax: 0, grandTotal: 500 },
      lines: [{ name: 'SKU-1' }], // no Title: the SKU names the line
    });
  });

  it('treats an address without a street (no Restricted Data Token) as no address', () => {
    const doc = usOrder([anItem()], '10.00', { ShippingAddress: { City: 'Canton', StateOrRegion: 'MI', PostalCode: '48817', CountryCode: 'US' } });
    expect(accepted(doc).order.shippingAddress).toBeNull();
  });

  it('keeps unicode names and titles, and cuts a title longer than 500 characters at a character', () => {
    const title = `${'😀'.repeat(300)}漢字${'é'.repeat(300)}`;
    const doc = usOrder([anItem({ Title: title })], '10.00', {
      BuyerInfo: { BuyerEmail: 'abc123@marketplace.amazon.de', BuyerName: 'Zoë Ångström-Müller 山田太郎' },
      ShippingAddress: { Name: 'Łukasz Żółć', AddressLine1: 'ul. Świętokrzyska 1', AddressLine2: 'm. 2', AddressLine3: 'piętro 3', City: 'Kraków', PostalCode: '30-001', CountryCode: 'PL', Phone: '+48 12 345 67 89' },
    });
    const { order } = accepted(doc);
    expect(order.customer).toMatchObject({ name: 'Zoë Ångström-Müller 山田太郎', email: 'abc123@marketplace.amazon.de', phone: '+48 12 345 67 89' });
    expect(order.shippingAddress).toMatchObject({ name: 'Łukasz Żółć', line1: 'ul. Świętokrzyska 1', line2: 'm. 2, piętro 3', country: 'PL' });
    const name = order.lines[0]?.name ?? '';
    expect(Array.from(name)).toHaveLength(500);
    expect(name.startsWith('😀'.repeat(300))).toBe(true);
    expect(name.endsWith('…')).toBe(true);
  });

  it('turns a Canceled order into a cancel, even when Amazon has zeroed its items', () => {
    const cancelled: Json = { ...sandboxOrders()[0], OrderStatus: 'Canceled' };
    delete cancelled.OrderTotal;
    const zeroed = { OrderItemId: '1', SellerSKU: 'SKU-1', Title: 'Widget', QuantityOrdered: 0 };
    const result = accepted({ order: cancelled, items: [zeroed] });
    expect(result).toMatchObject({ intent: 'cancel', cancelReason: 'Amazon order status Canceled', updatedAt: '1970-01-19T03:58:32.000Z' });
    expect(result.order).toMatchObject({
      currency: 'XXX', // ISO 4217 "no currency": nothing in it carries money any more
      lines: [{ sku: 'SKU-1', quantity: 1, unitPrice: 0 }],
      totals: { subtotal: 0, grandTotal: 0 },
      payment: { status: 'voided' },
    });

    const withItems = accepted({ order: { ...sandboxOrders()[0], OrderStatus: 'Canceled' }, items: sandboxItems() });
    expect(withItems).toMatchObject({ intent: 'cancel', cancelReason: 'Found cheaper somewhere else.', order: { currency: 'USD', totals: { grandTotal: 1101 } } });
  });

  it('drops an item with nothing ordered from an order that goes on', () => {
    const result = accepted(usOrder([anItem(), anItem({ OrderItemId: '2', SellerSKU: 'GONE', QuantityOrdered: 0, ItemPrice: usd('0.00') })], '10.00'));
    expect(result.order.lines.map((l) => l.sku)).toEqual(['SKU-1']);
    expect(problemsOf(usOrder([anItem({ QuantityOrdered: 0 })], '10.00'))).toContainEqual({ path: '/items', message: 'no item has a QuantityOrdered of at least 1' });
  });

  it.each([
    [{ PaymentMethod: 'COD' }, 'cash_on_delivery'],
    [{ PaymentMethod: 'CVS' }, 'bank_transfer'],
    [{ PaymentMethod: 'Other', PaymentMethodDetails: ['CreditCard', 'GiftCertificate'] }, 'card'],
    [{ PaymentMethod: 'Other', PaymentMethodDetails: ['GiftCertificate'] }, 'store_credit'],
    [{ PaymentMethod: undefined, PaymentMethodDetails: undefined }, 'unknown'],
  ])('maps the payment method %j to %s', (fields, method) => {
    expect(accepted(usOrder([anItem()], '10.00', fields)).order.payment.method).toBe(method);
  });

  it.each([
    ['Pending', 'create', 'pending'],
    ['PendingAvailability', 'create', 'pending'],
    ['Unshipped', 'create', 'paid'],
    ['PartiallyShipped', 'create', 'paid'],
    ['Shipped', 'create', 'paid'],
    ['InvoiceUnconfirmed', 'create', 'paid'],
    ['Canceled', 'cancel', 'voided'],
    ['Unfulfillable', 'cancel', 'voided'],
  ])('maps OrderStatus %s to intent %s and payment %s', (OrderStatus, intent, status) => {
    expect(accepted(usOrder([anItem()], '10.00', { OrderStatus }))).toMatchObject({ intent, order: { payment: { status } } });
  });

  it.each([
    [{ IsPrime: true }, true],
    [{ IsBusinessOrder: true }, true],
    [{ ShipmentServiceLevelCategory: 'Expedited' }, true],
    [{ ShipmentServiceLevelCategory: 'NextDay' }, true],
    [{ ShipmentServiceLevelCategory: 'Standard' }, false],
  ])('sets priority for %j', (fields, priority) => {
    expect(accepted(usOrder([anItem()], '10.00', fields)).order.flags.priority).toBe(priority);
  });

  it('reads IsGift as Amazon sends it, a string', () => {
    expect(accepted(usOrder([anItem({ IsGift: 'true' })], '10.00')).order.flags.gift).toBe(true);
    expect(accepted(usOrder([anItem({ IsGift: 'false' })], '10.00')).order.flags.gift).toBe(false);
  });

  it('reports shapes it cannot read, each at its path, all at once', () => {
    const doc = usOrder([
      anItem({ QuantityOrdered: '1', SellerSKU: undefined }),
      anItem({ ItemPrice: money('EUR', '10.00'), PromotionDiscount: usd('11.00') }),
    ], '20.00', { OrderStatus: 'Lost', PurchaseDate: '2024-02-30T10:00:00Z', ShippingAddress: { AddressLine1: '1 Main St', CountryCode: 'us' } });
    expect(problemsOf(doc).map((p) => p.path)).toEqual([
      '/order/OrderStatus',
      '/order/PurchaseDate',
      '/items/0/SellerSKU',
      '/items/0/QuantityOrdered',
      '/items/1/ItemPrice/CurrencyCode',
      '/items/1/PromotionDiscount',
      '/order/ShippingAddress/CountryCode',
    ]);
  });

  it('reports a document that is not { order, items }', () => {
    for (const body of [null, 42, 'order', [], true]) expect(amazon.normalize(body, DELIVERY)).toEqual({ ok: false, problems: [{ path: '/', message: expect.stringContaining('JSON object') }] });
    expect(problemsOf({ order: sandboxOrders()[0] })).toEqual([{ path: '/items', message: 'needs at least one item' }]);
    expect(problemsOf({ order: 'x', items: [] })).toEqual([{ path: '/order', message: 'must be a JSON object' }]);
    expect(problemsOf({ order: sandboxOrders()[0], items: {} }).map((p) => p.path)).toContain('/items');
  });
});

describe('amazon.normalize properties', () => {
  const checkOutcome = expectSoundOutcome;

  it('property: any JSON value never throws', () => {
    fc.assert(fc.property(fc.jsonValue(), (body) => {
      checkOutcome(amazon.normalize(body, DELIVERY));
      checkOutcome(normalize(body));
    }));
  });

  it('property: official documents with fields replaced by random values never throw', () => {
    const bases = [sandboxDocument(), inCurrency(pendingDocument(), 'USD'), usOrder([anItem({ ShippingPrice: usd('1.00') }), anItem({ SellerSKU: 'B' })], '21.00')];
    const replacement = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(undefined, null, '', 0, -1, '-1.00', '1e3', '0.001', '99999999999999999999', 'true', 'Canceled', 'Pending', 'JPY', 'KWD'),
    );
    for (const base of bases) {
      const paths = keyPaths(base);
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.constantFrom(...paths), replacement), { minLength: 1, maxLength: 6 }), (changes) => {
          const body = changes.reduce<unknown>((acc, [path, value]) => replaced(acc, path, value), base);
          checkOutcome(amazon.normalize(parseJsonLossless(JSON.stringify(body) ?? 'null'), DELIVERY));
          checkOutcome(normalize(body));
        }),
        { numRuns: 300 },
      );
    }
  });

  it('property: well-formed orders in any currency always add up to their OrderTotal', () => {
    const item = fc.record({
      quantity: fc.integer({ min: 1, max: 5 }),
      unit: fc.integer({ min: 0, max: 100_000 }),
      discountPercent: fc.integer({ min: 0, max: 100 }),
      tax: fc.integer({ min: 0, max: 5_000 }),
      shipping: fc.integer({ min: 0, max: 3_000 }),
      shippingDiscountPercent: fc.integer({ min: 0, max: 100 }),
      title: fc.string({ unit: 'grapheme', maxLength: 30 }),
    });
    fc.assert(fc.property(fc.constantFrom('USD', 'JPY', 'KWD', 'EUR'), fc.array(item, { minLength: 1, maxLength: 6 }), fc.boolean(), (currency, specs, withTotal) => {
      const m = (minor: number) => money(currency, formatMinorUnits(minor, currency));
      const lines = specs.map((s) => {
        const price = s.unit * s.quantity;
        return { ...s, price, discount: Math.floor((price * s.discountPercent) / 100), shippingDiscount: Math.floor((s.shipping * s.shippingDiscountPercent) / 100) };
      });
      const sum = (pick: (l: (typeof lines)[number]) => number) => lines.reduce((a, l) => a + pick(l), 0);
      const expected = {
        subtotal: sum((l) => l.price),
        discounts: sum((l) => l.discount + l.shippingDiscount),
        shipping: sum((l) => l.shipping),
        tax: sum((l) => l.tax),
      };
      const grandTotal = expected.subtotal - expected.discounts + expected.shipping + expected.tax;
      const order: Json = { ...sandboxOrders()[0], OrderStatus: withTotal ? 'Shipped' : 'Pending', OrderTotal: withTotal ? m(grandTotal) : undefined };
      const items = lines.map((l, i) => ({
        OrderItemId: String(i).padStart(14, '0'), SellerSKU: `SKU-${i}`, Title: l.title, QuantityOrdered: l.quantity,
        ItemPrice: m(l.price), ItemTax: m(l.tax), PromotionDiscount: m(l.discount), ShippingPrice: m(l.shipping), ShippingDiscount: m(l.shippingDiscount),
      }));
      const result = normalize({ order, items });
      expect(result.ok, JSON.stringify(result)).toBe(true);
      if (result.ok) {
        expect(result.order.totals).toEqual({ ...expected, taxIncluded: false, otherCharges: 0, grandTotal });
        expect(result.order.lines.map((l) => l.unitPrice)).toEqual(specs.map((s) => s.unit));
      }
    }), { numRuns: 300 });
  });
});

// --- the poller ----------------------------------------------------------------------------

const namespace = testNamespace('amazon');
const env = testEnv(namespace);
let db: Db;
const servers: SpApiServer[] = [];

const NOW = new Date('2026-03-01T12:00:00.000Z');
const BEFORE = '2026-03-01T11:58:00Z'; // LastUpdatedBefore: 2 minutes before now, as Amazon requires
const NEXT_AFTER = '2026-03-01T11:56:00Z'; // the next window starts 2 minutes (the overlap) before that

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, 4);
  await migrate(db, namespace);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

afterAll(async () => {
  await db?.end();
  await removeNamespace(env);
});

async function spApi(options: SpApiServerOptions = {}): Promise<SpApiServer> {
  const server = await startSpApiServer(options);
  servers.push(server);
  return server;
}

/** Sleeps recorded, not slept, so backoffs and pacing can be checked without waiting. */
function recordedSleep() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

function poller(server: SpApiServer, code: string, overrides: Partial<AmazonPollerDeps> & { at?: Date; startAt?: string } = {}) {
  const { at = NOW, startAt = '1970-01-01T00:00:00Z', ...deps } = overrides;
  return createAmazonPoller({
    db, namespace,
    channel: { code, poller: { baseUrl: server.url, marketplaceIds: ['ATVPDKIKX0DER'], startAt } },
    token: SP_API_TOKEN, now: () => at, newId: randomUUID, logger: quietLogger(),
    sleep: recordedSleep().sleep, backoffMs: 5,
    ...deps,
  });
}

async function rawRows(source: string) {
  const { rows } = await db.query<{ id: number; kind: string; topic: string; dedupe_key: string; status: string; headers: Json; body: Buffer }>(
    'SELECT id, kind, topic, dedupe_key, status, headers, body FROM raw_inbound WHERE source = $1 ORDER BY id', [source]);
  return rows;
}

async function outboxRows(source: string) {
  const { rows } = await db.query<{ routing_key: string; body: Json }>(
    `SELECT routing_key, body FROM outbox WHERE body->'data'->>'source' = $1 ORDER BY id`, [source]);
  return rows;
}

const orderRequests = (server: SpApiServer) => server.requests.filter((r) => r.operation === 'getOrders');

/** An Unshipped order like the sandbox's, last updated at `updated`, with the sandbox items. */
function addOrder(server: SpApiServer, id: string, updated: string): void {
  server.orders = [...server.orders, { ...sandboxOrders()[0], AmazonOrderId: id, PurchaseDate: updated, LastUpdateDate: updated }];
  server.items = { ...server.items, [id]: sandboxItems() };
}

describe('amazon poller', () => {
  it('reads every page by NextToken and stores each order with its items and an inbound.accepted message', async () => {
    const server = await spApi({ pageSize: 1 });
    const counts = await poller(server, 'amazon-pages').pollOnce();
    expect(counts).toEqual({ pages: 3, orders: 3, stored: 3 });

    const listings = orderRequests(server);
    expect(listings.map((r) => r.query)).toEqual([
      { MarketplaceIds: 'ATVPDKIKX0DER', LastUpdatedAfter: '1970-01-01T00:00:00Z', LastUpdatedBefore: BEFORE, FulfillmentChannels: 'MFN' },
      { MarketplaceIds: 'ATVPDKIKX0DER', NextToken: expect.any(String) },
      { MarketplaceIds: 'ATVPDKIKX0DER', NextToken: expect.any(String) },
    ]);
    expect(server.requests.every((r) => r.token === SP_API_TOKEN)).toBe(true);
    expect(server.requests.filter((r) => r.operation === 'getOrderItems').map((r) => r.path)).toEqual([
      '/orders/v0/orders/902-1845936-5435065/orderItems',
      '/orders/v0/orders/902-8745147-1934268/orderItems',
      '/orders/v0/orders/902-3159896-1390916/orderItems',
    ]);

    const rows = await rawRows('amazon-pages');
    expect(rows.map((r) => [r.kind, r.topic, r.status, r.dedupe_key])).toEqual([
      ['order', 'order', 'accepted', '902-1845936-5435065:1970-01-19T03:58:32Z'],
      ['order', 'order', 'accepted', '902-8745147-1934268:1970-01-19T03:58:32Z'],
      ['order', 'order', 'accepted', '902-3159896-1390916:2017-01-20T19:49:35Z'],
    ]);
    const documents = rows.map((r) => JSON.parse(r.body.toString('utf8')) as AmazonOrderDocument);
    expect(documents.map((d) => d.order)).toEqual(officialOrders());
    const items = officialItems();
    expect(documents.map((d) => d.items)).toEqual(documents.map((d) => items[d.order.AmazonOrderId]));

    // What the normalize stage will make of them: the sandbox orders map, the example's yen with cents do not.
    const results = rows.map((r) => normalizeDelivery(amazon, { code: 'amazon-pages' }, r.body, { eventId: null, topic: r.topic }));
    expect(results.map((r) => r.ok)).toEqual([true, true, false]);

    const messages = await outboxRows('amazon-pages');
    expect(messages.map((m) => m.routing_key)).toEqual(['inbound.accepted', 'inbound.accepted', 'inbound.accepted']);
    expect(messages.map((m) => m.body.data.rawId)).toEqual(rows.map((r) => r.id));
    expect(messages.map((m) => m.body.subject)).toEqual(rows.map((r) => String(r.id)));
    expect(messages.every((m) => m.body.type === 'inbound.accepted' && m.body.data.topic === 'order')).toBe(true);

    expect(await loadCursor(db, 'amazon-pages')).toEqual({ lastUpdatedAfter: NEXT_AFTER, readUpTo: BEFORE, window: null });
  });

  it('reads item pages by NextToken too', async () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ ...sandboxItems()[0], OrderItemId: `0000000000000${i}`, SellerSKU: `SKU-${i}` }));
    const server = await spApi({ itemsPageSize: 2, orders: sandboxOrders().slice(0, 1), items: { '902-1845936-5435065': many } });
    await poller(server, 'amazon-item-pages').pollOnce();
    const itemCalls = server.requests.filter((r) => r.operation === 'getOrderItems');
    expect(itemCalls.map((r) => Object.keys(r.query))).toEqual([[], ['NextToken'], ['NextToken']]);
    const [row] = await rawRows('amazon-item-pages');
    expect((JSON.parse(row!.body.toString('utf8')) as AmazonOrderDocument).items.map((i) => i.SellerSKU)).toEqual(many.map((i) => i.SellerSKU));
  });

  it('waits out a 429 as long as Retry-After says, then carries on', async () => {
    const server = await spApi({ throttleFirstCall: { retryAfter: '1' } });
    const counts = await poller(server, 'amazon-429', { sleep: undefined }).pollOnce(); // real sleeping
    expect(counts).toEqual({ pages: 1, orders: 3, stored: 3 });
    const [first, second] = server.requests;
    expect(first?.status).toBe(429);
    expect(second?.status).toBe(200);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('backs off a 429 without Retry-After by the rate Amazon states', async () => {
    const server = await spApi({ rateLimit: '4' });
    server.fail({ status: 429, operation: 'getOrderItems', retryAfter: null });
    const { waits, sleep } = recordedSleep();
    await poller(server, 'amazon-429-bare', { sleep }).pollOnce();
    expect(waits).toContain(250); // one request's share of 4 per second
  });

  it('paces calls at the rate x-amzn-RateLimit-Limit states once the burst is spent', async () => {
    const server = await spApi({ rateLimit: '2' });
    const { waits, sleep } = recordedSleep();
    // a burst of 1 and a configured rate far above what the header will say
    await poller(server, 'amazon-pace', { sleep, rateLimits: { getOrderItems: { rate: 1000, burst: 1 } } }).pollOnce();
    const paced = waits.filter((ms) => ms > 300);
    expect(paced).toHaveLength(2); // the 2nd and 3rd getOrderItems wait ~500 ms each
    for (const ms of paced) expect(ms).toBeLessThanOrEqual(500);
  });

  it('stores the cursor, and a second poll stores nothing again', async () => {
    const server = await spApi();
    const p = poller(server, 'amazon-again');
    expect(await p.pollOnce()).toMatchObject({ stored: 3 });
    const second = await p.pollOnce();
    expect(orderRequests(server)[1]?.query).toMatchObject({ LastUpdatedAfter: NEXT_AFTER, LastUpdatedBefore: BEFORE });
    expect(second).toEqual({ pages: 1, orders: 0, stored: 0 });
    expect(await rawRows('amazon-again')).toHaveLength(3);
    expect(await outboxRows('amazon-again')).toHaveLength(3);
  });

  it('stores nothing twice even when Amazon lists the same orders again', async () => {
    const server = await spApi({ filterByTime: false });
    const p = poller(server, 'amazon-relisted');
    await p.pollOnce();
    expect(await p.pollOnce()).toEqual({ pages: 1, orders: 3, stored: 0 });
    expect(await rawRows('amazon-relisted')).toHaveLength(3);
    expect(await outboxRows('amazon-relisted')).toHaveLength(3);
  });

  it('resumes from the stored cursor after a restart, overlap included', async () => {
    const server = await spApi();
    addOrder(server, '902-0000000-0000001', '2026-03-01T11:57:00Z'); // inside both windows
    expect(await poller(server, 'amazon-restart').pollOnce()).toMatchObject({ orders: 4, stored: 4 });

    addOrder(server, '902-0000000-0000002', '2026-03-01T12:05:00Z');
    const later = new Date('2026-03-01T12:10:00.000Z');
    const restarted = poller(server, 'amazon-restart', { at: later, startAt: '2020-01-01T00:00:00Z' }); // startAt no longer counts
    expect(await restarted.pollOnce()).toEqual({ pages: 1, orders: 2, stored: 1 });
    expect(orderRequests(server)[1]?.query).toMatchObject({ LastUpdatedAfter: NEXT_AFTER, LastUpdatedBefore: '2026-03-01T12:08:00Z' });
    expect((await rawRows('amazon-restart')).map((r) => r.dedupe_key.split(':')[0])).toContain('902-0000000-0000002');
    expect(await loadCursor(db, 'amazon-restart')).toEqual({ lastUpdatedAfter: '2026-03-01T12:06:00Z', readUpTo: '2026-03-01T12:08:00Z', window: null });
  });

  it('rejects on a lasting 500 without moving the cursor, and the next poll reads the same window', async () => {
    const server = await spApi();
    const { waits, sleep } = recordedSleep();
    const p = poller(server, 'amazon-500', { sleep, retries: 3 });
    await p.pollOnce();
    const before = await loadCursor(db, 'amazon-500');

    addOrder(server, '902-0000000-0000003', '2026-03-01T12:01:00Z');
    const later = poller(server, 'amazon-500', { at: new Date('2026-03-01T12:05:00.000Z'), sleep, retries: 3 });
    server.fail({ status: 500, operation: 'getOrders', times: 100 });
    await expect(later.pollOnce()).rejects.toThrow(/getOrders answered 500/);
    expect(orderRequests(server).slice(1)).toHaveLength(4); // 1 + 3 retries, then it gives up
    expect(waits).toEqual([5, 10, 20]); // doubling backoff
    expect(await loadCursor(db, 'amazon-500')).toEqual(before);

    server.clearFaults();
    server.fail({ status: 503, operation: 'getOrderItems', times: 100 });
    await expect(later.pollOnce()).rejects.toThrow(/getOrderItems answered 503/);
    expect(await loadCursor(db, 'amazon-500')).toEqual(before);
    expect(await rawRows('amazon-500')).toHaveLength(3);

    server.clearFaults();
    expect(await later.pollOnce()).toEqual({ pages: 1, orders: 1, stored: 1 });
    const windows = orderRequests(server).map((r) => r.query.LastUpdatedAfter);
    expect(new Set(windows.slice(1))).toEqual(new Set([NEXT_AFTER]));
  });

  it('stops after maxPages with its place saved, and the next poll carries on by NextToken', async () => {
    const server = await spApi({ pageSize: 1 });
    expect(await poller(server, 'amazon-max', { maxPages: 2 }).pollOnce()).toEqual({ pages: 2, orders: 2, stored: 2 });
    const cursor = await loadCursor<AmazonCursor>(db, 'amazon-max');
    expect(cursor).toEqual({
      lastUpdatedAfter: '1970-01-01T00:00:00Z', readUpTo: null,
      window: { after: '1970-01-01T00:00:00Z', before: BEFORE, nextToken: expect.any(String) },
    });

    expect(await poller(server, 'amazon-max', { maxPages: 2 }).pollOnce()).toEqual({ pages: 1, orders: 1, stored: 1 });
    expect(orderRequests(server)[2]?.query).toEqual({ MarketplaceIds: 'ATVPDKIKX0DER', NextToken: cursor?.window?.nextToken });
    expect(await loadCursor(db, 'amazon-max')).toEqual({ lastUpdatedAfter: NEXT_AFTER, readUpTo: BEFORE, window: null });
  });

  it('reads the window again from its start when a saved NextToken has expired', async () => {
    const server = await spApi({ pageSize: 1 });
    await poller(server, 'amazon-expired', { maxPages: 1 }).pollOnce();
    server.expireTokens();
    expect(await poller(server, 'amazon-expired').pollOnce()).toEqual({ pages: 3, orders: 3, stored: 2 });
    const [, refused, again] = orderRequests(server);
    expect(refused?.status).toBe(400);
    expect(again?.query).toMatchObject({ LastUpdatedAfter: '1970-01-01T00:00:00Z', LastUpdatedBefore: BEFORE });
    expect(await rawRows('amazon-expired')).toHaveLength(3);
  });

  it('is refused without a valid access token, and stores nothing', async () => {
    const server = await spApi();
    const bare = await fetch(`${server.url}/orders/v0/orders?MarketplaceIds=ATVPDKIKX0DER&LastUpdatedAfter=2020-01-01T00:00:00Z`);
    expect(bare.status).toBe(401);
    expect(await bare.json()).toEqual({ errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.', details: '' }] });

    await expect(poller(server, 'amazon-token', { token: 'Atza|expired' }).pollOnce()).rejects.toThrow(/403 \(is the access token valid and current\?\)/);
    expect(await loadCursor(db, 'amazon-token')).toBeNull();
    expect(await rawRows('amazon-token')).toHaveLength(0);
  });

  it('stores a Pending order without OrderTotal or buyer data, which maps with nulls', async () => {
    const server = await spApi({ redactPending: true });
    server.items = { ...server.items, '902-3159896-1390916': [anItem({ QuantityOrdered: 2, ItemPrice: usd('31.98'), ItemTax: usd('2.56') })] };
    await poller(server, 'amazon-pending').pollOnce();
    const row = (await rawRows('amazon-pending')).find((r) => r.dedupe_key.startsWith('902-3159896-1390916:'));
    const document = JSON.parse(row!.body.toString('utf8')) as AmazonOrderDocument;
    expect(document.order).not.toHaveProperty('BuyerInfo');
    expect(document.order).not.toHaveProperty('ShippingAddress');
    expect(document.order).not.toHaveProperty('OrderTotal');
    const result = normalizeDelivery(amazon, { code: 'amazon-pending' }, row!.body, { eventId: null, topic: row!.topic });
    expect(result).toMatchObject({
      ok: true,
      intent: 'create',
      order: {
        channel: 'amazon-pending',
        customer: { email: null, name: null },
        shippingAddress: null,
        payment: { status: 'pending' },
        lines: [{ quantity: 2, unitPrice: 1599, tax: 256 }],
        totals: { subtotal: 3198, tax: 256, taxIncluded: false, grandTotal: 3454 },
      },
    });
  });

  it('polls from now on when the channel has no startAt', async () => {
    const server = await spApi();
    const p = createAmazonPoller({
      db, namespace, channel: { code: 'amazon-fresh', poller: { baseUrl: server.url, marketplaceIds: ['ATVPDKIKX0DER', 'A2EUQ1WTGCTBG2'] } },
      token: SP_API_TOKEN, now: () => NOW, newId: randomUUID, logger: quietLogger(),
    });
    expect(await p.pollOnce()).toEqual({ pages: 1, orders: 0, stored: 0 });
    expect(orderRequests(server)[0]?.query).toMatchObject({
      MarketplaceIds: 'ATVPDKIKX0DER,A2EUQ1WTGCTBG2', LastUpdatedAfter: '2026-03-01T11:56:00Z', LastUpdatedBefore: BEFORE,
    });
  });
});
