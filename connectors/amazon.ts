import { formatMinorUnits } from '../core/money.ts';
import type {
  Address,
  CanonicalLine,
  CanonicalOrder,
  ChannelPaymentStatus,
  PaymentMethod,
} from '../schemas/canonical-order.ts';
import { at, createReader, firstOf, type At, type Reader } from './reader.ts';
import type { NormalizeResult, OrderConnector, OrderIntent } from './types.ts';

/**
 * Amazon Selling Partner API, Orders v0. Amazon sends no order webhooks: a poller
 * (core/pollers/amazon.ts) calls `getOrders` and `getOrderItems` and stores one
 * {@link AmazonOrderDocument} per order snapshot, which this connector maps.
 * Fixtures and field notes: test/fixtures/amazon-sp-api/README.md.
 */

/** Money in Orders v0: a decimal string and its ISO 4217 currency. */
export interface AmazonMoney {
  CurrencyCode?: string;
  Amount?: string;
}

/** An Orders v0 `Address` (name and street need a Restricted Data Token). */
export interface AmazonAddress {
  Name?: string;
  CompanyName?: string;
  AddressLine1?: string;
  AddressLine2?: string;
  AddressLine3?: string;
  City?: string;
  County?: string;
  District?: string;
  StateOrRegion?: string;
  Municipality?: string;
  PostalCode?: string;
  CountryCode?: string;
  Phone?: string;
  [field: string]: unknown;
}

/** An `Order` as `getOrders` lists it (the fields this connector reads; Amazon sends many more). */
export interface AmazonOrder {
  AmazonOrderId: string;
  PurchaseDate: string;
  LastUpdateDate: string;
  OrderStatus: string;
  FulfillmentChannel?: string;
  OrderTotal?: AmazonMoney;
  PaymentMethod?: string;
  PaymentMethodDetails?: string[];
  MarketplaceId?: string;
  ShipmentServiceLevelCategory?: string;
  IsPrime?: boolean;
  IsBusinessOrder?: boolean;
  IsPremiumOrder?: boolean;
  IsReplacementOrder?: boolean | string;
  ShippingAddress?: AmazonAddress;
  BuyerInfo?: { BuyerEmail?: string; BuyerName?: string; [field: string]: unknown };
  [field: string]: unknown;
}

/** An `OrderItem` as `getOrderItems` lists it. `ItemPrice` is the price of all `QuantityOrdered` units. */
export interface AmazonOrderItem {
  OrderItemId: string;
  SellerSKU?: string;
  ASIN?: string;
  Title?: string;
  QuantityOrdered: number;
  ItemPrice?: AmazonMoney;
  ItemTax?: AmazonMoney;
  PromotionDiscount?: AmazonMoney;
  PromotionDiscountTax?: AmazonMoney;
  ShippingPrice?: AmazonMoney;
  ShippingTax?: AmazonMoney;
  ShippingDiscount?: AmazonMoney;
  ShippingDiscountTax?: AmazonMoney;
  CODFee?: AmazonMoney;
  CODFeeDiscount?: AmazonMoney;
  IsGift?: boolean | string;
  BuyerInfo?: { GiftWrapPrice?: AmazonMoney; GiftWrapTax?: AmazonMoney; [field: string]: unknown };
  BuyerRequestedCancel?: { IsBuyerRequestedCancel?: boolean | string; BuyerCancelReason?: string };
  [field: string]: unknown;
}

/** What the poller stores for one order snapshot: the order from `getOrders` and all its items. */
export interface AmazonOrderDocument {
  order: AmazonOrder;
  items: AmazonOrderItem[];
}

