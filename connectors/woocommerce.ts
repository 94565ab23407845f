import { HubError, type InputProblem } from '../core/errors.ts';
import { toMinorUnits } from '../core/money.ts';
import type {
  Address,
  CanonicalLine,
  CanonicalOrder,
  ChannelPaymentStatus,
  PaymentMethod,
} from '../schemas/canonical-order.ts';
import { verifyBase64HmacSha256 } from './signatures.ts';
import { at, createReader, idDigits, type At, type Reader } from './reader.ts';
import type { CancelById, InboundDelivery, InboundRequest, NormalizeResult, OrderConnector, OrderIntent } from './types.ts';

/**
 * What each topic asks of the order. `order.created`, `order.updated` and `order.restored`
 * deliver the full REST v3 Order. `order.deleted` (fired on trash and on deletion) is not
 * an order topic: WooCommerce sends only `{"id": N}` for it (`WC_Webhook::build_payload`),
 * so it cancels the order by its id (`cancelsById`). A trashed order that WooCommerce also
 * saves arrives as `order.updated` with status `trash` as well.
 */
const INTENTS: Readonly<Record<string, OrderIntent>> = {
  'order.created': 'create',
  'order.updated': 'update',
  'order.restored': 'update',
  'order.deleted': 'cancel',
};

const ORDER_TOPICS = ['order.created', 'order.updated', 'order.restored'] as const;

/**
 * Statuses that turn an `order.updated` into a cancellation. A cancel is final in the hub,
 * so `failed` is deliberately not here: WooCommerce lets the customer pay a failed order
 * again (failed → pending → processing), which must still reach the hub as an update.
 */
const CANCELLING_STATUSES: readonly string[] = ['cancelled', 'refunded', 'trash'];

/** Checkouts in progress, not placed orders (the block checkout saves `checkout-draft` while the customer types). */
const DRAFT_STATUSES: readonly string[] = ['checkout-draft', 'draft', 'auto-draft'];

/** The body of the unsigned ping `WC_Webhook::deliver_ping()` posts when a webhook is saved. */
const PING_BODY = /^webhook_id=\d{1,20}$/;

/**
 * WooCommerce order webhooks (REST API v3 Order), routed on `X-WC-Webhook-Topic`.
 * Fixture and field notes: test/fixtures/woocommerce/order-created.sample.md.
 */
