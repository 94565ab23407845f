import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition, orderStatuses, paymentStatuses } from '../core/order/status.ts';
import { decideExceptionAction, waivableRules, type ExceptionFacts } from '../core/pipeline/exception-actions.ts';
import type { ExceptionAction } from '../schemas/exception-action.ts';
import { anOrder, anOrderRecord, orderLine } from './support/orders.ts';

// The pure decision behind every exception-desk action: given any order state, payment state,
// exception and action, it refuses or applies, and what it applies is a legal move along
// the transitions table, names the exception on the timeline and emits only the events
// the pipeline's stages consume.
const consumed = new Set(['order.received', 'order.validated', 'order.allocation_override_requested', 'payment.received', 'payment.captured',
  'order.cancelled', 'order.cancel_requested', 'customer.notification_requested']);
const request = { actor: 'ops-key', occurrence: 'msg-1', now: new Date('2026-03-01T10:00:00Z') };

const actionArb: fc.Arbitrary<ExceptionAction> = fc.oneof(
  fc.constant({ type: 'acknowledge' as const }),
  fc.constant({ type: 'retry_stage' as const }),
  fc.record({ type: fc.constant('override_allocation' as const), warehouse: fc.constantFrom('us-east', 'us-west') }),
  fc.record({
    type: fc.constant('mark_paid' as const), amount: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), currency: fc.constantFrom('USD', 'EUR', 'JPY'),
    method: fc.constantFrom('cash_on_delivery' as const, 'bank_transfer' as const), reference: fc.string({ minLength: 1, maxLength: 20 }),
  }),
  fc.constant({ type: 'approve_review' as const }),
  fc.record({ type: fc.constant('cancel_order' as const), reason: fc.string({ minLength: 1, maxLength: 50 }) }),
  fc.constant({ type: 'split' as const }),
  fc.record({ type: fc.constant('contact_customer' as const), message: fc.string({ minLength: 1, maxLength: 100 }) }),
);
const exceptionArb: fc.Arbitrary<ExceptionFacts> = fc.record({
  id: fc.integer({ min: 1, max: 1_000_000 }),
  type: fc.constantFrom('risk_review', 'price_mismatch', 'unknown_sku', 'stock_shortage', 'payment_mismatch', 'sla_breach', 'poison_message'),
  stage: fc.constantFrom('validate', 'allocate', 'release', 'hub.stage.notifications', null),
  orderId: fc.constant('x'),
});

describe('decideExceptionAction', () => {
  it('refuses, or applies a legal transition that names the exception and emits only what a stage consumes (property)', () => {
    fc.assert(fc.property(exceptionArb, fc.constantFrom(...orderStatuses), fc.constantFrom(...paymentStatuses), actionArb, (exception, status, paymentStatus, action) => {
      const record = anOrderRecord(anOrder({ lines: [orderLine('SKU-A', 1)] }), { status, paymentStatus });
      const decision = decideExceptionAction({ ...exception, orderId: record.id }, record, action, request);
      if (decision.kind === 'refuse') {
        expect(decision.reason.length).toBeGreaterThan(0);
        return;
      }
      const change = decision.change!;
      if (change.to && change.to !== status) expect(canTransition(status, change.to), `${status} → ${change.to}`).toBe(true);
      expect(change.timeline.data).toMatchObject({ exceptionId: exception.id, action: action.type });
      for (const e of change.emit) expect(consumed.has(e.type), e.type).toBe(true);
    }), { numRuns: 2_000 });
  });

  it('approves only reviews, of an order on hold, waiving the rule the review is about', () => {
    const record = anOrderRecord(anOrder(), { status: 'on_hold' });
    const facts = { id: 7, type: 'risk_review', stage: 'validate', orderId: record.id };
    const decision = decideExceptionAction(facts, record, { type: 'approve_review' }, request);
    expect(decision).toMatchObject({ kind: 'apply', change: { to: 'received', timeline: { type: 'order.review_approved', data: { waivedRules: waivableRules.risk_review } } } });
    expect(decideExceptionAction({ ...facts, type: 'address_invalid' }, record, { type: 'approve_review' }, request)).toMatchObject({ kind: 'refuse', code: 'not_a_review' });
    expect(decideExceptionAction(facts, { ...record, status: 'validated' }, { type: 'approve_review' }, request)).toMatchObject({ kind: 'refuse', code: 'wrong_state', status: 'validated' });
  });

  it('cancels before release, asks the warehouses after it, and refuses once shipped', () => {
    const cancel: ExceptionAction = { type: 'cancel_order', reason: 'fraud' };
    const facts = { id: 3, type: 'sla_breach', stage: null, orderId: 'x' };
    const at = (status: (typeof orderStatuses)[number]) => decideExceptionAction(facts, anOrderRecord(anOrder(), { status }), cancel, request);
    expect(at('allocated')).toMatchObject({ kind: 'apply', change: { to: 'cancelled', releaseReservations: true, emit: [{ type: 'order.cancelled' }] } });
    expect(at('released')).toMatchObject({ kind: 'apply', change: { emit: [{ type: 'order.cancel_requested' }] } });
    expect(at('shipped')).toMatchObject({ kind: 'refuse', code: 'wrong_state', status: 'shipped' });
  });

  it('each contact is its own message: the occurrence is the request', () => {
    const record = anOrderRecord(anOrder());
    const decision = decideExceptionAction({ id: 1, type: 'address_invalid', stage: 'validate', orderId: record.id }, record, { type: 'contact_customer', message: 'hello' }, request);
    expect(decision).toMatchObject({ kind: 'apply', change: { emit: [{ type: 'customer.notification_requested', data: { template: 'message_from_shop', message: 'hello', occurrence: 'msg-1' } }] } });
    const noContact = anOrderRecord(anOrder({ customer: { id: null, email: null, phone: null, name: null, locale: null } }));
    expect(decideExceptionAction({ id: 1, type: 'address_invalid', stage: 'validate', orderId: noContact.id }, noContact, { type: 'contact_customer', message: 'hello' }, request))
      .toMatchObject({ kind: 'refuse', code: 'no_contact' });
  });
});
