import type { InputProblem } from '../errors.ts';
import type { OrderStatus } from '../order/status.ts';
import type { CanonicalLine, CanonicalOrder } from '../../schemas/canonical-order.ts';

/**
 * Returns and exchanges (RMA), the pure part: whether a request is approved, what it
 * refunds, and the exchange order it becomes. No I/O and no clock: the adapter
 * (core/stages/returns.ts) reads the facts under the order's lock and passes `now` in.
 */

export const returnKinds = ['refund', 'exchange'] as const;
export type ReturnKind = (typeof returnKinds)[number];

/**
 * An RMA's life: `requested` (only for an instant, inside the request's transaction) →
 * `approved` or `rejected`; `approved` → `in_transit` once the customer has a label;
 * `received` when the warehouse inspected the goods → `refunded` or `exchanged`.
 */
export const returnStatuses = ['requested', 'approved', 'rejected', 'in_transit', 'received', 'refunded', 'exchanged'] as const;
export type ReturnStatus = (typeof returnStatuses)[number];

/** RMAs whose goods the warehouse may still receive. */
export const receivableReturnStatuses: readonly ReturnStatus[] = ['approved', 'in_transit'];

export interface ReturnRequestLine {
  sku: string;
  quantity: number;
  /** what the customer wants instead (exchange only) */
  exchangeSku?: string;
}

/** What a customer (or an operator for them) asks for. */
export interface ReturnRequest {
  kind: ReturnKind;
  reason: string;
  lines: ReturnRequestLine[];
  /** the same key again returns the RMA made the first time */
  idempotencyKey?: string;
}

/** Units per SKU. */
export type Units = ReadonlyMap<string, number>;

/** What the decision needs to know about the order, read by the adapter. */
export interface ReturnFacts {
  orderStatus: OrderStatus;
  /** the order's lines (the same SKU may appear on several) */
  orderLines: readonly { sku: string; quantity: number }[];
  /** product category per SKU of the order */
  categories: ReadonlyMap<string, string>;
  /** units handed to the customer per SKU */
  delivered: Units;
  /** when the (last) delivery happened; null when nothing was delivered */
  deliveredAt: Date | null;
  /** units already on earlier RMAs of the order that were not rejected */
  alreadyReturned: Units;
  /** every SKU the catalog knows (exchange SKUs must be among them) */
  knownSkus: ReadonlySet<string>;
  now: Date;
}

export interface ReturnRules {
  returnWindowDays: number;
  nonReturnableCategories: readonly string[];
}

export type ReturnRejectionCode =
  | 'not_delivered'
  | 'outside_window'
  | 'unknown_sku'
  | 'non_returnable'
  | 'more_than_delivered'
  | 'unknown_exchange_sku';

/** One reason a request is refused; `sku` names the line when the reason is about one. */
export interface ReturnRejection {
  code: ReturnRejectionCode;
  sku?: string;
  message: string;
}

export type ReturnDecision =
  | { verdict: 'approved'; reason: string }
  | { verdict: 'rejected'; reasons: ReturnRejection[] };

/** Orders from which goods can have reached the customer. */
const RETURNABLE_FROM: readonly OrderStatus[] = ['shipped', 'delivered', 'completed'];
const DAY_MS = 86_400_000;

/**
 * What is malformed in a request itself, whatever the order: these are the caller's
 * mistakes (a 400), not reasons to refuse a return. No lines, a SKU twice, an exchange
 * line without the SKU wanted instead, a refund line naming one.
 */
export function returnRequestProblems(request: ReturnRequest): InputProblem[] {
  const problems: InputProblem[] = [];
  if (request.lines.length === 0) problems.push({ path: '/lines', message: 'must name at least one line' });
  const seen = new Set<string>();
  request.lines.forEach((line, i) => {
    if (seen.has(line.sku)) problems.push({ path: `/lines/${i}/sku`, message: `${line.sku} is named twice; put its units on one line` });
    seen.add(line.sku);
    if (!Number.isSafeInteger(line.quantity) || line.quantity < 1) problems.push({ path: `/lines/${i}/quantity`, message: 'must be a whole number of at least 1' });
    if (request.kind === 'exchange' && !line.exchangeSku) problems.push({ path: `/lines/${i}/exchangeSku`, message: 'an exchange names the SKU wanted instead' });
    if (request.kind === 'refund' && line.exchangeSku) problems.push({ path: `/lines/${i}/exchangeSku`, message: 'only an exchange names a SKU wanted instead' });
  });
  return problems;
}

