import { percentile as kpiPercentile } from '../core/reports/kpis.ts';

/** The q-quantile (0..1) of `values` by nearest rank, as the KPI reports take it; NaN when there are none. */
export const percentile = (values: readonly number[], q: number): number => kpiPercentile(values, q * 100) ?? Number.NaN;

export const round = (value: number, digits = 1): number => Number.isFinite(value) ? Number(value.toFixed(digits)) : value;

/**
 * Runs a bench's `main` as the process: `cleanup` after it, after a failure, and on SIGINT or
 * SIGTERM (a namespace is never left behind), then exits with main's code — 2 when the
 * bench itself failed, 130 when interrupted.
 */
export function runBench(name: string, main: () => Promise<number>, cleanup: () => Promise<void>, log: (line: string) => void, onSignal?: () => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      log(`${name}: ${signal}, cleaning up`);
      onSignal?.();
      void cleanup().finally(() => process.exit(130));
    });
  }
  main().then(
    async (code) => {
      await cleanup();
      process.exit(code);
    },
    async (error: unknown) => {
      log(`${name} failed: ${(error as Error).stack ?? String(error)}`);
      await cleanup().catch(() => {});
      process.exit(2);
    },
  );
}
