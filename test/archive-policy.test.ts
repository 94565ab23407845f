import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  archivableStatuses, archiveCutoffs, archivedOrderProblem, archivePolicy, oldEnoughToArchive, DEFAULT_ARCHIVE_AFTER_DAYS,
} from '../core/pipeline/archive.ts';
import { finalStatuses, orderStatuses, transitions } from '../core/order/status.ts';
import { parseConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';

const DAY = 86_400_000;
const instant = fc.integer({ min: Date.UTC(2000, 0, 1), max: Date.UTC(2100, 0, 1) }).map((ms) => new Date(ms));
const policy = fc.record({ afterDays: fc.integer({ min: 30, max: 3650 }), returnWindowDays: fc.integer({ min: 0, max: 365 }) });

describe('archivePolicy', () => {
  it('keeps finished orders a year unless configured, and reads the return window', () => {
    expect(archivePolicy({})).toEqual({ afterDays: DEFAULT_ARCHIVE_AFTER_DAYS, returnWindowDays: 30 });
    expect(DEFAULT_ARCHIVE_AFTER_DAYS).toBe(365);
    expect(archivePolicy({ archive: { afterDays: 90 }, afterSales: { returnWindowDays: 120 } })).toEqual({ afterDays: 90, returnWindowDays: 120 });
  });
});

describe('which orders are old enough to archive', () => {
  it('only statuses that end an order, or completed (which only a return reopens)', () => {
    for (const status of archivableStatuses) {
      expect(status === 'completed' || finalStatuses.includes(status), status).toBe(true);
      expect(transitions[status].every((next) => (archivableStatuses as readonly string[]).includes(next)), status).toBe(true);
    }
    const longAgo = new Date(Date.UTC(2000, 0, 1));
    const cutoffs = archiveCutoffs(new Date(Date.UTC(2026, 0, 1)), { afterDays: 30, returnWindowDays: 30 });
    for (const status of orderStatuses) {
      expect(oldEnoughToArchive(status, longAgo, cutoffs), status).toBe((archivableStatuses as readonly string[]).includes(status));
    }
  });

  it('given an order finished at `since`, when the job runs at `now`, it moves exactly when more than afterDays passed', () => {
    fc.assert(fc.property(instant, fc.integer({ min: 0, max: 4000 * DAY }), policy, fc.constantFrom('cancelled', 'rejected', 'returned'), (now, age, p, status) => {
      const since = new Date(now.getTime() - age);
      expect(oldEnoughToArchive(status, since, archiveCutoffs(now, p))).toBe(age > p.afterDays * DAY);
    }));
  });

  it('a completed order waits for its return window as well, never less than afterDays', () => {
    fc.assert(fc.property(instant, fc.integer({ min: 0, max: 4000 * DAY }), policy, (now, age, p) => {
      const since = new Date(now.getTime() - age);
      const moves = oldEnoughToArchive('completed', since, archiveCutoffs(now, p));
      expect(moves).toBe(age > p.afterDays * DAY && age > p.returnWindowDays * DAY);
    }));
  });

  it('the cutoffs never lie after now, and a later run never has an earlier cutoff', () => {
    fc.assert(fc.property(instant, fc.integer({ min: 0, max: 1000 * DAY }), policy, (now, later, p) => {
      const a = archiveCutoffs(now, p);
      const b = archiveCutoffs(new Date(now.getTime() + later), p);
      expect(a.finished.getTime()).toBeLessThanOrEqual(now.getTime() - 30 * DAY);
      expect(a.completed.getTime()).toBeLessThanOrEqual(a.finished.getTime());
      expect(b.finished.getTime()).toBeGreaterThanOrEqual(a.finished.getTime());
      expect(b.completed.getTime()).toBeGreaterThanOrEqual(a.completed.getTime());
    }));
  });
});

describe('late traffic about an archived order', () => {
  it('is explained by the order it would have touched', () => {
    expect(archivedOrderProblem({ orderNumber: 'HUB-1', status: 'cancelled' })).toEqual({
      path: '/externalId',
      message: 'order HUB-1 (cancelled) with this channel id is archived; the delivery is kept and changes nothing',
    });
  });
});

describe('the archive config', () => {
  it('is optional, and keeps orders live at least 30 days', () => {
    const document = JSON.parse(readFileSync(defaultConfigPath, 'utf8')) as Record<string, unknown>;
    delete document.archive;
    expect(parseConfig(document).archive).toBeUndefined();
    expect(parseConfig({ ...document, archive: { afterDays: 30 } }).archive).toEqual({ afterDays: 30 });
    expect(() => parseConfig({ ...document, archive: { afterDays: 29 } }, 'test config')).toThrow('/archive/afterDays must be >= 30');
    expect(() => parseConfig({ ...document, archive: { afterDays: 90.5 } }, 'test config')).toThrow('/archive/afterDays must be integer');
    expect(() => parseConfig({ ...document, archive: { days: 90 } }, 'test config')).toThrow('/archive must NOT have additional properties (days)');
  });
});
