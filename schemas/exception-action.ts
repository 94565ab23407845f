/**
 * What an operator sends to resolve an exception (`POST /api/exceptions/:id/resolve`): a
 * typed action and an optional note. The JSON Schema validates the request (ajv, with the
 * `type` discriminator, so a problem names the fields of the action that was meant) and is
 * the request body the OpenAPI document shows.
 */

export const exceptionActionTypes = [
  'acknowledge', 'retry_stage', 'override_allocation', 'mark_paid', 'approve_review', 'cancel_order', 'split', 'contact_customer',
] as const;
export type ExceptionActionType = (typeof exceptionActionTypes)[number];

export type ExceptionAction =
  | { type: 'acknowledge' }
  | { type: 'retry_stage' }
  | { type: 'override_allocation'; warehouse?: string; carrier?: string; serviceLevel?: string }
  | { type: 'mark_paid'; amount: number; currency: string; method: 'cash_on_delivery' | 'bank_transfer'; reference: string }
  | { type: 'approve_review' }
  | { type: 'cancel_order'; reason: string }
  | { type: 'split' }
  | { type: 'contact_customer'; template?: string; message: string };

export interface ResolveRequest {
  action: ExceptionAction;
  note?: string;
}

const code = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } as const;
// Free text a person writes: bounded, and without NUL (Postgres text cannot hold it).
const prose = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: '^[^\\u0000]*$' }) as const;
const only = (type: ExceptionActionType, properties: Record<string, unknown> = {}, required: string[] = [], more: Record<string, unknown> = {}) => ({
  type: 'object', additionalProperties: false, required: ['type', ...required],
  properties: { type: { const: type }, ...properties }, ...more,
});

/** The schema of one action, chosen by its `type`. */
export const exceptionActionSchema = {
  type: 'object',
  required: ['type'],
  discriminator: { propertyName: 'type' },
  oneOf: [
    only('acknowledge'),
    only('retry_stage'),
    // at least one of the three besides the type
    only('override_allocation', { warehouse: code, carrier: code, serviceLevel: code }, [], { minProperties: 2 }),
    only('mark_paid', {
      amount: { type: 'integer', minimum: 1, maximum: 9_007_199_254_740_991, description: 'minor units' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$' },
      method: { type: 'string', enum: ['cash_on_delivery', 'bank_transfer'] },
      reference: prose(128),
    }, ['amount', 'currency', 'method', 'reference']),
    only('approve_review'),
    only('cancel_order', { reason: prose(500) }, ['reason']),
    only('split'),
    only('contact_customer', { template: { type: 'string', pattern: '^[a-z][a-z0-9_]{0,63}$' }, message: prose(2000) }, ['message']),
  ],
} as const;

/** The body of `POST /api/exceptions/:id/resolve`. */
export const resolveRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: { action: exceptionActionSchema, note: prose(2000) },
} as const;

/** The body of `POST /api/exceptions/:id/assign` (null: nobody). */
export const assignRequestSchema = {
  type: 'object', additionalProperties: false, required: ['assignee'],
  properties: { assignee: { type: ['string', 'null'], minLength: 1, maxLength: 100, pattern: '^[^\\u0000-\\u001f]*$' } },
} as const;

/** The body of `POST /api/exceptions/:id/comment`. */
export const commentRequestSchema = {
  type: 'object', additionalProperties: false, required: ['text'],
  properties: { text: prose(4000) },
} as const;
