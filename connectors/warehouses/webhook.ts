import { createHmac } from 'node:crypto';
import { matchesTimestampedHmac } from '../signatures.ts';
import type { InboundRequest } from '../types.ts';

/**
 * The signature of `POST /webhooks/warehouses/:code`, the hub's own contract for warehouse
 * systems that post their events (CloudEvents: `fulfillment.accepted`, `fulfillment.shipped`,
 * `inventory.adjusted`, …) instead of publishing them to the broker.
 *
 * The same scheme as the shop's own channels (connectors/website.ts, docs/channel-contract.md),
 * so a sender written for one works for the other:
 * `X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`. Several
 * `v1=` may be sent and any one may match (secret rotation: the sender signs with the old and
 * the new secret until the hub has the new one). Other schemes (`v0=`, a future `v2=`) are
 * skipped; anything else malformed refuses the whole header. A timestamp more than
 * {@link WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS} from the hub's clock, either way, is refused,
 * so a captured request cannot be replayed later.
 */

/** How far a signed timestamp may be from the hub's clock, either way, in seconds (as the shop's own channels). */
export const WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS = 300;

// A hostile header costs at most this many HMAC comparisons; a rotation needs two.
const MAX_SIGNATURES = 8;
const MAX_SIGNATURE_HEADER_LENGTH = 2048;

/**
 * True when `request` carries an `X-Hub-Signature` made with `secret` over its raw body, at a
 * time within {@link WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS} of `now`. Constant-time; never
 * throws. An empty secret never verifies: it must not turn into "anyone who signs with the
 * empty key".
 */
export function verifyWarehouseWebhook(request: InboundRequest, secret: string, now: Date): boolean {
  const header = request.headers['x-hub-signature'];
  if (!header || !secret) return false;
  const parsed = parseSignatureHeader(header);
  if (parsed === null) return false;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  // An invalid clock (NaN) refuses rather than skipping the window.
  if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - Number(parsed.timestamp)) > WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS) return false;
  return matchesTimestampedHmac(request.rawBody, secret, parsed.timestamp, parsed.signatures);
}

/**
 * The `X-Hub-Signature` value for `body` (a string is signed as its UTF-8 bytes, which must be
 * the bytes sent), signed at `timestamp` (unix seconds). For WMS authors and tests; during a
 * secret rotation a sender joins the `v1=` parts of both: `t=…,v1=<old>,v1=<new>`.
 * @throws RangeError when `timestamp` is not whole unix seconds or `secret` is empty
 */
export function signWarehouseWebhook(body: string | Buffer, secret: string, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError(`timestamp must be unix seconds, got ${timestamp}`);
  if (secret === '') throw new RangeError('the signing secret is empty');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const signature = createHmac('sha256', secret).update(`${timestamp}.`).update(bytes).digest('hex');
  return `t=${timestamp},v1=${signature}`;
}

interface SignatureHeader {
  /** exactly as sent: it is part of the signed string */
  timestamp: string;
  signatures: Buffer[];
}

/** `t=<digits>,v1=<64 hex>[,v1=<64 hex>…]`, spaces around items allowed; null when malformed. */
function parseSignatureHeader(header: string): SignatureHeader | null {
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) return null;
  let timestamp: string | null = null;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    if (separator <= 0) return null;
    const key = item.slice(0, separator).trim();
    const value = item.slice(separator + 1).trim();
    if (key === 't') {
      if (timestamp !== null || !/^\d{1,12}$/.test(value)) return null;
      timestamp = value;
    } else if (key === 'v1') {
      if (!/^[0-9a-fA-F]{64}$/.test(value)) return null;
      signatures.push(Buffer.from(value, 'hex'));
    } else if (!/^[a-z][a-z0-9]{0,15}$/.test(key)) {
      return null;
    }
  }
  if (timestamp === null || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return null;
  return { timestamp, signatures };
}
