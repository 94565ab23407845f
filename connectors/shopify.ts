import { createHmac, timingSafeEqual } from 'node:crypto';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { InputProblem } from '../core/errors.ts';
import { HubError } from '../core/errors.ts';
import { currencyExponent, toMinorUnits } from '../core/money.ts';
import {
  canonicalOrderSchema,
  channelPaymentStatuses,
  type Address,
  type CanonicalLine,
  type CanonicalOrder,
  type ChannelPaymentStatus,
  type PaymentMethod,
} from '../schemas/canonical-order.ts';
import type { InboundDelivery, InboundRequest, NormalizeResult, OrderConnector } from './types.ts';

/**
 * Shopify order webhooks (`orders/create`; the REST Order resource).
 * Fixture and field notes: test/fixtures/shopify/orders-create.sample.md.
 */
export const shopify: OrderConnector = {
  channel: 'shopify',
  secretName: 'SHOPIFY_WEBHOOK_SECRET',
  orderTopics: ['orders/create'],

  /** `X-Shopify-Hmac-Sha256` = base64(HMAC-SHA256(secret, raw body bytes)). */
  verify(request: InboundRequest, secret: string): boolean {
    const received = request.headers['x-shopify-hmac-sha256'];
    // An unset secret must not turn into "anyone who signs with the empty key".
    if (!received || !secret) return false;
    const expected = createHmac('sha256', secret).update(request.rawBody).digest('base64');
    const a = Buffer.from(received, 'utf8');
    const b = Buffer.from(expected, 'utf8');
    // timingSafeEqual throws on different lengths; the length of a digest is no secret.
    return a.length === b.length && timingSafeEqual(a, b);
  },

  describe(request: InboundRequest): InboundDelivery {
    const { headers } = request;
    // X-Shopify-Event-Id is the same on every delivery of one event (the documented
    // de-duplication key); older deliveries only carry the webhook id.
    const eventId = headers['x-shopify-event-id'] || headers['x-shopify-webhook-id'] || null;
    return { eventId, topic: headers['x-shopify-topic'] ?? '' };
  },

  // Every order topic delivers the same REST Order shape, so the topic does not matter here.
  normalize(body: unknown): NormalizeResult {
    return normalizeShopifyOrder(body);
  },
};

const ajv = new Ajv({ allErrors: true });
// ajv-formats is CommonJS: under NodeNext its default import is the module object.
addFormats.default(ajv);
const validateCanonicalOrder = ajv.compile(canonicalOrderSchema);

/** A Shopify order payload (the output of `parseJsonLossless`) → canonical order. */
function normalizeShopifyOrder(body: unknown): NormalizeResult {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return { ok: false, problems: [{ path: '/', message: 'the order must be a JSON object' }] };
  }
  const read = createReader();
  const root: At = { value: body, path: '' };

  const currency = read.currency(at(root, 'currency'));
  const money = (node: At) => read.amount(node, currency);

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
    externalId: read.orderId(root),
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

  // Past the first problem the order is full of placeholders: the schema would only add noise.
  if (read.problems.length > 0) return { ok: false, problems: read.problems };
  if (!validateCanonicalOrder(canonical)) {
    // These paths point into the canonical order (e.g. `/lines/0/sku` too long), not the payload.
    const problems = (validateCanonicalOrder.errors ?? []).map((error) => ({
      path: error.instancePath || '/',
      message: `canonical order${error.instancePath ? ` ${error.instancePath}` : ''} ${error.message ?? 'is invalid'}`,
    }));
    return { ok: false, problems };
  }
  return { ok: true, order: canonical };
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

  // `total_discount` is deprecated in favour of `discount_allocations`; take either.
  const totalDiscount = at(node, 'total_discount');
  const discount =
    totalDiscount.value == null
      ? read.sum(
          read.list(at(node, 'discount_allocations'), 'optional').map((a) => read.amount(at(a, 'amount'), currency)),
          `${node.path}/discount_allocations`,
        )
      : read.amount(totalDiscount, currency);
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

function firstOf(values: (string | null)[]): string | null {
  return values.find((value) => value !== null) ?? null;
}

// ─── Reading an untrusted payload ────────────────────────────────────────────────────

/** A value inside the payload with its JSON pointer, so every problem can name its place. */
interface At {
  value: unknown;
  path: string;
}

/** The child `key` of `parent`; own properties only, so `constructor` or `__proto__` never leak in. */
function at(parent: At, key: string | number): At {
  const { value } = parent;
  const child =
    typeof value === 'object' && value !== null && Object.hasOwn(value, key)
      ? (value as Record<string | number, unknown>)[key]
      : undefined;
  return { value: child, path: `${parent.path}/${key}` };
}

type Reader = ReturnType<typeof createReader>;

/**
 * Readers that report what is wrong and return a placeholder instead of throwing, so one
 * pass finds every problem. Absent and `null` mean the same thing in Shopify payloads.
 */
