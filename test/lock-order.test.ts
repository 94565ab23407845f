// Stages that lock several stock rows or several orders in one transaction take them in the
// one order allocation batches use — orders by id, then stock rows by (warehouse, sku) — so
// two of them at once queue on their first common row instead of deadlocking. Real Postgres:
// a gate transaction holds every contested row while the two transactions start, so each
// waits on the first row it locks; when the gate lets go, two that lock in opposite orders
// deadlock (40P01), two that lock in one order run one after the other.
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PaymentEvent } from '../connectors/payments/types.ts';
import { parseConfig } from '../core/config/business.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool, withTransaction, type Db, type Tx } from '../core/db/pool.ts';
import { availableStock, consumeReservations, lockForAllocation, reserveStock } from '../core/db/sql/inventory.ts';
import { insertOrder } from '../core/db/sql/orders.ts';
import { seedReferenceData } from '../core/db/sql/reference.ts';
import { insertReturn } from '../core/db/sql/returns.ts';
import { cloudEvent } from '../core/messaging/cloudevent.ts';
import type { Handler } from '../core/messaging/consume.ts';
import type { OrderRecord } from '../core/order/record.ts';
import type { StageContext } from '../core/stages/context.ts';
import { reconcileStage } from '../core/stages/reconcile.ts';
import { backordersStage, warehouseEventsStage } from '../core/stages/stock.ts';
import { eventually, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { anOrder, anOrderRecord, orderLine } from './support/orders.ts';

const namespace = testNamespace('lockorder');
const env = testEnv(namespace);
const WAREHOUSE = 'wh-a';
const SKUS = ['LOCK-A', 'LOCK-B', 'LOCK-C'] as const;
const BACKORDERED = 'LOCK-X';
// in this order by code point (the database's "C" collation), the other way by localeCompare
const MIXED_CASE = ['SHIP-B', 'ship-a'] as const;
let db: Db;

const config = parseConfig({
  orderNumberPrefix: 'T',
  channels: [{ code: 'shopify', connector: 'shopify' }],
  warehouses: [{ code: WAREHOUSE, name: 'Warehouse A', location: { lat: 40, lng: -80 }, country: 'US', regions: ['US'], categories: [], priority: 1 }],
  products: [...SKUS, BACKORDERED, ...MIXED_CASE].map((sku) => ({ sku, name: `Product ${sku}`, category: 'general', weightGrams: 100 })),
  stock: [...SKUS, BACKORDERED, ...MIXED_CASE].map((sku) => ({ warehouse: WAREHOUSE, sku, onHand: 0 })),
  carriers: [],
  sop: { default: { owner: 'operations', deadlineMinutes: 60 } },
  notifications: { templates: {} },
  retry: { delaysMs: [100], maxAttempts: 3 },
}, 'lock-order test config');

const ctx: StageContext = {
  namespace, config, channels: new Map(), payments: new Map(), carriers: new Map(), now: () => new Date(), newId: () => randomUUID(),
};
const warehouseEvents = warehouseEventsStage(ctx);
const backorders = backordersStage(ctx);
const reconcile = reconcileStage(ctx);

beforeAll(async () => {
  db = createPool(env.databaseUrl, namespace, 6);
  await migrate(db, namespace);
  await seedReferenceData(db, config);
});

afterAll(async () => {
  await db?.end();
  await removeNamespace(env);
});

/** One message through a stage handler, in its own transaction; what it decided. */
function handle(handler: Handler, type: string, data: Record<string, unknown>): () => Promise<string> {
  const event = cloudEvent({ id: randomUUID(), source: '/test', type, time: new Date(), data });
  const delivery = { event, attempt: 1, queue: 'test', routingKey: type, origin: event.id };
  return () => withTransaction(db, async (tx) => (await handler(delivery, tx)).kind);
}

/** What an allocation batch does with the stock of its orders: lock (orders, then rows), read, reserve. */
function allocation(orderId: string, lines: readonly { sku: string; quantity: number }[]): () => Promise<string> {
  return () => withTransaction(db, async (tx) => reserve(tx, orderId, lines));
}

async function reserve(tx: Tx, orderId: string, lines: readonly { sku: string; quantity: number }[]): Promise<string> {
  await lockForAllocation(tx, [orderId]);
  await availableStock(tx, lines.map((l) => l.sku), true);
  return (await reserveStock(tx, orderId, lines.map((l) => ({ warehouse: WAREHOUSE, ...l })))) ? 'reserved' : 'refused';
}

interface Gate { stock?: readonly string[]; orders?: readonly string[]; matchKeys?: readonly string[]; rollback?: boolean }

/**
 * Runs `works` at once while a gate transaction holds the contested locks; lets go once
 * every work waits for a lock (or is done). `rollback`: the gate inserted the stock rows
 * and takes them away again, so the works find them missing. Each work's result, or the
 * SQLSTATE and message it failed with.
 */
async function race(gate: Gate, works: (() => Promise<string>)[]): Promise<string[]> {
  const holder = await db.connect();
  try {
    await holder.query('BEGIN');
    if (gate.stock && gate.rollback) {
      await holder.query(`INSERT INTO inventory (warehouse, sku, on_hand) SELECT $1, unnest($2::text[]), 0`, [WAREHOUSE, gate.stock]);
    } else if (gate.stock) {
      await holder.query('SELECT 1 FROM inventory WHERE warehouse = $1 AND sku = ANY($2::text[]) FOR UPDATE', [WAREHOUSE, gate.stock]);
    }
    if (gate.orders) await holder.query('SELECT 1 FROM orders WHERE id = ANY($1::uuid[]) FOR UPDATE', [gate.orders]);
    for (const key of gate.matchKeys ?? []) await holder.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`payment-match:${key}`]);
    let done = 0;
    const running = works.map((work) => work().then(
      (result) => result,
      (error: unknown) => `${(error as { code?: string }).code ?? ''} ${(error as Error).message}`,
    ).finally(() => { done++; }));
    await eventually(async () => {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'`, [`${namespace}-hub`]);
      return rows[0]!.n + done >= works.length ? true : undefined;
    }, 10_000, 'every transaction waiting at the gate');
    await holder.query(gate.rollback ? 'ROLLBACK' : 'COMMIT');
    return await Promise.all(running);
  } catch (error) {
    await holder.query('ROLLBACK').catch(() => {});
    throw error;
  } finally {
    holder.release();
  }
}

