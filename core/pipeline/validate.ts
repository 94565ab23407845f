import type { CanonicalOrder } from '../../schemas/canonical-order.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { formatMinorUnits } from '../money.ts';
import { quantitiesBySku, type OrderChange, type OrderRecord } from '../order/record.ts';
import { checkPostalCode, postalCodeFormats } from './postal-codes.ts';
import { handlesCategory, servesAddress, type WarehouseFacts } from './warehouses.ts';
import { looksLikeEmail, looksLikePhone, notification, shortageReason } from './notify.ts';

/** What validation knows of the customer, from the hub's own records. */
export interface CustomerFacts {
  /** orders the customer placed before this one (rejected and cancelled ones not counted) */
  previousOrders: number;
  /** the store credit not yet held for other orders; null when the customer has no account */
  storeCredit: { balance: number; currency: string } | null;
}

/** What validation reads from the database about the order's SKUs, the warehouses and the customer. */
export interface ValidationFacts {
  /** category by SKU, for the SKUs the hub knows */
  categories: ReadonlyMap<string, string>;
  warehouses: readonly WarehouseFacts[];
  /** available (on hand − reserved) by warehouse, then SKU */
  available: ReadonlyMap<string, ReadonlyMap<string, number>>;
  customer: CustomerFacts;
}

/** What validation reads from the config: the order's channel, its price tolerance and the rules (absent = none). */
export interface ValidationSettings {
  channel: string;
  /** how far the totals may be off, in minor units (the channel's `priceTolerance`, 0 when unset) */
  priceTolerance: number;
  rules: HubConfig['validation'];
  /**
   * hold rules a person waived for this order by approving its review (the exception
   * desk's `approve_review`): they hold it no more. Rejections are never waived.
   */
  waivedRules?: readonly string[];
}

export interface Shortage { sku: string; wanted: number; available: number }

/**
 * What validation decided, with the rules that decided it:
 * - `valid`: every rule passed; `creditHold` is the store credit to hold (null: none);
 * - `reject`: the order cannot go on; `remedies` are what the customer can do instead;
 * - `hold`: a person must look; `exception` is the exception to open;
 * - `backorder`: the stock is not there (yet).
 */
export type Verdict =
  | { verdict: 'valid'; creditHold: number | null }
  | { verdict: 'reject'; rules: string[]; reason: string; remedies: string[] }
  | { verdict: 'hold'; rules: string[]; exception: string; reason: string; details: Record<string, unknown> }
  | { verdict: 'backorder'; rules: ['stock']; reason: string; shortages: Shortage[]; remedies: ('wait' | 'ship_available' | 'cancel')[] };

type Rules = NonNullable<HubConfig['validation']>;

/** What one rule found wrong. */
type Finding =
  | { outcome: 'reject'; rule: string; reason: string; remedies: string[] }
  | { outcome: 'hold'; rule: string; exception: string; reason: string; details: Record<string, unknown> };

const reject = (rule: string, reason: string, remedies: string[] = []): Finding => ({ outcome: 'reject', rule, reason, remedies });
const hold = (rule: string, exception: string, reason: string, details: Record<string, unknown>): Finding =>
  ({ outcome: 'hold', rule, exception, reason, details });

/**
 * Validates an order against every rule and combines what they found:
 * any rejection wins (every rejecting rule listed), else any hold (every hold listed; the
 * exception is the first one's, the others are in `details.otherExceptions`), else a
 * stock shortage backorders the order, else it is valid.
 *
 * Rules that reject: `contact` (a known customer, or a guest with an email that looks like
 * one or a phone of 7+ digits; on when `validation` is configured, unless
 * `requireContact: false`), `block_list`, `payment_method`, `cash_on_delivery`,
 * `store_credit` (always: the balance must cover the total).
 * Rules that hold, in this order, which is the order of the exceptions: `risk`
 * (`risk_review`, first so that nobody contacts a customer under review), `catalog`
 * (`unknown_sku`), `address` (`address_invalid` when missing, `address_unserved`),
 * `postal_code` (`address_invalid`; built-in formats always, see postal-codes.ts),
 * `price` (`price_mismatch`; always, within the channel's tolerance).
 * Never throws, for any canonical order and any config the config schema accepts.
 */
