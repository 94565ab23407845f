import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { measureBrokerLimit } from '../bench/broker-limit.ts';
import { benchConfig } from '../bench/config.ts';
import { throughputChart } from '../bench/chart.ts';
import { checkExactlyOnce } from '../bench/exactly-once.ts';
import { sampleProcess } from '../bench/process-stats.ts';
import { percentile } from '../bench/stats.ts';
import { parseConfig } from '../core/config/business.ts';
import { testNamespace } from './support/env.ts';

// The benchmark's pieces work; the figures themselves are the benchmark's business, not a test's.
describe('benchmark', () => {
  it('catches a missing, a duplicated and an unexpected order', () => {
    const at = 1;
    expect(checkExactlyOnce(['a', 'b'], [{ externalId: 'a', at }, { externalId: 'b', at }]).ok).toBe(true);
    const report = checkExactlyOnce(['a', 'b', 'c'], [{ externalId: 'a', at }, { externalId: 'a', at }, { externalId: 'b', at }, { externalId: 'x', at }]);
    expect(report.ok).toBe(false);
    expect(report.missing).toEqual(['c']);
    expect(report.duplicates).toEqual([{ externalId: 'a', times: 2 }]);
    expect(report.unexpected).toEqual(['x']);
  });

  it('takes percentiles by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 0.5)).toBe(50);
    expect(percentile(values, 0.99)).toBe(99);
    expect(percentile([], 0.5)).toBeNaN();
  });

  it('derives a valid business config with one Shopify channel and ample stock', () => {
    const config = benchConfig();
    expect(() => parseConfig(JSON.parse(JSON.stringify(config)))).not.toThrow();
    expect(config.channels.map((c) => c.code)).toEqual(['shopify']);
    expect(config.stock.every((s) => s.onHand >= 1_000_000)).toBe(true);
  });

  it('reads its own RSS and CPU time from /proc and draws a chart', () => {
    const sample = sampleProcess(process.pid);
    expect(sample?.rssMb).toBeGreaterThan(10);
    const svg = throughputChart([{ offered: 25, achieved: 24, p99Ms: 90 }, { offered: 50, achieved: 40, p99Ms: Number.NaN }], { title: 'a & b', limitPerS: 300 });
    expect(svg).toMatch(/^<svg[\s\S]*<\/svg>$/);
    expect(svg).toContain('a &amp; b');
  });

  it('measures the broker through quorum-queue hops and cleans up', async () => {
    const result = await measureBrokerLimit({ amqpUrl: process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', namespace: testNamespace('bench'), hops: 3, messages: 50, prefetch: 10 });
    expect(result.messages).toBe(50);
    expect(result.journeysPerSecond).toBeGreaterThan(0);
  });

  it('runs end to end in --quick mode and reports every order exactly once', async () => {
    const run = fileURLToPath(new URL('../bench/run.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', run, '--quick'], { timeout: 120_000 });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, number>;
    for (const key of ['limit_per_s', 'hub_per_s', 'ratio', 'p50_ms', 'p99_ms', 'rss_mb', 'pg_tx_per_order', 'msgs_per_order']) {
      expect(summary[key], key).toBeGreaterThan(0);
    }
  }, 150_000);

  it('measures the design\'s floor in --quick mode: five hops through the outbox and inbox, each message once', async () => {
    const floor = fileURLToPath(new URL('../bench/floor.ts', import.meta.url));
    // a failed exactly-once check exits 1, which rejects here
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', floor, '--quick'], { timeout: 60_000 });
    const summary = JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    for (const key of ['limit_per_s', 'floor_per_s', 'floor_ratio', 'floor_unbatched_per_s', 'pg_tx_per_journey']) {
      expect(summary[key], key).toBeGreaterThan(0);
    }
    expect(summary.exactly_once).toBe(true);
  }, 90_000);
});
