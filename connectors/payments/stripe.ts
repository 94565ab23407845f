import { matchesTimestampedHmac } from '../signatures.ts';
import { currencyExponent } from '../../core/money.ts';
import type { PaymentMethod } from '../../schemas/canonical-order.ts';
import { at, createReader, isObject, type At, type Reader } from '../reader.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { PaymentConnector, PaymentEvent, PaymentKind, PaymentNormalizeResult } from './types.ts';

/**
 * Stripe webhooks (snapshot events: `{ id, type, created, account?, data: { object } }`).
 * Fixtures, their sources and the signing rule: test/fixtures/stripe/README.md.
 */

/** How old a signed timestamp may be, in seconds (stripe-node's `DEFAULT_TOLERANCE`). */
const SIGNATURE_TOLERANCE_SECONDS = 300;
// A hostile header costs at most this many comparisons; rotation needs two.
const MAX_SIGNATURES = 8;
const MAX_SIGNATURE_HEADER_LENGTH = 4096;
// 9999-12-31T23:59:59Z: the last second an ISO-8601 timestamp with a four-digit year can name.
const MAX_UNIX_SECONDS = 253_402_300_799;

/** The event types that move money, and nothing else: every other type is stored and acknowledged. */
const RECORDED_TYPES = [
  'payment_intent.succeeded',
  'payment_intent.amount_capturable_updated',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'charge.refunded',
  'charge.dispute.created',
] as const;
type RecordedType = (typeof RECORDED_TYPES)[number];

export const stripe: PaymentConnector = {
  provider: 'stripe',
  secretNames: ['STRIPE_WEBHOOK_SECRET'],
  bodyFormat: 'json',
  // Stripe only looks at the status code; the hub's own JSON answer is fine.
  acknowledgement: null,

  /**
   * `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=<hex>…]`, each `v1` = hex(HMAC-SHA256(key = the
   * whole `whsec_…` string, `${t}.${raw body}`)); any one `v1` may match (secret rotation).
   * Refused when `t` is more than 300 s from now, either way. stripe-node's `constructEvent`
   * checks only the age and would take a signature dated in the future; the hub does not: a
   * message Stripe signs carries Stripe's time, so one dated ahead is either a badly skewed
   * clock (to be fixed, not worked around) or a message prepared to be replayed for longer.
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, now: Date): boolean {
    const secret = secrets.STRIPE_WEBHOOK_SECRET;
    const header = request.headers['stripe-signature'];
    // An unset secret must not turn into "anyone who signs with the empty key".
    if (!secret || !header) return false;
    const parsed = parseSignatureHeader(header);
    if (parsed === null) return false;
    const nowSeconds = Math.floor(now.getTime() / 1000);
    if (!Number.isFinite(nowSeconds) || Math.abs(nowSeconds - Number(parsed.timestamp)) > SIGNATURE_TOLERANCE_SECONDS) return false;
    // Over the bytes as received (stripe-node decodes them as UTF-8 first; the same for any body Stripe sends).
    return matchesTimestampedHmac(request.rawBody, secret, parsed.timestamp, parsed.signatures);
  },

  /**
   * Stripe sends no event id or type in its headers, so there is nothing to read here: the hub
   * falls back to the body's hash for duplicate deliveries. The event id is in the body, and
   * `normalize` builds entry ids from the objects themselves, so a movement reported twice is
   * still recorded once.
   */
  describe(_request: InboundRequest): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  normalize(body: unknown, _delivery: InboundDelivery): PaymentNormalizeResult {
    if (!isObject(body)) return { ok: false, problems: [{ path: '/', message: 'the event must be a JSON object' }] };
    const read = createReader();
    const root: At = { value: body, path: '' };

    const typeNode = at(root, 'type');
    const type = read.text(typeNode);
    if (type === null) {
      if (read.problems.length === 0) read.report(typeNode.path, 'is required');
      return { ok: false, problems: read.problems };
    }
    if (!isRecordedType(type)) {
      return { ok: false, ignore: true, problems: [{ path: typeNode.path, message: `${JSON.stringify(type)} does not move money; stored, not recorded` }] };
    }

    const data = at(root, 'data');
    const event: EventContext = {
      id: requiredText(read, at(root, 'id')),
      occurredAt: unixTime(read, at(root, 'created')),
      account: read.text(at(root, 'account')),
      previousAttributes: at(data, 'previous_attributes'),
    };
    const object = at(data, 'object');
    if (!read.object(object, 'required')) return { ok: false, problems: read.problems };

    const events = entriesOf(type, read, object, event);
    if (read.problems.length > 0) return { ok: false, problems: read.problems };
    if (events.length === 0) {
      return { ok: false, ignore: true, problems: [{ path: object.path, message: `this ${type} records no movement of money: nothing left to capture, nothing authorized to void, or no refund that moved money` }] };
    }
    return { ok: true, events };
  },
};

