/**
 * Daily reports as CSV (RFC 4180: CRLF line ends, a header row, fields quoted when they hold a
 * comma, a quote or a line break, quotes doubled). Pure.
 *
 * One row per day and channel, plus a row with channel `all` for the day's total, first.
 * Every figure is a flat column; an empty cell is a `null` figure (a ratio whose denominator
 * is 0, a percentile of nothing). Columns that depend on the data come after the fixed ones:
 * GMV one column per currency (`gmv_USD`, minor units; 0 where the scope had no order in it),
 * then four columns per exception type (`exceptions_opened:<type>`, `exception_rate:<type>`,
 * `exceptions_resolved:<type>`, `mean_seconds_to_resolve:<type>`), for every currency and type
 * found in any of the reports, so several days share one header.
 */
import { rate } from './kpis.ts';
import type { DailyReport, DayFigures, ExceptionTypeFigures } from './figures.ts';

type Cell = string | number | null;

/** The columns after `date, channel, orders, gmv_<currency>…`. */
const fixedColumns: [string, (f: DayFigures) => Cell][] = [
  ['release_count', (f) => f.processingSeconds.toRelease.count],
  ['release_p50_seconds', (f) => f.processingSeconds.toRelease.p50],
  ['release_p90_seconds', (f) => f.processingSeconds.toRelease.p90],
  ['release_p99_seconds', (f) => f.processingSeconds.toRelease.p99],
  ['shipment_count', (f) => f.processingSeconds.toShipment.count],
  ['shipment_p50_seconds', (f) => f.processingSeconds.toShipment.p50],
  ['shipment_p90_seconds', (f) => f.processingSeconds.toShipment.p90],
  ['shipment_p99_seconds', (f) => f.processingSeconds.toShipment.p99],
  ['exceptions_opened', (f) => f.exceptions.opened],
  ['exception_rate', (f) => f.exceptions.rate],
  ['exceptions_resolved', (f) => f.exceptions.resolved],
  ['mean_seconds_to_resolve', (f) => f.exceptions.meanSecondsToResolve],
  ['shipments_shipped', (f) => f.onTimeShipment.shipments],
  ['shipments_on_time', (f) => f.onTimeShipment.onTime],
  ['on_time_shipment_rate', (f) => f.onTimeShipment.rate],
  ['parcels_delivered', (f) => f.onTimeDelivery.parcels],
  ['parcels_on_time', (f) => f.onTimeDelivery.onTime],
  ['on_time_delivery_rate', (f) => f.onTimeDelivery.rate],
  ['orders_cancelled', (f) => f.cancellations.cancelled],
  ['cancellation_rate', (f) => f.cancellations.rate],
  ['orders_delivered', (f) => f.returns.delivered],
  ['returns_requested', (f) => f.returns.requested],
  ['return_rate', (f) => f.returns.rate],
  ['ratings', (f) => f.satisfaction.responses],
  ['average_rating', (f) => f.satisfaction.averageRating],
  ['review_reminders', (f) => f.satisfaction.remindersRequested],
  ['response_rate', (f) => f.satisfaction.responseRate],
];

/** One field, quoted when RFC 4180 requires it. */
export function csvField(value: Cell): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** A type the scope had nothing of: nothing opened (a rate of 0 when there were orders), nothing resolved. */
function typeFigures(figures: DayFigures, type: string): ExceptionTypeFigures {
  return figures.exceptions.byType[type] ?? { opened: 0, rate: rate(0, figures.orders), resolved: 0, meanSecondsToResolve: null };
}

/** The reports as one CSV document: header, then per report the `all` row and one row per channel. */
export function reportsCsv(reports: readonly DailyReport[]): string {
  const scopes = (r: DailyReport): [string, DayFigures][] => [['all', r.total], ...Object.entries(r.channels)];
  const currencies = [...new Set(reports.flatMap((r) => scopes(r).flatMap(([, f]) => Object.keys(f.gmv))))].sort();
  const types = [...new Set(reports.flatMap((r) => scopes(r).flatMap(([, f]) => Object.keys(f.exceptions.byType))))].sort();
  const header = [
    'date', 'channel', 'orders', ...currencies.map((c) => `gmv_${c}`), ...fixedColumns.map(([name]) => name),
    ...types.flatMap((t) => [`exceptions_opened:${t}`, `exception_rate:${t}`, `exceptions_resolved:${t}`, `mean_seconds_to_resolve:${t}`]),
  ];
  const lines = [header.map(csvField).join(',')];
  for (const report of reports) {
    for (const [channel, f] of scopes(report)) {
      const cells: Cell[] = [
        report.date, channel, f.orders, ...currencies.map((c) => f.gmv[c] ?? 0),
        ...fixedColumns.map(([, read]) => read(f)),
        ...types.flatMap((t) => {
          const byType = typeFigures(f, t);
          return [byType.opened, byType.rate, byType.resolved, byType.meanSecondsToResolve];
        }),
      ];
      lines.push(cells.map(csvField).join(','));
    }
  }
  return `${lines.join('\r\n')}\r\n`;
}
