import {
  channelPaymentStatuses,
  type Address,
  type CanonicalLine,
  type CanonicalOrder,
  type ChannelPaymentStatus,
  type PaymentMethod,
} from '../schemas/canonical-order.ts';
import { verifyBase64HmacSha256 } from './signatures.ts';
import { at, createReader, firstOf, idDigits, type At, type Reader } from './reader.ts';
import type { InboundDelivery, InboundRequest, NormalizeResult, OrderConnector, OrderIntent } from './types.ts';

/** What each order topic asks of the order. All of them deliver the full REST Order. */
const INTENTS: Record<string, OrderIntent> = {
  'orders/create': 'create',
  'orders/updated': 'update',
  'orders/paid': 'update',
  'orders/cancelled': 'cancel',
  // not orders/edited: it carries an order edit, not the order; orders/updated follows it anyway

};

/**
 * Shopify order webhooks (the REST Order resource), routed on `X-Shopify-Topic`.
 * Fixture and field notes: test/fixtures/shopify/orders-create.sample.md.
 */
export const shopify: OrderConnector = {
  channel: 'shopify',
  delivery: 'webhook',
  secretName: 'SHOPIFY_WEBHOOK_SECRET',
  orderTopics: Object.keys(INTENTS),

  /** `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, raw body bytes)). */
  verify(request: InboundRequest, secret: string): boolean {
    return verifyBase64HmacSha256(request.rawBody, request.headers['x-shopify-hmac-sha256'], secret);
  },

  describe(request: InboundRequest): InboundDelivery {
    const { headers } = request;
    // X-Shopify-Event-Id is the same on every delivery of one event (the documented
    // de-duplication key); older deliveries only carry the webhook id.
    const eventId = headers['x-shopify-event-id'] || headers['x-shopify-webhook-id'] || null;
    return { eventId, topic: headers['x-shopify-topic'] ?? '' };
  },

  // Every order topic delivers the same REST Order; the topic alone says what it means (the
  // official create sample carries `cancelled_at`, so the body cannot be trusted for that),
  // except that an `orders/updated` for a cancelled order is a cancellation.
  normalize(body: unknown, delivery: InboundDelivery): NormalizeResult {
    const result = normalizeShopifyOrder(body);
    if (!result.ok) return result;
    const topicIntent = Object.hasOwn(INTENTS, delivery.topic) ? INTENTS[delivery.topic]! : 'update';
    const cancelledAt = at({ value: body, path: '' }, 'cancelled_at').value;
    const intent = delivery.topic === 'orders/updated' && typeof cancelledAt === 'string' && cancelledAt !== '' ? 'cancel' : topicIntent;
    const reason = at({ value: body, path: '' }, 'cancel_reason').value;
    return { ...result, intent, cancelReason: intent === 'cancel' && typeof reason === 'string' ? reason : null };
  },
};

/** A Shopify order payload (the output of `parseJsonLossless`) → canonical order. */
function normalizeShopifyOrder(body: unknown): NormalizeResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ path: '/', message: 'the order must be a JSON object' }] };
  }
  const read = createReader();
  const root: At = { value: body, path: '' };

  const currency = read.currency(at(root, 'currency'));
  const money = (node: At) => read.amount(node, currency);
  const optionalMoney = (node: At) => (node.value == null ? 0 : money(node));

  const lines = read.list(at(root, 'line_items'), 'required').map((node) => readLine(read, node, currency));

  const shippingSet = at(root, 'total_shipping_price_set');
  const shippingLines = at(root, 'shipping_lines');
  const shipping =
    shippingSet.value == null
      ? read.sum(read.list(shippingLines, 'optional').map((line) => money(at(line, 'price'))), shippingLines.path)
      : money(at(at(shippingSet, 'shop_money'), 'amount'));

  const customerNode = at(root, 'customer');
  const customer = read.object(customerNode, 'optional') ? customerNode : null;
  const emails = [
    read.text(at(root, 'email')),
    read.text(at(root, 'contact_email')),
    customer ? read.text(at(customer, 'email')) : null,
  ];
  const phones = [read.text(at(root, 'phone')), customer ? read.text(at(customer, 'phone')) : null];

  const gateways = read.list(at(root, 'payment_gateway_names'), 'optional').flatMap((node) => read.text(node) ?? []);

  const canonical: CanonicalOrder = {
    channel: 'shopify',
    externalId: orderIdOf(read, root),
    externalNumber: read.text(at(root, 'name')),
    placedAt: read.timestamp(at(root, 'created_at')),
    currency: currency ?? 'XXX',
    customer: {
      id: customer ? read.id(at(customer, 'id')) : null,
      email: firstOf(emails),
      phone: firstOf(phones),
      name: customer ? read.personName(customer) : null,
      locale: read.text(at(root, 'customer_locale')),
    },
    lines,
    totals: {
      subtotal: money(at(root, 'total_line_items_price')),
      discounts: money(at(root, 'total_discounts')),
      shipping,
      tax: money(at(root, 'total_tax')),
      taxIncluded: at(root, 'taxes_included').value === true,
      // Tips and duties are part of total_price but of no other total; total_price is the
      // original total, so the original duties (current ones drop after a duty refund).
      otherCharges: read.sum([optionalMoney(at(root, 'total_tip_received')), optionalMoney(at(at(at(root, 'original_total_duties_set'), 'shop_money'), 'amount'))], '/total_price'),
      grandTotal: money(at(root, 'total_price')),
    },
    shippingAddress: readAddress(read, at(root, 'shipping_address')),
    billingAddress: readAddress(read, at(root, 'billing_address')),
    payment: {
      method: paymentMethodOf(gateways[0]),
      provider: gateways[0] ?? null,
      status: paymentStatusOf(read.text(at(root, 'financial_status'))),
    },
    notes: read.text(at(root, 'note')),
    tags: splitTags(read.text(at(root, 'tags'))),
    flags: { gift: false, priority: false, test: at(root, 'test').value === true },
  };

  if (read.problems.length > 0) return { ok: false, problems: read.problems };
  const updatedAt = at(root, 'updated_at').value == null ? null : read.timestamp(at(root, 'updated_at'));
  if (read.problems.length > 0) return { ok: false, problems: read.problems };
  return { ok: true, order: canonical, intent: 'create', updatedAt };
}

