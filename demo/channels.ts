import { createHmac, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { signOwnChannelPayload } from '../connectors/website.ts';
import { shopifyOrderJson, signedHeaders as shopifyHeaders } from './shopify-store.ts';

/**
 * The demo's simulated sales channels. Each turns one generated order into what that
 * platform really sends — its payload shape, its signature — so the hub's connectors do
 * their real work: Shopify and WooCommerce webhooks, the shop's own website and app
 * (canonical orders, signed with a timestamp), and an Amazon marketplace the hub polls.
 */

export interface DemoLine { sku: string; name: string; price: string; quantity: number }
export interface DemoOrder {
  id: bigint;
  lines: DemoLine[];
  country: string;
  province: string;
  city: string;
  zip: string;
  currency: string;
  email: string;
}
export interface Delivery { path: string; body: string; headers: Record<string, string> }

const cents = (price: string) => Math.round(Number(price) * 100); // demo prices have two decimals
const decimal = (minor: number) => (minor / 100).toFixed(2);
const subtotalOf = (o: DemoOrder) => o.lines.reduce((s, l) => s + cents(l.price) * l.quantity, 0);
const SHIPPING = 1000;

export function shopifyDelivery(o: DemoOrder, secret: string, eventId: string): Delivery {
  const body = shopifyOrderJson(o, new Date());
  return { path: '/webhooks/orders/shopify', body, headers: shopifyHeaders(body, secret, eventId) };
}

/** A WooCommerce REST v3 order, as the `order.created` webhook delivers it. */
export function woocommerceDelivery(o: DemoOrder, secret: string): Delivery {
  const now = new Date().toISOString().slice(0, 19);
  const subtotal = subtotalOf(o);
  const id = Number(o.id % 1_000_000n);
  const address = { first_name: 'Demo', last_name: 'Kunde', company: '', address_1: 'Demostraße 1', address_2: '', city: o.city, state: o.province, postcode: o.zip, country: o.country };
  const order = {
    id, parent_id: 0, number: String(id), order_key: `wc_order_${randomBytes(6).toString('hex')}`, created_via: 'checkout', version: '9.4.0',
    status: 'processing', currency: o.currency, date_created: now, date_created_gmt: now, date_modified: now, date_modified_gmt: now,
    discount_total: '0.00', discount_tax: '0.00', shipping_total: decimal(SHIPPING), shipping_tax: '0.00', cart_tax: '0.00',
    total: decimal(subtotal + SHIPPING), total_tax: '0.00', prices_include_tax: false, customer_id: 0, customer_ip_address: '', customer_user_agent: '',
    customer_note: '', billing: { ...address, email: o.email, phone: '' }, shipping: address,
    payment_method: 'stripe', payment_method_title: 'Credit card', transaction_id: `pi_${randomBytes(8).toString('hex')}`,
    date_paid: now, date_paid_gmt: now, date_completed: null, date_completed_gmt: null, cart_hash: '', meta_data: [],
    line_items: o.lines.map((l, i) => ({
      id: id * 10 + i, name: l.name, product_id: 100 + i, variation_id: 0, quantity: l.quantity, tax_class: '',
      subtotal: decimal(cents(l.price) * l.quantity), subtotal_tax: '0.00', total: decimal(cents(l.price) * l.quantity), total_tax: '0.00',
      taxes: [], meta_data: [], sku: l.sku, price: Number(l.price),
    })),
    tax_lines: [], shipping_lines: [{ id: id * 10 + 9, method_title: 'Flat Rate', method_id: 'flat_rate', total: decimal(SHIPPING), total_tax: '0.00', taxes: [], meta_data: [] }],
    fee_lines: [], coupon_lines: [], refunds: [],
  };
  const body = JSON.stringify(order, null, 2);
  return {
    path: '/webhooks/orders/woocommerce',
    body,
    headers: {
      'content-type': 'application/json',
      'x-wc-webhook-source': 'https://demo-store.example/',
      'x-wc-webhook-topic': 'order.created',
      'x-wc-webhook-resource': 'order',
      'x-wc-webhook-event': 'created',
      'x-wc-webhook-id': '7',
      'x-wc-webhook-delivery-id': randomBytes(16).toString('hex'),
      'x-wc-webhook-signature': createHmac('sha256', secret).update(body).digest('base64'),
    },
  };
}

/** The shop's own website or app: the canonical order, signed with a timestamp. */
export function ownChannelDelivery(channel: 'website' | 'app', o: DemoOrder, secret: string, eventId: string): Delivery {
  const subtotal = subtotalOf(o);
  const order = {
    externalId: `${channel === 'app' ? 'A' : 'W'}-${o.id % 10_000_000n}`,
    externalNumber: null,
    placedAt: new Date().toISOString(),
    currency: o.currency,
    customer: { id: null, email: o.email, phone: null, name: 'Demo Customer', locale: 'en' },
    lines: o.lines.map((l) => ({ sku: l.sku, name: l.name, quantity: l.quantity, unitPrice: cents(l.price), discount: 0, tax: 0 })),
    totals: { subtotal, discounts: 0, shipping: SHIPPING, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: subtotal + SHIPPING },
    shippingAddress: { name: 'Demo Customer', line1: '1 Demo Street', city: o.city, region: o.province, postalCode: o.zip, country: o.country },
    billingAddress: null,
    // The web shop sends its orders before the card is captured; Stripe's webhook pays them.
    payment: { method: 'card', provider: 'stripe', status: channel === 'website' ? 'pending' : 'paid' },
    notes: null,
    tags: ['demo'],
    flags: { gift: false, priority: false, test: true },
    ...(channel === 'app' ? { client: { platform: Number(o.id % 2n) === 0 ? 'ios' : 'android', appVersion: '5.12.0', deviceId: randomBytes(8).toString('hex'), osVersion: '18.1' } } : {}),
  };
  const body = JSON.stringify(order);
  return {
    path: `/webhooks/orders/${channel}`,
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signOwnChannelPayload(body, secret, Math.floor(Date.now() / 1000)),
      'x-hub-event-id': eventId,
      'x-hub-topic': 'order.created',
    },
  };
}