/** The Orders v0 `OrderStatus` values, and what each one means to the hub. */
const STATUSES: Record<string, { intent: OrderIntent; payment: ChannelPaymentStatus }> = {
  // Placed, payment not yet authorised: Amazon releases neither buyer data nor money yet.
  Pending: { intent: 'create', payment: 'pending' },
  // A pre-order whose release date is in the future; not authorised either.
  PendingAvailability: { intent: 'create', payment: 'pending' },
  // Payment authorised and guaranteed by Amazon: the seller ships.
  Unshipped: { intent: 'create', payment: 'paid' },
  PartiallyShipped: { intent: 'create', payment: 'paid' },
  Shipped: { intent: 'create', payment: 'paid' },
  InvoiceUnconfirmed: { intent: 'create', payment: 'paid' },
  Canceled: { intent: 'cancel', payment: 'voided' },
  // Multi-Channel Fulfillment only: Amazon will not fulfil it, so nothing is owed either.
  Unfulfillable: { intent: 'cancel', payment: 'voided' },
};

/**
 * Marketplaces whose prices include tax (VAT, GST, consumption tax): there `ItemTax` is
 * the part of `ItemPrice` that is tax. In the US and Canada tax comes on top. When an
 * `OrderTotal` is present it decides (see `taxInclusion`); this table only serves orders
 * without one and orders without tax.
 */
const TAX_INCLUSIVE_MARKETPLACES = new Set([
  'A1F83G8C2ARO7P', // UK
  'A1PA6795UKMFR9', // DE
  'A13V1IB3VIYZZH', // FR
  'APJ6JRA9NG5V4', // IT
  'A1RKKUPIHCS9HS', // ES
  'A1805IZSGTT6HS', // NL
  'A2NODRKZP88ZB9', // SE
  'A1C3SOZRARQ6R3', // PL
  'AMEN7PMS3EDWL', // BE
  'A28R8C7NBKEWEA', // IE
  'A33AVAJ2PDY3EV', // TR
  'A2VIGQ35RCS4UG', // AE
  'A17E79C6D8DWNP', // SA
  'ARBP9OOSHTCHU', // EG
  'A21TJRUUN4KGV', // IN
  'A1VC38T7YXB528', // JP
  'A39IBJ37TRP1C6', // AU
  'A19VAU5U5O7RUS', // SG
  'AE08WJ6YKNBMC', // ZA
]);

/** Shipment service level categories a customer paid to get faster. */
const FAST_SERVICE_LEVELS = new Set(['Expedited', 'NextDay', 'SecondDay', 'SameDay', 'Priority']);

/** The money fields of an item, in the order the currency is looked for when the order has no `OrderTotal`. */
const ITEM_MONEY_FIELDS: readonly (readonly string[])[] = [
  ['ItemPrice'], ['ItemTax'], ['ShippingPrice'], ['ShippingTax'], ['PromotionDiscount'], ['PromotionDiscountTax'],
  ['ShippingDiscount'], ['ShippingDiscountTax'], ['CODFee'], ['CODFeeDiscount'], ['BuyerInfo', 'GiftWrapPrice'], ['BuyerInfo', 'GiftWrapTax'],
];

/** ISO 4217 "no currency involved": a cancelled order whose items carry no money at all. */
const NO_CURRENCY = 'XXX';

/** The canonical line name is at most 500 characters (code points, as the schema counts them). */
const MAX_NAME = 500;

/**
 * Amazon SP-API orders, fetched by the hub's poller. Never a webhook: `verify` refuses
 * every request, and the only topic is the poller's `order`.
 */
export const amazon: OrderConnector = {
  channel: 'amazon',
  delivery: 'poll',
  secretName: 'AMAZON_SP_API_TOKEN',
  orderTopics: ['order'],

  /** Amazon has no order webhooks (notifications go to SQS or EventBridge), so nothing posted is trusted. */
  verify(): boolean {
    return false;
  },

  describe() {
    return { eventId: null, topic: 'order' };
  },

  normalize(body: unknown): NormalizeResult {
    return normalizeAmazonOrder(body);
  },
};

