import { X509Certificate, verify as verifySignature, type KeyObject } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { at, createReader, toUtcTimestamp, type At, type Reader } from '../reader.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { PaymentConnector, PaymentEvent, PaymentKind, PaymentNormalizeResult } from './types.ts';
import { matchOf } from './match.ts';

/**
 * How far the signed transmission time may be from `now`. The time is inside the signed
 * string, so a captured delivery cannot be re-dated: refusing old ones is the replay guard
 * (each PayPal retry is a new transmission with a new time and signature, so retries pass).
 */
const MAX_TRANSMISSION_SKEW_MS = 300_000;

/**
 * The capture events that move money, and what the hub records for each. The resource of
 * COMPLETED and DENIED is a Capture; of REFUNDED and REVERSED a Refund (`rel: "up"` links it
 * to its capture). Every other event type is acknowledged and ignored: `PAYMENT.CAPTURE.PENDING`
 * too, because nothing has moved yet (an eCheck can still bounce) and its COMPLETED or DENIED
 * follows for the same capture id.
 */
const MOVEMENTS: Readonly<Record<string, { kind: PaymentKind; resource: 'capture' | 'refund' }>> = {
  'PAYMENT.CAPTURE.COMPLETED': { kind: 'captured', resource: 'capture' },
  'PAYMENT.CAPTURE.DENIED': { kind: 'failed', resource: 'capture' },
  'PAYMENT.CAPTURE.REFUNDED': { kind: 'refunded', resource: 'refund' },
  'PAYMENT.CAPTURE.REVERSED': { kind: 'disputed', resource: 'refund' },
};

/** Refund statuses under which no money went back. */
const UNSUCCESSFUL_REFUND_STATUSES: readonly string[] = ['FAILED', 'CANCELLED'];

/**
 * PayPal REST webhooks (Payments v2 capture and refund events), verified offline.
 * Fixture and field notes: test/fixtures/paypal/PAYMENT.CAPTURE.COMPLETED.md.
 */
export const paypal: PaymentConnector = {
  provider: 'paypal',
  secretNames: ['PAYPAL_WEBHOOK_ID', 'PAYPAL_CERT_PEM'],
  bodyFormat: 'json',
  acknowledgement: null,

  /**
   * `PAYPAL-TRANSMISSION-SIG` = base64 SHA256withRSA over
   * `transmissionId|transmissionTime|webhookId|crc32(raw body)` (CRC as unsigned decimal).
   *
   * The key comes only from the configured `PAYPAL_CERT_PEM`. `PAYPAL-CERT-URL` is never
   * fetched and never consulted: it is not signed, so anyone can point it at their own
   * certificate, and fetching it would let any sender make the hub issue requests. Checking its
   * host would prove nothing (the header is forgeable) and could only refuse genuine
   * deliveries. Synchronous by design: there is no network in here.
   *
   * `PAYPAL_CERT_PEM` may hold several certificates (PayPal rotates its signing certificate;
   * during a rotation configure the old and the new one): a signature by any of them passes.
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, now: Date): boolean {
    const { headers } = request;
    const transmissionId = headers['paypal-transmission-id'];
    const transmissionTime = headers['paypal-transmission-time'];
    const signature = base64Bytes(headers['paypal-transmission-sig']);
    const webhookId = secrets.PAYPAL_WEBHOOK_ID;
    if (!transmissionId || !transmissionTime || !signature || !webhookId) return false;
    // The algorithm is not signed either; anything but the one PayPal uses is refused rather
    // than followed.
    if (headers['paypal-auth-algo'] !== 'SHA256withRSA') return false;
    if (!isRecent(transmissionTime, now)) return false;

    const signed = Buffer.from(`${transmissionId}|${transmissionTime}|${webhookId}|${crc32(request.rawBody)}`, 'utf8');
    return certificateKeys(secrets.PAYPAL_CERT_PEM).some((key) => verifySignature('sha256', signed, key, signature));
  },

  /**
   * PayPal sends no event id in the headers: `PAYPAL-TRANSMISSION-ID` is new on every retry
   * of the same event, so it cannot remove duplicates. The event id (`WH-…`) is in the body,
   * which the hub hashes; the ledger also keys each movement by its capture or refund id.
   * The event type is in the body too (`event_type`), read by `normalize`.
   */
  describe(): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  normalize(body: unknown): PaymentNormalizeResult {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return { ok: false, problems: [{ path: '/', message: 'the event must be a JSON object' }] };
    }
    const read = createReader();
    const root: At = { value: body, path: '' };

    const eventTypeNode = at(root, 'event_type');
    const eventType = read.text(eventTypeNode);
    if (eventType === null) {
      if (read.problems.length === 0) read.report(eventTypeNode.path, 'is required');
      return { ok: false, problems: read.problems };
    }
    const movement = Object.hasOwn(MOVEMENTS, eventType) ? MOVEMENTS[eventType] : undefined;
    if (movement === undefined) return ignored(eventTypeNode.path, `${eventType} moves no money the hub records`);

    const resource = at(root, 'resource');
    if (!read.object(resource, 'required')) return { ok: false, problems: read.problems };

    const status = read.text(at(resource, 'status'));
    if (movement.resource === 'refund' && status !== null && UNSUCCESSFUL_REFUND_STATUSES.includes(status)) {
      return ignored(`${resource.path}/status`, `a ${status} refund returned no money`);
    }

    const idNode = at(resource, 'id');
    const id = read.text(idNode);
    if (id === null) read.report(idNode.path, 'is required');

    const amountNode = at(resource, 'amount');
    const currency = read.object(amountNode, 'required') ? read.currency(at(amountNode, 'currency_code')) : null;
    const amount = currency === null ? 0 : read.amount(at(amountNode, 'value'), currency);

    const event: PaymentEvent = {
      provider: 'paypal',
      // Capture events name no merchant account; one webhook id belongs to one account.
      account: null,
      entryId: `${movement.resource}:${id ?? ''}`,
      // Always the capture id, also for refunds (from their `up` link): refund resources carry
      // no `supplementary_data`, so the Checkout order id would name a capture and its refunds
      // differently.
      paymentId: movement.resource === 'capture' ? (id ?? '') : capturedIdOf(read, resource),
      kind: movement.kind,
      amount,
      currency: currency ?? '',
      occurredAt: read.timestamp(whenChanged(root, resource)),
      method: 'wallet',
      match: matchOf([read.text(at(resource, 'custom_id')), read.text(at(resource, 'invoice_id'))]),
      failureReason:
        movement.kind === 'failed' ? (read.text(at(at(resource, 'status_details'), 'reason')) ?? status) : null,
    };
    if (read.problems.length > 0) return { ok: false, problems: read.problems };
    return { ok: true, events: [event] };
  },
};

