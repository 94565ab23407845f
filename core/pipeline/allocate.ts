import type { Address } from '../../schemas/canonical-order.ts';
import { quantitiesBySku, type OrderChange, type OrderRecord, type ReservationLine } from '../order/record.ts';
import { isDeliveryPlan, type DeliveryPlan, type DeliveryProblem } from './delivery-plan.ts';
import { haversineKm, locate } from './geo.ts';
import { handlesCategory, hasCapacity, servesAddress, subdivisionOf, type WarehouseFacts } from './warehouses.ts';
import { notification, shortageReason } from './notify.ts';

export type AllocationStrategy = 'priority' | 'distance' | 'fewest_shipments';

/** How an order is allocated: the channel's strategy and split rule, or an operator's warehouse. */
export interface AllocationPolicy {
  strategy: AllocationStrategy;
  /** may the order (and a line's quantity) be split across warehouses when no single one can serve it */
  allowSplit: boolean;
  /** an operator's override: this warehouse takes the whole order, whatever the strategy */
  warehouse?: string;
}

/** A channel's `allocation` settings, with the defaults: priority, no split. */
export function allocationPolicy(settings: { strategy?: AllocationStrategy; allowSplit?: boolean } | undefined, warehouse?: string): AllocationPolicy {
  return { strategy: settings?.strategy ?? 'priority', allowSplit: settings?.allowSplit ?? false, ...(warehouse ? { warehouse } : {}) };
}

export interface AllocationFacts {
  /** category by SKU */
  categories: ReadonlyMap<string, string>;
  warehouses: readonly WarehouseFacts[];
  /** available by warehouse, then SKU, read under row locks */
  available: ReadonlyMap<string, ReadonlyMap<string, number>>;
  /** fulfilment requests already taken today, by warehouse (absent = none) */
  usedToday: ReadonlyMap<string, number>;
}

/** One warehouse as allocation saw it. */
export interface Candidate {
  warehouse: string;
  /** it passed every rule for the plan that was made (one warehouse, or a share of a split) */
  eligible: boolean;
  /** why not, or why */
  reasons: string[];
  /**
   * what the strategy ranked it by, for an eligible warehouse: its priority number
   * (priority, or distance without a located address), kilometres (distance; null when the
   * warehouse has no location), units of the order it covers (fewest_shipments)
   */
  score: number | null;
  /** kilometres to the located address, rounded; null when either end is unknown */
  distanceKm: number | null;
  /** how many units of the order it holds, in categories it handles */
  covers: number;
}

export interface Explanation {
  strategy: AllocationStrategy;
  /** the rule that chose, in words */
  rule: string;
  /** every warehouse, in the order the strategy ranks them */
  candidates: Candidate[];
  /** the chosen warehouses, in shipment order */
  chosen: string[];
}

export interface Shipment {
  warehouse: string;
  lines: { sku: string; quantity: number }[];
}

export interface Shortage {
  sku: string;
  wanted: number;
  /** what the warehouses that could ship it hold together (the override's own stock for an override) */
  available: number;
}

/** Why nothing could be allocated; `stock` is the only cause new stock would fix. */
export type NoneCause = 'no_lines' | 'unknown_warehouse' | 'address' | 'category' | 'capacity' | 'stock';

export type AllocationPlan =
  | { kind: 'allocated'; shipments: Shipment[]; explanation: Explanation }
  | { kind: 'none'; cause: NoneCause; reason: string; shortages: Shortage[]; explanation: Explanation };

interface Assessment {
  w: WarehouseFacts;
  serves: boolean;
  /** categories it does not handle, with their SKUs */
  unhandled: Map<string, string[]>;
  full: boolean;
  used: number;
  /** per wanted SKU it handles: what it can give (capped at the wanted quantity) */
  holds: Map<string, number>;
  covers: number;
  holdsEverything: boolean;
  distanceKm: number | null;
}

type Mode = 'single' | 'split';

/**
 * Plans where an order's lines ship from. A warehouse is eligible when it delivers to the
 * address (country or subdivision), handles the category of every line it would ship, has
 * capacity left today and — to take the order alone — holds every line.
 *
 * - `priority`: the eligible warehouse with the lowest priority number (then the code).
 * - `distance`: the nearest eligible warehouse to the address's approximate centroid; an
 *   address that cannot be located falls back to priority.
 * - `fewest_shipments`: one warehouse holding everything (by priority), else — with
 *   `allowSplit` — a greedy split: the warehouse covering most of what remains, repeatedly.
 *
 * With `allowSplit`, an order no single warehouse can take is split (priority and distance
 * fill in their own order), a line's quantity included. An operator's `warehouse` bypasses
 * the strategy but not the rules: it takes the whole order or nothing, never overselling.
 */
