// What the refunds stage may still ask for, per provider payment, from the ledger and the
// refunds the hub asked for (`refundable`, pure). Property-based: any sequence of captures,
// refund causes, provider notifications (refund by refund, or as a running total), refunds
// made outside the hub and refunds that fail, against a model of where the money really is.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AskedRefund } from '../core/db/sql/refunds.ts';
import { refundable, type LedgerEntry } from '../core/stages/refunds.ts';

const USD = 'USD';
const captured = (provider: string, paymentId: string, amount: number, currency = USD): LedgerEntry =>
  ({ kind: 'captured', provider, paymentId, entryId: `${paymentId}:captured`, amount, currency });
const refunded = (provider: string, paymentId: string, entryId: string, amount: number): LedgerEntry =>
  ({ kind: 'refunded', provider, paymentId, entryId, amount, currency: USD });
const ask = (provider: string, paymentId: string, amount: number, fields: Partial<AskedRefund> = {}): AskedRefund =>
  ({ id: `${paymentId}:${amount}`, cause: null, createdAt: new Date(0), provider, paymentId, amount, currency: USD, reason: 'order.cancelled', status: 'succeeded', providerRefundId: null, ...fields });

describe('refundable', () => {
  it('counts a refund asked for and not reported yet', () => {
    expect(refundable([captured('stripe', 'pi_1', 3_500)], [ask('stripe', 'pi_1', 1_500, { providerRefundId: 're_1', reason: 'order.reduced' })], USD))
      .toEqual([{ provider: 'stripe', paymentId: 'pi_1', amount: 2_000, uncertain: 0, unmatchedLedger: 0, unmatchedAsked: 1_500 }]);
  });

  it('counts a reported refund once when the ledger entry is the refund the hub asked for', () => {
    const ledger = [captured('stripe', 'pi_1', 3_500), refunded('stripe', 'pi_1', 're_1', 1_500)];
    expect(refundable(ledger, [ask('stripe', 'pi_1', 1_500, { providerRefundId: 're_1' })], USD))
      .toEqual([expect.objectContaining({ amount: 2_000, uncertain: 0 })]);
  });

  it('counts a refund handed to finance, and one still requested; not one that failed at the provider', () => {
    const asked = [
      ask('manual', 'wire-1', 1_000, { reason: 'by hand', status: 'failed' }),
      ask('manual', 'wire-1', 500, { status: 'requested' }),
      ask('manual', 'wire-1', 700, { status: 'failed', providerRefundId: 're_x' }),
    ];
    expect(refundable([captured('manual', 'wire-1', 3_000)], asked, USD)).toEqual([expect.objectContaining({ amount: 1_500, uncertain: 0 })]);
  });

  it('a ledger refund it cannot match, next to an ask not reported: the smaller is uncertain', () => {
    const ledger = [captured('stripe', 'pi_1', 3_500), refunded('stripe', 'pi_1', 'ch_1:refunded', 1_500)];
    expect(refundable(ledger, [ask('stripe', 'pi_1', 1_500, { providerRefundId: 're_1' })], USD))
      .toEqual([{ provider: 'stripe', paymentId: 'pi_1', amount: 500, uncertain: 1_500, unmatchedLedger: 1_500, unmatchedAsked: 1_500 }]);
  });

  it('leaves out money in another currency and payments with nothing captured', () => {
    const ledger = [captured('stripe', 'pi_1', 1_000, 'EUR'), refunded('stripe', 'pi_2', 're_9', 100)];
    expect(refundable(ledger, [ask('stripe', 'pi_3', 100)], USD)).toEqual([]);
  });
});

// --- the model ------------------------------------------------------------------------------

/**
 * The payments of one order. Stripe reports refunds one by one with their own ids (`listed`)
 * or, as API versions since 2022-11-15 do, as the charge's running total (`total`, one
 * cumulative ledger entry raised to each new total); `manual` money has no refund API, so
 * every refund of it is finance's, by hand.
 */
const PAYMENTS = [
  { provider: 'stripe', paymentId: 'pi_listed', reports: 'listed' },
  { provider: 'stripe', paymentId: 'pi_total', reports: 'total' },
  { provider: 'manual', paymentId: 'wire-1', reports: 'none' },
] as const;

