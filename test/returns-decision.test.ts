// The pure part of returns (core/pipeline/returns.ts): which requests are approved and why
// others are not, the money a return pays back (fast-check: any partition of an order into
// returns pays exactly what one return of everything would, never negative, never more than
// was paid), and the exchange order, whose totals add up.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { totalsProblems } from '../core/order/totals.ts';
import {
  allocateByLargestRemainder, decideReturn, everythingBack, exchangeOrderFor, refundFor, returnRequestProblems,
  type ReturnFacts, type ReturnRequest, type ReturnRules,
} from '../core/pipeline/returns.ts';
import type { CanonicalLine, CanonicalOrder } from '../schemas/canonical-order.ts';
import { anOrder, orderLine } from './support/orders.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const daysAgo = (n: number) => new Date(NOW.getTime() - n * 86_400_000);
const rules: ReturnRules = { returnWindowDays: 30, nonReturnableCategories: ['hygiene'] };

function facts(overrides: Partial<ReturnFacts> = {}): ReturnFacts {
  return {
    orderStatus: 'delivered',
    orderLines: [{ sku: 'MUG', quantity: 3 }, { sku: 'SOAP', quantity: 1 }, { sku: 'TEE', quantity: 2 }],
    categories: new Map([['MUG', 'kitchen'], ['SOAP', 'hygiene'], ['TEE', 'apparel']]),
    delivered: new Map([['MUG', 3], ['SOAP', 1], ['TEE', 2]]),
    deliveredAt: daysAgo(5),
    alreadyReturned: new Map(),
    knownSkus: new Set(['MUG', 'SOAP', 'TEE', 'TEE-L']),
    now: NOW,
    ...overrides,
  };
}
const refund = (lines: ReturnRequest['lines'], reason = 'does not fit'): ReturnRequest => ({ kind: 'refund', reason, lines });