export function validateOrder(order: CanonicalOrder, facts: ValidationFacts, settings: ValidationSettings): Verdict {
  const rules = settings.rules;
  const findings: Finding[] = [
    ...contactRule(order, rules),
    ...blockListRule(order, rules?.blockList),
    ...paymentMethodRule(order, settings.channel, rules?.payment),
    ...cashOnDeliveryRule(order, rules?.payment?.cashOnDelivery),
    ...storeCreditRule(order, facts.customer),
    ...riskRule(order, facts.customer, rules?.risk),
    ...catalogRule(order, facts),
    ...addressRule(order, facts),
    ...postalCodeRule(order, rules?.postalCodes),
    ...priceRule(order, settings.priceTolerance),
  ].filter((f) => !(f.outcome === 'hold' && settings.waivedRules?.includes(f.rule)));

  const rejections = findings.filter((f) => f.outcome === 'reject');
  if (rejections.length > 0) {
    return {
      verdict: 'reject',
      rules: unique(rejections.map((f) => f.rule)),
      reason: rejections.map((f) => f.reason).join('; '),
      remedies: unique(rejections.flatMap((f) => f.remedies)),
    };
  }
  const holds = findings.filter((f) => f.outcome === 'hold');
  const [first, ...others] = holds;
  if (first) {
    return {
      verdict: 'hold',
      rules: unique(holds.map((f) => f.rule)),
      exception: first.exception,
      reason: holds.map((f) => f.reason).join('; '),
      details: {
        ...first.details,
        ...(others.length > 0 && {
          otherExceptions: others.map((f) => ({ type: f.exception, rule: f.rule, reason: f.reason, details: f.details })),
        }),
      },
    };
  }
  // Only a served order reaches here (the address rule holds the others).
  const shortages = order.shippingAddress ? shortagesOf(order, order.shippingAddress, facts) : { short: [], anyAvailable: true };
  if (shortages.short.length > 0) {
    return {
      verdict: 'backorder',
      rules: ['stock'],
      reason: `not enough stock: ${shortages.short.map((s) => `${s.sku} (${s.wanted} wanted, ${s.available} available)`).join(', ')}`,
      shortages: shortages.short,
      remedies: shortages.anyAvailable ? ['wait', 'ship_available', 'cancel'] : ['wait', 'cancel'],
    };
  }
  return { verdict: 'valid', creditHold: order.payment.method === 'store_credit' && order.totals.grandTotal > 0 ? order.totals.grandTotal : null };
}

// ---------------------------------------------------------------------------------------
// Rules. Each returns what it found wrong (nothing when the order passes or the rule is off).
// ---------------------------------------------------------------------------------------

/** `contact`: a known customer (the channel's customer id), or a way to reach a guest. */
function contactRule(order: CanonicalOrder, rules: Rules | undefined): Finding[] {
  // Off without a `validation` section (configs from before it behave as before); on by default within one.
  if (!rules || rules.requireContact === false) return [];
  const { id, email, phone } = order.customer;
  if (id?.trim() || looksLikeEmail(email) || looksLikePhone(phone)) return [];
  const given = [email?.trim() && `email "${email.trim()}"`, phone?.trim() && `phone "${phone.trim()}"`].filter(Boolean);
  return [reject('contact', `a guest order needs a valid email or a phone with at least 7 digits${given.length > 0 ? `; got ${given.join(' and ')}` : ', and has neither'}`, ['provide_contact'])];
}

/**
 * `block_list`: the customer's email, any phone, postal code or address line of the order
 * is on the block list. Values are compared normalised (see the functions below).
 */