/** One item read: its canonical line (null when nothing of it was ordered) and its share of the order's money. */
interface ItemReading {
  line: CanonicalLine | null;
  /** sku and name of an item with nothing ordered, for a cancelled order that has nothing else */
  cancelledLine: CanonicalLine | null;
  price: number;
  promotionDiscount: number;
  tax: number;
  shipping: number;
  shippingDiscount: number;
  shippingTax: number;
  giftWrap: number;
  giftWrapTax: number;
  codFee: number;
  gift: boolean;
  cancelRequest: { reason: string | null } | null;
}

/** An {@link AmazonOrderDocument} (parsed JSON) → canonical order, or every problem found. */
export function normalizeAmazonOrder(body: unknown): NormalizeResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ path: '/', message: 'the document must be a JSON object { "order": …, "items": [ … ] }' }] };
  }
  const read = createReader();
  const root: At = { value: body, path: '' };
  const orderNode = at(root, 'order');
  if (!read.object(orderNode, 'required')) return { ok: false, problems: read.problems };
  const itemNodes = read.list(at(root, 'items'), 'required');

  const statusNode = at(orderNode, 'OrderStatus');
  const statusText = read.text(statusNode);
  const status = statusText !== null && Object.hasOwn(STATUSES, statusText) ? STATUSES[statusText] : undefined;
  if (status === undefined) {
    read.report(statusNode.path, statusText === null ? 'is required' : `is not an Orders v0 status: ${JSON.stringify(statusText)}`);
  }
  const cancelled = status?.intent === 'cancel';

  const externalId = read.text(at(orderNode, 'AmazonOrderId'));
  if (externalId === null) read.report(`${orderNode.path}/AmazonOrderId`, 'is required');
  const placedAt = read.timestamp(at(orderNode, 'PurchaseDate'));
  const updatedAt = read.timestamp(at(orderNode, 'LastUpdateDate'));

  const currency = currencyOf(read, orderNode, itemNodes, cancelled);
  const money = moneyReader(read, currency);
  const items = itemNodes.map((node) => readItem(read, node, money, currency));

  const kept = items.filter((item) => item.line !== null);
  // Amazon sets QuantityOrdered to 0 on the items of a cancelled order. The cancel must
  // still reach the hub (which reads only its intent), so those items stand in at no cost.
  const lines = kept.length > 0 || !cancelled
    ? kept.map((item) => item.line).filter((line) => line !== null)
    : items.map((item) => item.cancelledLine).filter((line) => line !== null);
  if (lines.length === 0 && itemNodes.length > 0 && !cancelled) {
    read.report(`${root.path}/items`, 'no item has a QuantityOrdered of at least 1');
  }

  const total = (pick: (item: ItemReading) => number, path: string) => read.sum(kept.map(pick), path);
  const subtotal = total((i) => i.price, '/items');
  const promotionDiscounts = total((i) => i.promotionDiscount, '/items');
  const shippingDiscounts = total((i) => i.shippingDiscount, '/items');
  const totals = {
    subtotal,
    // ShippingDiscount is an order-level discount on top of the line discounts (a free-shipping
    // promotion): shipping stays what was charged, the promotion shows among the discounts.
    discounts: read.sum([promotionDiscounts, shippingDiscounts], '/items'),
    shipping: total((i) => i.shipping, '/items'),
    tax: read.sum([total((i) => i.tax, '/items'), total((i) => i.shippingTax, '/items'), total((i) => i.giftWrapTax, '/items')], '/items'),
    otherCharges: read.sum([total((i) => i.giftWrap, '/items'), total((i) => i.codFee, '/items')], '/items'),
  };

  const marketplaceId = read.text(at(orderNode, 'MarketplaceId'));
  const orderTotalNode = at(orderNode, 'OrderTotal');
  // A cancelled order's OrderTotal is not held against its items: they no longer count.
  const orderTotal = orderTotalNode.value == null || cancelled ? null : money(orderTotalNode, { required: true });
  const { taxIncluded, grandTotal } = taxInclusion(read, totals, orderTotal, {
    marketplaceTaxIncluded: marketplaceId !== null && TAX_INCLUSIVE_MARKETPLACES.has(marketplaceId),
    path: `${orderTotalNode.path}/Amount`,
    currency,
  });

  const buyerNode = at(orderNode, 'BuyerInfo');
  const buyer = read.object(buyerNode, 'optional') ? buyerNode : null;
  const addressNode = at(orderNode, 'ShippingAddress');
  const shippingAddress = readAddress(read, addressNode);
  const cancelRequests = items.flatMap((item) => (item.cancelRequest ? [item.cancelRequest] : []));
  const cancelReason = firstOf(cancelRequests.map((request) => request.reason));
  const programs = {
    prime: flag(read, at(orderNode, 'IsPrime')),
    business: flag(read, at(orderNode, 'IsBusinessOrder')),
    premium: flag(read, at(orderNode, 'IsPremiumOrder')),
    replacement: flag(read, at(orderNode, 'IsReplacementOrder')),
  };

  const canonical: CanonicalOrder = {
    channel: 'amazon',
    externalId: externalId ?? '',
    externalNumber: externalId,
    placedAt,
    currency: currency ?? NO_CURRENCY,
    customer: {
      id: null, // Amazon identifies no buyer across orders
      email: firstOf([buyer ? read.text(at(buyer, 'BuyerEmail')) : null, read.text(at(orderNode, 'BuyerEmail'))]),
      phone: shippingAddress?.phone ?? null,
      name: firstOf([buyer ? read.text(at(buyer, 'BuyerName')) : null, read.text(at(orderNode, 'BuyerName'))]),
      locale: null,
    },
    lines,
    totals: { ...totals, taxIncluded, grandTotal },
    shippingAddress,
    billingAddress: null, // Orders v0 has none
    payment: {
      method: paymentMethodOf(read, orderNode),
      provider: 'amazon', // Amazon collects the buyer's money and pays the seller
      status: status?.payment ?? 'unknown',
    },
    notes: cancelRequests.length > 0 ? `The buyer asked to cancel${cancelReason ? `: ${cancelReason}` : ''}` : null,
    tags: tagsOf(read, orderNode, { marketplaceId, programs, cancelRequested: cancelRequests.length > 0 }),
    flags: {
      gift: items.some((item) => item.gift),
      priority: isPriority(read, orderNode, programs),
      test: false,
    },
  };

  if (read.problems.length > 0) return { ok: false, problems: read.problems };
  return {
    ok: true,
    order: canonical,
    intent: status?.intent ?? 'create',
    updatedAt,
    cancelReason: cancelled ? (cancelReason ?? `Amazon order status ${statusText ?? ''}`) : null,
  };
}

