import type { TrackingEvent } from '../../connectors/carriers/types.ts';
import { withSop } from '../config/business.ts';
import type { Db } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { lockParcel, parcelsOf, stalledParcels, trackParcel } from '../db/sql/parcels.ts';
import { recordPayment } from '../db/sql/payments.ts';
import { getRawDelivery, markRawDelivery } from '../db/sql/raw.ts';
import { normalizeTracking } from '../inbound-tracking.ts';
import type { Handler } from '../messaging/consume.ts';
import { ack, park, retry } from '../messaging/decision.ts';
import { notification } from '../pipeline/notify.ts';
import { applyOrderChange } from './apply.ts';
import type { StageContext } from './context.ts';
import { settleOrderPayments } from './reconcile.ts';

/**
 * Stage `tracking`: carriers' tracking updates move each parcel on; when every parcel of
 * an order is delivered the order is delivered and the customer told. Cash collected on
 * delivery goes into the ledger (and pays the order). Failed attempts, returns and carrier
 * exceptions are shown to a person and the customer is told of the delay.
 */
export function trackingStage(ctx: StageContext): Handler {
  return async ({ event }, tx) => {
    const raw = await getRawDelivery(tx, Number(event.data.rawId));
    if (!raw) return park(`raw delivery ${String(event.data.rawId)} does not exist`);
    if (raw.status === 'processed') return ack('already processed');
    const connector = ctx.carriers.get(raw.source);
    if (!connector) return park(`no carrier connector named ${raw.source}`);
    const result = normalizeTracking(connector, raw.body, { eventId: null, topic: raw.topic });
    if (!result.ok) {
      await markRawDelivery(tx, raw.id, result.ignore ? 'ignored' : 'invalid', result.problems);
      return ack();
    }
    await markRawDelivery(tx, raw.id, 'processed');
    for (const update of result.events) {
      // Tracking can overtake the warehouse's own `fulfillment.shipped`: wait for the parcel
      // (delayed retries; parked with an exception if it never appears).
      if (!(await applyTracking(tx, ctx, update, event.id))) return retry(`${update.carrier} parcel ${update.trackingCode} is not known (yet)`);
    }
    return ack();
  };
}

/** False when no shipment of the hub carries the parcel. */
async function applyTracking(tx: Parameters<Handler>[1], ctx: StageContext, update: TrackingEvent, messageId: string): Promise<boolean> {
  const parcel = await lockParcel(tx, update.carrier, update.trackingCode);
  if (!parcel) return false;
  // An older scan arriving late changes nothing.
  if (!(await trackParcel(tx, parcel.id, update))) return true;
  const record = await lockOrder(tx, parcel.orderId);
  if (!record) return true;
  const cause = { stage: 'tracking', messageId: `${messageId}:${update.eventId}`, actor: `carrier:${update.carrier}` };
  if (update.cashCollected && update.cashCollected.amount > 0) {
    const entry = {
      provider: 'cod', account: update.carrier, entryId: `cod:${update.carrier}:${update.trackingCode}`, paymentId: update.trackingCode, kind: 'captured' as const,
      amount: update.cashCollected.amount, currency: update.cashCollected.currency, occurredAt: update.occurredAt, method: 'cash_on_delivery' as const, match: { orderId: record.id },
    };
    if (await recordPayment(tx, entry, record.id, null)) await settleOrderPayments(tx, ctx, record.id, [entry], cause);
  }
  const fresh = (await lockOrder(tx, record.id)) ?? record;
  const parcels = await parcelsOf(tx, record.id);
  const allDelivered = parcels.every((p) => (p.id === parcel.id ? update.status === 'delivered' : p.deliveredAt !== null));
  const base = { orderId: fresh.id, orderNumber: fresh.orderNumber, carrier: update.carrier, trackingCode: update.trackingCode };
  const what = `${update.carrier} ${update.trackingCode}: ${update.status}${update.statusDetail ? ` (${update.statusDetail})` : ''}`;

  if (update.status === 'delivered' && allDelivered && fresh.status === 'shipped') {
    await applyOrderChange(tx, ctx, fresh, {
      to: 'delivered', fulfillmentStatus: 'delivered', resolves: ['logistics_delay'],
      timeline: { type: 'order.delivered', reason: what },
      emit: [{ type: 'order.delivered', data: base }, ...notification(fresh, 'delivered', {})],
    }, cause);
  } else if (['failed_attempt', 'returned_to_sender', 'exception'].includes(update.status)) {
    await applyOrderChange(tx, ctx, fresh, {
      timeline: { type: 'parcel.problem', reason: what },
      emit: [{ type: 'parcel.problem', data: { ...base, status: update.status } }, ...notification(fresh, 'delayed', { reason: update.statusDetail ?? update.status, trackingUrl: update.publicUrl })],
      exception: { type: update.status === 'returned_to_sender' ? 'returned_to_sender' : 'delivery_problem', reason: what, details: { ...update } },
    }, cause);
  } else {
    await applyOrderChange(tx, ctx, fresh, { timeline: { type: 'parcel.tracked', reason: what, data: { publicUrl: update.publicUrl, estimatedDelivery: update.estimatedDelivery } }, emit: [] }, cause);
  }
  return true;
}

/**
 * Job: a parcel with no scan for `logistics.noScanHours` (default 48), or past its promised
 * delivery date, is a `logistics_delay` exception (one per parcel), and the customer is told.
 */
export async function reportLogisticsDelays(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const hours = ctx.config.logistics?.noScanHours ?? 48;
  const now = ctx.now();
  const stalled = await stalledParcels(db, new Date(now.getTime() - hours * 3_600_000), now.toISOString().slice(0, 10));
  let opened = 0;
  for (const p of stalled) {
    await withTransaction(db, async (tx) => {
      const record = await lockOrder(tx, p.orderId);
      if (!record) return;
      const late = p.promisedDeliveryDate && p.promisedDeliveryDate < now.toISOString().slice(0, 10);
      const reason = late ? `${p.carrier} ${p.trackingCode} was promised for ${p.promisedDeliveryDate} and is not delivered` : `${p.carrier} ${p.trackingCode} has not been scanned for ${hours} hours`;
      const id = await openException(tx, withSop(ctx.config, now, {
        type: 'logistics_delay',
        reason, orderId: record.id, messageId: `delay:${p.carrier}:${p.trackingCode}`, stage: 'logistics', details: { parcel: p.id, lastScanAt: p.lastScanAt, promised: p.promisedDeliveryDate },
      }));
      if (id === undefined) return; // told already
      opened++;
      await applyOrderChange(tx, ctx, record, {
        timeline: { type: 'parcel.delayed', reason },
        emit: [{ type: 'parcel.delayed', data: { orderId: record.id, orderNumber: record.orderNumber, carrier: p.carrier, trackingCode: p.trackingCode } }, ...notification(record, 'delayed', { reason, trackingUrl: p.publicUrl })],
      }, { stage: 'logistics', messageId: `delay:${p.carrier}:${p.trackingCode}`, actor: 'job:logistics-delay' });
    });
  }
  return { stalled: stalled.length, opened };
}
