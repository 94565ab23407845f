/** The OpenAPI description of the scheduled-jobs routes (`routes/jobs.ts`), spread into `openapi.ts`. */

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });
const json = (schema: unknown, description = 'OK') => ({ description, content: { 'application/json': { schema } } });
const auth = [{ bearer: [] }];
const unauthorized = { 401: problem('missing or wrong bearer token') };
const nameParameter = { name: 'name', in: 'path', required: true, schema: { type: 'string' }, description: 'the job, as `GET /api/jobs` names it' };
const dateTime = { type: 'string', format: 'date-time' };
const nullableDateTime = { type: ['string', 'null'], format: 'date-time' };
const counts = { type: 'object', additionalProperties: { type: 'integer' }, description: 'what the run did, by the job\'s own names' };
const outcome = { enum: ['running', 'ok', 'failed'] };

const jobRun = {
  type: 'object', required: ['id', 'scheduledFor', 'startedAt', 'finishedAt', 'outcome', 'counts', 'error'],
  properties: {
    id: { type: 'integer' },
    scheduledFor: { ...nullableDateTime, description: 'the tick the run was for; null for a run asked for by hand' },
    startedAt: dateTime, finishedAt: nullableDateTime, outcome, counts, error: { type: ['string', 'null'] },
  },
};

const job = {
  type: 'object', required: ['name', 'schedule', 'timeZone', 'nextRunAt', 'lastRun', 'running'],
  properties: {
    name: { type: 'string' },
    schedule: { type: 'string', description: 'cron, 5 fields or 6 with seconds first' },
    timeZone: { type: 'string' },
    nextRunAt: nullableDateTime,
    lastRun: {
      type: ['object', 'null'], required: ['startedAt', 'finishedAt', 'outcome', 'counts', 'error'],
      properties: { startedAt: dateTime, finishedAt: nullableDateTime, outcome, counts, error: { type: ['string', 'null'] } },
    },
    running: { type: 'boolean', description: 'a replica holds the job\'s lock now' },
  },
};

export const jobPaths = {
  '/api/jobs': {
    get: {
      security: auth, summary: 'The scheduled jobs, with their next and last run',
      responses: { 200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: job } } }), ...unauthorized },
    },
  },
  '/api/jobs/{name}/runs': {
    get: {
      security: auth, summary: "A job's recorded runs, newest first",
      parameters: [nameParameter, { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 20 } }],
      responses: {
        200: json({ type: 'object', required: ['items'], properties: { items: { type: 'array', items: jobRun } } }),
        400: problem('bad limit'), 404: problem('no such job'), ...unauthorized,
      },
    },
  },
  '/api/jobs/{name}/run': {
    post: {
      security: auth, summary: 'Run a job now (once across replicas, like a scheduled tick); answers when it has run',
      parameters: [nameParameter],
      responses: {
        200: json({ ...jobRun, required: [...jobRun.required, 'name'], properties: { name: { type: 'string' }, ...jobRun.properties } }, 'the run, ok or failed, with its counts'),
        404: problem('no such job'), 409: problem('the job is running on another replica'), 503: problem('the run could not be recorded'), ...unauthorized,
      },
    },
  },
} as const;
