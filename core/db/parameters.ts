/**
 * Numbered parameters for a statement assembled from parts — a data-modifying CTE per
 * table, so that what a stage decided is written in one round trip: each part adds its
 * values with `p` and writes the placeholder it gets back.
 */
export function parameters(): { values: unknown[]; p: (value: unknown) => string } {
  const values: unknown[] = [];
  return { values, p: (value) => `$${values.push(value)}` };
}

export type Param = ReturnType<typeof parameters>['p'];