export function planAllocation(
  lines: readonly { sku: string; quantity: number }[],
  address: Address,
  facts: AllocationFacts,
  policy: AllocationPolicy,
): AllocationPlan {
  const wanted = new Map([...quantitiesBySku(lines)].filter(([, quantity]) => quantity > 0));
  const located = locate(address);
  const assessed = facts.warehouses.map((w) => assess(w, wanted, address, located, facts));
  const byPriority = [...assessed].sort(priorityOrder);
  const useDistance = policy.strategy === 'distance' && located !== null && assessed.some((a) => a.distanceKm !== null);
  const ranked = useDistance ? [...assessed].sort(distanceOrder) : byPriority;
  const where = subdivisionOf(address) ?? address.country;
  const fallback = policy.strategy === 'distance' && !useDistance
    ? (located === null ? `${where} cannot be located, so by priority: ` : 'no warehouse has a location, so by priority: ')
    : '';

  const explain = (mode: Mode, rule: string, shipments: readonly Shipment[]): Explanation => ({
    strategy: policy.strategy,
    rule,
    candidates: ranked.map((a) => candidate(a, mode, where, policy, useDistance, shipments)),
    chosen: shipments.map((s) => s.warehouse),
  });
  const none = (mode: Mode, cause: NoneCause, reason: string, shortages: Shortage[] = []): AllocationPlan =>
    ({ kind: 'none', cause, reason, shortages, explanation: explain(mode, reason, []) });
  const single = (a: Assessment, rule: string): AllocationPlan => {
    const shipments = [{ warehouse: a.w.code, lines: [...wanted].map(([sku, quantity]) => ({ sku, quantity })) }];
    return { kind: 'allocated', shipments, explanation: explain('single', rule, shipments) };
  };

  if (wanted.size === 0) return none('single', 'no_lines', 'the order has no quantities to allocate');

  if (policy.warehouse !== undefined) {
    const a = assessed.find((x) => x.w.code === policy.warehouse);
    if (!a) return none('single', 'unknown_warehouse', `the operator's warehouse ${policy.warehouse} does not exist`);
    const refusal = whyNot(a, 'single', where);
    if (refusal) {
      const shortages = [...wanted].filter(([sku, q]) => (a.holds.get(sku) ?? 0) < q)
        .map(([sku, q]) => ({ sku, wanted: q, available: a.holds.get(sku) ?? 0 }));
      return none('single', refusal.cause, `the operator's warehouse ${a.w.code} cannot take the order: ${refusal.reasons.join('; ')}`,
        refusal.cause === 'stock' ? shortages : []);
    }
    return single(a, `operator's choice: ${a.w.code}`);
  }

  const able = ranked.filter((a) => whyNot(a, 'single', where) === null);
  const first = able[0];
  if (first) {
    const among = `among ${able.length} eligible`;
    switch (policy.strategy) {
      case 'priority':
        return single(first, `priority ${first.w.priority} ${among}`);
      case 'distance':
        return single(first, useDistance
          ? (first.distanceKm === null ? `nearest eligible warehouse (none eligible has a location; priority ${first.w.priority} ${among})` : `nearest eligible warehouse (${first.distanceKm} km)`)
          : `${fallback}priority ${first.w.priority} ${among}`);
      case 'fewest_shipments':
        return single(first, `one warehouse holds every line (priority ${first.w.priority} ${among})`);
      default: {
        const never: never = policy.strategy;
        return never;
      }
    }
  }
  if (!policy.allowSplit) {
    const blocked = blocker(assessed, wanted, facts.categories, 'single', where)
      ?? { cause: 'stock', reason: 'no single warehouse holds every line, and this order may not be split', shortages: [] };
    return none('single', blocked.cause, blocked.reason, blocked.shortages);
  }

  const blocked = blocker(assessed, wanted, facts.categories, 'split', where);
  if (blocked) return none('split', blocked.cause, blocked.reason, blocked.shortages);
  const sharers = ranked.filter((a) => whyNot(a, 'split', where) === null);
  const shipments = policy.strategy === 'fewest_shipments' ? greedySplit(sharers, wanted) : fillInOrder(sharers, wanted);
  const how = policy.strategy === 'fewest_shipments'
    ? 'the warehouse covering the most remaining units first'
    : useDistance ? 'filled nearest first' : `${fallback}filled by priority`;
  return {
    kind: 'allocated',
    shipments,
    explanation: explain('split', `split across ${shipments.length} warehouses: no single warehouse holds every line (${how})`, shipments),
  };
}

