/** The OpenAPI description of the return routes (`routes/returns.ts`), spread into `openapi.ts`. */

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const auth = [{ bearer: [] }];
const unauthorized = { 401: problem('missing or wrong bearer token') };
const rmaParameter = { name: 'id', in: 'path', required: true, schema: { type: 'string', examples: ['HUB-20260115-00000042-R1'] }, description: 'the RMA number: `<order number>-R<n>`' };

const returnLine = {
  type: 'object', required: ['sku', 'quantity'], additionalProperties: false,
  properties: { sku: { type: 'string' }, quantity: { type: 'integer', minimum: 1 }, exchangeSku: { type: 'string', description: 'exchange only: the SKU wanted instead' } },
};

/** An RMA as the API shows it. */
const rma = {
  type: 'object',
  required: ['id', 'orderId', 'orderNumber', 'kind', 'status', 'reason', 'reasons', 'currency', 'lines'],
  properties: {
    id: { type: 'string', description: '`<order number>-R<n>`' },
    orderId: { type: 'string', format: 'uuid' },
    orderNumber: { type: 'string' },
    kind: { enum: ['refund', 'exchange'] },
    status: { enum: ['requested', 'approved', 'rejected', 'in_transit', 'received', 'refunded', 'exchanged'] },
    reason: { type: 'string', description: "the customer's reason" },
    decision: { type: ['string', 'null'], description: 'why it was approved or rejected, and how it ended' },
    reasons: {
      type: 'array', description: 'every reason a rejected return was refused',
      items: { type: 'object', required: ['code', 'message'], properties: { code: { enum: ['not_delivered', 'outside_window', 'unknown_sku', 'non_returnable', 'more_than_delivered', 'unknown_exchange_sku'] }, sku: { type: 'string' }, message: { type: 'string' } } },
    },
    warehouse: { type: ['string', 'null'], description: 'where the goods go back to' },
    carrier: { type: ['string', 'null'] },
    trackingCode: { type: ['string', 'null'] },
    labelUrl: { type: ['string', 'null'] },
    refundAmount: { type: ['integer', 'null'], description: 'minor units, once the goods are in' },
    currency: { type: 'string' },
    exchangeOrderId: { type: ['string', 'null'], format: 'uuid' },
    requestedBy: { type: 'string' },
    lines: {
      type: 'array',
      items: {
        type: 'object', required: ['sku', 'quantity', 'receivedQuantity', 'resellableQuantity'],
        properties: { lineNo: { type: 'integer' }, sku: { type: 'string' }, quantity: { type: 'integer' }, exchangeSku: { type: ['string', 'null'] }, receivedQuantity: { type: 'integer' }, resellableQuantity: { type: 'integer' } },
      },
    },
  },
};

export const returnPaths = {
  '/api/orders/{id}/returns': {
    post: {
      security: auth,
      summary: 'Ask for a return (refund or exchange) on the customer\'s behalf: decided by the rules (window, categories, what was delivered and already returned)',
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } },
        { name: 'Idempotency-Key', in: 'header', required: false, schema: { type: 'string', maxLength: 200 }, description: 'the same key again answers with the RMA the first request made' },
      ],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['kind', 'reason', 'lines'], properties: { kind: { enum: ['refund', 'exchange'] }, reason: { type: 'string', minLength: 1, maxLength: 1000 }, lines: { type: 'array', minItems: 1, items: returnLine } } } } },
      },
      responses: {
        201: json(rma, 'the RMA, approved or rejected (with every reason)'),
        200: json(rma, 'a repeated request (same Idempotency-Key): the RMA it made the first time'),
        400: problem('invalid body (the failing fields are listed) or Idempotency-Key'),
        404: problem('no such order'),
        409: problem('the Idempotency-Key was used for another request'),
        ...unauthorized,
      },
    },
  },
  '/api/returns': {
    get: {
      security: auth, summary: 'Returns (RMAs), newest first',
      parameters: [
        { name: 'status', in: 'query', schema: rma.properties.status },
        { name: 'orderId', in: 'query', schema: { type: 'string', format: 'uuid' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000 } },
      ],
      responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: rma } } }), 400: problem('bad query'), ...unauthorized },
    },
  },
  '/api/returns/{id}': {
    get: { security: auth, summary: 'One return (RMA) with its lines and what the warehouse found', parameters: [rmaParameter], responses: { 200: json(rma), 404: problem('no such return'), ...unauthorized } },
  },
  '/api/returns/{id}/label': {
    post: {
      security: auth, summary: 'Attach a return label a person bought: the customer gets it, the warehouse is told to expect the goods',
      parameters: [rmaParameter],
      requestBody: {
        required: true,
        content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['carrier', 'trackingCode', 'labelUrl'], properties: { carrier: { type: 'string' }, trackingCode: { type: 'string' }, labelUrl: { type: 'string', format: 'uri' } } } } },
      },
      responses: { 200: json(rma, 'the RMA, in transit'), 400: problem('invalid body'), 404: problem('no such return'), 409: problem('the return is not approved, or has its label already'), ...unauthorized },
    },
  },
};
