// Allocation, delivery planning and release, given / when / then. Pure: no database, no clock.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantitiesBySku, type OrderRecord, type ReservationLine } from '../core/order/record.ts';
import { paymentStatuses, type OrderStatus, type PaymentStatus } from '../core/order/status.ts';
import {
  allocationChange,
  allocationPolicy,
  planAllocation,
  type AllocationFacts,
  type AllocationPlan,
  type AllocationPolicy,
} from '../core/pipeline/allocate.ts';
import { planDelivery, shipmentWeightGrams, startOfLocalDay, type DeliveryOptions, type DeliveryPlan } from '../core/pipeline/delivery-plan.ts';
import { haversineKm, locate } from '../core/pipeline/geo.ts';
import { releaseChange, type ShipmentRelease } from '../core/pipeline/release.ts';
import type { WarehouseFacts } from '../core/pipeline/warehouses.ts';
import type { Address } from '../schemas/canonical-order.ts';
import type { HubConfig } from '../schemas/config.ts';
import { anOrder, anOrderRecord, orderLine, shippingAddress } from './support/orders.ts';

// ---------------------------------------------------------------------------------------
// Facts: a small catalogue and warehouse network, written out so each test reads alone.
// ---------------------------------------------------------------------------------------

const CATEGORIES = new Map([
  ['TEE', 'apparel'],
  ['SOFA', 'furniture'],
  ['MUG', 'kitchen'],
  ['LAMP', 'oversize'],
]);

const LOUISVILLE = { lat: 38.25, lng: -85.76 };
const RENO = { lat: 39.53, lng: -119.81 };
const NEWARK = { lat: 40.7, lng: -74.2 };

const warehouse = (code: string, priority: number, regions: string[], categories: string[] = [], more: Partial<WarehouseFacts> = {}): WarehouseFacts => ({
  code,
  priority,
  regions,
  categories,
  ...more,
});

/** available stock, written `{ warehouse: { sku: n } }` */
function stock(levels: Record<string, Record<string, number>>): Map<string, Map<string, number>> {
  return new Map(Object.entries(levels).map(([w, bySku]) => [w, new Map(Object.entries(bySku))]));
}
function allocationFacts(warehouses: WarehouseFacts[], levels: Record<string, Record<string, number>>, usedToday: Record<string, number> = {}): AllocationFacts {
  return { categories: CATEGORIES, warehouses, available: stock(levels), usedToday: new Map(Object.entries(usedToday)) };
}

const PRIORITY: AllocationPolicy = { strategy: 'priority', allowSplit: false };
const DISTANCE: AllocationPolicy = { strategy: 'distance', allowSplit: false };
const FEWEST: AllocationPolicy = { strategy: 'fewest_shipments', allowSplit: true };
const split = (policy: AllocationPolicy): AllocationPolicy => ({ ...policy, allowSplit: true });

const US = shippingAddress('US', 'NY');

/** The shipments of an allocated plan as `{ warehouse: { sku: n } }`, or the reason it is none. */
function shipped(plan: AllocationPlan): Record<string, Record<string, number>> | string {
  if (plan.kind === 'none') return plan.reason;
  return Object.fromEntries(plan.shipments.map((s) => [s.warehouse, Object.fromEntries(s.lines.map((l) => [l.sku, l.quantity]))]));
}

describe('geo', () => {
  it('locates an address by its subdivision — code, prefixed code or name — else by its country', () => {
    const kentucky = locate({ country: 'US', region: 'KY' });
    expect(kentucky).not.toBeNull();
    expect(locate({ country: 'US', region: 'ky' })).toEqual(kentucky);
    expect(locate({ country: 'US', region: 'US-KY' })).toEqual(kentucky);
    expect(locate({ country: 'US', region: 'Kentucky' })).toEqual(kentucky);
    expect(locate({ country: 'CA', region: 'Québec' })).toEqual(locate({ country: 'CA', region: 'QC' }));
    // an unknown region falls back to the country; a region is not looked up in another country
    expect(locate({ country: 'US', region: 'Atlantis' })).toEqual(locate({ country: 'US', region: null }));
    expect(locate({ country: 'DE', region: 'KY' })).toEqual(locate({ country: 'DE', region: null }));
    expect(locate({ country: 'GB', region: null })).not.toBeNull();
    expect(locate({ country: 'JP', region: null })).not.toBeNull();
    expect(locate({ country: 'AU', region: 'NSW' })).toEqual(locate({ country: 'AU', region: null }));
    expect(locate({ country: 'ZZ', region: null })).toBeNull();
  });

  it('has every US state and Canadian province, and the countries of Europe', () => {
    const states = 'AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC'.split(' ');
    const provinces = 'AB BC MB NB NL NS NT NU ON PE QC SK YT'.split(' ');
    const europe = 'AD AL AT BA BE BG BY CH CY CZ DE DK EE ES FI FR GB GR HR HU IE IS IT LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SK SM UA VA XK'.split(' ');
    const us = locate({ country: 'US', region: null });
    const ca = locate({ country: 'CA', region: null });
    for (const s of states) expect(locate({ country: 'US', region: s }), s).not.toEqual(us);
    for (const p of provinces) expect(locate({ country: 'CA', region: p }), p).not.toEqual(ca);
    for (const c of europe) expect(locate({ country: c, region: null }), c).not.toBeNull();
  });

  it('measures great-circle distances', () => {
    expect(haversineKm({ lat: 51.5074, lng: -0.1278 }, { lat: 48.8566, lng: 2.3522 })).toBeCloseTo(343.6, 0); // London–Paris
    expect(haversineKm(RENO, RENO)).toBe(0);
    expect(haversineKm({ lat: 0, lng: 0 }, { lat: 0, lng: 180 })).toBeCloseTo(Math.PI * 6371.0088, 3);
  });
});

