import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, orderStatuses, transitions, type OrderStatus } from '../core/order/status.ts';
import {
  completableFrom, completionActions, decideCompletion, decideFeedback, feedbackStatuses,
  type CompletionActor, type Feedback,
} from '../core/pipeline/completion.ts';
import { MAX_FEEDBACK_COMMENT, parseFeedback } from '../schemas/feedback.ts';
import { anOrderRecord } from './support/orders.ts';

// The completion and feedback decisions against the one transitions table: every
// (status, action) pair, whoever asks.
const status = fc.constantFrom(...orderStatuses);
const action = fc.constantFrom(...completionActions);
const actor = fc.constantFrom<CompletionActor>('admin', 'customer:website', 'customer:app', 'job:auto-complete');
const parcel = fc.option(fc.record({ carrier: fc.constantFrom('ups', 'fedex', 'dhl'), trackingCode: fc.stringMatching(/^[A-Z0-9]{6,20}$/) }), { nil: null });
const feedback: fc.Arbitrary<Feedback> = fc.record({ rating: fc.integer({ min: 1, max: 5 }), comment: fc.option(fc.string({ maxLength: 50 }), { nil: null }) });

/** Statuses reachable from `start` through the table (start included). */
function reachable(start: OrderStatus): Set<OrderStatus> {
  const seen = new Set<OrderStatus>([start]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const from of [...seen]) for (const to of transitions[from]) if (!seen.has(to)) grew = seen.add(to).size > 0;
  }
  return seen;
}

