import type { CloudEvent } from '../messaging/cloudevent.ts';
import type { Tx } from '../db/pool.ts';
import { consumeReservations, releaseReservationsIn, unshippedUnits } from '../db/sql/inventory.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { enqueueMessages } from '../db/sql/outbox.ts';
import { recordParcel } from '../db/sql/parcels.ts';
import { shipmentsOf } from '../db/sql/shipments.ts';
import { HubError } from '../errors.ts';
import { ack, park, type Decision } from '../messaging/decision.ts';
import { notification } from '../pipeline/notify.ts';
import { applyOrderChange, orderMessages } from './apply.ts';
import type { StageContext } from './context.ts';

const text = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** The shipment an event is about: `data.shipmentId`, else `<orderId>:<warehouse>`. */
function shipmentIdOf(data: Record<string, unknown>, warehouse: string): string | undefined {
  return text(data.shipmentId) ?? (text(data.orderId) ? `${String(data.orderId)}:${warehouse}` : undefined);
}

/**
 * A warehouse's fulfilment news (`fulfillment.accepted|picked|packed|shipped|rejected|
 * cancelled|cancel_refused`): the shipment's progress on the order's timeline; shipped
 * parcels consume the reservations and, once nothing is left to ship, the order is shipped
 * and the customer told with the tracking link; a refusal gives the stock back and allocates
 * the order elsewhere; the answer to a cancellation request decides the cancellation.
 */
