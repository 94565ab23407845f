// Validation rules, given / when / then. Pure.
import { describe, expect, it } from 'vitest';
import { validateOrder, validationChange, type ValidationFacts } from '../core/pipeline/validate.ts';
import type { WarehouseFacts } from '../core/pipeline/warehouses.ts';
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
function validationFacts(warehouses: WarehouseFacts[], levels: Record<string, Record<string, number>>): ValidationFacts {
  return { categories: CATEGORIES, warehouses, available: stock(levels) };
}

const US = shippingAddress('US', 'NY');

describe('validateOrder', () => {
  const network = [warehouse('us-east', 1, ['US', 'CA'], ['apparel', 'furniture']), warehouse('us-west', 2, ['US'])];

  it('holds an order with unknown SKUs as unknown_sku, listing each unknown SKU once', () => {
    // given an order with two SKUs the hub does not know, one of them on two lines
    const order = anOrder({ lines: [orderLine('TEE', 1), orderLine('NOPE-1', 1), orderLine('NOPE-2', 3), orderLine('NOPE-1', 2)] });
    // when it is validated
    const verdict = validateOrder(order, validationFacts(network, { 'us-east': { TEE: 10 } }));
    // then it waits for a person, and the exception names both SKUs
    expect(verdict).toMatchObject({ verdict: 'hold', exception: 'unknown_sku', details: { skus: ['NOPE-1', 'NOPE-2'] } });
    expect(verdict.verdict === 'hold' && verdict.reason).toBe('unknown SKUs: NOPE-1, NOPE-2');
  });

  it('checks SKUs before the address: an unknown SKU without an address is still unknown_sku', () => {
    const order = anOrder({ lines: [orderLine('NOPE', 1)], shippingAddress: null });
    expect(validateOrder(order, validationFacts(network, {}))).toMatchObject({ verdict: 'hold', exception: 'unknown_sku' });
  });

  it('holds an order without a shipping address as address_invalid', () => {
    // given an order of known SKUs with no shipping address
    const order = anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: null });
    // when it is validated
    const verdict = validateOrder(order, validationFacts(network, { 'us-east': { TEE: 10 } }));
    // then
    expect(verdict).toMatchObject({ verdict: 'hold', exception: 'address_invalid' });
  });

  it('holds an order to a country no warehouse serves as address_unserved', () => {
    // given an order shipping to Japan, where no warehouse delivers
    const order = anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: shippingAddress('JP') });
    // when
    const verdict = validateOrder(order, validationFacts(network, { 'us-east': { TEE: 10 } }));
    // then
    expect(verdict).toMatchObject({ verdict: 'hold', exception: 'address_unserved', details: { country: 'JP' } });
  });

  it('matches a subdivision region (US-KY) against an address with region KY, in any case', () => {
    // given a warehouse that delivers only within Kentucky
    const kentucky = [warehouse('ky-local', 1, ['US-KY'])];
    const facts = validationFacts(kentucky, { 'ky-local': { TEE: 5 } });
    // when orders to Kentucky (KY, ky) and Tennessee are validated
    const toKy = validateOrder(anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: shippingAddress('US', 'KY') }), facts);
    const toKyLower = validateOrder(anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: shippingAddress('US', 'ky') }), facts);
    const toTn = validateOrder(anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: shippingAddress('US', 'TN') }), facts);
    const noRegion = validateOrder(anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: shippingAddress('US', null) }), facts);
    // then Kentucky is served, the others are not
    expect(toKy).toEqual({ verdict: 'valid' });
    expect(toKyLower).toEqual({ verdict: 'valid' });
    expect(toTn).toMatchObject({ verdict: 'hold', exception: 'address_unserved' });
    expect(noRegion).toMatchObject({ verdict: 'hold', exception: 'address_unserved' });
  });

  it('counts stock only in warehouses that serve the address and handle the category', () => {
    // given MUG (kitchen) stock in three warehouses: us-east does not handle kitchen,
    // eu-central does not deliver to the US, only us-west counts for a US order
    const warehouses = [...network, warehouse('eu-central', 1, ['DE', 'FR'])];
    const facts = validationFacts(warehouses, { 'us-east': { MUG: 100 }, 'us-west': { MUG: 3 }, 'eu-central': { MUG: 100 } });
    // when orders of 3 and of 4 mugs to the US are validated
    const three = validateOrder(anOrder({ lines: [orderLine('MUG', 3)], shippingAddress: US }), facts);
    const four = validateOrder(anOrder({ lines: [orderLine('MUG', 4)], shippingAddress: US }), facts);
    // then 3 is fine, 4 is short with 3 available
    expect(three).toEqual({ verdict: 'valid' });
    expect(four).toMatchObject({ verdict: 'backorder', shortages: [{ sku: 'MUG', wanted: 4, available: 3 }] });
  });

  it('adds up stock across every warehouse that may serve the order', () => {
    // given 2 tees in each US warehouse
    const facts = validationFacts(network, { 'us-east': { TEE: 2 }, 'us-west': { TEE: 2 } });
    // when 4 and 5 tees are ordered
    // then 4 are there in total (validation does not insist on one warehouse), 5 are not
    expect(validateOrder(anOrder({ lines: [orderLine('TEE', 4)], shippingAddress: US }), facts)).toEqual({ verdict: 'valid' });
    expect(validateOrder(anOrder({ lines: [orderLine('TEE', 5)], shippingAddress: US }), facts))
      .toMatchObject({ verdict: 'backorder', shortages: [{ sku: 'TEE', wanted: 5, available: 4 }] });
  });

  it('backorders a shortage with the right shortages, lines of the same SKU summed', () => {
    // given 4 tees and 1 sofa in stock for the US
    const facts = validationFacts(network, { 'us-east': { TEE: 4, SOFA: 1 } });
    // when an order asks for 3 + 2 tees, 1 sofa and 2 mugs (none stocked for the US)
    const order = anOrder({ lines: [orderLine('TEE', 3), orderLine('SOFA', 1), orderLine('TEE', 2), orderLine('MUG', 2)], shippingAddress: US });
    const verdict = validateOrder(order, facts);
    // then the tee and the mug are short, the sofa is not
    expect(verdict).toEqual({
      verdict: 'backorder',
      reason: 'not enough stock for TEE, MUG',
      shortages: [{ sku: 'TEE', wanted: 5, available: 4 }, { sku: 'MUG', wanted: 2, available: 0 }],
    });
  });

  it('never counts negative availability against other warehouses', () => {
    // given a (corrupt) negative availability in one warehouse
    const facts = validationFacts(network, { 'us-east': { TEE: -5 }, 'us-west': { TEE: 3 } });
    // then it counts as zero, not as minus five
    expect(validateOrder(anOrder({ lines: [orderLine('TEE', 3)], shippingAddress: US }), facts)).toEqual({ verdict: 'valid' });
  });

  it('turns each verdict into the matching change: validated, on_hold + exception, backordered + stock_shortage', () => {
    const record = anOrderRecord();
    expect(validationChange(record, { verdict: 'valid' })).toMatchObject({ to: 'validated', emit: [{ type: 'order.validated' }] });
    expect(validationChange(record, { verdict: 'hold', exception: 'unknown_sku', reason: 'unknown SKU: X', details: { skus: ['X'] } }))
      .toMatchObject({ to: 'on_hold', exception: { type: 'unknown_sku', details: { skus: ['X'] } } });
    const shortages = [{ sku: 'TEE', wanted: 5, available: 4 }];
    expect(validationChange(record, { verdict: 'backorder', reason: 'short', shortages })).toMatchObject({
      to: 'backordered',
      exception: { type: 'stock_shortage', details: { shortages } },
      emit: [{ type: 'order.backordered', data: { orderId: record.id, shortages, remedies: ['wait', 'ship_available', 'cancel'] } }],
    });
  });
});

