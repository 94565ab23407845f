import type { ReturnLabelClient, ReturnLabelRequest, ReturnLabelResult } from '../../connectors/carriers/labels.ts';
import type { WarehouseConfig } from '../../schemas/config.ts';
import { parseReturnRequest } from '../../schemas/return-request.ts';
import { withSop } from '../config/business.ts';
import { withTransaction, type Tx } from '../db/pool.ts';
import { appendAudit } from '../db/sql/audit.ts';
import { openException, resolveExceptionByMessageId } from '../db/sql/exceptions.ts';
import { adjustOnHand, categoriesOf, lockStock, stockLevel } from '../db/sql/inventory.ts';
import { appendOrderEvent, insertOrder, lockOrder, nextOrderSequence } from '../db/sql/orders.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import {
  carrierThatDelivered, countReturnsOf, deliveredUnits, getReturn, insertReturn, lockReturn, moneyOf, productNames,
  recordReturnReceipt, returnByIdempotencyKey, setReturnLabel, setReturnStatus, unitsOnReturns,
  unitsReceived, warehouseThatShipped, weightOf, type ReturnRow,
} from '../db/sql/returns.ts';
import { badRequest, conflict } from '../errors.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import type { CallingStage } from '../messaging/consume.ts';
import { ack, park, retry, type Decision } from '../messaging/decision.ts';
import type { OrderChange, OrderRecord } from '../order/record.ts';
import { canTransition } from '../order/status.ts';
import { notification } from '../pipeline/notify.ts';
import { receiveOrder } from '../pipeline/receive.ts';
import {
  decideReturn, everythingBack, exchangeOrderFor, receivableReturnStatuses, refundFor, returnRequestProblems, type ReturnRequest,
} from '../pipeline/returns.ts';
import { formatMinorUnits } from '../money.ts';
import { applyOrderChange, orderMessages } from './apply.ts';
import type { StageContext } from './context.ts';
import type { CustomerCallHandler } from './customer-calls.ts';
import { stockChanged } from './stock.ts';

/**
 * Returns and exchanges (RMA), the adapter: requests decided under the order's lock, the
 * return label asked of the carrier by the `returns` stage, the goods received and
 * inspected at a warehouse (`return.received`), then the refund (through the `refunds`
 * stage) or the exchange order (through the whole pipeline).
 */

// ---------------------------------------------------------------------------------------
// The return label
// ---------------------------------------------------------------------------------------

/** A return label as a person or a carrier supplies it. */
export interface ReturnLabel {
  carrier: string;
  trackingCode: string;
  labelUrl: string;
}

const LABEL_EXCEPTION = 'return_label_needed';
const MISMATCH_EXCEPTION = 'return_mismatch';
const labelExceptionId = (rmaId: string) => `return_label:${rmaId}`;

// ---------------------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------------------

/** The outcome of a request: the RMA, and whether this call made it (false: an idempotent replay). */
export interface RequestedReturn {
  rma: ReturnRow;
  created: boolean;
}

const sameRequest = (rma: ReturnRow, request: ReturnRequest) =>
  rma.kind === request.kind && rma.reason === request.reason
  && JSON.stringify(rma.lines.map((l) => [l.sku, l.quantity, l.exchangeSku ?? null])) === JSON.stringify(request.lines.map((l) => [l.sku, l.quantity, l.exchangeSku ?? null]));

/**
 * A return request for an order the caller has locked: decided by the rules (window,
 * categories, what was delivered and already returned), recorded as RMA
 * `<order number>-R<n>`, approved or rejected with every reason, on the order's timeline
 * (`return.requested`, then `return.approved` / `return.rejected`), on the bus, and told to
 * the customer. An approved RMA goes on to the `returns` stage for its label. With an
 * idempotency key, the same request again returns the RMA made the first time; the key
 * reused for another request is a 409.
 */
