/** The OpenAPI description of the dead-letter routes (`routes/dead-letters.ts`), spread into `openapi.ts`. */

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const auth = [{ bearer: [] }];
const unauthorized = { 401: problem('missing or wrong bearer token') };
const idParameter = { name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 }, description: 'the dead letter, as the list names it' };
const nullableString = { type: ['string', 'null'] };
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' };
const status = { enum: ['parked', 'replayed', 'discarded'] };

const deadLetter = {
  type: 'object',
  required: ['id', 'messageId', 'queue', 'routingKey', 'error', 'attempts', 'status', 'parkedAt', 'ageSeconds'],
  properties: {
    id: { type: 'integer' },
    messageId: { type: 'string', description: 'the message id it was parked with (the CloudEvent id, or sha256: of a body without one)' },
    queue: { type: 'string', description: 'the queue whose consumer gave up on it; a replay goes back there' },
    exchange: { type: 'string' },
    routingKey: { type: 'string' },
    error: { type: 'string', description: 'why it was parked' },
    attempts: { type: 'integer' },
    status,
    orderId: { ...nullableString, format: 'uuid' },
    eventType: nullableString,
    replayOf: { ...nullableString, description: 'the message id of the dead letter this one is a replay of' },
    replayCount: { type: 'integer', description: 'replays of the same original message before this one' },
    parkedAt: { type: 'string', format: 'date-time' },
    ageSeconds: { type: 'integer' },
    resolvedAt: nullableDateTime,
    resolvedBy: nullableString,
    resolution: { ...nullableString, description: 'the discard reason, or what it was replayed as' },
    replayedAs: { ...nullableString, description: 'the message id of the replay' },
  },
};

const replayed = json({
  type: 'object', required: ['id', 'messageId', 'replayedAs', 'queue', 'status'],
  properties: { id: { type: 'integer' }, messageId: { type: 'string' }, replayedAs: { type: 'string', format: 'uuid' }, queue: { type: 'string' }, status: { const: 'replayed' } },
}, 'sent back to its queue through the outbox; its exception resolved');

export const deadLetterPaths = {
  '/api/dead-letters': {
    get: {
      security: auth, summary: 'Parked messages, newest first, with their error, attempts, queue and age',
      parameters: [
        { name: 'status', in: 'query', schema: status },
        { name: 'queue', in: 'query', schema: { type: 'string' } },
        { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'the nextCursor of the previous page' },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
      ],
      responses: {
        200: json({ type: 'object', required: ['items', 'nextCursor'], properties: { items: { type: 'array', items: deadLetter }, nextCursor: nullableString } }),
        400: problem('bad query'), ...unauthorized,
      },
    },
  },
  '/api/dead-letters/{id}': {
    get: {
      security: auth, summary: 'One parked message with its AMQP headers and body (a body over 256 KiB: its first 64 KiB as text, the whole at bodyUrl)',
      parameters: [idParameter],
      responses: {
        200: json({
          ...deadLetter,
          required: [...deadLetter.required, 'headers', 'body', 'bodyText', 'bodyBase64', 'bodyBytes', 'bodyTruncated', 'bodyUrl'],
          properties: {
            ...deadLetter.properties,
            headers: { type: 'object' }, body: { description: 'the body as JSON; null when it is not JSON, or too large to show' },
            bodyText: { type: 'string', description: 'the body as text; its first 64 KiB when bodyTruncated' },
            bodyBase64: { type: ['string', 'null'], description: 'null when bodyTruncated' },
            bodyBytes: { type: 'integer' }, bodyTruncated: { type: 'boolean' },
            bodyUrl: { type: 'string', description: 'where the body is, byte for byte' },
          },
        }),
        404: problem('no such dead letter'), ...unauthorized,
      },
    },
  },
  '/api/dead-letters/{id}/body': {
    get: {
      security: auth, summary: 'The body of a parked message, byte for byte, as a download',
      parameters: [idParameter],
      responses: {
        200: { description: 'the bytes as parked', content: { 'application/octet-stream': { schema: { type: 'string', format: 'binary' } } } },
        404: problem('no such dead letter'), ...unauthorized,
      },
    },
  },
  '/api/dead-letters/{id}/replay': {
    post: {
      security: auth, summary: 'Replay a parked message: the same CloudEvent with a new id, back to the queue it was parked from (x-hub-replay-of names the original)',
      parameters: [idParameter],
      responses: {
        202: replayed, 404: problem('no such dead letter'),
        409: problem('replayed or discarded already, or not replayable (not a CloudEvent, or a queue no stage consumes)'), ...unauthorized,
      },
    },
  },
  '/api/dead-letters/replay': {
    post: {
      security: auth, summary: 'Replay many parked messages (at most 100), each on its own: by id, or the oldest parked ones of a queue',
      requestBody: {
        required: true,
        content: {
          'application/json': {
            schema: {
              oneOf: [
                { type: 'object', additionalProperties: false, required: ['ids'], properties: { ids: { type: 'array', minItems: 1, maxItems: 100, uniqueItems: true, items: { type: 'integer', minimum: 1 } } } },
                { type: 'object', additionalProperties: false, required: ['queue', 'status'], properties: { queue: { type: 'string' }, status: { const: 'parked' } } },
              ],
            },
          },
        },
      },
      responses: {
        200: json({
          type: 'object', required: ['items', 'replayed', 'refused'],
          properties: {
            items: {
              type: 'array',
              items: {
                type: 'object', required: ['id', 'outcome'],
                properties: {
                  id: { type: 'integer' }, outcome: { enum: ['replayed', 'refused'] }, messageId: { type: 'string' }, replayedAs: { type: 'string' },
                  status: { type: 'integer', description: 'refused: the HTTP status a single replay would have answered' }, code: { type: 'string' }, detail: { type: 'string' },
                },
              },
            },
            replayed: { type: 'integer' }, refused: { type: 'integer' },
          },
        }, 'what happened to each'),
        400: problem('invalid body'), ...unauthorized,
      },
    },
  },
  '/api/dead-letters/{id}/discard': {
    post: {
      security: auth, summary: 'Discard a parked message with a reason; its exception is resolved with it',
      parameters: [idParameter],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', minLength: 1, maxLength: 1000 } } } } } },
      responses: {
        200: json({ type: 'object', required: ['id', 'messageId', 'status', 'reason'], properties: { id: { type: 'integer' }, messageId: { type: 'string' }, status: { const: 'discarded' }, reason: { type: 'string' } } }),
        400: problem('invalid body'), 404: problem('no such dead letter'), 409: problem('replayed or discarded already'), ...unauthorized,
      },
    },
  },
} as const;