function assess(
  w: WarehouseFacts,
  wanted: ReadonlyMap<string, number>,
  address: Address,
  located: { lat: number; lng: number } | null,
  facts: AllocationFacts,
): Assessment {
  const unhandled = new Map<string, string[]>();
  const holds = new Map<string, number>();
  const stock = facts.available.get(w.code);
  for (const [sku, quantity] of wanted) {
    const category = facts.categories.get(sku) ?? '';
    if (!handlesCategory(w, category)) unhandled.set(category, [...(unhandled.get(category) ?? []), sku]);
    else holds.set(sku, Math.min(quantity, Math.max(0, stock?.get(sku) ?? 0)));
  }
  const used = facts.usedToday.get(w.code) ?? 0;
  const covers = [...holds.values()].reduce((n, q) => n + q, 0);
  return {
    w,
    serves: servesAddress(w, address),
    unhandled,
    full: !hasCapacity(w, used),
    used,
    holds,
    covers,
    holdsEverything: unhandled.size === 0 && [...wanted].every(([sku, q]) => holds.get(sku) === q),
    distanceKm: located && w.location ? Math.round(haversineKm(w.location, located)) : null,
  };
}

const compareCodes = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
const priorityOrder = (a: Assessment, b: Assessment) => a.w.priority - b.w.priority || compareCodes(a.w.code, b.w.code);
/** nearest first, warehouses without a location last; ties by priority */
const distanceOrder = (a: Assessment, b: Assessment) =>
  a.distanceKm === b.distanceKm ? priorityOrder(a, b)
    : a.distanceKm === null ? 1
      : b.distanceKm === null ? -1
        : a.distanceKm - b.distanceKm;

/** The rules a warehouse fails, for a whole order (`single`) or a share of one (`split`); null when it passes. */
function whyNot(a: Assessment, mode: Mode, where: string): { cause: NoneCause; reasons: string[] } | null {
  const failures: { cause: NoneCause; reason: string }[] = [];
  if (!a.serves) failures.push({ cause: 'address', reason: `does not deliver to ${where}` });
  if (mode === 'single') {
    for (const [category, skus] of a.unhandled) failures.push({ cause: 'category', reason: `does not handle ${category || 'uncategorised'} (${skus.join(', ')})` });
  }
  if (a.full) failures.push({ cause: 'capacity', reason: `at daily capacity (${a.used} of ${String(a.w.dailyCapacity)} requests today)` });
  if (mode === 'single' && a.unhandled.size === 0 && !a.holdsEverything) {
    failures.push({ cause: 'stock', reason: `does not hold every line (${a.covers} units of the order)` });
  }
  if (mode === 'split' && a.covers === 0) failures.push({ cause: 'stock', reason: 'holds nothing it could ship of the order' });
  const firstFailure = failures[0];
  return firstFailure ? { cause: firstFailure.cause, reasons: failures.map((f) => f.reason) } : null;
}

function candidate(a: Assessment, mode: Mode, where: string, policy: AllocationPolicy, useDistance: boolean, shipments: readonly Shipment[]): Candidate {
  const refusal = whyNot(a, mode, where);
  const reasons = refusal ? [...refusal.reasons] : [];
  if (!refusal) {
    reasons.push(mode === 'single' ? 'holds every line' : `holds ${a.covers} units of the order`);
    if (mode === 'split' && a.unhandled.size > 0) reasons.push(`does not handle ${[...a.unhandled.keys()].join(', ')}`);
    reasons.push(`priority ${a.w.priority}`);
    if (a.distanceKm !== null) reasons.push(`${a.distanceKm} km away`);
    else if (policy.strategy === 'distance') reasons.push('distance unknown');
    const shipment = shipments.find((s) => s.warehouse === a.w.code);
    if (shipment) reasons.push(`chosen: ships ${shipment.lines.reduce((n, l) => n + l.quantity, 0)} units`);
  }
  const score = refusal ? null
    : policy.warehouse !== undefined ? a.w.priority
      : policy.strategy === 'fewest_shipments' ? a.covers
        : useDistance ? a.distanceKm
          : a.w.priority;
  return { warehouse: a.w.code, eligible: refusal === null, reasons, score, distanceKm: a.distanceKm, covers: a.covers };
}

