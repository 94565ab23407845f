/**
 * The daily KPI reports: read a range of days' rows from Postgres, build each day's report
 * (`figures.ts`), serve stored ones, and the job that stores yesterday's. The clock comes from
 * `ctx.now()`.
 */
import type { HubConfig } from '../../schemas/config.ts';
import type { Db, Queryable } from '../db/pool.ts';
import {
  exceptionsOpened, exceptionsResolved, feedbackReceived, orderMilestones, parcelsDelivered, receivedOrders, returnsRequested,
  reviewRemindersRequested, shipmentsFirstShipped, storeDailyReport, storedReportDays, storedReports, type DayRange,
} from '../db/sql/reports.ts';
import type { StageContext } from '../stages/context.ts';
import { addDays, daysFrom, DEFAULT_REPORT_TIME_ZONE, localDate } from './calendar.ts';
import { dailyReport, type DailyReport, type ReportRows } from './figures.ts';

/** How many past days the daily job makes sure are stored (the hub may have been down). */
export const CATCH_UP_DAYS = 7;

/** The time zone whose calendar days the reports count (`reports.timeZone`, UTC by default). */
export function reportTimeZone(config: HubConfig): string {
  return config.reports?.timeZone ?? DEFAULT_REPORT_TIME_ZONE;
}

/** The day it is now in the report time zone. */
export function reportToday(ctx: Pick<StageContext, 'config' | 'now'>): string {
  return localDate(ctx.now(), reportTimeZone(ctx.config));
}

/** Every row the reports of `range` are computed from, one query per kind of row. */
async function readRows(db: Queryable, range: DayRange): Promise<ReportRows> {
  const [received, milestones, opened, resolved, shipped, delivered, returns, feedback, reminders] = await Promise.all([
    receivedOrders(db, range), orderMilestones(db, range), exceptionsOpened(db, range), exceptionsResolved(db, range),
    shipmentsFirstShipped(db, range), parcelsDelivered(db, range), returnsRequested(db, range), feedbackReceived(db, range),
    reviewRemindersRequested(db, range),
  ]);
  return {
    received, milestones, exceptionsOpened: opened, exceptionsResolved: resolved, shipmentsShipped: shipped,
    parcelsDelivered: delivered, returnsRequested: returns, feedback, reminders,
  };
}

/** The reports of the days `from`..`to`, computed now from the database. */
export async function computeReports(db: Queryable, ctx: Pick<StageContext, 'config' | 'now'>, from: string, to: string): Promise<DailyReport[]> {
  const timeZone = reportTimeZone(ctx.config);
  const rows = await readRows(db, { from, to, timeZone });
  const generatedAt = ctx.now();
  const channels = ctx.config.channels.map((c) => c.code);
  return daysFrom(from, to).map((date) => dailyReport(rows, { date, timeZone, generatedAt, channels }));
}

/**
 * The reports of the days `from`..`to`: a stored report as it was stored, unless `fresh`;
 * the days without one (today, or days the job has not reached) computed now, not stored.
 */
export async function reportsFor(db: Queryable, ctx: Pick<StageContext, 'config' | 'now'>, options: { from: string; to: string; fresh: boolean }): Promise<DailyReport[]> {
  const stored = options.fresh ? new Map<string, DailyReport>() : await storedReports(db, options.from, options.to);
  const missing = daysFrom(options.from, options.to).filter((day) => !stored.has(day));
  const computed = missing.length === 0 ? [] : await computeReports(db, ctx, missing[0]!, missing[missing.length - 1]!);
  const byDay = new Map([...computed.map((r): [string, DailyReport] => [r.date, r]), ...stored]);
  return daysFrom(options.from, options.to).map((day) => byDay.get(day)!);
}

/**
 * Job: stores yesterday's report (in the report time zone; a report stored before is
 * replaced, so data that came late is counted), and any of the last `CATCH_UP_DAYS` days that
 * has none, because the hub was down when their turn came.
 */
export async function storeDailyReports(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const today = reportToday(ctx);
  const yesterday = addDays(today, -1);
  const earliest = addDays(today, -CATCH_UP_DAYS);
  const stored = await storedReportDays(db, earliest, yesterday);
  const missing = daysFrom(earliest, addDays(yesterday, -1)).filter((day) => !stored.has(day));
  const first = missing[0] ?? yesterday;
  const wanted = new Set([...missing, yesterday]);
  const reports = (await computeReports(db, ctx, first, yesterday)).filter((r) => wanted.has(r.date));
  for (const report of reports) await storeDailyReport(db, report);
  return { stored: reports.length, caughtUp: missing.length };
}