type MoneyReader = (node: At, options?: { required?: boolean; reduction?: boolean }) => number;

/**
 * Reads `{ CurrencyCode, Amount }` in minor units of the order's currency. An amount in
 * another currency is a problem, never converted (Amazon's own example puts a GBP gift wrap
 * on a JPY item). A reduction (discount, discount tax) may come signed either way: Amazon's
 * examples give it positive, data converted from the 2026-01-01 API negative; it reduces
 * the total either way, and the OrderTotal check catches a misreading.
 */
function moneyReader(read: Reader, currency: string | null): MoneyReader {
  return (node, options = {}) => {
    if (node.value == null) {
      if (options.required) read.report(node.path, 'is required');
      return 0;
    }
    if (!read.object(node, 'required')) return 0;
    const codeNode = at(node, 'CurrencyCode');
    const code = read.text(codeNode);
    if (code === null) {
      read.report(codeNode.path, 'is required');
      return 0;
    }
    if (currency !== null && code !== currency) {
      read.report(codeNode.path, `is ${code} but the order is in ${currency}; amounts are never converted`);
      return 0;
    }
    const amount = at(node, 'Amount');
    if (options.reduction) {
      const { value } = amount;
      if (typeof value === 'string' && value.startsWith('-')) return read.amount({ value: value.slice(1), path: amount.path }, currency);
      if (typeof value === 'number' && value < 0) return read.amount({ value: -value, path: amount.path }, currency);
    }
    return read.amount(amount, currency);
  };
}