describe('deciding a return request', () => {
  it('approves delivered, returnable units inside the window', () => {
    // given a delivered order, when 2 of its 3 mugs are asked back five days later
    const decision = decideReturn(refund([{ sku: 'MUG', quantity: 2 }]), facts(), rules);
    // then it is approved, and says why
    expect(decision).toEqual({ verdict: 'approved', reason: expect.stringContaining('2 unit(s) within the 30-day window') });
  });

  it('rejects outside the window, counted from the delivery', () => {
    expect(decideReturn(refund([{ sku: 'MUG', quantity: 1 }]), facts({ deliveredAt: daysAgo(30) }), rules).verdict).toBe('approved');
    const late = decideReturn(refund([{ sku: 'MUG', quantity: 1 }]), facts({ deliveredAt: daysAgo(31) }), rules);
    expect(late).toEqual({ verdict: 'rejected', reasons: [expect.objectContaining({ code: 'outside_window', message: expect.stringContaining('2026-02-28') })] });
  });

  it('names every reason at once: a non-returnable category, more than delivered, a SKU not on the order, an unknown exchange SKU', () => {
    const request: ReturnRequest = {
      kind: 'exchange', reason: 'wrong size',
      lines: [{ sku: 'SOAP', quantity: 1, exchangeSku: 'MUG' }, { sku: 'TEE', quantity: 3, exchangeSku: 'TEE-XXL' }, { sku: 'HAT', quantity: 1, exchangeSku: 'TEE-L' }],
    };
    const decision = decideReturn(request, facts({ deliveredAt: daysAgo(40) }), rules);
    expect(decision.verdict).toBe('rejected');
    const reasons = decision.verdict === 'rejected' ? decision.reasons : [];
    expect(reasons.map((r) => [r.code, r.sku ?? null])).toEqual([
      ['outside_window', null],
      ['non_returnable', 'SOAP'],
      ['more_than_delivered', 'TEE'],
      ['unknown_exchange_sku', 'TEE'],
      ['unknown_sku', 'HAT'],
    ]);
  });

  it('counts units already on earlier returns, and only what was delivered', () => {
    const partlyShipped = facts({ orderStatus: 'shipped', delivered: new Map([['MUG', 1]]), alreadyReturned: new Map() });
    expect(decideReturn(refund([{ sku: 'MUG', quantity: 1 }]), partlyShipped, rules).verdict).toBe('approved');
    expect(decideReturn(refund([{ sku: 'MUG', quantity: 2 }]), partlyShipped, rules)).toMatchObject({ verdict: 'rejected', reasons: [{ code: 'more_than_delivered', sku: 'MUG' }] });
    const twiceAsked = facts({ alreadyReturned: new Map([['MUG', 2]]) });
    expect(decideReturn(refund([{ sku: 'MUG', quantity: 2 }]), twiceAsked, rules)).toMatchObject({ verdict: 'rejected', reasons: [{ code: 'more_than_delivered', message: expect.stringContaining('2 already returned') }] });
  });

  it('refuses an order nothing of which was delivered', () => {
    const decision = decideReturn(refund([{ sku: 'MUG', quantity: 1 }]), facts({ orderStatus: 'released', delivered: new Map(), deliveredAt: null }), rules);
    expect(decision).toMatchObject({ verdict: 'rejected', reasons: [{ code: 'not_delivered' }] });
  });

  it('finds a malformed request malformed, whatever the order', () => {
    expect(returnRequestProblems(refund([]))).toEqual([{ path: '/lines', message: expect.any(String) }]);
    expect(returnRequestProblems(refund([{ sku: 'MUG', quantity: 1 }, { sku: 'MUG', quantity: 1 }])).map((p) => p.path)).toEqual(['/lines/1/sku']);
    expect(returnRequestProblems({ kind: 'exchange', reason: 'x', lines: [{ sku: 'MUG', quantity: 1 }] }).map((p) => p.path)).toEqual(['/lines/0/exchangeSku']);
    expect(returnRequestProblems(refund([{ sku: 'MUG', quantity: 1, exchangeSku: 'TEE' }])).map((p) => p.path)).toEqual(['/lines/0/exchangeSku']);
    expect(returnRequestProblems(refund([{ sku: 'MUG', quantity: 0 }])).map((p) => p.path)).toEqual(['/lines/0/quantity']);
  });

  it('knows when every delivered unit is back', () => {
    const delivered = new Map([['MUG', 2], ['TEE', 1]]);
    expect(everythingBack(delivered, new Map([['MUG', 2]]))).toBe(false);
    expect(everythingBack(delivered, new Map([['MUG', 2], ['TEE', 1]]))).toBe(true);
    expect(everythingBack(new Map(), new Map())).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------

/** An order whose totals add up (core/order/totals.ts), with line and order-level discounts, tax and shipping. */
const orders = fc.record({
  lines: fc.array(fc.record({
    sku: fc.constantFrom('A', 'B', 'C', 'D'),
    quantity: fc.integer({ min: 1, max: 6 }),
    unitPrice: fc.integer({ min: 0, max: 50_000 }),
    discountPermille: fc.integer({ min: 0, max: 1000 }),
    tax: fc.integer({ min: 0, max: 9_000 }),
  }), { minLength: 1, maxLength: 5 }),
  orderDiscountPermille: fc.integer({ min: 0, max: 1000 }),
  shipping: fc.integer({ min: 0, max: 2_500 }),
  shippingTax: fc.integer({ min: 0, max: 300 }),
  otherCharges: fc.integer({ min: 0, max: 500 }),
  taxIncluded: fc.boolean(),
}).map((g): CanonicalOrder => {
  const lines: CanonicalLine[] = g.lines.map((l, i) => ({
    ...orderLine(l.sku, l.quantity), name: `line ${i}`, unitPrice: l.unitPrice,
    discount: Math.floor((l.unitPrice * l.quantity * l.discountPermille) / 1000), tax: l.tax,
  }));
  const subtotal = lines.reduce((s, l) => s + l.unitPrice * l.quantity, 0);
  const lineDiscounts = lines.reduce((s, l) => s + l.discount, 0);
  const orderDiscount = Math.floor(((subtotal - lineDiscounts) * g.orderDiscountPermille) / 1000);
  const tax = lines.reduce((s, l) => s + l.tax, 0) + g.shippingTax;
  const discounts = lineDiscounts + orderDiscount;
  const grandTotal = subtotal - discounts + g.shipping + (g.taxIncluded ? 0 : tax) + g.otherCharges;
  return anOrder({ lines, totals: { subtotal, discounts, shipping: g.shipping, tax, taxIncluded: g.taxIncluded, otherCharges: g.otherCharges, grandTotal } });
});

/** Every unit of the order, each given to one of up to 4 returns (in the order they come back). */
const partitioned = orders.chain((order) => {
  const units = order.lines.flatMap((l) => Array.from({ length: l.quantity }, () => l.sku));
  return fc.tuple(fc.constant(order), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: units.length, maxLength: units.length }), fc.boolean()).map(([o, parts, shipping]) => {
    const returns: Map<string, number>[] = [new Map(), new Map(), new Map(), new Map()];
    units.forEach((sku, i) => {
      const r = returns[parts[i]!]!;
      r.set(sku, (r.get(sku) ?? 0) + 1);
    });
    return { order: o, returns: returns.filter((r) => r.size > 0).map((r) => [...r].map(([sku, quantity]) => ({ sku, quantity }))), shipping };
  });
});

describe('the money a return pays back', () => {
  it('any partition of an order into returns pays exactly what returning it all at once would', () => {
    fc.assert(fc.property(partitioned, ({ order, returns, shipping }) => {
      const captured = order.totals.grandTotal;
      const whole = refundFor({ order, returning: order.lines, alreadyReturned: [], captured, refunded: 0, refundShippingOnFullReturn: shipping });
      let refunded = 0;
      const back: { sku: string; quantity: number }[] = [];
      for (const returning of returns) {
        const part = refundFor({ order, returning, alreadyReturned: back, captured, refunded, refundShippingOnFullReturn: shipping });
        expect(part.amount).toBeGreaterThanOrEqual(0);
        expect(part.amount).toBeLessThanOrEqual(captured - refunded);
        expect(part.pieces.reduce((s, p) => s + p.goods + p.tax, 0) + part.shipping).toBeGreaterThanOrEqual(part.amount);
        refunded += part.amount;
        back.push(...returning);
      }
      expect(refunded).toBe(whole.amount);
      expect(whole.amount).toBeLessThanOrEqual(order.totals.grandTotal);
      // everything back, shipping included: what was paid, less other charges (tips, duties)
      if (shipping) expect(whole.amount).toBe(order.totals.grandTotal - order.totals.otherCharges);
    }), { numRuns: 400 });
  });

  it('never pays more than was captured less what was refunded, and never a negative amount', () => {
    fc.assert(fc.property(orders, fc.nat({ max: 400_000 }), fc.nat({ max: 400_000 }), (order, captured, refunded) => {
      const result = refundFor({ order, returning: order.lines.slice(0, 1), alreadyReturned: [], captured, refunded, refundShippingOnFullReturn: true });
      expect(result.amount).toBeGreaterThanOrEqual(0);
      expect(result.amount).toBeLessThanOrEqual(Math.max(0, Math.min(captured, order.totals.grandTotal) - refunded));
    }));
  });

  it('spreads an order-level discount over the lines without losing or inventing a minor unit', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 12 }), (total, weights) => {
      const shares = allocateByLargestRemainder(total, weights);
      const sum = weights.reduce((a, b) => a + b, 0n);
      expect(shares.reduce((a, b) => a + b, 0n)).toBe(sum === 0n ? 0n : total);
      shares.forEach((share, i) => {
        if (sum === 0n) return expect(share).toBe(0n);
        const exact = (total * weights[i]!) / sum; // floor of the exact share
        expect(share === exact || share === exact + 1n).toBe(true);
      });
    }));
  });

  it('a worked example: two lines, 10 % off the order, tax on top, shipping back with the last unit', () => {
    // 2 × 1000 (tax 160) and 1 × 500 (tax 40), 250 off the order, 499 shipping: 2500 − 250 + 499 + 200 = 2949
    const order = anOrder({
      lines: [orderLine('MUG', 2, { unitPrice: 1000, tax: 160 }), orderLine('TEE', 1, { unitPrice: 500, tax: 40 })],
      totals: { subtotal: 2500, discounts: 250, shipping: 499, tax: 200, taxIncluded: false, otherCharges: 0, grandTotal: 2949 },
    });
    const base = { order, captured: 2949, refundShippingOnFullReturn: true };
    // the mugs carry 200 of the discount, the tee 50; one mug is (2000 − 200) / 2 + 160 / 2 = 980
    const first = refundFor({ ...base, returning: [{ sku: 'MUG', quantity: 1 }], alreadyReturned: [], refunded: 0 });
    expect(first).toMatchObject({ amount: 980, shipping: 0, pieces: [{ sku: 'MUG', quantity: 1, goods: 900, tax: 80 }] });
    const rest = refundFor({ ...base, returning: [{ sku: 'MUG', quantity: 1 }, { sku: 'TEE', quantity: 1 }], alreadyReturned: [{ sku: 'MUG', quantity: 1 }], refunded: 980 });
    expect(rest).toMatchObject({ amount: 2949 - 980, shipping: 499 });
    // without shipping refunds, the last return pays the goods only
    expect(refundFor({ ...base, refundShippingOnFullReturn: false, returning: order.lines, alreadyReturned: [], refunded: 0 }).amount).toBe(2450);
  });

  it('a SKU on two lines at two prices: returned units fill the first line first', () => {
    const order = anOrder({ lines: [orderLine('MUG', 1, { unitPrice: 1000 }), orderLine('MUG', 2, { unitPrice: 400 })] });
    const two = refundFor({ order, returning: [{ sku: 'MUG', quantity: 2 }], alreadyReturned: [], captured: 1800, refunded: 0, refundShippingOnFullReturn: true });
    expect(two.pieces.map((p) => [p.line, p.quantity, p.goods])).toEqual([[0, 1, 1000], [1, 1, 400]]);
  });
});