async function setStock(levels: readonly number[], skus: readonly string[] = SKUS): Promise<void> {
  await db.query('DELETE FROM reservations WHERE sku = ANY($1::text[])', [skus]);
  await db.query(
    `UPDATE inventory i SET on_hand = l.on_hand, reserved = 0 FROM unnest($2::text[], $3::int[]) AS l(sku, on_hand)
      WHERE i.warehouse = $1 AND i.sku = l.sku`, [WAREHOUSE, skus, levels]);
}

async function stockOf(skus: readonly string[] = SKUS): Promise<{ onHand: number; reserved: number }[]> {
  const { rows } = await db.query<{ sku: string; onHand: number; reserved: number }>(
    `SELECT sku, on_hand AS "onHand", reserved FROM inventory WHERE warehouse = $1 AND sku = ANY($2::text[])`, [WAREHOUSE, skus]);
  return skus.map((sku) => {
    const row = rows.find((r) => r.sku === sku);
    return { onHand: row?.onHand ?? -1, reserved: row?.reserved ?? -1 };
  });
}

async function insertOrders(records: OrderRecord[]): Promise<void> {
  await withTransaction(db, async (tx: Tx) => {
    for (const record of records) expect(await insertOrder(tx, record, null)).toBe(true);
  });
}

const snapshot = (skus: readonly string[], counts: readonly number[]) => handle(warehouseEvents, 'inventory.snapshot', {
  warehouse: WAREHOUSE, items: skus.map((sku) => ({ sku, onHand: counts[SKUS.indexOf(sku as (typeof SKUS)[number])] })),
});