interface Blocked { cause: NoneCause; reason: string; shortages: Shortage[] }

/**
 * Why no warehouse can take the order, found the way a person would: nobody delivers
 * there, nobody who does handles a category, everybody who could is full, or the stock is
 * not there (with the shortages, summed over the warehouses that could ship each SKU).
 * Null when, together, they could: a split would work.
 */
function blocker(
  assessed: readonly Assessment[],
  wanted: ReadonlyMap<string, number>,
  categories: ReadonlyMap<string, string>,
  mode: Mode,
  where: string,
): Blocked | null {
  const serving = assessed.filter((a) => a.serves);
  if (serving.length === 0) return { cause: 'address', reason: `no warehouse delivers to ${where}`, shortages: [] };

  const handlersOf = (sku: string, pool: readonly Assessment[]) => pool.filter((a) => a.holds.has(sku));
  const categoryOf = (sku: string) => categories.get(sku) || 'uncategorised';
  const unhandled = [...wanted.keys()].filter((sku) => handlersOf(sku, serving).length === 0);
  if (unhandled.length > 0) {
    return { cause: 'category', reason: `no warehouse delivering to ${where} handles ${describe(unhandled, categoryOf)}`, shortages: [] };
  }
  const handlingAll = serving.filter((a) => a.unhandled.size === 0);
  if (mode === 'single' && handlingAll.length === 0) {
    return { cause: 'category', reason: `no warehouse delivering to ${where} handles every category of the order (${[...new Set([...wanted.keys()].map(categoryOf))].join(', ')})`, shortages: [] };
  }

  const pool = (mode === 'single' ? handlingAll : serving).filter((a) => !a.full);
  const full = [...wanted.keys()].filter((sku) => handlersOf(sku, pool).length === 0);
  if (pool.length === 0 || full.length > 0) {
    const atCapacity = (mode === 'single' ? handlingAll : serving).filter((a) => a.full).map((a) => a.w.code);
    return { cause: 'capacity', reason: `every warehouse that could ship ${mode === 'single' ? 'the order' : describe(full, categoryOf)} is at its daily capacity (${atCapacity.join(', ')})`, shortages: [] };
  }

  const shortages = [...wanted]
    .map(([sku, quantity]) => ({ sku, wanted: quantity, available: handlersOf(sku, pool).reduce((n, a) => n + (a.holds.get(sku) ?? 0), 0) }))
    .filter((s) => s.available < s.wanted);
  if (shortages.length > 0) {
    return { cause: 'stock', reason: `not enough stock: ${shortages.map((s) => `${s.sku} (${s.wanted} wanted, ${s.available} available)`).join(', ')}`, shortages };
  }
  return null;
}

/** "furniture (SOFA, BED), kitchen (MUG)" */
function describe(skus: readonly string[], categoryOf: (sku: string) => string): string {
  const bySku = new Map<string, string[]>();
  for (const sku of skus) bySku.set(categoryOf(sku), [...(bySku.get(categoryOf(sku)) ?? []), sku]);
  return [...bySku].map(([category, list]) => `${category} (${list.join(', ')})`).join(', ');
}

/** Each warehouse in turn takes what it can of what remains (priority or distance order). */
function fillInOrder(sharers: readonly Assessment[], wanted: ReadonlyMap<string, number>): Shipment[] {
  const remaining = new Map(wanted);
  const shipments: Shipment[] = [];
  for (const a of sharers) {
    const shipment = take(a, remaining);
    if (shipment) shipments.push(shipment);
    if ([...remaining.values()].every((q) => q === 0)) break;
  }
  return shipments;
}

/** Fewest shipments, greedily: the warehouse covering the most remaining units (then priority), until nothing remains. */
function greedySplit(sharers: readonly Assessment[], wanted: ReadonlyMap<string, number>): Shipment[] {
  const remaining = new Map(wanted);
  const left = [...sharers].sort(priorityOrder);
  const shipments: Shipment[] = [];
  const coverage = (a: Assessment) => [...remaining].reduce((n, [sku, q]) => n + Math.min(q, a.holds.get(sku) ?? 0), 0);
  while (left.length > 0 && [...remaining.values()].some((q) => q > 0)) {
    let best = 0;
    for (let i = 1; i < left.length; i += 1) if (coverage(left[i]!) > coverage(left[best]!)) best = i;
    const [a] = left.splice(best, 1);
    const shipment = take(a!, remaining);
    if (shipment) shipments.push(shipment);
  }
  return shipments;
}