function blockListRule(order: CanonicalOrder, list: Rules['blockList']): Finding[] {
  if (!list) return [];
  const addresses = [order.shippingAddress, order.billingAddress].filter((a) => a != null);
  const checks: { what: string; normalise: (value: string) => string; blocked: string[] | undefined; values: (string | null | undefined)[] }[] = [
    { what: 'email', normalise: normaliseEmail, blocked: list.emails, values: [order.customer.email] },
    { what: 'phone', normalise: normalisePhone, blocked: list.phones, values: [order.customer.phone, ...addresses.map((a) => a.phone)] },
    { what: 'postal code', normalise: normaliseBlockedPostalCode, blocked: list.postalCodes, values: addresses.map((a) => a.postalCode) },
    { what: 'address line', normalise: normaliseAddressLine, blocked: list.addresses, values: addresses.flatMap((a) => [a.line1, a.line2]) },
  ];
  const matches: string[] = [];
  for (const { what, normalise, blocked, values } of checks) {
    const listed = new Set((blocked ?? []).map(normalise).filter((v) => v !== ''));
    const hits = unique(values.filter((v) => v != null).map(normalise).filter((v) => listed.has(v)));
    for (const hit of hits) matches.push(`${what} "${hit}"`);
  }
  return matches.length > 0 ? [reject('block_list', `on the block list: ${matches.join(', ')}`)] : [];
}

/** `payment_method`: the method is allowed on the channel (`byChannel[channel]`, else `methods`; absent = all). */
function paymentMethodRule(order: CanonicalOrder, channel: string, payment: Rules['payment']): Finding[] {
  const allowed = ownValue(payment?.byChannel, channel) ?? payment?.methods;
  if (!allowed || (allowed as readonly string[]).includes(order.payment.method)) return [];
  return [reject(
    'payment_method',
    `payment method ${order.payment.method} is not accepted on channel ${channel} (accepted: ${allowed.length > 0 ? allowed.join(', ') : 'none'})`,
    ['another_payment_method'],
  )];
}

/**
 * `cash_on_delivery`: only to the listed countries (or subdivisions, `US-NY`) and up to
 * the amount for the order's currency. A currency without an amount has no limit; an
 * order without an address is left to the address rule.
 */
function cashOnDeliveryRule(order: CanonicalOrder, cod: NonNullable<Rules['payment']>['cashOnDelivery']): Finding[] {
  if (!cod || order.payment.method !== 'cash_on_delivery') return [];
  const findings: Finding[] = [];
  const address = order.shippingAddress;
  if (cod.countries && address && !isIn(address, cod.countries)) {
    findings.push(reject(
      'cash_on_delivery',
      `cash on delivery is not offered to ${address.country}${address.region ? `-${address.region}` : ''} (offered to: ${cod.countries.length > 0 ? cod.countries.join(', ') : 'nowhere'})`,
      ['another_payment_method'],
    ));
  }
  const max = ownValue(cod.maxAmount, order.currency);
  if (max !== undefined && order.totals.grandTotal > max) {
    findings.push(reject(
      'cash_on_delivery',
      `cash on delivery is limited to ${money(max, order.currency)}; the order is ${money(order.totals.grandTotal, order.currency)}`,
      ['another_payment_method'],
    ));
  }
  return findings;
}

/** True when the address is in one of `places`: countries (`US`) or subdivisions (`US-NY`). */
function isIn(address: NonNullable<CanonicalOrder['shippingAddress']>, places: readonly string[]): boolean {
  const subdivision = address.region ? `${address.country}-${address.region.toUpperCase()}` : undefined;
  return places.some((p) => p.toUpperCase() === address.country || p.toUpperCase() === subdivision);
}

/** `store_credit`: an order paid with store credit needs a balance, in its currency, that covers the total. */
function storeCreditRule(order: CanonicalOrder, customer: CustomerFacts): Finding[] {
  if (order.payment.method !== 'store_credit') return [];
  const credit = customer.storeCredit;
  const total = money(order.totals.grandTotal, order.currency);
  let reason: string | null = null;
  if (!credit) reason = `paid with store credit, but the customer has no store credit account (total ${total})`;
  else if (credit.currency !== order.currency) reason = `paid with store credit, but the customer's credit is in ${credit.currency} and the order in ${order.currency}`;
  else if (credit.balance < order.totals.grandTotal) reason = `store credit balance ${money(credit.balance, credit.currency)} does not cover the total ${total}`;
  return reason ? [reject('store_credit', reason, ['another_payment_method'])] : [];
}