const anyOrderOfSkus = fc.shuffledSubarray([...SKUS], { minLength: SKUS.length });
const anyCounts = fc.array(fc.integer({ min: 0, max: 20 }), { minLength: SKUS.length, maxLength: SKUS.length });
const runs = { numRuns: 8, endOnFailure: true };

describe('lock order of the stages that lock several stock rows or orders', () => {
  it('two snapshots naming the same SKUs in opposite orders: no deadlock, the later snapshot stands', async () => {
    await fc.assert(fc.asyncProperty(anyOrderOfSkus, anyCounts, anyCounts, fc.boolean(), async (order, first, second, fresh) => {
      await setStock(SKUS.map(() => 7));
      // fresh: the warehouse has no row for these SKUs yet, both snapshots make them
      if (fresh) await db.query('DELETE FROM inventory WHERE warehouse = $1 AND sku = ANY($2::text[])', [WAREHOUSE, SKUS]);
      const results = await race({ stock: SKUS, rollback: fresh }, [snapshot(order, first), snapshot([...order].reverse(), second)]);
      expect(results).toEqual(['ack', 'ack']);
      const onHand = (await stockOf()).map((s) => s.onHand);
      expect([first, second]).toContainEqual(onHand);
    }), runs);
  }, 60_000);

  it('a snapshot against an allocation: no deadlock, the counts of the one and the reservation of the other', async () => {
    await fc.assert(fc.asyncProperty(anyOrderOfSkus, anyCounts, async (order, extra) => {
      await setStock(SKUS.map(() => 5));
      const lines = SKUS.map((sku, i) => ({ sku, quantity: i + 1 }));
      const record = anOrderRecord(anOrder({ lines: lines.map((l) => orderLine(l.sku, l.quantity)) }), { status: 'validated' });
      await insertOrders([record]);
      // never under what the allocation reserves, so both go through whichever comes first
      const counts = lines.map((l, i) => l.quantity + extra[i]!);
      const results = await race({ stock: SKUS }, [allocation(record.id, lines), snapshot(order, counts)]);
      expect(results).toEqual(['reserved', 'ack']);
      expect(await stockOf()).toEqual(lines.map((l, i) => ({ onHand: counts[i], reserved: l.quantity })));
    }), runs);
  }, 60_000);

  it('a return received against a snapshot: no deadlock, the restock before or after the counts, all lines alike', async () => {
    let rmas = 0;
    await fc.assert(fc.asyncProperty(anyOrderOfSkus, anyCounts, async (order, counts) => {
      await setStock(SKUS.map(() => 3));
      const lines = SKUS.map((sku, i) => ({ sku, quantity: i + 1 }));
      const record = anOrderRecord(anOrder({ lines: lines.map((l) => orderLine(l.sku, l.quantity)) }), { status: 'delivered', paymentStatus: 'paid' });
      await insertOrders([record]);
      const rmaId = `RMA-LOCK-${++rmas}`;
      await insertReturn(db, {
        id: rmaId, orderId: record.id, kind: 'refund', status: 'approved', reason: 'changed my mind', decision: null, reasons: [],
        warehouse: WAREHOUSE, refundAmount: null, currency: 'USD', requestedBy: 'customer', idempotencyKey: null, lines,
      });
      const received = handle(warehouseEvents, 'return.received', {
        warehouse: WAREHOUSE, rmaId, lines: order.map((sku) => ({ sku, quantity: SKUS.indexOf(sku) + 1, resellable: SKUS.indexOf(sku) + 1 })),
      });
      const results = await race({ stock: SKUS }, [received, snapshot([...order].reverse(), counts)]);
      expect(results).toEqual(['ack', 'ack']);
      const onHand = (await stockOf()).map((s) => s.onHand);
      // the return first: the snapshot's counts stand; the snapshot first: the restock on top
      expect([counts, counts.map((n, i) => n + lines[i]!.quantity)]).toContainEqual(onHand);
    }), runs);
  }, 60_000);

  it('a shipment against an allocation, SKUs the code and the database sort differently: no deadlock, both in the stock', async () => {
    await fc.assert(fc.asyncProperty(fc.constant(null), async () => {
      await setStock([10, 10], MIXED_CASE);
      const lines = (quantity: number) => MIXED_CASE.map((sku) => ({ sku, quantity }));
      const [shipped, allocated] = [1, 2].map((n) => anOrderRecord(anOrder({ lines: lines(n).map((l) => orderLine(l.sku, l.quantity)) }), { status: 'validated' }));
      await insertOrders([shipped!, allocated!]);
      expect(await withTransaction(db, (tx) => reserve(tx, shipped!.id, lines(1)))).toBe('reserved');
      const ship = () => withTransaction(db, async (tx) => {
        const consumed = await consumeReservations(tx, shipped!.id, WAREHOUSE, lines(1));
        return consumed.every((c) => c.consumed === c.wanted) ? 'shipped' : 'short';
      });
      const results = await race({ stock: MIXED_CASE }, [ship, allocation(allocated!.id, lines(2))]);
      expect(results).toEqual(['shipped', 'reserved']);
      expect(await stockOf(MIXED_CASE)).toEqual(MIXED_CASE.map(() => ({ onHand: 9, reserved: 2 })));
    }), runs);
  }, 60_000);

  it('the backorders stage against an allocation batch of the same orders: no deadlock, both orders validated again', async () => {
    await fc.assert(fc.asyncProperty(fc.constant(null), async () => {
      await setStock([2], [BACKORDERED]);
      // the older order has the larger id: oldest first is not id order
      const [low, high] = [randomUUID(), randomUUID()].sort();
      const [older, newer] = [high!, low!].map((id) => anOrderRecord(anOrder({ lines: [orderLine(BACKORDERED, 1)] }), { id, status: 'backordered' }));
      await insertOrders([older!, newer!]);
      await db.query(`UPDATE orders SET created_at = now() - interval '1 hour' WHERE id = $1`, [older!.id]);
      const ids = [older!.id, newer!.id];
      const batch = () => withTransaction(db, async (tx) => { await lockForAllocation(tx, ids); return 'locked'; });
      const results = await race({ orders: ids }, [handle(backorders, 'inventory.replenished', { warehouse: WAREHOUSE, sku: BACKORDERED }), batch]);
      expect(results).toEqual(['ack', 'locked']);
      const { rows } = await db.query<{ status: string }>('SELECT status FROM orders WHERE id = ANY($1::uuid[])', [ids]);
      expect(rows.map((r) => r.status)).toEqual(['received', 'received']);
    }), runs);
  }, 60_000);

  it('two payment notifications naming the same orders in opposite orders: no deadlock, both orders paid', async () => {
    let entries = 0;
    await fc.assert(fc.asyncProperty(fc.boolean(), async (byExternalId) => {
      const records = [0, 1].map(() => anOrderRecord(anOrder({ lines: [orderLine('LOCK-A', 2)] })));
      await insertOrders(records);
      const payment = (record: OrderRecord): PaymentEvent => ({
        provider: 'stripe', account: null, entryId: `ch_lock_${++entries}`, paymentId: `pi_lock_${entries}`, kind: 'captured', amount: 1_000,
        currency: 'USD', occurredAt: new Date().toISOString(), method: 'card',
        match: { orderId: record.id, ...(byExternalId ? { externalOrderId: record.externalId } : {}) },
      });
      const [a, b] = records as [OrderRecord, OrderRecord];
      const results = await race({ orders: [a.id, b.id], matchKeys: byExternalId ? [a.externalId, b.externalId] : [] }, [
        handle(reconcile, 'payment.recorded', { entries: [payment(a), payment(b)] }),
        handle(reconcile, 'payment.recorded', { entries: [payment(b), payment(a)] }),
      ]);
      expect(results).toEqual(['ack', 'ack']);
      const { rows } = await db.query<{ paymentStatus: string }>(`SELECT payment_status AS "paymentStatus" FROM orders WHERE id = ANY($1::uuid[])`, [[a.id, b.id]]);
      expect(rows.map((r) => r.paymentStatus)).toEqual(['paid', 'paid']);
    }), runs);
  }, 60_000);
});