/** What the envelope says about every entry of the event. */
interface EventContext {
  id: string;
  occurredAt: string;
  /** the connected account (Stripe Connect), or null for the platform's own */
  account: string | null;
  /** `data.previous_attributes`: the old values of what changed, on update-like events */
  previousAttributes: At;
}

function entriesOf(type: RecordedType, read: Reader, object: At, event: EventContext): PaymentEvent[] {
  switch (type) {
    case 'payment_intent.succeeded':
      return paymentIntentEntry(read, object, event, 'captured', 'amount_received');
    case 'payment_intent.amount_capturable_updated':
      return paymentIntentEntry(read, object, event, 'authorized', 'amount_capturable');
    case 'payment_intent.payment_failed':
      return paymentIntentEntry(read, object, event, 'failed', 'amount');
    case 'payment_intent.canceled':
      return paymentIntentEntry(read, object, event, 'voided', 'amount');
    case 'charge.refunded':
      return refundEntries(read, object, event);
    case 'charge.dispute.created':
      return [disputeEntry(read, object, event)];
    default: {
      const unhandled: never = type;
      return unhandled;
    }
  }
}

/**
 * One entry for a PaymentIntent event. The ids name the movement, not the event: the capture
 * and the authorization happen once per PaymentIntent; a failure once per attempt (the
 * attempt's charge, or the event when there is none); the cancellation once.
 */
function paymentIntentEntry(
  read: Reader,
  intent: At,
  event: EventContext,
  kind: Exclude<PaymentKind, 'refunded' | 'disputed'>,
  amountKey: 'amount' | 'amount_received' | 'amount_capturable',
): PaymentEvent[] {
  expectObjectType(read, intent, 'payment_intent');
  const paymentId = requiredText(read, at(intent, 'id'));
  const amount = minorUnits(read, at(intent, amountKey));
  // An amount_capturable_updated that leaves nothing to capture (the authorization was
  // captured or released) is not an authorization; a PaymentIntent cancelled before any
  // charge was attempted (an expired Checkout Session) had nothing to void.
  if (kind === 'authorized' && amount === 0) return [];
  if (kind === 'voided' && idOf(read, at(intent, 'latest_charge')) === null) return [];

  const error = at(intent, 'last_payment_error');
  const attempt = kind === 'failed' ? (idOf(read, at(error, 'charge')) ?? idOf(read, at(intent, 'latest_charge')) ?? event.id) : null;
  const entry: PaymentEvent = {
    provider: 'stripe',
    account: event.account,
    entryId: attempt === null ? `${paymentId}:${kind}` : `${paymentId}:failed:${attempt}`,
    paymentId,
    kind,
    amount,
    currency: currencyOf(read, at(intent, 'currency')),
    occurredAt: event.occurredAt,
    method: methodOfTypes(read, at(intent, 'payment_method_types')),
    match: matchOf(read, at(intent, 'metadata')),
  };
  if (kind === 'failed') entry.failureReason = read.text(at(error, 'message'));
  return [entry];
}

/**
 * `charge.refunded` (also sent for partial refunds) carries the whole Charge: one entry per
 * refund in `refunds.data`, keyed by the refund's own id, so a refund listed again by the
 * next refund's event is recorded once. Refunds that failed or were cancelled moved no money.
 *
 * Since API version 2022-11-15 the list is no longer included. Then the one thing known is
 * the new cumulative `amount_refunded`: the entry is keyed by the charge and that total
 * (which only grows, so it names this refund), and its amount is the increase over
 * `data.previous_attributes.amount_refunded` when the event carries it, else the total.
 *
 * Before API version 2025-03-31 cancelling an uncaptured payment created a Refund too; on a
 * charge that was never captured that is the release of an authorization, which
 * `payment_intent.canceled` reports as `voided`, so it is not recorded as a refund.
 */
