/** The OpenAPI description of the exception desk (`routes/exceptions.ts`), spread into `openapi.ts`. */
import { assignRequestSchema, commentRequestSchema, resolveRequestSchema } from '../schemas/exception-action.ts';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const body = (schema: unknown) => ({ required: true, content: { 'application/json': { schema } } });
const auth = [{ bearer: [] }];
const unauthorized = { 401: problem('missing or wrong bearer token') };
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } };

/** An exception as the desk shows it. */
const exception = {
  type: 'object',
  required: ['id', 'type', 'status', 'owner', 'deadline', 'reason', 'overdue'],
  properties: {
    id: { type: 'integer' },
    type: { type: 'string', description: 'stock_shortage, payment_mismatch, address_invalid, risk_review, sla_breach, poison_message, …' },
    status: { enum: ['open', 'resolved'] },
    orderId: { type: ['string', 'null'], format: 'uuid' },
    rawId: { type: ['integer', 'null'] },
    stage: { type: ['string', 'null'], description: 'the stage (or queue) that opened it' },
    owner: { type: 'string', description: "the SOP's owner (config `sop`)" },
    assignedTo: { type: ['string', 'null'] },
    deadline: { type: 'string', format: 'date-time' },
    overdue: { type: 'boolean' },
    reason: { type: 'string' },
    details: { type: 'object' },
    resolution: { type: ['object', 'null'], description: 'the action asked for and its state: requested, applied (with the outcome) or refused (with the reason)' },
    createdAt: { type: 'string', format: 'date-time' },
    escalatedAt: { type: ['string', 'null'], format: 'date-time' },
    resolvedAt: { type: ['string', 'null'], format: 'date-time' },
  },
};
const note = {
  type: 'object', required: ['at', 'actor', 'kind', 'text'],
  properties: {
    at: { type: 'string', format: 'date-time' }, actor: { type: 'string' },
    kind: { enum: ['comment', 'assigned', 'action_requested', 'action_applied', 'action_refused', 'action_skipped'] }, text: { type: 'string' }, data: { type: ['object', 'null'] },
  },
};
// The JSON Schemas the API validates with; OpenAPI 3.1 reads `discriminator` as an object too.
const resolveBody = { ...resolveRequestSchema, properties: { ...resolveRequestSchema.properties, action: { ...resolveRequestSchema.properties.action, discriminator: { propertyName: 'type' } } } };

const query = (name: string, description: string, schema: Record<string, unknown> = { type: 'string' }) => ({ name, in: 'query', schema, description });

export const exceptionPaths = {
  '/api/exceptions': {
    get: {
      security: auth, summary: 'The exception desk: exceptions soonest deadline first, filtered, with cursor pagination',
      parameters: [
        query('type', 'exception type'), query('status', 'open or resolved', { enum: ['open', 'resolved'] }), query('owner', "the SOP's owner"),
        query('assignee', 'who works on it'), query('overdue', 'true: open and past the deadline', { enum: ['true', 'false'] }),
        query('orderId', 'the order it is about', { type: 'string', format: 'uuid' }), query('cursor', '`nextCursor` of the previous page (opaque)'),
        query('limit', 'page size, 1..500 (100)', { type: 'integer', minimum: 1, maximum: 500 }),
      ],
      responses: {
        200: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: exception }, nextCursor: { type: ['string', 'null'] } } }),
        400: problem('bad query or cursor'), ...unauthorized,
      },
    },
  },
  '/api/exceptions/{id}': {
    get: {
      security: auth, summary: 'One exception with its notes, its order (summary, lines, customer) and the actions that apply now',
      parameters: [idParameter],
      responses: {
        200: json({ allOf: [exception, { type: 'object', properties: { notes: { type: 'array', items: note }, order: { type: ['object', 'null'] }, actions: { type: 'array', items: { type: 'string' } } } }] }),
        404: problem('no such exception'), ...unauthorized,
      },
    },
  },
  '/api/exceptions/{id}/assign': {
    post: {
      security: auth, summary: 'Who works on the exception (null: nobody); a note and an audit entry',
      parameters: [idParameter], requestBody: body(assignRequestSchema),
      responses: { 200: json(exception), 400: problem('invalid body'), 404: problem('no such exception'), ...unauthorized },
    },
  },
  '/api/exceptions/{id}/comment': {
    post: {
      security: auth, summary: "A comment on the exception's notes, by the caller",
      parameters: [idParameter], requestBody: body(commentRequestSchema),
      responses: { 201: json({ type: 'object', properties: { exceptionId: { type: 'integer' }, notes: { type: 'array', items: note } } }), 400: problem('invalid body'), 404: problem('no such exception'), ...unauthorized },
    },
  },
  '/api/exceptions/{id}/resolve': {
    post: {
      security: auth,
      summary: 'Resolve with a typed action, applied through the pipeline (exception.action_requested → stage exception-actions); the exception is resolved when it is applied',
      parameters: [idParameter], requestBody: body(resolveBody),
      responses: {
        202: json({ type: 'object', properties: { exceptionId: { type: 'integer' }, action: { type: 'string' }, status: { const: 'accepted' } } }, 'accepted; the stage applies it'),
        400: problem('invalid action (the problems name the fields), unknown warehouse, carrier, service level or template'),
        404: problem('no such exception'),
        409: problem("the action cannot apply: the exception is resolved or has an action pending, or the order's state (orderStatus) does not allow it"),
        ...unauthorized,
      },
    },
  },
};
