/**
 * The AsyncAPI 3.0 description of everything the hub says and hears on RabbitMQ: the topic
 * exchange `{ns}.events` and its routing keys (one channel per routing key), every stage
 * queue, the retry (wait) and parking exchanges and queues, the warehouses' outbound queues
 * `{ns}.out.warehouse.{code}` and the inbound `{ns}.in.warehouse-events`. Every message is a
 * CloudEvent 1.0 in structured JSON mode; each event type has its own `data` schema.
 *
 * A plain, JSON-serialisable object, served at `GET /asyncapi.json`. The stage queues and
 * the routing keys bound to them come from `stageBindings` (core/messaging/topology.ts); the
 * canonical order and address schemas are the ones in schemas/. test/asyncapi.test.ts parses
 * it with @asyncapi/parser and checks it against `hubTopology()` and against every event type
 * the source publishes or handles, so an undocumented one fails the tests.
 */
import { stageBindings, type Stage } from '../core/messaging/topology.ts';
import { orderStatuses } from '../core/order/status.ts';
import { remedyChoices } from '../core/stages/remedies.ts';
import { addressSchema, canonicalOrderSchema, orderLineSchema, paymentMethods } from '../schemas/canonical-order.ts';
import { configSchema } from '../schemas/config.ts';
import { exceptionActionSchema } from '../schemas/exception-action.ts';

type Json = Record<string, unknown>;
// a type, not an interface: it must fit `Json` (an interface has no implicit index signature)
export type Ref = { $ref: string };

/** AMQP 0-9-1 channel binding 0.3.0, plus the queue arguments and bindings the hub declares. */
export interface AmqpChannelBinding {
  is: 'queue' | 'routingKey';
  exchange?: { name: string; type: 'topic' | 'fanout' | 'direct'; durable: boolean; autoDelete: boolean; vhost: string };
  queue?: { name: string; durable: boolean; exclusive: boolean; autoDelete: boolean; vhost: string };
  /** `x-arguments` of queue.declare (is=queue); values may name a parameter: "{delayMs}" */
  'x-arguments'?: Record<string, string | number>;
  /** queue.bind calls for this queue (is=queue): exchange and routing-key pattern */
  'x-bindings'?: { exchange: string; routingKey: string }[];
  bindingVersion: '0.3.0';
}
export interface ChannelObject {
  address: string;
  title: string;
  description: string;
  parameters?: Record<string, Ref>;
  messages: Record<string, Ref>;
  bindings: { amqp: AmqpChannelBinding };
}
export interface OperationObject {
  action: 'send' | 'receive';
  channel: Ref;
  title: string;
  description: string;
  messages: Ref[];
  bindings: { amqp: Json };
}
export interface MessageObject {
  /** the CloudEvent `type` (for event messages) */
  name: string;
  title: string;
  summary: string;
  description?: string;
  contentType: string;
  payload: Json;
  headers?: Json;
  bindings?: { amqp: { messageType?: string; bindingVersion: '0.3.0' } };
  examples?: { name: string; summary: string; payload: Json }[];
}
export interface AsyncApiDocument {
  asyncapi: '3.0.0';
  id: string;
  info: Json;
  defaultContentType: string;
  servers: Record<string, Json>;
  channels: Record<string, ChannelObject>;
  operations: Record<string, OperationObject>;
  components: {
    schemas: Record<string, unknown>;
    messages: Record<string, MessageObject>;
    parameters: Record<string, Json>;
    securitySchemes: Record<string, Json>;
  };
}

const CONTENT_TYPE = 'application/cloudevents+json';
const schema = (name: string): Ref => ({ $ref: `#/components/schemas/${name}` });
const parameter = (name: string): Ref => ({ $ref: `#/components/parameters/${name}` });

// ---------------------------------------------------------------------------------------
// Schemas shared by the event data
// ---------------------------------------------------------------------------------------

/** The canonical order as schemas/ defines it; its `$id` is dropped (it is embedded here). */
const canonicalOrder: Json = Object.fromEntries(Object.entries(canonicalOrderSchema).filter(([key]) => key !== '$id'));
const warehouseCode = { ...configSchema.properties.warehouses.items.properties.code, description: 'a warehouse code (config `warehouses[].code`)' };
const carrierCode = { ...configSchema.properties.carriers.items.properties.code, description: 'a carrier code (config `carriers[].code`)' };
const serviceLevel = { ...configSchema.properties.carriers.items.properties.services.items.properties.code, description: "the carrier's service code (config `carriers[].services[].code`)" };
const sku = orderLineSchema.properties.sku;
const currency = canonicalOrderSchema.properties.currency;
const minorUnits = { type: 'integer', minimum: 0, maximum: 9_007_199_254_740_991, description: 'minor units of the currency (ISO 4217 exponent)' };
const localDate = { type: 'string', format: 'date', description: 'YYYY-MM-DD' };
const text = { type: 'string' };
const textOrNull = { type: ['string', 'null'] };
const orNull = (nonNull: Json | Ref): Json => ({ anyOf: [nonNull, { type: 'null' }] });
const strings = { type: 'array', items: text };
// AsyncAPI's `discriminator` is a property name, not ajv's object: the action's own `type` says which it is.
const exceptionAction: Json = Object.fromEntries(Object.entries(exceptionActionSchema).filter(([key]) => key !== 'discriminator'));

const orderId = { type: 'string', format: 'uuid', description: 'the hub order id (also the CloudEvent `subject`)' };
const orderNumber = { type: 'string', minLength: 1, description: "the hub's order number", examples: ['HUB-20260115-000042'] };
const orderRef = { orderId: schema('OrderId'), orderNumber: schema('OrderNumber') };
const skuQuantity = {
  type: 'object', required: ['sku', 'quantity'],
  properties: { sku: schema('Sku'), quantity: { type: 'integer', minimum: 1 } },
};

