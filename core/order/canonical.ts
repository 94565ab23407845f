import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import type { InputProblem } from '../errors.ts';
import { canonicalOrderSchema } from '../../schemas/canonical-order.ts';
import { totalsProblems } from './totals.ts';

const ajv = new Ajv({ allErrors: true, allowUnionTypes: true });
// ajv-formats is CommonJS: under NodeNext its default import is the module object.
addFormats.default(ajv);
const validateCanonicalOrder = ajv.compile(canonicalOrderSchema);

/**
 * Everything wrong with a canonical order: the schema first (paths point into the canonical
 * order), then, for a well-formed order, the money rules.
 */
export function canonicalOrderProblems(order: unknown, tolerance = 0): InputProblem[] {
  if (!validateCanonicalOrder(order)) {
    return (validateCanonicalOrder.errors ?? []).map((error) => ({
      path: error.instancePath || '/',
      message: `canonical order${error.instancePath ? ` ${error.instancePath}` : ''} ${error.message ?? 'is invalid'}`,
    }));
  }
  return totalsProblems(order, tolerance);
}
