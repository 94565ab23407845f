import { customerKey, holdCredit } from '../db/sql/credit.ts';
import type { Tx } from '../db/pool.ts';
import { availableStock, heldReservations, lockForAllocation } from '../db/sql/inventory.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { validationFacts } from '../db/sql/validation-facts.ts';
import { markShipmentsRequested, planShipments, releaseFacts, requestsSince } from '../db/sql/shipments.ts';
import { HubError } from '../errors.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { ack, retry, type Decision } from '../messaging/decision.ts';
import type { Delivery, Handler } from '../messaging/consume.ts';
import type { OrderRecord } from '../order/record.ts';
import { allocationChange, allocationPolicy, planAllocation } from '../pipeline/allocate.ts';
import { isDeliveryPlan, planDelivery, shipmentWeightGrams, startOfLocalDay, type DeliveryPlan } from '../pipeline/delivery-plan.ts';
import { releaseChange } from '../pipeline/release.ts';
import { validateOrder, validationChange } from '../pipeline/validate.ts';
import type { WarehouseFacts } from '../pipeline/warehouses.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';
import { uncachedReference } from './reference-cache.ts';
import { stockChanged } from './stock.ts';

/** The order an event is about: `data.orderId`, else the CloudEvent subject. */
const orderIdOf = (event: CloudEvent) => (typeof event.data.orderId === 'string' ? event.data.orderId : event.subject);

/**
 * Locks the order an event is about. An order commits before its events are published,
 * so a missing order is a retry, and after the last attempt a parked message with an
 * exception, never a silent drop.
 */
async function lockOrderOf(event: CloudEvent, tx: Tx): Promise<OrderRecord | Decision> {
  const id = orderIdOf(event);
  const record = id ? await lockOrder(tx, id) : undefined;
  return record ?? retry(`order ${id ?? '(none)'} not found`);
}
const isDecision = (value: OrderRecord | Decision): value is Decision => 'kind' in value;
const skusOf = (record: OrderRecord) => [...new Set(record.order.lines.map((l) => l.sku))];
const channelOf = (ctx: StageContext, record: OrderRecord) => ctx.config.channels.find((c) => c.code === record.channel);
const referenceOf = (ctx: StageContext) => ctx.reference ?? uncachedReference;

/**
 * Stage `validate`: the configured rules (identity and block lists, store credit, address
 * and postal code, price integrity, risk, payment method, stock). Reads stock without locks:
 * allocation re-checks under locks. Store credit the order pays with is held here.
 */
export function validateStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
    if (record.status !== 'received') return ack(`already ${record.status}`);
    const skus = skusOf(record);
    const key = customerKey(record.order.customer.email);
    const facts = await validationFacts(tx, { id: record.id, email: record.order.customer.email, customerKey: key, skus });
    const verdict = validateOrder(record.order, {
      categories: await referenceOf(ctx).categories(tx, skus),
      warehouses: await referenceOf(ctx).warehouses(tx),
      available: facts.available,
      customer: facts.customer,
    }, {
      channel: record.channel,
      priceTolerance: channelOf(ctx, record)?.priceTolerance ?? 0,
      rules: ctx.config.validation && { ...ctx.config.validation, requireContact: channelOf(ctx, record)?.requireContact ?? ctx.config.validation.requireContact },
      waivedRules: facts.waivedRules,
    });
    if (verdict.verdict === 'valid' && verdict.creditHold !== null) {
      // The balance was read without a lock: if it moved meanwhile, validate again.
      if (!key || !(await holdCredit(tx, record.id, key, verdict.creditHold, record.order.currency))) {
        throw new HubError('credit_changed', 'the store credit balance changed while validating', { retryable: true });
      }
    }
    await applyOrderChange(tx, ctx, record, validationChange(record, verdict), { stage: 'validate', messageId: event.id });
    return ack();
  };
}

/** Today's fulfilment requests per warehouse, each counted from its own local midnight. */
async function usedToday(tx: Tx, warehouses: readonly WarehouseFacts[], now: Date): Promise<Map<string, number>> {
  const since = new Map<string, Date>();
  for (const w of warehouses) {
    const midnight = startOfLocalDay(now, w.timeZone) ?? startOfLocalDay(now);
    if (midnight) since.set(w.code, midnight);
  }
  return requestsSince(tx, since);
}

/**
 * Stage `allocate`: the channel's strategy (priority, distance, fewest shipments; split when
 * allowed) over the warehouses' stock under row locks, a delivery plan per shipment, the
 * reservations, and the explanation on the timeline. An operator's override
 * (`order.allocation_override_requested`) re-allocates an order not yet released.
 */
/**
 * What a batch of allocations locks before its first handler runs (consume.ts `lockAhead`).
 * An id that is not a UUID fails the statement: the batch is then handled one by one, and
 * that delivery ends as it would alone.
 */
export function allocationLocks(tx: Tx, deliveries: readonly Delivery[]): Promise<void> {
  return lockForAllocation(tx, deliveries.flatMap((d) => orderIdOf(d.event) ?? []));
}

