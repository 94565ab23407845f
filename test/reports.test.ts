// The daily KPI reports against the real Postgres: a known set of orders, with their timeline,
// exceptions, shipments, parcels, returns and feedback, written with SQL at explicit times in
// the report time zone (America/New_York, across the 2025 change to daylight time); figures
// worked out by hand below and compared with the JSON and the CSV; the range endpoint; the
// daily job storing yesterday and catching up a gap, with a moved clock.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { storeDailyReports } from '../core/reports/daily.ts';
import { isPostgresTimeZone } from '../core/db/sql/reports.ts';
import type { DailyReport, DayFigures } from '../core/reports/figures.ts';
import { csvRecords } from './support/csv.ts';
import { adminToken, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { quietDay as quiet } from './support/reports.ts';

const env = testEnv(testNamespace('reports'));
const config = { ...loadConfig(defaultConfigPath), reports: { timeZone: 'America/New_York' } };
let clock = new Date('2025-03-11T16:00:00Z'); // 12:00 on 2025-03-11 in New York
let hub: Hub;

const D0 = '2025-03-09'; // the day New York moves to daylight time (23 hours long)
const D = '2025-03-10';
const D2 = '2025-03-11'; // today, by the clock above

/** An instant given as New York wall time; from 03:00 on 2025-03-09 on, New York is UTC-4. */
const ny = (day: string, time: string) => new Date(`${day}T${time}:00-04:00`);

beforeAll(async () => {
  hub = await startHub(env, { roles: ['api'], port: 0, logger: quietLogger(), config, now: () => clock });
  await seed();
});

afterAll(async () => {
  await hub?.stop();
  await removeNamespace(env, hub?.topology);
});

const api = (path: string, token: string | null = adminToken) =>
  hub.app.request(`/api${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
const daily = async (query: string) => (await (await api(`/reports/daily?${query}`)).json()) as DailyReport;
const range = async (query: string) => (await (await api(`/reports/range?${query}`)).json()) as { from: string; to: string; timeZone: string; items: DailyReport[] };

// ---- the known set of orders -------------------------------------------------------------

const ids = { A: randomUUID(), B: randomUUID(), C: randomUUID(), X: randomUUID(), E: randomUUID(), F: randomUUID(), G: randomUUID(), Y: randomUUID() };

async function order(id: string, o: { channel: string; currency: string; total: number; status: string; at: Date }) {
  await hub.db.query(
    `INSERT INTO orders (id, order_number, channel, external_id, status, payment_status, fulfillment_status, currency, grand_total, data, placed_at, created_at, updated_at)
     VALUES ($1, $2, $3, $4, $5, 'paid', 'unfulfilled', $6, $7, '{}', $8, $8, $8)`,
    [id, `R-${id.slice(0, 8)}`, o.channel, `ext-${id}`, o.status, o.currency, o.total, o.at]);
}
async function event(orderId: string, at: Date, type: string, toStatus: string | null = null) {
  await hub.db.query(`INSERT INTO order_events (order_id, at, type, to_status, actor) VALUES ($1, $2, $3, $4, 'test')`, [orderId, at, type, toStatus]);
}
async function exception(type: string, orderId: string | null, openedAt: Date, resolvedAt: Date | null = null) {
  await hub.db.query(
    `INSERT INTO exceptions (type, status, order_id, owner, deadline, reason, created_at, resolved_at) VALUES ($1, $2, $3, 'ops', $4, 'test', $4, $5)`,
    [type, resolvedAt ? 'resolved' : 'open', orderId, openedAt, resolvedAt]);
}
async function shipment(orderId: string, promisedShip: string, promisedDelivery: string): Promise<string> {
  const id = `${orderId}:us-east`;
  await hub.db.query(
    `INSERT INTO shipments (id, order_id, warehouse, lines, carrier, service_level, promised_ship_date, promised_delivery_date, status, plan)
     VALUES ($1, $2, 'us-east', '[]', 'ups', 'ground', $3, $4, 'requested', '{}')`, [id, orderId, promisedShip, promisedDelivery]);
  return id;
}
async function parcel(shipmentId: string, orderId: string, shippedAt: Date, deliveredAt: Date | null = null) {
  await hub.db.query(
    `INSERT INTO parcels (shipment_id, order_id, carrier, tracking_code, lines, status, shipped_at, last_scan_at, delivered_at)
     VALUES ($1, $2, 'ups', $3, '[]', $4, $5, $5, $6)`,
    [shipmentId, orderId, randomUUID(), deliveredAt ? 'delivered' : 'in_transit', shippedAt, deliveredAt]);
}
async function rma(orderId: string, n: number, at: Date) {
  await hub.db.query(
    `INSERT INTO returns (id, order_id, kind, status, reason, currency, requested_by, created_at, updated_at) VALUES ($1, $2, 'refund', 'requested', 'too small', 'USD', 'customer', $3, $3)`,
    [`R-${orderId.slice(0, 8)}-R${n}`, orderId, at]);
}
async function feedback(orderId: string, rating: number, at: Date) {
  await hub.db.query(`INSERT INTO feedback (order_id, rating, source, created_at) VALUES ($1, $2, 'api', $3)`, [orderId, rating, at]);
}

/**
 * website A: received D 09:00, released 10:00, first parcel 15:00 (promised ship D: on time).
 * website B: received D 08:00, released 08:30, parcel 20:00 (promised ship D0: late), delivered
 *   23:00 (= 03:00Z on D2, promised delivery D: on time), review reminder 23:30.
 * website E: received D0 18:00, released D0 19:00, first parcel D0 23:30 (= 03:30Z on D, so
 *   its shipment counts on D0), second parcel D 09:00; both parcels delivered on D (16:00,
 *   17:00; promised D0: late); delivered D 16:00, reminder 17:00, two RMAs 18:00 and 18:30,
 *   rated 4 at 19:00; exception manual_review opened D0 20:00, resolved D 02:00.
 * shopify C: received D 11:00, rejected (EUR, not in GMV); validation_failed 11:00-13:00.
 * shopify X: received D 12:00, payment_failed 12:30 (still open), cancelled 14:00.
 * app F: received D0 23:30 (= 03:30Z on D: counts on D0). app G: received D 23:30 (= 03:30Z
 *   on D2: counts on D), rated 2 at 23:45.
 * No order: unmapped_payload opened D 10:00, resolved 10:30.
 */
async function seed() {
  await order(ids.A, { channel: 'website', currency: 'USD', total: 10_000, status: 'shipped', at: ny(D, '09:00') });
  await order(ids.B, { channel: 'website', currency: 'USD', total: 5_000, status: 'delivered', at: ny(D, '08:00') });
  await order(ids.E, { channel: 'website', currency: 'USD', total: 2_000, status: 'delivered', at: ny(D0, '18:00') });
  await order(ids.C, { channel: 'shopify', currency: 'EUR', total: 7_000, status: 'rejected', at: ny(D, '11:00') });
  await order(ids.X, { channel: 'shopify', currency: 'USD', total: 3_000, status: 'cancelled', at: ny(D, '12:00') });
  await order(ids.F, { channel: 'app', currency: 'JPY', total: 150_000, status: 'received', at: new Date('2025-03-10T03:30:00Z') });
  await order(ids.G, { channel: 'app', currency: 'JPY', total: 1_200, status: 'received', at: new Date('2025-03-11T03:30:00Z') });

  await event(ids.A, ny(D, '10:00'), 'order.released', 'released');
  await event(ids.A, ny(D, '15:00'), 'fulfillment.shipped', 'shipped');
  await event(ids.B, ny(D, '08:30'), 'order.released', 'released');
  await event(ids.B, ny(D, '20:00'), 'fulfillment.shipped', 'shipped');
  await event(ids.B, ny(D, '23:00'), 'order.delivered', 'delivered');
  await event(ids.B, ny(D, '23:30'), 'review.reminder_requested');
  await event(ids.E, ny(D0, '19:00'), 'order.released', 'released');
  await event(ids.E, ny(D0, '23:30'), 'fulfillment.shipped');
  await event(ids.E, ny(D, '09:00'), 'fulfillment.shipped', 'shipped');
  await event(ids.E, ny(D, '16:00'), 'order.delivered', 'delivered');
  await event(ids.E, ny(D, '17:00'), 'review.reminder_requested');
  await event(ids.C, ny(D, '11:00'), 'order.rejected', 'rejected');
  await event(ids.X, ny(D, '14:00'), 'order.cancelled', 'cancelled');

  await exception('manual_review', ids.E, ny(D0, '20:00'), ny(D, '02:00'));
  await exception('validation_failed', ids.C, ny(D, '11:00'), ny(D, '13:00'));
  await exception('payment_failed', ids.X, ny(D, '12:30'));
  await exception('unmapped_payload', null, ny(D, '10:00'), ny(D, '10:30'));

  const a = await shipment(ids.A, D, '2025-03-12');
  await parcel(a, ids.A, ny(D, '15:00'));
  const b = await shipment(ids.B, D0, D);
  await parcel(b, ids.B, ny(D, '20:00'), ny(D, '23:00'));
  const e = await shipment(ids.E, D0, D0);
  await parcel(e, ids.E, ny(D0, '23:30'), ny(D, '16:00'));
  await parcel(e, ids.E, ny(D, '09:00'), ny(D, '17:00'));

  await rma(ids.E, 1, ny(D, '18:00'));
  await rma(ids.E, 2, ny(D, '18:30'));
  // An exchange for B's goods, received on D2: not a new order, not sales.
  await order(ids.Y, { channel: 'website', currency: 'USD', total: 5_000, status: 'received', at: ny(D2, '01:00') });
  await hub.db.query(
    `INSERT INTO returns (id, order_id, kind, status, reason, currency, requested_by, exchange_order_id, created_at, updated_at)
     VALUES ($1, $2, 'exchange', 'exchanged', 'wrong size', 'USD', 'customer', $3, $4, $4)`, [`R-${ids.B.slice(0, 8)}-R1`, ids.B, ids.Y, ny(D2, '00:30')]);
  await feedback(ids.E, 4, ny(D, '19:00'));
  await feedback(ids.G, 2, ny(D, '23:45'));
}

// ---- the figures, by hand ----------------------------------------------------------------

const hours = (h: number) => h * 3600;

const website: DayFigures = {
  orders: 2, gmv: { USD: 15_000 },
  // A 1 h, B 30 min to release; A 6 h, B 12 h to the first parcel (E's first parcel was on D0)
  processingSeconds: { toRelease: { count: 2, p50: hours(0.5), p90: hours(1), p99: hours(1) }, toShipment: { count: 2, p50: hours(6), p90: hours(12), p99: hours(12) } },
  exceptions: { opened: 0, rate: 0, resolved: 1, meanSecondsToResolve: hours(6), byType: { manual_review: { opened: 0, rate: 0, resolved: 1, meanSecondsToResolve: hours(6) } } },
  onTimeShipment: { shipments: 2, onTime: 1, rate: 0.5 },
  onTimeDelivery: { parcels: 3, onTime: 1, rate: 1 / 3 },
  cancellations: { cancelled: 0, rate: 0 },
  returns: { requested: 1, delivered: 2, rate: 0.5 },
  satisfaction: { responses: 1, averageRating: 4, remindersRequested: 2, responseRate: 0.5 },
};
const shopify: DayFigures = {
  ...quiet,
  orders: 2, gmv: { USD: 3_000 },
  exceptions: {
    opened: 2, rate: 1, resolved: 1, meanSecondsToResolve: hours(2),
    byType: { payment_failed: { opened: 1, rate: 0.5, resolved: 0, meanSecondsToResolve: null }, validation_failed: { opened: 1, rate: 0.5, resolved: 1, meanSecondsToResolve: hours(2) } },
  },
  cancellations: { cancelled: 1, rate: 0.5 },
};
const app: DayFigures = {
  ...quiet,
  orders: 1, gmv: { JPY: 1_200 },
  exceptions: { ...quiet.exceptions, rate: 0 },
  cancellations: { cancelled: 0, rate: 0 },
  satisfaction: { responses: 1, averageRating: 2, remindersRequested: 0, responseRate: null },
};
const total: DayFigures = {
  orders: 5, gmv: { JPY: 1_200, USD: 18_000 },
  processingSeconds: website.processingSeconds,
  exceptions: {
    opened: 3, rate: 0.6, resolved: 3, meanSecondsToResolve: (hours(6) + hours(2) + hours(0.5)) / 3,
    byType: {
      manual_review: { opened: 0, rate: 0, resolved: 1, meanSecondsToResolve: hours(6) },
      payment_failed: { opened: 1, rate: 0.2, resolved: 0, meanSecondsToResolve: null },
      unmapped_payload: { opened: 1, rate: 0.2, resolved: 1, meanSecondsToResolve: hours(0.5) },
      validation_failed: { opened: 1, rate: 0.2, resolved: 1, meanSecondsToResolve: hours(2) },
    },
  },
  onTimeShipment: website.onTimeShipment,
  onTimeDelivery: website.onTimeDelivery,
  cancellations: { cancelled: 1, rate: 0.2 },
  returns: website.returns,
  satisfaction: { responses: 2, averageRating: 3, remindersRequested: 2, responseRate: 1 },
};
const expectedD = { date: D, timeZone: 'America/New_York', total, channels: { amazon: quiet, app, shopify, website, woocommerce: quiet } };

// ------------------------------------------------------------------------------------------

describe('GET /api/reports/daily', () => {
  it("computes a day's figures in total and per channel, on New York's calendar", async () => {
    const res = await api(`/reports/daily?date=${D}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ...expectedD, generatedAt: clock.toISOString() });
  });

  it('gives the same figures as CSV: a header, the "all" row, a row per channel', async () => {
    const res = await api(`/reports/daily?date=${D}&format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await res.text();
    expect(text.split('\r\n')[0]).toMatch(/^date,channel,orders,gmv_JPY,gmv_USD,release_count,/);
    const rows = csvRecords(text);
    expect(rows.map((r) => r.channel)).toEqual(['all', 'amazon', 'app', 'shopify', 'website', 'woocommerce']);
    const [all, amazon, appRow, shopifyRow, websiteRow] = rows;
    expect(all).toMatchObject({
      date: D, orders: '5', gmv_JPY: '1200', gmv_USD: '18000',
      release_count: '2', release_p50_seconds: '1800', release_p90_seconds: '3600', release_p99_seconds: '3600',
      shipment_count: '2', shipment_p50_seconds: '21600', shipment_p90_seconds: '43200', shipment_p99_seconds: '43200',
      exceptions_opened: '3', exception_rate: '0.6', exceptions_resolved: '3', mean_seconds_to_resolve: '10200',
      'exceptions_opened:payment_failed': '1', 'exception_rate:payment_failed': '0.2', 'mean_seconds_to_resolve:payment_failed': '',
      'exceptions_resolved:manual_review': '1', 'mean_seconds_to_resolve:manual_review': '21600',
      shipments_shipped: '2', shipments_on_time: '1', on_time_shipment_rate: '0.5',
      parcels_delivered: '3', parcels_on_time: '1', on_time_delivery_rate: String(1 / 3),
      orders_cancelled: '1', cancellation_rate: '0.2', orders_delivered: '2', returns_requested: '1', return_rate: '0.5',
      ratings: '2', average_rating: '3', review_reminders: '2', response_rate: '1',
    });
    expect(amazon).toMatchObject({ orders: '0', gmv_USD: '0', exception_rate: '', cancellation_rate: '', release_p50_seconds: '', 'exception_rate:payment_failed': '' });
    expect(appRow).toMatchObject({ orders: '1', gmv_JPY: '1200', gmv_USD: '0', average_rating: '2', response_rate: '', 'exception_rate:payment_failed': '0' });
    expect(shopifyRow).toMatchObject({ orders: '2', gmv_USD: '3000', exception_rate: '1', 'exception_rate:validation_failed': '0.5', cancellation_rate: '0.5' });
    expect(websiteRow).toMatchObject({ orders: '2', gmv_USD: '15000', return_rate: '0.5', response_rate: '0.5', on_time_delivery_rate: String(1 / 3) });
    expect(text).not.toContain('gmv_EUR'); // the only EUR order was rejected
  });

  it('counts a day by the report time zone: the day before has E and F, received after UTC midnight', async () => {
    const report = await daily(`date=${D0}`);
    expect(report.total.orders).toBe(2);
    expect(report.total.gmv).toEqual({ JPY: 150_000, USD: 2_000 });
    expect(report.channels.website?.processingSeconds).toEqual({ toRelease: { count: 1, p50: hours(1), p90: hours(1), p99: hours(1) }, toShipment: { count: 1, p50: hours(5.5), p90: hours(5.5), p99: hours(5.5) } });
    expect(report.total.onTimeShipment).toEqual({ shipments: 1, onTime: 1, rate: 1 });
    expect(report.total.exceptions).toMatchObject({ opened: 1, rate: 0.5, resolved: 0 });
  });

  it('answers 400 for a malformed, impossible or missing date, a date after today, an unknown format', async () => {
    for (const query of ['date=2025-3-10', 'date=2025-02-29', 'date=0000-01-01', 'date=yesterday', '', 'date=', `date=${D}&format=xml`, `date=${D}&fresh=maybe`, 'date=2025-03-12']) {
      const res = await api(`/reports/daily?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type'), query).toBe('application/problem+json');
    }
    expect(await (await api('/reports/daily?date=2025-03-12')).json()).toMatchObject({ status: 400, code: 'date_in_future', today: D2 });
  });

  it("knows today by the report time zone: at 22:00 in New York, UTC's tomorrow is still the future", async () => {
    const saved = clock;
    clock = new Date('2025-03-12T02:00:00Z');
    try {
      expect((await api('/reports/daily?date=2025-03-12')).status).toBe(400);
      expect((await api(`/reports/daily?date=${D2}`)).status).toBe(200);
      expect((await daily(`date=${D2}`)).total.orders).toBe(0);
    } finally {
      clock = saved;
    }
  });

  it('answers 401 without a valid token', async () => {
    expect((await api(`/reports/daily?date=${D}`, null)).status).toBe(401);
    expect((await api(`/reports/daily?date=${D}`, 'wrong')).status).toBe(401);
    expect((await api(`/reports/range?from=${D0}&to=${D}`, null)).status).toBe(401);
  });
});

