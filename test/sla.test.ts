// The SLA watchdog and exception escalation on a real hub (RabbitMQ, Postgres, Redis), with
// the jobs' clock moved forward instead of waiting: an order released to its warehouse and
// not shipped within its SLA gets one `sla_breach` exception (owner from the SOP) and a
// timeline entry; past that exception's own deadline it is escalated once, to the SOP's
// `escalateTo`, on the bus; when the warehouse ships, the breach is resolved.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import type { CloudEvent } from '../core/messaging/cloudevent.ts';
import { escalateOverdueExceptions } from '../core/stages/escalation.ts';
import { watchSlas } from '../core/stages/sla-watchdog.ts';
import { adminJson, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

const secret = 'web-sla';
const HOUR = 3_600_000;
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'SLA-MUG', name: 'Mug', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-east', sku: 'SLA-MUG', onHand: 100 });
  config.sla = { byStatus: { received: 15, validated: 30, allocated: 60, released: 24 * 60, shipped: 7 * 24 * 60 } };
  config.sop = { ...config.sop, sla_breach: { owner: 'warehouse-ops', deadlineMinutes: 60, escalateTo: 'operations-lead' } };
  t = await startTestHub('sla', ['worker'], { config, env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
});
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
});

/** The jobs' context with the clock moved `hours` past `from`. */
const at = (from: Date, hours: number) => ({ ...hub.ctx, now: () => new Date(from.getTime() + hours * HOUR) });

interface Exception { id: number; type: string; status: string; owner: string; deadline: string; details: Record<string, unknown>; reason: string; messageId: string }
async function order(id: string) {
  return (await adminJson<{ id: string; orderNumber: string; status: string; exceptions: Exception[]; timeline: { type: string; actor: string; reason: string | null }[] }>(hub, `/orders/${id}`)).body;
}
async function escalations(): Promise<CloudEvent<Record<string, unknown>>[]> {
  const { rows } = await hub.db.query<{ body: CloudEvent<Record<string, unknown>> }>(`SELECT body FROM outbox WHERE routing_key = 'exception.escalated' ORDER BY id`);
  return rows.map((r) => r.body);
}

