import { createPublicKey, verify as verifySignature, type KeyObject } from 'node:crypto';
import { at, createReader, toUtcTimestamp, type At, type Reader } from '../reader.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';
import type { PaymentConnector, PaymentEvent, PaymentNormalizeResult } from './types.ts';
import { matchOf } from './match.ts';

/**
 * Alipay (支付宝) asynchronous trade notifications (`notify_type=trade_status_sync`): an HTML
 * form POST, signed RSA2. Fixture and field notes: test/fixtures/alipay/trade_status_sync.notify.md.
 *
 * Every notification is a snapshot of one trade (`trade_no`). `normalize` derives from it
 * every movement the snapshot proves, each under an entry id of its own, so the repeats
 * (Alipay resends for about 25 h, and TRADE_FINISHED repeats what TRADE_SUCCESS said) are
 * recorded once by the ledger.
 */
export const alipay: PaymentConnector = {
  provider: 'alipay',
  secretNames: ['ALIPAY_PUBLIC_KEY_PEM'],
  bodyFormat: 'form',
  // Anything else and Alipay resends the notification.
  acknowledgement: { contentType: 'text/plain', body: 'success' },

  /**
   * `sign` = base64 SHA256withRSA (`sign_type=RSA2`), by Alipay's key, over the other
   * fields but `sign_type`: sorted by name, URL-decoded, `k=v` joined with `&`, empty values
   * included. Refused as well:
   * - `sign_type` other than RSA2: it is not signed, so following a legacy `RSA` (SHA-1)
   *   would let the sender pick the weaker check;
   * - a field sent twice: the signed string and the fields the hub reads could disagree;
   * - a `charset` other than UTF-8: the form is decoded as UTF-8, so a GBK notification
   *   could not match what Alipay signed (merchants choose the charset when creating the trade).
   */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>): boolean {
    const key = alipayPublicKey(secrets.ALIPAY_PUBLIC_KEY_PEM);
    const fields = formFields(request.rawBody);
    if (key === null || fields === null) return false;
    const signature = base64Bytes(fields.get('sign'));
    if (signature === null || fields.get('sign_type') !== 'RSA2') return false;
    const charset = fields.get('charset');
    if (charset !== undefined && !/^utf-?8$/i.test(charset)) return false;

    const content = [...fields]
      .filter(([name]) => name !== 'sign' && name !== 'sign_type')
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, value]) => `${name}=${value}`)
      .join('&');
    return verifySignature('sha256', Buffer.from(content, 'utf8'), key, signature);
  },

  /**
   * Nothing identifies the delivery outside the body (`notify_id`, `notify_type` are form
   * fields): no event id, no topic. The hub hashes the body; the ledger keys the movements.
   */
  describe(): InboundDelivery {
    return { eventId: null, topic: '' };
  },

  normalize(body: unknown): PaymentNormalizeResult {
    if (!isFormFields(body)) {
      return { ok: false, problems: [{ path: '/', message: 'the notification must be form fields (name → text)' }] };
    }
    const read = createReader();
    const root: At = { value: body, path: '' };

    const notifyType = read.text(at(root, 'notify_type'));
    if (notifyType !== null && notifyType !== 'trade_status_sync') {
      return ignored('/notify_type', `${notifyType} is not a trade notification`);
    }
    const statusNode = at(root, 'trade_status');
    const status = read.text(statusNode);
    switch (status) {
      case null:
        return { ok: false, problems: [{ path: statusNode.path, message: 'is required' }] };
      case 'WAIT_BUYER_PAY':
        // The trade exists but nothing is paid, nor held: Alipay has no authorization here.
        return ignored(statusNode.path, 'WAIT_BUYER_PAY: the buyer has not paid yet');
      case 'TRADE_SUCCESS':
      case 'TRADE_FINISHED':
      case 'TRADE_CLOSED':
        break;
      default:
        return { ok: false, problems: [{ path: statusNode.path, message: `unknown trade status ${status}` }] };
    }

    const tradeNoNode = at(root, 'trade_no');
    const tradeNo = read.text(tradeNoNode);
    if (tradeNo === null) read.report(tradeNoNode.path, 'is required');
    // `total_amount` is in yuan unless the trade was priced in another currency (cross-border):
    // `trans_currency` is "标价币种, total_amount 对应的币种单位".
    const currency = at(root, 'trans_currency').value == null ? 'CNY' : read.currency(at(root, 'trans_currency'));
    const total = read.amount(at(root, 'total_amount'), currency);
    const refundNode = at(root, 'refund_fee');
    const refunded = read.text(refundNode) === null ? 0 : read.amount(refundNode, currency);

    // seller_id is the merchant's Alipay account (2088…); app_id only the app it used.
    const account = read.text(at(root, 'seller_id'));
    const match = matchOf([read.text(at(root, 'out_trade_no'))]);
    const entry = (entryId: string, kind: PaymentEvent['kind'], amount: number, when: string): PaymentEvent => ({
      provider: 'alipay',
      account,
      entryId,
      paymentId: tradeNo ?? '',
      kind,
      amount,
      currency: currency ?? '',
      occurredAt: beijingTime(read, firstPresent(root, [when, 'notify_time'])),
      method: 'wallet',
      match,
      failureReason: null,
    });

    // TRADE_CLOSED is either a trade closed unpaid (timeout, or closed by the merchant) or
    // one fully refunded; only the refund tells them apart.
    const paid = status !== 'TRADE_CLOSED' || refunded > 0;
    const events = paid ? [entry(`trade:${tradeNo}`, 'captured', total, 'gmt_payment')] : [entry(`close:${tradeNo}`, 'voided', total, 'gmt_close')];
    // `refund_fee` is the trade's refunded total so far (总退款金额), not one refund's amount,
    // and it grows with every refund: one cumulative entry per trade, which the ledger keeps
    // at the largest total reported, however many notifications repeat or raise it.
    if (refunded > 0) events.push({ ...entry(`refund:${tradeNo}`, 'refunded', refunded, 'gmt_refund'), cumulative: true });

    if (read.problems.length > 0) return { ok: false, problems: read.problems };
    return { ok: true, events };
  },
};

