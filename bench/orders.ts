import { randomBytes } from 'node:crypto';
import { shopifyOrderJson, signedHeaders } from '../demo/shopify-store.ts';
import { benchSkus } from './config.ts';

export interface SignedWebhook { externalId: string; body: string; headers: Record<string, string> }

/** Shopify order ids above 2^53, as Shopify sends them, unique per run. */
export function orderIds(runSeed: bigint = BigInt(Date.now()) * 1000n): () => bigint {
  let next = 9_007_199_254_740_993n + runSeed;
  return () => (next += 1n);
}

/**
 * One signed `orders/create` webhook as Shopify delivers it: paid, one line, to a US
 * address the us-east warehouse serves. A unique X-Shopify-Webhook-Id per delivery, so
 * the hub's de-duplication never mistakes two orders for one.
 */
export function shopifyWebhook(id: bigint, secret: string, skus: readonly string[] = benchSkus): SignedWebhook {
  const sku = skus[Number(id % BigInt(skus.length))]!;
  const body = shopifyOrderJson({
    id,
    lines: [{ sku, name: sku, price: '12.00', quantity: 1 }],
    country: 'US', province: 'KY', city: 'Louisville', zip: '40202', currency: 'USD',
    email: `bench${id % 100_000n}@example.com`,
  }, new Date());
  const eventId = randomBytes(8).toString('hex');
  return { externalId: id.toString(), body, headers: { ...signedHeaders(body, secret, eventId), 'x-shopify-webhook-id': `wh-${eventId}` } };
}