/** `risk`: the total, a first order's total, or billing and shipping in different countries. */
function riskRule(order: CanonicalOrder, customer: CustomerFacts, risk: Rules['risk']): Finding[] {
  if (!risk) return [];
  const total = order.totals.grandTotal;
  const currency = order.currency;
  const triggers: { trigger: string; reason: string; figures: Record<string, unknown> }[] = [];
  const reviewAbove = ownValue(risk.reviewAbove, currency);
  if (reviewAbove !== undefined && total > reviewAbove) {
    triggers.push({
      trigger: 'review_above',
      reason: `total ${money(total, currency)} is above the review threshold ${money(reviewAbove, currency)}`,
      figures: { total, threshold: reviewAbove, currency },
    });
  }
  const firstOrderAbove = ownValue(risk.firstOrderAbove, currency);
  if (firstOrderAbove !== undefined && customer.previousOrders === 0 && total > firstOrderAbove) {
    triggers.push({
      trigger: 'first_order_above',
      reason: `first order of this customer, total ${money(total, currency)} is above ${money(firstOrderAbove, currency)}`,
      figures: { total, threshold: firstOrderAbove, currency },
    });
  }
  const billing = order.billingAddress?.country;
  const shipping = order.shippingAddress?.country;
  if (risk.countryMismatch === true && billing && shipping && billing !== shipping) {
    triggers.push({
      trigger: 'country_mismatch',
      reason: `billing country ${billing} differs from shipping country ${shipping}`,
      figures: { billing, shipping },
    });
  }
  if (triggers.length === 0) return [];
  return [hold('risk', 'risk_review', `risk review: ${triggers.map((t) => t.reason).join('; ')}`, {
    triggers: triggers.map((t) => ({ trigger: t.trigger, ...t.figures })),
  })];
}

/** `catalog`: every SKU is one the hub knows. */
function catalogRule(order: CanonicalOrder, facts: ValidationFacts): Finding[] {
  const unknown = [...quantitiesBySku(order.lines).keys()].filter((sku) => !facts.categories.has(sku));
  if (unknown.length === 0) return [];
  return [hold('catalog', 'unknown_sku', `unknown SKU${unknown.length > 1 ? 's' : ''}: ${unknown.join(', ')}`, { skus: unknown })];
}

/** `address`: there is a shipping address, and a warehouse delivers to it. */
function addressRule(order: CanonicalOrder, facts: ValidationFacts): Finding[] {
  const address = order.shippingAddress;
  if (!address) return [hold('address', 'address_invalid', 'the order has no shipping address', { missing: 'shipping_address' })];
  if (facts.warehouses.some((w) => servesAddress(w, address))) return [];
  const where = address.region ? `${address.country}-${address.region.toUpperCase()}` : address.country;
  return [hold('address', 'address_unserved', `no warehouse delivers to ${where}`, { country: address.country, region: address.region ?? null })];
}

/** `postal_code`: the shipping address's postal code fits its country's format. */
function postalCodeRule(order: CanonicalOrder, configured: Rules['postalCodes']): Finding[] {
  const address = order.shippingAddress;
  if (!address) return [];
  const check = checkPostalCode(address.country, address.postalCode, postalCodeFormats(configured));
  if (check.ok) return [];
  const expected = check.example ? ` (like ${check.example})` : '';
  const reason = check.problem === 'missing'
    ? `the shipping address in ${address.country} has no postal code${expected}`
    : `postal code "${check.postalCode}" is not a valid ${address.country} postal code${expected}`;
  return [hold('postal_code', 'address_invalid', reason, { country: address.country, postalCode: check.postalCode, example: check.example })];
}

/**
 * `price`: the lines, discounts, shipping, tax and other charges add up to the totals, each
 * within the channel's tolerance (the arithmetic of core/order/totals.ts, which is exact).
 * Sums are BigInt, so no amount is ever rounded.
 */