/**
 * Decides a (well-formed) return request against the order and the rules. Every reason to
 * refuse is listed, so the customer hears all of them at once: nothing delivered yet,
 * outside the return window (counted from the delivery), a SKU not on the order, a
 * non-returnable category, more units than were delivered minus those already on earlier
 * RMAs, an exchange SKU the catalog does not know.
 */
export function decideReturn(request: ReturnRequest, facts: ReturnFacts, rules: ReturnRules): ReturnDecision {
  const reasons: ReturnRejection[] = [];
  const deliveredUnits = [...facts.delivered.values()].reduce((a, b) => a + b, 0);
  const returnable = RETURNABLE_FROM.includes(facts.orderStatus) && deliveredUnits > 0 && facts.deliveredAt !== null;
  if (!returnable) {
    reasons.push({
      code: 'not_delivered',
      message: facts.orderStatus === 'returned' ? 'every unit of the order has come back already' : `nothing of the order has been delivered yet (it is ${facts.orderStatus})`,
    });
  } else if (facts.deliveredAt !== null) {
    const closes = facts.deliveredAt.getTime() + rules.returnWindowDays * DAY_MS;
    if (facts.now.getTime() > closes) {
      reasons.push({
        code: 'outside_window',
        message: `the ${rules.returnWindowDays}-day return window closed on ${new Date(closes).toISOString().slice(0, 10)} (delivered ${facts.deliveredAt.toISOString().slice(0, 10)})`,
      });
    }
  }
  const onOrder = new Set(facts.orderLines.map((l) => l.sku));
  const nonReturnable = new Set(rules.nonReturnableCategories);
  for (const line of request.lines) {
    if (!onOrder.has(line.sku)) {
      reasons.push({ code: 'unknown_sku', sku: line.sku, message: `${line.sku} is not on the order` });
    } else {
      const category = facts.categories.get(line.sku);
      if (category !== undefined && nonReturnable.has(category)) {
        reasons.push({ code: 'non_returnable', sku: line.sku, message: `${line.sku} is in category ${category}, which cannot be returned` });
      }
      const open = (facts.delivered.get(line.sku) ?? 0) - (facts.alreadyReturned.get(line.sku) ?? 0);
      if (returnable && line.quantity > open) {
        reasons.push({
          code: 'more_than_delivered', sku: line.sku,
          message: `${line.quantity} × ${line.sku} asked back, but ${Math.max(open, 0)} can be (${facts.delivered.get(line.sku) ?? 0} delivered, ${facts.alreadyReturned.get(line.sku) ?? 0} already returned)`,
        });
      }
    }
    if (request.kind === 'exchange' && line.exchangeSku !== undefined && !facts.knownSkus.has(line.exchangeSku)) {
      reasons.push({ code: 'unknown_exchange_sku', sku: line.sku, message: `${line.exchangeSku}, wanted instead of ${line.sku}, is not a product` });
    }
  }
  if (reasons.length > 0) return { verdict: 'rejected', reasons };
  const units = request.lines.reduce((sum, l) => sum + l.quantity, 0);
  return { verdict: 'approved', reason: `${units} unit(s) within the ${rules.returnWindowDays}-day window, ${request.kind === 'exchange' ? 'to exchange' : 'for a refund'}` };
}

// ---------------------------------------------------------------------------------------
// Money
// ---------------------------------------------------------------------------------------

/** The part of one order line a return takes back, in minor units of the order's currency. */
export interface ReturnedPiece {
  /** index of the order line */
  line: number;
  sku: string;
  quantity: number;
  unitPrice: number;
  /** what the units cost after their share of line and order discounts, tax excluded */
  goods: number;
  /** their tax (0 when prices include it: it is inside `goods` then) */
  tax: number;
}

export interface RefundInput {
  order: Pick<CanonicalOrder, 'lines' | 'totals'>;
  /** units coming back now */
  returning: readonly { sku: string; quantity: number }[];
  /** units that came back before (earlier RMAs, refunded or exchanged) */
  alreadyReturned: readonly { sku: string; quantity: number }[];
  /** money captured for the order, minor units */
  captured: number;
  /** money already refunded for the order, minor units */
  refunded: number;
  refundShippingOnFullReturn: boolean;
}

export interface Refund {
  /** what to pay back now */
  amount: number;
  pieces: ReturnedPiece[];
  /** shipping (and tax not on any line) paid back because this return completes the order's */
  shipping: number;
  /** true when what was paid, less earlier refunds, cut the amount down */
  capped: boolean;
}

