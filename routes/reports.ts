import { Hono, type Context } from 'hono';
import { badRequest } from '../core/errors.ts';
import type { Queryable } from '../core/db/pool.ts';
import { daysBetween, isIsoDate } from '../core/reports/calendar.ts';
import { reportsCsv } from '../core/reports/csv.ts';
import { reportTimeZone, reportsFor, reportToday } from '../core/reports/daily.ts';
import type { DailyReport } from '../core/reports/figures.ts';
import type { StageContext } from '../core/stages/context.ts';

/** The longest range `GET /reports/range` answers, in days (a leap year). */
export const MAX_RANGE_DAYS = 366;

/** A query parameter that must be one of `allowed` (the first is the default). */
function choice<T extends string>(c: Context, name: string, allowed: readonly [T, ...T[]]): T {
  const value = c.req.query(name);
  if (value === undefined || value === '') return allowed[0];
  if (!(allowed as readonly string[]).includes(value)) throw badRequest('invalid_query', `${name} must be one of ${allowed.join(', ')}`);
  return value as T;
}

/** A required `YYYY-MM-DD` day that is not after today (in the report time zone). */
function dayParam(c: Context, name: string, today: string): string {
  const value = c.req.query(name);
  if (value === undefined || value === '') throw badRequest('invalid_query', `${name} is required (YYYY-MM-DD)`);
  if (!isIsoDate(value)) throw badRequest('invalid_query', `${name} must be a calendar date written YYYY-MM-DD`);
  if (value > today) throw badRequest('date_in_future', `${name} ${value} is after today (${today}); there is nothing to report yet`, { today });
  return value;
}

function csvResponse(reports: readonly DailyReport[], fileName: string): Response {
  return new Response(reportsCsv(reports), {
    status: 200,
    headers: { 'content-type': 'text/csv; charset=utf-8; header=present', 'content-disposition': `inline; filename="${fileName}"` },
  });
}

/**
 * The KPI reports (behind bearer auth): `GET /reports/daily?date=` one day, `GET
 * /reports/range?from=&to=` one entry per day for trends; `format=csv` for CSV; a stored
 * report is served as the daily job stored it unless `fresh=true`. Days are calendar days in
 * `reports.timeZone`; today's report covers the day so far.
 */
export function reportRoutes(deps: { db: Queryable; ctx: Pick<StageContext, 'config' | 'now'> }): Hono {
  const app = new Hono();
  const { db, ctx } = deps;

  app.get('/reports/daily', async (c) => {
    const date = dayParam(c, 'date', reportToday(ctx));
    const format = choice(c, 'format', ['json', 'csv']);
    const fresh = choice(c, 'fresh', ['false', 'true']) === 'true';
    const [report] = await reportsFor(db, ctx, { from: date, to: date, fresh });
    if (format === 'csv') return csvResponse([report!], `report-${date}.csv`);
    return c.json(report);
  });

  app.get('/reports/range', async (c) => {
    const today = reportToday(ctx);
    const from = dayParam(c, 'from', today);
    const to = dayParam(c, 'to', today);
    if (to < from) throw badRequest('invalid_range', `to (${to}) is before from (${from})`);
    const days = daysBetween(from, to) + 1;
    if (days > MAX_RANGE_DAYS) throw badRequest('invalid_range', `a range is at most ${MAX_RANGE_DAYS} days; ${from}..${to} is ${days}`);
    const format = choice(c, 'format', ['json', 'csv']);
    const fresh = choice(c, 'fresh', ['false', 'true']) === 'true';
    const items = await reportsFor(db, ctx, { from, to, fresh });
    if (format === 'csv') return csvResponse(items, `reports-${from}-${to}.csv`);
    return c.json({ from, to, timeZone: reportTimeZone(ctx.config), items });
  });

  return app;
}