export async function requestReturn(tx: Tx, ctx: StageContext, record: OrderRecord, request: ReturnRequest, actor: string): Promise<RequestedReturn> {
  const problems = returnRequestProblems(request);
  if (problems.length > 0) throw badRequest('invalid_body', 'the return request is not well-formed', { problems });
  if (request.idempotencyKey !== undefined) {
    const earlier = await returnByIdempotencyKey(tx, request.idempotencyKey);
    if (earlier) {
      if (earlier.orderId !== record.id || !sameRequest(earlier, request)) {
        throw conflict('idempotency_key_reused', `idempotency key ${request.idempotencyKey} was used for another request (${earlier.id})`, { rmaId: earlier.id });
      }
      return { rma: earlier, created: false };
    }
  }

  const skus = request.lines.map((l) => l.sku);
  const exchangeSkus = request.lines.flatMap((l) => (l.exchangeSku ? [l.exchangeSku] : []));
  const delivered = await deliveredUnits(tx, record.id);
  const decision = decideReturn(request, {
    orderStatus: record.status,
    orderLines: record.order.lines,
    categories: await categoriesOf(tx, skus),
    delivered: delivered.units,
    deliveredAt: delivered.at,
    alreadyReturned: await unitsOnReturns(tx, record.id),
    knownSkus: new Set((await productNames(tx, exchangeSkus)).keys()),
    now: ctx.now(),
  }, {
    returnWindowDays: ctx.config.afterSales?.returnWindowDays ?? 30,
    nonReturnableCategories: ctx.config.afterSales?.nonReturnableCategories ?? [],
  });

  const id = `${record.orderNumber}-R${(await countReturnsOf(tx, record.id)) + 1}`;
  const approved = decision.verdict === 'approved';
  const warehouse = approved
    ? (await warehouseThatShipped(tx, record.id, skus)) ?? record.warehouse ?? ctx.config.warehouses[0]!.code
    : null;
  const reasons = decision.verdict === 'rejected' ? decision.reasons : [];
  const because = decision.verdict === 'approved' ? decision.reason : reasons.map((r) => r.message).join('; ');
  await insertReturn(tx, {
    id, orderId: record.id, kind: request.kind, status: decision.verdict, reason: request.reason, decision: because, reasons,
    warehouse, refundAmount: null, currency: record.order.currency, requestedBy: actor, idempotencyKey: request.idempotencyKey ?? null,
    lines: request.lines,
  });

  const base = { rmaId: id, orderId: record.id, orderNumber: record.orderNumber, kind: request.kind };
  const cause = { stage: 'returns', messageId: `return:${id}`, actor };
  const requested = await applyOrderChange(tx, ctx, record, {
    timeline: { type: 'return.requested', reason: `${id}: ${request.kind} of ${describeLines(request.lines)} (${request.reason})`, data: { rmaId: id, lines: request.lines } },
    emit: [{ type: 'return.requested', data: { ...base, reason: request.reason, lines: request.lines } }],
  }, cause);
  await applyOrderChange(tx, ctx, requested, approved
    ? {
      timeline: { type: 'return.approved', reason: `${id}: ${because}`, data: { rmaId: id, warehouse } },
      emit: [
        { type: 'return.approved', data: { ...base, warehouse, lines: request.lines } },
        ...notification(requested, 'return_approved', { rmaId: id, occurrence: id }),
      ],
    }
    : {
      timeline: { type: 'return.rejected', reason: `${id}: ${because}`, data: { rmaId: id, reasons } },
      emit: [
        { type: 'return.rejected', data: { ...base, reasons } },
        ...notification(requested, 'return_rejected', { rmaId: id, reason: because, occurrence: id }),
      ],
    }, cause);
  await appendAudit(tx, { actor, action: 'return.request', target: `return:${id}`, detail: { orderId: record.id, kind: request.kind, verdict: decision.verdict } });
  return { rma: (await getReturn(tx, id))!, created: true };
}

function describeLines(lines: readonly { sku: string; quantity: number; exchangeSku?: string | undefined }[]): string {
  return lines.map((l) => `${l.quantity} × ${l.sku}${l.exchangeSku ? ` → ${l.exchangeSku}` : ''}`).join(', ');
}

/**
 * `return.requested` from the shop's own website or app (`POST /webhooks/customers/:source`):
 * `{ type, externalId, kind, reason, lines }`, decided exactly as an operator's request.
 */
