/**
 * What a message handler decided. Handlers return one of these and never touch the
 * channel; the consume adapter turns it into ack, a delayed retry, or parking.
 */
export type Decision =
  | { kind: 'ack'; note?: string }
  | { kind: 'retry'; reason: string; delayMs?: number }
  | { kind: 'park'; reason: string };

export const ack = (note?: string): Decision => (note === undefined ? { kind: 'ack' } : { kind: 'ack', note });
export const retry = (reason: string, delayMs?: number): Decision =>
  delayMs === undefined ? { kind: 'retry', reason } : { kind: 'retry', reason, delayMs };
export const park = (reason: string): Decision => ({ kind: 'park', reason });
