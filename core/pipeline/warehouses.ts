import type { Address } from '../../schemas/canonical-order.ts';

/** What allocation needs to know of a warehouse. */
export interface WarehouseFacts {
  code: string;
  priority: number;
  /** ISO 3166-1 countries or ISO 3166-2 subdivisions it delivers to */
  regions: readonly string[];
  /** categories it handles; empty = all */
  categories: readonly string[];
}

/** True when the warehouse delivers to the address's country or subdivision. */
export function servesAddress(warehouse: WarehouseFacts, address: Address): boolean {
  const subdivision = address.region ? `${address.country}-${address.region.toUpperCase()}` : undefined;
  return warehouse.regions.some((r) => r === address.country || r === subdivision);
}

export function handlesCategory(warehouse: WarehouseFacts, category: string): boolean {
  return warehouse.categories.length === 0 || warehouse.categories.includes(category);
}
