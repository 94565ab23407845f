import { randomUUID } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { OrderRecord } from '../../core/order/record.ts';
import {
  canonicalOrderSchema,
  type Address,
  type CanonicalLine,
  type CanonicalOrder,
  type ChannelPaymentStatus,
} from '../../schemas/canonical-order.ts';

const ajv = new Ajv({ allErrors: true });
addFormats.default(ajv);
/** The canonical-order schema, so a test can check that what the builder makes is a real canonical order. */
export const isCanonicalOrder = ajv.compile(canonicalOrderSchema);

/** One order line: `quantity` × `sku` at a fixed price. */
export function orderLine(sku: string, quantity: number, overrides: Partial<CanonicalLine> = {}): CanonicalLine {
  return { sku, name: `Product ${sku}`, quantity, unitPrice: 1_000, discount: 0, tax: 0, ...overrides };
}

/** A shipping address in `country` (ISO 3166-1), optionally with a region (subdivision without the country, e.g. `KY`). */
export function shippingAddress(country: string, region: string | null = null, overrides: Partial<Address> = {}): Address {
  return {
    name: 'Ada Lovelace',
    line1: '1 Test Street',
    city: 'Testville',
    region,
    postalCode: '12345',
    country,
    phone: null,
    ...overrides,
  };
}

let externalIds = 0;

/**
 * A canonical order builder with sensible defaults: one channel (`shopify`), USD, one line
 * of `SKU-A`, shipping to the US, paid by card. Totals follow the lines unless given.
 *
 *     anOrder({ lines: [orderLine('SKU-A', 2)], shippingAddress: shippingAddress('US', 'KY') })
 */
export function anOrder(overrides: Partial<CanonicalOrder> & { paymentStatus?: ChannelPaymentStatus } = {}): CanonicalOrder {
  const { paymentStatus, ...rest } = overrides;
  const lines = rest.lines ?? [orderLine('SKU-A', 1)];
  const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
  const discounts = lines.reduce((sum, l) => sum + l.discount, 0);
  const tax = lines.reduce((sum, l) => sum + l.tax, 0);
  externalIds += 1;
  return {
    channel: 'shopify',
    externalId: `ext-${externalIds}-${randomUUID().slice(0, 8)}`,
    externalNumber: `#${1000 + externalIds}`,
    placedAt: '2026-01-15T10:00:00Z',
    currency: 'USD',
    customer: { id: 'c-1', email: 'ada@example.com', phone: null, name: 'Ada Lovelace', locale: 'en' },
    lines,
    totals: { subtotal, discounts, shipping: 0, tax, taxIncluded: false, otherCharges: 0, grandTotal: subtotal - discounts + tax },
    shippingAddress: shippingAddress('US'),
    billingAddress: null,
    payment: { method: 'card', provider: 'stripe', status: paymentStatus ?? 'paid' },
    notes: null,
    tags: [],
    flags: { gift: false, priority: false, test: false },
    ...rest,
  };
}

/** The hub's record of `order`: received, unfulfilled, with a fresh id and order number unless given. */
export function anOrderRecord(order: CanonicalOrder = anOrder(), overrides: Partial<OrderRecord> = {}): OrderRecord {
  const id = overrides.id ?? randomUUID();
  return {
    id,
    orderNumber: `HUB-20260115-${id}`,
    channel: order.channel,
    externalId: order.externalId,
    status: 'received',
    paymentStatus: 'pending',
    fulfillmentStatus: 'unfulfilled',
    warehouse: null,
    order,
    ...overrides,
  };
}
