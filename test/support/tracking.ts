import { expect } from 'vitest';
import { trackingStatuses, type TrackingEvent, type TrackingNormalizeResult } from '../../connectors/carriers/types.ts';

const ISO_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The one event a normalizer gave; fails the test if it refused or gave several. */
export function onlyEvent(result: TrackingNormalizeResult): TrackingEvent {
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.problems)}`);
  expect(result.events).toHaveLength(1);
  return result.events[0]!;
}

/** What every tracking normalizer promises, whatever it is fed. */
export function expectSound(result: TrackingNormalizeResult): void {
  if (!result.ok) {
    expect(result.problems.length).toBeGreaterThan(0);
    for (const problem of result.problems) {
      expect(problem.path).toMatch(/^\//);
      expect(problem.message).not.toBe('');
    }
    return;
  }
  expect(result.events.length).toBeGreaterThan(0);
  for (const event of result.events) {
    expect(trackingStatuses).toContain(event.status);
    expect(event.trackingCode.trim()).not.toBe('');
    expect(event.eventId.trim()).not.toBe('');
    expect(event.carrier.trim()).not.toBe('');
    expect(event.carrier).toBe(event.carrier.toLowerCase());
    expect(event.occurredAt).toMatch(ISO_UTC);
    expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
    if (event.estimatedDelivery !== null) expect(event.estimatedDelivery).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    if (event.publicUrl !== null) expect(['http:', 'https:']).toContain(new URL(event.publicUrl).protocol);
  }
}