/**
 * A simulated Amazon marketplace: an SP-API server on loopback with the orders "sold" there,
 * which the hub's poller reads (getOrders by LastUpdatedAfter, getOrderItems), paging with
 * NextToken. Seller SKUs are Amazon's own, mapped to the hub's by the channel's skuMap.
 */
export async function startAmazonMarketplace(token: string, port = 0) {
  const orders: { order: Record<string, unknown>; items: Record<string, unknown>[]; updated: number }[] = [];
  let requests = 0;
  const server: Server = createServer((req, res) => {
    requests++;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const send = (status: number, payload: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ratelimit-limit': '20.0' });
      res.end(JSON.stringify(payload));
    };
    if (req.headers['x-amz-access-token'] !== token) return send(403, { errors: [{ code: 'Unauthorized', message: 'Access to requested resource is denied.' }] });
    const items = /^\/orders\/v0\/orders\/([^/]+)\/orderItems$/.exec(url.pathname);
    if (items) {
      const found = orders.find((o) => o.order.AmazonOrderId === items[1]);
      return found ? send(200, { payload: { AmazonOrderId: items[1], OrderItems: found.items } }) : send(404, { errors: [{ code: 'NotFound' }] });
    }
    if (url.pathname === '/orders/v0/orders') {
      // A NextToken request carries only the token, so the token carries the window.
      const token = url.searchParams.get('NextToken');
      const [afterText, beforeText, startText] = token ? token.split('|') : [url.searchParams.get('LastUpdatedAfter'), url.searchParams.get('LastUpdatedBefore'), '0'];
      const after = Date.parse(afterText ?? '1970-01-01T00:00:00Z');
      const before = beforeText ? Date.parse(beforeText) : Infinity;
      const start = Number(startText ?? 0);
      const matching = orders.filter((o) => o.updated > after && o.updated <= before);
      const page = matching.slice(start, start + 20);
      const next = start + 20 < matching.length ? `${afterText ?? ''}|${beforeText ?? ''}|${start + 20}` : undefined;
      return send(200, { payload: { Orders: page.map((o) => o.order), ...(next ? { NextToken: next } : {}), LastUpdatedBefore: new Date().toISOString() } });
    }
    return send(404, { errors: [{ code: 'NotFound' }] });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const amazonSku: Record<string, string> = { 'SKU2006-001': 'AMZ-AVIATOR', 'TSHIRT-BLK-M': 'AMZ-TEE-BLK-M', 'MUG-CLASSIC': 'AMZ-MUG' };
  return {
    port: (server.address() as AddressInfo).port,
    /** seller SKUs this marketplace lists (the hub maps them) */
    skus: Object.keys(amazonSku),
    requests: () => requests,
    /** An order sold on the marketplace; returns its AmazonOrderId. */
    sell(o: DemoOrder): string {
      const id = `113-${String(o.id % 10_000_000n).padStart(7, '0')}-${String(o.id % 7_000_000n).padStart(7, '0')}`;
      // SP-API shows an order two minutes after its last update; the simulated sale happened
      // just before that, so the poller (which reads up to now − 2 min) sees it at once.
      const now = new Date(Date.now() - 150_000);
      const money = (minor: number) => ({ CurrencyCode: o.currency, Amount: decimal(minor) });
      const subtotal = subtotalOf(o);
      orders.push({
        updated: now.getTime(),
        order: {
          AmazonOrderId: id, PurchaseDate: now.toISOString(), LastUpdateDate: now.toISOString(), OrderStatus: 'Unshipped',
          FulfillmentChannel: 'MFN', SalesChannel: 'Amazon.com', ShipServiceLevel: 'Std US D2D Dom', NumberOfItemsShipped: 0,
          NumberOfItemsUnshipped: o.lines.reduce((s, l) => s + l.quantity, 0), PaymentMethod: 'Other', PaymentMethodDetails: ['Standard'],
          MarketplaceId: 'ATVPDKIKX0DER', ShipmentServiceLevelCategory: 'Standard', OrderType: 'StandardOrder', IsPrime: false,
          IsBusinessOrder: false, IsPremiumOrder: false, IsReplacementOrder: false, OrderTotal: money(subtotal + SHIPPING),
          BuyerInfo: { BuyerEmail: o.email },
          ShippingAddress: { Name: 'Demo Buyer', AddressLine1: '1 Demo Street', City: o.city, StateOrRegion: o.province, PostalCode: o.zip, CountryCode: o.country },
        },
        items: o.lines.map((l, i) => ({
          ASIN: `B0DEMO${i}`, SellerSKU: amazonSku[l.sku] ?? l.sku, OrderItemId: `${id.replaceAll('-', '')}${i}`, Title: l.name,
          QuantityOrdered: l.quantity, QuantityShipped: 0, ItemPrice: money(cents(l.price) * l.quantity), ItemTax: money(0),
          ShippingPrice: money(i === 0 ? SHIPPING : 0), ShippingTax: money(0), ShippingDiscount: money(0), PromotionDiscount: money(0),
        })),
      });
      return id;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * A simulated warehouse system: for each fulfilment request it reports back on the hub's
 * warehouse-events queue — accepted, then shipped with a tracking number — as a WMS would.
 */
export function wmsEvents(request: { warehouse: string; shipmentId: string; carrier: string | null; lines: { sku: string; quantity: number }[] }) {
  const trackingNumber = `DEMO${createHmac('sha256', 'demo').update(request.shipmentId).digest('hex').slice(0, 12).toUpperCase()}`;
  const event = (type: string, data: Record<string, unknown>) => ({
    specversion: '1.0', id: `${type}:${request.shipmentId}`, source: `/demo-wms/${request.warehouse}`, type, time: new Date().toISOString(),
    datacontenttype: 'application/json', data: { warehouse: request.warehouse, shipmentId: request.shipmentId, ...data },
  });
  const carrier = request.carrier ?? 'ups';
  return {
    trackingNumber,
    carrier,
    accepted: event('fulfillment.accepted', {}),
    shipped: event('fulfillment.shipped', { carrier, trackingNumber, lines: request.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })) }),
  };
}

/** A simulated carrier: EasyPost's `tracker.updated` for a delivered parcel, signed as EasyPost signs it. */
export function easypostDelivered(carrier: string, trackingCode: string, secret: string): Delivery {
  const now = new Date().toISOString().slice(0, 19) + 'Z';
  const body = JSON.stringify({
    object: 'Event', id: `evt_${trackingCode}`, description: 'tracker.updated', mode: 'test', created_at: now,
    result: {
      object: 'Tracker', id: `trk_${trackingCode}`, tracking_code: trackingCode, carrier: carrier.toUpperCase(), status: 'delivered', status_detail: 'arrived_at_destination',
      updated_at: now, public_url: `https://track.easypost.com/${trackingCode}`, est_delivery_date: null,
      tracking_details: [{ object: 'TrackingDetail', message: 'Delivered', status: 'delivered', status_detail: 'arrived_at_destination', datetime: now }],
    },
  });
  const signature = createHmac('sha256', secret.normalize('NFKD')).update(body).digest('hex');
  return { path: '/webhooks/carriers/easypost', body, headers: { 'content-type': 'application/json', 'x-hmac-signature': `hmac-sha256-hex=${signature}` } };
}

/**
 * A simulated payment provider: Stripe's `payment_intent.succeeded` for a web-shop order, the
 * order's id in the PaymentIntent's metadata (as Stripe's checkout integrations put it),
 * signed as Stripe signs (`Stripe-Signature: t=…,v1=HMAC-SHA256(secret, "t.body")`).
 */
export function stripePaymentSucceeded(o: DemoOrder, externalId: string, secret: string): Delivery {
  const amount = subtotalOf(o) + SHIPPING;
  const created = Math.floor(Date.now() / 1000);
  const id = randomBytes(8).toString('hex');
  const body = JSON.stringify({
    id: `evt_${id}`, object: 'event', api_version: '2024-06-20', created, livemode: false, pending_webhooks: 1,
    request: { id: null, idempotency_key: null }, type: 'payment_intent.succeeded',
    data: { object: {
      id: `pi_${id}`, object: 'payment_intent', amount, amount_received: amount, currency: o.currency.toLowerCase(), status: 'succeeded',
      metadata: { order_id: externalId }, payment_method_types: ['card'], latest_charge: `ch_${id}`, created,
    } },
  });
  const signature = createHmac('sha256', secret).update(`${created}.${body}`).digest('hex');
  return { path: '/webhooks/payments/stripe', body, headers: { 'content-type': 'application/json', 'stripe-signature': `t=${created},v1=${signature}` } };
}

/** A customer's call from the shop's own website or app (receipt, rating, a return), signed as its orders are. */
export function customerCall(channel: 'website' | 'app', call: { type: string; externalId: string } & Record<string, unknown>, secret: string): Delivery {
  const body = JSON.stringify(call);
  return {
    path: `/webhooks/customers/${channel}`,
    body,
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signOwnChannelPayload(body, secret, Math.floor(Date.now() / 1000)),
      'x-hub-event-id': randomBytes(8).toString('hex'),
    },
  };
}

/** A simulated warehouse's receipt of returned goods: most units resellable, now and then one damaged. */
export function wmsReturnReceived(expected: { warehouse: string; rmaId: string; lines: { sku: string; quantity: number }[] }) {
  return {
    specversion: '1.0', id: `return.received:${expected.rmaId}`, source: `/demo-wms/${expected.warehouse}`, type: 'return.received', time: new Date().toISOString(),
    datacontenttype: 'application/json',
    data: {
      warehouse: expected.warehouse, rmaId: expected.rmaId,
      lines: expected.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, resellable: Math.random() < 0.8 ? l.quantity : l.quantity - 1 })),
    },
  };
}
