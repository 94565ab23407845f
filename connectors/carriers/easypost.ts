import { createHmac } from 'node:crypto';
import { sameSecretText } from '../signatures.ts';
import { at, createReader, isObject, optionalText, requiredText, toUtcTimestamp, type At, type Reader } from '../reader.ts';
import { calendarDate, webAddress } from './fields.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { CarrierConnector, TrackingEvent, TrackingNormalizeResult, TrackingStatus } from './types.ts';

/**
 * EasyPost tracking webhooks: an Event (`{ id, object: "Event", description, result, … }`)
 * whose `result` is the Tracker. Fixture, its source and the signing rule:
 * test/fixtures/easypost/tracker.updated.event.md.
 *
 * EasyPost is an aggregator, not the carrier: the events name the carrier that moves the
 * parcel (`FedEx`, `USPS`, `UPS`), and that is the carrier the hub records, because the hub
 * finds a parcel by carrier + tracking code, as the warehouse reported them when it shipped.
 */

const SIGNATURE_PREFIX = 'hmac-sha256-hex=';
// A hex SHA-256 digest with its prefix is 80 characters; anything much longer is not one.
const MAX_SIGNATURE_HEADER_LENGTH = 256;

/**
 * `@easypost/api` (8.9.0, `Utils.validateWebhook`) hashes the body with every integer weight
 * written as a float (`"weight": 16` → `"weight": 16.0`): EasyPost signs a serialization in
 * which weights are floats, and a body that went through a JavaScript JSON round trip loses
 * the `.0`. The same expression as the client's, so the two accept the same bodies.
 */
const INTEGER_WEIGHT = /("weight":\s*)(\d+)(\s*)(?=,|\})/g;

/** The Event descriptions that carry a Tracker; every other one (`batch.*`, `refund.*`, …) is stored and acknowledged. */
const TRACKER_DESCRIPTIONS: readonly string[] = ['tracker.created', 'tracker.updated'];

/**
 * EasyPost's Tracker statuses in the hub's words (docs.easypost.com/docs/trackers).
 *
 * - `available_for_pickup` → `out_for_delivery`: the parcel waits at a carrier location for the
 *   customer. Like a parcel on the van it is at its last step before `delivered`, with nothing
 *   wrong and nothing for the shop to do; the hub has no separate pickup status.
 * - `failure` → `exception`, not `failed_attempt`: EasyPost keeps a single failed attempt that
 *   will be retried `in_transit` (with a message saying so) and sets `failure` only "if the
 *   delivery fails to the point where the carrier decides to stop redelivery" (EasyPost
 *   support, "Failed deliveries, second attempts, final details"). Nobody will try again, so
 *   someone has to act: that is an exception.
 * - `cancelled` and `error` (the carrier cancelled the tracking, or EasyPost could not track
 *   it) → `exception`: the parcel's fate is no longer known.
 */
const STATUSES: Readonly<Record<string, TrackingStatus>> = {
  unknown: 'unknown',
  pre_transit: 'pre_transit',
  in_transit: 'in_transit',
  out_for_delivery: 'out_for_delivery',
  available_for_pickup: 'out_for_delivery',
  delivered: 'delivered',
  return_to_sender: 'returned_to_sender',
  failure: 'exception',
  cancelled: 'exception',
  error: 'exception',
};