describe('an order released and not shipped within its SLA', () => {
  it('gets one breach, escalated once past its deadline, resolved when the warehouse ships', async () => {
    // given an order released to us-east
    const response = await postWebsiteOrder(hub, anOrder({ channel: 'website', externalId: 'SLA-1', shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('SLA-MUG', 1)] }), secret, 'sla-1');
    expect(response.status).toBe(200);
    await settled(hub);
    const { rows } = await hub.db.query<{ id: string; since: Date }>(`SELECT id, status_changed_at AS since FROM orders WHERE external_id = 'SLA-1'`);
    const { id, since } = rows[0]!;
    expect((await order(id)).status).toBe('released');

    // when the watchdog looks 23 hours later: still within the 24 h SLA
    expect(await watchSlas(hub.db, at(since, 23))).toEqual({ overdue: 0, breached: 0, resolved: 0 });

    // when it looks 25 hours later: one breach, owned as the SOP says, on the timeline
    const breachedAt = new Date(since.getTime() + 25 * HOUR);
    expect(await watchSlas(hub.db, at(since, 25))).toEqual({ overdue: 1, breached: 1, resolved: 0 });
    let detail = await order(id);
    const breach = detail.exceptions.find((e) => e.type === 'sla_breach')!;
    expect(breach).toMatchObject({ status: 'open', owner: 'warehouse-ops', details: { status: 'released', since: since.toISOString(), limitMinutes: 1440 } });
    expect(new Date(breach.deadline).getTime()).toBe(breachedAt.getTime() + HOUR);
    expect(breach.reason).toContain(`order ${detail.orderNumber} has been released for longer than its SLA of 24 h`);
    expect(detail.timeline.filter((e) => e.type === 'sla.breached')).toEqual([expect.objectContaining({ actor: 'job:sla-watchdog' })]);

    // and looking again, later, opens nothing more: one breach per stay
    expect(await watchSlas(hub.db, at(since, 30))).toMatchObject({ breached: 0 });
    detail = await order(id);
    expect(detail.exceptions.filter((e) => e.type === 'sla_breach')).toHaveLength(1);
    expect(detail.timeline.filter((e) => e.type === 'sla.breached')).toHaveLength(1);

    // when escalation runs before the breach's deadline: nothing to escalate
    expect(await escalateOverdueExceptions(hub.db, at(since, 25.5))).toEqual({ overdue: 0, escalated: 0, reassigned: 0 });
    // and after it: handed to the escalation owner, once, announced on the bus
    expect(await escalateOverdueExceptions(hub.db, at(since, 26.5))).toEqual({ overdue: 1, escalated: 1, reassigned: 1 });
    expect(await escalateOverdueExceptions(hub.db, at(since, 48))).toEqual({ overdue: 0, escalated: 0, reassigned: 0 });
    const escalated = (await order(id)).exceptions.find((e) => e.type === 'sla_breach')!;
    expect(escalated).toMatchObject({ status: 'open', owner: 'operations-lead', details: { previousOwner: 'warehouse-ops' } });
    const { rows: marked } = await hub.db.query<{ escalatedAt: Date }>(`SELECT escalated_at AS "escalatedAt" FROM exceptions WHERE id = $1`, [escalated.id]);
    expect(marked[0]!.escalatedAt).toEqual(new Date(since.getTime() + 26.5 * HOUR));
    const events = await escalations();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'exception.escalated', subject: String(escalated.id),
      data: { exceptionId: escalated.id, exceptionType: 'sla_breach', orderId: id, owner: 'operations-lead', previousOwner: 'warehouse-ops' },
    });

    // when the warehouse ships the order, the next watchdog run resolves the breach
    const request = usEast.received.find((r) => r.data.orderId === id)!;
    usEast.publish('fulfillment.shipped', { shipmentId: request.data.shipmentId, carrier: 'ups', trackingNumber: '1Z-SLA-1', lines: [{ sku: 'SLA-MUG', quantity: 1 }] }, 'wms-sla-1');
    await settled(hub);
    expect((await order(id)).status).toBe('shipped');
    expect(await watchSlas(hub.db, at(since, 49))).toEqual({ overdue: 0, breached: 0, resolved: 1 });
    const resolved = (await order(id)).exceptions.find((e) => e.type === 'sla_breach')!;
    expect(resolved).toMatchObject({ status: 'resolved', details: { resolution: 'the order left the status it was late in' } });
    // shipped has its own SLA, counted from the shipment: a week later it is late again, in a new stay
    const { rows: shippedAt } = await hub.db.query<{ since: Date }>(`SELECT status_changed_at AS since FROM orders WHERE id = $1`, [id]);
    expect(await watchSlas(hub.db, at(shippedAt[0]!.since, 7 * 24 + 1))).toMatchObject({ breached: 1 });
    const breaches = (await order(id)).exceptions.filter((e) => e.type === 'sla_breach');
    expect(breaches.map((e) => [e.status, e.details.status])).toEqual(expect.arrayContaining([['resolved', 'released'], ['open', 'shipped']]));
  });

  it('escalates without a new owner when the SOP names none, and keeps the owner', async () => {
    // given an exception type whose SOP entry has no escalateTo (low_stock: inventory)
    const { rows } = await hub.db.query<{ id: number }>(
      `INSERT INTO exceptions (type, owner, deadline, reason, message_id) VALUES ('low_stock', 'inventory', $1, 'SLA-MUG low', 'sla-test-low') RETURNING id::int AS id`,
      [new Date(Date.now() + HOUR)]);
    const before = (await escalations()).length;
    expect(await escalateOverdueExceptions(hub.db, at(new Date(), 2))).toMatchObject({ escalated: 1, reassigned: 0 });
    const { rows: after } = await hub.db.query(`SELECT owner, details, escalated_at IS NOT NULL AS escalated FROM exceptions WHERE id = $1`, [rows[0]!.id]);
    expect(after).toEqual([{ owner: 'inventory', details: {}, escalated: true }]);
    const events = await escalations();
    expect(events).toHaveLength(before + 1);
    expect(events.at(-1)).toMatchObject({ data: { exceptionId: rows[0]!.id, owner: 'inventory', previousOwner: null } });
  });
});