function refundEntries(read: Reader, charge: At, event: EventContext): PaymentEvent[] {
  expectObjectType(read, charge, 'charge');
  const chargeId = requiredText(read, at(charge, 'id'));
  const paymentId = idOf(read, at(charge, 'payment_intent')) ?? chargeId;
  const currency = currencyOf(read, at(charge, 'currency'));
  const method = methodOfCharge(read, at(charge, 'payment_method_details'));
  const match = matchOf(read, at(charge, 'metadata'));
  if (at(charge, 'captured').value === false) return [];

  const base = { provider: 'stripe', account: event.account, paymentId, kind: 'refunded' as const, currency, method, match };
  const refunds = at(charge, 'refunds');
  if (refunds.value != null) {
    read.object(refunds, 'required');
    return read.list(at(refunds, 'data'), 'optional').flatMap((refund): PaymentEvent[] => {
      if (!read.object(refund, 'required')) return [];
      const status = read.text(at(refund, 'status'));
      if (status === 'failed' || status === 'canceled') return [];
      const created = at(refund, 'created');
      const refundCurrency = at(refund, 'currency');
      return [{
        ...base,
        entryId: requiredText(read, at(refund, 'id')),
        amount: minorUnits(read, at(refund, 'amount')),
        currency: refundCurrency.value == null ? currency : currencyOf(read, refundCurrency),
        // the refund's own time, the same in every event that lists it
        occurredAt: created.value == null ? event.occurredAt : unixTime(read, created),
      }];
    });
  }

  // Without the refunds list only the charge's running total is known: one cumulative entry
  // per charge, kept at the largest total (API versions since 2022-11-15).
  const total = minorUnits(read, at(charge, 'amount_refunded'));
  if (total === 0) return [];
  return [{ ...base, entryId: `${chargeId}:refunded`, amount: total, occurredAt: event.occurredAt, cumulative: true }];
}

/** `charge.dispute.created` carries a Dispute (`dp_…`): one dispute, one entry. */
function disputeEntry(read: Reader, dispute: At, event: EventContext): PaymentEvent {
  expectObjectType(read, dispute, 'dispute');
  const disputeId = requiredText(read, at(dispute, 'id'));
  const created = at(dispute, 'created');
  return {
    provider: 'stripe',
    account: event.account,
    entryId: disputeId,
    paymentId: idOf(read, at(dispute, 'payment_intent')) ?? idOf(read, at(dispute, 'charge')) ?? disputeId,
    kind: 'disputed',
    amount: minorUnits(read, at(dispute, 'amount')),
    currency: currencyOf(read, at(dispute, 'currency')),
    occurredAt: created.value == null ? event.occurredAt : unixTime(read, created),
    method: methodOfCharge(read, at(dispute, 'payment_method_details')),
    // A dispute's metadata is its own (usually empty); the payment id finds the order.
    match: matchOf(read, at(dispute, 'metadata')),
  };
}

interface SignatureHeader {
  /** exactly as sent: it is part of the signed string */
  timestamp: string;
  signatures: Buffer[];
}

/**
 * `t=<digits>,v1=<64 lower-case hex>[,…]`, read as stripe-node reads it (no spaces, items it
 * does not know skipped, a `v1` that is not a digest simply never matches), but stricter
 * where the SDK is lenient: exactly one `t`, written as canonical digits (the SDK's
 * `parseInt` would sign `t=0123` as `123`), and a bounded header.
 */
function parseSignatureHeader(header: string): SignatureHeader | null {
  if (header.length > MAX_SIGNATURE_HEADER_LENGTH) return null;
  let timestamp: string | null = null;
  const signatures: Buffer[] = [];
  for (const item of header.split(',')) {
    const separator = item.indexOf('=');
    const key = separator < 0 ? item : item.slice(0, separator);
    const value = separator < 0 ? '' : item.slice(separator + 1);
    if (key === 't') {
      if (timestamp !== null || !/^(?:0|[1-9]\d{0,11})$/.test(value)) return null;
      timestamp = value;
    } else if (key === 'v1' && /^[0-9a-f]{64}$/.test(value)) {
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestamp === null || signatures.length === 0 || signatures.length > MAX_SIGNATURES) return null;
  return { timestamp, signatures };
}

function isRecordedType(type: string): type is RecordedType {
  return (RECORDED_TYPES as readonly string[]).includes(type);
}

/** a non-blank string; '' after reporting it */
function requiredText(read: Reader, node: At): string {
  const text = read.text(node);
  if (text === null && node.value == null) read.report(node.path, 'is required');
  else if (text === null && node.value === '') read.report(node.path, 'must not be blank');
  return text ?? '';
}

/** Unix seconds (Stripe's `created`) → UTC ISO-8601; '' after reporting a problem. */
function unixTime(read: Reader, node: At): string {
  const { value } = node;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0 && value <= MAX_UNIX_SECONDS) {
    return new Date(value * 1000).toISOString();
  }
  read.report(node.path, value == null ? 'is required' : 'must be a time in unix seconds');
  return '';
}

