import { createHmac, timingSafeEqual } from 'node:crypto';
import { HubError } from '../../core/errors.ts';
import { parseJsonLossless } from '../../core/json.ts';
import { currencyExponent } from '../../core/money.ts';
import type { PaymentMethod } from '../../schemas/canonical-order.ts';
import { at, createReader, isObject, type At, type Reader } from '../reader.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { PaymentConnector, PaymentEvent, PaymentKind, PaymentNormalizeResult } from './types.ts';

/**
 * Adyen standard webhooks: `{ live, notificationItems: [{ NotificationRequestItem: {…} }] }`,
 * each item signed on its own inside the body. Fixtures, their sources and the signing rule:
 * test/fixtures/adyen/authorisation.success.md.
 *
 * Adyen sends CAPTURE as its own notification, so AUTHORISATION is always `authorized`, even
 * on a merchant account that captures automatically (where Adyen sends no CAPTURE unless the
 * account is set up to): whether an authorization there counts as paid is the hub's call,
 * from the account's capture setting, not this connector's.
 */

/** A hub order number (`HUB-20261124-00000042`, see core/order/number.ts); any other reference is the channel's own. */
const HUB_ORDER_NUMBER = /^[A-Z][A-Z0-9]{0,7}-\d{8}-\d+$/;
// Adyen batches at most a few items; a hostile body costs at most this many HMACs.
const MAX_ITEMS = 100;

export const adyen: PaymentConnector = {
  provider: 'adyen',
  secretNames: ['ADYEN_HMAC_KEY'],
  bodyFormat: 'json',
  // Anything else and Adyen queues the whole batch again.
  acknowledgement: { contentType: 'text/plain', body: '[accepted]' },

  /**
   * True when every item carries `additionalData.hmacSignature` = base64(HMAC-SHA256(key =
   * the hex-decoded `ADYEN_HMAC_KEY`, `pspReference:originalReference:merchantAccountCode:
   * merchantReference:value:currency:eventCode:success`)), absent fields as ''. The body is
   * parsed here the way the hub parses it for `normalize` (losslessly, a repeated key with
   * two values refused), so both read the same values. No item, or any item unsigned or
   * wrongly signed, refuses the whole body.
   *
   * The signature covers those eight fields only: `eventDate`, `reason`, `paymentMethod` and
   * `additionalData` are not authenticated, and nothing dates the signature, so a captured
   * notification can be replayed (entry ids keep a replay from being recorded twice).
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>): boolean {
    const hexKey = secrets.ADYEN_HMAC_KEY ?? '';
    // An unset or malformed key must not turn into "anyone who signs with the empty key".
    if (!/^(?:[0-9a-fA-F]{2})+$/.test(hexKey)) return false;
    const key = Buffer.from(hexKey, 'hex');
    let body: unknown;
    try {
      body = parseJsonLossless(request.rawBody.toString('utf8'));
    } catch (error) {
      if (error instanceof HubError) return false;
      throw error;
    }
    const items = isObject(body) ? body.notificationItems : undefined;
    if (!Array.isArray(items) || items.length === 0 || items.length > MAX_ITEMS) return false;
    let allMatch = true;
    for (const wrapper of items) {
      const item: unknown = isObject(wrapper) && Object.hasOwn(wrapper, 'NotificationRequestItem') ? wrapper.NotificationRequestItem : undefined;
      // Every item is checked, so the time taken does not tell which one failed.
      allMatch = itemSignatureMatches(item, key) && allMatch;
    }
    return allMatch;
  },

  /** Adyen sends no event id: each item has its own identity, and entry ids are built from it. */
  describe(_request: InboundRequest): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  normalize(body: unknown, _delivery: InboundDelivery): PaymentNormalizeResult {
    if (!isObject(body)) return { ok: false, problems: [{ path: '/', message: 'the notification must be a JSON object' }] };
    const read = createReader();
    const itemsNode = at({ value: body, path: '' }, 'notificationItems');
    const events = read.list(itemsNode, 'required').flatMap((wrapper) => {
      const item = at(wrapper, 'NotificationRequestItem');
      if (!read.object(item, 'required')) return [];
      const entry = entryOf(read, item);
      return entry === null ? [] : [entry];
    });
    if (read.problems.length > 0) return { ok: false, problems: read.problems };
    if (events.length === 0) {
      return { ok: false, ignore: true, problems: [{ path: itemsNode.path, message: 'no item reports a movement of money the hub records; stored, not recorded' }] };
    }
    return { ok: true, events };
  },
};