export const returnRequestedCall: CustomerCallHandler = {
  problems(call) {
    const parsed = parseReturnRequest(requestFields(call));
    return parsed.ok ? [] : parsed.problems;
  },
  async handle(tx, ctx, record, call, origin) {
    const parsed = parseReturnRequest(requestFields(call));
    if (!parsed.ok) throw badRequest('invalid_body', 'the return request does not match the schema', { problems: parsed.problems });
    const { rma, created } = await requestReturn(tx, ctx, record, parsed.request, origin.actor);
    return { rmaId: rma.id, orderId: record.id, orderNumber: record.orderNumber, returnStatus: rma.status, created, reasons: rma.reasons };
  },
};

function requestFields(call: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(call).filter(([name]) => name !== 'type' && name !== 'externalId'));
}

// ---------------------------------------------------------------------------------------
// The label
// ---------------------------------------------------------------------------------------

/**
 * Attaches a return label to an approved RMA (the carrier's, or one a person bought): the
 * RMA is `in_transit`, the customer gets the label, and the warehouse that takes the goods
 * back is told to expect them (`return.expected` on its queue).
 */
export async function attachReturnLabel(tx: Tx, ctx: StageContext, record: OrderRecord, rma: ReturnRow, label: ReturnLabel, actor: string): Promise<void> {
  await setReturnLabel(tx, rma.id, label);
  await resolveExceptionByMessageId(tx, LABEL_EXCEPTION, labelExceptionId(rma.id), `label ${label.carrier} ${label.trackingCode} attached`);
  const warehouse = rma.warehouse ?? record.warehouse ?? ctx.config.warehouses[0]!.code;
  const lines = rma.lines.map((l) => ({ sku: l.sku, quantity: l.quantity }));
  const base = { rmaId: rma.id, orderId: record.id, orderNumber: record.orderNumber };
  await applyOrderChange(tx, ctx, record, {
    timeline: { type: 'return.label_created', reason: `${rma.id}: ${label.carrier} ${label.trackingCode}`, data: { rmaId: rma.id, ...label } },
    emit: [
      { type: 'return.in_transit', data: { ...base, ...label } },
      {
        type: 'return.expected', routingKey: `return.expected.${warehouse}`,
        data: { ...base, warehouse, kind: rma.kind, lines, carrier: label.carrier, trackingCode: label.trackingCode, customerName: record.order.customer.name ?? null },
      },
      ...notification(record, 'return_label', { rmaId: rma.id, carrier: label.carrier, trackingCode: label.trackingCode, labelUrl: label.labelUrl, occurrence: rma.id }),
    ],
  }, { stage: 'returns', messageId: `return_label:${rma.id}:${label.trackingCode}`, actor });
}

/**
 * What the carrier needs for the label: from the customer's shipping address to the
 * warehouse's street address; null when either is missing.
 */
function labelRequest(record: OrderRecord, rma: ReturnRow, carrier: string, warehouse: WarehouseConfig, weightGrams: number): ReturnLabelRequest | null {
  const a = record.order.shippingAddress;
  const w = warehouse.address;
  if (!a || !w) return null;
  const customer = record.order.customer;
  return {
    rmaId: rma.id, carrier, weightGrams,
    from: {
      name: a.name ?? customer.name ?? '', line1: a.line1 ?? '', line2: a.line2 ?? null, city: a.city ?? '', region: a.region ?? null,
      postalCode: a.postalCode ?? '', country: a.country, phone: a.phone ?? customer.phone ?? null, email: customer.email ?? null,
    },
    to: { name: warehouse.name, line1: w.line1, city: w.city, region: w.region ?? null, postalCode: w.postalCode, country: warehouse.country, phone: w.phone ?? null },
  };
}

/** The carrier to bring the goods back: the one that delivered them, else the first serving the customer's country. */
function returnCarrier(ctx: StageContext, record: OrderRecord, delivered: string | null): string | null {
  if (delivered) return delivered;
  const country = record.order.shippingAddress?.country;
  return ctx.config.carriers.find((c) => country !== undefined && c.regions?.includes(country) === true)?.code ?? ctx.config.carriers[0]?.code ?? null;
}

