// The KPI maths of the daily reports, without I/O: nearest-rank percentiles, means, rates,
// money per currency, a day's figures from rows (per channel adding up to the total), the
// calendar of the report time zone, and the CSV form.
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { addDays, daysBetween, daysFrom, isIsoDate, isTimeZone, localDate } from '../core/reports/calendar.ts';
import { csvField, reportsCsv } from '../core/reports/csv.ts';
import { dailyReport, dayFigures, type DayFigures, type ReportRows } from '../core/reports/figures.ts';
import { mean, percentile, percentiles, rate, sumByCurrency } from '../core/reports/kpis.ts';
import { csvRecords, parseCsv } from './support/csv.ts';
import { quietDay } from './support/reports.ts';

const durations = fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 200 });

describe('percentile (nearest rank)', () => {
  it('matches the textbook example: 15, 20, 35, 40, 50', () => {
    const values = [50, 15, 40, 20, 35];
    expect([5, 30, 40, 50, 100].map((p) => percentile(values, p))).toEqual([15, 20, 20, 35, 50]);
  });

  it('takes the value at rank ⌈p·n/100⌉ exactly, without floating-point drift (p90 of 10 values is the 9th)', () => {
    const values = Array.from({ length: 10 }, (_, i) => i + 1);
    expect(percentile(values, 90)).toBe(9);
    expect(percentile(values, 99)).toBe(10);
    expect(percentile(values, 50)).toBe(5);
  });

  it('of nothing is null, with a count of 0', () => {
    expect(percentile([], 50)).toBeNull();
    expect(percentiles([])).toEqual({ count: 0, p50: null, p90: null, p99: null });
  });

  it('refuses a p outside (0, 100]', () => {
    expect(() => percentile([1], 0)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
  });

  it('p50 ≤ p90 ≤ p99, all within min..max and all among the values', () => {
    fc.assert(fc.property(durations, (values) => {
      const { count, p50, p90, p99 } = percentiles(values);
      expect(count).toBe(values.length);
      expect(p50!).toBeLessThanOrEqual(p90!);
      expect(p90!).toBeLessThanOrEqual(p99!);
      for (const p of [p50!, p90!, p99!]) {
        expect(p).toBeGreaterThanOrEqual(Math.min(...values));
        expect(p).toBeLessThanOrEqual(Math.max(...values));
        expect(values).toContain(p);
      }
    }));
  });

  it('is the smallest value with at least p % of the values at or below it', () => {
    fc.assert(fc.property(durations, fc.integer({ min: 1, max: 100 }), (values, p) => {
      const result = percentile(values, p)!;
      const atOrBelow = values.filter((v) => v <= result).length;
      const below = values.filter((v) => v < result).length;
      expect(atOrBelow * 100).toBeGreaterThanOrEqual(p * values.length);
      expect(below * 100).toBeLessThan(p * values.length);
    }));
  });

  it('of one value is that value', () => {
    fc.assert(fc.property(fc.double({ noNaN: true, noDefaultInfinity: true }), (v) => {
      expect(percentiles([v])).toEqual({ count: 1, p50: v, p90: v, p99: v });
    }));
  });
});

describe('mean, rate, money per currency', () => {
  it('a mean lies within min..max; of nothing it is null', () => {
    expect(mean([])).toBeNull();
    fc.assert(fc.property(durations, (values) => {
      const m = mean(values)!;
      expect(m).toBeGreaterThanOrEqual(Math.min(...values));
      expect(m).toBeLessThanOrEqual(Math.max(...values));
    }));
  });

  it('a rate is null (not 0, not NaN) when the denominator is 0, and a share of a set lies in [0, 1]', () => {
    expect(rate(0, 0)).toBeNull();
    expect(rate(3, 0)).toBeNull();
    fc.assert(fc.property(fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), (denominator, share) => {
      const numerator = Math.floor(denominator * share);
      const r = rate(numerator, denominator)!;
      expect(r).toBeGreaterThanOrEqual(0);
      expect(r).toBeLessThanOrEqual(1);
      expect(r).toBe(numerator / denominator);
    }));
  });

  it('sums minor units per currency, exactly, and never across currencies', () => {
    const amount = fc.record({ currency: fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'), amount: fc.integer({ min: 0, max: 10_000_000_000 }) });
    fc.assert(fc.property(fc.array(amount, { maxLength: 100 }), fc.array(amount, { maxLength: 100 }), (a, b) => {
      const whole = sumByCurrency([...a, ...b]);
      const left = sumByCurrency(a);
      const right = sumByCurrency(b);
      for (const currency of new Set([...a, ...b].map((x) => x.currency))) {
        expect(whole[currency]).toBe((left[currency] ?? 0) + (right[currency] ?? 0));
        expect(Number.isSafeInteger(whole[currency])).toBe(true);
      }
      expect(Object.keys(whole).sort()).toEqual([...new Set([...a, ...b].map((x) => x.currency))].sort());
    }));
  });
});

// Random days of rows: a few channels, exceptions with and without an order, two days mixed.
const day = fc.constantFrom('2024-02-28', '2024-02-29');
const channel = fc.constantFrom('website', 'shopify', 'app');
const ms = fc.integer({ min: 1_700_000_000_000, max: 1_710_000_000_000 });
const isoDay = fc.constantFrom('2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01');
// An order belongs to one channel: rows about an order carry that order's channel.
const channelOf: Record<string, string> = { o1: 'website', o2: 'website', o3: 'shopify', o4: 'shopify', o5: 'app', o6: 'app' };
const orderId = fc.constantFrom('o1', 'o2', 'o3', 'o4', 'o5', 'o6');
const ofOrder = <T extends { orderId: string }>(row: fc.Arbitrary<T>) => row.map((r) => ({ ...r, channel: channelOf[r.orderId]! }));
const rowsArbitrary: fc.Arbitrary<ReportRows> = fc.record({
  received: fc.array(ofOrder(fc.record({ day, orderId, currency: fc.constantFrom('USD', 'JPY'), grandTotal: fc.integer({ min: 0, max: 1_000_000_000 }), rejected: fc.boolean() })), { maxLength: 30 }),
  milestones: fc.array(ofOrder(fc.record({ day, orderId, milestone: fc.constantFrom('released' as const, 'shipped' as const, 'delivered' as const, 'cancelled' as const), receivedAt: ms, at: ms })), { maxLength: 30 }),
  exceptionsOpened: fc.array(fc.record({ day, type: fc.constantFrom('stock_shortage', 'payment_failed', 'invalid_payload'), channel: fc.option(channel, { nil: null }) }), { maxLength: 20 }),
  exceptionsResolved: fc.array(fc.record({ day, type: fc.constantFrom('stock_shortage', 'payment_failed'), channel: fc.option(channel, { nil: null }), openedAt: ms, resolvedAt: ms }), { maxLength: 20 }),
  shipmentsShipped: fc.array(fc.record({ day, channel, promisedShipDate: isoDay }), { maxLength: 20 }),
  parcelsDelivered: fc.array(fc.record({ day, channel, promisedDeliveryDate: isoDay }), { maxLength: 20 }),
  returnsRequested: fc.array(ofOrder(fc.record({ day, orderId })), { maxLength: 10 }),
  feedback: fc.array(fc.record({ day, channel, rating: fc.integer({ min: 1, max: 5 }) }), { maxLength: 10 }),
  reminders: fc.array(ofOrder(fc.record({ day, orderId })), { maxLength: 10 }),
});

/** Every number in a value, with its path. */
function numbersIn(value: unknown, path = ''): [string, number][] {
  if (typeof value === 'number') return [[path, value]];
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => numbersIn(v, `${path}/${k}`));
  return [];
}

const additive = (f: DayFigures) => ({
  orders: f.orders,
  toRelease: f.processingSeconds.toRelease.count,
  toShipment: f.processingSeconds.toShipment.count,
  shipments: f.onTimeShipment.shipments, shipmentsOnTime: f.onTimeShipment.onTime,
  parcels: f.onTimeDelivery.parcels, parcelsOnTime: f.onTimeDelivery.onTime,
  cancelled: f.cancellations.cancelled, delivered: f.returns.delivered, returned: f.returns.requested,
  responses: f.satisfaction.responses, reminders: f.satisfaction.remindersRequested,
});

describe('a day report from rows', () => {
  const options = { date: '2024-02-29', timeZone: 'UTC', generatedAt: new Date('2024-03-01T00:15:00Z'), channels: ['website', 'shopify', 'app', 'amazon'] };

  it('per-channel figures add up to the total; exceptions without an order are in the total only', () => {
    fc.assert(fc.property(rowsArbitrary, (rows) => {
      const report = dailyReport(rows, options);
      const channels = Object.values(report.channels);
      const summed = channels.map(additive).reduce((a, b) => Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v + b[k as keyof typeof b]])) as typeof a);
      expect(summed).toEqual(additive(report.total));
      const orderless = rows.exceptionsOpened.filter((e) => e.day === options.date && e.channel === null).length;
      expect(channels.reduce((n, f) => n + f.exceptions.opened, 0) + orderless).toBe(report.total.exceptions.opened);
      for (const currency of Object.keys(report.total.gmv)) {
        expect(channels.reduce((n, f) => n + (f.gmv[currency] ?? 0), 0)).toBe(report.total.gmv[currency]);
      }
    }));
  });

  it('counts only the day asked for, and GMV leaves out rejected orders', () => {
    fc.assert(fc.property(rowsArbitrary, (rows) => {
      const { total } = dailyReport(rows, options);
      const ofDay = rows.received.filter((o) => o.day === options.date);
      expect(total.orders).toBe(ofDay.length);
      const expected: Record<string, number> = {};
      for (const o of ofDay.filter((x) => !x.rejected)) expected[o.currency] = (expected[o.currency] ?? 0) + o.grandTotal;
      expect(total.gmv).toEqual(expected);
    }));
  });

  it('never yields NaN or infinity; on-time rates lie in [0, 1]; every ratio is null exactly when its denominator is 0', () => {
    fc.assert(fc.property(rowsArbitrary, (rows) => {
      const report = dailyReport(rows, options);
      for (const [path, n] of numbersIn(report)) expect(Number.isFinite(n), path).toBe(true);
      for (const f of [report.total, ...Object.values(report.channels)]) {
        for (const r of [f.onTimeShipment.rate, f.onTimeDelivery.rate]) if (r !== null) expect(r >= 0 && r <= 1).toBe(true);
        expect(f.onTimeShipment.rate === null).toBe(f.onTimeShipment.shipments === 0);
        expect(f.onTimeDelivery.rate === null).toBe(f.onTimeDelivery.parcels === 0);
        expect(f.exceptions.rate === null).toBe(f.orders === 0);
        expect(f.cancellations.rate === null).toBe(f.orders === 0);
        expect(f.returns.rate === null).toBe(f.returns.delivered === 0);
        expect(f.satisfaction.responseRate === null).toBe(f.satisfaction.remindersRequested === 0);
        expect(f.satisfaction.averageRating === null).toBe(f.satisfaction.responses === 0);
        if (f.satisfaction.averageRating !== null) expect(f.satisfaction.averageRating >= 1 && f.satisfaction.averageRating <= 5).toBe(true);
      }
    }));
  });

  it('lists configured channels without activity with zeros and null ratios', () => {
    const report = dailyReport({ received: [], milestones: [], exceptionsOpened: [], exceptionsResolved: [], shipmentsShipped: [], parcelsDelivered: [], returnsRequested: [], feedback: [], reminders: [] }, options);
    expect(Object.keys(report.channels)).toEqual(['amazon', 'app', 'shopify', 'website']);
    expect(report.channels.amazon).toEqual(report.total);
    expect(report.total).toEqual(quietDay);
  });

  it('on time means on or before the promised day; a return rate counts orders, not RMAs', () => {
    const f = dayFigures({
      received: [], milestones: [
        { day: '2024-02-29', orderId: 'a', channel: 'web', milestone: 'delivered', receivedAt: 0, at: 1 },
        { day: '2024-02-29', orderId: 'b', channel: 'web', milestone: 'delivered', receivedAt: 0, at: 1 },
      ],
      exceptionsOpened: [], exceptionsResolved: [],
      shipmentsShipped: ['2024-02-28', '2024-02-29', '2024-03-01'].map((promisedShipDate) => ({ day: '2024-02-29', channel: 'web', promisedShipDate })),
      parcelsDelivered: ['2024-02-28', '2024-03-01'].map((promisedDeliveryDate) => ({ day: '2024-02-29', channel: 'web', promisedDeliveryDate })),
      returnsRequested: [{ day: '2024-02-29', orderId: 'a', channel: 'web' }, { day: '2024-02-29', orderId: 'a', channel: 'web' }],
      feedback: [], reminders: [],
    });
    expect(f.onTimeShipment).toEqual({ shipments: 3, onTime: 2, rate: 2 / 3 });
    expect(f.onTimeDelivery).toEqual({ parcels: 2, onTime: 1, rate: 0.5 });
    expect(f.returns).toEqual({ requested: 1, delivered: 2, rate: 0.5 });
  });
});