function ignored(path: string, message: string): PaymentNormalizeResult {
  return { ok: false, problems: [{ path, message }], ignore: true };
}

/**
 * When the resource reached the state this event reports: its `update_time` (a capture that
 * was pending completes later than it was created), else its `create_time`, else the event's.
 */
function whenChanged(root: At, resource: At): At {
  const candidates = [at(resource, 'update_time'), at(resource, 'create_time'), at(root, 'create_time')];
  return candidates.find((node) => node.value != null) ?? candidates[0]!;
}

const CAPTURE_LINK = /\/v2\/payments\/captures\/([^/?#]+)$/;

/** The id of the capture a refund belongs to, from its `rel: "up"` link. */
function capturedIdOf(read: Reader, resource: At): string {
  const links = at(resource, 'links');
  for (const link of read.list(links, 'optional')) {
    if (at(link, 'rel').value !== 'up') continue;
    const href = at(link, 'href').value;
    const captureId = typeof href === 'string' ? CAPTURE_LINK.exec(href)?.[1] : undefined;
    if (captureId !== undefined) return captureId;
  }
  read.report(links.path, 'needs the "up" link to the refunded capture (…/v2/payments/captures/{id})');
  return '';
}


/** Whether the signed transmission time (ISO-8601 with a zone) is within the allowed skew of `now`. */
function isRecent(transmissionTime: string, now: Date): boolean {
  const sentAt = toUtcTimestamp(transmissionTime);
  return sentAt !== null && Math.abs(now.getTime() - Date.parse(sentAt)) <= MAX_TRANSMISSION_SKEW_MS;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from skips invalid characters silently), or null. */
function base64Bytes(text: string | undefined): Buffer | null {
  return text && BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

const CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/** The RSA public keys of the configured certificates; an unreadable one is skipped. */
function certificateKeys(pem: string | undefined): KeyObject[] {
  return (pem?.match(CERTIFICATE) ?? []).flatMap((block) => {
    try {
      const key = new X509Certificate(block).publicKey;
      return key.asymmetricKeyType === 'rsa' ? [key] : [];
    } catch {
      return [];
    }
  });
}
