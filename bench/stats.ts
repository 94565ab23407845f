import { percentile as kpiPercentile } from '../core/reports/kpis.ts';

/** The q-quantile (0..1) of `values` by nearest rank, as the KPI reports take it; NaN when there are none. */
export const percentile = (values: readonly number[], q: number): number => kpiPercentile(values, q * 100) ?? Number.NaN;

export const round = (value: number, digits = 1): number => Number.isFinite(value) ? Number(value.toFixed(digits)) : value;