/**
 * Stage `returns`: an approved RMA gets its return label from the carrier. The call is made
 * with the RMA number as idempotency key, so a retry (a redelivery, a crash, a replay) gets
 * the same label and never a second one, and with nothing held: what the carrier needs is
 * read first, the label attached after, each in a short transaction of its own, so a slow
 * carrier holds no pooled connection. No label client, a refusal, or retries that run out:
 * a `return_label_needed` exception for a person, who attaches one with
 * `POST /api/returns/:id/label`.
 */
export function returnsStage(ctx: StageContext, labels: ReturnLabelClient | undefined): CallingStage {
  return {
    async calls({ event, attempt }, db) {
      const rmaId = typeof event.data.rmaId === 'string' ? event.data.rmaId : '';
      const asked = await withTransaction(db, (tx) => labelToAsk(tx, ctx, event.type, rmaId));
      if ('kind' in asked) return asked;
      let outcome: ReturnLabelResult;
      if (!labels) outcome = { ok: false, retryable: false, message: 'no carrier label service is configured' };
      else if (typeof asked.request === 'string') outcome = { ok: false, retryable: false, message: asked.request };
      else outcome = await labels.createReturnLabel(asked.request);

      return withTransaction(db, async (tx): Promise<Decision> => {
        const current = await lockOrder(tx, asked.orderId);
        const rma = await lockReturn(tx, rmaId);
        // A person may have attached a label while the carrier was asked.
        if (!current || rma?.status !== 'approved') return ack(`${rmaId} is ${rma?.status ?? 'gone'}`);
        if (outcome.ok) {
          await attachReturnLabel(tx, ctx, current, rma, { carrier: outcome.carrier, trackingCode: outcome.trackingCode, labelUrl: outcome.labelUrl }, `carrier:${outcome.carrier}`);
          return ack();
        }
        if (outcome.retryable && attempt < ctx.config.retry.maxAttempts) return retry(`return label for ${rmaId}: ${outcome.message}`);
        await applyOrderChange(tx, ctx, current, {
          timeline: { type: 'return.label_needed', reason: `${rmaId}: ${outcome.message}` },
          emit: [],
          exception: { type: LABEL_EXCEPTION, reason: `${rmaId} needs a return label: ${outcome.message}`, details: { rmaId, carrier: asked.carrier, warehouse: rma.warehouse } },
        }, { stage: 'returns', messageId: labelExceptionId(rmaId) });
        return ack();
      });
    },
  };
}

/** What to ask the carrier for an approved RMA, or why no label can be made (a string), or what to do with the message instead. */
async function labelToAsk(tx: Tx, ctx: StageContext, eventType: string, rmaId: string): Promise<Decision | { orderId: string; carrier: string | null; request: ReturnLabelRequest | string }> {
  const seen = rmaId ? await getReturn(tx, rmaId) : undefined;
  if (!seen) return park(`${eventType} names no RMA the hub knows ("${rmaId}")`);
  if (seen.status !== 'approved') return ack(`${rmaId} is ${seen.status}`);
  const current = await lockOrder(tx, seen.orderId);
  if (!current) return park(`the order of ${rmaId} does not exist`);
  const carrier = returnCarrier(ctx, current, await carrierThatDelivered(tx, current.id));
  const warehouse = ctx.config.warehouses.find((w) => w.code === seen.warehouse);
  const request = carrier && warehouse ? labelRequest(current, seen, carrier, warehouse, await weightOf(tx, seen.lines)) : null;
  return {
    orderId: current.id, carrier,
    request: request ?? `no ${!carrier ? 'carrier' : !warehouse?.address ? `address for warehouse ${seen.warehouse ?? '?'}` : 'customer address'} to make a label with`,
  };
}

// ---------------------------------------------------------------------------------------
// The goods come back
// ---------------------------------------------------------------------------------------

interface ReceivedLine { sku: string; quantity: number; resellable: number }

const count = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

function receivedLines(data: Record<string, unknown>): ReceivedLine[] | null {
  const lines = data.lines;
  if (!Array.isArray(lines) || lines.length === 0) return null;
  const read: ReceivedLine[] = [];
  for (const item of lines as unknown[]) {
    const l = (item ?? {}) as { sku?: unknown; quantity?: unknown; resellable?: unknown };
    if (typeof l.sku !== 'string' || !count(l.quantity) || !count(l.resellable) || l.resellable > l.quantity) return null;
    read.push({ sku: l.sku, quantity: l.quantity, resellable: l.resellable });
  }
  return read;
}

