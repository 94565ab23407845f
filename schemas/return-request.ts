import { Ajv, type JSONSchemaType } from 'ajv';
import type { InputProblem } from '../core/errors.ts';
import { returnKinds, returnRequestProblems, type ReturnKind, type ReturnRequest } from '../core/pipeline/returns.ts';

/** A return request as the operator API and the shop's own channels send it. */
export interface ReturnRequestBody {
  kind: ReturnKind;
  /** why the customer sends the goods back */
  reason: string;
  lines: { sku: string; quantity: number; exchangeSku?: string }[];
}

const sku = { type: 'string', pattern: '^[^\\s/\\u0000-\\u001f]{1,128}$' } as const;

/** `{ kind: refund | exchange, reason, lines: [{ sku, quantity ≥ 1, exchangeSku? }] }`, nothing else. */
export const returnRequestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'reason', 'lines'],
  properties: {
    kind: { type: 'string', enum: [...returnKinds] },
    // Postgres text cannot hold NUL
    reason: { type: 'string', minLength: 1, maxLength: 1000, pattern: '^[^\\u0000]*$' },
    lines: {
      type: 'array', minItems: 1, maxItems: 200,
      items: {
        type: 'object', additionalProperties: false, required: ['sku', 'quantity'],
        properties: {
          sku,
          quantity: { type: 'integer', minimum: 1, maximum: 100_000 },
          exchangeSku: { ...sku, nullable: true },
        },
      },
    },
  },
} satisfies JSONSchemaType<ReturnRequestBody>;

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<ReturnRequestBody>(returnRequestSchema);

/**
 * Parses a return request once, at the edge: its shape (the schema) and what makes it
 * malformed whatever the order (a SKU twice, an exchange line without the SKU wanted
 * instead); or every problem found, by field.
 */
export function parseReturnRequest(value: unknown): { ok: true; request: ReturnRequest } | { ok: false; problems: InputProblem[] } {
  if (!validate(value)) {
    const problems = (validate.errors ?? []).map((e) => {
      const field = e.keyword === 'required' ? String(e.params.missingProperty) : e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : null;
      return { path: field === null ? e.instancePath || '/' : `${e.instancePath}/${field}`, message: e.message ?? 'is invalid' };
    });
    return { ok: false, problems };
  }
  const request: ReturnRequest = {
    kind: value.kind,
    reason: value.reason,
    lines: value.lines.map((l) => (l.exchangeSku ? { sku: l.sku, quantity: l.quantity, exchangeSku: l.exchangeSku } : { sku: l.sku, quantity: l.quantity })),
  };
  const problems = returnRequestProblems(request);
  return problems.length > 0 ? { ok: false, problems } : { ok: true, request };
}