type Command =
  | { kind: 'capture'; payment: number; amount: number }
  | { kind: 'cause'; owed: number; answer: 'succeeded' | 'pending' }
  | { kind: 'report'; ask: number }
  | { kind: 'fail'; ask: number }
  | { kind: 'external'; payment: number; amount: number }
  | { kind: 'foreign'; payment: number; amount: number };

const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ kind: fc.constant('capture' as const), payment: fc.nat(PAYMENTS.length - 1), amount: fc.integer({ min: 1, max: 5_000 }) }),
  fc.record({
    kind: fc.constant('cause' as const),
    owed: fc.oneof(fc.constant(Number.POSITIVE_INFINITY), fc.integer({ min: 1, max: 6_000 })),
    answer: fc.constantFrom('succeeded' as const, 'pending' as const),
  }),
  fc.record({ kind: fc.constant('report' as const), ask: fc.nat(50) }),
  fc.record({ kind: fc.constant('fail' as const), ask: fc.nat(50) }),
  fc.record({ kind: fc.constant('external' as const), payment: fc.nat(1), amount: fc.integer({ min: 1, max: 3_000 }) }),
  fc.record({ kind: fc.constant('foreign' as const), payment: fc.nat(PAYMENTS.length - 1), amount: fc.integer({ min: 1, max: 3_000 }) }),
);

interface Model {
  ledger: LedgerEntry[];
  asked: (AskedRefund & { reported: boolean })[];
  /** per payment: captured, and money really gone back (or going back: pending, finance's) */
  captured: number[];
  back: number[];
  /** per payment: the running total the provider has reported refunded */
  reportedTotal: number[];
  refundIds: number;
}

const indexOf = (provider: string, paymentId: string) => PAYMENTS.findIndex((p) => p.provider === provider && p.paymentId === paymentId);

/** A provider's report of a refund of `amount` (its own id `refundId`) reaching the ledger. */
function report(m: Model, payment: number, refundId: string, amount: number): void {
  const p = PAYMENTS[payment]!;
  m.reportedTotal[payment]! += amount;
  if (p.reports === 'listed') {
    m.ledger.push(refunded(p.provider, p.paymentId, refundId, amount));
  } else if (p.reports === 'total') {
    // recordPayment: a cumulative entry is kept at the largest total reported
    const entryId = `ch_${p.paymentId}:refunded`;
    const entry = m.ledger.find((l) => l.entryId === entryId);
    if (entry) entry.amount = Math.max(entry.amount, m.reportedTotal[payment]!);
    else m.ledger.push(refunded(p.provider, p.paymentId, entryId, m.reportedTotal[payment]!));
  }
}

/**
 * One refund cause, as the stage handles it: each payment's `amount` asked (through the API,
 * or of finance for manual money), then what is still owed and may be there (`uncertain`)
 * handed to finance to check. Returns what was handed over to check, per payment.
 */
function cause(m: Model, owedAtStart: number, answer: 'succeeded' | 'pending'): number[] {
  let owed = owedAtStart;
  const rooms = refundable(m.ledger, m.asked, USD);
  for (const room of rooms) {
    if (owed <= 0) break;
    if (room.amount === 0) continue;
    const amount = Math.min(room.amount, owed);
    owed -= amount;
    const payment = indexOf(room.provider, room.paymentId);
    const byHand = PAYMENTS[payment]!.reports === 'none';
    m.asked.push({
      ...ask(room.provider, room.paymentId, amount, byHand ? { reason: 'by hand', status: 'failed' } : { status: answer, providerRefundId: `re_${++m.refundIds}` }),
      reported: false,
    });
    m.back[payment]! += amount;
  }
  const checked = PAYMENTS.map(() => 0);
  for (const room of rooms) {
    if (owed <= 0) break;
    const amount = Math.min(room.uncertain, owed);
    owed -= amount;
    checked[indexOf(room.provider, room.paymentId)] = amount;
  }
  return checked;
}