/** What in a receipt does not fit its RMA; empty when it fits. */
function receiptProblems(rma: ReturnRow, lines: readonly ReceivedLine[]): string[] {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const line of lines) {
    const onRma = rma.lines.find((l) => l.sku === line.sku);
    if (seen.has(line.sku)) problems.push(`${line.sku} is reported twice`);
    seen.add(line.sku);
    if (!onRma) problems.push(`${line.sku} is not on ${rma.id}`);
    else if (line.quantity > onRma.quantity) problems.push(`${line.quantity} × ${line.sku} received, but ${rma.id} has ${onRma.quantity}`);
  }
  if (lines.every((l) => l.quantity === 0)) problems.push('nothing was received');
  return problems;
}

/** An exception a person sees: a receipt the hub cannot match to what it expects. */
async function receiptMismatch(tx: Tx, ctx: StageContext, event: CloudEvent, warehouse: string, orderId: string | null, reason: string): Promise<Decision> {
  await openException(tx, withSop(ctx.config, ctx.now(), {
    type: MISMATCH_EXCEPTION,
    reason: `${warehouse}: ${reason}`, orderId, messageId: event.id, stage: 'warehouse-events', details: { warehouse, event: event.data },
  }));
  return ack(reason);
}

/**
 * `return.received` from a warehouse (`{rmaId, lines: [{sku, quantity, resellable}]}`): the
 * received and resellable units recorded, the resellable ones back in stock (waiting
 * backorders get another chance), damaged ones not; then the refund is handed to the
 * `refunds` stage, or the exchange order starts through the pipeline; and when every
 * delivered unit is back the order is `returned`. A receipt for an unknown RMA, or that
 * does not fit it, changes nothing and opens a `return_mismatch` exception; the same
 * receipt again (under another event id) changes nothing.
 */