export const woocommerce: OrderConnector = {
  channel: 'woocommerce',
  delivery: 'webhook',
  secretName: 'WOOCOMMERCE_WEBHOOK_SECRET',
  orderTopics: ORDER_TOPICS,

  /** `X-WC-Webhook-Signature` = base64(HMAC-SHA256(secret, raw body bytes)). */
  verify(request: InboundRequest, secret: string): boolean {
    return verifyBase64HmacSha256(request.rawBody, request.headers['x-wc-webhook-signature'], secret);
  },

  /**
   * `deliver_ping()` posts the form body `webhook_id=<id>` with only a User-Agent: no
   * signature, no X-WC-* headers; the transport adds `application/x-www-form-urlencoded`.
   * It must be answered 200 or WooCommerce will not activate the webhook. The route asks
   * this before checking the signature, so it is strict: a signed request, or any body
   * other than exactly `webhook_id=<digits>`, is not a ping.
   */
  isPing(request: InboundRequest): boolean {
    const { headers, rawBody } = request;
    if (headers['x-wc-webhook-signature'] !== undefined) return false;
    const contentType = headers['content-type'];
    if (contentType !== undefined && !/^application\/x-www-form-urlencoded\s*(;|$)/i.test(contentType)) return false;
    return rawBody.length <= 32 && PING_BODY.test(rawBody.toString('latin1'));
  },

  describe(request: InboundRequest): InboundDelivery {
    const { headers } = request;
    // No header identifies an *event*. X-WC-Webhook-ID names the webhook (the subscription),
    // the same on every delivery. X-WC-Webhook-Delivery-ID is wp_hash(webhook id . time in
    // whole seconds): a re-send gets a new one, and two different deliveries of one webhook
    // in the same second (a bulk edit of twenty orders) share one, so de-duplicating on it
    // would drop orders. With null the hub de-duplicates on sha256(body): the body carries
    // the order id and date_modified, so a repeat of a snapshot is dropped and every new
    // snapshot is kept.
    return { eventId: null, topic: headers['x-wc-webhook-topic'] ?? '' };
  },

  normalize(body: unknown, delivery: InboundDelivery): NormalizeResult {
    const result = normalizeWooOrder(body, delivery.topic);
    if (!result.ok) return result;
    const status = at({ value: body, path: '' }, 'status').value;
    const topicIntent = (Object.hasOwn(INTENTS, delivery.topic) ? INTENTS[delivery.topic] : undefined) ?? 'update';
    const cancelled = delivery.topic === 'order.updated' && typeof status === 'string' && CANCELLING_STATUSES.includes(status);
    const intent = cancelled ? 'cancel' : topicIntent;
    // WooCommerce has no cancel reason; the status says why (cancelled, refunded, trash).
    const cancelReason = intent === 'cancel' ? (typeof status === 'string' ? `WooCommerce status ${status}` : `WooCommerce ${delivery.topic}`) : null;
    return { ...result, intent, cancelReason };
  },

  cancelsById: {
    topics: ['order.deleted'],
    read(body: unknown): CancelById {
      if (typeof body !== 'object' || body === null || Array.isArray(body)) {
        return { ok: false, problems: [{ path: '/', message: 'the body must be a JSON object with the order\'s id' }] };
      }
      const read = createReader();
      const externalId = orderIdOf(read, { value: body, path: '' });
      if (read.problems.length > 0 || externalId === '') return { ok: false, problems: read.problems.length > 0 ? distinct(read.problems) : [{ path: '/id', message: 'an order needs its numeric id' }] };
      return { ok: true, externalId, reason: 'WooCommerce order.deleted: trashed or deleted in the shop' };
    },
  },
};