function priceRule(order: CanonicalOrder, tolerance: number): Finding[] {
  const t = order.totals;
  // The schema allows only integers; should anything else get this far, say so rather than throw.
  const amounts = [t.subtotal, t.discounts, t.shipping, t.tax, t.otherCharges, t.grandTotal, ...order.lines.flatMap((l) => [l.unitPrice, l.quantity, l.discount, l.tax])];
  const odd = amounts.filter((a) => !Number.isInteger(a));
  if (odd.length > 0) {
    return [hold('price', 'price_mismatch', `amounts that are not whole minor units: ${odd.join(', ')}`, { currency: order.currency, amounts: odd.map(String) })];
  }
  const lines = order.lines.reduce((sum, l) => sum + BigInt(l.unitPrice) * BigInt(l.quantity), 0n);
  const lineDiscounts = order.lines.reduce((sum, l) => sum + BigInt(l.discount), 0n);
  const expectedTotal = lines - BigInt(t.discounts) + BigInt(t.shipping) + (t.taxIncluded ? 0n : BigInt(t.tax)) + BigInt(t.otherCharges);
  const allowed = BigInt(Math.max(0, Math.trunc(tolerance)));
  const off = (a: bigint, b: bigint) => (a > b ? a - b : b - a) > allowed;
  const problems: string[] = [];
  if (off(BigInt(t.subtotal), lines)) problems.push(`subtotal ${t.subtotal} but the lines add up to ${lines}`);
  if (lineDiscounts - BigInt(t.discounts) > allowed) problems.push(`discounts ${t.discounts} less than the line discounts ${lineDiscounts}`);
  if (off(BigInt(t.grandTotal), expectedTotal)) {
    problems.push(`total ${t.grandTotal} but lines ${lines} − discounts ${t.discounts} + shipping ${t.shipping}`
      + `${t.taxIncluded ? '' : ` + tax ${t.tax}`} + other charges ${t.otherCharges} = ${expectedTotal}`);
  }
  if (problems.length === 0) return [];
  return [hold('price', 'price_mismatch', `totals do not add up (${order.currency} minor units, tolerance ${allowed}): ${problems.join('; ')}`, {
    currency: order.currency,
    tolerance: Number(allowed),
    lines: figure(lines),
    lineDiscounts: figure(lineDiscounts),
    expectedTotal: figure(expectedTotal),
    totals: { ...t },
    difference: figure(BigInt(t.grandTotal) - expectedTotal),
  })];
}

/**
 * `stock`: every SKU is available, in total, across the warehouses that deliver to the
 * address and handle the SKU's category. Negative availability counts as none.
 */
function shortagesOf(order: CanonicalOrder, address: NonNullable<CanonicalOrder['shippingAddress']>, facts: ValidationFacts): { short: Shortage[]; anyAvailable: boolean } {
  const serving = facts.warehouses.filter((w) => servesAddress(w, address));
  const short: Shortage[] = [];
  let anyAvailable = false;
  for (const [sku, wanted] of quantitiesBySku(order.lines)) {
    const category = facts.categories.get(sku);
    if (category === undefined) continue; // the catalog rule holds these
    const available = serving
      .filter((w) => handlesCategory(w, category))
      .reduce((sum, w) => sum + Math.max(0, facts.available.get(w.code)?.get(sku) ?? 0), 0);
    if (available > 0) anyAvailable = true;
    if (available < wanted) short.push({ sku, wanted, available });
  }
  return { short, anyAvailable };
}

// ---------------------------------------------------------------------------------------
// Normalisation: how contact details and block-list entries are compared.
// ---------------------------------------------------------------------------------------

/**
 * Trimmed and lower-case, nothing more. Gmail ignores dots and `+tags`, but most providers
 * do not (`a.b@company.com` and `ab@company.com` are two people there), so folding them
 * would block innocent customers; list the variants of a Gmail address instead.
 */
function normaliseEmail(email: string): string {
  return email.trim().toLowerCase();
}
/** Digits only: `+1 (555) 010-9999` is `15550109999`. List numbers with the country code the channels send. */
function normalisePhone(phone: string): string {
  return phone.replace(/\D/g, '');
}
/** Upper-case without any spaces: `sw1a 1aa` is `SW1A1AA`. */
function normaliseBlockedPostalCode(code: string): string {
  return code.replace(/\s/g, '').toUpperCase();
}
/** Lower-case, whitespace runs made one space, trimmed. */
function normaliseAddressLine(line: string): string {
  return line.trim().replace(/\s+/g, ' ').toLowerCase();
}

// ---------------------------------------------------------------------------------------
// The change a verdict makes to the order.
// ---------------------------------------------------------------------------------------

/**
 * The change a verdict makes to the order: its new status, the timeline line (written for
 * an operator), an exception where a person must act, and the events: `order.<status>` and,
 * except for a risk review (a customer must not learn of one) and the holds a person
 * resolves without the customer, a `customer.notification_requested`.
 */
