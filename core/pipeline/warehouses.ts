import type { Address } from '../../schemas/canonical-order.ts';
import type { LatLng } from './geo.ts';

/** What allocation and the delivery plan need to know of a warehouse. */
export interface WarehouseFacts {
  code: string;
  priority: number;
  /** ISO 3166-1 countries or ISO 3166-2 subdivisions it delivers to */
  regions: readonly string[];
  /** categories it handles; empty = all */
  categories: readonly string[];
  /** where it is; absent = unknown (ranked last by distance) */
  location?: LatLng | null;
  /** fulfilment requests it takes per (local) day; absent or null = no limit */
  dailyCapacity?: number | null;
  /** "HH:MM" local: released before it, a shipment leaves the same day (default "15:00") */
  cutoffTime?: string;
  /** IANA time zone (default "UTC") */
  timeZone?: string;
}

/** The address's subdivision as ISO 3166-2 (`US-KY`), or null when it has no region. */
export function subdivisionOf(address: Pick<Address, 'country' | 'region'>): string | null {
  if (!address.region) return null;
  const region = address.region.trim().toUpperCase();
  return region.startsWith(`${address.country}-`) ? region : `${address.country}-${region}`;
}

/** True when the warehouse delivers to the address's country or subdivision. */
export function servesAddress(warehouse: WarehouseFacts, address: Address): boolean {
  const subdivision = subdivisionOf(address);
  return warehouse.regions.some((r) => r === address.country || r === subdivision);
}

export function handlesCategory(warehouse: WarehouseFacts, category: string): boolean {
  return warehouse.categories.length === 0 || warehouse.categories.includes(category);
}

/** True while the warehouse can take another fulfilment request today. */
export function hasCapacity(warehouse: WarehouseFacts, usedToday: number): boolean {
  return warehouse.dailyCapacity === undefined || warehouse.dailyCapacity === null || usedToday < warehouse.dailyCapacity;
}
