import type { InputProblem } from '../../core/errors.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';

/** Where a parcel is, in the hub's words (each carrier's statuses map onto these). */
export const trackingStatuses = ['pre_transit', 'in_transit', 'out_for_delivery', 'delivered', 'failed_attempt', 'returned_to_sender', 'exception', 'unknown'] as const;
export type TrackingStatus = (typeof trackingStatuses)[number];

/** One tracking update from a carrier or a tracking aggregator. */
export interface TrackingEvent {
  carrier: string;
  trackingCode: string;
  status: TrackingStatus;
  /** the carrier's own words for it */
  statusDetail: string | null;
  /** when the carrier scanned it: UTC ISO-8601 */
  occurredAt: string;
  /** YYYY-MM-DD, when the carrier expects to deliver */
  estimatedDelivery: string | null;
  /** a page the customer can follow */
  publicUrl: string | null;
  /** unique per carrier for this update (de-duplication) */
  eventId: string;
  /** cash the courier collected on delivery, in minor units of `currency` (cash on delivery) */
  cashCollected?: { amount: number; currency: string } | null;
}

export type TrackingNormalizeResult =
  | { ok: true; events: TrackingEvent[] }
  | { ok: false; problems: InputProblem[]; ignore?: boolean };

/** A carrier or tracking service that reports by webhook at `POST /webhooks/carriers/:carrier`. */
export interface CarrierConnector {
  readonly carrier: string;
  readonly secretNames: readonly string[];
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, now: Date): boolean;
  describe(request: InboundRequest): InboundDelivery;
  /** pure: the parsed JSON body → tracking events */
  normalize(body: unknown, delivery: InboundDelivery): TrackingNormalizeResult;
}
