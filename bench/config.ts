import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { defaultConfigPath } from '../core/config/env.ts';
import type { HubConfig } from '../schemas/config.ts';

/**
 * What benchmark orders buy, one line each (so allocation never splits an order), round
 * robin: allocation locks a SKU's stock rows, so a single SKU would measure one hot row
 * (see docs/PERFORMANCE.md), not the hub.
 */
export const benchSkus = ['MUG-CLASSIC', 'TSHIRT-BLK-M', 'TSHIRT-WHT-L', 'SKU2006-001', 'SKU2006-020', 'SKU2006-035'] as const;
export const benchWarehouses = ['us-east', 'us-west'] as const;
const plenty = 100_000_000;

/**
 * The bench's business config, derived from the bundled demo config so the stages run the
 * same rules: one Shopify channel (Shopify orders arrive paid, so no payment link and no
 * hold), the two US warehouses on queue integration with stock and daily capacity no
 * benchmark exhausts. Without that, allocation would start backordering mid-run and the
 * measured path would change.
 */
export function benchConfig(demo: HubConfig = JSON.parse(readFileSync(defaultConfigPath, 'utf8')) as HubConfig): HubConfig {
  const shopify = demo.channels.find((c) => c.code === 'shopify');
  if (!shopify) throw new Error('the demo config has no shopify channel');
  const warehouses = demo.warehouses
    .filter((w) => (benchWarehouses as readonly string[]).includes(w.code))
    .map((w) => ({ ...w, dailyCapacity: plenty }));
  // no payment links: the Shopify channel's orders are paid when they arrive
  const rest: HubConfig = { ...demo };
  delete rest.payments;
  return {
    ...rest,
    channels: [{ ...shopify, enabled: true }],
    warehouses,
    stock: warehouses.flatMap((w) => benchSkus.map((sku) => ({ warehouse: w.code, sku, onHand: plenty }))),
  };
}

/** Writes the config where the hub's child processes read it (HUB_CONFIG). */
export function writeBenchConfig(dir: string): string {
  const path = join(dir, 'bench-config.json');
  writeFileSync(path, JSON.stringify(benchConfig(), null, 2));
  return path;
}
