/**
 * One day's KPI report, from plain rows. Pure: the adapter (`daily.ts`) reads the rows of a
 * day, or of a range of days, and hands them over; every row names the calendar day (in the
 * report time zone) it counts for, and the channel of its order (`null` when it has none).
 */
import { mean, percentiles, rate, sumByCurrency, type Percentiles } from './kpis.ts';

/** An order received by the hub (`orders.created_at`) on `day`. */
export interface ReceivedOrderRow {
  day: string;
  orderId: string;
  channel: string;
  currency: string;
  /** minor units */
  grandTotal: number;
  /** the order was rejected by validation: it is counted, but is not part of the GMV */
  rejected: boolean;
}

/**
 * The first time an order reached a milestone, on `day`: `released` (sent to its
 * warehouse), `shipped` (its first parcel left: the first `fulfillment.shipped` on its
 * timeline, or the move to `shipped`), `delivered`, `cancelled`.
 */
export interface MilestoneRow {
  day: string;
  orderId: string;
  channel: string;
  milestone: 'released' | 'shipped' | 'delivered' | 'cancelled';
  /** when the hub received the order, epoch ms */
  receivedAt: number;
  /** when it reached the milestone, epoch ms */
  at: number;
}

/** An exception opened on `day`. */
export interface ExceptionOpenedRow {
  day: string;
  type: string;
  /** the channel of its order; `null` for an exception about no order (a bad webhook, a payment) */
  channel: string | null;
}

/** An exception resolved on `day`. */
export interface ExceptionResolvedRow {
  day: string;
  type: string;
  channel: string | null;
  /** epoch ms */
  openedAt: number;
  /** epoch ms */
  resolvedAt: number;
}

/** A shipment whose first parcel left on `day`. */
export interface ShipmentShippedRow {
  day: string;
  channel: string;
  /** `YYYY-MM-DD` */
  promisedShipDate: string;
}

/** A parcel delivered on `day`. */
export interface ParcelDeliveredRow {
  day: string;
  channel: string;
  /** the promised delivery date of its shipment, `YYYY-MM-DD` */
  promisedDeliveryDate: string;
}

/** A return (RMA) requested on `day`. */
export interface ReturnRequestedRow {
  day: string;
  orderId: string;
  channel: string;
}

/** A customer's rating received on `day`. */
export interface FeedbackRow {
  day: string;
  channel: string;
  /** 1..5 */
  rating: number;
}

/** A review reminder requested on `day` (`review.reminder_requested` on the timeline). */
export interface ReminderRow {
  day: string;
  orderId: string;
  channel: string;
}

/** Everything a report is computed from. */
export interface ReportRows {
  received: ReceivedOrderRow[];
  milestones: MilestoneRow[];
  exceptionsOpened: ExceptionOpenedRow[];
  exceptionsResolved: ExceptionResolvedRow[];
  shipmentsShipped: ShipmentShippedRow[];
  parcelsDelivered: ParcelDeliveredRow[];
  returnsRequested: ReturnRequestedRow[];
  feedback: FeedbackRow[];
  reminders: ReminderRow[];
}

/** The figures of one exception type. */
export interface ExceptionTypeFigures {
  opened: number;
  /** opened ÷ orders received that day */
  rate: number | null;
  resolved: number;
  /** mean seconds from opening to resolution, over the exceptions resolved that day */
  meanSecondsToResolve: number | null;
}

/** A day's KPIs, for all channels together or for one. Every ratio is `null` when its denominator is 0. */
export interface DayFigures {
  /** orders received by the hub that day (rejected ones included) */
  orders: number;
  /** sum of the grand totals of the orders received that day, rejected orders excluded, per currency, minor units */
  gmv: Record<string, number>;
  /** seconds from receipt, over the orders that were first released / first shipped that day (nearest-rank percentiles) */
  processingSeconds: { toRelease: Percentiles; toShipment: Percentiles };
  exceptions: ExceptionTypeFigures & { byType: Record<string, ExceptionTypeFigures> };
  /** shipments whose first parcel left that day; on time when it left on or before the promised ship date */
  onTimeShipment: { shipments: number; onTime: number; rate: number | null };
  /** parcels delivered that day; on time when delivered on or before their shipment's promised delivery date */
  onTimeDelivery: { parcels: number; onTime: number; rate: number | null };
  /** orders cancelled that day ÷ orders received that day */
  cancellations: { cancelled: number; rate: number | null };
  /** orders with a return requested that day ÷ orders delivered that day */
  returns: { requested: number; delivered: number; rate: number | null };
  /** ratings received that day; response rate = ratings that day ÷ review reminders requested that day */
  satisfaction: { responses: number; averageRating: number | null; remindersRequested: number; responseRate: number | null };
}

/** A day's report: the figures of every channel, and of all of them together under `total`. */
export interface DailyReport {
  /** the calendar day, `YYYY-MM-DD`, in `timeZone` */
  date: string;
  timeZone: string;
  /** when it was computed, ISO 8601 */
  generatedAt: string;
  total: DayFigures;
  channels: Record<string, DayFigures>;
}

const seconds = (fromMs: number, toMs: number) => (toMs - fromMs) / 1000;
const distinct = <T>(values: readonly T[]) => new Set(values).size;

function sortedKeys<V>(record: Record<string, V>): Record<string, V> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

function exceptionFigures(opened: number, orders: number, resolved: readonly ExceptionResolvedRow[]): ExceptionTypeFigures {
  return {
    opened,
    rate: rate(opened, orders),
    resolved: resolved.length,
    meanSecondsToResolve: mean(resolved.map((r) => seconds(r.openedAt, r.resolvedAt))),
  };
}