/**
 * Splits `total` over `weights` in proportion, in whole units, losing and inventing none
 * (largest remainder; ties to the earlier weight). All zero weights share nothing.
 */
export function allocateByLargestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  const sum = weights.reduce((a, b) => a + b, 0n);
  if (sum === 0n || total === 0n) return weights.map(() => 0n);
  const shares = weights.map((w) => (total * w) / sum);
  const remainders = weights.map((w, i) => ({ i, r: (total * w) % sum }));
  let left = total - shares.reduce((a, b) => a + b, 0n);
  remainders.sort((a, b) => (a.r === b.r ? a.i - b.i : a.r > b.r ? -1 : 1));
  for (const { i } of remainders) {
    if (left === 0n) break;
    shares[i] = shares[i]! + 1n;
    left -= 1n;
  }
  return shares;
}

/** What each order line cost the customer in all (goods after discounts, and tax), as BigInt. */
function lineValues(order: RefundInput['order']): { goods: bigint; tax: bigint }[] {
  const t = order.totals;
  const nets = order.lines.map((l) => {
    const net = BigInt(l.unitPrice) * BigInt(l.quantity) - BigInt(l.discount);
    return net > 0n ? net : 0n;
  });
  const lineDiscounts = order.lines.reduce((sum, l) => sum + BigInt(l.discount), 0n);
  const orderDiscount = BigInt(t.discounts) - lineDiscounts;
  const totalNet = nets.reduce((a, b) => a + b, 0n);
  // An order-level discount larger than the goods (free shipping as a discount) takes the
  // goods to zero; the rest of it came off the shipping, which the remainder accounts for.
  const spread = orderDiscount <= 0n ? 0n : orderDiscount < totalNet ? orderDiscount : totalNet;
  const shares = allocateByLargestRemainder(spread, nets);
  return order.lines.map((l, i) => ({ goods: nets[i]! - shares[i]!, tax: t.taxIncluded ? 0n : BigInt(l.tax) }));
}

/** Units per order line when `units` per SKU fill the SKU's lines in order, each up to its quantity. */
function unitsPerLine(lines: readonly Pick<CanonicalLine, 'sku' | 'quantity'>[], units: Units): number[] {
  const left = new Map(units);
  return lines.map((line) => {
    const n = Math.min(line.quantity, Math.max(0, left.get(line.sku) ?? 0));
    left.set(line.sku, (left.get(line.sku) ?? 0) - n);
    return n;
  });
}

function unitsBySku(lines: readonly { sku: string; quantity: number }[]): Map<string, number> {
  const units = new Map<string, number>();
  for (const l of lines) units.set(l.sku, (units.get(l.sku) ?? 0) + Math.max(0, l.quantity));
  return units;
}

/** The first `n` of `quantity` units' share of `value`, rounded down: shares of later units telescope. */
const cumulative = (value: bigint, n: number, quantity: number): bigint => (quantity === 0 ? 0n : (value * BigInt(n)) / BigInt(quantity));

/**
 * The money for goods coming back, in integer minor units: each returned unit's share of
 * what its line cost after line and order-level discounts (spread over the lines by largest
 * remainder), plus its tax when prices exclude tax. Unit shares are cumulative — the first
 * k units of a line are worth ⌊value × k / quantity⌋ — so returns in any number of parts
 * add up to exactly what returning everything at once would. Shipping (and tax not on any
 * line) goes back only with the return that brings the last unit of the order home, and
 * only when the config says so. Never more than was paid less what was refunded already,
 * never negative.
 */
