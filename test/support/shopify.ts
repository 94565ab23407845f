import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const fixturePath = new URL('../fixtures/shopify/orders-create.sample.json', import.meta.url);

/** The official Shopify sample, byte for byte. */
export const shopifySample = (): string => readFileSync(fixturePath, 'utf8');

/**
 * A real-shaped Shopify order: the official sample with text substitutions only (so the
 * big integer ids stay JSON numbers above 2^53, as Shopify sends them).
 */
export function shopifyOrderBody(options: { id: string; paid?: boolean; skus?: string[]; quantity?: number; country?: string }): string {
  let body = shopifySample()
    .replace('"id": 820982911946154508', `"id": ${options.id}`)
    .replace('"admin_graphql_api_id": "gid://shopify/Order/820982911946154508"', `"admin_graphql_api_id": "gid://shopify/Order/${options.id}"`)
    .replace('"financial_status": "voided"', `"financial_status": "${options.paid === false ? 'pending' : 'paid'}"`)
    .replace('"cancelled_at": "2021-12-31T19:00:00-05:00"', '"cancelled_at": null')
    .replace('"cancel_reason": "customer"', '"cancel_reason": null');
  const skus = options.skus ?? ['SKU2006-001', 'SKU2006-020', 'SKU2006-035'];
  ['SKU2006-001', 'SKU2006-020', 'SKU2006-035'].forEach((original, i) => {
    body = body.replace(`"sku": "${original}"`, `"sku": "${skus[i] ?? original}"`);
  });
  if (options.quantity !== undefined) {
    body = body.replaceAll('"quantity": 1,\n      "requires_shipping"', `"quantity": ${options.quantity},\n      "requires_shipping"`);
    // keep the money adding up: lines 369.97 per unit each, discounts 20.00, shipping 10.00
    const lines = 36997 * options.quantity;
    body = body
      .replace('"total_line_items_price": "369.97"', `"total_line_items_price": "${(lines / 100).toFixed(2)}"`)
      .replace('"total_price": "359.97"', `"total_price": "${((lines - 1000) / 100).toFixed(2)}"`);
  }
  if (options.country) body = body.replaceAll('"country_code": "US"', `"country_code": "${options.country}"`);
  return body;
}

export const signShopify = (body: string | Buffer, secret: string): string => createHmac('sha256', secret).update(body).digest('base64');

/** Headers as Shopify sends them for an `orders/create` delivery. */
export function shopifyHeaders(body: string, secret: string, eventId: string, topic = 'orders/create'): Record<string, string> {
  return {
    'content-type': 'application/json',
    'x-shopify-topic': topic,
    'x-shopify-hmac-sha256': signShopify(body, secret),
    'x-shopify-shop-domain': 'example.myshopify.com',
    'x-shopify-api-version': '2025-01',
    'x-shopify-event-id': eventId,
    'x-shopify-webhook-id': `wh-${eventId}`,
    'x-shopify-triggered-at': new Date().toISOString(),
  };
}