/** What `a` ships of `remaining` (which it reduces), or null when nothing. */
function take(a: Assessment, remaining: Map<string, number>): Shipment | null {
  const lines: Shipment['lines'] = [];
  for (const [sku, q] of remaining) {
    const quantity = Math.min(q, a.holds.get(sku) ?? 0);
    if (quantity > 0) {
      lines.push({ sku, quantity });
      remaining.set(sku, q - quantity);
    }
  }
  return lines.length > 0 ? { warehouse: a.w.code, lines } : null;
}

/**
 * The change a plan makes to the order. Allocated: stock reserved for every shipment, the
 * first shipment's warehouse on the order, the rule and plans on the timeline, earlier
 * allocation exceptions resolved. A delivery that cannot be planned (no carrier goes there)
 * holds the order for a person instead, with nothing reserved. Nothing allocated:
 * backordered, with a `stock_shortage` exception when stock is the cause, else
 * `allocation_failed`; the explanation goes with it.
 */
export function allocationChange(
  record: OrderRecord,
  plan: AllocationPlan,
  deliveries: readonly (DeliveryPlan | DeliveryProblem)[],
): OrderChange {
  switch (plan.kind) {
    case 'allocated': {
      const problems = plan.shipments.flatMap((s, i) => {
        const delivery = deliveries[i];
        if (!delivery) return [{ warehouse: s.warehouse, problem: 'no delivery plan' }];
        return isDeliveryPlan(delivery) ? [] : [{ warehouse: s.warehouse, problem: delivery.problem }];
      });
      if (problems.length > 0) {
        const reason = `no delivery can be planned: ${problems.map((p) => `${p.warehouse}: ${p.problem}`).join('; ')}`;
        return {
          to: 'on_hold',
          timeline: { type: 'order.on_hold', reason, data: { explanation: plan.explanation, problems } },
          emit: [{ type: 'order.on_hold', data: { orderId: record.id, orderNumber: record.orderNumber, reason } }],
          exception: { type: 'delivery_unplannable', reason, details: { problems, explanation: plan.explanation } },
        };
      }
      const planned = deliveries as readonly DeliveryPlan[];
      const reserve: ReservationLine[] = plan.shipments.flatMap((s) => s.lines.map((l) => ({ warehouse: s.warehouse, sku: l.sku, quantity: l.quantity })));
      const shipments = plan.shipments.map((s, i) => ({ ...s, delivery: planned[i]! }));
      return {
        to: 'allocated',
        warehouse: plan.shipments[0]!.warehouse,
        reserve,
        // a successful allocation settles what earlier attempts left for a person
        resolves: ['stock_shortage', 'allocation_failed', 'delivery_unplannable'],
        timeline: { type: 'order.allocated', reason: plan.explanation.rule, data: { explanation: plan.explanation, deliveries: planned.slice(0, plan.shipments.length) } },
        emit: [{ type: 'order.allocated', data: { orderId: record.id, orderNumber: record.orderNumber, shipments } }],
      };
    }
    case 'none': {
      // Stock lost between validation and allocation (another order took it): the customer
      // is told, with the same remedies as a shortage found at validation.
      const somethingAvailable = plan.shortages.some((s) => s.available > 0) || record.order.lines.some((l) => !plan.shortages.some((s) => s.sku === l.sku));
      const remedies = ['wait', ...(somethingAvailable ? ['ship_available'] : []), 'cancel'];
      return {
        to: 'backordered',
        timeline: { type: 'order.backordered', reason: plan.reason, data: { explanation: plan.explanation } },
        emit: [
          { type: 'order.backordered', data: { orderId: record.id, orderNumber: record.orderNumber, reason: plan.reason } },
          ...(plan.cause === 'stock' ? notification(record, 'stock_shortage', { reason: shortageReason(record, plan.shortages), remedies }) : []),
        ],
        exception: {
          type: plan.cause === 'stock' ? 'stock_shortage' : 'allocation_failed',
          reason: plan.reason,
          details: { cause: plan.cause, shortages: plan.shortages, explanation: plan.explanation, ...(plan.cause === 'stock' ? { remedies } : {}) },
        },
      };
    }
    default: {
      const never: never = plan;
      return never;
    }
  }
}