/**
 * The order's currency: `OrderTotal`'s, else the first item amount's (Pending orders have no
 * OrderTotal). A cancelled order with no money anywhere is in no currency (ISO 4217 `XXX`).
 */
function currencyOf(read: Reader, orderNode: At, itemNodes: At[], cancelled: boolean): string | null {
  const orderTotal = at(orderNode, 'OrderTotal');
  if (orderTotal.value != null) {
    return read.object(orderTotal, 'required') ? read.currency(at(orderTotal, 'CurrencyCode')) : null;
  }
  for (const item of itemNodes) {
    for (const field of ITEM_MONEY_FIELDS) {
      const code = at(field.reduce<At>((node, key) => at(node, key), item), 'CurrencyCode');
      if (typeof code.value === 'string') return read.currency(code);
    }
  }
  if (cancelled) return NO_CURRENCY;
  read.report(orderTotal.path, 'is required when no item has a price: the order has no currency');
  return null;
}

function readItem(read: Reader, node: At, money: MoneyReader, currency: string | null): ItemReading {
  const reading: ItemReading = {
    line: null, cancelledLine: null, price: 0, promotionDiscount: 0, tax: 0, shipping: 0, shippingDiscount: 0,
    shippingTax: 0, giftWrap: 0, giftWrapTax: 0, codFee: 0, gift: false, cancelRequest: null,
  };
  if (!read.object(node, 'required')) return reading;

  const skuNode = at(node, 'SellerSKU');
  const sku = read.text(skuNode);
  if (sku === null || sku.trim() === '') read.report(skuNode.path, 'an order item needs a SellerSKU');
  const name = truncated(read.text(at(node, 'Title')) ?? sku ?? '', MAX_NAME);
  const externalLineId = read.text(at(node, 'OrderItemId'));
  reading.gift = flag(read, at(node, 'IsGift'));
  const cancelNode = at(node, 'BuyerRequestedCancel');
  if (read.object(cancelNode, 'optional') && flag(read, at(cancelNode, 'IsBuyerRequestedCancel'))) {
    reading.cancelRequest = { reason: read.text(at(cancelNode, 'BuyerCancelReason')) };
  }

  const quantityNode = at(node, 'QuantityOrdered');
  const quantity = quantityNode.value;
  if (!(Number.isSafeInteger(quantity) && (quantity as number) >= 0 && (quantity as number) <= 100_000)) {
    read.report(quantityNode.path, 'must be a whole number from 0 to 100000');
    return reading;
  }
  if (quantity === 0) {
    reading.cancelledLine = { externalLineId, sku: sku ?? '', name, quantity: 1, unitPrice: 0, discount: 0, tax: 0 };
    return reading;
  }
  const units = quantity as number;

  // ItemPrice is the price of all units ("selling price × quantity ordered"); the canonical
  // line wants one unit's price, so it must divide exactly: never round money.
  const priceNode = at(node, 'ItemPrice');
  reading.price = money(priceNode, { required: true });
  let unitPrice = 0;
  if (reading.price % units === 0) {
    unitPrice = reading.price / units;
  } else {
    const shown = currency === null ? String(reading.price) : `${formatMinorUnits(reading.price, currency)} ${currency}`;
    read.report(`${priceNode.path}/Amount`, `${shown} for ${units} units is not a whole number of minor units per unit (not rounded)`);
  }

  reading.promotionDiscount = money(at(node, 'PromotionDiscount'), { reduction: true });
  if (reading.promotionDiscount > reading.price) read.report(`${node.path}/PromotionDiscount`, 'is more than ItemPrice');
  reading.tax = difference(read, money(at(node, 'ItemTax')), money(at(node, 'PromotionDiscountTax'), { reduction: true }), `${node.path}/PromotionDiscountTax`, 'ItemTax');
  reading.shipping = money(at(node, 'ShippingPrice'));
  reading.shippingDiscount = money(at(node, 'ShippingDiscount'), { reduction: true });
  if (reading.shippingDiscount > reading.shipping) read.report(`${node.path}/ShippingDiscount`, 'is more than ShippingPrice');
  reading.shippingTax = difference(read, money(at(node, 'ShippingTax')), money(at(node, 'ShippingDiscountTax'), { reduction: true }), `${node.path}/ShippingDiscountTax`, 'ShippingTax');
  reading.codFee = difference(read, money(at(node, 'CODFee')), money(at(node, 'CODFeeDiscount'), { reduction: true }), `${node.path}/CODFeeDiscount`, 'CODFee');
  // Gift wrap is restricted data (ItemBuyerInfo): present only with a Restricted Data Token.
  const itemBuyer = at(node, 'BuyerInfo');
  if (read.object(itemBuyer, 'optional')) {
    reading.giftWrap = money(at(itemBuyer, 'GiftWrapPrice'));
    reading.giftWrapTax = money(at(itemBuyer, 'GiftWrapTax'));
  }

  reading.line = {
    externalLineId,
    sku: sku ?? '',
    name,
    quantity: units,
    unitPrice,
    discount: reading.promotionDiscount,
    tax: reading.tax,
  };
  return reading;
}