function ignored(path: string, message: string): PaymentNormalizeResult {
  return { ok: false, problems: [{ path, message }], ignore: true };
}

function isFormFields(body: unknown): body is Record<string, string> {
  return (
    typeof body === 'object' && body !== null && !Array.isArray(body) && Object.values(body).every((value) => typeof value === 'string')
  );
}

/** The first of `names` with a non-blank value, else the last (where its absence is reported). */
function firstPresent(root: At, names: string[]): At {
  const nodes = names.map((name) => at(root, name));
  return nodes.find((node) => typeof node.value === 'string' && node.value !== '') ?? nodes[nodes.length - 1]!;
}

const BEIJING_TIME = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)$/;

/** Alipay's `yyyy-MM-dd HH:mm:ss[.SSS]`, Beijing time (UTC+8, no daylight saving) with no offset written → UTC. */
function beijingTime(read: Reader, node: At): string {
  const text = read.text(node);
  const parts = text === null ? null : BEIJING_TIME.exec(text);
  const utc = parts ? toUtcTimestamp(`${parts[1]}T${parts[2]}+08:00`) : null;
  if (utc === null) read.report(node.path, 'must be a Beijing time "yyyy-MM-dd HH:mm:ss"');
  return utc ?? '';
}


/** The form's fields by name, URL-decoded as UTF-8; null when a name occurs twice. */
function formFields(rawBody: Buffer): Map<string, string> | null {
  const fields = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(rawBody.toString('utf8'))) {
    if (fields.has(name)) return null;
    fields.set(name, value);
  }
  return fields;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (Buffer.from skips invalid characters silently), or null. */
function base64Bytes(text: string | undefined): Buffer | null {
  return text && BASE64.test(text) ? Buffer.from(text, 'base64') : null;
}

/**
 * The configured Alipay public key: a PEM (public key or certificate), or the bare base64
 * the Alipay console shows ("支付宝公钥", an SPKI key without PEM lines). Null unless RSA.
 */
function alipayPublicKey(text: string | undefined): KeyObject | null {
  if (!text?.trim()) return null;
  try {
    const key = text.includes('-----BEGIN')
      ? createPublicKey(text)
      : createPublicKey({ key: Buffer.from(text.replace(/\s+/g, ''), 'base64'), format: 'der', type: 'spki' });
    return key.asymmetricKeyType === 'rsa' ? key : null;
  } catch {
    return null;
  }
}
