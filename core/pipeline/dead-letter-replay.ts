/**
 * Whether a dead letter can be replayed, and what the replay is. Pure: the caller brings the
 * dead letter, its body as parsed, the queues the hub consumes and a fresh id.
 */

/** What a replay needs to know about the dead letter. */
export interface ReplayCandidate {
  messageId: string;
  queue: string;
  status: 'parked' | 'replayed' | 'discarded';
  replayCount: number;
  /** the id of the message the first replay of a chain was made from, when this is a replay's letter */
  origin?: string | undefined;
}

/** The body of the dead letter read as a CloudEvent, or why it is not one. */
export type ParsedBody = { event: { id: string; [field: string]: unknown } } | { problem: string };

export type ReplayDecision =
  | { kind: 'replay'; queue: string; event: { id: string; [field: string]: unknown }; headers: Record<string, string | number> }
  | { kind: 'refuse'; code: 'dead_letter_resolved' | 'not_replayable'; message: string };

/** The header naming the message a replay was made from. */
export const replayOfHeader = 'x-hub-replay-of';
/** The header counting how many replays led to this message (1 on the first replay). */
export const replayCountHeader = 'x-hub-replay-count';
/**
 * The header naming the message a chain of replays began with, however many replays long.
 * A stage that calls another system keys the call by it (`Delivery.origin`): the replay is
 * the same request, and the other system must see the key it may already have answered.
 */
export const originHeader = 'x-hub-origin';

/**
 * A parked message goes back to the queue it came from, as the same CloudEvent with a new
 * id: the stage's inbox records processed ids, and a parked message left none, but a new id
 * also keeps the replay apart from any late copy of the original. Refused: a dead letter
 * already replayed or discarded (replaying twice could apply a stock delta twice), a queue
 * the hub does not consume (the broker would drop it unrouted), a body that is not a
 * CloudEvent (it would only be parked again).
 */
export function replayDecision(letter: ReplayCandidate, body: ParsedBody, consumedQueues: ReadonlySet<string>, newId: string): ReplayDecision {
  if (letter.status !== 'parked') {
    return { kind: 'refuse', code: 'dead_letter_resolved', message: `dead letter ${letter.messageId} was ${letter.status} already` };
  }
  if (!consumedQueues.has(letter.queue)) {
    return { kind: 'refuse', code: 'not_replayable', message: `no stage of the hub consumes ${letter.queue}; the message has nowhere to go` };
  }
  if ('problem' in body) {
    return { kind: 'refuse', code: 'not_replayable', message: `the body is not a CloudEvent (${body.problem}); replayed it would be parked again` };
  }
  return {
    kind: 'replay',
    queue: letter.queue,
    event: { ...body.event, id: newId },
    headers: { [replayOfHeader]: letter.messageId, [replayCountHeader]: letter.replayCount + 1, [originHeader]: letter.origin ?? letter.messageId },
  };
}