describe('planAllocation', () => {
  describe('priority', () => {
    it('picks the lowest priority number among warehouses that hold every line, and says so', () => {
      // given three US warehouses: p1 lacks sofas, p2 and p3 hold everything
      const facts = allocationFacts(
        [warehouse('p3', 3, ['US']), warehouse('p1', 1, ['US']), warehouse('p2', 2, ['US'])],
        { p1: { TEE: 10 }, p2: { TEE: 10, SOFA: 1 }, p3: { TEE: 10, SOFA: 10 } },
      );
      // when a tee and a sofa are allocated
      const plan = planAllocation([orderLine('TEE', 2), orderLine('SOFA', 1)], US, facts, PRIORITY);
      // then p2 gets the whole order, in one shipment
      expect(plan).toMatchObject({ kind: 'allocated', shipments: [{ warehouse: 'p2', lines: [{ sku: 'TEE', quantity: 2 }, { sku: 'SOFA', quantity: 1 }] }] });
      // and the explanation names the rule and ranks every warehouse
      expect(plan.explanation).toMatchObject({ strategy: 'priority', rule: 'priority 2 among 2 eligible', chosen: ['p2'] });
      expect(plan.explanation.candidates.map((c) => [c.warehouse, c.eligible, c.score, c.covers])).toEqual([
        ['p1', false, null, 2],
        ['p2', true, 2, 3],
        ['p3', true, 3, 3],
      ]);
      expect(plan.explanation.candidates[0]!.reasons).toEqual(['does not hold every line (2 units of the order)']);
    });

    it('skips warehouses that do not serve the address or do not handle a line\'s category', () => {
      // given a European warehouse and an apparel-only one ahead of a general one
      const facts = allocationFacts(
        [warehouse('eu', 0, ['DE']), warehouse('apparel-only', 1, ['US'], ['apparel']), warehouse('general', 5, ['US'])],
        { eu: { TEE: 9, MUG: 9 }, 'apparel-only': { TEE: 9, MUG: 9 }, general: { TEE: 9, MUG: 9 } },
      );
      // when a tee and a mug go to the US
      const plan = planAllocation([orderLine('TEE', 1), orderLine('MUG', 1)], US, facts, PRIORITY);
      // then only the general warehouse may take them
      expect(shipped(plan)).toEqual({ general: { TEE: 1, MUG: 1 } });
      const reasons = Object.fromEntries(plan.explanation.candidates.map((c) => [c.warehouse, c.reasons]));
      expect(reasons.eu).toContain('does not deliver to US-NY');
      expect(reasons['apparel-only']).toContain('does not handle kitchen (MUG)');
      // and a tee alone goes to the apparel warehouse first
      expect(shipped(planAllocation([orderLine('TEE', 1)], US, facts, PRIORITY))).toEqual({ 'apparel-only': { TEE: 1 } });
    });

    it('serves a subdivision warehouse only to addresses in that subdivision', () => {
      const facts = allocationFacts([warehouse('ky', 0, ['US-KY']), warehouse('us', 9, ['US'])], { ky: { TEE: 5 }, us: { TEE: 5 } });
      expect(shipped(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'KY'), facts, PRIORITY))).toEqual({ ky: { TEE: 1 } });
      expect(shipped(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'OH'), facts, PRIORITY))).toEqual({ us: { TEE: 1 } });
    });

    it('sums lines of the same SKU before comparing with stock', () => {
      // given 3 tees in the preferred warehouse and 4 in the next
      const facts = allocationFacts([warehouse('first', 1, ['US']), warehouse('second', 2, ['US'])], { first: { TEE: 3 }, second: { TEE: 4 } });
      // when 2 + 2 tees are ordered on two lines
      const plan = planAllocation([orderLine('TEE', 2), orderLine('TEE', 2)], US, facts, PRIORITY);
      // then the second warehouse ships 4 on one line
      expect(shipped(plan)).toEqual({ second: { TEE: 4 } });
    });

    it('breaks priority ties by warehouse code, whatever order the warehouses come in', () => {
      const tied = [warehouse('wh-c', 1, ['US']), warehouse('wh-a', 1, ['US']), warehouse('wh-b', 1, ['US'])];
      const levels = { 'wh-a': { TEE: 1 }, 'wh-b': { TEE: 1 }, 'wh-c': { TEE: 1 } };
      fc.assert(
        fc.property(fc.shuffledSubarray(tied, { minLength: 3, maxLength: 3 }), (order) => {
          expect(shipped(planAllocation([orderLine('TEE', 1)], US, allocationFacts(order, levels), PRIORITY))).toEqual({ 'wh-a': { TEE: 1 } });
        }),
      );
    });
  });

  describe('distance', () => {
    const network = [
      warehouse('louisville', 1, ['US'], [], { location: LOUISVILLE }),
      warehouse('reno', 2, ['US'], [], { location: RENO }),
      warehouse('newark', 3, ['US'], [], { location: NEWARK }),
    ];
    const plenty = { louisville: { TEE: 9, SOFA: 9 }, reno: { TEE: 9, SOFA: 9 }, newark: { TEE: 9, SOFA: 9 } };

    it('chooses the nearest eligible warehouse, whatever its priority', () => {
      // given three US warehouses with stock, Louisville preferred by priority
      const facts = allocationFacts(network, plenty);
      // when an order to Nevada is allocated by distance
      const plan = planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'NV'), facts, DISTANCE);
      // then Reno, 277 km from the centre of Nevada, ships it
      expect(shipped(plan)).toEqual({ reno: { TEE: 1 } });
      expect(plan.explanation.rule).toBe('nearest eligible warehouse (277 km)');
      expect(plan.explanation.candidates.map((c) => [c.warehouse, c.distanceKm, c.score])).toEqual([
        ['reno', 277, 277],
        ['louisville', 2663, 2663],
        ['newark', expect.any(Number), expect.any(Number)],
      ]);
      // and an order to New York goes to Newark, one to Kentucky to Louisville
      expect(shipped(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'NY'), facts, DISTANCE))).toEqual({ newark: { TEE: 1 } });
      expect(shipped(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'Kentucky'), facts, DISTANCE))).toEqual({ louisville: { TEE: 1 } });
    });

    it('passes over a nearer warehouse that does not hold every line', () => {
      const facts = allocationFacts(network, { ...plenty, reno: { TEE: 9 } });
      const plan = planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], shippingAddress('US', 'NV'), facts, DISTANCE);
      expect(shipped(plan)).toEqual({ louisville: { TEE: 1, SOFA: 1 } });
      expect(plan.explanation.candidates[0]).toMatchObject({ warehouse: 'reno', eligible: false, distanceKm: 277, score: null });
    });

    it('falls back to priority when the address cannot be located, and says so', () => {
      const facts = allocationFacts(network.map((w) => ({ ...w, regions: ['US', 'ZZ'] })), plenty);
      const plan = planAllocation([orderLine('TEE', 1)], shippingAddress('ZZ'), facts, DISTANCE);
      expect(shipped(plan)).toEqual({ louisville: { TEE: 1 } });
      expect(plan.explanation.rule).toBe('ZZ cannot be located, so by priority: priority 1 among 3 eligible');
      expect(plan.explanation.candidates.every((c) => c.distanceKm === null)).toBe(true);
    });

    it('ranks a warehouse without a location after those with one', () => {
      const facts = allocationFacts([warehouse('nowhere', 0, ['US']), ...network], plenty);
      expect(shipped(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'NV'), facts, DISTANCE))).toEqual({ reno: { TEE: 1 } });
    });
  });

  describe('capacity', () => {
    it('passes over a warehouse that has taken its daily capacity of requests', () => {
      // given the preferred warehouse has taken 200 of its 200 requests today
      const facts = allocationFacts(
        [warehouse('busy', 1, ['US'], [], { dailyCapacity: 200 }), warehouse('quiet', 2, ['US'], [], { dailyCapacity: 200 })],
        { busy: { TEE: 9 }, quiet: { TEE: 9 } },
        { busy: 200, quiet: 199 },
      );
      // when an order is allocated
      const plan = planAllocation([orderLine('TEE', 1)], US, facts, PRIORITY);
      // then the other one takes it: it has one request left
      expect(shipped(plan)).toEqual({ quiet: { TEE: 1 } });
      expect(plan.explanation.candidates[0]).toMatchObject({ warehouse: 'busy', eligible: false, reasons: ['at daily capacity (200 of 200 requests today)'] });
    });

    it('backorders, for a person and not for stock, when every warehouse that could is full', () => {
      const facts = allocationFacts([warehouse('busy', 1, ['US'], [], { dailyCapacity: 5 })], { busy: { TEE: 9 } }, { busy: 5 });
      const plan = planAllocation([orderLine('TEE', 1)], US, facts, split(PRIORITY));
      expect(plan).toMatchObject({ kind: 'none', cause: 'capacity', reason: 'every warehouse that could ship apparel (TEE) is at its daily capacity (busy)' });
      expect(allocationChange(anOrderRecord(), plan, []).exception).toMatchObject({ type: 'allocation_failed' });
    });
  });

  describe('splitting', () => {
    const teesHere = allocationFacts([warehouse('a', 1, ['US']), warehouse('b', 2, ['US'])], { a: { TEE: 5 }, b: { SOFA: 5 } });

    it('does not split when the channel does not allow it', () => {
      // given tees only in one warehouse and sofas only in the other
      // when an order wants both, and may not be split
      const plan = planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, teesHere, PRIORITY);
      // then it is not allocated, for want of stock in one place
      expect(plan).toMatchObject({ kind: 'none', cause: 'stock', reason: 'no single warehouse holds every line, and this order may not be split' });
    });

    it('splits when allowed and no single warehouse can serve, filling in strategy order', () => {
      const plan = planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, teesHere, split(PRIORITY));
      expect(shipped(plan)).toEqual({ a: { TEE: 1 }, b: { SOFA: 1 } });
      expect(plan.explanation.rule).toBe('split across 2 warehouses: no single warehouse holds every line (filled by priority)');
      expect(plan.explanation.chosen).toEqual(['a', 'b']);
    });

    it('does not split when one warehouse can take everything, even when allowed', () => {
      const facts = allocationFacts([warehouse('a', 1, ['US']), warehouse('b', 2, ['US']), warehouse('c', 3, ['US'])], { a: { TEE: 5 }, b: { SOFA: 5 }, c: { TEE: 1, SOFA: 1 } });
      expect(shipped(planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts, split(PRIORITY)))).toEqual({ c: { TEE: 1, SOFA: 1 } });
    });

    it('splits a line\'s quantity across warehouses when allowed', () => {
      const facts = allocationFacts([warehouse('a', 1, ['US']), warehouse('b', 2, ['US'])], { a: { TEE: 3 }, b: { TEE: 4 } });
      expect(shipped(planAllocation([orderLine('TEE', 5)], US, facts, split(PRIORITY)))).toEqual({ a: { TEE: 3 }, b: { TEE: 2 } });
      expect(planAllocation([orderLine('TEE', 5)], US, facts, PRIORITY)).toMatchObject({ kind: 'none', cause: 'stock' });
    });

    it('ships from a split warehouse only the categories it handles', () => {
      const facts = allocationFacts([warehouse('apparel', 1, ['US'], ['apparel']), warehouse('any', 2, ['US'])], { apparel: { TEE: 5, SOFA: 5 }, any: { SOFA: 5 } });
      expect(shipped(planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts, split(PRIORITY)))).toEqual({ apparel: { TEE: 1 }, any: { SOFA: 1 } });
    });

    it('splits nearest first under distance', () => {
      const facts = allocationFacts(
        [warehouse('louisville', 1, ['US'], [], { location: LOUISVILLE }), warehouse('reno', 2, ['US'], [], { location: RENO })],
        { louisville: { TEE: 5 }, reno: { TEE: 2, SOFA: 1 } },
      );
      const plan = planAllocation([orderLine('TEE', 3), orderLine('SOFA', 1)], shippingAddress('US', 'CA'), facts, split(DISTANCE));
      expect(shipped(plan)).toEqual({ reno: { TEE: 2, SOFA: 1 }, louisville: { TEE: 1 } });
      expect(plan.explanation.rule).toBe('split across 2 warehouses: no single warehouse holds every line (filled nearest first)');
    });

    it('backorders with the shortages when even a split cannot cover the order', () => {
      const plan = planAllocation([orderLine('TEE', 7), orderLine('SOFA', 1)], US, teesHere, split(PRIORITY));
      expect(plan).toMatchObject({
        kind: 'none',
        cause: 'stock',
        reason: 'not enough stock: TEE (7 wanted, 5 available)',
        shortages: [{ sku: 'TEE', wanted: 7, available: 5 }],
      });
    });
  });

  describe('fewest_shipments', () => {
    it('prefers one warehouse holding everything over a split, whatever the priorities', () => {
      // given tees first in line, sofas second, and a low-priority warehouse with both
      const facts = allocationFacts([warehouse('tees', 1, ['US']), warehouse('sofas', 2, ['US']), warehouse('both', 5, ['US'])], {
        tees: { TEE: 9 }, sofas: { SOFA: 9 }, both: { TEE: 9, SOFA: 9 },
      });
      // when the order is allocated for fewest shipments
      const plan = planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts, FEWEST);
      // then the one that has everything ships it
      expect(shipped(plan)).toEqual({ both: { TEE: 1, SOFA: 1 } });
      expect(plan.explanation.rule).toBe('one warehouse holds every line (priority 5 among 1 eligible)');
    });

    it('splits over the fewest warehouses, where filling by priority would use more', () => {
      // given one tee in each of two preferred warehouses, many tees in a third, sofas in a fourth
      const facts = allocationFacts(
        [warehouse('one', 1, ['US']), warehouse('two', 2, ['US']), warehouse('many', 3, ['US']), warehouse('sofas', 4, ['US'])],
        { one: { TEE: 1 }, two: { TEE: 1 }, many: { TEE: 5 }, sofas: { SOFA: 1 } },
      );
      const lines = [orderLine('TEE', 3), orderLine('SOFA', 1)];
      // when the order is split for fewest shipments, and by priority
      const fewest = planAllocation(lines, US, facts, FEWEST);
      const byPriority = planAllocation(lines, US, facts, split(PRIORITY));
      // then fewest shipments needs two warehouses, priority four
      expect(shipped(fewest)).toEqual({ many: { TEE: 3 }, sofas: { SOFA: 1 } });
      expect(fewest.explanation.rule).toBe('split across 2 warehouses: no single warehouse holds every line (the warehouse covering the most remaining units first)');
      expect(shipped(byPriority)).toEqual({ one: { TEE: 1 }, two: { TEE: 1 }, many: { TEE: 1 }, sofas: { SOFA: 1 } });
    });

    it('does not split when the channel does not allow it', () => {
      const facts = allocationFacts([warehouse('tees', 1, ['US']), warehouse('sofas', 2, ['US'])], { tees: { TEE: 9 }, sofas: { SOFA: 9 } });
      expect(planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts, { ...FEWEST, allowSplit: false })).toMatchObject({ kind: 'none' });
    });
  });

  describe('an operator\'s warehouse', () => {
    const facts = allocationFacts(
      [warehouse('louisville', 1, ['US'], [], { location: LOUISVILLE }), warehouse('reno', 2, ['US'], [], { location: RENO }), warehouse('eu', 1, ['DE'])],
      { louisville: { TEE: 9 }, reno: { TEE: 1 }, eu: { TEE: 9 } },
    );

    it('wins over the strategy', () => {
      // given Reno is nearest to Nevada, and an operator chooses Louisville
      const plan = planAllocation([orderLine('TEE', 2)], shippingAddress('US', 'NV'), facts, { ...DISTANCE, warehouse: 'louisville' });
      // then Louisville ships it, and the explanation says who chose
      expect(shipped(plan)).toEqual({ louisville: { TEE: 2 } });
      expect(plan.explanation.rule).toBe('operator\'s choice: louisville');
    });

    it('never oversells, even when splitting is allowed', () => {
      const plan = planAllocation([orderLine('TEE', 2)], shippingAddress('US', 'NV'), facts, { ...split(DISTANCE), warehouse: 'reno' });
      expect(plan).toMatchObject({
        kind: 'none',
        cause: 'stock',
        reason: 'the operator\'s warehouse reno cannot take the order: does not hold every line (1 units of the order)',
        shortages: [{ sku: 'TEE', wanted: 2, available: 1 }],
      });
    });

    it('must deliver to the address and exist', () => {
      expect(planAllocation([orderLine('TEE', 1)], US, facts, { ...PRIORITY, warehouse: 'eu' })).toMatchObject({
        kind: 'none', cause: 'address', reason: 'the operator\'s warehouse eu cannot take the order: does not deliver to US-NY',
      });
      expect(planAllocation([orderLine('TEE', 1)], US, facts, { ...PRIORITY, warehouse: 'mars' })).toMatchObject({ kind: 'none', cause: 'unknown_warehouse' });
    });
  });

  describe('none, and why', () => {
    it('tells apart an unserved address, an unhandled category, a full warehouse and missing stock', () => {
      const us = [warehouse('apparel', 1, ['US'], ['apparel'], { dailyCapacity: 1 })];
      const tee = [orderLine('TEE', 2)];
      expect(planAllocation(tee, shippingAddress('FR'), allocationFacts(us, { apparel: { TEE: 9 } }), PRIORITY))
        .toMatchObject({ cause: 'address', reason: 'no warehouse delivers to FR' });
      expect(planAllocation([orderLine('SOFA', 1)], US, allocationFacts(us, { apparel: { SOFA: 9 } }), PRIORITY))
        .toMatchObject({ cause: 'category', reason: 'no warehouse delivering to US-NY handles furniture (SOFA)' });
      expect(planAllocation(tee, US, allocationFacts(us, { apparel: { TEE: 9 } }, { apparel: 1 }), PRIORITY))
        .toMatchObject({ cause: 'capacity', reason: 'every warehouse that could ship the order is at its daily capacity (apparel)' });
      expect(planAllocation(tee, US, allocationFacts(us, { apparel: { TEE: 1 } }), PRIORITY))
        .toMatchObject({ cause: 'stock', reason: 'not enough stock: TEE (2 wanted, 1 available)', shortages: [{ sku: 'TEE', wanted: 2, available: 1 }] });
    });

    it('says when every category is handled somewhere, but not all in one place', () => {
      const facts = allocationFacts([warehouse('apparel', 1, ['US'], ['apparel']), warehouse('furniture', 1, ['US'], ['furniture'])], {});
      expect(planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts, PRIORITY))
        .toMatchObject({ cause: 'category', reason: 'no warehouse delivering to US-NY handles every category of the order (apparel, furniture)' });
    });
  });

  describe('property', () => {
    const SKUS = ['TEE', 'SOFA', 'MUG', 'LAMP'] as const;
    const REGIONS = ['US', 'CA', 'DE', 'US-KY', 'US-OH'] as const;
    const CODES = ['wa', 'wb', 'wc', 'wd', 'we', 'wf'] as const;

    const anyWarehouse = fc.record({
      code: fc.constantFrom(...CODES),
      priority: fc.integer({ min: 0, max: 3 }),
      regions: fc.oneof(fc.constant(['US']), fc.subarray([...REGIONS], { minLength: 1 })),
      categories: fc.oneof(fc.constant([] as string[]), fc.subarray(['apparel', 'furniture', 'kitchen', 'oversize'], { minLength: 1 })),
      location: fc.option(fc.record({ lat: fc.double({ min: 25, max: 60, noNaN: true }), lng: fc.double({ min: -125, max: 20, noNaN: true }) }), { nil: undefined }),
      dailyCapacity: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined, freq: 2 }),
    });
    const anyWarehouses = fc.uniqueArray(anyWarehouse, { minLength: 1, maxLength: 6, selector: (w) => w.code });
    const anyStock = fc.oneof(fc.integer({ min: -1, max: 3 }), fc.integer({ min: 0, max: 12 }));
    const anyLevels = fc.dictionary(fc.constantFrom(...CODES), fc.dictionary(fc.constantFrom(...SKUS), anyStock));
    const anyUsed = fc.dictionary(fc.constantFrom(...CODES), fc.integer({ min: 0, max: 4 }));
    const anyLines = fc.array(fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 4 });
    const anyAddress = fc.record({
      country: fc.oneof({ arbitrary: fc.constant('US'), weight: 4 }, { arbitrary: fc.constantFrom('CA', 'DE', 'FR', 'ZZ'), weight: 1 }),
      region: fc.constantFrom(null, 'KY', 'OH', 'ky'),
    }).map(({ country, region }): Address => shippingAddress(country, region));
    const anyPolicy = fc.record({
      strategy: fc.constantFrom('priority', 'distance', 'fewest_shipments'),
      allowSplit: fc.boolean(),
      // an operator's warehouse now and then
      warehouse: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: fc.constantFrom(...CODES), weight: 1 }),
    }).map(({ warehouse: w, ...rest }): AllocationPolicy => (w === undefined ? rest : { ...rest, warehouse: w }));

    const serves = (w: WarehouseFacts, address: Address) => {
      const sub = address.region ? `${address.country}-${address.region.toUpperCase()}` : null;
      return w.regions.some((r) => r === address.country || r === sub);
    };
    const handles = (w: WarehouseFacts, sku: string) => w.categories.length === 0 || w.categories.includes(CATEGORIES.get(sku)!);
    const free = (w: WarehouseFacts, used: Record<string, number>) => w.dailyCapacity == null || (used[w.code] ?? 0) < w.dailyCapacity;

    it('allocates no more than is available, exactly the order, only from eligible warehouses, splitting only when allowed', () => {
      fc.assert(
        fc.property(anyWarehouses, anyLevels, anyUsed, anyLines, anyAddress, anyPolicy, (warehouses, levels, used, lines, address, policy) => {
          const plan = planAllocation(lines, address, allocationFacts(warehouses, levels, used), policy);
          const wanted = quantitiesBySku(lines);
          const have = (code: string, sku: string) => Math.max(0, levels[code]?.[sku] ?? 0);
          const usable = warehouses.filter((w) => serves(w, address) && free(w, used));
          if (plan.kind === 'allocated') {
            // never more than available, per warehouse and SKU; each warehouse once
            const codes = plan.shipments.map((s) => s.warehouse);
            expect(new Set(codes).size).toBe(codes.length);
            for (const s of plan.shipments) {
              const w = warehouses.find((x) => x.code === s.warehouse)!;
              expect(serves(w, address) && free(w, used), s.warehouse).toBe(true);
              for (const l of s.lines) {
                expect(l.quantity).toBeGreaterThan(0);
                expect(l.quantity, `${s.warehouse}/${l.sku}`).toBeLessThanOrEqual(have(s.warehouse, l.sku));
                expect(handles(w, l.sku), `${s.warehouse} handles ${l.sku}`).toBe(true);
              }
            }
            // exactly the order's quantities
            expect(quantitiesBySku(plan.shipments.flatMap((s) => s.lines))).toEqual(wanted);
            // the explanation agrees: chosen warehouses were eligible candidates
            expect(plan.explanation.chosen).toEqual(codes);
            for (const code of codes) expect(plan.explanation.candidates.find((c) => c.warehouse === code)?.eligible, code).toBe(true);
            // no split unless allowed, and never for an operator's warehouse
            if (!policy.allowSplit || policy.warehouse !== undefined) expect(plan.shipments).toHaveLength(1);
            if (policy.warehouse !== undefined) expect(codes).toEqual([policy.warehouse]);
            // one warehouse whenever one could take it all
            const whole = usable.filter((w) => [...wanted].every(([sku, q]) => handles(w, sku) && have(w.code, sku) >= q));
            if (whole.length > 0 && policy.warehouse === undefined) expect(plan.shipments).toHaveLength(1);
            // priority without a split: nothing preferable could have taken it
            if (policy.strategy === 'priority' && policy.warehouse === undefined) {
              const chosen = warehouses.find((w) => w.code === codes[0])!;
              if (plan.shipments.length === 1) {
                for (const other of whole) expect(other.priority > chosen.priority || (other.priority === chosen.priority && other.code >= chosen.code), other.code).toBe(true);
              }
            }
          } else if (policy.warehouse === undefined) {
            // nothing allocated: no single warehouse could take it, and (when allowed) no split either
            const whole = usable.filter((w) => [...wanted].every(([sku, q]) => handles(w, sku) && have(w.code, sku) >= q));
            expect(whole.map((w) => w.code), 'a warehouse could have taken the whole order').toEqual([]);
            if (policy.allowSplit) {
              const coverable = [...wanted].every(([sku, q]) => usable.filter((w) => handles(w, sku)).reduce((n, w) => n + have(w.code, sku), 0) >= q);
              expect(coverable, 'a split could have covered the order').toBe(false);
            }
            expect(plan.explanation.chosen).toEqual([]);
          }
        }),
        { numRuns: 4000 },
      );
    });
  });
});