describe('the exchange order', () => {
  it('adds up (core/order/totals.ts) to exactly what the returned units were worth, and is paid', () => {
    fc.assert(fc.property(partitioned, ({ order, returns }) => {
      const returning = returns[0]!;
      const { pieces } = refundFor({ order, returning, alreadyReturned: [], captured: Number.MAX_SAFE_INTEGER, refunded: 0, refundShippingOnFullReturn: false });
      const exchange = exchangeOrderFor(order, { id: 'HUB-20260301-00000001-R1', orderNumber: 'HUB-20260301-00000001' }, pieces, new Map([['A', 'A2']]), new Map([['A2', 'A, other size']]), NOW);
      expect(totalsProblems(exchange)).toEqual([]);
      expect(exchange.totals.grandTotal).toBe(pieces.reduce((s, p) => s + p.goods + p.tax, 0));
      expect(exchange.lines.reduce((s, l) => s + l.quantity, 0)).toBe(returning.reduce((s, l) => s + l.quantity, 0));
      expect(exchange.lines.every((l) => l.sku !== 'A')).toBe(true);
      expect(exchange.payment).toMatchObject({ provider: 'exchange', status: 'paid' });
      expect(exchange).toMatchObject({ externalId: 'HUB-20260301-00000001-R1', currency: order.currency, customer: order.customer, shippingAddress: order.shippingAddress });
    }), { numRuns: 200 });
  });
});
