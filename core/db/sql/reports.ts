import { jsonb } from '../jsonb.ts';
import type { Queryable } from '../pool.ts';
import type {
  DailyReport, ExceptionOpenedRow, ExceptionResolvedRow, FeedbackRow, MilestoneRow, ParcelDeliveredRow, ReceivedOrderRow,
  ReminderRow, ReturnRequestedRow, ShipmentShippedRow,
} from '../../reports/figures.ts';

/** Calendar days `from`..`to` (both included, `YYYY-MM-DD`) in an IANA time zone. */
export interface DayRange {
  from: string;
  to: string;
  timeZone: string;
}

const params = (r: DayRange) => [r.from, r.to, r.timeZone];

// Every statement below takes $1 = first day, $2 = last day, $3 = time zone. A day is
// [local midnight, next local midnight), so a day with a DST change has 23 or 25 hours;
// `dayOf` names the local calendar day an instant falls on.
const within = (column: string) =>
  `${column} >= ($1::date::timestamp AT TIME ZONE $3::text) AND ${column} < (($2::date + 1)::timestamp AT TIME ZONE $3::text)`;
const dayOf = (column: string) => `to_char(${column} AT TIME ZONE $3::text, 'YYYY-MM-DD')`;
const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * Orders the hub received (`created_at`) in the range; `rejected` from their current status
 * (rejection is final). An exchange order replaces goods already sold and paid for, so it is
 * neither a new order nor sales: it is left out here (its processing times still count).
 */
export async function receivedOrders(db: Queryable, range: DayRange): Promise<ReceivedOrderRow[]> {
  const { rows } = await db.query<ReceivedOrderRow>(
    `SELECT ${dayOf('o.created_at')} AS day, o.id AS "orderId", o.channel, o.currency, o.grand_total AS "grandTotal",
            o.status = 'rejected' AS rejected
       FROM orders o
      WHERE ${within('o.created_at')}
        AND NOT EXISTS (SELECT 1 FROM returns r WHERE r.exchange_order_id = o.id)`, params(range));
  return rows;
}

/**
 * The first time an order was released, shipped (its first `fulfillment.shipped`, or the
 * move to `shipped`), delivered or cancelled, when that first time is in the range. Only
 * orders with a timeline event in the range are looked at.
 */
export async function orderMilestones(db: Queryable, range: DayRange): Promise<MilestoneRow[]> {
  const { rows } = await db.query<MilestoneRow>(
    `WITH marks AS (
       SELECT e.id, e.order_id, e.at,
              CASE WHEN e.type = 'fulfillment.shipped' OR e.to_status = 'shipped' THEN 'shipped' ELSE e.to_status END AS milestone
         FROM order_events e
        WHERE (e.to_status IN ('released', 'shipped', 'delivered', 'cancelled') OR e.type = 'fulfillment.shipped')
          AND e.order_id IN (SELECT order_id FROM order_events WHERE ${within('at')})
     ), firsts AS (
       SELECT DISTINCT ON (order_id, milestone) order_id, milestone, at FROM marks ORDER BY order_id, milestone, at, id
     )
     SELECT ${dayOf('f.at')} AS day, f.order_id AS "orderId", o.channel, f.milestone,
            ${epochMs('o.created_at')} AS "receivedAt", ${epochMs('f.at')} AS at
       FROM firsts f JOIN orders o ON o.id = f.order_id
      WHERE ${within('f.at')}`, params(range));
  return rows;
}

/** Exceptions opened in the range, with their order's channel (null without an order). */
export async function exceptionsOpened(db: Queryable, range: DayRange): Promise<ExceptionOpenedRow[]> {
  const { rows } = await db.query<ExceptionOpenedRow>(
    `SELECT ${dayOf('x.created_at')} AS day, x.type, o.channel
       FROM exceptions x LEFT JOIN orders o ON o.id = x.order_id
      WHERE ${within('x.created_at')}`, params(range));
  return rows;
}

/** Exceptions resolved in the range, with when they were opened. */
export async function exceptionsResolved(db: Queryable, range: DayRange): Promise<ExceptionResolvedRow[]> {
  const { rows } = await db.query<ExceptionResolvedRow>(
    `SELECT ${dayOf('x.resolved_at')} AS day, x.type, o.channel, ${epochMs('x.created_at')} AS "openedAt", ${epochMs('x.resolved_at')} AS "resolvedAt"
       FROM exceptions x LEFT JOIN orders o ON o.id = x.order_id
      WHERE x.resolved_at IS NOT NULL AND ${within('x.resolved_at')}`, params(range));
  return rows;
}