/** `amount − reduction`, reported at `path` when the reduction is larger. */
function difference(read: Reader, amount: number, reduction: number, path: string, of: string): number {
  if (reduction <= amount) return amount - reduction;
  read.report(path, `is more than ${of}`);
  return 0;
}

/**
 * The grand total and whether prices include tax. With an OrderTotal, whichever reading
 * (tax on top, or tax inside the prices) makes the items add up to it decides; if neither
 * does, the problem names every figure. Without one (Pending orders) it is computed.
 */
function taxInclusion(
  read: Reader,
  t: { subtotal: number; discounts: number; shipping: number; tax: number; otherCharges: number },
  orderTotal: number | null,
  options: { marketplaceTaxIncluded: boolean; path: string; currency: string | null },
): { taxIncluded: boolean; grandTotal: number } {
  const withoutTax = t.subtotal - t.discounts + t.shipping + t.otherCharges;
  const totalFor = (taxIncluded: boolean) => withoutTax + (taxIncluded ? 0 : t.tax);
  const preferred = options.marketplaceTaxIncluded;
  const computed = { taxIncluded: preferred, grandTotal: Math.max(0, totalFor(preferred)) };
  // After a problem some amounts are placeholder zeros: comparing them would only add noise.
  if (read.problems.length > 0) return computed;
  if (withoutTax < 0) read.report('/items', 'the discounts are larger than everything charged');
  if (!Number.isSafeInteger(withoutTax + t.tax)) read.report('/items', 'the amounts add up to more than can be represented');
  if (orderTotal === null) return computed;
  if (orderTotal === totalFor(preferred)) return { taxIncluded: preferred, grandTotal: orderTotal };
  if (orderTotal === totalFor(!preferred)) return { taxIncluded: !preferred, grandTotal: orderTotal };
  const fmt = (n: number) => (options.currency === null || !Number.isSafeInteger(n) ? String(n) : formatMinorUnits(n, options.currency));
  read.report(
    options.path,
    `OrderTotal ${fmt(orderTotal)} does not match the items: ItemPrice ${fmt(t.subtotal)} − discounts ${fmt(t.discounts)}`
      + ` + shipping ${fmt(t.shipping)} + gift wrap and COD fees ${fmt(t.otherCharges)} = ${fmt(withoutTax)},`
      + ` or ${fmt(withoutTax + t.tax)} with tax ${fmt(t.tax)} on top`,
  );
  return computed;
}

/**
 * The shipping address, or null when there is none to ship to: Amazon leaves it out for
 * Pending orders and, without a Restricted Data Token, sends only city, region, postal code
 * and country. An address without a street is null, so the hub holds the order for it.
 */