export function refundFor(input: RefundInput): Refund {
  const { order } = input;
  const values = lineValues(order);
  const before = unitsPerLine(order.lines, unitsBySku(input.alreadyReturned));
  const combined = unitsBySku(input.alreadyReturned);
  for (const [sku, n] of unitsBySku(input.returning)) combined.set(sku, (combined.get(sku) ?? 0) + n);
  const after = unitsPerLine(order.lines, combined);

  const pieces: ReturnedPiece[] = [];
  let goodsBack = 0n;
  order.lines.forEach((line, i) => {
    const quantity = after[i]! - before[i]!;
    if (quantity <= 0) return;
    const v = values[i]!;
    const goods = cumulative(v.goods, after[i]!, line.quantity) - cumulative(v.goods, before[i]!, line.quantity);
    const tax = cumulative(v.tax, after[i]!, line.quantity) - cumulative(v.tax, before[i]!, line.quantity);
    goodsBack += goods + tax;
    pieces.push({ line: i, sku: line.sku, quantity, unitPrice: line.unitPrice, goods: Number(goods), tax: Number(tax) });
  });

  const units = order.lines.reduce((sum, l) => sum + l.quantity, 0);
  const unitsBefore = before.reduce((a, b) => a + b, 0);
  const unitsAfter = after.reduce((a, b) => a + b, 0);
  let shipping = 0n;
  if (input.refundShippingOnFullReturn && unitsAfter === units && unitsBefore < units) {
    // What was paid for anything but the goods and other charges: shipping after whatever
    // discount the goods could not absorb, and tax not on a line (shipping tax).
    const t = order.totals;
    const allGoods = values.reduce((sum, v) => sum + v.goods + v.tax, 0n);
    const rest = BigInt(t.grandTotal) - BigInt(t.otherCharges) - allGoods;
    shipping = rest > 0n ? rest : 0n;
  }
  const owed = goodsBack + shipping;
  const paid = BigInt(Math.min(input.captured, order.totals.grandTotal)) - BigInt(input.refunded);
  const room = paid > 0n ? paid : 0n;
  const amount = owed < room ? owed : room;
  return { amount: Number(amount), pieces, shipping: Number(shipping), capped: amount < owed };
}

// ---------------------------------------------------------------------------------------
// Exchange
// ---------------------------------------------------------------------------------------

/**
 * The exchange order: the SKUs wanted instead of the units that came back, to the same
 * customer and address, through the same channel, under the RMA number as its external id.
 * It is already paid — by the returned goods — which it shows as a price, not as a gift:
 * each line keeps the returned line's unit price, with a discount that brings it to what
 * the customer actually paid for those units, and their tax. So its totals add up (see
 * core/order/totals.ts) to exactly the goods' value, the payment says `paid` with provider
 * `exchange`, and the pipeline validates, allocates and releases it like any paid order.
 * A price difference between the two products is not charged or refunded here.
 */
export function exchangeOrderFor(
  original: CanonicalOrder,
  rma: { id: string; orderNumber: string },
  pieces: readonly ReturnedPiece[],
  exchangeSkuOf: ReadonlyMap<string, string>,
  productNames: ReadonlyMap<string, string>,
  now: Date,
): CanonicalOrder {
  const lines: CanonicalLine[] = pieces.map((p) => {
    const sku = exchangeSkuOf.get(p.sku) ?? p.sku;
    const gross = p.unitPrice * p.quantity;
    return {
      externalLineId: null, sku, channelSku: null, name: productNames.get(sku) ?? sku,
      quantity: p.quantity, unitPrice: p.unitPrice, discount: Math.max(0, gross - p.goods), tax: p.tax,
    };
  });
  const subtotal = lines.reduce((sum, l) => sum + l.unitPrice * l.quantity, 0);
  const discounts = lines.reduce((sum, l) => sum + l.discount, 0);
  const tax = lines.reduce((sum, l) => sum + l.tax, 0);
  const taxIncluded = original.totals.taxIncluded;
  // Neither store credit (it would be held again) nor cash on delivery (nothing is owed).
  const method = original.payment.method === 'store_credit' || original.payment.method === 'cash_on_delivery' ? 'unknown' : original.payment.method;
  return {
    channel: original.channel,
    externalId: rma.id,
    externalNumber: null,
    placedAt: `${now.toISOString().slice(0, 19)}Z`,
    currency: original.currency,
    customer: original.customer,
    lines,
    totals: { subtotal, discounts, shipping: 0, tax, taxIncluded, otherCharges: 0, grandTotal: subtotal - discounts + (taxIncluded ? 0 : tax) },
    shippingAddress: original.shippingAddress,
    billingAddress: original.billingAddress,
    payment: { method, provider: 'exchange', status: 'paid' },
    notes: `exchange for return ${rma.id} of order ${rma.orderNumber}`,
    client: null,
    tags: ['exchange', `rma:${rma.id}`],
    flags: { gift: false, priority: original.flags.priority, test: original.flags.test },
  };
}

/**
 * Whether every unit delivered has come back: `received` (all RMAs' received units, this
 * one's included) covers `delivered` for every SKU.
 */
export function everythingBack(delivered: Units, received: Units): boolean {
  let any = false;
  for (const [sku, n] of delivered) {
    if (n <= 0) continue;
    any = true;
    if ((received.get(sku) ?? 0) < n) return false;
  }
  return any;
}