export function allocateStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
    const override = event.type === 'order.allocation_override_requested'
      ? event.data as { warehouse?: string; carrier?: string; serviceLevel?: string; allowSplit?: boolean; reason?: string; actor?: string }
      : undefined;
    const allowed = override ? ['validated', 'backordered', 'allocated', 'ready_to_ship'] : ['validated'];
    if (!allowed.includes(record.status)) return ack(`already ${record.status}`);
    const address = record.order.shippingAddress;
    if (!address) return ack('no shipping address'); // validation holds these

    const now = ctx.now();
    const skus = skusOf(record);
    // a warehouse that refused this order is not asked again
    const excluded = Array.isArray(event.data.excludeWarehouses) ? event.data.excludeWarehouses as string[] : [];
    const warehouses = (await referenceOf(ctx).warehouses(tx)).filter((w) => !excluded.includes(w.code));
    // Read what needs no lock first: the stock rows locked below stay locked until commit,
    // and every round trip after that lock holds up the next order for the same SKU.
    const categories = await referenceOf(ctx).categories(tx, skus);
    const used = await usedToday(tx, warehouses, now);
    const weights = await referenceOf(ctx).weights(tx, skus);
    const available = await availableStock(tx, skus, true);
    // Re-allocating: the order's own reservations count as available to it again.
    const held = override ? await heldReservations(tx, record.id) : [];
    for (const r of held) {
      const stock = available.get(r.warehouse) ?? new Map<string, number>();
      stock.set(r.sku, (stock.get(r.sku) ?? 0) + r.quantity);
      available.set(r.warehouse, stock);
    }
    const policy = allocationPolicy(channelOf(ctx, record)?.allocation, override?.warehouse);
    // an operator may allow a split shipment for this order where the channel does not
    if (override?.allowSplit === true) policy.allowSplit = true;
    const plan = planAllocation(record.order.lines, address, {
      categories, warehouses, available, usedToday: used,
    }, policy);
    const deliveries = plan.kind === 'allocated'
      ? plan.shipments.map((s) => planDelivery(s, address, {
          carriers: ctx.config.carriers,
          warehouse: warehouses.find((w) => w.code === s.warehouse) ?? {},
          weightGrams: shipmentWeightGrams(s.lines, weights),
          priority: record.order.flags.priority,
          now,
          override: { ...(override?.carrier ? { carrier: override.carrier } : {}), ...(override?.serviceLevel ? { serviceLevel: override.serviceLevel } : {}) },
        }))
      : [];
    const change = allocationChange(record, plan, deliveries);
    if (override) {
      change.releaseReservations = held.length > 0;
      change.timeline = { ...change.timeline, type: 'order.allocation_overridden', reason: `${override.actor ?? 'an operator'} chose ${[override.warehouse, override.carrier, override.serviceLevel, override.allowSplit === true ? 'a split shipment' : undefined].filter(Boolean).join(' / ')}${override.reason ? ` (${override.reason})` : ''}: ${change.timeline.reason ?? ''}` };
    }
    await applyOrderChange(tx, ctx, record, change, { stage: 'allocate', messageId: event.id, ...(override ? { actor: override.actor ?? 'admin' } : {}) });
    if (plan.kind === 'allocated' && change.to === 'allocated') {
      await planShipments(tx, record.id, plan.shipments.map((s, i) => {
        const d = deliveries[i] as DeliveryPlan;
        return { warehouse: s.warehouse, lines: s.lines, carrier: d.carrier, serviceLevel: d.serviceLevel, promisedShipDate: d.promisedShipDate, promisedDeliveryDate: d.promisedDeliveryDate, plan: { ...d } };
      }));
      for (const s of plan.shipments) for (const l of s.lines) await stockChanged(tx, ctx, s.warehouse, l.sku, null);
    }
    return ack();
  };
}

/**
 * Stage `release`: a paid, allocated order goes to its warehouses, one fulfilment request
 * per shipment. The carrier chosen at allocation stays; the dates are planned again, since
 * payment may come days after allocation.
 */
export function releaseStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const record = await lockOrderOf(event, tx);
    if (isDecision(record)) return record;
    const address = record.order.shippingAddress;
    if (record.status !== 'allocated' || !address) return ack(`nothing to release (${record.status})`);
    if (record.paymentStatus !== 'paid') return ack('waiting for payment');
    const now = ctx.now();
    const { held, planned } = await releaseFacts(tx, record.id);
    const warehouses = await referenceOf(ctx).warehouses(tx);
    const weights = await referenceOf(ctx).weights(tx, skusOf(record));
    const shipments = planned.map((s) => {
      const fresh = planDelivery(s, address, {
        carriers: ctx.config.carriers, warehouse: warehouses.find((w) => w.code === s.warehouse) ?? {},
        weightGrams: shipmentWeightGrams(s.lines, weights), priority: record.order.flags.priority, now,
        override: { carrier: s.carrier, serviceLevel: s.serviceLevel },
      });
      const delivery: DeliveryPlan = isDeliveryPlan(fresh)
        ? fresh
        : { carrier: s.carrier, serviceLevel: s.serviceLevel, transitDays: 0, promisedShipDate: s.promisedShipDate, promisedDeliveryDate: s.promisedDeliveryDate, rule: 'as planned at allocation' };
      return { warehouse: s.warehouse, lines: held, delivery };
    });
    const change = releaseChange(record, shipments, now);
    if (!change) return ack('nothing to release');
    // Carriers that book from a queue get each shipment released to them.
    const queued = new Set(ctx.config.carriers.filter((c) => c.integration === 'queue').map((c) => c.code));
    for (const request of change.emit.filter((e) => e.type === 'fulfillment.requested')) {
      const carrier = typeof request.data.carrier === 'string' ? request.data.carrier : '';
      if (queued.has(carrier)) change.emit.push({ type: 'shipment.requested', routingKey: `shipment.requested.${carrier}`, data: { ...request.data } });
    }
    await applyOrderChange(tx, ctx, record, change, { stage: 'release', messageId: event.id });
    await markShipmentsRequested(tx, record.id);
    return ack();
  };
}