describe('completing an order', () => {
  it('given any status and action: completed already → nothing; a legal way to completed → every step legal, ending completed; else refused', () => {
    fc.assert(fc.property(status, action, actor, parcel, (from, how, who, p) => {
      const record = anOrderRecord(undefined, { status: from });
      const decision = decideCompletion({ record, action: how, actor: who, parcel: p });
      const direct = canTransition(from, 'completed');
      // the customer's word (not the job) may deliver a shipped order first
      const viaDelivered = how === 'confirm_receipt' && canTransition(from, 'delivered') && canTransition('delivered', 'completed');
      if (from === 'completed') {
        expect(decision).toEqual({ outcome: 'already_completed' });
      } else if (!direct && !viaDelivered) {
        expect(decision.outcome).toBe('refused');
        if (decision.outcome === 'refused') {
          expect(decision.reason).toContain(from);
          expect(decision.allowed).not.toContain(from);
        }
      } else {
        expect(decision.outcome).toBe('complete');
        if (decision.outcome !== 'complete') return;
        const path = decision.changes.map((c) => c.to);
        expect(path).toEqual(direct ? ['completed'] : ['delivered', 'completed']);
        let at: OrderStatus = from;
        for (const to of path) {
          expect(canTransition(at, to!)).toBe(true);
          at = to!;
        }
        const events = decision.changes.flatMap((c) => c.emit);
        expect(events.filter((e) => e.type === 'order.completed')).toEqual([
          { type: 'order.completed', data: { orderId: record.id, orderNumber: record.orderNumber, action: how, completedBy: who } },
        ]);
        // one order.delivered when the customer's word delivered it and a parcel can be named
        expect(events.filter((e) => e.type === 'order.delivered')).toHaveLength(!direct && p ? 1 : 0);
        // nobody is told "delivered" when they said so themselves
        expect(events.some((e) => e.type === 'customer.notification_requested')).toBe(false);
      }
    }), { numRuns: 500 });
  });

  it('exhaustively: receipt completes shipped and delivered orders; the job only delivered ones', () => {
    for (const from of orderStatuses) {
      for (const how of completionActions) {
        const outcome = decideCompletion({ record: anOrderRecord(undefined, { status: from }), action: how, actor: 'admin' }).outcome;
        const expected = from === 'completed' ? 'already_completed'
          : from === 'delivered' || (from === 'shipped' && how === 'confirm_receipt') ? 'complete' : 'refused';
        expect(`${from}/${how}: ${outcome}`).toBe(`${from}/${how}: ${expected}`);
      }
    }
    expect(completableFrom('confirm_receipt')).toEqual(['shipped', 'delivered']);
    expect(completableFrom('auto_complete')).toEqual(['delivered']);
  });

  it('a shipped order confirmed by the customer is delivered (fulfilment too, its delay settled), then completed', () => {
    const record = anOrderRecord(undefined, { status: 'shipped', fulfillmentStatus: 'shipped' });
    const decision = decideCompletion({ record, action: 'confirm_receipt', actor: 'customer:app', parcel: { carrier: 'ups', trackingCode: '1Z999' } });
    expect(decision.outcome === 'complete' && decision.changes[0]).toMatchObject({
      to: 'delivered', fulfillmentStatus: 'delivered', resolves: ['logistics_delay'],
      timeline: { type: 'order.delivered', data: { confirmedBy: 'customer:app' } },
      emit: [{ type: 'order.delivered', data: { orderId: record.id, carrier: 'ups', trackingCode: '1Z999', confirmedBy: 'customer:app' } }],
    });
  });

  it('says in the timeline who completed it and why', () => {
    const reason = (how: 'confirm_receipt' | 'auto_complete', who: CompletionActor) => {
      const d = decideCompletion({ record: anOrderRecord(undefined, { status: 'delivered' }), action: how, actor: who, afterDays: 14 });
      return d.outcome === 'complete' ? d.changes[0]!.timeline.reason : undefined;
    };
    expect(reason('confirm_receipt', 'admin')).toMatch(/operator on the customer's behalf/);
    expect(reason('confirm_receipt', 'customer:website')).toBe('the customer confirmed receipt');
    expect(reason('auto_complete', 'job:auto-complete')).toBe('no return or dispute 14 days after delivery');
  });
});

describe('feedback', () => {
  it('can be given in exactly the statuses the table leads to from delivered', () => {
    expect(new Set(feedbackStatuses)).toEqual(reachable('delivered'));
    expect([...feedbackStatuses]).toEqual(['delivered', 'completed', 'returned']);
  });

  it('given any status and rating: first rating recorded only after delivery; the same again unchanged; another refused', () => {
    fc.assert(fc.property(status, feedback, fc.option(feedback, { nil: null }), fc.constantFrom('api', 'website', 'app'), (at, given, existing, source) => {
      const record = anOrderRecord(undefined, { status: at });
      const decision = decideFeedback(record, given, existing, source);
      if (existing && existing.rating === given.rating && existing.comment === given.comment) {
        expect(decision).toEqual({ outcome: 'unchanged' });
      } else if (existing) {
        expect(decision).toMatchObject({ outcome: 'refused', code: 'feedback_exists' });
      } else if (!feedbackStatuses.includes(at)) {
        expect(decision).toMatchObject({ outcome: 'refused', code: 'feedback_not_allowed' });
      } else {
        expect(decision).toEqual({
          outcome: 'record',
          change: {
            timeline: { type: 'feedback.received', reason: expect.stringContaining(`rated ${given.rating} of 5`), data: { rating: given.rating, source } },
            emit: [{ type: 'order.feedback_received', data: { orderId: record.id, orderNumber: record.orderNumber, rating: given.rating, comment: given.comment, source } }],
          },
        });
        // a rating never moves the order
        if (decision.outcome === 'record') expect(decision.change.to).toBeUndefined();
      }
    }), { numRuns: 500 });
  });

  it('parses a rating of 1..5 and a comment up to 2000 characters; anything else names the field', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.option(fc.string({ maxLength: MAX_FEEDBACK_COMMENT }).filter((s) => !s.includes('\u0000')), { nil: undefined }), (rating, comment) => {
      expect(parseFeedback(comment === undefined ? { rating } : { rating, comment })).toEqual({ ok: true, feedback: { rating, comment: comment ?? null } });
    }));
    const badRating = fc.oneof(
      fc.integer().filter((n) => n < 1 || n > 5),
      fc.double({ noNaN: true }).filter((n) => !Number.isInteger(n)),
      fc.string(), fc.constant(null), fc.boolean(),
    );
    fc.assert(fc.property(badRating, (rating) => {
      const parsed = parseFeedback({ rating });
      expect(parsed.ok).toBe(false);
      if (!parsed.ok) expect(parsed.problems.map((p) => p.path)).toEqual(['/rating']);
    }));
    const paths = (value: unknown) => {
      const parsed = parseFeedback(value);
      return parsed.ok ? [] : parsed.problems.map((p) => p.path);
    };
    expect(paths({})).toEqual(['/rating']);
    expect(paths({ rating: 3, comment: 'x'.repeat(MAX_FEEDBACK_COMMENT + 1) })).toEqual(['/comment']);
    expect(paths({ rating: 3, comment: 'a\u0000b' })).toEqual(['/comment']);
    expect(paths({ rating: 3, stars: 5 })).toEqual(['/stars']);
    expect(paths([3])).toEqual(['/']);
  });
});