/** What the hub sends: every attribute is set (cloudEvent() in core/messaging/cloudevent.ts). */
const cloudEventSchema = {
  type: 'object',
  description: 'CloudEvents 1.0, structured JSON mode. AMQP properties: message-id = `id`, type = `type`, content-type = application/cloudevents+json, persistent.',
  required: ['specversion', 'id', 'source', 'type', 'subject', 'time', 'datacontenttype', 'data'],
  properties: {
    specversion: { type: 'string', const: '1.0' },
    id: { type: 'string', minLength: 1, description: 'fixed when the message is written to the outbox: the same on every redelivery, so consumers de-duplicate on it' },
    source: { type: 'string', format: 'uri-reference', description: '`/order-hub/<ns>/<stage>` (`/order-hub/<ns>/inbound/<source>` for intake, `/order-hub/<ns>/inventory` for stock)', examples: ['/order-hub/hub/release'] },
    type: { type: 'string', pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$', description: 'the event type; also the routing key, unless the type says otherwise' },
    subject: { type: 'string', description: 'the hub order id for order events; see each type for the others' },
    time: { type: 'string', format: 'date-time', description: 'UTC' },
    datacontenttype: { type: 'string', const: 'application/json' },
    data: { type: 'object' },
  },
};

/** What the hub's consumers accept (parseCloudEvent): any CloudEvent whose data is an object. */
const inboundCloudEventSchema = {
  type: 'object',
  description: 'CloudEvents 1.0, structured JSON mode, as the hub consumes it (from other systems, e.g. a warehouse\'s WMS). The hub needs `specversion`, `id` (it de-duplicates on it: keep it the same when sending again), `type` and an object `data`; a message without them is parked.',
  required: ['specversion', 'id', 'source', 'type', 'data'],
  properties: {
    specversion: { type: 'string', const: '1.0' },
    id: { type: 'string', minLength: 1 },
    source: { type: 'string', format: 'uri-reference', examples: ['wms/us-east'] },
    type: { type: 'string' },
    subject: { type: 'string' },
    time: { type: 'string', format: 'date-time', description: 'when it happened (a shipped event: when the parcel left)' },
    datacontenttype: { type: 'string', const: 'application/json' },
    data: { type: 'object' },
  },
};

/** Headers the consume adapter adds when it schedules a retry or parks a message. */
const retryHeaders = {
  type: 'object',
  properties: {
    'x-hub-attempt': { type: 'integer', minimum: 1, description: 'the attempt the message goes to (a retry) or the last one made (parked)' },
    'x-hub-reason': { type: 'string', maxLength: 2000, description: 'why it was retried or parked' },
    'x-hub-queue': { type: 'string', description: 'the queue it came from (and goes back to)' },
  },
};
const parkedHeaders = {
  type: 'object',
  properties: {
    ...retryHeaders.properties,
    'x-hub-parked': { type: 'boolean', const: true, description: 'parked by the consume adapter (absent when the broker dead-lettered it)' },
    'x-death': { type: 'array', items: { type: 'object' }, description: "set by the broker when it dead-lettered the message (delivery limit reached); `queue` and `count` say where from and how often" },
  },
};

// ---------------------------------------------------------------------------------------
// The event types: what each one's `data` holds
// ---------------------------------------------------------------------------------------

interface EventSpec {
  summary: string;
  description?: string;
  /** the `data` schema */
  data: Json;
  /** the routing key when it is not the type itself ({code}: the warehouse) */
  routingKey?: string;
  examples?: { name: string; summary: string; payload: Json }[];
}

const object = (required: string[], properties: Json, more: Json = {}): Json => ({ type: 'object', required, properties, ...more });
const rawDelivery = (what: string): Json => object(['rawId', 'source', 'topic'], {
  rawId: { type: 'integer', minimum: 1, description: `the stored raw delivery (${what}); also the CloudEvent \`subject\`` },
  source: { type: 'string', description: 'who sent it: the channel, provider, carrier or `warehouse-<code>`' },
  topic: { type: 'string', description: "the sender's topic or event name, as it named it" },
});
const paymentEntry = object(
  ['provider', 'account', 'entryId', 'paymentId', 'kind', 'amount', 'currency', 'occurredAt', 'method', 'match'],
  {
    provider: text,
    account: { ...textOrNull, description: 'the provider account it happened in, when known' },
    entryId: { type: 'string', description: 'unique per provider for this movement of money' },
    paymentId: text,
    kind: { type: 'string', enum: ['authorized', 'captured', 'failed', 'refunded', 'disputed', 'voided'] },
    amount: minorUnits,
    currency: schema('Currency'),
    occurredAt: { type: 'string', format: 'date-time' },
    method: { type: 'string', enum: paymentMethods },
    match: object([], { orderId: text, orderNumber: text, externalOrderId: text }, { description: 'how to find the order' }),
    failureReason: textOrNull,
    cumulative: { type: 'boolean' },
  },
);
const deliveryPlan = object(['carrier', 'serviceLevel', 'transitDays', 'promisedShipDate', 'promisedDeliveryDate', 'rule'], {
  carrier: schema('CarrierCode'), serviceLevel: schema('ServiceLevel'), transitDays: { type: 'integer', minimum: 0 },
  promisedShipDate: localDate, promisedDeliveryDate: localDate, rule: { type: 'string', description: 'why this carrier and these dates, in words' },
});
const shortage = object(['sku', 'wanted', 'available'], { sku: schema('Sku'), wanted: { type: 'integer' }, available: { type: 'integer' } });
const shipmentRef = { shipmentId: { type: 'string', description: '`<orderId>:<warehouse>`' }, warehouse: schema('WarehouseCode') };
const returnKind = { type: 'string', enum: ['refund', 'exchange'] };
const returnLine = object(['sku', 'quantity'], { sku: schema('Sku'), quantity: { type: 'integer', minimum: 1 }, exchangeSku: schema('Sku') });
const receivedLine = object(['sku', 'quantity', 'resellable'], {
  sku: schema('Sku'), quantity: { type: 'integer', minimum: 0, description: 'units received' },
  resellable: { type: 'integer', minimum: 0, description: 'of those, units fit to sell again (at most `quantity`)' },
});

/** Shipping address of a fulfilment request: the order's address plus the customer's email. */
const shipTo = {
  ...addressSchema,
  required: [...addressSchema.required, 'email'],
  properties: { ...addressSchema.properties, email: { type: ['string', 'null'], maxLength: 320 } },
};

const fulfillmentRequestData = {
  type: 'object',
  additionalProperties: false,
  required: [
    'orderId', 'orderNumber', 'channel', 'externalOrderId', 'warehouse', 'shipmentId', 'lines', 'shipTo', 'carrier',
    'serviceLevel', 'promisedShipDate', 'promisedDeliveryDate', 'split', 'flags', 'notes', 'requestedAt',
  ],
  properties: {
    ...orderRef,
    channel: { ...canonicalOrderSchema.properties.channel, description: 'the sales channel' },
    externalOrderId: { ...canonicalOrderSchema.properties.externalId, description: "the channel's own order id" },
    ...shipmentRef,
    lines: {
      type: 'array', minItems: 1, description: "this warehouse's lines only",
      items: { type: 'object', additionalProperties: false, required: ['sku', 'name', 'quantity'], properties: { sku: schema('Sku'), name: orderLineSchema.properties.name, quantity: orderLineSchema.properties.quantity } },
    },
    shipTo,
    carrier: schema('CarrierCode'),
    serviceLevel: schema('ServiceLevel'),
    promisedShipDate: localDate,
    promisedDeliveryDate: localDate,
    split: object(['index', 'of'], { index: { type: 'integer', minimum: 1, description: 'counted from 1' }, of: { type: 'integer', minimum: 1 } }, { additionalProperties: false, description: 'which part of a split order this is' }),
    flags: canonicalOrderSchema.properties.flags,
    notes: canonicalOrderSchema.properties.notes,
    requestedAt: { type: 'string', format: 'date-time' },
  },
};

/** Events the hub publishes on `{ns}.events`, by type. */
const published: Record<string, EventSpec> = {
  'inbound.accepted': {
    summary: 'An order delivery from a channel was stored raw; normalize turns it into a canonical order',
    description: 'Sent by the webhooks, the pollers and a replay (`POST /api/dead-letters/:id/replay`). Subject: the raw delivery id.',
    data: rawDelivery('an order webhook or a polled order'),
  },
  'payment.received': {
    summary: 'Payment news to go into the ledger: a stored provider notification, or entries an operator recorded',
    description: 'Subject: the raw delivery id (webhook) or the order id (operator).',
    data: {
      oneOf: [
        rawDelivery('a payment provider notification'),
        object(['entries', 'actor'], { entries: { type: 'array', minItems: 1, items: paymentEntry }, actor: text }),
      ],
    },
  },
  'tracking.received': {
    summary: "A carrier's tracking notification was stored raw; the tracking stage moves the parcels on",
    description: 'Subject: the raw delivery id.',
    data: rawDelivery('a carrier webhook'),
  },
  'warehouse.event_received': {
    summary: 'A warehouse posted an event (`POST /webhooks/warehouses/:code`); it is handled as if published to `{ns}.in.warehouse-events`',
    description: 'Subject: the raw delivery id; the stored body is the warehouse\'s CloudEvent (see the messages of `{ns}.in.warehouse-events`).',
    data: rawDelivery('a warehouse webhook'),
  },
  'order.received': {
    summary: 'A new order (or one to validate again: edited, reduced, stock arrived)',
    data: object(['orderId', 'orderNumber', 'channel', 'externalId'], { ...orderRef, channel: canonicalOrderSchema.properties.channel, externalId: canonicalOrderSchema.properties.externalId }),
  },
  'order.validated': {
    summary: 'The order passed validation (or a warehouse refused it and it is to be allocated elsewhere)',
    data: object(['orderId', 'orderNumber'], {
      ...orderRef,
      creditHold: { ...minorUnits, description: 'store credit to hold for the order' },
      currency: schema('Currency'),
      excludeWarehouses: { type: 'array', items: schema('WarehouseCode'), description: 'warehouses that refused the order' },
    }),
  },
  'order.rejected': {
    summary: 'The order failed validation',
    data: object(['orderId', 'orderNumber', 'rules', 'reason', 'remedies'], { ...orderRef, rules: strings, reason: text, remedies: strings }),
  },
  'order.on_hold': {
    summary: 'A person must look at the order (risk, address, no delivery plan, …)',
    data: object(['orderId', 'orderNumber', 'reason'], { ...orderRef, reason: text, rules: strings, exception: { type: 'string', description: 'the exception type opened' } }),
  },
  'order.backordered': {
    summary: 'Not enough stock: the order waits (the customer is offered remedies)',
    data: object(['orderId', 'orderNumber', 'reason'], { ...orderRef, reason: text, shortages: { type: 'array', items: shortage }, remedies: strings }),
  },
  'order.allocated': {
    summary: 'Stock reserved in one or more warehouses, with a delivery plan per shipment',
    data: object(['orderId', 'orderNumber', 'shipments'], {
      ...orderRef,
      shipments: {
        type: 'array', minItems: 1,
        items: object(['warehouse', 'lines', 'delivery'], { warehouse: schema('WarehouseCode'), lines: { type: 'array', items: skuQuantity }, delivery: deliveryPlan }),
      },
    }),
  },
  'order.cancelled': {
    summary: 'The order is cancelled (channel, customer, payment timeout, or the warehouse stopped it after release)',
    data: object(['orderId', 'orderNumber', 'reason'], { ...orderRef, reason: text, ...shipmentRef }),
  },
  'order.cancel_requested': {
    summary: 'A channel cancelled an order already released or shipped; the warehouses are asked to stop it',
    data: object(['orderId', 'orderNumber', 'reason', 'status'], { ...orderRef, reason: text, status: { type: 'string', enum: orderStatuses } }),
  },
  'order.reduced': {
    summary: 'The customer chose to ship what is available: lines removed, a refund due',
    data: object(['orderId', 'orderNumber', 'removed', 'refundDue', 'currency'], {
      ...orderRef, removed: { type: 'array', items: skuQuantity }, refundDue: minorUnits, currency: schema('Currency'),
    }),
  },
  'order.remedy_chosen': {
    summary: "The customer's answer to a shortage (recorded through the operator API)",
    data: object(['orderId', 'choice'], { orderId: schema('OrderId'), choice: { type: 'string', enum: remedyChoices }, actor: text }),
  },
  'order.remedy_applied': {
    summary: 'The customer chose to wait for stock; the order stays backordered',
    data: object(['orderId', 'orderNumber', 'choice'], { ...orderRef, choice: { type: 'string', enum: remedyChoices } }),
  },
  'order.allocation_override_requested': {
    summary: "An operator's choice of warehouse, carrier or service level, applied by the allocate stage",
    data: object(['orderId', 'actor'], {
      orderId: schema('OrderId'), warehouse: orNull(schema('WarehouseCode')), carrier: orNull(schema('CarrierCode')), serviceLevel: orNull(schema('ServiceLevel')),
      reason: { type: ['string', 'null'], maxLength: 500 }, actor: text,
      allowSplit: { type: 'boolean', description: 'the order may be split across warehouses even where its channel does not allow it (exception desk `split`)' },
      exceptionId: { type: 'integer', minimum: 1, description: 'the exception the override resolves (exception desk)' },
    }),
  },
  'order.shipped': {
    summary: 'A warehouse shipped a parcel of the order (`complete`: nothing is left to ship)',
    data: object(['orderId', 'orderNumber', 'shipmentId', 'warehouse', 'carrier', 'trackingCode', 'lines', 'complete'], {
      ...orderRef, ...shipmentRef, carrier: text, trackingCode: text, lines: { type: 'array', minItems: 1, items: skuQuantity }, complete: { type: 'boolean' },
    }),
  },
  'order.delivered': {
    summary: 'Every parcel of the order is delivered',
    description: 'From the carrier\'s tracking; or from the customer confirming receipt of a shipped order before the carrier did (then `confirmedBy` says who, and the parcel named is the latest one shipped).',
    data: object(['orderId', 'orderNumber', 'carrier', 'trackingCode'], {
      ...orderRef, carrier: text, trackingCode: text,
      confirmedBy: { type: 'string', description: 'who confirmed receipt: the name of the API key an operator used (`admin` for HUB_ADMIN_TOKEN) or `customer:<channel>`; absent when the carrier reported it' },
    }),
  },
  'order.completed': {
    summary: 'The order is completed: receipt confirmed, or delivered long enough ago with no return or dispute open',
    data: object(['orderId', 'orderNumber', 'action', 'completedBy'], {
      ...orderRef,
      action: { type: 'string', enum: ['confirm_receipt', 'auto_complete'] },
      completedBy: { type: 'string', description: 'the API key\'s name (an operator, on the customer\'s behalf; `admin` for HUB_ADMIN_TOKEN), `customer:<channel>` (the website or app) or `job:auto-complete`', examples: ['customer:website'] },
    }),
  },
  'order.feedback_received': {
    summary: "The customer rated the order (one rating per order; it feeds the satisfaction figures)",
    data: object(['orderId', 'orderNumber', 'rating', 'comment', 'source'], {
      ...orderRef,
      rating: { type: 'integer', minimum: 1, maximum: 5 },
      comment: { ...textOrNull, maxLength: 2000 },
      source: { type: 'string', description: '`api` (an operator) or the channel it came from (`website`, `app`)' },
    }),
  },
  'parcel.problem': {
    summary: 'A carrier reported a failed attempt, a return to sender or an exception',
    data: object(['orderId', 'orderNumber', 'carrier', 'trackingCode', 'status'], {
      ...orderRef, carrier: text, trackingCode: text, status: { type: 'string', enum: ['failed_attempt', 'returned_to_sender', 'exception'] },
    }),
  },
  'parcel.delayed': {
    summary: 'A parcel has not been scanned for too long, or is past its promised delivery date',
    data: object(['orderId', 'orderNumber', 'carrier', 'trackingCode'], { ...orderRef, carrier: text, trackingCode: text }),
  },
  'payment.captured': {
    summary: 'The order is paid (the release stage takes it from there)',
    data: object(['orderId', 'orderNumber'], {
      ...orderRef, amount: { ...minorUnits, description: 'captured in total (from the ledger)' }, source: { type: 'string', description: 'the channel, when the channel reported it paid' },
    }),
  },
  'payment.failed': {
    summary: "A payment of the order failed (the customer is told, with remedies)",
    data: object(['orderId', 'orderNumber', 'reason'], { ...orderRef, reason: { ...textOrNull, description: "the provider's words" } }),
  },
  'payment.refunded': {
    summary: 'Money went back to the customer (fully or partly)',
    data: object(['orderId', 'orderNumber', 'refunded'], { ...orderRef, refunded: { ...minorUnits, description: 'refunded in total' } }),
  },
  'refund.requested': {
    summary: 'The hub asked a payment provider for a refund',
    data: object(['orderId', 'orderNumber', 'provider', 'amount', 'currency', 'refundId'], {
      ...orderRef, provider: text, amount: minorUnits, currency: schema('Currency'), refundId: { type: 'string', description: "the provider's refund id" },
    }),
  },
  'inventory.replenished': {
    summary: 'More of a SKU is available in a warehouse (backordered orders get another chance)',
    description: 'Subject: `<warehouse>/<sku>`.',
    data: object(['warehouse', 'sku', 'available'], { warehouse: schema('WarehouseCode'), sku: schema('Sku'), available: { type: 'integer' } }),
  },
  'inventory.low': {
    summary: "A SKU's available stock in a warehouse is at or under its threshold",
    description: 'Subject: `<warehouse>/<sku>`. Sent once per open low-stock alert.',
    data: object(['warehouse', 'sku', 'available', 'threshold'], { warehouse: schema('WarehouseCode'), sku: schema('Sku'), available: { type: 'integer' }, threshold: { type: 'integer' } }),
  },
  'exception.escalated': {
    summary: "An open exception's deadline passed: it is escalated, to the SOP's `escalateTo` when the SOP names one",
    description: 'Subject: the exception id. Sent once per exception (again only if it is reopened and runs late again).',
    data: object(['exceptionId', 'exceptionType', 'orderId', 'reason', 'owner', 'previousOwner', 'deadline', 'escalatedAt'], {
      exceptionId: { type: 'integer' },
      exceptionType: { type: 'string', examples: ['sla_breach', 'stock_shortage', 'payment_unmatched'] },
      orderId: { type: ['string', 'null'], format: 'uuid' },
      reason: text,
      owner: { type: 'string', description: 'who owns it now' },
      previousOwner: { ...textOrNull, description: 'who owned it before, when escalation handed it over' },
      deadline: { type: 'string', format: 'date-time', description: 'the deadline that passed' },
      escalatedAt: { type: 'string', format: 'date-time' },
    }),
  },
  'customer.notification_requested': {
    summary: 'Tell the customer something (confirmation, rejection, shortage, payment failure, shipped, delayed, …)',
    description: 'Sent only when the order has a usable email or phone. Other properties are template variables (e.g. carrier, trackingCode, trackingUrl).',
    data: object(['orderId', 'orderNumber', 'template', 'to', 'customerName'], {
      ...orderRef,
      template: { type: 'string', examples: ['order_confirmed', 'order_rejected', 'stock_shortage', 'address_check', 'payment_failed', 'payment_timeout', 'shipped', 'delayed', 'delivered'] },
      to: object(['email', 'phone'], { email: textOrNull, phone: textOrNull, deviceToken: { ...textOrNull, description: 'for push' } }),
      customerName: textOrNull,
      locale: { ...textOrNull, description: "the customer's locale (BCP 47), when the order has one" },
      reason: text,
      remedies: strings,
      occurrence: { type: 'string', description: 'tells repeated notifications of one template apart (one per occurrence)' },
    }),
  },
  'fulfillment.requested': {
    summary: "A paid, allocated order's part for one warehouse: pick, pack and ship it",
    description: 'One per warehouse of the order (`split`). Routed to `fulfillment.requested.<warehouse>`, so it lands in `{ns}.out.warehouse.<warehouse>`. Subject: the hub order id; the CloudEvent id is stable across redeliveries: de-duplicate on it.',
    routingKey: 'fulfillment.requested.{code}',
    data: schema('FulfillmentRequest'),
    examples: [{
      name: 'one-warehouse',
      summary: 'An order shipped whole from us-east',
      payload: {
        specversion: '1.0', id: '8b0e8f0e-3c55-4c7e-9d55-8f1f5b0a1c11', source: '/order-hub/hub/release', type: 'fulfillment.requested',
        subject: '2f1c7a52-6d4e-4a36-9a8e-0c7f1b7f4d2a', time: '2026-01-15T12:00:00.000Z', datacontenttype: 'application/json',
        data: {
          orderId: '2f1c7a52-6d4e-4a36-9a8e-0c7f1b7f4d2a', orderNumber: 'HUB-20260115-000042', channel: 'shopify', externalOrderId: '5561234567890',
          warehouse: 'us-east', shipmentId: '2f1c7a52-6d4e-4a36-9a8e-0c7f1b7f4d2a:us-east',
          lines: [{ sku: 'TEE-BLK-M', name: 'T-shirt black M', quantity: 2 }],
          shipTo: { name: 'Ada Lovelace', line1: '1 Main St', city: 'Louisville', region: 'KY', postalCode: '40202', country: 'US', email: 'ada@example.com' },
          carrier: 'ups', serviceLevel: 'ground', promisedShipDate: '2026-01-15', promisedDeliveryDate: '2026-01-22',
          split: { index: 1, of: 1 }, flags: { gift: false, priority: false, test: false }, notes: null, requestedAt: '2026-01-15T12:00:00.000Z',
        },
      },
    }],
  },
  'return.requested': {
    summary: 'A customer (or an operator for them) asked to return lines of an order: RMA `<order number>-R<n>`',
    data: object(['rmaId', 'orderId', 'orderNumber', 'kind', 'reason', 'lines'], {
      rmaId: schema('RmaId'), ...orderRef, kind: returnKind, reason: text, lines: { type: 'array', minItems: 1, items: returnLine },
    }),
  },
  'return.approved': {
    summary: 'The return passed the rules (window, categories, what was delivered); the returns stage gets its label',
    data: object(['rmaId', 'orderId', 'orderNumber', 'kind', 'warehouse', 'lines'], {
      rmaId: schema('RmaId'), ...orderRef, kind: returnKind, warehouse: schema('WarehouseCode'), lines: { type: 'array', minItems: 1, items: returnLine },
    }),
  },
  'return.rejected': {
    summary: 'The return was refused, with every reason',
    data: object(['rmaId', 'orderId', 'orderNumber', 'kind', 'reasons'], {
      rmaId: schema('RmaId'), ...orderRef, kind: returnKind,
      reasons: {
        type: 'array', minItems: 1,
        items: object(['code', 'message'], {
          code: { type: 'string', enum: ['not_delivered', 'outside_window', 'unknown_sku', 'non_returnable', 'more_than_delivered', 'unknown_exchange_sku'] },
          sku: schema('Sku'), message: text,
        }),
      },
    }),
  },
  'return.in_transit': {
    summary: 'The customer has the return label (bought from the carrier, or attached by a person): the goods can come back',
    data: object(['rmaId', 'orderId', 'orderNumber', 'carrier', 'trackingCode', 'labelUrl'], { rmaId: schema('RmaId'), ...orderRef, carrier: text, trackingCode: text, labelUrl: text }),
  },
  'return.expected': {
    summary: 'Goods of an RMA are on their way back to this warehouse: receive and inspect them, then answer `return.received`',
    description: 'Routed to `return.expected.<warehouse>`, so it lands in `{ns}.out.warehouse.<warehouse>`. Subject: the hub order id.',
    routingKey: 'return.expected.{code}',
    data: object(['rmaId', 'orderId', 'orderNumber', 'warehouse', 'kind', 'lines', 'carrier', 'trackingCode'], {
      rmaId: schema('RmaId'), ...orderRef, warehouse: schema('WarehouseCode'), kind: returnKind,
      lines: { type: 'array', minItems: 1, items: skuQuantity }, carrier: text, trackingCode: text, customerName: textOrNull,
    }),
  },
  'return.inspected': {
    summary: 'A warehouse received and inspected the goods of an RMA; resellable units are back in stock',
    data: object(['rmaId', 'orderId', 'orderNumber', 'warehouse', 'lines'], { rmaId: schema('RmaId'), ...orderRef, warehouse: schema('WarehouseCode'), lines: { type: 'array', minItems: 1, items: receivedLine } }),
  },
  'return.refund_due': {
    summary: 'Returned goods are in: the refunds stage pays `refundDue` back through the payment provider',
    data: object(['rmaId', 'orderId', 'orderNumber', 'refundDue', 'currency'], {
      rmaId: schema('RmaId'), ...orderRef, refundDue: minorUnits, currency: schema('Currency'),
      shipping: { ...minorUnits, description: 'the part of refundDue that is shipping (the return brought the last unit back)' },
    }),
  },
  'return.refunded': {
    summary: "An RMA's money went back (through the provider, or handed to finance: `byHand`)",
    data: object(['rmaId', 'orderId', 'orderNumber', 'amount', 'currency', 'byHand'], { rmaId: schema('RmaId'), ...orderRef, amount: minorUnits, currency: schema('Currency'), byHand: { type: 'boolean' } }),
  },
  'return.exchanged': {
    summary: 'The returned goods became an exchange order, already paid by them, that goes through the pipeline',
    data: object(['rmaId', 'orderId', 'orderNumber', 'exchangeOrderId', 'exchangeOrderNumber'], {
      rmaId: schema('RmaId'), ...orderRef, exchangeOrderId: schema('OrderId'), exchangeOrderNumber: schema('OrderNumber'),
    }),
  },
  'order.returned': {
    summary: 'Every delivered unit of the order came back (`rmaId`: the return that brought the last one)',
    data: object(['rmaId', 'orderId', 'orderNumber'], { rmaId: schema('RmaId'), ...orderRef }),
  },
  'shipment.requested': {
    summary: "A released shipment for a carrier that books from a queue: the same data as its fulfilment request",
    description: 'Only for carriers with `integration: queue`. Routed to `shipment.requested.<carrier>`, so it lands in `{ns}.out.carrier.<carrier>`; tracking comes back on `POST /webhooks/carriers/<carrier>`.',
    routingKey: 'shipment.requested.{code}',
    data: schema('FulfillmentRequest'),
  },
  'fulfillment.cancel_requested': {
    summary: 'Stop the shipment of an order cancelled after release; answer with fulfillment.cancelled or fulfillment.cancel_refused',
    description: 'Routed to `fulfillment.cancel_requested.<warehouse>`, so it lands in `{ns}.out.warehouse.<warehouse>`.',
    routingKey: 'fulfillment.cancel_requested.{code}',
    data: object(['orderId', 'orderNumber', 'shipmentId', 'warehouse', 'reason'], { ...orderRef, ...shipmentRef, reason: text }),
  },
  'exception.action_requested': {
    summary: "An operator's typed action on an exception (`POST /api/exceptions/:id/resolve`), applied by the exception-actions stage",
    description: 'Subject: the order id, or `exception:<id>` for an exception without an order. The stage decides the action again against the order as it is then, applies it through the pipeline and resolves the exception with the outcome, or records why it was refused.',
    data: object(['exceptionId', 'orderId', 'action', 'actor'], {
      exceptionId: { type: 'integer', minimum: 1 }, orderId: orNull(schema('OrderId')), action: exceptionAction,
      note: { type: 'string', maxLength: 2000 }, actor: { ...text, description: 'the API key that asked' },
    }),
  },
};

/** Events warehouse systems send to `{ns}.in.warehouse-events`, by type. */
const shipmentOf = { anyOf: [{ required: ['shipmentId'] }, { required: ['orderId'] }] };
const fulfilmentNews = (required: string[], more: Json = {}, constraints: Json[] = []): Json => ({
  ...object(['warehouse', ...required], {
    warehouse: schema('WarehouseCode'),
    shipmentId: { type: 'string', description: 'the `shipmentId` of the fulfilment request' },
    orderId: { type: 'string', description: 'the hub order id, when the shipmentId is not at hand (its part in this warehouse)' },
    ...more,
  }),
  allOf: [shipmentOf, ...constraints],
});
const fromWarehouses: Record<string, EventSpec> = {
  'inventory.adjusted': {
    summary: "A change of a SKU's on-hand count (received goods, damage, a count correction)",
    data: object(['warehouse', 'sku', 'delta'], { warehouse: schema('WarehouseCode'), sku: schema('Sku'), delta: { type: 'integer', description: 'added (positive) or removed (negative) units' }, reason: text }),
    examples: [{
      name: 'received-goods', summary: '40 mugs received',
      payload: { specversion: '1.0', id: 'wms-evt-1', source: 'wms/us-east', type: 'inventory.adjusted', time: '2026-01-15T09:00:00Z', datacontenttype: 'application/json', data: { warehouse: 'us-east', sku: 'MUG', delta: 40, reason: 'received' } },
    }],
  },
  'inventory.snapshot': {
    summary: 'A full count of some SKUs: the on-hand counts replace the hub\'s',
    data: object(['warehouse', 'items'], { warehouse: schema('WarehouseCode'), items: { type: 'array', items: object(['sku', 'onHand'], { sku: schema('Sku'), onHand: { type: 'integer', minimum: 0 } }) } }),
  },
  'fulfillment.accepted': { summary: 'The warehouse took the fulfilment request', data: fulfilmentNews([]) },
  'fulfillment.picked': { summary: 'The shipment is picked', data: fulfilmentNews([]) },
  'fulfillment.packed': { summary: 'The shipment is packed', data: fulfilmentNews([]) },
  'fulfillment.shipped': {
    summary: 'A parcel left the warehouse (a shipment may leave in several parcels)',
    data: fulfilmentNews(['carrier', 'lines'], {
      carrier: text,
      trackingNumber: { type: 'string', minLength: 1, description: 'the tracking code (`trackingCode` is accepted too)' },
      trackingCode: { type: 'string', minLength: 1 },
      trackingUrl: { type: 'string', description: 'a page the customer can follow' },
      lines: { type: 'array', minItems: 1, items: skuQuantity, description: 'what is in this parcel' },
    }, [{ anyOf: [{ required: ['trackingNumber'] }, { required: ['trackingCode'] }] }]),
    examples: [{
      name: 'one-parcel', summary: 'The whole shipment in one UPS parcel',
      payload: {
        specversion: '1.0', id: 'wms-evt-7781', source: 'wms/us-east', type: 'fulfillment.shipped', time: '2026-01-16T15:30:00Z', datacontenttype: 'application/json',
        data: { warehouse: 'us-east', shipmentId: '2f1c7a52-6d4e-4a36-9a8e-0c7f1b7f4d2a:us-east', carrier: 'ups', trackingNumber: '1Z999AA10123456784', lines: [{ sku: 'TEE-BLK-M', quantity: 2 }] },
      },
    }],
  },
  'fulfillment.rejected': { summary: 'The warehouse refuses the request (its stock goes back; the order is allocated elsewhere)', data: fulfilmentNews([], { reason: text }) },
  'fulfillment.cancelled': { summary: 'The warehouse stopped the shipment (answer to fulfillment.cancel_requested, or on its own)', data: fulfilmentNews([]) },
  'fulfillment.cancel_refused': { summary: 'Too late to stop the shipment (answer to fulfillment.cancel_requested)', data: fulfilmentNews([], { reason: text }) },
  'return.received': {
    summary: 'The goods of an RMA arrived and were inspected: how many of each SKU, and how many can be sold again',
    description: 'Answer to `return.expected`. Resellable units go back into stock; then the refund, or the exchange order. A receipt for an unknown RMA, or with more units than it has, changes nothing and opens a `return_mismatch` exception.',
    data: object(['warehouse', 'rmaId', 'lines'], { warehouse: schema('WarehouseCode'), rmaId: schema('RmaId'), lines: { type: 'array', minItems: 1, items: receivedLine } }),
    examples: [{
      name: 'one-damaged', summary: 'Two mugs back, one of them broken',
      payload: { specversion: '1.0', id: 'wms-evt-9120', source: 'wms/us-east', type: 'return.received', time: '2026-02-03T10:00:00Z', datacontenttype: 'application/json', data: { warehouse: 'us-east', rmaId: 'HUB-20260115-000042-R1', lines: [{ sku: 'MUG', quantity: 2, resellable: 1 }] } },
    }],
  },
};

// ---------------------------------------------------------------------------------------
// Messages, channels, operations
// ---------------------------------------------------------------------------------------

const eventMessage = (type: string, spec: EventSpec, envelope: 'CloudEvent' | 'InboundCloudEvent'): MessageObject => ({
  name: type,
  title: type,
  summary: spec.summary,
  ...(spec.description ? { description: spec.description } : {}),
  contentType: CONTENT_TYPE,
  payload: { allOf: [schema(envelope), { type: 'object', required: ['type', 'data'], properties: { type: { type: 'string', const: type }, data: spec.data } }] },
  bindings: { amqp: { messageType: type, bindingVersion: '0.3.0' } },
  ...(spec.examples ? { examples: spec.examples } : {}),
});

const eventsExchange = { name: '{ns}.events', type: 'topic', durable: true, autoDelete: false, vhost: '/' } as const;
const fanout = (name: string) => ({ name, type: 'fanout', durable: true, autoDelete: false, vhost: '/' } as const);
const queue = (name: string) => ({ name, durable: true, exclusive: false, autoDelete: false, vhost: '/' });
const quorum = { 'x-queue-type': 'quorum' };
const safeDeadLetter = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' };
/** hubTopology's default delivery limit (TopologyOptions.deliveryLimit) */
const DELIVERY_LIMIT = 10;
const workQueueArguments = { ...quorum, ...safeDeadLetter, 'x-delivery-limit': DELIVERY_LIMIT, 'x-dead-letter-exchange': '{ns}.parking' };
const params = (address: string): Record<string, Ref> | undefined => {
  const names = [...address.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!);
  return names.length === 0 ? undefined : Object.fromEntries(names.map((n) => [n, parameter(n)]));
};
const messageRefs = (types: readonly string[]) => Object.fromEntries(types.map((t) => [t, { $ref: `#/components/messages/${t}` }]));
const channelMessages = (channelId: string, types: readonly string[]): Ref[] => types.map((t) => ({ $ref: `#/channels/${channelId}/messages/${t}` }));

const channels: Record<string, ChannelObject> = {};
const operations: Record<string, OperationObject> = {};
const addChannel = (id: string, channel: Omit<ChannelObject, 'parameters'>): void => {
  const parameters = params(channel.address);
  channels[id] = { ...channel, ...(parameters ? { parameters } : {}) };
};
const send = (id: string, channelId: string, title: string, description: string, types: readonly string[], bindings: Json = { deliveryMode: 2, mandatory: false, timestamp: true }): void => {
  operations[id] = { action: 'send', channel: { $ref: `#/channels/${channelId}` }, title, description, messages: channelMessages(channelId, types), bindings: { amqp: { ...bindings, bindingVersion: '0.3.0' } } };
};
const receive = (id: string, channelId: string, title: string, description: string, types: readonly string[]): void => {
  operations[id] = { action: 'receive', channel: { $ref: `#/channels/${channelId}` }, title, description, messages: channelMessages(channelId, types), bindings: { amqp: { ack: true, bindingVersion: '0.3.0' } } };
};

// One channel per routing key of `{ns}.events`, and the hub's operation publishing it.
for (const [type, spec] of Object.entries(published)) {
  const id = `events.${type}`;
  addChannel(id, {
    address: spec.routingKey ?? type,
    title: `${spec.routingKey ?? type} on {ns}.events`,
    description: `Routing key \`${spec.routingKey ?? type}\` on the topic exchange \`{ns}.events\`: ${spec.summary}.`,
    messages: messageRefs([type]),
    bindings: { amqp: { is: 'routingKey', exchange: eventsExchange, bindingVersion: '0.3.0' } },
  });
  send(`publish.${type}`, id, `Publish ${type}`, 'Written to the outbox in the transaction of the change that causes it; the relay publishes it with publisher confirms (at least once).', [type]);
}

/** Every pipeline stage; the routing keys each one consumes are `stageBindings`' (core/messaging/topology.ts). */
const stageDescriptions = {
  normalize: 'Turns a stored order delivery into a canonical order (or an update, or a cancellation of one).',
  validate: 'Checks identity, credit, stock, address and risk; the order is validated, held, backordered or rejected.',
  allocate: 'Chooses the warehouse(s) and the delivery plan, and reserves the stock (an operator override too).',
  release: 'Sends a paid, allocated order to its warehouse(s): one fulfillment.requested per warehouse.',
  backorders: 'Stock arrived: backordered orders that wanted it are validated again.',
  remedies: "Applies the customer's answer to a shortage: wait, ship what is there, or cancel.",
  reconcile: 'Payment notifications and payments an operator recorded go into the ledger; the order is settled.',
  refunds: 'Money back to the customer when a paid order is cancelled or cut down, or returned goods are in.',
  cancellations: 'A released order was cancelled: each warehouse with a part of it is asked to stop (fulfillment.cancel_requested).',
  tracking: "Carriers' tracking updates move parcels on; delivered orders are delivered.",
  'warehouse-webhooks': 'Warehouse events posted by HTTP, handled as if published to {ns}.in.warehouse-events.',
  returns: 'An approved return gets its label from the carrier (idempotency key: the RMA id); without one, a `return_label_needed` exception for a person.',
  'exception-actions': "Applies an operator's action on an exception (retry a stage, override the allocation, mark paid, approve a review, cancel, split, contact the customer) through the pipeline, and resolves the exception with the outcome.",
  notifications: "Tells the customer: composes the message from its template (the customer's locale, channels and quiet hours) and sends it by email, SMS or push, once per order, template and channel.",
} satisfies Record<Stage, string>;

for (const stage of Object.keys(stageDescriptions) as Stage[]) {
  const id = `stage.${stage}`;
  const types: readonly string[] = stageBindings[stage];
  addChannel(id, {
    address: `{ns}.stage.${stage}`,
    title: `Stage ${stage}`,
    description: `${stageDescriptions[stage]} Quorum work queue; a retried message comes back here from its wait queue with \`x-hub-attempt\`; after the last attempt (or the delivery limit) it is parked.`,
    messages: messageRefs(types),
    bindings: {
      amqp: {
        is: 'queue', queue: queue(`{ns}.stage.${stage}`), 'x-arguments': workQueueArguments,
        'x-bindings': types.map((routingKey) => ({ exchange: '{ns}.events', routingKey })), bindingVersion: '0.3.0',
      },
    },
  });
  receive(`consume.${stage}`, id, `Stage ${stage}`, `${stageDescriptions[stage]} Effects are exactly once: the consumer records (queue, CloudEvent id) in the same transaction.`, types);
}

// Fulfilment work for the warehouses: everything routed `fulfillment.*.<code>`.
const toWarehouses = Object.entries(published).filter(([type, spec]) => /^(fulfillment|return)\./.test(type) && spec.routingKey?.endsWith('.{code}')).map(([type]) => type);
addChannel('out.warehouse', {
  address: '{ns}.out.warehouse.{code}',
  title: 'Fulfilment work for warehouse {code}',
  description: [
    'Fulfilment requests and cancellation requests for one warehouse, as persistent CloudEvents; the CloudEvent id is stable across redeliveries, so the receiver de-duplicates on it. Answers go to {ns}.in.warehouse-events (or `POST /webhooks/warehouses/{code}`).',
    "Who consumes it depends on the warehouse's config `integration`: `queue` (the default), the warehouse's own system; `http`, the hub, which pushes each request to the REST WMS (`POST {baseUrl}/fulfillment-requests`, `/fulfillment-cancellations`, `Idempotency-Key` = the CloudEvent id).",
  ].join('\n\n'),
  messages: messageRefs(toWarehouses),
  bindings: {
    amqp: {
      is: 'queue', queue: queue('{ns}.out.warehouse.{code}'), 'x-arguments': { ...quorum },
      'x-bindings': [{ exchange: '{ns}.events', routingKey: 'fulfillment.*.{code}' }, { exchange: '{ns}.events', routingKey: 'return.*.{code}' }], bindingVersion: '0.3.0',
    },
  },
});
receive('push.warehouse', 'out.warehouse', 'Push to an HTTP warehouse', "Only for warehouses with `integration: http`: each request is pushed to the warehouse's WMS; what it cannot take now is retried through the wait queues, what it refuses for good is parked.", toWarehouses);

// Shipments for carriers that book from a queue.
addChannel('out.carrier', {
  address: '{ns}.out.carrier.{code}',
  title: 'Shipments for carrier {code}',
  description: 'Only for carriers with `integration: queue`: each shipment released to the carrier, for it to book (label, tracking number). Tracking comes back on `POST /webhooks/carriers/{code}`.',
  messages: messageRefs(['shipment.requested']),
  bindings: {
    amqp: {
      is: 'queue', queue: queue('{ns}.out.carrier.{code}'), 'x-arguments': { ...quorum },
      'x-bindings': [{ exchange: '{ns}.events', routingKey: 'shipment.*.{code}' }], bindingVersion: '0.3.0',
    },
  },
});

// What warehouses tell the hub.
const warehouseEventTypes = Object.keys(fromWarehouses);
addChannel('in.warehouse-events', {
  address: '{ns}.in.warehouse-events',
  title: 'Events from warehouse systems',
  description: 'Warehouse systems publish their CloudEvents here (default exchange, routing key = the queue name, persistent, content-type application/cloudevents+json). `data.warehouse` names the warehouse; an event the hub cannot use (unknown warehouse, SKU or shipment, a missing field, an unknown type) is parked with its reason.',
  messages: messageRefs(warehouseEventTypes),
  bindings: { amqp: { is: 'queue', queue: queue('{ns}.in.warehouse-events'), 'x-arguments': workQueueArguments, 'x-bindings': [], bindingVersion: '0.3.0' } },
});
receive('consume.warehouse-events', 'in.warehouse-events', 'Warehouse events', 'Stock counts and fulfilment progress from the warehouses: stock adjusted, shipments picked, packed, shipped (parcels consume the reservations), refused, stopped.', warehouseEventTypes);

// Retry and parking.
addChannel('retry.exchange', {
  address: '{ns}.wait.{delayMs}',
  title: 'Retry after {delayMs} ms',
  description: 'Fanout exchange (one per configured retry delay, config `retry.delaysMs`). The consume adapter publishes a failed message here with routing key = the name of the queue it came from; the wait queue keeps it for the delay and dead-letters it through the default exchange straight back to that queue.',
  messages: messageRefs(['RetriedEvent']),
  bindings: { amqp: { is: 'routingKey', exchange: fanout('{ns}.wait.{delayMs}'), bindingVersion: '0.3.0' } },
});
addChannel('retry.queue', {
  address: '{ns}.wait.{delayMs}',
  title: 'Waiting {delayMs} ms',
  description: 'Holds retried messages for its TTL, then dead-letters them (default exchange, original routing key = the queue they came from) back to their queue. Nobody consumes it.',
  messages: messageRefs(['RetriedEvent']),
  bindings: {
    amqp: {
      is: 'queue', queue: queue('{ns}.wait.{delayMs}'),
      'x-arguments': { ...quorum, ...safeDeadLetter, 'x-message-ttl': '{delayMs}', 'x-dead-letter-exchange': '' },
      'x-bindings': [{ exchange: '{ns}.wait.{delayMs}', routingKey: '' }], bindingVersion: '0.3.0',
    },
  },
});
send('retry', 'retry.exchange', 'Retry later', 'A handler failed (retryably): the message goes to the wait exchange of the next delay, with `x-hub-attempt` counted up.', ['RetriedEvent'], { deliveryMode: 2, mandatory: false });
addChannel('parking.exchange', {
  address: '{ns}.parking',
  title: 'Parking',
  description: 'Fanout exchange for what cannot be processed: parked by the consume adapter (after the last attempt, or a message it cannot use), or dead-lettered by the broker when a work queue\'s delivery limit is reached.',
  messages: messageRefs(['ParkedEvent']),
  bindings: { amqp: { is: 'routingKey', exchange: fanout('{ns}.parking'), bindingVersion: '0.3.0' } },
});
send('park', 'parking.exchange', 'Park', 'Nothing retries forever and nothing is dropped silently: the message is parked with its reason.', ['ParkedEvent'], { deliveryMode: 2, mandatory: false });
addChannel('parked', {
  address: '{ns}.parked',
  title: 'Parked messages',
  description: 'Every parked message, kept until it is stored in Postgres as a dead letter (`/api/dead-letters`: inspect, replay, discard); the parked-queue drain acks each one only after that commit.',
  messages: messageRefs(['ParkedEvent']),
  bindings: { amqp: { is: 'queue', queue: queue('{ns}.parked'), 'x-arguments': { ...quorum }, 'x-bindings': [{ exchange: '{ns}.parking', routingKey: '' }], bindingVersion: '0.3.0' } },
});
addChannel('parked.audit', {
  address: '{ns}.parked.audit',
  title: 'Parked messages to record',
  description: 'A copy of every parked message for the parking recorder, which opens a `poison_message` exception for each. Not a work queue: it does not dead-letter.',
  messages: messageRefs(['ParkedEvent']),
  bindings: {
    amqp: { is: 'queue', queue: queue('{ns}.parked.audit'), 'x-arguments': { ...quorum, 'x-delivery-limit': 1000 }, 'x-bindings': [{ exchange: '{ns}.parking', routingKey: '' }], bindingVersion: '0.3.0' },
  },
});
receive('record.parked', 'parked.audit', 'Record parked messages', 'Each parked message becomes a dead letter (one per message id) and a `poison_message` exception with an owner and a deadline, in one transaction.', ['ParkedEvent']);
receive('drain.parked', 'parked', 'Drain parked messages into the dead-letter table', 'Stored exactly as the recorder stores them (nothing new when the audit copy got there first), then acked.', ['ParkedEvent']);

const messages: Record<string, MessageObject> = {
  ...Object.fromEntries(Object.entries(published).map(([type, spec]) => [type, eventMessage(type, spec, 'CloudEvent')])),
  ...Object.fromEntries(Object.entries(fromWarehouses).map(([type, spec]) => [type, eventMessage(type, spec, 'InboundCloudEvent')])),
  RetriedEvent: {
    name: 'RetriedEvent',
    title: 'A message to retry',
    summary: 'The message as it was (any type the queue it came from carries), with the retry headers',
    contentType: CONTENT_TYPE,
    payload: schema('InboundCloudEvent'),
    headers: retryHeaders,
  },
  ParkedEvent: {
    name: 'ParkedEvent',
    title: 'A parked message',
    summary: 'The message as it was, with why and where from',
    description: 'Usually a CloudEvent of any type; a message that is not one (not JSON, no id, …) is parked as it came.',
    contentType: CONTENT_TYPE,
    payload: { anyOf: [schema('InboundCloudEvent'), { description: 'anything else: the bytes as they came' }] },
    headers: parkedHeaders,
  },
};

export const asyncApiDocument: AsyncApiDocument = {
  asyncapi: '3.0.0',
  id: 'urn:order-hub:messaging',
  info: {
    title: 'Order hub messaging',
    version: '0.1.0',
    description: [
      'What the order hub publishes and consumes on RabbitMQ. Every name starts with the namespace `{ns}` (`HUB_NAMESPACE`, default `hub`).',
      'Events go to the topic exchange `{ns}.events` with routing key = event type (`fulfillment.*` work: `<type>.<warehouse>`).',
      'Stage queues are quorum queues with a delivery limit; delayed retries go through fixed-TTL wait queues; what cannot be processed is parked.',
      'Messages are CloudEvents 1.0 in structured JSON mode (`application/cloudevents+json`); the CloudEvent `id` is stable across redeliveries.',
    ].join('\n\n'),
  },
  defaultContentType: CONTENT_TYPE,
  servers: {
    rabbitmq: {
      host: '{host}:5672',
      protocol: 'amqp',
      protocolVersion: '0.9.1',
      title: 'RabbitMQ',
      description: 'RabbitMQ 3.10 or later (quorum queues, at-least-once dead-lettering), vhost `/`. The hub connects with `AMQP_URL`.',
      variables: { host: { default: 'localhost', description: 'the broker host' } },
      security: [{ $ref: '#/components/securitySchemes/userPassword' }],
    },
  },
  channels,
  operations,
  components: {
    schemas: {
      CloudEvent: cloudEventSchema,
      InboundCloudEvent: inboundCloudEventSchema,
      CanonicalOrder: canonicalOrder,
      Address: addressSchema,
      OrderId: orderId,
      OrderNumber: orderNumber,
      Sku: sku,
      Currency: currency,
      WarehouseCode: warehouseCode,
      CarrierCode: carrierCode,
      ServiceLevel: serviceLevel,
      FulfillmentRequest: fulfillmentRequestData,
      RmaId: { type: 'string', minLength: 1, description: 'a return (RMA) number: `<order number>-R<n>`', examples: ['HUB-20260115-000042-R1'] },
    },
    messages,
    parameters: {
      ns: { description: 'the hub namespace (`HUB_NAMESPACE`)', default: 'hub', examples: ['hub'] },
      code: { description: 'a warehouse code (config `warehouses[].code`)', examples: ['us-east'] },
      delayMs: { description: 'a retry delay in milliseconds (config `retry.delaysMs`)', examples: ['1000', '5000', '30000'] },
    },
    securitySchemes: {
      userPassword: { type: 'userPassword', description: 'the user and password of `AMQP_URL`' },
    },
  },
};
