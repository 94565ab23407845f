import type { DayFigures } from '../../core/reports/figures.ts';

const noDurations = { count: 0, p50: null, p90: null, p99: null };

/** The figures of a day (or a channel) without activity: every count 0, every ratio and percentile null. */
export const quietDay: DayFigures = {
  orders: 0, gmv: {},
  processingSeconds: { toRelease: noDurations, toShipment: noDurations },
  exceptions: { opened: 0, rate: null, resolved: 0, meanSecondsToResolve: null, byType: {} },
  onTimeShipment: { shipments: 0, onTime: 0, rate: null },
  onTimeDelivery: { parcels: 0, onTime: 0, rate: null },
  cancellations: { cancelled: 0, rate: null },
  returns: { requested: 0, delivered: 0, rate: null },
  satisfaction: { responses: 0, averageRating: null, remindersRequested: 0, responseRate: null },
};
