// The replay decision for a dead letter (pure): what goes back, where, and what is refused.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { originHeader, replayCountHeader, replayDecision, replayOfHeader, type ParsedBody, type ReplayCandidate } from '../core/pipeline/dead-letter-replay.ts';

const consumed = new Set(['hub.stage.allocate', 'hub.in.warehouse-events']);
const letter = fc.record({
  messageId: fc.string({ minLength: 1, maxLength: 40 }),
  queue: fc.constantFrom('hub.stage.allocate', 'hub.in.warehouse-events', 'hub.out.warehouse.gone', 'hub.parked'),
  status: fc.constantFrom('parked' as const, 'replayed' as const, 'discarded' as const),
  replayCount: fc.nat({ max: 1000 }),
  origin: fc.option(fc.uuid(), { nil: undefined }),
}, { requiredKeys: ['messageId', 'queue', 'status', 'replayCount'] }) satisfies fc.Arbitrary<ReplayCandidate>;
const body: fc.Arbitrary<ParsedBody> = fc.oneof(
  fc.record({ event: fc.record({ id: fc.string({ maxLength: 40 }), type: fc.string({ maxLength: 20 }), data: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })) }) }),
  fc.record({ problem: fc.string({ minLength: 1, maxLength: 40 }) }),
);

describe('replayDecision', () => {
  it('replays exactly the parked CloudEvents of a consumed queue, as the same event with the new id, naming the original', () => {
    fc.assert(fc.property(letter, body, fc.uuid(), (d, b, newId) => {
      const decision = replayDecision(d, b, consumed, newId);
      const replayable = d.status === 'parked' && consumed.has(d.queue) && 'event' in b;
      expect(decision.kind).toBe(replayable ? 'replay' : 'refuse');
      if (decision.kind === 'replay' && 'event' in b) {
        expect(decision.queue).toBe(d.queue);
        expect(decision.event).toEqual({ ...b.event, id: newId });
        // the chain's first message, however many replays back: a calling stage's idempotency key
        expect(decision.headers).toEqual({ [replayOfHeader]: d.messageId, [replayCountHeader]: d.replayCount + 1, [originHeader]: d.origin ?? d.messageId });
      }
      if (decision.kind === 'refuse') {
        expect(decision.code).toBe(d.status === 'parked' ? 'not_replayable' : 'dead_letter_resolved');
      }
    }));
  });

  it('given a dead letter replayed already, when asked again, then it refuses whatever the body', () => {
    const decision = replayDecision({ messageId: 'm-1', queue: 'hub.stage.allocate', status: 'replayed', replayCount: 0 }, { event: { id: 'm-1' } }, consumed, 'n-1');
    expect(decision).toEqual({ kind: 'refuse', code: 'dead_letter_resolved', message: 'dead letter m-1 was replayed already' });
  });
});
