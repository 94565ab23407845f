import { canonicalOrderSchema } from '../schemas/canonical-order.ts';
import { orderStatuses, paymentStatuses, fulfillmentStatuses } from '../core/order/status.ts';
import { reportPaths } from './reports-openapi.ts';
import { returnPaths } from './returns-openapi.ts';
import { jobPaths } from './jobs-openapi.ts';
import { flowPaths } from './flows-openapi.ts';
import { statusPageOpenApiPaths } from './status-page-openapi.ts';
import { exceptionPaths } from './exceptions-openapi.ts';
import { orderPaths } from './orders-openapi.ts';
import { deadLetterPaths } from './dead-letters-openapi.ts';

const problem = { $ref: '#/components/schemas/Problem' };
const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: problem } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const list = (item: unknown) => json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: item } } });
const auth = [{ bearer: [] }];
const unauthorized = { 401: problemResponse('missing or wrong bearer token') };

/** The OpenAPI 3.1 description of the hub's HTTP surface, served at `GET /openapi.json`. */
export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Order hub', version: '0.1.0', description: 'Webhooks in, operator API, health. Errors are RFC 9457 problem documents. /api and the status page are rate limited per API key and per client address (config rateLimits): over a limit, 429 problem naming the limit, with Retry-After; limited answers carry RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.' },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'HUB_ADMIN_TOKEN or a config apiKeys token. Reads need the viewer role, other writes operator, PUT /api/products/{sku}, PUT /api/inventory/{warehouse}/{sku} and POST /api/settlements/{provider} admin; a role too low is a 403 problem naming the role needed' } },
    schemas: {
      Problem: {
        type: 'object', required: ['type', 'title', 'status'],
        properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, code: { type: 'string' } },
      },
      CanonicalOrder: { ...canonicalOrderSchema, $id: undefined },
      OrderSummary: {
        type: 'object',
        required: ['id', 'orderNumber', 'channel', 'externalId', 'status', 'paymentStatus', 'fulfillmentStatus'],
        properties: {
          id: { type: 'string', format: 'uuid' }, orderNumber: { type: 'string' }, channel: { type: 'string' }, externalId: { type: 'string' },
          status: { enum: orderStatuses }, paymentStatus: { enum: paymentStatuses }, fulfillmentStatus: { enum: fulfillmentStatuses },
          warehouse: { type: ['string', 'null'] }, currency: { type: 'string' }, grandTotal: { type: 'integer', description: 'minor units' },
          archived: { const: true, description: 'present on an order read from the archive' },
        },
      },
      InventoryRow: {
        type: 'object', required: ['warehouse', 'sku', 'onHand', 'reserved', 'available'],
        properties: { warehouse: { type: 'string' }, sku: { type: 'string' }, onHand: { type: 'integer' }, reserved: { type: 'integer' }, available: { type: 'integer' } },
      },
      Product: {
        type: 'object', required: ['sku', 'name', 'category', 'weightGrams'],
        properties: { sku: { type: 'string' }, name: { type: 'string' }, category: { type: 'string' }, weightGrams: { type: 'integer' } },
      },
    },
  },
  paths: {
    '/webhooks/payments/{provider}': {
      post: {
        summary: 'A payment notification from a provider (stripe, paypal, adyen, alipay), signed as the provider signs it',
        parameters: [{ name: 'provider', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } }, 'application/x-www-form-urlencoded': { schema: { type: 'object' } } } },
        responses: {
          200: { description: 'stored (or already stored); the body is what the provider expects ("[accepted]", "success", or JSON)' },
          401: problemResponse('bad signature; nothing stored'),
          404: problemResponse('unknown provider'),
          409: problemResponse('the event id was already used for a different payload'),
          413: problemResponse('body over the limit'),
          422: problemResponse('a payload that does not map to payments; kept raw with an exception'),
          503: problemResponse("the provider's secret is not configured; retry later"),
        },
      },
    },
    '/webhooks/carriers/{carrier}': {
      post: {
        summary: 'A tracking update from a carrier or tracking service (easypost, aftership), signed as it signs them',
        parameters: [{ name: 'carrier', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          200: json({ type: 'object' }, 'stored (or already stored)'), 401: problemResponse('bad signature; nothing stored'), 404: problemResponse('unknown carrier'),
          409: problemResponse('the event id was already used for a different payload'), 413: problemResponse('body over the limit'),
          422: problemResponse('not a tracking update; kept raw with an exception'), 503: problemResponse('the secret is not configured; retry later'),
        },
      },
    },
    '/webhooks/warehouses/{code}': {
      post: {
        summary: "A warehouse's event (a CloudEvent: fulfillment.*, inventory.*), signed X-Hub-Signature: t=…,v1=… with WAREHOUSE_WEBHOOK_SECRET",
        parameters: [{ name: 'code', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/cloudevents+json': { schema: { type: 'object' } } } },
        responses: {
          200: json({ type: 'object' }, 'stored (or already stored)'), 401: problemResponse('bad signature; nothing stored'), 404: problemResponse('unknown warehouse'),
          409: problemResponse('the event id was already used for a different payload'), 413: problemResponse('body over the limit'),
          422: problemResponse('not a CloudEvent of this warehouse; kept raw with an exception'), 503: problemResponse('the secret is not configured; retry later'),
        },
      },
    },
    '/webhooks/orders/{source}': {
      post: {
        summary: 'An order webhook from a channel (e.g. shopify), signed as the platform signs it',
        parameters: [{ name: 'source', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: {
          200: json({ type: 'object', properties: { status: { enum: ['accepted', 'duplicate', 'ignored'] }, id: { type: 'integer' } } }, 'stored (or already stored)'),
          401: problemResponse('bad signature; nothing stored'),
          404: problemResponse('unknown channel'),
          413: problemResponse('body over the limit'),
          409: problemResponse('the event id was already used for a different payload'),
          422: problemResponse('malformed JSON, or a payload that does not map to an order; kept raw with an exception'),
          503: problemResponse('the channel secret is not configured; retry later'),
        },
      },
    },
    '/webhooks/customers/{source}': {
      post: {
        summary: "A customer's call from the shop's own website or app (source: a channel whose connector is website or app), signed X-Hub-Signature: t=…,v1=… with that channel's secret (WEBSITE_WEBHOOK_SECRET, APP_WEBHOOK_SECRET); X-Hub-Event-Id de-duplicates. See docs/channel-contract.md",
        parameters: [{ name: 'source', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object', required: ['type', 'externalId'],
                properties: {
                  type: { enum: ['receipt.confirmed', 'feedback.given', 'return.requested'] },
                  externalId: { type: 'string', description: "the channel's own order id" },
                  rating: { type: 'integer', minimum: 1, maximum: 5, description: 'feedback.given' },
                  comment: { type: 'string', maxLength: 2000, description: 'feedback.given, optional' },
                  kind: { enum: ['refund', 'exchange'], description: 'return.requested' },
                  reason: { type: 'string', maxLength: 1000, description: 'return.requested' },
                  lines: { type: 'array', items: { type: 'object', required: ['sku', 'quantity'], properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 }, exchangeSku: { type: 'string' } } }, description: 'return.requested' },
                },
              },
            },
          },
        },
        responses: {
          200: json({ type: 'object', required: ['status'], properties: { status: { enum: ['accepted', 'duplicate'] }, id: { type: 'integer' }, type: { type: 'string' }, result: { type: 'object', description: 'what the call did, e.g. the order completed' } } }, 'done (or done before)'),
          401: problemResponse('bad signature, or a timestamp more than 5 minutes off; nothing stored'),
          404: problemResponse('not a channel of the shop\'s own, or no such order on it (the delivery is kept)'),
          409: problemResponse('the order is in a state the call does not apply to, or it was rated differently before, or the event id was used for a different payload'),
          413: problemResponse('body over the limit'),
          422: problemResponse('malformed JSON, an unknown type (the supported types are listed) or invalid fields; kept raw with an exception'),
          503: problemResponse('the channel secret is not configured; retry later'),
        },
      },
    },
    '/asyncapi.json': { get: { summary: "The AsyncAPI 3.0 description of the hub's RabbitMQ exchanges, queues and messages", responses: { 200: json({ type: 'object' }) } } },
    '/health': { get: { summary: 'The process is up', responses: { 200: json({ type: 'object' }) } } },
    '/ready': { get: { summary: 'Postgres, Redis and RabbitMQ reachable', responses: { 200: json({ type: 'object' }), 503: json({ type: 'object' }, 'not ready') } } },
    '/metrics': { get: { summary: 'Prometheus metrics', responses: { 200: { description: 'text exposition format', content: { 'text/plain': {} } } } } },
    ...statusPageOpenApiPaths,
    ...orderPaths,
    '/api/orders/{id}/shortage-remedy': {
      post: {
        security: auth, summary: "The customer's answer to a stock shortage: wait, ship what is there, or cancel",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['choice'], properties: { choice: { enum: ['wait', 'ship_available', 'cancel'] } } } } } },
        responses: { 202: json({ type: 'object' }, 'applied by the pipeline'), 400: problemResponse('invalid body'), 404: problemResponse('no such order'), 409: problemResponse('not backordered'), ...unauthorized },
      },
    },
    '/api/orders/{id}/payments': {
      post: {
        security: auth, summary: 'Record money received outside a provider (cash on delivery, bank transfer)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['amount', 'currency', 'method', 'reference'], properties: { amount: { type: 'integer', description: 'minor units' }, currency: { type: 'string' }, method: { enum: ['cash_on_delivery', 'bank_transfer'] }, reference: { type: 'string' } } } } } },
        responses: { 202: json({ type: 'object' }, 'recorded by the pipeline'), 400: problemResponse('invalid body'), 404: problemResponse('no such order'), ...unauthorized },
      },
    },
    '/api/customers/{email}/preferences': {
      put: {
        security: auth, summary: "How and when a customer is told: channels, language, quiet hours",
        parameters: [{ name: 'email', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['channels'], properties: { channels: { type: 'array', items: { enum: ['email', 'sms', 'push'] } }, locale: { type: 'string' }, quietHours: { type: 'object' } } } } } },
        responses: { 200: json({ type: 'object' }), 400: problemResponse('invalid body'), ...unauthorized },
      },
    },
    '/api/orders/{id}/allocation': {
      post: {
        security: auth, summary: 'Override the warehouse and/or carrier of an order not yet released',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: { warehouse: { type: 'string' }, carrier: { type: 'string' }, serviceLevel: { type: 'string' }, reason: { type: 'string' } } } } } },
        responses: { 202: json({ type: 'object' }, 'applied by the pipeline'), 400: problemResponse('invalid body or unknown warehouse'), 404: problemResponse('no such order'), 409: problemResponse('already released'), ...unauthorized },
      },
    },
    '/api/orders/{id}/confirm-receipt': {
      post: {
        security: auth, summary: "Confirm receipt on the customer's behalf: a delivered (or shipped) order is completed; a completed one stays as it is",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        responses: {
          200: json({ type: 'object', required: ['orderId', 'orderNumber', 'status', 'alreadyCompleted'], properties: { orderId: { type: 'string' }, orderNumber: { type: 'string' }, status: { enum: orderStatuses }, alreadyCompleted: { type: 'boolean' } } }),
          404: problemResponse('no such order'), 409: problemResponse('the order is in a state that cannot complete'), ...unauthorized,
        },
      },
    },
    '/api/orders/{id}/feedback': {
      post: {
        security: auth, summary: "The customer's rating of a delivered, completed or returned order: one per order",
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['rating'], properties: { rating: { type: 'integer', minimum: 1, maximum: 5 }, comment: { type: 'string', maxLength: 2000 } } } } } },
        responses: {
          201: json({ type: 'object' }, 'recorded'), 200: json({ type: 'object' }, 'the same rating was recorded before; nothing changed'),
          400: problemResponse('invalid body (the failing fields are listed)'), 404: problemResponse('no such order'),
          409: problemResponse('the order is not delivered yet, or was rated differently before'), ...unauthorized,
        },
      },
    },
    ...exceptionPaths,
    '/api/inbound': {
      get: {
        security: auth, summary: 'Stored deliveries (status=failed: those that could not become orders)',
        parameters: ['status', 'source', 'limit'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
        responses: { 200: list({ type: 'object' }), 400: problemResponse('bad query'), ...unauthorized },
      },
    },
    '/api/inbound/{id}': {
      get: {
        security: auth, summary: 'One stored delivery with its headers and raw body',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 200: json({ type: 'object' }), 404: problemResponse('no such delivery'), ...unauthorized },
      },
    },
    '/api/inbound/{id}/replay': {
      post: {
        security: auth, summary: 'Send a stored delivery through the pipeline again (after a mapping or config fix)',
        parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'integer' } }],
        responses: { 202: json({ type: 'object' }, 'replaying'), 404: problemResponse('no such delivery'), 409: problemResponse('already processed'), ...unauthorized },
      },
    },
    '/api/settlements/{provider}': {
      post: {
        security: auth, summary: "Import a provider's settlement report (CSV) and compare it with the ledger",
        parameters: [{ name: 'provider', in: 'path', required: true, schema: { enum: ['stripe', 'adyen'] } }],
        requestBody: { required: true, content: { 'text/csv': { schema: { type: 'string' } } } },
        responses: { 201: json({ type: 'object' }, 'the comparison: matched, discrepancies, fees'), 400: problemResponse('empty body'), 404: problemResponse('unknown provider'), 422: problemResponse('unreadable report'), ...unauthorized },
      },
    },
    ...reportPaths,
    ...returnPaths,
    ...jobPaths,
    ...flowPaths,
    ...deadLetterPaths,
    '/api/warehouses': { get: { security: auth, summary: 'Warehouses', responses: { 200: list({ type: 'object' }), ...unauthorized } } },
    '/api/products': { get: { security: auth, summary: 'Products', responses: { 200: list({ $ref: '#/components/schemas/Product' }), ...unauthorized } } },
    '/api/products/{sku}': {
      put: {
        security: auth, summary: 'Create or update a product',
        parameters: [{ name: 'sku', in: 'path', required: true, schema: { type: 'string' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'category', 'weightGrams'] } } } },
        responses: { 200: json({ $ref: '#/components/schemas/Product' }), 201: json({ $ref: '#/components/schemas/Product' }, 'created'), 400: problemResponse('invalid body'), ...unauthorized },
      },
    },
    '/api/inventory': {
      get: {
        security: auth, summary: 'Stock by warehouse and SKU',
        parameters: ['sku', 'warehouse'].map((name) => ({ name, in: 'query', schema: { type: 'string' } })),
        responses: { 200: list({ $ref: '#/components/schemas/InventoryRow' }), ...unauthorized },
      },
    },
    '/api/inventory/{warehouse}/{sku}': {
      put: {
        security: auth, summary: 'Set on-hand stock (never below reserved)',
        parameters: ['warehouse', 'sku'].map((name) => ({ name, in: 'path', required: true, schema: { type: 'string' } })),
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['onHand'], properties: { onHand: { type: 'integer', minimum: 0 } } } } } },
        responses: {
          200: json({ $ref: '#/components/schemas/InventoryRow' }), 400: problemResponse('invalid body'),
          404: problemResponse('unknown warehouse or product'), 409: problemResponse('below reserved'), ...unauthorized,
        },
      },
    },
  },
} as const;