describe('allocationChange', () => {
  const record = anOrderRecord(anOrder({ lines: [orderLine('TEE', 3), orderLine('SOFA', 1)] }), { status: 'validated', orderNumber: 'HUB-20260115-000007' });
  const facts = allocationFacts([warehouse('a', 1, ['US']), warehouse('b', 2, ['US'])], { a: { TEE: 2 }, b: { TEE: 1, SOFA: 1 } });
  const delivery = (carrier: string): DeliveryPlan => ({
    carrier, serviceLevel: 'ground', transitDays: 5, promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-22', rule: 'test',
  });

  it('reserves every shipment\'s lines and announces the shipments with their delivery plans', () => {
    // given a split plan: two tees from a, one tee and the sofa from b
    const plan = planAllocation(record.order.lines, US, facts, split(PRIORITY));
    expect(shipped(plan)).toEqual({ a: { TEE: 2 }, b: { TEE: 1, SOFA: 1 } });
    // when it is applied with a delivery plan per shipment
    const change = allocationChange(record, plan, [delivery('ups'), delivery('fedex')]);
    // then the order is allocated, to the first shipment's warehouse, with every line reserved
    expect(change).toMatchObject({ to: 'allocated', warehouse: 'a', resolves: ['stock_shortage', 'allocation_failed', 'delivery_unplannable'] });
    expect(change.reserve).toEqual([
      { warehouse: 'a', sku: 'TEE', quantity: 2 },
      { warehouse: 'b', sku: 'TEE', quantity: 1 },
      { warehouse: 'b', sku: 'SOFA', quantity: 1 },
    ]);
    // and the timeline carries the rule, the explanation and the deliveries
    expect(change.timeline).toEqual({ type: 'order.allocated', reason: plan.explanation.rule, data: { explanation: plan.explanation, deliveries: [delivery('ups'), delivery('fedex')] } });
    expect(change.emit).toEqual([{
      type: 'order.allocated',
      data: {
        orderId: record.id,
        orderNumber: 'HUB-20260115-000007',
        shipments: [
          { warehouse: 'a', lines: [{ sku: 'TEE', quantity: 2 }], delivery: delivery('ups') },
          { warehouse: 'b', lines: [{ sku: 'TEE', quantity: 1 }, { sku: 'SOFA', quantity: 1 }], delivery: delivery('fedex') },
        ],
      },
    }]);
    expect(change.exception).toBeUndefined();
  });

  it('backorders with a stock shortage when stock is the cause, and tells the customer the remedies', () => {
    const plan = planAllocation([orderLine('TEE', 9)], US, facts, split(PRIORITY));
    const change = allocationChange(record, plan, []);
    expect(change).toMatchObject({
      to: 'backordered',
      timeline: { type: 'order.backordered', reason: 'not enough stock: TEE (9 wanted, 3 available)' },
      emit: [
        { type: 'order.backordered', data: { orderId: record.id, reason: 'not enough stock: TEE (9 wanted, 3 available)' } },
        { type: 'customer.notification_requested', data: { template: 'stock_shortage', remedies: ['wait', 'ship_available', 'cancel'], to: { email: 'ada@example.com' } } },
      ],
      exception: { type: 'stock_shortage', details: { cause: 'stock', shortages: [{ sku: 'TEE', wanted: 9, available: 3 }] } },
    });
    expect(change.reserve).toBeUndefined();
  });

  it('backorders with an allocation failure, explained, when something else is the cause', () => {
    const plan = planAllocation([orderLine('TEE', 1)], shippingAddress('JP'), facts, PRIORITY);
    const change = allocationChange(record, plan, []);
    expect(change).toMatchObject({ to: 'backordered', exception: { type: 'allocation_failed', reason: 'no warehouse delivers to JP', details: { cause: 'address', explanation: plan.explanation } } });
  });

  it('holds the order, reserving nothing, when a shipment\'s delivery cannot be planned', () => {
    const plan = planAllocation(record.order.lines, US, facts, split(PRIORITY));
    const change = allocationChange(record, plan, [delivery('ups'), { problem: 'no carrier delivers to US-NY' }]);
    expect(change).toMatchObject({ to: 'on_hold', exception: { type: 'delivery_unplannable', reason: 'no delivery can be planned: b: no carrier delivers to US-NY' } });
    expect(change.reserve).toBeUndefined();
  });
});