/** A WooCommerce order payload (the output of `parseJsonLossless`) → canonical order. */
function normalizeWooOrder(body: unknown, topic: string): NormalizeResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ path: '/', message: 'the order must be a JSON object' }] };
  }
  const root: At = { value: body, path: '' };
  if (topic === 'order.deleted' && at(root, 'line_items').value === undefined) {
    return { ok: false, problems: [{ path: '/', message: 'WooCommerce sends only the order id on order.deleted; there is no order to read' }] };
  }
  const read = createReader();

  const status = read.text(at(root, 'status'));
  if (status !== null && DRAFT_STATUSES.includes(status)) {
    // WooCommerce disables a webhook after a run of failed deliveries: acknowledge, do not refuse.
    return { ok: false, ignore: true, problems: [{ path: '/status', message: `"${status}" is a checkout in progress, not a placed order` }] };
  }

  const currency = read.currency(at(root, 'currency'));
  const money = (node: At) => read.amount(node, currency);

  // WooCommerce keeps every amount without tax and the tax beside it, whatever the shop shows.
  // A shop that enters prices with tax (`prices_include_tax`) gets a canonical order with
  // tax-inclusive amounts (what the customer saw, and what divides evenly per unit), so
  // that `taxIncluded` and the totals agree; otherwise the amounts are taken as sent.
  const taxIncluded = readTaxIncluded(read, at(root, 'prices_include_tax'));
  const withTax = (amount: At, tax: At, path: string) => (taxIncluded ? read.sum([money(amount), money(tax)], path) : money(amount));

  const linesNode = at(root, 'line_items');
  const lines = read.list(linesNode, 'required').map((node) => readLine(read, node, currency, taxIncluded));
  const subtotal = read.sum(lines.map((line) => line.unitPrice * line.quantity), linesNode.path);

  // A fee may be negative in WooCommerce (a hand-made discount); canonical amounts are not,
  // so a negative fee counts as an order-level discount and a positive one as a charge.
  const feesNode = at(root, 'fee_lines');
  const fees = read.list(feesNode, 'optional').map((fee) => {
    const amount = signedAmount(read, at(fee, 'total'), currency);
    return taxIncluded ? amount + signedAmount(read, at(fee, 'total_tax'), currency) : amount;
  });
  const otherCharges = read.sum(fees.filter((fee) => fee > 0), feesNode.path);
  const feeDiscounts = read.sum(fees.filter((fee) => fee < 0).map((fee) => -fee), feesNode.path);

  const billingNode = at(root, 'billing');
  const shippingNode = at(root, 'shipping');
  const billing = read.object(billingNode, 'optional') ? billingNode : null;
  const shipping = read.object(shippingNode, 'optional') ? shippingNode : null;
  const billingAddress = billing ? readAddress(read, billing) : null;
  // An absent shipping address arrives as an object of empty strings; the billing one stands in.
  const shippingAddress = (shipping ? readAddress(read, shipping) : null) ?? billingAddress;

  const paymentMethod = read.text(at(root, 'payment_method'));
  const paidAt = read.text(at(root, 'date_paid_gmt')) ?? read.text(at(root, 'date_paid'));
  const refunds = read.list(at(root, 'refunds'), 'optional');

  const canonical: CanonicalOrder = {
    channel: 'woocommerce',
    externalId: orderIdOf(read, root),
    externalNumber: orderNumberOf(read, at(root, 'number')),
    // `date_created` is site-local time without an offset; only the `_gmt` twin can be used.
    placedAt: read.timestamp(at(root, 'date_created_gmt'), { zoneless: 'utc' }),
    currency: currency ?? 'XXX',
    customer: {
      id: customerIdOf(read, at(root, 'customer_id')),
      email: billing ? read.text(at(billing, 'email')) : null,
      phone: billing ? read.text(at(billing, 'phone')) : null,
      name: (billing ? read.personName(billing) : null) ?? (shipping ? read.personName(shipping) : null),
      locale: null,
    },
    lines,
    totals: {
      subtotal,
      discounts: read.sum([withTax(at(root, 'discount_total'), at(root, 'discount_tax'), '/discount_total'), feeDiscounts], '/discount_total'),
      shipping: withTax(at(root, 'shipping_total'), at(root, 'shipping_tax'), '/shipping_total'),
      // total_tax = cart_tax (lines and fees) + shipping_tax.
      tax: money(at(root, 'total_tax')),
      taxIncluded,
      otherCharges,
      grandTotal: money(at(root, 'total')),
    },
    shippingAddress,
    billingAddress,
    payment: {
      method: paymentMethodOf(paymentMethod),
      provider: paymentMethod,
      status: paymentStatusOf(status, paidAt !== null, refunds.length > 0),
    },
    notes: read.text(at(root, 'customer_note')),
    tags: [],
    flags: { gift: false, priority: false, test: false },
  };

  const modified = at(root, 'date_modified_gmt');
  const updatedAt = modified.value == null ? null : read.timestamp(modified, { zoneless: 'utc' });
  if (read.problems.length > 0) return { ok: false, problems: distinct(read.problems) };
  return { ok: true, order: canonical, intent: 'create', updatedAt };
}