export function validationChange(record: OrderRecord, verdict: Verdict): OrderChange {
  const order = { orderId: record.id, orderNumber: record.orderNumber };
  switch (verdict.verdict) {
    case 'valid': {
      const credit = verdict.creditHold === null ? {} : { creditHold: verdict.creditHold, currency: record.order.currency };
      return {
        to: 'validated',
        timeline: {
          type: 'order.validated',
          reason: `passed validation${verdict.creditHold === null ? '' : `; ${money(verdict.creditHold, record.order.currency)} of store credit to hold`}`,
          ...(verdict.creditHold !== null && { data: credit }),
        },
        emit: [
          { type: 'order.validated', data: { ...order, ...credit } },
          ...notification(record, 'order_confirmed', {}),
        ],
      };
    }
    case 'reject': {
      // A blocked customer is not told why, nor what would get round the block.
      const blocked = verdict.rules.includes('block_list');
      return {
        to: 'rejected',
        timeline: { type: 'order.rejected', reason: `rejected (${verdict.rules.join(', ')}): ${verdict.reason}`, data: { rules: verdict.rules, remedies: verdict.remedies } },
        emit: [
          { type: 'order.rejected', data: { ...order, rules: verdict.rules, reason: verdict.reason, remedies: verdict.remedies } },
          ...notification(record, 'order_rejected', blocked
            ? { reason: 'we cannot accept this order', remedies: [] }
            : { reason: verdict.reason, remedies: verdict.remedies }),
        ],
      };
    }
    case 'hold':
      return {
        to: 'on_hold',
        timeline: {
          type: 'order.on_hold',
          reason: `on hold (${verdict.exception}): ${verdict.reason}`,
          data: { rules: verdict.rules, exception: verdict.exception, details: verdict.details },
        },
        emit: [
          { type: 'order.on_hold', data: { ...order, rules: verdict.rules, exception: verdict.exception, reason: verdict.reason } },
          // Only an address problem needs the customer. The reason is written from the
          // address details alone: `verdict.reason` may name other holds, a risk review too.
          ...(verdict.exception === 'address_invalid'
            ? notification(record, 'address_check', { reason: addressCheckReason(verdict.details), remedies: ['correct_address'] })
            : []),
        ],
        exception: { type: verdict.exception, reason: verdict.reason, details: verdict.details },
      };
    case 'backorder':
      return {
        to: 'backordered',
        timeline: { type: 'order.backordered', reason: `backordered: ${verdict.reason}`, data: { shortages: verdict.shortages, remedies: verdict.remedies } },
        emit: [
          { type: 'order.backordered', data: { ...order, reason: verdict.reason, shortages: verdict.shortages, remedies: verdict.remedies } },
          ...notification(record, 'stock_shortage', { reason: shortageReason(record, verdict.shortages), remedies: verdict.remedies }),
        ],
        exception: { type: 'stock_shortage', reason: verdict.reason, details: { shortages: verdict.shortages, remedies: verdict.remedies } },
      };
    default: {
      const never: never = verdict;
      return never;
    }
  }
}

/** What the customer is asked to check, from an `address_invalid` hold's details. */
function addressCheckReason(details: Record<string, unknown>): string {
  if (details.missing === 'shipping_address') return 'the order has no shipping address';
  const example = typeof details.example === 'string' ? ` (for example ${details.example})` : '';
  return typeof details.postalCode === 'string'
    ? `the postal code "${details.postalCode}" does not look right${example}`
    : `the shipping address has no postal code${example}`;
}

/** The shortage as the customer knows the items: by name, not SKU. */

// ---------------------------------------------------------------------------------------

/** An amount for a person to read: `USD 15.00`; the minor units when the currency or amount is odd. */
function money(minor: number, currency: string): string {
  try {
    return `${currency} ${formatMinorUnits(minor, currency)}`;
  } catch {
    return `${minor} ${currency} minor units`;
  }
}

/** A BigInt figure as JSON can carry it: a number when exact, else a decimal string. */
function figure(value: bigint): number | string {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : String(value);
}

/** `record[key]` for the record's own keys only (a channel named `constructor` is not Object's). */
function ownValue<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record && Object.hasOwn(record, key) ? record[key] : undefined;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
