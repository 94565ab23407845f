import { createHmac, timingSafeEqual } from 'node:crypto';

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
