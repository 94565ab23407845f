// Builders and fast-check arbitraries for the validation stage (core/pipeline/validate.ts).
import fc from 'fast-check';
import type { CustomerFacts, ValidationFacts, ValidationSettings } from '../../core/pipeline/validate.ts';
import type { WarehouseFacts } from '../../core/pipeline/warehouses.ts';
import {
  channelPaymentStatuses,
  paymentMethods,
  type Address,
  type CanonicalLine,
  type CanonicalOrder,
} from '../../schemas/canonical-order.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { anOrder, shippingAddress } from './orders.ts';

export type ValidationRules = NonNullable<HubConfig['validation']>;

/** The catalogue every validation test uses: SKU → category. */
export const CATEGORIES: ReadonlyMap<string, string> = new Map([
  ['TEE', 'apparel'],
  ['SOFA', 'furniture'],
  ['MUG', 'kitchen'],
  ['LAMP', 'oversize'],
]);

export const warehouse = (code: string, priority: number, regions: string[], categories: string[] = []): WarehouseFacts => ({
  code,
  priority,
  regions,
  categories,
});

/** available stock, written `{ warehouse: { sku: n } }` */
export function stock(levels: Record<string, Record<string, number>>): Map<string, Map<string, number>> {
  return new Map(Object.entries(levels).map(([w, bySku]) => [w, new Map(Object.entries(bySku))]));
}

/** A returning customer without store credit, unless told otherwise. */
export function customerFacts(overrides: Partial<CustomerFacts> = {}): CustomerFacts {
  return { previousOrders: 3, storeCredit: null, ...overrides };
}

/** One warehouse delivering everywhere these tests ship to, with plenty of every SKU. */
export const EVERYWHERE = warehouse('main', 1, ['US', 'CA', 'GB', 'DE', 'FR', 'NL', 'BE', 'AT', 'PL', 'IT', 'ES', 'JP', 'AU', 'IE', 'BR']);

/** Validation facts: the catalogue above, the warehouses and stock given, a returning customer. */
export function validationFacts(
  warehouses: WarehouseFacts[] = [EVERYWHERE],
  levels: Record<string, Record<string, number>> = { main: { TEE: 100, SOFA: 100, MUG: 100, LAMP: 100 } },
  customer: Partial<CustomerFacts> = {},
): ValidationFacts {
  return { categories: CATEGORIES, warehouses, available: stock(levels), customer: customerFacts(customer) };
}

/** Settings for channel `shopify`, no tolerance, and the rules given (none by default). */
export function validationSettings(rules?: ValidationRules, overrides: Partial<Omit<ValidationSettings, 'rules'>> = {}): ValidationSettings {
  return { channel: 'shopify', priceTolerance: 0, rules, ...overrides };
}

/** A real postal code of each country with a built-in format, one per country. */
export const VALID_POSTAL_CODE: Readonly<Record<string, string>> = {
  US: '10001', CA: 'K1A 0B1', GB: 'SW1A 1AA', DE: '10117', FR: '75008', NL: '1012 JS', BE: '1000', AT: '1010',
  PL: '00-950', IT: '00184', ES: '28013', JP: '100-0001', AU: '2000', IE: 'D02 AF30',
};

/** A shipping address in `country` with a postal code that fits its format. */
export function addressIn(country: string, overrides: Partial<Address> = {}): Address {
  return shippingAddress(country, null, { postalCode: VALID_POSTAL_CODE[country] ?? '12345', ...overrides });
}

// ---------------------------------------------------------------------------------------
// Arbitraries. Everything they make is what the stage can be given: a canonical order the
// schema accepts and rules the config schema accepts, with the odd values those allow.
// ---------------------------------------------------------------------------------------

const countries = ['US', 'CA', 'GB', 'DE', 'FR', 'NL', 'IE', 'JP', 'BR', 'ZZ'] as const;
const anyCountry = fc.oneof(fc.constantFrom(...countries), fc.stringMatching(/^[A-Z]{2}$/));
const anyText = fc.oneof(fc.constant(''), fc.string({ maxLength: 24 }), fc.constantFrom(' 1  Test  Street ', '\t', 'constructor'));
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });
/** money: small amounts mostly, now and then the largest the schema allows */
const amount = fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 100_000 }) }, { weight: 1, arbitrary: fc.maxSafeNat() });

const anyPostalCode = fc.oneof(
  fc.constantFrom(...Object.values(VALID_POSTAL_CODE), 'sw1a1aa', ' 1012js ', '12345-6789', 'D6W 1234'),
  fc.string({ maxLength: 32 }),
);

