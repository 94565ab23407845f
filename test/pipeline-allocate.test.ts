// Allocation and release, given / when / then. Pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { quantitiesBySku, type OrderRecord, type ReservationLine } from '../core/order/record.ts';
import { paymentStatuses, type OrderStatus, type PaymentStatus } from '../core/order/status.ts';
import { planAllocation, type AllocationFacts } from '../core/pipeline/allocate.ts';
import { chooseCarrier, releaseChange, type CarrierChoice } from '../core/pipeline/release.ts';
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

const warehouse = (code: string, priority: number, regions: string[], categories: string[] = []): WarehouseFacts => ({
  code,
  priority,
  regions,
  categories,
});

/** available stock, written `{ warehouse: { sku: n } }` */
function stock(levels: Record<string, Record<string, number>>): Map<string, Map<string, number>> {
  return new Map(Object.entries(levels).map(([w, bySku]) => [w, new Map(Object.entries(bySku))]));
}
function allocationFacts(warehouses: WarehouseFacts[], levels: Record<string, Record<string, number>>): AllocationFacts {
  return { categories: CATEGORIES, warehouses, available: stock(levels) };
}

const US = shippingAddress('US', 'NY');

describe('planAllocation', () => {
  it('picks the lowest priority number among warehouses that hold every line', () => {
    // given three US warehouses: p1 lacks sofas, p2 and p3 hold everything
    const facts = allocationFacts(
      [warehouse('p3', 3, ['US']), warehouse('p1', 1, ['US']), warehouse('p2', 2, ['US'])],
      { p1: { TEE: 10 }, p2: { TEE: 10, SOFA: 1 }, p3: { TEE: 10, SOFA: 10 } },
    );
    // when a tee and a sofa are allocated
    const plan = planAllocation([orderLine('TEE', 2), orderLine('SOFA', 1)], US, facts);
    // then p2 gets the whole order
    expect(plan).toEqual({
      kind: 'single',
      warehouse: 'p2',
      reservations: [{ warehouse: 'p2', sku: 'TEE', quantity: 2 }, { warehouse: 'p2', sku: 'SOFA', quantity: 1 }],
    });
  });

  it('skips warehouses that do not serve the address or do not handle a line\'s category', () => {
    // given a European warehouse and an apparel-only one ahead of a general one
    const facts = allocationFacts(
      [warehouse('eu', 0, ['DE']), warehouse('apparel-only', 1, ['US'], ['apparel']), warehouse('general', 5, ['US'])],
      { eu: { TEE: 9, MUG: 9 }, 'apparel-only': { TEE: 9, MUG: 9 }, general: { TEE: 9, MUG: 9 } },
    );
    // when a tee and a mug go to the US
    const plan = planAllocation([orderLine('TEE', 1), orderLine('MUG', 1)], US, facts);
    // then only the general warehouse may take them
    expect(plan).toMatchObject({ kind: 'single', warehouse: 'general' });
    // and a tee alone goes to the apparel warehouse first
    expect(planAllocation([orderLine('TEE', 1)], US, facts)).toMatchObject({ kind: 'single', warehouse: 'apparel-only' });
  });

  it('serves a subdivision warehouse only to addresses in that subdivision', () => {
    const facts = allocationFacts([warehouse('ky', 0, ['US-KY']), warehouse('us', 9, ['US'])], { ky: { TEE: 5 }, us: { TEE: 5 } });
    expect(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'KY'), facts)).toMatchObject({ warehouse: 'ky' });
    expect(planAllocation([orderLine('TEE', 1)], shippingAddress('US', 'OH'), facts)).toMatchObject({ warehouse: 'us' });
  });

  it('returns none when only a split across warehouses would do', () => {
    // given tees only in one warehouse and sofas only in the other
    const facts = allocationFacts([warehouse('a', 1, ['US']), warehouse('b', 2, ['US'])], { a: { TEE: 5 }, b: { SOFA: 5 } });
    // when an order wants both
    const plan = planAllocation([orderLine('TEE', 1), orderLine('SOFA', 1)], US, facts);
    // then no single warehouse can take it
    expect(plan).toEqual({ kind: 'none', reason: 'no single warehouse holds every line; the order needs a split or new stock' });
  });

  it('returns none, saying why, when no warehouse serving the address handles every line', () => {
    const facts = allocationFacts([warehouse('eu', 1, ['DE'])], { eu: { TEE: 5 } });
    expect(planAllocation([orderLine('TEE', 1)], US, facts)).toEqual({ kind: 'none', reason: 'no warehouse serving the address handles every line' });
  });

  it('sums lines of the same SKU before comparing with stock', () => {
    // given 3 tees in the preferred warehouse and 4 in the next
    const facts = allocationFacts([warehouse('first', 1, ['US']), warehouse('second', 2, ['US'])], { first: { TEE: 3 }, second: { TEE: 4 } });
    // when 2 + 2 tees are ordered on two lines
    const plan = planAllocation([orderLine('TEE', 2), orderLine('TEE', 2)], US, facts);
    // then the second warehouse reserves 4 on one line
    expect(plan).toEqual({ kind: 'single', warehouse: 'second', reservations: [{ warehouse: 'second', sku: 'TEE', quantity: 4 }] });
  });

  it('breaks priority ties by warehouse code, whatever order the warehouses come in', () => {
    const tied = [warehouse('wh-c', 1, ['US']), warehouse('wh-a', 1, ['US']), warehouse('wh-b', 1, ['US'])];
    const levels = { 'wh-a': { TEE: 1 }, 'wh-b': { TEE: 1 }, 'wh-c': { TEE: 1 } };
    fc.assert(
      fc.property(fc.shuffledSubarray(tied, { minLength: 3, maxLength: 3 }), (order) => {
        expect(planAllocation([orderLine('TEE', 1)], US, allocationFacts(order, levels))).toMatchObject({ kind: 'single', warehouse: 'wh-a' });
      }),
    );
  });

  describe('property', () => {
    const SKUS = ['TEE', 'SOFA', 'MUG', 'LAMP'] as const;
    const REGIONS = ['US', 'CA', 'DE', 'US-KY', 'US-OH'] as const;
    const CODES = ['wa', 'wb', 'wc', 'wd', 'we', 'wf'] as const;

    const anyWarehouse = fc.record({
      code: fc.constantFrom(...CODES),
      priority: fc.integer({ min: 0, max: 3 }),
      regions: fc.subarray([...REGIONS], { minLength: 1 }),
      categories: fc.oneof(fc.constant([] as string[]), fc.subarray(['apparel', 'furniture', 'kitchen', 'oversize'], { minLength: 1 })),
    });
    const anyWarehouses = fc.uniqueArray(anyWarehouse, { minLength: 0, maxLength: 6, selector: (w) => w.code });
    const anyLevels = fc.dictionary(
      fc.constantFrom(...CODES),
      fc.dictionary(fc.constantFrom(...SKUS), fc.integer({ min: 0, max: 10 })),
    );
    const anyLines = fc.array(fc.record({ sku: fc.constantFrom(...SKUS), quantity: fc.integer({ min: 1, max: 4 }) }), { minLength: 1, maxLength: 5 });
    const anyAddress = fc.record({
      country: fc.constantFrom('US', 'CA', 'DE', 'FR'),
      region: fc.constantFrom(null, 'KY', 'OH', 'ky'),
    }).map(({ country, region }): Address => shippingAddress(country, region));

    /** the warehouses that may take the whole order at all: serve the address, handle every category */
    function eligible(w: WarehouseFacts, wanted: Map<string, number>, address: Address): boolean {
      const sub = address.region ? `${address.country}-${address.region.toUpperCase()}` : null;
      const serves = w.regions.some((r) => r === address.country || r === sub);
      const handles = [...wanted.keys()].every((sku) => w.categories.length === 0 || w.categories.includes(CATEGORIES.get(sku)!));
      return serves && handles;
    }

    it('when it returns single, that warehouse serves the address, handles the lines, covers every summed SKU, and is the best such', () => {
      fc.assert(
        fc.property(anyWarehouses, anyLevels, anyLines, anyAddress, (warehouses, levels, lines, address) => {
          const facts = allocationFacts(warehouses, levels);
          const wanted = quantitiesBySku(lines);
          const covers = (code: string) => [...wanted].every(([sku, q]) => (levels[code]?.[sku] ?? 0) >= q);
          const able = warehouses.filter((w) => eligible(w, wanted, address) && covers(w.code));
          const plan = planAllocation(lines, address, facts);
          if (plan.kind === 'single') {
            const chosen = warehouses.find((w) => w.code === plan.warehouse)!;
            expect(eligible(chosen, wanted, address)).toBe(true);
            expect(covers(chosen.code)).toBe(true);
            // the reservations are exactly the summed quantities, all in the chosen warehouse
            expect(new Map(plan.reservations.map((r) => [r.sku, r.quantity]))).toEqual(wanted);
            expect(plan.reservations.every((r) => r.warehouse === plan.warehouse)).toBe(true);
            // and nothing preferable could have taken it
            for (const other of able) {
              expect(other.priority > chosen.priority || (other.priority === chosen.priority && other.code >= chosen.code), other.code).toBe(true);
            }
          } else {
            expect(able, 'a warehouse could have taken the whole order').toEqual([]);
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});

describe('releaseChange', () => {
  const now = new Date('2026-01-15T12:00:00Z');
  const ups: CarrierChoice = { carrier: 'ups', serviceLevel: 'ground', transitDays: 5 };

  function allocatedRecord(overrides: Partial<OrderRecord> = {}): OrderRecord {
    const order = anOrder({
      lines: [orderLine('TEE', 2, { name: 'T-shirt black M' }), orderLine('MUG', 1, { name: 'Classic mug' })],
      shippingAddress: shippingAddress('US', 'KY'),
      notes: 'leave at the door',
    });
    return anOrderRecord(order, { status: 'allocated', paymentStatus: 'paid', warehouse: 'us-east', orderNumber: 'HUB-20260115-000042', ...overrides });
  }

  const reservations: ReservationLine[] = [
    { warehouse: 'us-east', sku: 'TEE', quantity: 2 },
    { warehouse: 'us-east', sku: 'MUG', quantity: 1 },
    { warehouse: 'elsewhere', sku: 'LAMP', quantity: 1 },
  ];

  it('releases a paid, allocated order to its warehouse with a complete fulfilment request', () => {
    // given a paid order allocated to us-east
    const record = allocatedRecord();
    // when it is released with UPS ground
    const change = releaseChange(record, reservations, ups, now);
    // then it moves to released, fulfilment requested
    expect(change).toMatchObject({ to: 'released', fulfillmentStatus: 'requested' });
    expect(change!.emit).toHaveLength(1);
    const message = change!.emit[0]!;
    // and one fulfilment request goes to the warehouse's routing key
    expect(message.type).toBe('fulfillment.requested');
    expect(message.routingKey).toBe('fulfillment.requested.us-east');
    // with every field DESIGN.md names, lines only from this warehouse's reservations
    expect(message.data).toMatchObject({
      orderId: record.id,
      orderNumber: 'HUB-20260115-000042',
      channel: 'shopify',
      externalOrderId: record.externalId,
      warehouse: 'us-east',
      lines: [{ sku: 'TEE', quantity: 2, name: 'T-shirt black M' }, { sku: 'MUG', quantity: 1, name: 'Classic mug' }],
      shipTo: { ...record.order.shippingAddress, email: 'ada@example.com' },
      carrier: 'ups',
      serviceLevel: 'ground',
      promisedBy: '2026-01-21',
      notes: 'leave at the door',
    });
    for (const key of ['orderId', 'orderNumber', 'channel', 'externalOrderId', 'warehouse', 'lines', 'shipTo', 'carrier', 'serviceLevel']) {
      expect(message.data, key).toHaveProperty(key);
    }
  });

  it('releases without a carrier when none delivers there, leaving carrier and service level null', () => {
    const change = releaseChange(allocatedRecord(), reservations, null, now);
    expect(change!.emit[0]!.data).toMatchObject({ carrier: null, serviceLevel: null, promisedBy: null });
  });

  it('does nothing for an allocated order that is not paid', () => {
    const unpaid = paymentStatuses.filter((s): s is PaymentStatus => s !== 'paid' && s !== 'overpaid');
    for (const paymentStatus of unpaid) {
      // given an allocated order whose payment is <paymentStatus>
      // when release is triggered
      // then nothing happens: it waits for its payment
      expect(releaseChange(allocatedRecord({ paymentStatus }), reservations, ups, now), paymentStatus).toBeNull();
    }
  });

  it('does nothing for a paid order that is not (or no longer) allocated, or has no warehouse', () => {
    const others: OrderStatus[] = ['received', 'validated', 'on_hold', 'backordered', 'ready_to_ship', 'released', 'shipped', 'cancelled'];
    for (const status of others) expect(releaseChange(allocatedRecord({ status }), reservations, ups, now), status).toBeNull();
    expect(releaseChange(allocatedRecord({ warehouse: null }), reservations, ups, now)).toBeNull();
  });
});

describe('chooseCarrier', () => {
  const carriers: HubConfig['carriers'] = [
    { code: 'ups', name: 'UPS', services: [{ code: 'ground', transitDays: 5 }, { code: '2day', transitDays: 2 }], regions: ['US', 'CA'] },
    { code: 'dhl', name: 'DHL', services: [{ code: 'standard', transitDays: 3 }], regions: ['DE', 'FR'] },
  ];

  it('takes the first carrier that delivers to the country, with its first service', () => {
    expect(chooseCarrier(carriers, 'US')).toEqual({ carrier: 'ups', serviceLevel: 'ground', transitDays: 5 });
    expect(chooseCarrier(carriers, 'CA')).toEqual({ carrier: 'ups', serviceLevel: 'ground', transitDays: 5 });
    expect(chooseCarrier(carriers, 'DE')).toEqual({ carrier: 'dhl', serviceLevel: 'standard', transitDays: 3 });
  });

  it('finds none where no carrier delivers, or when there are no carriers', () => {
    expect(chooseCarrier(carriers, 'JP')).toBeNull();
    expect(chooseCarrier(carriers, '')).toBeNull();
    expect(chooseCarrier([], 'US')).toBeNull();
  });

  it('treats a carrier without regions (or with none listed) as delivering everywhere', () => {
    const withFallback: HubConfig['carriers'] = [...carriers, { code: 'post', name: 'Post', services: [{ code: 'economy', transitDays: 9 }] }];
    expect(chooseCarrier(withFallback, 'JP')).toEqual({ carrier: 'post', serviceLevel: 'economy', transitDays: 9 });
    expect(chooseCarrier(withFallback, 'US')).toMatchObject({ carrier: 'ups' });
    const emptyRegions: HubConfig['carriers'] = [{ code: 'any', name: 'Any', services: [{ code: 'std', transitDays: 4 }], regions: [] }];
    expect(chooseCarrier(emptyRegions, 'BR')).toMatchObject({ carrier: 'any' });
  });
});

