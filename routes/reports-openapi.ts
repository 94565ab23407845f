/** The OpenAPI description of the report routes (`routes/reports.ts`), spread into `openapi.ts`. */

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const nullableNumber = { type: ['number', 'null'] };
const count = { type: 'integer', minimum: 0 };
const percentiles = {
  type: 'object', required: ['count', 'p50', 'p90', 'p99'],
  description: 'seconds, nearest-rank percentiles; null when count is 0',
  properties: { count, p50: nullableNumber, p90: nullableNumber, p99: nullableNumber },
};
const exceptionType = {
  type: 'object', required: ['opened', 'rate', 'resolved', 'meanSecondsToResolve'],
  properties: { opened: count, rate: nullableNumber, resolved: count, meanSecondsToResolve: nullableNumber },
};

/** A day's KPIs, for one channel or all of them. Every ratio is null when its denominator is 0. */
const dayFigures = {
  type: 'object',
  required: ['orders', 'gmv', 'processingSeconds', 'exceptions', 'onTimeShipment', 'onTimeDelivery', 'cancellations', 'returns', 'satisfaction'],
  properties: {
    orders: { ...count, description: 'orders received by the hub that day' },
    gmv: { type: 'object', additionalProperties: { type: 'integer' }, description: 'grand totals of the orders received that day, rejected ones excluded, per currency, minor units' },
    processingSeconds: { type: 'object', properties: { toRelease: percentiles, toShipment: percentiles } },
    exceptions: { ...exceptionType, properties: { ...exceptionType.properties, byType: { type: 'object', additionalProperties: exceptionType } } },
    onTimeShipment: { type: 'object', properties: { shipments: count, onTime: count, rate: nullableNumber } },
    onTimeDelivery: { type: 'object', properties: { parcels: count, onTime: count, rate: nullableNumber } },
    cancellations: { type: 'object', properties: { cancelled: count, rate: nullableNumber } },
    returns: { type: 'object', properties: { requested: count, delivered: count, rate: nullableNumber } },
    satisfaction: { type: 'object', properties: { responses: count, averageRating: nullableNumber, remindersRequested: count, responseRate: nullableNumber } },
  },
};

const dailyReport = {
  type: 'object', required: ['date', 'timeZone', 'generatedAt', 'total', 'channels'],
  properties: {
    date: { type: 'string', format: 'date' }, timeZone: { type: 'string' }, generatedAt: { type: 'string', format: 'date-time' },
    total: dayFigures, channels: { type: 'object', additionalProperties: dayFigures },
  },
};

const csv = { description: 'RFC 4180 CSV: a header row, then per day a row for channel "all" and one per channel; GMV one column per currency (gmv_<CUR>)', content: { 'text/csv': { schema: { type: 'string' } } } };
const query = (name: string, description: string, required = false) => ({ name, in: 'query', required, description, schema: { type: 'string' } });
const options = [
  query('format', 'json (default) or csv'),
  query('fresh', 'true: compute now even when a stored report exists'),
];
const auth = [{ bearer: [] }];

export const reportPaths = {
  '/api/reports/daily': {
    get: {
      security: auth, summary: "One day's KPIs in total and per channel (days in reports.timeZone; a stored report is served as stored)",
      parameters: [query('date', 'YYYY-MM-DD, not after today', true), ...options],
      responses: {
        200: { description: 'the report', content: { 'application/json': { schema: dailyReport }, 'text/csv': csv.content['text/csv'] } },
        400: problem('malformed or future date, unknown format'), 401: problem('missing or wrong bearer token'),
      },
    },
  },
  '/api/reports/range': {
    get: {
      security: auth, summary: 'One report per day from..to (at most 366 days), for trends',
      parameters: [query('from', 'YYYY-MM-DD', true), query('to', 'YYYY-MM-DD, not after today', true), ...options],
      responses: {
        200: {
          description: 'the reports, oldest first',
          content: {
            'application/json': { schema: { type: 'object', required: ['from', 'to', 'timeZone', 'items'], properties: { from: { type: 'string' }, to: { type: 'string' }, timeZone: { type: 'string' }, items: { type: 'array', items: dailyReport } } } },
            'text/csv': csv.content['text/csv'],
          },
        },
        400: problem('malformed or future dates, to before from, more than 366 days'), 401: problem('missing or wrong bearer token'),
      },
    },
  },
};