/**
 * The figures of one scope: the rows given are already those of the day and of the scope
 * (one channel, or everything).
 *
 * Definitions, all on calendar days of the report time zone:
 * - exception rate: exceptions opened that day ÷ orders received that day (an order may
 *   have several exceptions, so this rate can exceed 1);
 * - cancellation rate: orders first cancelled that day ÷ orders received that day;
 * - return rate: distinct orders with at least one return (RMA) requested that day ÷ orders
 *   first delivered that day;
 * - response rate: ratings received that day ÷ review reminders requested that day.
 * These three compare that day's flows, not one cohort of orders, so they too can exceed 1
 * on a quiet day; the on-time rates are shares of one set and always lie in [0, 1].
 */
export function dayFigures(rows: ReportRows): DayFigures {
  const orders = rows.received.length;
  const toRelease = rows.milestones.filter((m) => m.milestone === 'released').map((m) => seconds(m.receivedAt, m.at));
  const toShipment = rows.milestones.filter((m) => m.milestone === 'shipped').map((m) => seconds(m.receivedAt, m.at));
  const cancelled = distinct(rows.milestones.filter((m) => m.milestone === 'cancelled').map((m) => m.orderId));
  const delivered = distinct(rows.milestones.filter((m) => m.milestone === 'delivered').map((m) => m.orderId));

  const types = new Set([...rows.exceptionsOpened.map((e) => e.type), ...rows.exceptionsResolved.map((e) => e.type)]);
  const byType: Record<string, ExceptionTypeFigures> = {};
  for (const type of [...types].sort()) {
    byType[type] = exceptionFigures(
      rows.exceptionsOpened.filter((e) => e.type === type).length, orders, rows.exceptionsResolved.filter((e) => e.type === type));
  }

  const shipmentsOnTime = rows.shipmentsShipped.filter((s) => s.day <= s.promisedShipDate).length;
  const parcelsOnTime = rows.parcelsDelivered.filter((p) => p.day <= p.promisedDeliveryDate).length;
  const returned = distinct(rows.returnsRequested.map((r) => r.orderId));
  const ratings = rows.feedback.map((f) => f.rating);

  return {
    orders,
    gmv: sortedKeys(sumByCurrency(rows.received.filter((o) => !o.rejected).map((o) => ({ currency: o.currency, amount: o.grandTotal })))),
    processingSeconds: { toRelease: percentiles(toRelease), toShipment: percentiles(toShipment) },
    exceptions: { ...exceptionFigures(rows.exceptionsOpened.length, orders, rows.exceptionsResolved), byType },
    onTimeShipment: { shipments: rows.shipmentsShipped.length, onTime: shipmentsOnTime, rate: rate(shipmentsOnTime, rows.shipmentsShipped.length) },
    onTimeDelivery: { parcels: rows.parcelsDelivered.length, onTime: parcelsOnTime, rate: rate(parcelsOnTime, rows.parcelsDelivered.length) },
    cancellations: { cancelled, rate: rate(cancelled, orders) },
    returns: { requested: returned, delivered, rate: rate(returned, delivered) },
    satisfaction: { responses: ratings.length, averageRating: mean(ratings), remindersRequested: rows.reminders.length, responseRate: rate(ratings.length, rows.reminders.length) },
  };
}

/** The rows that satisfy `keep`, table by table. */
function filterRows(rows: ReportRows, keep: (row: { day: string; channel: string | null }) => boolean): ReportRows {
  return {
    received: rows.received.filter(keep),
    milestones: rows.milestones.filter(keep),
    exceptionsOpened: rows.exceptionsOpened.filter(keep),
    exceptionsResolved: rows.exceptionsResolved.filter(keep),
    shipmentsShipped: rows.shipmentsShipped.filter(keep),
    parcelsDelivered: rows.parcelsDelivered.filter(keep),
    returnsRequested: rows.returnsRequested.filter(keep),
    feedback: rows.feedback.filter(keep),
    reminders: rows.reminders.filter(keep),
  };
}

/** Every channel any row names (exceptions without an order name none). */
function channelsIn(rows: ReportRows): string[] {
  const all = [
    rows.received, rows.milestones, rows.exceptionsOpened, rows.exceptionsResolved, rows.shipmentsShipped,
    rows.parcelsDelivered, rows.returnsRequested, rows.feedback, rows.reminders,
  ].flatMap((table: readonly { channel: string | null }[]) => table.map((r) => r.channel));
  return all.filter((c): c is string => c !== null);
}

/**
 * The report of `date` from rows that may cover other days too (a range is read at once).
 * `channels` are listed even on a day they had nothing (the configured ones); a channel
 * found in the rows but no longer configured is listed as well, so the channels always add
 * up to the total. Exceptions about no order count in the total only.
 */
export function dailyReport(rows: ReportRows, options: { date: string; timeZone: string; generatedAt: Date; channels: readonly string[] }): DailyReport {
  const ofDay = filterRows(rows, (r) => r.day === options.date);
  const codes = [...new Set([...options.channels, ...channelsIn(ofDay)])].sort();
  const channels: Record<string, DayFigures> = {};
  for (const code of codes) channels[code] = dayFigures(filterRows(ofDay, (r) => r.channel === code));
  return { date: options.date, timeZone: options.timeZone, generatedAt: options.generatedAt.toISOString(), total: dayFigures(ofDay), channels };
}
