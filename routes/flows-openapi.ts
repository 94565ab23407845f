/** The OpenAPI description of `GET /api/flows` (`routes/flows.ts`), spread into `openapi.ts`. */
import { flowWindowsMinutes } from '../core/reports/flow-window.ts';

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const counts = (description: string) => ({
  type: 'object', required: ['m1', 'm5', 'm15'], description: `${description}, in this minute and the 0, 4 or 14 before it`,
  properties: { m1: { type: 'integer' }, m5: { type: 'integer' }, m15: { type: 'integer' } },
});
const nullableSeconds = { type: ['number', 'null'], minimum: 0 };
const latency = {
  type: 'object', required: ['count', 'meanSeconds', 'p50Seconds', 'p90Seconds'],
  properties: { count: { type: 'integer' }, meanSeconds: nullableSeconds, p50Seconds: nullableSeconds, p90Seconds: nullableSeconds },
};

const queueFlow = {
  type: 'object', required: ['name', 'kind', 'depth', 'consumers', 'in', 'out', 'retries', 'parked'],
  properties: {
    name: { type: 'string' },
    kind: { enum: ['stage', 'wait', 'parking', 'inbound', 'outbound', 'other'] },
    depth: { type: ['integer', 'null'], description: 'messages ready, from the broker; null when it could not be asked' },
    consumers: { type: ['integer', 'null'] },
    in: counts('messages the hub routed into the queue (relay publishes, retries coming back, parkings)'),
    out: counts('deliveries the hub\'s consumers finished from the queue'),
    retries: counts('deliveries sent for a delayed retry'),
    parked: counts('deliveries parked'),
  },
};

const stageFlow = {
  type: 'object', required: ['stage', 'queue', 'finished', 'retries', 'parked', 'latency'],
  properties: {
    stage: { type: 'string' }, queue: { type: 'string' },
    finished: counts('deliveries finished'), retries: counts('deliveries retried'), parked: counts('deliveries parked'),
    latency: {
      type: 'object', required: ['m1', 'm5', 'm15'], description: 'from the event\'s creation to the stage having acknowledged it',
      properties: { m1: latency, m5: latency, m15: latency },
    },
  },
};

export const flowPaths = {
  '/api/flows': {
    get: {
      security: [{ bearer: [] }],
      summary: 'Whether orders are flowing: queues, outbox backlog, stage throughput and latency',
      responses: {
        200: {
          description: 'OK',
          content: {
            'application/json': {
              schema: {
                type: 'object', required: ['at', 'windowsMinutes', 'queues', 'outbox', 'stages'],
                properties: {
                  at: { type: 'string', format: 'date-time' },
                  windowsMinutes: { type: 'array', items: { enum: [...flowWindowsMinutes] } },
                  queues: { type: 'array', items: queueFlow },
                  outbox: {
                    type: 'object', required: ['pending', 'oldestAgeSeconds'],
                    properties: { pending: { type: 'integer' }, oldestAgeSeconds: { ...nullableSeconds, description: 'age of the oldest unpublished message' } },
                  },
                  stages: { type: 'array', items: stageFlow },
                },
              },
            },
          },
        },
        401: problem('missing or wrong bearer token'),
      },
    },
  },
} as const;
