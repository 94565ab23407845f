import { createHmac, randomBytes } from 'node:crypto';

/** A simulated Shopify store: real-shaped `orders/create` payloads, signed as Shopify signs them. */

/** One generated order (see demo/channels.ts). */
export interface DemoOrderSpec {
  id: bigint;
  lines: { sku: string; name: string; price: string; quantity: number }[];
  country: string;
  province: string;
  city: string;
  zip: string;
  email: string;
  currency: string;
}

const money = (amount: string, currency: string) => ({ shop_money: { amount, currency_code: currency }, presentment_money: { amount, currency_code: currency } });
const cents = (s: string) => Math.round(Number(s) * 100); // demo prices have two decimals
const decimal = (c: number) => (c / 100).toFixed(2);

/**
 * The order as Shopify's REST Admin API shapes it. Ids are written as bare JSON numbers
 * above 2^53, as Shopify sends them, so the hub's lossless parsing is exercised.
 */
export function shopifyOrderJson(spec: DemoOrderSpec, now: Date): string {
  const subtotal = spec.lines.reduce((s, l) => s + cents(l.price) * l.quantity, 0);
  const shipping = 1000;
  const total = subtotal + shipping;
  const address = {
    first_name: 'Demo', last_name: 'Customer', name: 'Demo Customer', address1: '1 Demo Street', address2: null,
    city: spec.city, zip: spec.zip, province_code: spec.province, country_code: spec.country, phone: null, company: null,
  };
  const order = {
    id: `@@${spec.id}@@`,
    admin_graphql_api_id: `gid://shopify/Order/${spec.id}`,
    name: `#${(spec.id % 100000n).toString()}`,
    email: spec.email,
    created_at: now.toISOString().replace('Z', '+00:00'),
    currency: spec.currency,
    presentment_currency: spec.currency,
    financial_status: 'paid',
    fulfillment_status: null,
    customer_locale: 'en',
    payment_gateway_names: ['shopify_payments'],
    note: null,
    tags: 'demo',
    test: true,
    total_line_items_price: decimal(subtotal),
    subtotal_price: decimal(subtotal),
    total_discounts: '0.00',
    total_tax: '0.00',
    total_price: decimal(total),
    total_shipping_price_set: money(decimal(shipping), spec.currency),
    customer: { id: `@@${spec.id + 7n}@@`, email: spec.email, first_name: 'Demo', last_name: 'Customer', phone: null },
    billing_address: address,
    shipping_address: address,
    line_items: spec.lines.map((l, i) => ({
      id: `@@${spec.id * 10n + BigInt(i)}@@`, sku: l.sku, name: l.name, title: l.name, quantity: l.quantity, price: l.price,
      price_set: money(l.price, spec.currency), total_discount: '0.00', discount_allocations: [], tax_lines: [],
    })),
    shipping_lines: [{ price: decimal(shipping), title: 'Standard' }],
  };
  return JSON.stringify(order, null, 2).replace(/"@@(\d+)@@"/g, '$1');
}

export function signedHeaders(body: string, secret: string, eventId = randomBytes(8).toString('hex')): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': 'orders/create',
    'x-shopify-hmac-sha256': createHmac('sha256', secret).update(body).digest('base64'),
    'x-shopify-shop-domain': 'demo-store.myshopify.com',
    'x-shopify-api-version': '2025-01',
    'x-shopify-event-id': eventId,
    'x-shopify-triggered-at': new Date().toISOString(),
  };
}