describe('planDelivery', () => {
  const carriers: HubConfig['carriers'] = [
    {
      code: 'ups',
      name: 'UPS',
      regions: ['US', 'CA'],
      services: [
        { code: 'letter', transitDays: 6, maxWeightGrams: 500 },
        { code: 'ground', transitDays: 5 },
        { code: 'nextday', transitDays: 1, maxWeightGrams: 5000, express: true },
        { code: '2day', transitDays: 2, express: true },
      ],
    },
    { code: 'dhl', name: 'DHL', regions: ['DE', 'FR'], services: [{ code: 'standard', transitDays: 3 }, { code: 'express', transitDays: 1 }] },
    { code: 'hawaii', name: 'Island freight', regions: ['US-HI'], services: [{ code: 'barge', transitDays: 12 }] },
  ];
  const NY = { cutoffTime: '15:00', timeZone: 'America/New_York' };
  const shipment = { warehouse: 'us-east' };
  const options = (more: Partial<DeliveryOptions> = {}): DeliveryOptions => ({ carriers, warehouse: NY, weightGrams: 1000, priority: false, now: new Date('2026-01-15T12:00:00Z'), ...more });
  const plan = (address: Address, more: Partial<DeliveryOptions> = {}) => planDelivery(shipment, address, options(more));

  describe('dates', () => {
    it('ships today when released before the cut-off in the warehouse\'s zone, else the next business day', () => {
      // given a New York warehouse with a 15:00 cut-off, on Thursday 15 January 2026 (EST, UTC−5)
      // when released at 14:59 local (19:59 UTC)
      const before = plan(US, { now: new Date('2026-01-15T19:59:00Z') });
      // then it ships today; at 15:01 local, tomorrow
      expect(before).toMatchObject({ carrier: 'ups', serviceLevel: 'ground', promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-22' });
      expect(plan(US, { now: new Date('2026-01-15T20:01:00Z') })).toMatchObject({ promisedShipDate: '2026-01-16', promisedDeliveryDate: '2026-01-23' });
      // and at 15:00 exactly, the cut-off has passed
      expect(plan(US, { now: new Date('2026-01-15T20:00:00Z') })).toMatchObject({ promisedShipDate: '2026-01-16' });
      // (the same instants in a UTC warehouse are past its cut-off already)
      expect(plan(US, { now: new Date('2026-01-15T19:59:00Z'), warehouse: {} })).toMatchObject({ promisedShipDate: '2026-01-16' });
      expect(before).toMatchObject({ rule: expect.stringContaining('before the 15:00 cut-off (America/New_York)') });
    });

    it('follows daylight saving time', () => {
      // 14:59 EDT (UTC−4) in July
      expect(plan(US, { now: new Date('2026-07-15T18:59:00Z') })).toMatchObject({ promisedShipDate: '2026-07-15' });
      expect(plan(US, { now: new Date('2026-07-15T19:01:00Z') })).toMatchObject({ promisedShipDate: '2026-07-16' });
    });

    it('reads the local date, not the UTC one', () => {
      // 03:00 UTC on Friday is 22:00 on Thursday in New York: after Thursday's cut-off, so Friday
      expect(plan(US, { now: new Date('2026-01-16T03:00:00Z') })).toMatchObject({ promisedShipDate: '2026-01-16' });
      // 23:30 UTC on Thursday is already Friday 08:30 in Tokyo: before Friday's cut-off
      expect(plan(US, { now: new Date('2026-01-15T23:30:00Z'), warehouse: { timeZone: 'Asia/Tokyo' } })).toMatchObject({ promisedShipDate: '2026-01-16' });
    });

    it('moves a Friday after the cut-off, and a weekend, to Monday', () => {
      // Friday 16 January 2026, 16:00 in New York
      expect(plan(US, { now: new Date('2026-01-16T21:00:00Z') })).toMatchObject({ promisedShipDate: '2026-01-19', promisedDeliveryDate: '2026-01-26' });
      // Saturday morning, and Sunday
      expect(plan(US, { now: new Date('2026-01-17T14:00:00Z') })).toMatchObject({ promisedShipDate: '2026-01-19' });
      expect(plan(US, { now: new Date('2026-01-18T14:00:00Z') })).toMatchObject({ promisedShipDate: '2026-01-19' });
    });

    it('counts transit in business days, over a weekend', () => {
      // shipped Thursday with two days in transit: Friday, (weekend), Monday
      expect(plan(US, { priority: true, now: new Date('2026-01-15T15:00:00Z'), weightGrams: 6000 }))
        .toMatchObject({ serviceLevel: '2day', transitDays: 2, promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-19' });
      // shipped Friday with one day: Monday
      expect(plan(US, { priority: true, now: new Date('2026-01-16T15:00:00Z') }))
        .toMatchObject({ serviceLevel: 'nextday', promisedShipDate: '2026-01-16', promisedDeliveryDate: '2026-01-19' });
      // no transit: delivered the day it ships
      const sameDay: HubConfig['carriers'] = [{ code: 'courier', name: 'Courier', services: [{ code: 'bike', transitDays: 0 }] }];
      expect(plan(US, { carriers: sameDay })).toMatchObject({ promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-15' });
    });

    it('reports a time zone or a cut-off it cannot read', () => {
      expect(plan(US, { warehouse: { timeZone: 'Mars/Olympus_Mons' } })).toEqual({ problem: 'warehouse us-east has an unknown time zone "Mars/Olympus_Mons"' });
      expect(plan(US, { warehouse: { cutoffTime: '3pm' } })).toEqual({ problem: 'warehouse us-east has an invalid cut-off time "3pm"' });
    });
  });

  describe('carrier', () => {
    it('chooses the cheapest — the slowest — service that takes the weight', () => {
      // a light parcel goes by letter (6 days); a heavier one by ground (5)
      expect(plan(US, { weightGrams: 400 })).toMatchObject({ carrier: 'ups', serviceLevel: 'letter', transitDays: 6 });
      expect(plan(US, { weightGrams: 501 })).toMatchObject({ carrier: 'ups', serviceLevel: 'ground', transitDays: 5 });
      expect(plan(US, { weightGrams: 501 })).toMatchObject({ rule: expect.stringContaining('cheapest (slowest) service to US-NY for 501 g') });
    });

    it('chooses the fastest express service for a priority order', () => {
      expect(plan(US, { priority: true })).toMatchObject({ serviceLevel: 'nextday', transitDays: 1 });
      // too heavy for next day: two days
      expect(plan(US, { priority: true, weightGrams: 9000 })).toMatchObject({ serviceLevel: '2day' });
      // no express service: the fastest there is
      expect(plan(shippingAddress('DE'), { priority: true })).toMatchObject({ carrier: 'dhl', serviceLevel: 'express', rule: expect.stringContaining('no express service fits') });
    });

    it('takes only carriers that deliver to the country or the subdivision; none listed means everywhere', () => {
      expect(plan(shippingAddress('DE'))).toMatchObject({ carrier: 'dhl', serviceLevel: 'standard' });
      expect(plan(shippingAddress('JP'))).toEqual({ problem: 'no carrier delivers to JP' });
      // the island carrier is slower, and only for Hawaii
      expect(plan(shippingAddress('US', 'HI'))).toMatchObject({ carrier: 'hawaii', serviceLevel: 'barge' });
      expect(plan(shippingAddress('US', 'OH'))).toMatchObject({ carrier: 'ups' });
      const withPost: HubConfig['carriers'] = [...carriers, { code: 'post', name: 'Post', services: [{ code: 'economy', transitDays: 9 }] }];
      expect(plan(shippingAddress('JP'), { carriers: withPost })).toMatchObject({ carrier: 'post', serviceLevel: 'economy' });
      expect(plan(shippingAddress('JP'), { carriers: [{ code: 'any', name: 'Any', regions: [], services: [{ code: 'std', transitDays: 4 }] }] })).toMatchObject({ carrier: 'any' });
    });

    it('says when a carrier goes there but no service takes the weight', () => {
      const light: HubConfig['carriers'] = [{ code: 'ups', name: 'UPS', regions: ['US'], services: [{ code: 'letter', transitDays: 6, maxWeightGrams: 500 }] }];
      expect(plan(US, { carriers: light, weightGrams: 501 })).toEqual({ problem: 'no service of ups takes a parcel of 501 g' });
      expect(plan(US, { carriers: light, weightGrams: 500 })).toMatchObject({ serviceLevel: 'letter' });
    });
  });

  describe('an operator\'s carrier', () => {
    it('is used when it exists, delivers there and takes the weight', () => {
      expect(plan(US, { override: { carrier: 'ups', serviceLevel: '2day' } })).toMatchObject({ carrier: 'ups', serviceLevel: '2day', rule: expect.stringContaining('chosen by an operator') });
      expect(plan(US, { override: { serviceLevel: 'nextday' } })).toMatchObject({ carrier: 'ups', serviceLevel: 'nextday' });
      // a carrier alone: its cheapest service
      expect(plan(US, { override: { carrier: 'ups' } })).toMatchObject({ carrier: 'ups', serviceLevel: 'ground' });
    });

    it('is a problem when it does not exist, does not deliver there, or cannot take the parcel', () => {
      expect(plan(US, { override: { carrier: 'fedex' } })).toEqual({ problem: 'the chosen carrier fedex is not configured' });
      expect(plan(US, { override: { carrier: 'dhl' } })).toEqual({ problem: 'the chosen carrier dhl does not deliver to US-NY' });
      expect(plan(US, { override: { carrier: 'ups', serviceLevel: 'teleport' } })).toEqual({ problem: 'the chosen service level teleport of ups is not configured' });
      expect(plan(US, { override: { serviceLevel: 'standard' } })).toEqual({ problem: 'no carrier with the chosen service level standard delivers to US-NY' });
      expect(plan(US, { override: { carrier: 'ups', serviceLevel: 'letter' } })).toEqual({ problem: 'the chosen service level letter takes parcels up to ups 500 g; this one weighs 1000 g' });
    });
  });

  it('weighs a shipment from its lines', () => {
    expect(shipmentWeightGrams([{ sku: 'TEE', quantity: 3 }, { sku: 'MUG', quantity: 1 }, { sku: 'UNKNOWN', quantity: 9 }], new Map([['TEE', 180], ['MUG', 350]]))).toBe(890);
  });

  it('finds the start of a warehouse\'s local day', () => {
    expect(startOfLocalDay(new Date('2026-01-15T12:00:00Z'), 'America/New_York')).toEqual(new Date('2026-01-15T05:00:00Z'));
    expect(startOfLocalDay(new Date('2026-07-15T02:00:00Z'), 'America/New_York')).toEqual(new Date('2026-07-14T04:00:00Z'));
    expect(startOfLocalDay(new Date('2026-01-15T23:30:00Z'), 'Asia/Tokyo')).toEqual(new Date('2026-01-15T15:00:00Z'));
    expect(startOfLocalDay(new Date('2026-01-15T12:00:00Z'))).toEqual(new Date('2026-01-15T00:00:00Z'));
    expect(startOfLocalDay(new Date('2026-01-15T12:00:00Z'), 'Nowhere/Else')).toBeNull();
  });

  describe('property', () => {
    const ZONES = ['UTC', 'America/New_York', 'America/Los_Angeles', 'Europe/Berlin', 'Asia/Tokyo', 'Australia/Sydney', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'];
    const localToday = (now: Date, timeZone: string) =>
      new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(now);
    const weekday = (date: string) => new Date(`${date}T00:00:00Z`).getUTCDay();
    const days = (from: string, to: string) => (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000;

    it('ships on a weekday, no earlier than today in the warehouse\'s zone, and delivers no earlier than it ships', () => {
      fc.assert(
        fc.property(
          fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2035-12-31T23:59:59Z'), noInvalidDate: true }),
          fc.constantFrom(...ZONES),
          fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 })).map(([h, m]) => `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}`),
          fc.integer({ min: 0, max: 15 }),
          fc.boolean(),
          (now, timeZone, cutoffTime, transitDays, priority) => {
            const result = planDelivery(shipment, US, {
              carriers: [{ code: 'c', name: 'C', services: [{ code: 's', transitDays, express: true }] }],
              warehouse: { cutoffTime, timeZone },
              weightGrams: 100,
              priority,
              now,
            });
            if ('problem' in result) throw new Error(result.problem);
            const today = localToday(now, timeZone);
            expect(result.promisedShipDate >= today).toBe(true);
            expect(days(today, result.promisedShipDate)).toBeLessThanOrEqual(3); // Friday after the cut-off → Monday
            expect([1, 2, 3, 4, 5]).toContain(weekday(result.promisedShipDate));
            expect([1, 2, 3, 4, 5]).toContain(weekday(result.promisedDeliveryDate));
            expect(result.promisedDeliveryDate >= result.promisedShipDate).toBe(true);
            // transit days are business days: at least as many calendar days, at most 7 per 5
            const span = days(result.promisedShipDate, result.promisedDeliveryDate);
            expect(span).toBeGreaterThanOrEqual(transitDays);
            expect(span).toBeLessThanOrEqual(Math.ceil(transitDays / 5) * 7);
          },
        ),
        { numRuns: 2000 },
      );
    });
  });
});

describe('releaseChange', () => {
  const now = new Date('2026-01-15T12:00:00Z');
  const ground: DeliveryPlan = { carrier: 'ups', serviceLevel: 'ground', transitDays: 5, promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-22', rule: 'cheapest' };
  const express: DeliveryPlan = { carrier: 'ups', serviceLevel: '2day', transitDays: 2, promisedShipDate: '2026-01-16', promisedDeliveryDate: '2026-01-20', rule: 'fastest' };

  function allocatedRecord(overrides: Partial<OrderRecord> = {}): OrderRecord {
    const order = anOrder({
      lines: [orderLine('TEE', 2, { name: 'T-shirt black M' }), orderLine('MUG', 1, { name: 'Classic mug' }), orderLine('LAMP', 1, { name: 'Arc lamp' })],
      shippingAddress: shippingAddress('US', 'KY'),
      notes: 'leave at the door',
    });
    return anOrderRecord(order, { status: 'allocated', paymentStatus: 'paid', warehouse: 'us-east', orderNumber: 'HUB-20260115-000042', ...overrides });
  }

  const eastLines: ReservationLine[] = [{ warehouse: 'us-east', sku: 'TEE', quantity: 2 }, { warehouse: 'us-east', sku: 'MUG', quantity: 1 }];
  const oneShipment: ShipmentRelease[] = [{ warehouse: 'us-east', lines: eastLines, delivery: ground }];

  it('releases a paid, allocated order to its warehouse with a complete fulfilment request', () => {
    // given a paid order allocated to us-east, shipping by UPS ground
    const record = allocatedRecord();
    // when it is released
    const change = releaseChange(record, oneShipment, now);
    // then it moves to released, fulfilment requested
    expect(change).toMatchObject({ to: 'released', fulfillmentStatus: 'requested' });
    expect(change!.emit).toHaveLength(1);
    const message = change!.emit[0]!;
    // and one fulfilment request goes to the warehouse's routing key, with every field
    expect(message.type).toBe('fulfillment.requested');
    expect(message.routingKey).toBe('fulfillment.requested.us-east');
    expect(message.data).toEqual({
      orderId: record.id,
      orderNumber: 'HUB-20260115-000042',
      channel: 'shopify',
      externalOrderId: record.externalId,
      warehouse: 'us-east',
      shipmentId: `${record.id}:us-east`,
      lines: [{ sku: 'TEE', quantity: 2, name: 'T-shirt black M' }, { sku: 'MUG', quantity: 1, name: 'Classic mug' }],
      shipTo: { ...record.order.shippingAddress, email: 'ada@example.com' },
      carrier: 'ups',
      serviceLevel: 'ground',
      promisedShipDate: '2026-01-15',
      promisedDeliveryDate: '2026-01-22',
      flags: { gift: false, priority: false, test: false },
      notes: 'leave at the door',
      split: { index: 1, of: 1 },
      requestedAt: '2026-01-15T12:00:00.000Z',
    });
  });

  it('sends one request per warehouse of a split order, each saying which part it is', () => {
    // given the order split between us-east (tees, mug) and us-west (the lamp)
    const record = allocatedRecord();
    const shipments: ShipmentRelease[] = [
      ...oneShipment,
      { warehouse: 'us-west', lines: [{ warehouse: 'us-west', sku: 'LAMP', quantity: 1 }, { warehouse: 'us-east', sku: 'TEE', quantity: 2 }], delivery: express },
    ];
    // when it is released
    const change = releaseChange(record, shipments, now)!;
    // then each warehouse gets its own request, with only its own lines
    expect(change.emit.map((m) => m.routingKey)).toEqual(['fulfillment.requested.us-east', 'fulfillment.requested.us-west']);
    expect(change.emit[0]!.data).toMatchObject({ warehouse: 'us-east', split: { index: 1, of: 2 }, serviceLevel: 'ground' });
    expect(change.emit[1]!.data).toMatchObject({
      warehouse: 'us-west',
      shipmentId: `${record.id}:us-west`,
      lines: [{ sku: 'LAMP', name: 'Arc lamp', quantity: 1 }],
      split: { index: 2, of: 2 },
      serviceLevel: '2day',
      promisedDeliveryDate: '2026-01-20',
    });
    expect(change.timeline).toMatchObject({ type: 'fulfillment.requested', reason: 'released to us-east, us-west (split in 2)' });
  });

  it('does nothing for an allocated order that is not paid', () => {
    const unpaid = paymentStatuses.filter((s): s is PaymentStatus => s !== 'paid' && s !== 'overpaid');
    for (const paymentStatus of unpaid) {
      // given an allocated order whose payment is <paymentStatus>
      // when release is triggered
      // then nothing happens: it waits for its payment
      expect(releaseChange(allocatedRecord({ paymentStatus }), oneShipment, now), paymentStatus).toBeNull();
    }
  });

  it('does nothing for a paid order that is not (or no longer) allocated, or has no shipment', () => {
    const others: OrderStatus[] = ['received', 'validated', 'on_hold', 'backordered', 'ready_to_ship', 'released', 'shipped', 'cancelled'];
    for (const status of others) expect(releaseChange(allocatedRecord({ status }), oneShipment, now), status).toBeNull();
    expect(releaseChange(allocatedRecord(), [], now)).toBeNull();
  });
});

describe('allocationPolicy', () => {
  it('defaults to priority without a split, and carries an operator\'s warehouse', () => {
    expect(allocationPolicy(undefined)).toEqual({ strategy: 'priority', allowSplit: false });
    expect(allocationPolicy({ strategy: 'distance' })).toEqual({ strategy: 'distance', allowSplit: false });
    expect(allocationPolicy({ allowSplit: true }, 'us-west')).toEqual({ strategy: 'priority', allowSplit: true, warehouse: 'us-west' });
  });
});