export async function returnReceived(tx: Tx, ctx: StageContext, event: CloudEvent, warehouse: string): Promise<Decision> {
  const rmaId = typeof event.data.rmaId === 'string' ? event.data.rmaId : '';
  const lines = receivedLines(event.data);
  if (!rmaId || !lines) return park('return.received needs data.rmaId (string) and data.lines: [{sku, quantity ≥ 0, resellable 0..quantity}]');
  const known = await getReturn(tx, rmaId);
  if (!known) return receiptMismatch(tx, ctx, event, warehouse, null, `return.received for ${rmaId}, which is no RMA the hub knows`);
  const record = await lockOrder(tx, known.orderId);
  const rma = await lockReturn(tx, rmaId);
  if (!record || !rma) return receiptMismatch(tx, ctx, event, warehouse, known.orderId, `the order of ${rmaId} is gone`);

  if (!receivableReturnStatuses.includes(rma.status)) {
    const same = rma.receivedAt !== null && lines.every((l) => rma.lines.some((r) => r.sku === l.sku && r.receivedQuantity === l.quantity && r.resellableQuantity === l.resellable));
    if (same) return ack(`${rmaId} was received already`);
    return receiptMismatch(tx, ctx, event, warehouse, record.id, `return.received for ${rmaId}, which is ${rma.status}`);
  }
  const problems = receiptProblems(rma, lines);
  if (problems.length > 0) return receiptMismatch(tx, ctx, event, warehouse, record.id, `return.received for ${rmaId} does not fit it: ${problems.join('; ')}`);

  const now = ctx.now();
  await recordReturnReceipt(tx, rma.id, warehouse, lines, now);
  const restocked = lines.filter((l) => l.resellable > 0);
  // the stock rows locked up front in the order allocation batches take them, so the
  // receipt's own line order never deadlocks with them
  await lockStock(tx, warehouse, restocked.map((l) => l.sku), { create: true });
  for (const line of restocked) {
    const before = await stockLevel(tx, warehouse, line.sku);
    await adjustOnHand(tx, warehouse, line.sku, line.resellable);
    await stockChanged(tx, ctx, warehouse, line.sku, before?.available ?? 0);
  }

  const received = lines.filter((l) => l.quantity > 0).map((l) => ({ sku: l.sku, quantity: l.quantity }));
  const base = { rmaId: rma.id, orderId: record.id, orderNumber: record.orderNumber };
  const emit: OrderChange['emit'] = [
    { type: 'return.inspected', data: { ...base, warehouse, lines } },
  ];
  const earlier = await unitsReceived(tx, record.id, rma.id);
  const earlierLines = [...earlier].map(([sku, quantity]) => ({ sku, quantity }));
  let outcome: string;

  if (rma.kind === 'refund') {
    const money = await moneyOf(tx, record.id, record.order.currency);
    // Paid through the channel (nothing in the hub's ledger): the hub cannot pay it back itself.
    const throughLedger = money.captured > 0;
    const captured = throughLedger ? money.captured : ['paid', 'partially_refunded', 'overpaid'].includes(record.paymentStatus) ? record.order.totals.grandTotal : 0;
    const refund = refundFor({
      order: record.order, returning: received, alreadyReturned: earlierLines, captured, refunded: money.refunded,
      refundShippingOnFullReturn: ctx.config.afterSales?.refundShippingOnFullReturn ?? true,
    });
    const amount = formatMinorUnits(refund.amount, record.order.currency);
    if (refund.amount > 0 && throughLedger) {
      await setReturnStatus(tx, rma.id, 'received', { refundAmount: refund.amount });
      emit.push({ type: 'return.refund_due', data: { ...base, refundDue: refund.amount, currency: record.order.currency, shipping: refund.shipping } });
      outcome = `refund of ${amount} ${record.order.currency} due`;
    } else if (refund.amount > 0) {
      await openException(tx, withSop(ctx.config, now, {
        type: 'refund_needed',
        reason: `refund ${amount} ${record.order.currency} for ${rma.id} by hand: the order was paid through its channel, not a provider the hub refunds with`,
        orderId: record.id, messageId: `refund:${rma.id}`, stage: 'returns', details: { rmaId: rma.id, amount: refund.amount },
      }));
      await setReturnStatus(tx, rma.id, 'refunded', { refundAmount: refund.amount, decision: 'refund by hand (finance)', closed: true });
      emit.push({ type: 'return.refunded', data: { ...base, amount: refund.amount, currency: record.order.currency, byHand: true } });
      outcome = `refund of ${amount} ${record.order.currency} by hand`;
    } else {
      await setReturnStatus(tx, rma.id, 'refunded', { refundAmount: 0, decision: 'nothing left to refund', closed: true });
      emit.push({ type: 'return.refunded', data: { ...base, amount: 0, currency: record.order.currency, byHand: false } });
      outcome = 'nothing left to refund';
    }
  } else {
    const exchange = await startExchangeOrder(tx, ctx, record, rma, received, earlierLines);
    emit.push({ type: 'return.exchanged', data: { ...base, exchangeOrderId: exchange.id, exchangeOrderNumber: exchange.orderNumber } });
    outcome = `exchange order ${exchange.orderNumber}`;
  }

  const delivered = await deliveredUnits(tx, record.id);
  const allBack = everythingBack(delivered.units, await unitsReceived(tx, record.id));
  // A parcel still on its way is not back: only a delivered (or completed) order is returned.
  const toReturned = allBack && (record.status === 'delivered' || record.status === 'completed') && canTransition(record.status, 'returned');
  const units = received.reduce((sum, l) => sum + l.quantity, 0);
  const resellable = lines.reduce((sum, l) => sum + l.resellable, 0);
  await applyOrderChange(tx, ctx, record, {
    ...(toReturned ? { to: 'returned' as const, fulfillmentStatus: 'returned' as const } : {}),
    timeline: {
      type: 'return.received',
      reason: `${rma.id}: ${units} unit(s) received at ${warehouse}, ${resellable} back in stock; ${outcome}${toReturned ? '; every delivered unit is back' : ''}`,
      data: { rmaId: rma.id, warehouse, lines },
    },
    emit: toReturned ? [...emit, { type: 'order.returned', data: base }] : emit,
  }, { stage: 'warehouse-events', messageId: event.id, actor: `warehouse:${warehouse}` });
  return ack();
}