export const easypost: CarrierConnector = {
  carrier: 'easypost',
  secretNames: ['EASYPOST_WEBHOOK_SECRET'],

  /**
   * `X-Hmac-Signature: hmac-sha256-hex=<lower-case hex>` = HMAC-SHA256(key = the webhook
   * secret NFKD-normalized, as UTF-8; message = the body), compared in constant time. The raw
   * bytes are tried first; then, as `@easypost/api` does, the body with integer weights
   * written as floats (see {@link INTEGER_WEIGHT}). No timestamp is signed, so there is no age
   * to check. `X-Hmac-Signature-V2` (with `X-Timestamp` and `X-Path`) is not read: EasyPost's
   * own clients do not verify it yet, and the v1 header comes with it.
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, _now: Date): boolean {
    const secret = secrets.EASYPOST_WEBHOOK_SECRET;
    const header = request.headers['x-hmac-signature'];
    // An unset secret must not turn into "anyone who signs with the empty key".
    if (!secret || !header || header.length > MAX_SIGNATURE_HEADER_LENGTH || !header.startsWith(SIGNATURE_PREFIX)) return false;
    const key = Buffer.from(secret.normalize('NFKD'), 'utf8');
    const signs = (message: Buffer | string): boolean =>
      sameSecretText(header, SIGNATURE_PREFIX + createHmac('sha256', key).update(message).digest('hex'));
    if (signs(request.rawBody)) return true;
    // Decoded as the client decodes it (UTF-8); when no weight changes there is nothing new to try.
    const text = request.rawBody.toString('utf8');
    const withFloatWeights = text.replace(INTEGER_WEIGHT, '$1$2.0');
    return withFloatWeights !== text && signs(withFloatWeights);
  },

  /**
   * EasyPost sends no event id or description in its headers: the Event's `id` is in the
   * body, and `normalize` builds each event id from it.
   */
  describe(_request: InboundRequest): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  /**
   * `tracker.created` / `tracker.updated` → one event for the Tracker in `result`, keyed by the
   * Event id and the status it reports. What the hub needs to place the update is required (event
   * id, tracking code, carrier, status, a time); the rest (detail, estimate, link) is left out
   * when unusable rather than refusing the update, which EasyPost would only send again as is.
   */
  normalize(body: unknown, _delivery: InboundDelivery): TrackingNormalizeResult {
    if (!isObject(body)) return { ok: false, problems: [{ path: '/', message: 'the event must be a JSON object' }] };
    const read = createReader();
    const root: At = { value: body, path: '' };

    const descriptionNode = at(root, 'description');
    const description = read.text(descriptionNode);
    if (description === null) {
      if (read.problems.length === 0) read.report(descriptionNode.path, 'is required');
      return { ok: false, problems: read.problems };
    }
    if (!TRACKER_DESCRIPTIONS.includes(description)) {
      return { ok: false, ignore: true, problems: [{ path: descriptionNode.path, message: `${JSON.stringify(description)} is not a tracking update; stored, not recorded` }] };
    }

    const eventId = requiredText(read, at(root, 'id'));
    const tracker = at(root, 'result');
    if (!read.object(tracker, 'required')) return { ok: false, problems: read.problems };
    const kind = at(tracker, 'object');
    if (kind.value != null && kind.value !== 'Tracker') read.report(kind.path, `must be "Tracker" for ${description}`);

    const trackingCode = requiredText(read, at(tracker, 'tracking_code'));
    const carrier = requiredText(read, at(tracker, 'carrier')).toLowerCase();
    const status = statusOf(read, at(tracker, 'status'));
    const latest = latestDetail(at(tracker, 'tracking_details'));
    const occurredAt = latest?.at ?? updatedAt(read, at(tracker, 'updated_at'));
    if (read.problems.length > 0) return { ok: false, problems: read.problems };

    const event: TrackingEvent = {
      carrier,
      trackingCode,
      status,
      // the carrier's own words for the latest scan; EasyPost's `status_detail` when there are none
      statusDetail: latest?.message ?? optionalText(at(tracker, 'status_detail')),
      occurredAt,
      estimatedDelivery: estimatedDeliveryOf(tracker),
      publicUrl: webAddress(at(tracker, 'public_url')),
      // the Event id is unique per Event; the status makes the key say what it records
      eventId: `${eventId}:${status}`,
    };
    return { ok: true, events: [event] };
  },
};

/** A Tracker status the hub knows; one EasyPost adds later is `unknown` rather than a refusal. */
function statusOf(read: Reader, node: At): TrackingStatus {
  const text = requiredText(read, node);
  return Object.hasOwn(STATUSES, text) ? STATUSES[text]! : 'unknown';
}

interface Scan {
  /** UTC ISO-8601 */
  at: string;
  message: string | null;
}

/**
 * The latest entry of `tracking_details` by its `datetime` (EasyPost writes it with the
 * scan's local offset when it knows the place, else in UTC). Entries without a usable time
 * are history the hub does not need, so they are passed over, not reported.
 */
function latestDetail(details: At): Scan | null {
  const count = Array.isArray(details.value) ? details.value.length : 0;
  let latest: Scan | null = null;
  for (let index = 0; index < count; index++) {
    const detail = at(details, index);
    const time = optionalText(at(detail, 'datetime'));
    const utc = time === null ? null : toUtcTimestamp(time);
    // Same-length UTC ISO strings order as the times they name; the later entry wins a tie.
    if (utc !== null && (latest === null || utc >= latest.at)) latest = { at: utc, message: optionalText(at(detail, 'message')) };
  }
  return latest;
}

/** The Tracker's `updated_at`: the time when no tracking detail has one. */
function updatedAt(read: Reader, node: At): string {
  const text = optionalText(node);
  const utc = text === null ? null : toUtcTimestamp(text);
  if (utc === null) {
    read.report(node.path, text === null
      ? 'is required when no tracking detail has a datetime'
      : 'must be an ISO-8601 timestamp with a UTC offset');
  }
  return utc ?? '';
}

/**
 * When the carrier expects to deliver, as a calendar date: the carrier's local date
 * (`carrier_detail.est_delivery_date_local`) when given, else the date `est_delivery_date`
 * is written with (EasyPost writes midnight UTC of that date: `2024-08-05T00:00:00Z`).
 */
function estimatedDeliveryOf(tracker: At): string | null {
  return calendarDate(optionalText(at(at(tracker, 'carrier_detail'), 'est_delivery_date_local')))
    ?? calendarDate(optionalText(at(tracker, 'est_delivery_date')));
}
