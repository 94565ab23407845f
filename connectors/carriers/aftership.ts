import { verifyBase64HmacSha256 } from '../signatures.ts';
import { at, createReader, isObject, optionalText, requiredText, toUtcTimestamp, type At, type Reader } from '../reader.ts';
import { calendarDate, webAddress } from './fields.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { CarrierConnector, TrackingEvent, TrackingNormalizeResult, TrackingStatus } from './types.ts';

/**
 * AfterShip Tracking webhooks: `{ event, event_id, is_tracking_first_tag, msg, ts }`, where
 * `msg` is the whole Tracking (tracking_number, slug, tag, subtag, checkpoints, …).
 * Fixture, its sources and the signing rule: test/fixtures/aftership/README.md.
 *
 * AfterShip is an aggregator, not the carrier: `msg.slug` names the carrier that moves the
 * parcel (`usps`, `ups`, `dhl`), and that is the carrier the hub records, because the hub
 * finds a parcel by carrier + tracking code, as the warehouse reported them when it shipped.
 */

/**
 * The one event code that reports a status. `edd_revise` (a new estimated delivery date) and
 * `tracking_pending_time` (a parcel pending too long) carry no new status: stored and acknowledged.
 */
const TRACKING_UPDATE = 'tracking_update';

/**
 * AfterShip's delivery statuses (`tag`, www.aftership.com/docs/tracking/enum/delivery-statuses)
 * in the hub's words.
 *
 * - `Pending` (nothing tracked yet) and `InfoReceived` (the carrier has the label, not the parcel) → `pre_transit`.
 * - `AvailableForPickup` → `out_for_delivery`: the parcel waits at a pickup point for the
 *   customer, its last step before `delivered`, with nothing wrong. AfterShip itself files
 *   "ready to pick up" under Out for Delivery; the hub has no separate pickup status.
 * - `AttemptFail` → `failed_attempt`: "usually leaves a notice and will try to deliver again".
 * - `Exception` → `exception`, except the returned-to-sender subtags (below).
 * - `Expired` → `exception`: no tracking information for 30 days; someone has to look.
 */
const TAGS: Readonly<Record<string, TrackingStatus>> = {
  Pending: 'pre_transit',
  InfoReceived: 'pre_transit',
  InTransit: 'in_transit',
  OutForDelivery: 'out_for_delivery',
  AvailableForPickup: 'out_for_delivery',
  Delivered: 'delivered',
  AttemptFail: 'failed_attempt',
  Exception: 'exception',
  Expired: 'exception',
};

/**
 * Exception subtags that mean the parcel goes back (www.aftership.com/docs/tracking/enum/delivery-sub-statuses):
 * `Exception_010` "Returning to sender" (on its way back) and `Exception_011` "Returned to
 * sender" (received by the sender). `Exception_004` is "Delayed (Customs clearance)": an exception.
 */
const RETURNED_SUBTAGS: readonly string[] = ['Exception_010', 'Exception_011'];

// 9999-12-31T23:59:59Z: the last second an ISO-8601 timestamp with a four-digit year can name.
const MAX_UNIX_SECONDS = 253_402_300_799;

export const aftership: CarrierConnector = {
  carrier: 'aftership',
  secretNames: ['AFTERSHIP_WEBHOOK_SECRET'],

  /**
   * `aftership-hmac-sha256` = base64(HMAC-SHA256(key = the webhook secret as UTF-8, message =
   * the raw body)), compared in constant time. Nothing else is signed: `ts` in the body is
   * not, so there is no age to check, and AfterShip retries for about 68 hours anyway.
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, _now: Date): boolean {
    const secret = secrets.AFTERSHIP_WEBHOOK_SECRET ?? '';
    return verifyBase64HmacSha256(request.rawBody, request.headers['aftership-hmac-sha256'], secret);
  },

  /**
   * AfterShip sends no event id in its headers: `event_id` is in the body, and `normalize`
   * uses it as the event id.
   */
  describe(_request: InboundRequest): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  /**
   * `tracking_update` → one event for the Tracking in `msg`, keyed by `event_id`. What the hub
   * needs to place the update is required (event id, tracking number, slug, tag, a time); the
   * rest (detail, estimate, link) is left out when unusable rather than refusing the update,
   * which AfterShip would only send again as is.
   */
  normalize(body: unknown, _delivery: InboundDelivery): TrackingNormalizeResult {
    if (!isObject(body)) return { ok: false, problems: [{ path: '/', message: 'the event must be a JSON object' }] };
    const read = createReader();
    const root: At = { value: body, path: '' };

    const eventNode = at(root, 'event');
    const eventCode = read.text(eventNode);
    if (eventCode === null) {
      if (read.problems.length === 0) read.report(eventNode.path, 'is required');
      return { ok: false, problems: read.problems };
    }
    if (eventCode !== TRACKING_UPDATE) {
      return { ok: false, ignore: true, problems: [{ path: eventNode.path, message: `${JSON.stringify(eventCode)} reports no new status; stored, not recorded` }] };
    }

    const eventId = requiredText(read, at(root, 'event_id'));
    const msg = at(root, 'msg');
    if (!read.object(msg, 'required')) return { ok: false, problems: read.problems };

    const trackingCode = requiredText(read, at(msg, 'tracking_number'));
    const carrier = requiredText(read, at(msg, 'slug')).toLowerCase();
    const tag = requiredText(read, at(msg, 'tag'));
    const status = statusOf(tag, optionalText(at(msg, 'subtag')));
    const scan = latestScanOf(at(msg, 'checkpoints'), tag);
    const occurredAt = scan?.at ?? updatedAt(read, msg, at(root, 'ts'));
    if (read.problems.length > 0) return { ok: false, problems: read.problems };

    const event: TrackingEvent = {
      carrier,
      trackingCode,
      status,
      // the carrier's own words for the latest scan; AfterShip's subtag message when there are none
      statusDetail: scan?.message ?? optionalText(at(msg, 'subtag_message')),
      occurredAt,
      estimatedDelivery: estimatedDeliveryOf(msg),
      publicUrl: webAddress(at(msg, 'courier_tracking_link')) ?? webAddress(at(msg, 'aftership_tracking_url')),
      eventId,
    };
    return { ok: true, events: [event] };
  },
};