/** Shipments whose first parcel left in the range, with their promised ship date. */
export async function shipmentsFirstShipped(db: Queryable, range: DayRange): Promise<ShipmentShippedRow[]> {
  const { rows } = await db.query<ShipmentShippedRow>(
    `SELECT ${dayOf('f.first_shipped_at')} AS day, o.channel, to_char(s.promised_ship_date, 'YYYY-MM-DD') AS "promisedShipDate"
       FROM (SELECT shipment_id, min(shipped_at) AS first_shipped_at FROM parcels GROUP BY shipment_id) f
       JOIN shipments s ON s.id = f.shipment_id
       JOIN orders o ON o.id = s.order_id
      WHERE ${within('f.first_shipped_at')}`, params(range));
  return rows;
}

/** Parcels delivered in the range, with their shipment's promised delivery date. */
export async function parcelsDelivered(db: Queryable, range: DayRange): Promise<ParcelDeliveredRow[]> {
  const { rows } = await db.query<ParcelDeliveredRow>(
    `SELECT ${dayOf('p.delivered_at')} AS day, o.channel, to_char(s.promised_delivery_date, 'YYYY-MM-DD') AS "promisedDeliveryDate"
       FROM parcels p
       JOIN shipments s ON s.id = p.shipment_id
       JOIN orders o ON o.id = p.order_id
      WHERE p.delivered_at IS NOT NULL AND ${within('p.delivered_at')}`, params(range));
  return rows;
}

/** Returns (RMAs) requested in the range. */
export async function returnsRequested(db: Queryable, range: DayRange): Promise<ReturnRequestedRow[]> {
  const { rows } = await db.query<ReturnRequestedRow>(
    `SELECT ${dayOf('r.created_at')} AS day, r.order_id AS "orderId", o.channel
       FROM returns r JOIN orders o ON o.id = r.order_id
      WHERE ${within('r.created_at')}`, params(range));
  return rows;
}

/** Customers' ratings received in the range. */
export async function feedbackReceived(db: Queryable, range: DayRange): Promise<FeedbackRow[]> {
  const { rows } = await db.query<FeedbackRow>(
    `SELECT ${dayOf('f.created_at')} AS day, o.channel, f.rating
       FROM feedback f JOIN orders o ON o.id = f.order_id
      WHERE ${within('f.created_at')}`, params(range));
  return rows;
}

/** Review reminders requested in the range (the `review.reminder_requested` timeline events). */
export async function reviewRemindersRequested(db: Queryable, range: DayRange): Promise<ReminderRow[]> {
  const { rows } = await db.query<ReminderRow>(
    `SELECT ${dayOf('e.at')} AS day, e.order_id AS "orderId", o.channel
       FROM order_events e JOIN orders o ON o.id = e.order_id
      WHERE e.type = 'review.reminder_requested' AND ${within('e.at')}`, params(range));
  return rows;
}

/** The stored reports of days `from`..`to`, by day. */
export async function storedReports(db: Queryable, from: string, to: string): Promise<Map<string, DailyReport>> {
  const { rows } = await db.query<{ day: string; report: DailyReport }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day, report FROM daily_reports WHERE day BETWEEN $1::date AND $2::date`, [from, to]);
  return new Map(rows.map((r) => [r.day, r.report]));
}

/** Which of the days `from`..`to` have a stored report. */
export async function storedReportDays(db: Queryable, from: string, to: string): Promise<Set<string>> {
  const { rows } = await db.query<{ day: string }>(
    `SELECT to_char(day, 'YYYY-MM-DD') AS day FROM daily_reports WHERE day BETWEEN $1::date AND $2::date`, [from, to]);
  return new Set(rows.map((r) => r.day));
}

/** Stores a day's report, replacing the one stored before. */
export async function storeDailyReport(db: Queryable, report: DailyReport): Promise<void> {
  await db.query(
    `INSERT INTO daily_reports (day, report, generated_at) VALUES ($1::date, $2, $3)
     ON CONFLICT (day) DO UPDATE SET report = EXCLUDED.report, generated_at = EXCLUDED.generated_at`,
    [report.date, jsonb(report), report.generatedAt]);
}

/** Whether Postgres knows a time zone by this name (Node's list and Postgres's can differ). */
export async function isPostgresTimeZone(db: Queryable, name: string): Promise<boolean> {
  const { rowCount } = await db.query(`SELECT 1 FROM pg_timezone_names WHERE name = $1`, [name]);
  return (rowCount ?? 0) > 0;
}