/**
 * The exchange order for the units that came back: made like an order from a channel
 * (number, lines, timeline) and sent into the pipeline with `order.received`, linked both
 * ways (the RMA's `exchange_order_id`; timeline entries on both orders).
 */
async function startExchangeOrder(
  tx: Tx, ctx: StageContext, record: OrderRecord, rma: ReturnRow, received: readonly { sku: string; quantity: number }[], earlier: readonly { sku: string; quantity: number }[],
): Promise<{ id: string; orderNumber: string }> {
  const { pieces } = refundFor({
    order: record.order, returning: received, alreadyReturned: earlier, captured: Number.MAX_SAFE_INTEGER, refunded: 0, refundShippingOnFullReturn: false,
  });
  const exchangeSkuOf = new Map(rma.lines.flatMap((l) => (l.exchangeSku ? [[l.sku, l.exchangeSku] as const] : [])));
  const names = await productNames(tx, [...exchangeSkuOf.values()]);
  const now = ctx.now();
  const order = exchangeOrderFor(record.order, { id: rma.id, orderNumber: record.orderNumber }, pieces, exchangeSkuOf, names, now);
  const exchange = receiveOrder(order, { id: ctx.newId(), sequence: await nextOrderSequence(tx), prefix: ctx.config.orderNumberPrefix, now });
  await insertOrder(tx, exchange, null);
  await appendOrderEvent(tx, {
    orderId: exchange.id, type: 'order.received', fromStatus: null, toStatus: 'received', actor: 'stage:returns',
    reason: `received as ${exchange.orderNumber}: exchange for ${rma.id} of order ${record.orderNumber}, paid by the returned goods`,
    data: { rmaId: rma.id, originalOrderId: record.id, originalOrderNumber: record.orderNumber },
  });
  await enqueueMessages(tx, orderMessages(ctx, 'returns', exchange.id, [{
    type: 'order.received',
    data: { orderId: exchange.id, orderNumber: exchange.orderNumber, channel: exchange.channel, externalId: exchange.externalId },
  }]));
  await setReturnStatus(tx, rma.id, 'exchanged', { exchangeOrderId: exchange.id, decision: `exchanged for order ${exchange.orderNumber}`, closed: true });
  await appendOrderEvent(tx, {
    orderId: record.id, type: 'return.exchanged', fromStatus: record.status, toStatus: record.status, actor: 'stage:returns',
    reason: `${rma.id}: exchange order ${exchange.orderNumber}`, data: { rmaId: rma.id, exchangeOrderId: exchange.id, exchangeOrderNumber: exchange.orderNumber },
  });
  return { id: exchange.id, orderNumber: exchange.orderNumber };
}

/**
 * The `refunds` stage paid back (or handed to finance) what an RMA owed: the RMA is
 * `refunded`, and the order's timeline says so.
 */
export async function returnRefunded(tx: Tx, ctx: StageContext, orderId: string, rmaId: unknown): Promise<void> {
  if (typeof rmaId !== 'string') return;
  const record = await lockOrder(tx, orderId);
  const rma = await lockReturn(tx, rmaId);
  if (!record || rma?.status !== 'received') return;
  await setReturnStatus(tx, rma.id, 'refunded', { closed: true });
  await applyOrderChange(tx, ctx, record, {
    timeline: { type: 'return.refunded', reason: `${rma.id}: ${formatMinorUnits(rma.refundAmount ?? 0, rma.currency)} ${rma.currency} refunded`, data: { rmaId: rma.id } },
    emit: [{ type: 'return.refunded', data: { rmaId: rma.id, orderId: record.id, orderNumber: record.orderNumber, amount: rma.refundAmount ?? 0, currency: rma.currency, byHand: false } }],
  }, { stage: 'refunds', messageId: `return_refunded:${rma.id}` });
}

/** An RMA as the API shows it: everything but the caller's idempotency key. */
export function returnView(rma: ReturnRow): Record<string, unknown> {
  return Object.fromEntries(Object.entries(rma).filter(([name]) => name !== 'idempotencyKey'));
}
