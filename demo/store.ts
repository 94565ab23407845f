/**
 * What the demo and the chaos harness share on the selling side: an order generator (lines
 * from the catalog, now and then an unknown or scarce SKU), the channel deliveries, and a
 * webhook sender that retries like the platforms do.
 */
import { randomBytes } from 'node:crypto';
import { ownChannelDelivery, shopifyDelivery, woocommerceDelivery, type DemoOrder, type Delivery } from './channels.ts';

export type ChannelName = 'shopify' | 'woocommerce' | 'website' | 'app' | 'amazon';
export type WebhookChannel = Exclude<ChannelName, 'amazon'>;

export interface StoreSecrets {
  SHOPIFY_WEBHOOK_SECRET: string;
  WOOCOMMERCE_WEBHOOK_SECRET: string;
  WEBSITE_WEBHOOK_SECRET: string;
  APP_WEBHOOK_SECRET: string;
}

const destinations = [
  { country: 'US', province: 'KY', city: 'Louisville', zip: '40202', currency: 'USD', weight: 6 },
  { country: 'US', province: 'NV', city: 'Reno', zip: '89501', currency: 'USD', weight: 2 },
  { country: 'CA', province: 'ON', city: 'Ottawa', zip: 'K2H7A8', currency: 'CAD', weight: 1 },
  { country: 'DE', province: 'SN', city: 'Leipzig', zip: '04109', currency: 'EUR', weight: 2 },
];
/** the SKUs the simulated Amazon marketplace lists */
const amazonAssortment = ['SKU2006-001', 'TSHIRT-BLK-M', 'MUG-CLASSIC'];

/** Orders as the demo's shoppers place them; `random` makes a run reproducible. */
export function orderGenerator(catalog: readonly { sku: string; name: string }[], random: () => number = Math.random) {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const weighted = destinations.flatMap((d) => Array<typeof d>(d.weight).fill(d));
  const sellable = catalog.filter((p) => p.sku !== 'LIMITED-PRINT');
  let nextId = 9_007_199_254_740_993n + BigInt(Math.floor(random() * 1e9)) * 1000n; // above 2^53 on purpose
  return {
    pick,
    next(channel: ChannelName): DemoOrder {
      const d = channel === 'woocommerce' ? destinations[3]! : channel === 'amazon' ? destinations[0]! : pick(weighted);
      const roll = random();
      const assortment = channel === 'amazon' ? sellable.filter((p) => amazonAssortment.includes(p.sku)) : sellable;
      const lines = Array.from({ length: 1 + Math.floor(random() * 3) }, () => {
        const p = pick(assortment);
        return { sku: p.sku, name: p.name, price: (5 + Math.floor(random() * 9000) / 100).toFixed(2), quantity: 1 + Math.floor(random() * 2) };
      });
      if (channel !== 'amazon') {
        if (roll < 0.04) lines.push({ sku: `UNKNOWN-${Math.floor(random() * 100)}`, name: 'Not in the catalog', price: '9.99', quantity: 1 });
        else if (roll < 0.08) lines.push({ sku: 'LIMITED-PRINT', name: 'Limited art print', price: '49.00', quantity: 1 });
      }
      const id = nextId;
      nextId += 1n + BigInt(Math.floor(random() * 1000));
      return { id, lines, ...d, email: `buyer${id % 10000n}@example.com` };
    },
  };
}

/** The delivery a channel's platform makes for a new order. */
export function deliveryFor(channel: WebhookChannel, order: DemoOrder, secrets: StoreSecrets, eventId = randomBytes(8).toString('hex')): Delivery {
  switch (channel) {
    case 'shopify': return shopifyDelivery(order, secrets.SHOPIFY_WEBHOOK_SECRET, eventId);
    case 'woocommerce': return woocommerceDelivery(order, secrets.WOOCOMMERCE_WEBHOOK_SECRET);
    case 'website': return ownChannelDelivery('website', order, secrets.WEBSITE_WEBHOOK_SECRET, eventId);
    case 'app': return ownChannelDelivery('app', order, secrets.APP_WEBHOOK_SECRET, eventId);
    default: {
      const never: never = channel;
      return never;
    }
  }
}

/** The id the hub will know the order by: the platform's order id, or the own channels' externalId. */
export function externalIdOf(channel: WebhookChannel, delivery: Delivery): string {
  const body = JSON.parse(delivery.body.replace(/"id": ?(\d{16,})/, '"id": "$1"')) as { id?: unknown; externalId?: unknown };
  return String(channel === 'website' || channel === 'app' ? body.externalId : body.id);
}

export type SendOutcome = { status: 'accepted' | 'refused' | 'unanswered'; attempts: number; lastStatus: number | null; detail?: string };

/**
 * Posts a delivery until it gets a 2xx, as the platforms do: anything else (an error status,
 * a refused or reset connection) is sent again, unchanged, with exponential back-off. A 4xx
 * other than 408/429 is final for the demo's purposes (`refused`) unless `retryRefused`.
 */
export async function sendWithRetry(base: () => string, delivery: Delivery, options: { attempts?: number; firstDelayMs?: number; maxDelayMs?: number; retryRefused?: boolean; stopped?: () => boolean } = {}): Promise<SendOutcome> {
  const attempts = options.attempts ?? 8;
  let lastStatus: number | null = null;
  let detail: string | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const response = await fetch(`${base()}${delivery.path}`, { method: 'POST', body: delivery.body, headers: delivery.headers, signal: AbortSignal.timeout(30_000) });
      lastStatus = response.status;
      detail = await response.text().catch(() => undefined);
      if (response.ok) return { status: 'accepted', attempts: attempt, lastStatus };
      if (response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429 && !options.retryRefused) {
        return { status: 'refused', attempts: attempt, lastStatus, ...(detail ? { detail } : {}) };
      }
    } catch (error) {
      lastStatus = null;
      detail = (error as Error).message; // refused, reset or timed out: send again
    }
    if (options.stopped?.()) break;
    await new Promise((r) => setTimeout(r, Math.min(options.maxDelayMs ?? Infinity, (options.firstDelayMs ?? 200) * 2 ** (attempt - 1))));
  }
  return { status: lastStatus !== null && lastStatus >= 400 && lastStatus < 500 ? 'refused' : 'unanswered', attempts, lastStatus, ...(detail ? { detail } : {}) };
}
