import type { Address } from '../../schemas/canonical-order.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { subdivisionOf } from './warehouses.ts';

/** How one shipment travels: by whom, and the dates promised to the customer. */
export interface DeliveryPlan {
  carrier: string;
  serviceLevel: string;
  transitDays: number;
  /** YYYY-MM-DD, the warehouse's local date */
  promisedShipDate: string;
  /** YYYY-MM-DD, the ship date plus the transit in business days */
  promisedDeliveryDate: string;
  /** why this carrier and these dates, in words */
  rule: string;
}

/** Why no delivery can be planned (no carrier goes there, an override that cannot, …). */
export interface DeliveryProblem {
  problem: string;
}

export interface DeliveryOptions {
  carriers: HubConfig['carriers'];
  warehouse: { cutoffTime?: string; timeZone?: string };
  /** the parcel's weight (see `shipmentWeightGrams`) */
  weightGrams: number;
  /** the order is flagged priority: the fastest service instead of the cheapest */
  priority: boolean;
  now: Date;
  /** an operator's choice of carrier and/or service level */
  override?: { carrier?: string; serviceLevel?: string };
}

export const DEFAULT_CUTOFF = '15:00';
export const DEFAULT_TIME_ZONE = 'UTC';

export function isDeliveryPlan(value: DeliveryPlan | DeliveryProblem): value is DeliveryPlan {
  return !('problem' in value);
}

/** The weight of a shipment's lines; a SKU of unknown weight counts as 0 g. */
export function shipmentWeightGrams(lines: readonly { sku: string; quantity: number }[], weights: ReadonlyMap<string, number>): number {
  return lines.reduce((sum, l) => sum + (weights.get(l.sku) ?? 0) * l.quantity, 0);
}

type Carrier = HubConfig['carriers'][number];
type Service = Carrier['services'][number];
interface Option { carrier: Carrier; service: Service }

/**
 * Plans the delivery of one shipment: a carrier that goes to the address (its regions list
 * the country or subdivision, or are empty = everywhere) with a service that takes the
 * weight; the cheapest — the slowest — service, or for a priority order the fastest
 * express one (the fastest of all when no express service fits). Ties go to the order of
 * the config. The ship date is today in the warehouse's zone when `now` is before its
 * cut-off there, else the next day, moved past a weekend; delivery is the ship date plus
 * the service's transit days, counting Monday to Friday only. Public holidays are not
 * known here.
 */
export function planDelivery(
  shipment: { warehouse: string },
  address: Pick<Address, 'country' | 'region'>,
  options: DeliveryOptions,
): DeliveryPlan | DeliveryProblem {
  const destination = subdivisionOf(address) ?? address.country;
  const goesThere = (c: Carrier) => !c.regions || c.regions.length === 0 || c.regions.some((r) => r === address.country || r === destination);
  const takes = (s: Service) => s.maxWeightGrams === undefined || s.maxWeightGrams >= options.weightGrams;

  const choice = chooseService(options, goesThere, takes, destination);
  if ('problem' in choice) return choice;

  const cutoff = options.warehouse.cutoffTime ?? DEFAULT_CUTOFF;
  const timeZone = options.warehouse.timeZone ?? DEFAULT_TIME_ZONE;
  const cutoffMinutes = minutesOf(cutoff);
  if (cutoffMinutes === null) return { problem: `warehouse ${shipment.warehouse} has an invalid cut-off time "${cutoff}"` };
  const local = localTime(options.now, timeZone);
  if (!local) return { problem: `warehouse ${shipment.warehouse} has an unknown time zone "${timeZone}"` };

  const beforeCutoff = local.minutes < cutoffMinutes;
  const shipDay = nextBusinessDay(beforeCutoff ? local.day : addDays(local.day, 1));
  const deliveryDay = addBusinessDays(shipDay, choice.service.transitDays);
  const { carrier, service } = choice;
  const when = `${beforeCutoff ? 'before' : 'after'} the ${cutoff} cut-off (${timeZone})`;
  return {
    carrier: carrier.code,
    serviceLevel: service.code,
    transitDays: service.transitDays,
    promisedShipDate: isoDate(shipDay),
    promisedDeliveryDate: isoDate(deliveryDay),
    rule: `${carrier.code} ${service.code}: ${choice.why}; ${when}, ships ${isoDate(shipDay)}, ${service.transitDays} business day${service.transitDays === 1 ? '' : 's'} in transit`,
  };
}

