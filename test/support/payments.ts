import { expect } from 'vitest';
import type { PaymentNormalizeResult } from '../../connectors/payments/types.ts';
import { paymentMethods } from '../../schemas/canonical-order.ts';

/** What every payment normalizer promises, whatever it is fed. */
export function expectSoundEntries(result: PaymentNormalizeResult, provider: string): void {
  if (!result.ok) {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) {
      expect(problem.path).toMatch(/^\//);
      expect(problem.message).not.toBe('');
    }
    return;
  }
  expect(result.events.length).toBeGreaterThan(0);
  for (const entry of result.events) {
    expect(entry.provider).toBe(provider);
    expect(Number.isSafeInteger(entry.amount) && entry.amount >= 0, `amount ${entry.amount}`).toBe(true);
    expect(entry.currency).toMatch(/^[A-Z]{3}$/);
    expect(entry.entryId).not.toBe('');
    expect(entry.paymentId).not.toBe('');
    expect(entry.occurredAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    expect(['authorized', 'captured', 'failed', 'refunded', 'disputed', 'voided']).toContain(entry.kind);
    expect(paymentMethods).toContain(entry.method);
  }
}