describe('the report calendar', () => {
  it('names the local day of an instant in the report time zone', () => {
    const instant = new Date('2025-03-10T03:30:00Z');
    expect(localDate(instant, 'UTC')).toBe('2025-03-10');
    expect(localDate(instant, 'America/New_York')).toBe('2025-03-09');
    expect(localDate(new Date('2025-03-09T15:30:00Z'), 'Asia/Tokyo')).toBe('2025-03-10');
    expect(localDate(new Date('2024-12-31T23:59:59.999Z'), 'UTC')).toBe('2024-12-31');
  });

  it('adds calendar days across months, leap days and years', () => {
    expect(addDays('2024-02-28', 1)).toBe('2024-02-29');
    expect(addDays('2023-02-28', 1)).toBe('2023-03-01');
    expect(addDays('2024-12-31', 1)).toBe('2025-01-01');
    expect(addDays('2025-03-10', -7)).toBe('2025-03-03');
    expect(daysFrom('2024-02-27', '2024-03-01')).toEqual(['2024-02-27', '2024-02-28', '2024-02-29', '2024-03-01']);
    expect(daysFrom('2024-03-01', '2024-02-27')).toEqual([]);
  });

  it('daysBetween undoes addDays; the local day of local noon is that day in any zone', () => {
    const anyDay = fc.date({ min: new Date('1971-01-01T00:00:00Z'), max: new Date('2199-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
    fc.assert(fc.property(anyDay, fc.integer({ min: -5000, max: 5000 }), (d, n) => {
      expect(daysBetween(d, addDays(d, n))).toBe(n);
      expect(isIsoDate(addDays(d, n))).toBe(true);
    }));
    fc.assert(fc.property(anyDay, fc.constantFrom('UTC', 'America/New_York', 'Asia/Tokyo', 'Pacific/Kiritimati', 'Pacific/Pago_Pago'), (d, zone) => {
      expect(localDate(new Date(`${d}T12:00:00Z`), 'UTC')).toBe(d);
      const local = localDate(new Date(`${d}T12:00:00Z`), zone);
      expect(Math.abs(daysBetween(d, local))).toBeLessThanOrEqual(1);
    }));
  });

  it('knows a calendar date from a malformed one, and an IANA zone from a made-up one', () => {
    for (const ok of ['2024-02-29', '2025-12-31', '2000-01-01', '0001-01-01']) expect(isIsoDate(ok), ok).toBe(true);
    for (const bad of ['0000-01-01', '2023-02-29', '2025-13-01', '2025-04-31', '2025-3-1', '20250301', '2025-03-01T00:00', ' 2025-03-01', '']) expect(isIsoDate(bad), bad).toBe(false);
    expect(isTimeZone('Europe/Berlin')).toBe(true);
    expect(isTimeZone('UTC')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });

  it('is configured by reports.timeZone, checked when the config is read', () => {
    const document = JSON.parse(readFileSync(defaultConfigPath, 'utf8')) as Record<string, unknown>;
    expect(parseConfig({ ...document, reports: { timeZone: 'Europe/Berlin' } }).reports?.timeZone).toBe('Europe/Berlin');
    expect(parseConfig(document).reports).toBeUndefined();
    expect(() => parseConfig({ ...document, reports: { timeZone: 'Mars/Olympus_Mons' } }, 'c')).toThrow('/reports/timeZone "Mars/Olympus_Mons" is not an IANA time zone');
    expect(() => parseConfig({ ...document, reports: { zone: 'UTC' } }, 'c')).toThrow('/reports must NOT have additional properties');
  });
});

describe('reports as CSV', () => {
  it('quotes a field only when RFC 4180 requires it, and the quoting reads back', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvField(null)).toBe('');
    expect(csvField(0.5)).toBe('0.5');
    fc.assert(fc.property(fc.array(fc.string({ unit: 'binary', minLength: 1 }), { minLength: 1, maxLength: 5 }), (fields) => {
      expect(parseCsv(`${fields.map(csvField).join(',')}\r\n`)).toEqual([fields]);
    }));
  });

  it('has a header, an "all" row and a row per channel per day; GMV a column per currency; nulls empty', () => {
    const rows: ReportRows = {
      received: [
        { day: '2024-02-29', orderId: 'a', channel: 'web', currency: 'USD', grandTotal: 1000, rejected: false },
        { day: '2024-02-29', orderId: 'b', channel: 'shop', currency: 'EUR', grandTotal: 500, rejected: false },
        { day: '2024-02-28', orderId: 'c', channel: 'shop', currency: 'JPY', grandTotal: 900, rejected: false },
      ],
      milestones: [], exceptionsResolved: [], shipmentsShipped: [], parcelsDelivered: [], returnsRequested: [], feedback: [], reminders: [],
      exceptionsOpened: [{ day: '2024-02-29', type: 'odd, "type"', channel: 'web' }],
    };
    const generatedAt = new Date('2024-03-01T00:00:00Z');
    const reports = ['2024-02-28', '2024-02-29'].map((date) => dailyReport(rows, { date, timeZone: 'UTC', generatedAt, channels: ['web', 'shop'] }));
    const text = reportsCsv(reports);
    expect(text.endsWith('\r\n')).toBe(true);
    const records = csvRecords(text);
    expect(records.map((r) => `${r.date} ${r.channel}`)).toEqual(['2024-02-28 all', '2024-02-28 shop', '2024-02-28 web', '2024-02-29 all', '2024-02-29 shop', '2024-02-29 web']);
    const header = parseCsv(text)[0]!;
    expect(header.slice(0, 6)).toEqual(['date', 'channel', 'orders', 'gmv_EUR', 'gmv_JPY', 'gmv_USD']);
    expect(header).toContain('exceptions_opened:odd, "type"');
    const web = records[5]!;
    expect(web).toMatchObject({ orders: '1', gmv_USD: '1000', gmv_EUR: '0', exceptions_opened: '1', exception_rate: '1', 'exceptions_opened:odd, "type"': '1', on_time_shipment_rate: '', release_p50_seconds: '' });
    expect(records[4]).toMatchObject({ orders: '1', gmv_EUR: '500', 'exceptions_opened:odd, "type"': '0', 'exception_rate:odd, "type"': '0' });
    expect(records[0]).toMatchObject({ orders: '1', gmv_JPY: '900', exception_rate: '0', cancellation_rate: '0', return_rate: '' });
  });
});
