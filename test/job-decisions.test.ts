// The scheduled jobs' decisions, pure: SLA breaches (core/pipeline/sla.ts), escalation
// (core/pipeline/escalation.ts), expiry of unmatched payments (core/pipeline/payment-expiry.ts)
// and the low-stock sweep (core/pipeline/low-stock.ts). Dates and quantities from fast-check.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escalation } from '../core/pipeline/escalation.ts';
import { lowStockAlertChange } from '../core/pipeline/low-stock.ts';
import { expiresAt, paymentExpiry } from '../core/pipeline/payment-expiry.ts';
import { breachIsOver, describeBreach, slaBreach, stayKey, type SlaLimits } from '../core/pipeline/sla.ts';

const MINUTE = 60_000;
const DAY = 86_400_000;
const instant = fc.integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) }).map((ms) => new Date(ms));
const status = fc.constantFrom('received', 'validated', 'allocated', 'released', 'shipped', 'delivered', 'completed');
const limits: SlaLimits = { received: 15, validated: 30, allocated: 60, released: 1440, shipped: 10_080 };

describe('slaBreach', () => {
  it('an order is in breach exactly when it has stayed longer than its status allows', () => {
    fc.assert(fc.property(status, instant, fc.integer({ min: 0, max: 30 * DAY }), (s, since, stayed) => {
      const now = new Date(since.getTime() + stayed);
      const breach = slaBreach({ status: s, since }, limits, now);
      const limit = limits[s];
      if (limit === undefined) {
        expect(breach).toBeUndefined();
        return;
      }
      expect(breach !== undefined).toBe(stayed > limit * MINUTE);
      if (breach) {
        expect(breach.limitMinutes).toBe(limit);
        expect(breach.dueAt.getTime()).toBe(since.getTime() + limit * MINUTE);
        expect(breach.overdueMinutes).toBe(Math.floor((stayed - limit * MINUTE) / MINUTE));
        expect(breach.overdueMinutes).toBeGreaterThanOrEqual(0);
      }
    }));
  });

  it('exactly at the limit is still in time; a millisecond later is not', () => {
    const since = new Date('2026-01-15T10:00:00Z');
    expect(slaBreach({ status: 'received', since }, limits, new Date('2026-01-15T10:15:00Z'))).toBeUndefined();
    expect(slaBreach({ status: 'received', since }, limits, new Date('2026-01-15T10:15:00.001Z'))).toMatchObject({ limitMinutes: 15, overdueMinutes: 0 });
  });

  it('a status the config does not name has no SLA, whatever the object underneath has', () => {
    expect(slaBreach({ status: 'toString', since: new Date(0) }, limits, new Date())).toBeUndefined();
    expect(slaBreach({ status: 'completed', since: new Date(0) }, limits, new Date())).toBeUndefined();
  });

  it('one key per stay: the same stay always has the same key, another stay another one', () => {
    fc.assert(fc.property(fc.uuid(), status, status, instant, instant, (order, s1, s2, t1, t2) => {
      const a = { status: s1, since: t1 };
      const b = { status: s2, since: t2 };
      expect(stayKey(order, a)).toBe(stayKey(order, { ...a, since: new Date(t1.getTime()) }));
      expect(stayKey(order, a) === stayKey(order, b)).toBe(!breachIsOver(a, b));
    }));
  });

  it('a breach is over once the order left the status, or left it and came back', () => {
    const since = new Date('2026-01-15T10:00:00Z');
    expect(breachIsOver({ status: 'released', since }, { status: 'released', since: new Date(since.getTime()) })).toBe(false);
    expect(breachIsOver({ status: 'released', since }, { status: 'shipped', since: new Date('2026-01-16T10:00:00Z') })).toBe(true);
    expect(breachIsOver({ status: 'released', since }, { status: 'released', since: new Date('2026-01-16T10:00:00Z') })).toBe(true);
  });

  it('tells the owner how late the order is', () => {
    const stay = { status: 'released', since: new Date('2026-01-15T10:00:00Z') };
    const breach = slaBreach(stay, limits, new Date('2026-01-16T13:30:00Z'))!;
    expect(describeBreach('HUB-1', stay, breach)).toBe('order HUB-1 has been released for longer than its SLA of 24 h (over by 3 h)');
  });
});

describe('escalation', () => {
  const owner = fc.constantFrom('operations', 'finance', 'inventory');
  const sop = fc.record({ escalateTo: fc.option(fc.constantFrom('operations-lead', 'finance', 'cfo'), { nil: undefined }) });

  it('escalates an open exception once its deadline has passed, once, to escalateTo when there is one', () => {
    fc.assert(fc.property(owner, sop, instant, fc.integer({ min: -DAY, max: DAY }), fc.boolean(), (o, entry, deadline, sinceDeadline, open) => {
      const now = new Date(deadline.getTime() + sinceDeadline);
      const exception = { owner: o, deadline, escalatedAt: null, status: open ? 'open' : 'resolved' };
      const decided = escalation(exception, entry, now);
      expect(decided !== undefined).toBe(open && sinceDeadline > 0);
      if (!decided) return;
      expect(decided.owner).toBe(entry.escalateTo ?? o);
      expect(decided.previousOwner).toBe(entry.escalateTo !== undefined && entry.escalateTo !== o ? o : null);
      // once: an escalated exception is not escalated again, however late it gets
      expect(escalation({ ...exception, owner: decided.owner, escalatedAt: now }, entry, new Date(now.getTime() + 30 * DAY))).toBeUndefined();
    }));
  });
});

describe('paymentExpiry', () => {
  const kind = fc.constantFrom('captured', 'authorized', 'failed', 'voided', 'refunded', 'disputed');
  const money = fc.record({
    kind, amount: fc.integer({ min: 0, max: 10_000_000_000 }), currency: fc.constantFrom('USD', 'JPY', 'KWD'),
    paymentId: fc.string({ minLength: 1, maxLength: 20 }), provider: fc.constantFrom('stripe', 'adyen'), recordedAt: instant,
  });

  it('expires a payment exactly when its days are up; only held money asks for a refund', () => {
    fc.assert(fc.property(money, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 90 * DAY }), (p, days, waited) => {
      const now = new Date(p.recordedAt.getTime() + waited);
      const decided = paymentExpiry(p, now, days);
      expect(decided !== undefined).toBe(waited >= days * DAY);
      expect(expiresAt(p.recordedAt, days).getTime() - p.recordedAt.getTime()).toBe(days * DAY);
      if (!decided) return;
      expect(decided.refund !== undefined).toBe(p.kind === 'captured' || p.kind === 'authorized');
      if (decided.refund) expect(decided.refund.reason).toContain(`${p.amount} ${p.currency}`);
    }));
  });
});

describe('lowStockAlertChange', () => {
  it('leaves an open alert exactly where stock is at or under the threshold, and a second sweep changes nothing', () => {
    fc.assert(fc.property(fc.integer({ min: -100, max: 10_000 }), fc.integer({ min: 0, max: 1_000 }), fc.boolean(), (available, threshold, open) => {
      const change = lowStockAlertChange(available, threshold, open);
      const after = change === 'open' ? true : change === 'resolve' ? false : open;
      expect(after).toBe(available <= threshold);
      expect(lowStockAlertChange(available, threshold, after)).toBeUndefined();
    }));
  });
});