function createReader() {
  const problems: InputProblem[] = [];
  const report = (path: string, message: string): void => {
    problems.push({ path: path || '/', message });
  };

  /** a JSON object, or null (reported unless optional and absent) */
  function object(node: At, presence: 'required' | 'optional'): Record<string, unknown> | null {
    const { value } = node;
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    if (value == null && presence === 'optional') return null;
    report(node.path, value == null ? 'is required' : 'must be a JSON object');
    return null;
  }

  /** the elements of an array; absent means none, which is reported when at least one is required */
  function list(node: At, presence: 'required' | 'optional'): At[] {
    const { value } = node;
    if (value != null && !Array.isArray(value)) {
      report(node.path, 'must be an array');
      return [];
    }
    const items = value ?? [];
    if (items.length === 0 && presence === 'required') report(node.path, 'needs at least one item');
    return items.map((_, index) => at(node, index));
  }

  /** optional text; blank counts as absent */
  function text(node: At): string | null {
    const { value } = node;
    if (typeof value === 'string') return value === '' ? null : value;
    if (value != null) report(node.path, 'must be a string');
    return null;
  }

  /**
   * A Shopify id as exact decimal digits. Ids above 2^53 arrive as digit strings from
   * the lossless parser, smaller ones as numbers; both are accepted.
   */
  function id(node: At): string | null {
    const { value } = node;
    if (value == null) return null;
    const digits = idDigits(value);
    if (digits === null) report(node.path, 'must be a numeric id');
    return digits;
  }

  /** The order id; a missing `id` falls back to `admin_graphql_api_id` ("gid://shopify/Order/123"). */
  function orderId(root: At): string {
    const fromId = idDigits(at(root, 'id').value);
    if (fromId !== null) return fromId;
    const gid = at(root, 'admin_graphql_api_id').value;
    const fromGid = typeof gid === 'string' ? /^gid:\/\/shopify\/Order\/(\d+)$/.exec(gid)?.[1] : undefined;
    if (fromGid !== undefined) return fromGid;
    report('/id', 'an order needs a numeric id (or admin_graphql_api_id)');
    return '';
  }

  /** shop currency; null when unusable, which also silences every amount that depends on it */
  function currency(node: At): string | null {
    const code = text(node);
    try {
      if (code !== null) {
        currencyExponent(code);
        return code;
      }
    } catch {
      // reported below
    }
    report(node.path, 'must be an ISO 4217 currency code');
    return null;
  }

  /** a non-negative decimal amount in minor units of `currencyCode`; 0 after a problem */
  function amount(node: At, currencyCode: string | null): number {
    const { value } = node;
    if (value == null) {
      report(node.path, 'is required');
      return 0;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      report(node.path, 'must be a decimal amount');
      return 0;
    }
    if (currencyCode === null) return 0;
    try {
      const minor = toMinorUnits(value, currencyCode);
      if (minor >= 0) return minor;
      report(node.path, 'must not be negative');
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      report(node.path, error.message);
    }
    return 0;
  }

  /** the sum of amounts, reported at `path` if it leaves the safe integer range */
  function sum(amounts: number[], path: string): number {
    const total = amounts.reduce((a, b) => a + b, 0);
    if (Number.isSafeInteger(total)) return total;
    report(path, 'the amounts add up to more than can be represented');
    return 0;
  }

  /** an ISO-8601 timestamp with offset, as UTC `YYYY-MM-DDTHH:mm:ss.sssZ` */
  function timestamp(node: At): string {
    const raw = text(node);
    const utc = raw === null ? null : toUtcTimestamp(raw);
    if (utc === null) report(node.path, 'must be an ISO-8601 timestamp with a UTC offset');
    return utc ?? '';
  }

  /** "first_name last_name", or null when both are blank */
  function personName(node: At): string | null {
    const parts = [text(at(node, 'first_name')), text(at(node, 'last_name'))];
    const name = parts.filter((part) => part !== null).join(' ').trim();
    return name === '' ? null : name;
  }

  return { problems, report, object, list, text, id, orderId, currency, amount, sum, timestamp, personName };
}

function idDigits(value: unknown): string | null {
  if (typeof value === 'string') return /^\d{1,128}$/.test(value) ? value : null;
  if (Number.isSafeInteger(value) && (value as number) >= 0) return String(value);
  return null;
}

const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$/;

/**
 * Shopify stamps times with the shop's offset ("2021-12-31T19:00:00-05:00"); the hub keeps
 * UTC. The regex and calendar check come first because `Date` alone accepts far too much
 * ("March 7", and "02-30" silently becomes March 2).
 */
function toUtcTimestamp(text: string): string | null {
  const match = TIMESTAMP.exec(text);
  if (!match) return null;
  const [year, month, day, hour, minute, second] = match.slice(1, 7).map(Number) as [
    number, number, number, number, number, number,
  ];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const ms = Date.parse(text);
  if (Number.isNaN(ms)) return null;
  const utc = new Date(ms).toISOString();
  // An offset can push year 0000 or 9999 out of the four-digit form ("-000001-…").
  return utc.length === 24 ? utc : null;
}

function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1] ?? 0;
}
