import { Ajv, type JSONSchemaType } from 'ajv';
import type { InputProblem } from '../core/errors.ts';

/** A customer's rating of an order, as the operator API and the shop's own channels send it. */
export interface FeedbackBody {
  /** 1 (bad) to 5 (excellent) */
  rating: number;
  /** what the customer wrote, at most 2000 characters */
  comment?: string;
}

export const MAX_FEEDBACK_COMMENT = 2000;

/** `{ rating: 1..5 integer, comment?: string ≤ 2000 }`, nothing else. */
export const feedbackBodySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['rating'],
  properties: {
    rating: { type: 'integer', minimum: 1, maximum: 5 },
    // Postgres text cannot hold NUL
    comment: { type: 'string', maxLength: MAX_FEEDBACK_COMMENT, pattern: '^[^\\u0000]*$', nullable: true },
  },
} satisfies JSONSchemaType<FeedbackBody>;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<FeedbackBody>(feedbackBodySchema);

/**
 * Parses a feedback body once, at the edge: the rating and the comment (null when none), or
 * every failing field with what is wrong with it.
 */
export function parseFeedback(value: unknown): { ok: true; feedback: { rating: number; comment: string | null } } | { ok: false; problems: InputProblem[] } {
  if (validate(value)) return { ok: true, feedback: { rating: value.rating, comment: value.comment ?? null } };
  // One problem per field, however many rules it broke.
  const byPath = new Map<string, string[]>();
  for (const e of validate.errors ?? []) {
    // name the field itself, not the object around it
    const field = e.keyword === 'required' ? String(e.params.missingProperty) : e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : null;
    const path = field === null ? e.instancePath || '/' : `${e.instancePath}/${field}`;
    byPath.set(path, [...(byPath.get(path) ?? []), e.message ?? 'is invalid']);
  }
  return { ok: false, problems: [...byPath].map(([path, messages]) => ({ path, message: messages.join('; ') })) };
}