describe('GET /api/reports/range', () => {
  it('gives one report per day, oldest first, as JSON and as CSV', async () => {
    expect((await api(`/reports/range?from=${D0}&to=${D2}`)).status).toBe(200);
    const body = await range(`from=${D0}&to=${D2}`);
    expect(body).toMatchObject({ from: D0, to: D2, timeZone: 'America/New_York' });
    expect(body.items.map((r) => r.date)).toEqual([D0, D, D2]);
    expect(body.items.map((r) => r.total.orders)).toEqual([2, 5, 0]);
    expect(body.items[1]).toEqual({ ...expectedD, generatedAt: clock.toISOString() });

    const csv = await api(`/reports/range?from=${D0}&to=${D2}&format=csv`);
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/);
    const rows = csvRecords(await csv.text());
    expect(rows).toHaveLength(3 * 6);
    expect(rows.filter((r) => r.channel === 'all').map((r) => [r.date, r.orders, r.gmv_USD, r.gmv_JPY])).toEqual([
      [D0, '2', '2000', '150000'], [D, '5', '18000', '1200'], [D2, '0', '0', '0'],
    ]);
  });

  it('answers 400 for a reversed range, more than 366 days, a future end, a missing bound', async () => {
    const queries = [`from=${D}&to=${D0}`, 'from=2024-03-10&to=2025-03-11', `from=${D}&to=2025-03-12`, `from=${D}`, `to=${D}`, `from=2025-02-30&to=${D}`];
    for (const query of queries) {
      const res = await api(`/reports/range?${query}`);
      expect(res.status, query).toBe(400);
      expect(res.headers.get('content-type'), query).toBe('application/problem+json');
    }
    expect((await api('/reports/range?from=2024-03-11&to=2025-03-11')).status).toBe(200); // 366 days
    expect((await api('/reports/range?from=0001-01-01&to=0001-01-02')).status).toBe(200);
  });
});