/** The ledger kind of an item, or null for an event code (or an unsuccessful request) that moved no money. */
function kindOf(eventCode: string, success: boolean): PaymentKind | null {
  switch (eventCode) {
    case 'AUTHORISATION':
      return success ? 'authorized' : 'failed';
    case 'CAPTURE':
      return success ? 'captured' : null;
    case 'REFUND':
      return success ? 'refunded' : null;
    case 'CANCELLATION':
      return success ? 'voided' : null;
    // the dispute opened (no money moved yet) and the chargeback booked: one dispute either way
    case 'NOTIFICATION_OF_CHARGEBACK':
    case 'CHARGEBACK':
      return 'disputed';
    default:
      return null;
  }
}

/**
 * One item → one entry, or null when it records nothing. `pspReference` names the item's own
 * transaction (the payment for AUTHORISATION, the capture, refund or cancellation for a
 * modification, the dispute for a chargeback) and `originalReference` the payment it
 * belongs to. A refund's entry id is its own pspReference; the others add the kind, so the
 * dispute's two notifications (opened, then booked) are one entry.
 */
function entryOf(read: Reader, item: At): PaymentEvent | null {
  const eventCodeNode = at(item, 'eventCode');
  const eventCode = read.text(eventCodeNode);
  if (eventCode === null) {
    if (eventCodeNode.value == null || eventCodeNode.value === '') read.report(eventCodeNode.path, 'is required');
    return null;
  }
  // other event codes are left alone, whatever else the item holds
  if (kindOf(eventCode, true) === null && kindOf(eventCode, false) === null) return null;
  const success = successOf(read, at(item, 'success'));
  const kind = success === null ? null : kindOf(eventCode, success);
  if (kind === null) return null;

  const pspReferenceNode = at(item, 'pspReference');
  const pspReference = read.text(pspReferenceNode);
  if (pspReference === null && (pspReferenceNode.value == null || pspReferenceNode.value === '')) read.report(pspReferenceNode.path, 'is required');
  const psp = pspReference ?? '';
  const amount = at(item, 'amount');
  read.object(amount, 'required');
  const reference = read.text(at(item, 'merchantReference'));

  const entry: PaymentEvent = {
    provider: 'adyen',
    account: read.text(at(item, 'merchantAccountCode')),
    entryId: kind === 'refunded' ? psp : `${psp}:${kind}`,
    paymentId: read.text(at(item, 'originalReference')) ?? psp,
    kind,
    amount: minorUnits(read, at(amount, 'value')),
    currency: currencyOf(read, at(amount, 'currency')),
    occurredAt: read.timestamp(at(item, 'eventDate')),
    method: methodOf(read.text(at(item, 'paymentMethod'))),
    match: reference === null ? {} : HUB_ORDER_NUMBER.test(reference) ? { orderNumber: reference } : { externalOrderId: reference },
  };
  if (kind === 'failed') entry.failureReason = read.text(at(item, 'reason'));
  return entry;
}

/** `success` is the string "true" or "false" (a JSON boolean is taken too); null after reporting. */
function successOf(read: Reader, node: At): boolean | null {
  const { value } = node;
  if (value === true || value === 'true') return true;
  if (value === false || value === 'false') return false;
  read.report(node.path, value == null ? 'is required' : 'must be "true" or "false"');
  return null;
}

/** `amount.value` is already an integer in minor units (10100 = EUR 101.00); 0 after reporting. */
function minorUnits(read: Reader, node: At): number {
  const { value } = node;
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  read.report(node.path, value == null ? 'is required' : 'must be a whole number of minor units, at least 0');
  return 0;
}