/**
 * Stripe amounts are already integers in the currency's smallest unit (cents; yen for the
 * zero-decimal JPY), so nothing is converted: only checked. 0 after reporting a problem.
 */
function minorUnits(read: Reader, node: At): number {
  const { value } = node;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  // The lossless parser hands integers beyond 2^53 over as digit strings: those are out of range too.
  read.report(node.path, value == null ? 'is required' : 'must be a whole number of minor units, at least 0');
  return 0;
}

/** Stripe writes currencies in lower case (`"usd"`); the hub in ISO 4217 upper case. */
function currencyOf(read: Reader, node: At): string {
  const text = read.text(node);
  const code = text?.toUpperCase() ?? '';
  try {
    currencyExponent(code);
    return code;
  } catch {
    read.report(node.path, text === null && node.value == null ? 'is required' : 'must be an ISO 4217 currency code');
    return 'XXX';
  }
}

/** An object's id, whether the field holds the id or (expanded) the object; null when absent. */
function idOf(read: Reader, node: At): string | null {
  if (isObject(node.value)) return read.text(at(node, 'id'));
  return read.text(node);
}

/** The body names its object's type; one that contradicts the event type is not what it claims. */
function expectObjectType(read: Reader, node: At, expected: string): void {
  const kind = at(node, 'object');
  if (kind.value !== undefined && kind.value !== expected) read.report(kind.path, `must be "${expected}" for this event type`);
}

/**
 * The order behind a payment, from the object's `metadata`: the WooCommerce Stripe gateway
 * writes the WooCommerce order id as `order_id`; the hub's own checkout `hub_order_id` and
 * `order_number`.
 */
function matchOf(read: Reader, metadata: At): PaymentEvent['match'] {
  const match: PaymentEvent['match'] = {};
  if (!read.object(metadata, 'optional')) return match;
  const orderId = read.text(at(metadata, 'hub_order_id'));
  const orderNumber = read.text(at(metadata, 'order_number'));
  const externalOrderId = read.text(at(metadata, 'order_id'));
  if (orderId !== null) match.orderId = orderId;
  if (orderNumber !== null) match.orderNumber = orderNumber;
  if (externalOrderId !== null) match.externalOrderId = externalOrderId;
  return match;
}

// Stripe payment method types by what the hub calls them. Apple Pay and Google Pay are
// `card` with `card.wallet` set; Klarna counts as a wallet, as in the Shopify connector.
const CARD_TYPES: readonly string[] = ['card', 'card_present', 'interac_present'];
const WALLET_TYPES: readonly string[] = [
  'link', 'paypal', 'cashapp', 'amazon_pay', 'revolut_pay', 'alipay', 'wechat_pay', 'grabpay', 'mobilepay',
  'kakao_pay', 'naver_pay', 'samsung_pay', 'payco', 'swish', 'twint', 'satispay', 'klarna',
];
const BANK_TYPES: readonly string[] = [
  'sepa_debit', 'us_bank_account', 'bacs_debit', 'au_becs_debit', 'acss_debit', 'nz_bank_account', 'ideal', 'sofort',
  'bancontact', 'eps', 'giropay', 'p24', 'fpx', 'customer_balance', 'pay_by_bank', 'paynow', 'promptpay', 'pix',
];

function methodOfType(type: string): PaymentMethod {
  if (CARD_TYPES.includes(type)) return 'card';
  if (WALLET_TYPES.includes(type)) return 'wallet';
  if (BANK_TYPES.includes(type)) return 'bank_transfer';
  return 'unknown';
}

/**
 * A PaymentIntent lists the types it *accepts*, not the one used (that is on the charge).
 * One kind listed is that kind; several (`card` and `link` with automatic payment methods)
 * count as card, by far the usual one; none listed is card too.
 */
function methodOfTypes(read: Reader, node: At): PaymentMethod {
  const kinds = new Set(read.list(node, 'optional').flatMap((item) => {
    const type = read.text(item);
    return type === null ? [] : [methodOfType(type)];
  }));
  if (kinds.size === 1) return [...kinds][0]!;
  return kinds.size === 0 || kinds.has('card') ? 'card' : 'unknown';
}

/** The method a charge (or dispute) was paid with: its `payment_method_details`; card when absent. */
function methodOfCharge(read: Reader, details: At): PaymentMethod {
  if (!read.object(details, 'optional')) return 'card';
  const type = read.text(at(details, 'type'));
  if (type === null) return 'card';
  const wallet = at(at(details, type), 'wallet').value;
  return type === 'card' && isObject(wallet) ? 'wallet' : methodOfType(type);
}