describe('the report time zone', () => {
  it('is checked against the zones Postgres knows, since the days are counted in SQL', async () => {
    expect(await isPostgresTimeZone(hub.db, 'America/New_York')).toBe(true);
    expect(await isPostgresTimeZone(hub.db, 'Mars/Olympus_Mons')).toBe(false);
  });
});

describe('the daily-report job', () => {
  const stored = async () =>
    (await hub.db.query<{ day: string }>(`SELECT to_char(day, 'YYYY-MM-DD') AS day FROM daily_reports ORDER BY day`)).rows.map((r) => r.day);
  const runAt = (instant: Date) => storeDailyReports(hub.db, { ...hub.ctx, now: () => instant });

  it("stores yesterday's report and catches up the missing days of the last week", async () => {
    const shortlyAfterMidnight = ny(D2, '00:20');
    expect(await runAt(shortlyAfterMidnight)).toEqual({ stored: 7, caughtUp: 6 });
    expect(await stored()).toEqual(['2025-03-04', '2025-03-05', '2025-03-06', '2025-03-07', '2025-03-08', D0, D]);
    const { rows } = await hub.db.query<{ report: unknown; generatedAt: Date }>(`SELECT report, generated_at AS "generatedAt" FROM daily_reports WHERE day = $1`, [D]);
    expect(rows[0]!.report).toEqual({ ...expectedD, generatedAt: shortlyAfterMidnight.toISOString() });
    expect(rows[0]!.generatedAt).toEqual(shortlyAfterMidnight);
  });

  it('fills a gap, recomputes yesterday, and leaves stored days alone', async () => {
    await hub.db.query(`DELETE FROM daily_reports WHERE day = '2025-03-06'`);
    const before = await hub.db.query<{ day: string; generatedAt: Date }>(`SELECT to_char(day, 'YYYY-MM-DD') AS day, generated_at AS "generatedAt" FROM daily_reports WHERE day = '2025-03-05'`);
    const later = ny(D2, '01:00');
    expect(await runAt(later)).toEqual({ stored: 2, caughtUp: 1 });
    expect(await stored()).toEqual(['2025-03-04', '2025-03-05', '2025-03-06', '2025-03-07', '2025-03-08', D0, D]);
    const after = await hub.db.query<{ day: string; generatedAt: Date }>(`SELECT to_char(day, 'YYYY-MM-DD') AS day, generated_at AS "generatedAt" FROM daily_reports WHERE day IN ('2025-03-05', '2025-03-06', $1) ORDER BY day`, [D]);
    expect(after.rows.map((r) => [r.day, r.generatedAt.toISOString()])).toEqual([
      ['2025-03-05', before.rows[0]!.generatedAt.toISOString()], ['2025-03-06', later.toISOString()], [D, later.toISOString()],
    ]);
  });

  it('a day later, stores only the new yesterday', async () => {
    expect(await runAt(ny('2025-03-12', '00:15'))).toEqual({ stored: 1, caughtUp: 0 });
    expect((await stored()).at(-1)).toBe(D2);
  });

  it('a stored report is served as stored; fresh=true computes it again', async () => {
    // An order that arrives late for D: the stored report does not have it, a fresh one does.
    await order(randomUUID(), { channel: 'website', currency: 'USD', total: 1, status: 'received', at: ny(D, '21:00') });
    const servedStored = await daily(`date=${D}`);
    expect(servedStored.total.orders).toBe(5);
    expect(servedStored.generatedAt).toBe(ny(D2, '01:00').toISOString());
    const fresh = await daily(`date=${D}&fresh=true`);
    expect(fresh.total.orders).toBe(6);
    expect(fresh.total.gmv).toEqual({ JPY: 1_200, USD: 18_001 });
    expect(fresh.generatedAt).toBe(clock.toISOString());
    expect((await range(`from=${D}&to=${D2}`)).items.map((r) => r.total.orders)).toEqual([5, 0]);
    expect((await range(`from=${D}&to=${D2}&fresh=true`)).items.map((r) => r.total.orders)).toEqual([6, 0]);
  });
});