function readLine(read: Reader, node: At, currency: string | null, taxIncluded: boolean): CanonicalLine {
  const placeholder: CanonicalLine = { sku: '', name: '', quantity: 1, unitPrice: 0, discount: 0, tax: 0 };
  if (!read.object(node, 'required')) return placeholder;
  const money = (child: string) => read.amount(at(node, child), currency);

  const lineId = read.id(at(node, 'id'));
  const rawName = read.text(at(node, 'name'));
  if (rawName === null) read.report(`${node.path}/name`, 'a line item needs a name');
  const name = decodeEntities(rawName ?? '');

  // WooCommerce products need not have a SKU (the official sample's has none). Such a line
  // is named by its product (or variation) id, `wc-product-93` / `wc-variation-12`, which the
  // channel's skuMap can map to the hub's SKU; unmapped, validation holds the order and names it.
  const givenSku = read.text(at(node, 'sku'));
  let sku = givenSku?.trim() ? givenSku : null;
  if (sku === null) {
    const variation = idDigits(at(node, 'variation_id').value);
    const product = idDigits(at(node, 'product_id').value);
    if (variation !== null && variation !== '0') sku = `wc-variation-${variation}`;
    else if (product !== null && product !== '0') sku = `wc-product-${product}`;
    else read.report(`${node.path}/sku`, `line ${lineId ?? '?'} (${JSON.stringify(name)}) has neither a SKU nor a product id`);
  }

  const quantityNode = at(node, 'quantity');
  const quantityOk = Number.isSafeInteger(quantityNode.value) && (quantityNode.value as number) >= 1;
  if (!quantityOk) read.report(quantityNode.path, 'must be a whole number of at least 1');
  const quantity = quantityOk ? (quantityNode.value as number) : 1;

  // `subtotal` is before discounts and `total` after, both without tax. `price` is
  // total / quantity as an unrounded float (after discount), so it cannot give the list
  // price; the unit price is subtotal / quantity, and only when it divides exactly.
  const gross = taxIncluded ? read.sum([money('subtotal'), money('subtotal_tax')], `${node.path}/subtotal`) : money('subtotal');
  const tax = money('total_tax');
  const net = taxIncluded ? read.sum([money('total'), tax], `${node.path}/total`) : money('total');

  if (gross % quantity !== 0) {
    read.report(
      `${node.path}/subtotal`,
      `${gross} minor units${taxIncluded ? ' (with tax)' : ''} do not divide into ${quantity} equal unit prices; the hub does not round`,
    );
  }
  if (net > gross) read.report(`${node.path}/total`, `the line total ${net} is more than its subtotal ${gross}`);

  return {
    externalLineId: lineId,
    sku: sku ?? '',
    name,
    quantity,
    unitPrice: gross % quantity === 0 ? gross / quantity : 0,
    discount: net > gross ? 0 : gross - net,
    tax,
  };
}

/** `billing` or `shipping` (an object); null when it holds no address (WooCommerce sends empty strings then). */
function readAddress(read: Reader, node: At): Address | null {
  const blank = (key: string) => {
    const { value } = at(node, key);
    return value == null || (typeof value === 'string' && value.trim() === '');
  };
  if (['address_1', 'address_2', 'city', 'state', 'postcode', 'country'].every(blank)) return null;

  const countryNode = at(node, 'country');
  const country = read.text(countryNode);
  if (country === null || !/^[A-Z]{2}$/.test(country)) {
    read.report(countryNode.path, 'must be an ISO 3166-1 alpha-2 country code');
  }
  return {
    name: read.personName(node),
    company: read.text(at(node, 'company')),
    line1: read.text(at(node, 'address_1')),
    line2: read.text(at(node, 'address_2')),
    city: read.text(at(node, 'city')),
    region: read.text(at(node, 'state')),
    postalCode: read.text(at(node, 'postcode')),
    country: country ?? '',
    phone: read.text(at(node, 'phone')),
  };
}