export async function fulfilmentEvent(tx: Tx, ctx: StageContext, event: CloudEvent, warehouse: string): Promise<Decision> {
  const shipmentId = shipmentIdOf(event.data, warehouse);
  if (!shipmentId) return park(`${event.type} needs data.shipmentId (or data.orderId)`);
  const { rows } = await tx.query<{ orderId: string; warehouse: string }>(
    `SELECT order_id AS "orderId", warehouse FROM shipments WHERE id = $1`, [shipmentId]);
  const shipment = rows[0];
  if (!shipment) return park(`no shipment ${shipmentId}`);
  if (shipment.warehouse !== warehouse) return park(`shipment ${shipmentId} belongs to ${shipment.warehouse}, not ${warehouse}`);
  const record = await lockOrder(tx, shipment.orderId);
  if (!record) return park(`no order for shipment ${shipmentId}`);
  const step = event.type.slice('fulfillment.'.length);
  await tx.query('UPDATE shipments SET wms_status = $2 WHERE id = $1', [shipmentId, step]);
  const cause = { stage: 'warehouse-events', messageId: event.id, actor: `warehouse:${warehouse}` };
  const base = { orderId: record.id, orderNumber: record.orderNumber, shipmentId, warehouse };

  switch (event.type) {
    case 'fulfillment.accepted':
    case 'fulfillment.picked':
    case 'fulfillment.packed':
      await applyOrderChange(tx, ctx, record, { timeline: { type: event.type, reason: `${warehouse}: ${step}` }, emit: [] }, cause);
      return ack();

    case 'fulfillment.shipped': {
      const carrier = text(event.data.carrier);
      const trackingCode = text(event.data.trackingNumber) ?? text(event.data.trackingCode);
      const lines = Array.isArray(event.data.lines) ? event.data.lines as { sku: unknown; quantity: unknown }[] : [];
      if (!carrier || !trackingCode || lines.length === 0 || !lines.every((l) => typeof l.sku === 'string' && Number.isSafeInteger(l.quantity) && (l.quantity as number) > 0)) {
        throw new HubError('invalid_fulfillment_event', 'fulfillment.shipped needs carrier, trackingNumber and lines [{sku, quantity > 0}]', { retryable: false });
      }
      const shipped = lines as { sku: string; quantity: number }[];
      if (!(await recordParcel(tx, { shipmentId, orderId: record.id, carrier, trackingCode, lines: shipped, shippedAt: new Date(text(event.time) ?? ctx.now().toISOString()) }))) {
        return ack('parcel already recorded');
      }
      const consumed = await consumeReservations(tx, record.id, warehouse, shipped);
      const over = consumed.filter((c) => c.consumed < c.wanted);
      const left = await unshippedUnits(tx, record.id);
      const trackingUrl = text(event.data.trackingUrl) ?? null;
      await applyOrderChange(tx, ctx, record, {
        ...(left === 0 && record.status === 'released' ? { to: 'shipped' as const } : {}),
        fulfillmentStatus: left === 0 ? 'shipped' : 'partially_shipped',
        timeline: { type: 'fulfillment.shipped', reason: `${warehouse} shipped ${shipped.map((l) => `${l.quantity}× ${l.sku}`).join(', ')} with ${carrier} ${trackingCode}${left > 0 ? `; ${left} units still to ship` : ''}`, data: { carrier, trackingCode, lines: shipped } },
        emit: [
          { type: 'order.shipped', data: { ...base, carrier, trackingCode, lines: shipped, complete: left === 0 } },
          ...notification(record, 'shipped', { reason: `${carrier} ${trackingCode}`, carrier, trackingCode, trackingUrl }),
        ],
        ...(over.length > 0 ? { exception: { type: 'fulfillment_mismatch', reason: `${warehouse} shipped more than was reserved: ${over.map((o) => `${o.sku} ${o.wanted} > ${o.consumed}`).join(', ')}`, details: { over } } } : {}),
      }, cause);
      return ack();
    }

    case 'fulfillment.rejected': {
      const reason = text(event.data.reason) ?? 'no reason given';
      await releaseReservationsIn(tx, record.id, warehouse);
      await tx.query(`UPDATE shipments SET status = 'cancelled' WHERE id = $1`, [shipmentId]);
      const others = (await shipmentsOf(tx, record.id)).filter((s) => s.id !== shipmentId && s.status !== 'cancelled');
      if (record.status === 'released' && others.length === 0) {
        // Allocate the whole order again, anywhere but here.
        await applyOrderChange(tx, ctx, record, {
          to: 'validated', fulfillmentStatus: 'unfulfilled',
          timeline: { type: 'fulfillment.rejected', reason: `${warehouse} refused the order (${reason}): allocating it elsewhere` },
          emit: [{ type: 'order.validated', data: { orderId: record.id, orderNumber: record.orderNumber, excludeWarehouses: [warehouse] } }],
          exception: { type: 'fulfillment_rejected', reason: `${warehouse} refused ${record.orderNumber}: ${reason}`, details: { warehouse, shipmentId } },
        }, cause);
      } else {
        await applyOrderChange(tx, ctx, record, {
          timeline: { type: 'fulfillment.rejected', reason: `${warehouse} refused its part (${reason}); the rest of the order goes on` },
          emit: [],
          exception: { type: 'fulfillment_rejected', reason: `${warehouse} refused its part of ${record.orderNumber}: ${reason}; a person re-allocates it`, details: { warehouse, shipmentId } },
        }, cause);
      }
      return ack();
    }

    case 'fulfillment.cancelled': {
      await releaseReservationsIn(tx, record.id, warehouse);
      await tx.query(`UPDATE shipments SET status = 'cancelled' WHERE id = $1`, [shipmentId]);
      const open = (await shipmentsOf(tx, record.id)).filter((s) => s.status !== 'cancelled');
      const cancelAsked = (await tx.query(`SELECT 1 FROM shipments WHERE order_id = $1 AND cancel_requested_at IS NOT NULL`, [record.id])).rowCount !== 0;
      if (open.length === 0 && cancelAsked && record.status === 'released') {
        await applyOrderChange(tx, ctx, record, {
          to: 'cancelled', fulfillmentStatus: 'cancelled', releaseReservations: true, releaseCredit: true, resolves: ['cancel_after_release'],
          timeline: { type: 'order.cancelled', reason: `the warehouse stopped the shipment (${warehouse}): cancelled` },
          emit: [{ type: 'order.cancelled', data: { ...base, reason: 'cancelled after release; the warehouse stopped it' } }],
        }, cause);
      } else {
        await applyOrderChange(tx, ctx, record, { timeline: { type: 'fulfillment.cancelled', reason: `${warehouse} stopped its part` }, emit: [] }, cause);
      }
      return ack();
    }

    case 'fulfillment.cancel_refused':
      await applyOrderChange(tx, ctx, record, {
        timeline: { type: 'fulfillment.cancel_refused', reason: `${warehouse} could not stop the shipment: ${text(event.data.reason) ?? 'already shipped'}` },
        emit: [],
        exception: { type: 'cancel_after_shipment', reason: `${record.orderNumber} could not be stopped at ${warehouse}: the customer must return it`, details: { warehouse, shipmentId } },
      }, cause);
      return ack();

    default:
      return park(`warehouse event type "${event.type}" is not handled`);
  }
}

/**
 * Stage `cancellations`: a channel cancelled an order already released — each warehouse
 * with a part of it is asked to stop (`fulfillment.cancel_requested.<warehouse>`); their
 * answers (`fulfillment.cancelled` / `fulfillment.cancel_refused`) decide.
 */
export function cancellationsStage(ctx: StageContext) {
  return async ({ event }: { event: CloudEvent }, tx: Tx): Promise<Decision> => {
    const orderId = text(event.data.orderId);
    const record = orderId ? await lockOrder(tx, orderId) : undefined;
    if (!record || record.status !== 'released') return ack(`nothing to stop (${record?.status ?? 'no order'})`);
    const shipments = (await shipmentsOf(tx, record.id, 'requested'));
    await tx.query(`UPDATE shipments SET cancel_requested_at = now() WHERE order_id = $1 AND status = 'requested' AND cancel_requested_at IS NULL`, [record.id]);
    await enqueueMessages(tx, shipments.flatMap((s) => orderMessages(ctx, 'cancellations', record.id, [{
      type: 'fulfillment.cancel_requested', routingKey: `fulfillment.cancel_requested.${s.warehouse}`,
      data: { orderId: record.id, orderNumber: record.orderNumber, shipmentId: s.id, warehouse: s.warehouse, reason: text(event.data.reason) ?? 'cancelled by the customer' },
    }])));
    return ack();
  };
}

