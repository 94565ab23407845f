import type { ExceptionAction } from '../../schemas/exception-action.ts';
import type { OrderChange, OrderRecord } from '../order/record.ts';
import type { OrderStatus } from '../order/status.ts';
import { notification } from './notify.ts';

/** What an action needs to know of the exception it resolves. */
export interface ExceptionFacts {
  id: number;
  type: string;
  /** the stage that opened it (`validate`, `allocate`, …; a queue name for a parked message) */
  stage: string | null;
  orderId: string | null;
}

/** Why an action cannot apply now: a stable code and a sentence for the operator. */
export interface Refusal { kind: 'refuse'; code: string; reason: string; status?: OrderStatus }

/** What applying the action does: the change to the order (none for an order-less acknowledge) and a line saying what happened. */
export interface Application { kind: 'apply'; change: OrderChange | null; outcome: string }

/** Who asked, and what makes this request unique. */
export interface ActionRequest {
  actor: string;
  note?: string | undefined;
  /** unique per request (the request's message id): a second "contact customer" is a second message */
  occurrence: string;
  now: Date;
}

/** Orders nothing has left for a warehouse yet: allocation can change and a cancel needs nobody's answer. */
const beforeRelease: readonly OrderStatus[] = ['received', 'validated', 'on_hold', 'backordered', 'allocated', 'ready_to_ship'];
/** Where an operator's choice of warehouse or carrier still applies (the allocate stage's own list). */
const allocatable: readonly OrderStatus[] = ['validated', 'backordered', 'allocated', 'ready_to_ship'];
const ended: readonly OrderStatus[] = ['rejected', 'cancelled', 'returned'];
/** Payment states money can still be recorded against. */
const payable = ['pending', 'authorized', 'partially_paid', 'failed', 'voided'];

/**
 * The hold rules a person may waive by approving the review, by the exception the hold
 * opened. Other holds (an unknown SKU, an address) are fixed in the data and the order is
 * sent through validation again (`retry_stage`), never waved through.
 */
export const waivableRules: Readonly<Record<string, readonly string[]>> = {
  risk_review: ['risk'],
  price_mismatch: ['price'],
};

/** The stages an order can be sent back through, and the states it may be in for that. */
const retryable: Readonly<Record<string, readonly OrderStatus[]>> = {
  validate: ['received', 'validated', 'on_hold', 'backordered'],
  allocate: ['validated', 'on_hold', 'backordered'],
  release: ['allocated'],
};

const refuse = (code: string, reason: string, status?: OrderStatus): Refusal => ({ kind: 'refuse', code, reason, ...(status ? { status } : {}) });

/**
 * Decides an operator's action on an exception against the order as it is now: a refusal
 * (with the order's state) or the change that applies it. Each change goes through the
 * pipeline like automatic work: it moves the order only along the transitions table and
 * emits the event the next stage consumes (`order.received` to validate again,
 * `order.allocation_override_requested` to allocate, `payment.received` to the ledger,
 * `order.cancel_requested` to the warehouses, `customer.notification_requested`), with the
 * exception id and the operator on the timeline. Pure: the API checks with it before
 * accepting, the `exception-actions` stage decides with it again when it applies.
 */