/** Billing names are read for the address and for the customer; a bad one is reported once. */
function distinct(problems: InputProblem[]): InputProblem[] {
  const seen = new Set<string>();
  return problems.filter((problem) => {
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function readTaxIncluded(read: Reader, node: At): boolean {
  if (node.value == null) return false;
  if (typeof node.value !== 'boolean') read.report(node.path, 'must be true or false');
  return node.value === true;
}

/** A decimal amount in minor units that may be negative (fees); 0 after a problem. */
function signedAmount(read: Reader, node: At, currency: string | null): number {
  const { value } = node;
  if (value == null) {
    read.report(node.path, 'is required');
    return 0;
  }
  if (typeof value !== 'string' && typeof value !== 'number') {
    read.report(node.path, 'must be a decimal amount');
    return 0;
  }
  if (currency === null) return 0;
  try {
    return toMinorUnits(value, currency);
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    read.report(node.path, error.message);
    return 0;
  }
}

function orderIdOf(read: Reader, root: At): string {
  const node = at(root, 'id');
  const id = read.id(node);
  if (id === null && node.value == null) read.report(node.path, 'an order needs its numeric id');
  return id ?? '';
}

/** `number` is a string ("727", or "WC-1001" with a numbering plugin); a bare number is taken too. */
function orderNumberOf(read: Reader, node: At): string | null {
  const digits = typeof node.value === 'number' ? idDigits(node.value) : null;
  return digits ?? read.text(node);
}

/** `customer_id` 0 is a guest. */
function customerIdOf(read: Reader, node: At): string | null {
  const id = read.id(node);
  return id === null || /^0+$/.test(id) ? null : id;
}

/** Gateway ids of WooCommerce core and the common gateway plugins; any other is unknown. */
const PAYMENT_METHODS: Readonly<Record<string, PaymentMethod>> = {
  cod: 'cash_on_delivery',
  bacs: 'bank_transfer',
  cheque: 'bank_transfer',
  stripe: 'card',
  stripe_cc: 'card',
  woocommerce_payments: 'card',
  'ppcp-credit-card-gateway': 'card',
  square_credit_card: 'card',
  braintree_credit_card: 'card',
  paypal: 'wallet',
  'ppcp-gateway': 'wallet',
  ppec_paypal: 'wallet',
  braintree_paypal: 'wallet',
};

function paymentMethodOf(gateway: string | null): PaymentMethod {
  if (gateway === null || !Object.hasOwn(PAYMENT_METHODS, gateway)) return 'unknown';
  return PAYMENT_METHODS[gateway] ?? 'unknown';
}

/**
 * WooCommerce has one status for the order; payment is read from it and `date_paid`.
 * `processing` without `date_paid` is cash on delivery (paid later); `on-hold` awaits a
 * transfer or a cheque; refunds on a paid order that is not `refunded` are partial.
 */
function paymentStatusOf(status: string | null, paid: boolean, hasRefunds: boolean): ChannelPaymentStatus {
  switch (status ?? '') {
    case 'pending':
    case 'on-hold':
      return 'pending';
    case 'processing':
    case 'completed':
      if (!paid) return 'pending';
      return hasRefunds ? 'partially_refunded' : 'paid';
    case 'refunded':
      return 'refunded';
    case 'failed':
      return 'failed';
    case 'cancelled':
      return paid ? 'paid' : 'voided';
    default:
      // trash and statuses added by plugins say nothing about payment
      return paid ? 'paid' : 'unknown';
  }
}

/**
 * Line names come HTML-escaped from WordPress ("Ship Your Idea &ndash; Color: Black");
 * the canonical order holds plain text. Numeric references and a few common named ones are
 * decoded in one pass; any other `&name;` is left as it is.
 */
function decodeEntities(text: string): string {
  return text.replace(/&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([A-Za-z]{2,8}));/g, (entity, dec?: string, hex?: string, name?: string) => {
    if (name !== undefined) return (Object.hasOwn(NAMED_ENTITIES, name) ? NAMED_ENTITIES[name] : undefined) ?? entity;
    const code = dec !== undefined ? Number(dec) : Number.parseInt(hex ?? '', 16);
    const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
    return valid ? String.fromCodePoint(code) : entity;
  });
}

const NAMED_ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ',
  ndash: '–', mdash: '—', hellip: '…', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”',
  times: '×', euro: '€', pound: '£', yen: '¥', copy: '©', reg: '®', trade: '™', deg: '°',
};
