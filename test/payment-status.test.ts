// The payment position of an order from its ledger, against an independent oracle. Pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PaymentKind } from '../connectors/payments/types.ts';
import { paymentPosition, type LedgerLine } from '../core/pipeline/payment-status.ts';

const total = 10_000;
const order = { grandTotal: total, currency: 'USD' };
const line = (kind: PaymentKind, amount: number, currency = 'USD'): LedgerLine => ({ kind, amount, currency });

describe('paymentPosition', () => {
  it.each([
    [[], 'pending'],
    [[line('failed', 10_000)], 'failed'],
    [[line('authorized', 10_000)], 'authorized'],
    [[line('authorized', 10_000), line('voided', 10_000)], 'voided'],
    [[line('authorized', 10_000), line('captured', 10_000)], 'paid'],
    [[line('captured', 4_000)], 'partially_paid'],
    [[line('captured', 12_000)], 'overpaid'],
    [[line('captured', 10_000), line('refunded', 3_000)], 'partially_refunded'],
    [[line('captured', 10_000), line('refunded', 3_000), line('refunded', 7_000)], 'refunded'],
    [[line('failed', 10_000), line('captured', 10_000)], 'paid'],
  ] as const)('%j → %s', (lines, status) => {
    expect(paymentPosition(lines, order).status).toBe(status);
  });

  it('does not count money in another currency, and says so', () => {
    const position = paymentPosition([line('captured', 10_000, 'EUR')], order);
    expect(position.status).toBe('pending');
    expect(position.problems).toEqual(['payment in EUR for an order in USD']);
  });

  it('flags too little, too much and a dispute for a person', () => {
    expect(paymentPosition([line('captured', 4_000)], order).problems).toEqual(['captured 4000 of 10000 USD']);
    expect(paymentPosition([line('captured', 12_000)], order).problems).toEqual(['captured 12000, more than the 10000 USD due']);
    expect(paymentPosition([line('captured', 10_000), line('disputed', 10_000)], order).problems).toEqual(['the customer disputed the payment']);
  });

  // The oracle: what a bookkeeper would say, written independently of the implementation.
  function oracle(lines: readonly LedgerLine[]): string {
    const usd = lines.filter((l) => l.currency === 'USD');
    const captured = usd.filter((l) => l.kind === 'captured').reduce((s, l) => s + l.amount, 0);
    const refunded = usd.filter((l) => l.kind === 'refunded').reduce((s, l) => s + l.amount, 0);
    if (captured === 0) {
      const authorized = usd.filter((l) => l.kind === 'authorized').reduce((s, l) => s + l.amount, 0);
      const voided = usd.filter((l) => l.kind === 'voided').reduce((s, l) => s + l.amount, 0);
      if (authorized > voided) return 'authorized';
      if (voided > 0) return 'voided';
      // a failed attempt is a failure whatever its currency: the customer must try again
      return lines.some((l) => l.kind === 'failed') ? 'failed' : 'pending';
    }
    if (refunded === 0) return captured === total ? 'paid' : captured < total ? 'partially_paid' : 'overpaid';
    return refunded >= captured ? 'refunded' : 'partially_refunded';
  }

  it('agrees with the oracle for any ledger, in any order of arrival', () => {
    const entry = fc.record({
      kind: fc.constantFrom<PaymentKind>('authorized', 'captured', 'failed', 'refunded', 'disputed', 'voided'),
      amount: fc.oneof(fc.constant(total), fc.integer({ min: 1, max: 20_000 })),
      currency: fc.constantFrom('USD', 'USD', 'USD', 'EUR'),
    });
    fc.assert(fc.property(fc.array(entry, { maxLength: 8 }).chain((lines) => fc.tuple(fc.constant(lines), fc.shuffledSubarray(lines, { minLength: lines.length, maxLength: lines.length }))), ([lines, shuffled]) => {
      expect(paymentPosition(lines, order).status).toBe(oracle(lines));
      expect(paymentPosition(shuffled, order)).toEqual(paymentPosition(lines, order));
    }), { numRuns: 2000 });
  });
});