function chooseService(
  options: DeliveryOptions,
  goesThere: (c: Carrier) => boolean,
  takes: (s: Service) => boolean,
  destination: string,
): (Option & { why: string }) | DeliveryProblem {
  const weight = `${options.weightGrams} g`;
  const { override } = options;
  let carriers = options.carriers;
  if (override?.carrier !== undefined) {
    const chosen = carriers.find((c) => c.code === override.carrier);
    if (!chosen) return { problem: `the chosen carrier ${override.carrier} is not configured` };
    if (!goesThere(chosen)) return { problem: `the chosen carrier ${chosen.code} does not deliver to ${destination}` };
    carriers = [chosen];
  }
  if (override?.serviceLevel !== undefined) {
    const level = override.serviceLevel;
    const offering = carriers.filter((c) => c.services.some((s) => s.code === level));
    const of = override.carrier !== undefined ? ` of ${override.carrier}` : '';
    if (offering.length === 0) return { problem: `the chosen service level ${level}${of} is not configured` };
    const there = offering.filter(goesThere);
    if (there.length === 0) return { problem: `no carrier with the chosen service level ${level} delivers to ${destination}` };
    const services = there.map((carrier) => ({ carrier, service: carrier.services.find((s) => s.code === level)! }));
    const fit = services.find((o) => takes(o.service));
    if (fit) return { ...fit, why: `chosen by an operator (${weight})` };
    const limits = services.map((o) => `${o.carrier.code} ${String(o.service.maxWeightGrams)} g`).join(', ');
    return { problem: `the chosen service level ${level} takes parcels up to ${limits}; this one weighs ${weight}` };
  }

  const fitting: Option[] = [];
  for (const carrier of carriers.filter(goesThere)) {
    for (const service of carrier.services.filter(takes)) fitting.push({ carrier, service });
  }
  if (fitting.length === 0) {
    const reaching = carriers.filter(goesThere);
    return reaching.length === 0
      ? { problem: `no carrier delivers to ${destination}` }
      : { problem: `no service of ${reaching.map((c) => c.code).join(', ')} takes a parcel of ${weight}` };
  }
  const by = override?.carrier !== undefined ? ` of the chosen carrier ${override.carrier}` : '';
  if (options.priority) {
    const express = fitting.filter((o) => o.service.express === true);
    const pool = express.length > 0 ? express : fitting;
    const fastest = pool.reduce((best, o) => (o.service.transitDays < best.service.transitDays ? o : best));
    const kind = express.length > 0 ? 'fastest express service' : 'fastest service (no express service fits)';
    return { ...fastest, why: `priority order: ${kind}${by} to ${destination} for ${weight}` };
  }
  const slowest = fitting.reduce((best, o) => (o.service.transitDays > best.service.transitDays ? o : best));
  return { ...slowest, why: `cheapest (slowest) service${by} to ${destination} for ${weight}` };
}

// ---------------------------------------------------------------------------------------
// Calendar days as UTC midnights: the arithmetic never meets a time zone or a DST switch.
// ---------------------------------------------------------------------------------------

const DAY_MS = 86_400_000;

function minutesOf(hhmm: string): number | null {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(hhmm);
  return match ? Number(match[1]) * 60 + Number(match[2]) : null;
}

const formats = new Map<string, Intl.DateTimeFormat>();

/** The local calendar day (as a UTC midnight) and minutes past midnight at `now` in `timeZone`; null for an unknown zone. */
function localTime(now: Date, timeZone: string): { day: number; minutes: number } | null {
  let format = formats.get(timeZone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat('en-US', {
        timeZone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric',
      });
    } catch {
      return null;
    }
    formats.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(now).map((p) => [p.type, p.value]));
  const n = (type: string) => Number(parts[type]);
  return { day: Date.UTC(n('year'), n('month') - 1, n('day')), minutes: n('hour') * 60 + n('minute') };
}

/** The first instant of the local day `now` falls in, in `timeZone` (for counting today's requests); null for an unknown zone. */
export function startOfLocalDay(now: Date, timeZone: string = DEFAULT_TIME_ZONE): Date | null {
  const local = localTime(now, timeZone);
  if (!local) return null;
  // local wall time − the instant = the zone's offset at `now`; a DST switch at midnight
  // itself is rare enough to re-check once.
  const offset = (at: number) => {
    const l = localTime(new Date(at), timeZone)!;
    return l.day + l.minutes * 60_000 - Math.floor(at / 60_000) * 60_000;
  };
  let start = local.day - offset(now.getTime());
  start = local.day - offset(start);
  return new Date(start);
}

function addDays(day: number, days: number): number {
  return day + days * DAY_MS;
}

function isWeekend(day: number): boolean {
  const weekday = new Date(day).getUTCDay();
  return weekday === 0 || weekday === 6;
}

function nextBusinessDay(day: number): number {
  let d = day;
  while (isWeekend(d)) d = addDays(d, 1);
  return d;
}

function addBusinessDays(day: number, days: number): number {
  let d = day;
  for (let left = days; left > 0;) {
    d = addDays(d, 1);
    if (!isWeekend(d)) left -= 1;
  }
  return d;
}

function isoDate(day: number): string {
  return new Date(day).toISOString().slice(0, 10);
}