function currencyOf(read: Reader, node: At): string {
  const code = read.text(node);
  try {
    if (code !== null) {
      currencyExponent(code);
      return code;
    }
  } catch {
    // reported below
  }
  read.report(node.path, node.value == null ? 'is required' : 'must be an ISO 4217 currency code');
  return 'XXX';
}

/**
 * The item's signing string, field by field as Adyen's own libraries join them: absent or
 * null is '', `amount.value` the integer in decimal. Null when a field is not a string,
 * number or boolean: no signature can cover it.
 */
function signingString(item: Record<string, unknown>): string | null {
  const amount = own(item, 'amount');
  const fields = [
    own(item, 'pspReference'),
    own(item, 'originalReference'),
    own(item, 'merchantAccountCode'),
    own(item, 'merchantReference'),
    isObject(amount) ? own(amount, 'value') : undefined,
    isObject(amount) ? own(amount, 'currency') : undefined,
    own(item, 'eventCode'),
    own(item, 'success'),
  ];
  const texts: string[] = [];
  for (const field of fields) {
    if (field == null) texts.push('');
    else if (typeof field === 'string' || typeof field === 'boolean' || (typeof field === 'number' && Number.isFinite(field))) texts.push(String(field));
    else return null;
  }
  return texts.join(':');
}

function itemSignatureMatches(item: unknown, key: Buffer): boolean {
  if (!isObject(item)) return false;
  const additionalData = own(item, 'additionalData');
  const sent = isObject(additionalData) ? own(additionalData, 'hmacSignature') : undefined;
  const text = signingString(item);
  if (typeof sent !== 'string' || text === null) return false;
  const expected = createHmac('sha256', key).update(text, 'utf8').digest();
  // Compared as base64 text, so a signature spelt differently (padding, junk) never matches.
  const given = Buffer.from(sent, 'utf8');
  const wanted = Buffer.from(expected.toString('base64'), 'utf8');
  return given.length === wanted.length && timingSafeEqual(given, wanted);
}

// Adyen `paymentMethod` values (`visa`, `mc`, `amex_applepay`, `paypal`, `ideal`…) by what the
// hub calls them; Klarna counts as a wallet, as in the Shopify connector.
const WALLET_MARKERS = ['applepay', 'googlepay', 'paywithgoogle', 'samsungpay', 'paypal', 'amazonpay', 'alipay', 'wechatpay', 'mobilepay', 'vipps', 'twint', 'swish', 'klarna', 'grabpay', 'kakaopay', 'gcash', 'momo_wallet'];
const BANK_MARKERS = ['ideal', 'sepadirectdebit', 'directebanking', 'ach', 'trustly', 'banktransfer', 'onlinebanking', 'giropay', 'eps', 'bacs', 'directdebit', 'paybybank', 'pix', 'blik'];
const CARD_BRANDS = ['visa', 'mc', 'amex', 'discover', 'diners', 'jcb', 'maestro', 'cup', 'cartebancaire', 'bcmc', 'elo', 'hipercard', 'dankort', 'mir', 'troy', 'accel', 'nyce', 'pulse', 'star', 'eftpos_australia', 'interac_card', 'girocard', 'card', 'scheme'];

function methodOf(paymentMethod: string | null): PaymentMethod {
  if (paymentMethod === null) return 'unknown';
  const name = paymentMethod.toLowerCase();
  // wallets first: `visa_applepay` is a card in a wallet
  if (WALLET_MARKERS.some((marker) => name.includes(marker))) return 'wallet';
  if (BANK_MARKERS.some((marker) => name === marker || name.startsWith(`${marker}_`))) return 'bank_transfer';
  if (CARD_BRANDS.some((brand) => name === brand || name.startsWith(`${brand}_`))) return 'card';
  return 'unknown';
}

/** An own property only, so `constructor` or `__proto__` never leak in. */
function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}