function readAddress(read: Reader, node: At): Address | null {
  if (!read.object(node, 'optional')) return null;
  const line1 = read.text(at(node, 'AddressLine1'));
  if (line1 === null) return null;
  const countryNode = at(node, 'CountryCode');
  const country = read.text(countryNode);
  if (country === null || !/^[A-Z]{2}$/.test(country)) read.report(countryNode.path, 'must be an ISO 3166-1 alpha-2 country code');
  const line2 = [read.text(at(node, 'AddressLine2')), read.text(at(node, 'AddressLine3'))].filter((part) => part !== null).join(', ');
  return {
    name: read.text(at(node, 'Name')),
    company: read.text(at(node, 'CompanyName')),
    line1,
    line2: line2 === '' ? null : line2,
    city: read.text(at(node, 'City')) ?? read.text(at(node, 'Municipality')),
    region: read.text(at(node, 'StateOrRegion')) ?? read.text(at(node, 'County')),
    postalCode: read.text(at(node, 'PostalCode')),
    country: country ?? '',
    phone: read.text(at(node, 'Phone')),
  };
}

/**
 * `PaymentMethod` is COD (cash on delivery), CVS (paid in cash at a Japanese convenience
 * store before shipment: an offline push payment, closest to a bank transfer) or Other,
 * whose `PaymentMethodDetails` say more (CreditCard, GiftCertificate, PointsAccount, Standard…).
 */
function paymentMethodOf(read: Reader, orderNode: At): PaymentMethod {
  const method = read.text(at(orderNode, 'PaymentMethod'));
  const details = read.list(at(orderNode, 'PaymentMethodDetails'), 'optional').flatMap((node) => read.text(node) ?? []);
  switch (method) {
    case 'COD':
      return 'cash_on_delivery';
    case 'CVS':
      return 'bank_transfer';
    case null:
      return 'unknown';
    default:
      // Only gift certificates or points: paid from the buyer's balance with Amazon.
      if (details.length > 0 && details.every((d) => d === 'GiftCertificate' || d === 'PointsAccount')) return 'store_credit';
      return 'card';
  }
}

/** The order's programme flags (booleans, though `IsReplacementOrder` has been seen as a string). */
interface Programs { prime: boolean; business: boolean; premium: boolean; replacement: boolean }

/** Prime, business and premium orders, and faster service levels the buyer chose, go first. */
function isPriority(read: Reader, orderNode: At, programs: Programs): boolean {
  const level = read.text(at(orderNode, 'ShipmentServiceLevelCategory'));
  return programs.prime || programs.business || programs.premium || (level !== null && FAST_SERVICE_LEVELS.has(level));
}

/** What an operator filters Amazon orders by: marketplace, who fulfils, programmes. */
function tagsOf(
  read: Reader,
  orderNode: At,
  { marketplaceId, programs, cancelRequested }: { marketplaceId: string | null; programs: Programs; cancelRequested: boolean },
): string[] {
  const tags: string[] = [];
  if (marketplaceId !== null) tags.push(`marketplace:${marketplaceId}`);
  // AFN = Fulfilled by Amazon: Amazon ships it, the hub must not.
  const fulfilment = read.text(at(orderNode, 'FulfillmentChannel'));
  if (fulfilment !== null) tags.push(`fulfillment:${fulfilment}`);
  if (programs.prime) tags.push('prime');
  if (programs.business) tags.push('business');
  if (programs.replacement) tags.push('replacement');
  if (cancelRequested) tags.push('buyer-requested-cancel');
  return tags.map((tag) => truncated(tag, 255));
}

/** Amazon's booleans: mostly JSON booleans, but `IsGift` and `IsBuyerRequestedCancel` are the strings "true"/"false". */
function flag(read: Reader, node: At): boolean {
  const { value } = node;
  if (value == null || value === false) return false;
  if (value === true) return true;
  if (typeof value === 'string' && /^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  read.report(node.path, 'must be true or false');
  return false;
}

/** At most `max` code points; a longer text ends in an ellipsis. */
function truncated(text: string, max: number): string {
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
}
