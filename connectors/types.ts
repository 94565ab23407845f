import type { InputProblem } from '../core/errors.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';

/** A webhook request as the route hands it to a connector. */
export interface InboundRequest {
  /** the body exactly as received; signatures are computed over these bytes */
  rawBody: Buffer;
  /** header names in lower case */
  headers: Record<string, string | undefined>;
}

/** What `normalize` returns: a canonical order, or every problem found in the input. */
export type NormalizeResult =
  | { ok: true; order: CanonicalOrder }
  | { ok: false; problems: InputProblem[] };

/** The identity of one delivery, read from its headers. */
export interface InboundDelivery {
  /** the platform's id for this event, used to drop duplicate deliveries; null when the platform sends none */
  eventId: string | null;
  /** what the delivery is about, e.g. 'orders/create' */
  topic: string;
}

/** A channel that sends orders to the hub by webhook. One plain object per channel. */
export interface OrderConnector {
  /** the canonical `channel` of its orders, e.g. 'shopify' */
  readonly channel: string;
  /** the name of the environment variable holding the webhook secret, e.g. 'SHOPIFY_WEBHOOK_SECRET' */
  readonly secretName: string;
  /** true when the request really comes from the platform; constant-time comparison */
  verify(request: InboundRequest, secret: string): boolean;
  /** reads the delivery's identity from its headers (no body parsing) */
  describe(request: InboundRequest): InboundDelivery;
  /** topics this connector turns into orders; others are stored and acknowledged but not processed */
  readonly orderTopics: readonly string[];
  /** pure: the parsed body → canonical order or the problems found */
  normalize(body: unknown, delivery: InboundDelivery): NormalizeResult;
}