function readLine(read: Reader, node: At, currency: string | null): CanonicalLine {
  if (!read.object(node, 'required')) return { sku: '', name: '', quantity: 1, unitPrice: 0, discount: 0, tax: 0 };

  const sku = read.text(at(node, 'sku'));
  if (sku === null || sku.trim() === '') read.report(`${node.path}/sku`, 'a line item needs a SKU');

  const name = read.text(at(node, 'name')) ?? read.text(at(node, 'title'));
  if (name === null) read.report(`${node.path}/name`, 'a line item needs a name or title');

  const quantity = at(node, 'quantity');
  if (!(Number.isSafeInteger(quantity.value) && (quantity.value as number) >= 1)) {
    read.report(quantity.path, 'must be a whole number of at least 1');
  }

  // `total_discount` is deprecated and the checkout leaves it at "0.00": the discount lives in
  // `discount_allocations`. Take the allocations when there are any, else `total_discount`.
  const allocations = read.list(at(node, 'discount_allocations'), 'optional');
  const totalDiscount = at(node, 'total_discount');
  const discount =
    allocations.length > 0
      ? read.sum(allocations.map((a) => read.amount(at(a, 'amount'), currency)), `${node.path}/discount_allocations`)
      : totalDiscount.value == null ? 0 : read.amount(totalDiscount, currency);
  const tax = read.sum(
    read.list(at(node, 'tax_lines'), 'optional').map((t) => read.amount(at(t, 'price'), currency)),
    `${node.path}/tax_lines`,
  );

  return {
    externalLineId: read.id(at(node, 'id')),
    sku: sku ?? '',
    name: name ?? '',
    quantity: typeof quantity.value === 'number' ? quantity.value : 1,
    unitPrice: read.amount(at(node, 'price'), currency),
    discount,
    tax,
  };
}

function readAddress(read: Reader, node: At): Address | null {
  if (!read.object(node, 'optional')) return null;
  const countryCode = at(node, 'country_code');
  const country = read.text(countryCode);
  if (country === null || !/^[A-Z]{2}$/.test(country)) {
    read.report(countryCode.path, 'must be an ISO 3166-1 alpha-2 country code');
  }
  return {
    name: read.text(at(node, 'name')) ?? read.personName(node),
    company: read.text(at(node, 'company')),
    line1: read.text(at(node, 'address1')),
    line2: read.text(at(node, 'address2')),
    city: read.text(at(node, 'city')),
    region: read.text(at(node, 'province_code')) ?? read.text(at(node, 'province')),
    postalCode: read.text(at(node, 'zip')),
    country: country ?? '',
    phone: read.text(at(node, 'phone')),
  };
}

/**
 * Shopify names gateways loosely ('shopify_payments', 'Cash on Delivery (COD)', 'Bank
 * Deposit', 'visa'…). Manual methods are recognised by name; any other gateway takes cards.
 */
function paymentMethodOf(gateway: string | undefined): PaymentMethod {
  if (gateway === undefined) return 'unknown';
  const name = gateway.trim().toLowerCase().replace(/[\s-]+/g, '_');
  if (name.includes('cash_on_delivery') || name === 'cod') return 'cash_on_delivery';
  if (['manual', 'bank_deposit', 'bank_transfer', 'money_order'].some((m) => name.includes(m))) return 'bank_transfer';
  if (name.includes('gift_card')) return 'store_credit';
  if (WALLET_GATEWAYS.some((w) => name.includes(w))) return 'wallet';
  return 'card';
}

const WALLET_GATEWAYS = ['paypal', 'apple_pay', 'google_pay', 'shop_pay', 'amazon_pay', 'alipay', 'wechat_pay', 'klarna'];

function paymentStatusOf(financialStatus: string | null): ChannelPaymentStatus {
  const known: readonly string[] = channelPaymentStatuses;
  return financialStatus !== null && known.includes(financialStatus)
    ? (financialStatus as ChannelPaymentStatus)
    : 'unknown';
}

/** Shopify `tags` is one comma-separated string: "tag1, tag2". */
function splitTags(tags: string | null): string[] {
  return (tags ?? '').split(',').map((tag) => tag.trim()).filter((tag) => tag !== '');
}


/** The order id; a missing `id` falls back to `admin_graphql_api_id` ("gid://shopify/Order/123"). */
function orderIdOf(read: Reader, root: At): string {
  const fromId = idDigits(at(root, 'id').value);
  if (fromId !== null) return fromId;
  const gid = at(root, 'admin_graphql_api_id').value;
  const fromGid = typeof gid === 'string' ? /^gid:\/\/shopify\/Order\/(\d+)$/.exec(gid)?.[1] : undefined;
  if (fromGid !== undefined) return fromGid;
  read.report('/id', 'an order needs a numeric id (or admin_graphql_api_id)');
  return '';
}