function run(m: Model, c: Command): number[] | null {
  switch (c.kind) {
    case 'capture': {
      const p = PAYMENTS[c.payment]!;
      m.ledger.push({ ...captured(p.provider, p.paymentId, c.amount), entryId: `${p.paymentId}:captured:${m.ledger.length}` });
      m.captured[c.payment]! += c.amount;
      return null;
    }
    case 'cause':
      return cause(m, c.owed, c.answer);
    case 'report': {
      // the provider's notification of one of the hub's refunds made through its API
      const candidates = m.asked.filter((a) => a.providerRefundId !== null && a.status !== 'failed' && !a.reported);
      const a = candidates[c.ask % Math.max(1, candidates.length)];
      if (!a) return null;
      a.reported = true;
      report(m, indexOf(a.provider, a.paymentId), a.providerRefundId!, a.amount);
      return null;
    }
    case 'fail': {
      // a pending refund the provider could not make: no money moved
      const candidates = m.asked.filter((a) => a.status === 'pending' && !a.reported);
      const a = candidates[c.ask % Math.max(1, candidates.length)];
      if (!a) return null;
      a.status = 'failed';
      m.back[indexOf(a.provider, a.paymentId)]! -= a.amount;
      return null;
    }
    case 'external': {
      // a refund made in the provider's dashboard: the provider allows no more than is left
      const amount = Math.min(c.amount, m.captured[c.payment]! - m.back[c.payment]!);
      if (amount <= 0) return null;
      m.back[c.payment]! += amount;
      report(m, c.payment, `re_dashboard_${++m.refundIds}`, amount);
      return null;
    }
    case 'foreign': {
      // money in another currency: not the order's, never counted
      const p = PAYMENTS[c.payment]!;
      m.ledger.push({ ...captured(p.provider, p.paymentId, c.amount, 'EUR'), entryId: `${p.paymentId}:eur:${m.ledger.length}` });
      m.asked.push({ ...ask(p.provider, p.paymentId, c.amount, { currency: 'EUR' }), reported: false });
      return null;
    }
    default: {
      const never: never = c;
      return never;
    }
  }
}

describe('refundable, for any sequence of captures, reported refunds and asked refunds', () => {
  const fresh = (): Model => ({ ledger: [], asked: [], captured: PAYMENTS.map(() => 0), back: PAYMENTS.map(() => 0), reportedTotal: PAYMENTS.map(() => 0), refundIds: 0 });

  it('never has more given back of a payment than was captured', () => {
    fc.assert(fc.property(fc.array(command, { maxLength: 40 }), (commands) => {
      const m = fresh();
      for (const c of commands) {
        run(m, c);
        PAYMENTS.forEach((_, i) => expect(m.back[i], `payment ${i}`).toBeLessThanOrEqual(m.captured[i]!));
      }
    }), { numRuns: 2_000 });
  });

  it('after a cancellation, whatever is still owed is what finance was asked to check — nothing is lost silently', () => {
    fc.assert(fc.property(fc.array(command, { maxLength: 40 }), fc.constantFrom('succeeded' as const, 'pending' as const), (commands, answer) => {
      const m = fresh();
      for (const c of commands) run(m, c);
      const checked = cause(m, Number.POSITIVE_INFINITY, answer);
      PAYMENTS.forEach((_, i) => {
        expect(m.back[i]).toBeLessThanOrEqual(m.captured[i]!);
        expect(m.captured[i]! - m.back[i]!, `payment ${i}`).toBeLessThanOrEqual(checked[i]!);
      });
      // every refund in the ledger is one the hub asked for, named by its own id: nothing is
      // ambiguous, so everything goes back and finance has nothing to check
      if (!commands.some((c) => c.kind === 'external') && m.reportedTotal[1] === 0) {
        expect(checked).toEqual(PAYMENTS.map(() => 0));
        expect(m.back).toEqual(m.captured);
      }
    }), { numRuns: 2_000 });
  });

  it('is pure: the same answer twice, its inputs untouched', () => {
    fc.assert(fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
      const m = fresh();
      for (const c of commands) run(m, c);
      const before = JSON.stringify([m.ledger, m.asked]);
      expect(refundable(m.ledger, m.asked, USD)).toEqual(refundable(m.ledger, m.asked, USD));
      expect(JSON.stringify([m.ledger, m.asked])).toBe(before);
    }), { numRuns: 300 });
  });
});