const anyAddress: fc.Arbitrary<Address> = fc.record({
  name: nullable(anyText),
  line1: nullable(anyText),
  line2: nullable(anyText),
  city: nullable(anyText),
  region: nullable(fc.oneof(fc.constantFrom('NY', 'ky', 'KY'), anyText)),
  postalCode: nullable(anyPostalCode),
  country: anyCountry,
  phone: nullable(fc.oneof(fc.constantFrom('+1 (555) 010-9999', '555-01'), anyText)),
});

const anyLine: fc.Arbitrary<CanonicalLine> = fc.record({
  sku: fc.oneof(fc.constantFrom('TEE', 'SOFA', 'MUG', 'LAMP', 'NOPE', 'constructor'), fc.string({ minLength: 1, maxLength: 8 })),
  name: fc.string({ maxLength: 16 }),
  quantity: fc.oneof(fc.integer({ min: 1, max: 5 }), fc.constant(100_000)),
  unitPrice: amount,
  discount: amount,
  tax: amount,
});

/** Any canonical order: totals that add up or not, any address, contact, payment and channel. */
export const anyOrder: fc.Arbitrary<CanonicalOrder> = fc
  .record({
    channel: fc.oneof(fc.constantFrom('shopify', 'amazon', 'constructor'), fc.stringMatching(/^[a-z][a-z0-9_-]{0,31}$/)),
    currency: fc.oneof(fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'), fc.stringMatching(/^[A-Z]{3}$/)),
    customer: fc.record({
      id: nullable(fc.constantFrom('c-1', '', '  ')),
      email: nullable(fc.oneof(fc.constantFrom('ada@example.com', ' Ada@Example.COM ', 'not-an-email', '@x.y'), anyText)),
      phone: nullable(fc.oneof(fc.constantFrom('+1 (555) 010-9999', '555-01'), anyText)),
      name: nullable(anyText),
      locale: fc.constant(null),
    }),
    lines: fc.array(anyLine, { minLength: 1, maxLength: 4 }),
    followLines: fc.boolean(),
    totals: fc.record({
      subtotal: amount, discounts: amount, shipping: amount, tax: amount, taxIncluded: fc.boolean(), otherCharges: amount, grandTotal: amount,
    }),
    shippingAddress: nullable(anyAddress),
    billingAddress: nullable(anyAddress),
    payment: fc.record({ method: fc.constantFrom(...paymentMethods), provider: fc.constant(null), status: fc.constantFrom(...channelPaymentStatuses) }),
  })
  .map(({ followLines, totals, ...rest }) => {
    // half the time the totals follow the lines, where those add up to amounts the schema allows
    const order = anOrder(rest);
    const allowed = Object.values(order.totals).every((v) => typeof v === 'boolean' || (Number.isSafeInteger(v) && v >= 0));
    return followLines && allowed ? order : { ...order, totals };
  });

const anyAmounts = fc.dictionary(fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'), fc.integer({ min: 0, max: 200_000 }));
const someStrings = (arb: fc.Arbitrary<string>) => fc.array(arb, { maxLength: 3 });

/** Any `validation` config section the config schema accepts, or none. */
export const anyRules: fc.Arbitrary<ValidationRules | undefined> = fc.option(
  fc.record({
    blockList: fc.record({
      emails: someStrings(fc.oneof(fc.constantFrom('ada@example.com', ''), fc.string())),
      phones: someStrings(fc.oneof(fc.constantFrom('15550109999', '', '+'), fc.string())),
      postalCodes: someStrings(fc.oneof(fc.constantFrom('SW1A1AA', '10001', ''), fc.string())),
      addresses: someStrings(fc.oneof(fc.constantFrom('1 test street', ''), fc.string())),
    }, { requiredKeys: [] }),
    requireContact: fc.boolean(),
    postalCodes: fc.dictionary(fc.constantFrom(...countries), fc.constantFrom('\\d{5}', '.*', '', '(', '[A-Z', '(?<', '\\')),
    risk: fc.record({ reviewAbove: anyAmounts, firstOrderAbove: anyAmounts, countryMismatch: fc.boolean() }, { requiredKeys: [] }),
    payment: fc.record({
      methods: fc.subarray([...paymentMethods]),
      byChannel: fc.dictionary(fc.constantFrom('shopify', 'amazon', 'constructor', '__proto__'), someStrings(fc.constantFrom(...paymentMethods, 'cash'))),
      cashOnDelivery: fc.record({ countries: someStrings(fc.constantFrom('DE', 'US-NY', 'fr', '')), maxAmount: anyAmounts }, { requiredKeys: [] }),
    }, { requiredKeys: [] }),
  }, { requiredKeys: [] }),
  { nil: undefined },
);

const anyCustomerFacts: fc.Arbitrary<CustomerFacts> = fc.record({
  previousOrders: fc.nat(5),
  storeCredit: nullable(fc.record({ balance: amount, currency: fc.constantFrom('USD', 'EUR') })),
});

/** Any facts: warehouses anywhere, stock of any level (negative too), any SKU categories. */
export const anyFacts: fc.Arbitrary<ValidationFacts> = fc.record({
  categories: fc.constantFrom(CATEGORIES, new Map<string, string>(), new Map([['constructor', 'apparel']])),
  warehouses: fc.array(
    fc.record({
      code: fc.constantFrom('w1', 'w2', 'constructor'),
      priority: fc.nat(3),
      regions: fc.subarray(['US', 'US-NY', 'GB', 'DE', 'FR', 'IE', 'JP', 'BR']),
      categories: fc.subarray(['apparel', 'furniture', 'kitchen', 'oversize']),
    }),
    { maxLength: 3 },
  ),
  available: fc.dictionary(fc.constantFrom('w1', 'w2', 'constructor'), fc.dictionary(fc.constantFrom('TEE', 'SOFA', 'MUG', 'LAMP'), fc.integer({ min: -5, max: 10 })))
    .map((levels) => stock(levels)),
  customer: anyCustomerFacts,
});

export const anySettings: fc.Arbitrary<ValidationSettings> = fc.record({
  channel: fc.constantFrom('shopify', 'amazon', 'constructor'),
  priceTolerance: fc.integer({ min: 0, max: 1000 }),
  rules: anyRules,
});

/**
 * A well-formed order the given facts can serve: known SKUs, totals that add up exactly
 * (shipping, tax, charges and an order-level discount of their own), a shipping address in
 * a country with a built-in format and a postal code that fits it, any contact and any
 * payment but store credit. With {@link wellFormedFacts} every SKU is in stock there.
 */
export const wellFormedOrder: fc.Arbitrary<CanonicalOrder> = fc
  .record({
    lines: fc.array(
      fc.record({
        sku: fc.constantFrom(...CATEGORIES.keys()),
        quantity: fc.integer({ min: 1, max: 20 }),
        unitPrice: fc.integer({ min: 0, max: 50_000 }),
        discountShare: fc.double({ min: 0, max: 1, noNaN: true }),
        tax: fc.integer({ min: 0, max: 5_000 }),
      }),
      { minLength: 1, maxLength: 5 },
    ),
    country: fc.constantFrom(...Object.keys(VALID_POSTAL_CODE)),
    shipping: fc.integer({ min: 0, max: 5_000 }),
    otherCharges: fc.integer({ min: 0, max: 1_000 }),
    orderDiscountShare: fc.double({ min: 0, max: 1, noNaN: true }),
    taxIncluded: fc.boolean(),
    currency: fc.constantFrom('USD', 'EUR', 'JPY'),
    customer: fc.record({
      id: nullable(fc.constant('c-1')),
      email: nullable(fc.constantFrom('ada@example.com', 'not-an-email')),
      phone: nullable(fc.constantFrom('+1 (555) 010-9999', '12')),
      name: fc.constant(null),
      locale: fc.constant(null),
    }),
    method: fc.constantFrom(...paymentMethods.filter((m) => m !== 'store_credit')),
    billingCountry: nullable(fc.constantFrom('US', 'FR')),
  })
  .map(({ lines: specs, country, shipping, otherCharges, orderDiscountShare, taxIncluded, currency, customer, method, billingCountry }) => {
    const lines = specs.map(({ discountShare, ...l }) => ({
      ...l,
      name: `Product ${l.sku}`,
      discount: Math.floor(l.unitPrice * l.quantity * discountShare),
    }));
    const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
    const lineDiscounts = lines.reduce((sum, l) => sum + l.discount, 0);
    const discounts = lineDiscounts + Math.floor((subtotal - lineDiscounts) * orderDiscountShare);
    const tax = lines.reduce((sum, l) => sum + l.tax, 0);
    const grandTotal = subtotal - discounts + shipping + (taxIncluded ? 0 : tax) + otherCharges;
    return anOrder({
      currency,
      customer,
      lines,
      totals: { subtotal, discounts, shipping, tax, taxIncluded, otherCharges, grandTotal },
      shippingAddress: addressIn(country),
      billingAddress: billingCountry ? addressIn(billingCountry) : null,
      payment: { method, provider: null, status: 'paid' },
    });
  });

/** Facts under which every {@link wellFormedOrder} is served and stocked, with any customer. */
export const wellFormedFacts: fc.Arbitrary<ValidationFacts> = anyCustomerFacts.map((customer) => validationFacts([EVERYWHERE], undefined, customer));