export function decideExceptionAction(exception: ExceptionFacts, record: OrderRecord | undefined, action: ExceptionAction, request: ActionRequest): Refusal | Application {
  const by = `${request.actor} on exception #${exception.id} (${exception.type})`;
  const data = { exceptionId: exception.id, action: action.type, ...(request.note ? { note: request.note } : {}) };
  const base = record ? { orderId: record.id, orderNumber: record.orderNumber } : undefined;

  if (action.type === 'acknowledge') {
    return {
      kind: 'apply',
      change: record ? { timeline: { type: 'exception.acknowledged', reason: `acknowledged by ${by}`, data }, emit: [] } : null,
      outcome: 'acknowledged; nothing else to do',
    };
  }
  if (!record || !base) return refuse('no_order', `exception #${exception.id} is not about an order; only acknowledge applies`);
  const status = record.status;

  switch (action.type) {
    case 'retry_stage': {
      const stage = exception.stage ?? '';
      const allowed = retryable[stage];
      if (!allowed) {
        return refuse('not_retryable', `exception #${exception.id} came from ${exception.stage ? `"${exception.stage}"` : 'no stage'}; an order can be sent back through validate, allocate or release (a parked message is replayed from the dead letters)`);
      }
      if (!allowed.includes(status)) return refuse('wrong_state', `order ${record.orderNumber} is ${status}; ${stage} can be retried only from ${allowed.join(', ')}`, status);
      const retried = { reason: `sent back through ${stage} by ${by}`, data: { ...data, stage } };
      if (stage === 'validate') {
        return {
          kind: 'apply',
          // validation holds store credit again, so what it held before is given back
          change: { ...(status === 'received' ? {} : { to: 'received' as const }), releaseCredit: true, timeline: { type: 'order.retry_requested', ...retried }, emit: [{ type: 'order.received', data: { ...base, channel: record.channel, externalId: record.externalId } }] },
          outcome: `order ${record.orderNumber} sent back through validation`,
        };
      }
      if (stage === 'allocate') {
        return {
          kind: 'apply',
          change: { ...(status === 'validated' ? {} : { to: 'validated' as const }), timeline: { type: 'order.retry_requested', ...retried }, emit: [{ type: 'order.validated', data: { ...base } }] },
          outcome: `order ${record.orderNumber} sent back through allocation`,
        };
      }
      if (record.paymentStatus !== 'paid') return refuse('not_paid', `order ${record.orderNumber} is ${record.paymentStatus}; only a paid order is released`, status);
      return {
        kind: 'apply',
        change: { timeline: { type: 'order.retry_requested', ...retried }, emit: [{ type: 'payment.captured', data: { ...base } }] },
        outcome: `order ${record.orderNumber} sent back through release`,
      };
    }

    case 'override_allocation': {
      if (!allocatable.includes(status)) return refuse('wrong_state', `order ${record.orderNumber} is ${status}; allocation can change only when ${allocatable.join(', ')}`, status);
      const choice = { ...(action.warehouse ? { warehouse: action.warehouse } : {}), ...(action.carrier ? { carrier: action.carrier } : {}), ...(action.serviceLevel ? { serviceLevel: action.serviceLevel } : {}) };
      return {
        kind: 'apply',
        change: {
          timeline: { type: 'exception.allocation_override', reason: `allocation override (${Object.values(choice).join(' / ')}) asked by ${by}`, data: { ...data, ...choice } },
          emit: [{ type: 'order.allocation_override_requested', data: { ...base, ...choice, reason: request.note ?? `exception #${exception.id}`, actor: request.actor, exceptionId: exception.id } }],
        },
        outcome: `allocation override ${Object.values(choice).join(' / ')} sent to the allocate stage`,
      };
    }

    case 'split': {
      const splittable: readonly OrderStatus[] = ['validated', 'backordered'];
      if (!splittable.includes(status)) return refuse('wrong_state', `order ${record.orderNumber} is ${status}; only a validated or backordered order is allocated again`, status);
      return {
        kind: 'apply',
        change: {
          timeline: { type: 'exception.split_allowed', reason: `split shipment allowed by ${by}`, data },
          emit: [{ type: 'order.allocation_override_requested', data: { ...base, allowSplit: true, reason: request.note ?? `exception #${exception.id}`, actor: request.actor, exceptionId: exception.id } }],
        },
        outcome: 'allocation allowing a split shipment sent to the allocate stage',
      };
    }

    case 'mark_paid': {
      if (ended.includes(status)) return refuse('wrong_state', `order ${record.orderNumber} is ${status}; no payment is recorded against it`, status);
      if (!payable.includes(record.paymentStatus)) return refuse('already_paid', `order ${record.orderNumber} is ${record.paymentStatus}`, status);
      if (action.currency !== record.order.currency) return refuse('currency_mismatch', `order ${record.orderNumber} is in ${record.order.currency}, not ${action.currency}`, status);
      // The same entry an operator records through POST /api/orders/:id/payments: the
      // reference keeps it from counting twice.
      const entry = {
        provider: 'manual', account: null, entryId: `${action.method}:${action.reference}`, paymentId: action.reference, kind: 'captured' as const,
        amount: action.amount, currency: action.currency, occurredAt: request.now.toISOString(), method: action.method, match: { orderId: record.id },
      };
      return {
        kind: 'apply',
        change: {
          timeline: { type: 'exception.payment_recorded', reason: `${action.method} payment ${action.amount} ${action.currency} (${action.reference}) recorded by ${by}`, data: { ...data, amount: action.amount, currency: action.currency, method: action.method, reference: action.reference } },
          emit: [{ type: 'payment.received', data: { entries: [entry], actor: request.actor } }],
        },
        outcome: `${action.method} payment of ${action.amount} ${action.currency} (${action.reference}) sent to the ledger`,
      };
    }

    case 'approve_review': {
      const rules = waivableRules[exception.type];
      if (!rules) return refuse('not_a_review', `a ${exception.type} exception is not a review to approve: fix the cause and retry the stage`);
      if (status !== 'on_hold') return refuse('wrong_state', `order ${record.orderNumber} is ${status}, not on hold`, status);
      return {
        kind: 'apply',
        change: {
          to: 'received',
          timeline: { type: 'order.review_approved', reason: `review approved by ${by}: validated again without the ${rules.join(', ')} rule`, data: { ...data, waivedRules: rules } },
          emit: [{ type: 'order.received', data: { ...base, channel: record.channel, externalId: record.externalId } }],
        },
        outcome: `review approved; order ${record.orderNumber} validated again without the ${rules.join(', ')} rule`,
      };
    }

    case 'cancel_order': {
      const why = `cancelled by ${request.actor} (${action.reason}), exception #${exception.id}`;
      if (beforeRelease.includes(status)) {
        return {
          kind: 'apply',
          change: {
            to: 'cancelled', fulfillmentStatus: 'cancelled', releaseReservations: true, releaseCredit: true,
            timeline: { type: 'order.cancelled', reason: why, data },
            emit: [{ type: 'order.cancelled', data: { ...base, reason: why } }],
          },
          outcome: `order ${record.orderNumber} cancelled; its stock and credit given back`,
        };
      }
      if (status === 'released') {
        // The warehouses may already be picking: they are asked to stop, and their answer decides.
        return {
          kind: 'apply',
          change: {
            timeline: { type: 'order.cancel_requested', reason: `${why} after release: the warehouses are asked to stop it`, data },
            emit: [{ type: 'order.cancel_requested', data: { ...base, reason: why, status } }],
          },
          outcome: `order ${record.orderNumber} was released: the warehouses are asked to stop it`,
        };
      }
      return refuse('wrong_state', `order ${record.orderNumber} is ${status}; it can be cancelled only before it ships (a shipped order comes back as a return)`, status);
    }

    case 'contact_customer': {
      const template = action.template ?? 'message_from_shop';
      const message = notification(record, template, { message: action.message, reason: action.message, occurrence: request.occurrence });
      if (message.length === 0) return refuse('no_contact', `order ${record.orderNumber} has no usable email or phone`, status);
      return {
        kind: 'apply',
        change: { timeline: { type: 'customer.contacted', reason: `customer contacted (${template}) by ${by}`, data: { ...data, template, message: action.message } }, emit: message },
        outcome: `message (${template}) sent to the notification service`,
      };
    }

    default: {
      const never: never = action;
      return never;
    }
  }
}
