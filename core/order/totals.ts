import type { InputProblem } from '../errors.ts';
import type { CanonicalOrder } from '../../schemas/canonical-order.ts';

/**
 * The money of a canonical order adds up, in integer minor units:
 *   subtotal   = Σ unitPrice × quantity
 *   discounts ≥ Σ line discounts (order-level discounts come on top)
 *   grandTotal = subtotal − discounts + shipping + (taxIncluded ? 0 : tax) + otherCharges
 * Returns every rule broken, with the figures, so an admin can see what the channel sent.
 * `tolerance` (minor units) allows the grand total a channel's rounding; the line arithmetic
 * is always exact.
 */
export function totalsProblems(order: Pick<CanonicalOrder, 'lines' | 'totals'>, tolerance = 0): InputProblem[] {
  const problems: InputProblem[] = [];
  const t = order.totals;
  let subtotal = 0;
  let lineDiscounts = 0;
  order.lines.forEach((line, i) => {
    const gross = line.unitPrice * line.quantity;
    if (!Number.isSafeInteger(gross)) problems.push({ path: `/lines/${i}`, message: 'unit price × quantity is too large' });
    if (line.discount > gross) problems.push({ path: `/lines/${i}/discount`, message: `discount ${line.discount} exceeds the line's ${gross}` });
    subtotal += gross;
    lineDiscounts += line.discount;
  });
  if (!Number.isSafeInteger(subtotal)) return [...problems, { path: '/totals/subtotal', message: 'the lines add up to more than can be represented' }];
  if (t.subtotal !== subtotal) problems.push({ path: '/totals/subtotal', message: `is ${t.subtotal} but the lines add up to ${subtotal}` });
  if (t.discounts < lineDiscounts) problems.push({ path: '/totals/discounts', message: `is ${t.discounts}, less than the line discounts ${lineDiscounts}` });
  const expected = t.subtotal - t.discounts + t.shipping + (t.taxIncluded ? 0 : t.tax) + t.otherCharges;
  if (Math.abs(t.grandTotal - expected) > tolerance) {
    problems.push({
      path: '/totals/grandTotal',
      message: `is ${t.grandTotal} but subtotal ${t.subtotal} − discounts ${t.discounts} + shipping ${t.shipping}`
        + `${t.taxIncluded ? '' : ` + tax ${t.tax}`} + other charges ${t.otherCharges} = ${expected}`,
    });
  }
  return problems;
}
