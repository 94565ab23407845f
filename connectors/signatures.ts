import { createHmac, timingSafeEqual } from 'node:crypto';
import type { InboundRequest } from './types.ts';

/** Constant-time comparison of two strings (different lengths are simply unequal: a digest's length is no secret). */
export function sameSecretText(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The common platform scheme (Shopify, WooCommerce): a header holding
 * base64(HMAC-SHA256(secret, raw body bytes)). An unset secret never verifies — it must not
 * turn into "anyone who signs with the empty key".
 */
export function verifyBase64HmacSha256(rawBody: Buffer, header: string | undefined, secret: string): boolean {
  if (!header || !secret) return false;
  return sameSecretText(header, createHmac('sha256', secret).update(rawBody).digest('base64'));
}

/**
 * The Stripe-style scheme (Stripe, and the shop's own website and app): true when one of
 * `signatures` is HMAC-SHA256(secret, "<timestamp>." + raw body). Every candidate is
 * compared, so the time taken does not tell which one matched. Parsing the header and
 * judging the timestamp stay with each connector: their rules differ on purpose.
 */
export function matchesTimestampedHmac(rawBody: Buffer, secret: string, timestamp: string, signatures: readonly Buffer[]): boolean {
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest();
  let matched = false;
  for (const candidate of signatures) matched = (candidate.length === expected.length && timingSafeEqual(candidate, expected)) || matched;
  return matched;
}

// ── The hub's own scheme: the shop's website and app, and warehouses posting their events ──

/** How far a signed timestamp may be from the hub's clock, either way, in seconds. */
export const HUB_SIGNATURE_TOLERANCE_SECONDS = 300;
// A hostile header costs at most this many HMAC comparisons; a rotation needs two.
const MAX_SIGNATURES = 8;
const MAX_SIGNATURE_HEADER_LENGTH = 2048;

/**
 * `X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + raw body)>`; any
 * one of several `v1` may match (secret rotation). Refused when the timestamp is more than
 * {@link HUB_SIGNATURE_TOLERANCE_SECONDS} from `now`, either way, or the secret is empty.
 */
export function verifyHubSignature(request: InboundRequest, secret: string, now: Date): boolean {
  const header = request.headers['x-hub-signature'];
  // An unset secret must not turn into "anyone who signs with the empty key".
  if (!header || !secret) return false;
  const parsed = parseHubSignatureHeader(header);
  if (parsed === null) return false;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  // An invalid clock (NaN) refuses rather than skipping the window.
  if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - Number(parsed.timestamp)) > HUB_SIGNATURE_TOLERANCE_SECONDS) return false;
  return matchesTimestampedHmac(request.rawBody, secret, parsed.timestamp, parsed.signatures);
}

/**
 * The `X-Hub-Signature` value for `body` (a string is signed as its UTF-8 bytes, which must be
 * the bytes sent), at `timestamp` (unix seconds). During a secret rotation a sender joins the
 * `v1=` parts of both: `t=…,v1=<old>,v1=<new>`.
 * @throws RangeError when `timestamp` is not whole unix seconds or `secret` is empty
 */
export function signHubPayload(body: string | Buffer, secret: string, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new RangeError(`timestamp must be unix seconds, got ${timestamp}`);
  if (secret === '') throw new RangeError('the signing secret is empty');
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(bytes).digest('hex')}`;
}

/**
 * `t=<digits>,v1=<64 hex>[,v1=<64 hex>…]`, spaces around items allowed. Other schemes
 * (`v0=`, a future `v2=`) are skipped so a sender can add one before the hub checks it;
 * anything else malformed refuses the whole header.
 */
function parseHubSignatureHeader(header: string): { timestamp: string; signatures: Buffer[] } | null {
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
