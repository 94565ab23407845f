import type { InputProblem } from '../core/errors.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';

/** A webhook request as the route hands it to a connector. */
export interface InboundRequest {
  /** the body exactly as received; signatures are computed over these bytes */
  rawBody: Buffer;
  /** header names in lower case */
  headers: Record<string, string | undefined>;
}

/**
 * What a delivery asks of the order: `create` a new one, `update` it with a newer snapshot
 * (payment, lines, address), or `cancel` it. Every delivery carries the channel's full
 * order, so an update or a cancel that arrives before its create still makes the order.
 */
export type OrderIntent = 'create' | 'update' | 'cancel';

/** What `normalize` returns: a canonical order and what to do with it, or every problem found. */
export type NormalizeResult =
  | {
      ok: true;
      order: CanonicalOrder;
      intent: OrderIntent;
      /** the channel's last-modified time of this snapshot (UTC ISO-8601); older snapshots are ignored */
      updatedAt: string | null;
      /** why the channel cancelled, when intent is `cancel` */
      cancelReason?: string | null;
    }
  | {
      ok: false;
      problems: InputProblem[];
      /**
       * Not an order (yet), and not an error either: e.g. a checkout the customer has not
       * finished. Stored and acknowledged, never processed, never a 4xx the platform would
       * count against the webhook. Code that does not look at it treats it as a refusal.
       */
      ignore?: boolean;
    };

/** The identity of one delivery, read from its headers. */
export interface InboundDelivery {
  /** the platform's id for this event, used to drop duplicate deliveries; null when the platform sends none */
  eventId: string | null;
  /** what the delivery is about, e.g. 'orders/create' */
  topic: string;
}

/** A channel that sends orders to the hub (by webhook, or fetched by a poller). One plain object per channel. */
export interface OrderConnector {
  /** the canonical `channel` of its orders, e.g. 'shopify' */
  readonly channel: string;
  /** how its orders arrive: webhooks to `/webhooks/orders/:source`, or a poller the hub runs */
  readonly delivery: 'webhook' | 'poll';
  /** the name of the environment variable holding the webhook secret (or API token), e.g. 'SHOPIFY_WEBHOOK_SECRET' */
  readonly secretName: string;
  /**
   * True when the request really comes from the platform; constant-time comparison. `now`
   * is for platforms that sign a timestamp: a stale one is refused.
   */
  verify(request: InboundRequest, secret: string, now: Date): boolean;
  /** an unsigned liveness ping the platform sends when a webhook is set up (answered 200, not stored) */
  isPing?(request: InboundRequest): boolean;
  /** reads the delivery's identity from its headers (no body parsing) */
  describe(request: InboundRequest): InboundDelivery;
  /** topics this connector turns into orders; others are stored and acknowledged but not processed */
  readonly orderTopics: readonly string[];
  /**
   * Pure: the parsed body → canonical order (channel SKUs as sent; the hub maps them) or
   * the problems found. Never throws. The hub then checks the schema and that the money adds
   * up, so a connector need not repeat that.
   */
  normalize(body: unknown, delivery: InboundDelivery): NormalizeResult;
  /**
   * Topics whose body names an order only by its id, to cancel it — WooCommerce's
   * `order.deleted` sends `{"id": N}` — and how to read that id. Pure, never throws.
   */
  readonly cancelsById?: {
    topics: readonly string[];
    read(body: unknown, delivery: InboundDelivery): CancelById;
  };
}

/** An order to cancel, named by the channel's id for it, with why; or the problems found. */
export type CancelById = { ok: true; externalId: string; reason: string } | { ok: false; problems: InputProblem[] };