/** A tag the hub knows; one AfterShip adds later is `unknown` rather than a refusal. */
function statusOf(tag: string, subtag: string | null): TrackingStatus {
  if (tag === 'Exception' && subtag !== null && RETURNED_SUBTAGS.includes(subtag)) return 'returned_to_sender';
  return Object.hasOwn(TAGS, tag) ? TAGS[tag]! : 'unknown';
}

interface Scan {
  /** UTC ISO-8601 */
  at: string;
  message: string | null;
}

/**
 * The scan behind the current tag: the last checkpoint (AfterShip lists them oldest first),
 * when it reports that tag. Its `checkpoint_time` is the carrier's local time and often has
 * no offset (`2021-01-14T00:52:00`), which cannot be placed in UTC; then its `created_at`
 * (when AfterShip recorded the scan, always with an offset) stands in, a little later than the
 * scan itself. A tag no checkpoint reports (`Expired`, `Pending`) has no scan behind it.
 */
function latestScanOf(checkpoints: At, tag: string): Scan | null {
  if (!Array.isArray(checkpoints.value) || checkpoints.value.length === 0) return null;
  const last = at(checkpoints, checkpoints.value.length - 1);
  if (!isObject(last.value)) return null;
  const checkpointTag = optionalText(at(last, 'tag'));
  if (checkpointTag !== null && checkpointTag !== tag) return null;
  const time = utcOf(optionalText(at(last, 'checkpoint_time'))) ?? utcOf(optionalText(at(last, 'created_at')));
  return time === null ? null : { at: time, message: optionalText(at(last, 'message')) };
}

/**
 * When there is no scan behind the tag: when AfterShip last updated the Tracking
 * (`msg.updated_at`), else when the event occurred (`ts`, unix seconds).
 */
function updatedAt(read: Reader, msg: At, ts: At): string {
  const updatedNode = at(msg, 'updated_at');
  const updated = optionalText(updatedNode);
  const utc = utcOf(updated);
  if (utc !== null) return utc;
  const seconds = ts.value;
  if (typeof seconds === 'number' && Number.isSafeInteger(seconds) && seconds >= 0 && seconds <= MAX_UNIX_SECONDS) {
    return new Date(seconds * 1000).toISOString();
  }
  read.report(updatedNode.path, updated === null
    ? 'is required when no checkpoint gives the time and `ts` is not a time in unix seconds'
    : 'must be an ISO-8601 timestamp with a UTC offset (and `ts` is not a time in unix seconds)');
  return '';
}

function utcOf(text: string | null): string | null {
  return text === null ? null : toUtcTimestamp(text);
}

/**
 * When the carrier expects to deliver, as a calendar date, from the first estimate given:
 * `latest_estimated_delivery.datetime` (webhook versions since 2024), `expected_delivery`
 * (the courier's, in the legacy versions), `courier_estimated_delivery_date`, then AfterShip's own
 * `aftership_estimated_delivery_date`. A timestamp counts by the date it is written with.
 */
function estimatedDeliveryOf(msg: At): string | null {
  const candidates = [
    at(at(msg, 'latest_estimated_delivery'), 'datetime'),
    at(msg, 'expected_delivery'),
    at(at(msg, 'courier_estimated_delivery_date'), 'estimated_delivery_date'),
    at(at(msg, 'aftership_estimated_delivery_date'), 'estimated_delivery_date'),
  ];
  for (const node of candidates) {
    const date = calendarDate(optionalText(node));
    if (date !== null) return date;
  }
  return null;
}
