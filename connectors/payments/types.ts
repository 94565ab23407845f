import type { InputProblem } from '../../core/errors.ts';
import type { PaymentMethod } from '../../schemas/canonical-order.ts';
import type { InboundDelivery, InboundRequest } from '../types.ts';

/** What happened to money, as the hub's ledger records it. */
export type PaymentKind = 'authorized' | 'captured' | 'failed' | 'refunded' | 'disputed' | 'voided';

/**
 * One movement of money reported by a payment provider, in the hub's terms. A provider
 * event may carry several (a charge with two refunds). `entryId` names the movement itself
 * (a capture id, a refund id), so the same movement reported by two events, or twice, is
 * recorded once.
 */
export interface PaymentEvent {
  provider: string;
  /** the provider account it happened in (Stripe account, Adyen merchant account), when known */
  account: string | null;
  /** unique per provider for this movement of money */
  entryId: string;
  /** the provider's payment it belongs to (PaymentIntent, capture, pspReference, trade_no) */
  paymentId: string;
  kind: PaymentKind;
  /** minor units of `currency`, ≥ 0: the amount of this movement (a refund's own amount) */
  amount: number;
  currency: string;
  /** UTC ISO-8601 */
  occurredAt: string;
  method: PaymentMethod;
  /** how to find the order: the hub's id or number, or the channel's own order id */
  match: { orderId?: string | undefined; orderNumber?: string | undefined; externalOrderId?: string | undefined };
  /** why a payment failed, in the provider's words */
  failureReason?: string | null;
  /**
   * The amount is a running total (Alipay's `refund_fee`, a charge's `amount_refunded`):
   * the ledger keeps the largest total reported under this `entryId` instead of adding.
   */
  cumulative?: boolean;
}

export type PaymentNormalizeResult =
  | { ok: true; events: PaymentEvent[] }
  | { ok: false; problems: InputProblem[]; ignore?: boolean };

/** A payment provider that reports by webhook. One plain object per provider. */
export interface PaymentConnector {
  readonly provider: string;
  /** environment variables holding its secrets (webhook secret, HMAC key, certificate, public key) */
  readonly secretNames: readonly string[];
  /** how the body is encoded: JSON, or an HTML form (Alipay) */
  readonly bodyFormat: 'json' | 'form';
  /** true when the request really comes from the provider; `now` for signed timestamps */
  verify(request: InboundRequest, secrets: Readonly<Record<string, string>>, now: Date): boolean;
  describe(request: InboundRequest): InboundDelivery;
  /** pure: the parsed body (JSON value, or the form's fields as a string record) → ledger entries */
  normalize(body: unknown, delivery: InboundDelivery): PaymentNormalizeResult;
  /** what the provider expects as a 2xx answer body ("[accepted]" for Adyen, "success" for Alipay) */
  readonly acknowledgement: { contentType: string; body: string } | null;
}
