import { createHash } from 'node:crypto';
import type { RefundClient } from '../../connectors/payments/refunds.ts';
import { withSop } from '../config/business.ts';
import { withTransaction, type Db, type Tx } from '../db/pool.ts';
import { openException } from '../db/sql/exceptions.ts';
import { lockOrder } from '../db/sql/orders.ts';
import { ledgerOf } from '../db/sql/payments.ts';
import { recordRefundAnswer, recordRefundByHand, recordRefundRequested, refundsAsked, unconfirmedRefunds, type AskedRefund } from '../db/sql/refunds.ts';
import type { CallingStage } from '../messaging/consume.ts';
import type { CloudEvent } from '../messaging/cloudevent.ts';
import { ack, park, retry } from '../messaging/decision.ts';
import { applyOrderChange } from './apply.ts';
import { notification } from '../pipeline/notify.ts';
import { formatMinorUnits } from '../money.ts';
import { returnRefunded } from './returns.ts';
import type { StageContext } from './context.ts';

/** One movement of an order's ledger, as `ledgerOf` reads it. */
export type LedgerEntry = Awaited<ReturnType<typeof ledgerOf>>[number];

/** What can still be refunded of one provider payment, in the order's currency. */
export interface RefundRoom {
  provider: string;
  paymentId: string;
  /** the most the hub may still ask for: captured, less every refund that may have been made */
  amount: number;
  /**
   * money that may still be owed on top of `amount`: ledger refunds the hub cannot match to
   * its own asks might be those asks (then this much is left) or other refunds (then not)
   */
  uncertain: number;
  /** the refunds in the ledger that match no ask of the hub, and the asks not in the ledger */
  unmatchedLedger: number;
  unmatchedAsked: number;
}

/** A refund that stands: asked and not failed at the provider, or handed to finance. */
function stands(r: Pick<AskedRefund, 'status' | 'reason'>): boolean {
  return r.status !== 'failed' || r.reason === 'by hand';
}

/**
 * Captured minus refunded, per provider payment, in the order's currency. A refund the hub
 * asks for reaches the ledger only when the provider's notification comes, so what the hub
 * has asked for (the `refunds` table, finance's by-hand refunds included) counts as well as
 * what the ledger shows. A ledger refund whose entry id is the provider's id of one of the
 * hub's asks (Stripe's `re_…`, Adyen's pspReference) is that ask: counted once. Others — a
 * running total (Stripe since API 2022-11-15, Alipay), a refund made in the provider's
 * dashboard — cannot be told apart from the asks still unmatched, so both are counted: the
 * hub never asks for more than is surely there, and `uncertain` says how much more may be.
 */
export function refundable(ledger: readonly LedgerEntry[], asked: readonly Omit<AskedRefund, 'id' | 'cause' | 'createdAt'>[], currency: string): RefundRoom[] {
  interface Payment { provider: string; paymentId: string; captured: number; refunds: Map<string, number>; asks: Map<string, number>; unnamedAsks: number }
  const payments = new Map<string, Payment>();
  const paymentOf = (provider: string, paymentId: string): Payment => {
    const key = `${provider}:${paymentId}`;
    const found = payments.get(key);
    if (found) return found;
    const created: Payment = { provider, paymentId, captured: 0, refunds: new Map(), asks: new Map(), unnamedAsks: 0 };
    payments.set(key, created);
    return created;
  };
  for (const l of ledger) {
    if (l.currency !== currency || (l.kind !== 'captured' && l.kind !== 'refunded')) continue;
    const p = paymentOf(l.provider, l.paymentId);
    if (l.kind === 'captured') p.captured += l.amount;
    else p.refunds.set(l.entryId, (p.refunds.get(l.entryId) ?? 0) + l.amount);
  }
  for (const r of asked) {
    if (r.currency !== currency || !stands(r)) continue;
    const p = paymentOf(r.provider, r.paymentId);
    // One provider id is one refund, however many rows name it.
    if (r.providerRefundId === null) p.unnamedAsks += r.amount;
    else p.asks.set(r.providerRefundId, Math.max(p.asks.get(r.providerRefundId) ?? 0, r.amount));
  }

  const rooms: RefundRoom[] = [];
  for (const p of payments.values()) {
    if (p.captured <= 0) continue;
    let matched = 0;
    let unmatchedLedger = 0;
    for (const [entryId, amount] of p.refunds) {
      const ask = p.asks.get(entryId);
      if (ask === undefined) unmatchedLedger += amount;
      else matched += Math.max(ask, amount);
    }
    let unmatchedAsked = p.unnamedAsks;
    for (const [refundId, amount] of p.asks) if (!p.refunds.has(refundId)) unmatchedAsked += amount;
    const atMost = Math.max(0, p.captured - matched - Math.max(unmatchedLedger, unmatchedAsked));
    const amount = Math.max(0, p.captured - matched - unmatchedLedger - unmatchedAsked);
    rooms.push({ provider: p.provider, paymentId: p.paymentId, amount, uncertain: atMost - amount, unmatchedLedger, unmatchedAsked });
  }
  return rooms;
}

/**
 * The name of the refund one cause asks for on one provider payment: the `refunds` row's id
 * and the idempotency key sent to the provider, the same for every retry and redelivery.
 * Readable where the provider takes it (Stripe: 255 characters); a 50-character digest of
 * the same where it does not (Adyen takes 64, and the two ids alone are 73).
 */
export function refundKey(orderId: string, eventId: string, provider: string, paymentId: string, maxLength = Number.POSITIVE_INFINITY): string {
  const readable = `refund:${orderId}:${eventId}:${provider}:${paymentId}`;
  return readable.length <= maxLength ? readable : `refund:${createHash('sha256').update(readable.slice('refund:'.length)).digest('base64url')}`;
}

/** A refund the plan of one cause asks of a provider's API, and the provider it asks. */
interface PlannedAsk { id: string; provider: string; paymentId: string; amount: number; currency: string; askedAt: Date }

/**
 * Stage `refunds`: money goes back when a paid order is cancelled (all of it), cut down
 * to what is there (`order.reduced`, its `refundDue`), or when returned goods are in
 * (`return.refund_due`, its `refundDue`; the RMA is then `refunded`). Each refund is asked of the
 * provider's API with an idempotency key fixed by the cause (order, event, payment), so a
 * retry or a redelivery never refunds twice; the provider's own refund notification then
 * lands in the ledger like any payment. What is left to refund counts the refunds already
 * asked for, not only those in the ledger ({@link refundable}): two causes close together
 * (a part refund, then the cancellation) give back the payment once. Money the hub cannot
 * refund itself (cash, a provider without an API client) is an exception for finance; so is
 * money that may still be owed where the ledger cannot say whether it went back.
 *
 * The plan — which payment gives back how much — is committed before any provider is
 * called, and each answer in a short transaction of its own. An order paid with two
 * payments whose second refund fails for a while keeps the first one on the books: the
 * retry resumes the plan, asking only what is still unanswered, and never plans again from
 * a ledger where the first refund has meanwhile landed (which would ask the second payment
 * for the whole amount). No transaction is held while a provider answers.
 */
export function refundsStage(ctx: StageContext, clients: ReadonlyMap<string, RefundClient>): CallingStage {
  return {
    async calls({ event: delivered, origin, attempt }, db) {
      // A replayed message is the same cause: its plan and keys are those of the first one.
      const event = { ...delivered, id: origin };
      const orderId = typeof event.data.orderId === 'string' ? event.data.orderId : undefined;
      const due = event.data.refundDue;
      if (due !== undefined && !(Number.isSafeInteger(due) && (due as number) >= 0)) return park(`${event.type}: refundDue must be a whole number of minor units ≥ 0, not ${JSON.stringify(due)?.slice(0, 40)}`);
      const lastAttempt = attempt >= ctx.config.retry.maxAttempts;
      const asks = orderId ? await withTransaction(db, (tx) => planRefunds(tx, ctx, clients, event, orderId, lastAttempt)) : undefined;
      if (!asks || !orderId) return ack('no such order');
      if (asks === 'wait') return retry('another refund of this order is still waiting for its provider\'s answer: this one is planned once it is in');

      const now = ctx.now();
      for (const r of asks) {
        const client = clients.get(r.provider);
        if (client && now.getTime() - r.askedAt.getTime() > client.keyRetentionMs) {
          // The provider has forgotten the key: asked again, a refund made earlier whose answer
          // was lost would be made twice. Finance checks the payment and refunds what is left.
          const hours = Math.floor((now.getTime() - r.askedAt.getTime()) / 3_600_000);
          await withTransaction(db, (tx) => refundRefused(tx, ctx, event, orderId, r,
            `asked ${hours} h ago and never answered; ${r.provider} keeps idempotency keys for ${client.keyRetentionMs / 3_600_000} h, so asking again could refund twice — check payment ${r.paymentId} in ${r.provider} and refund by hand only what has not gone back`));
          continue;
        }
        const result = client
          ? await client.refund({ provider: r.provider, paymentId: r.paymentId, amount: r.amount, currency: r.currency, idempotencyKey: r.id, reason: event.type })
          : { ok: false as const, retryable: false, message: `no refund API for ${r.provider} any more` };
        if (result.ok) {
          await withTransaction(db, (tx) => refundAnswered(tx, ctx, event, orderId, r, result));
        } else if (result.retryable) {
          // The plan stays committed; the same key next time, so no second refund.
          return retry(`${r.provider} refund: ${result.message}`, result.retryAfterMs);
        } else {
          await withTransaction(db, (tx) => refundRefused(tx, ctx, event, orderId, r, `${r.provider} refused the refund: ${result.message}`));
        }
      }
      // A return's refund is made (or handed to finance): the RMA is refunded.
      if (event.type === 'return.refund_due') await withTransaction(db, (tx) => returnRefunded(tx, ctx, orderId, event.data.rmaId));
      return ack();
    },
  };
}

/**
 * Under the order's lock (which serializes its refund causes: each sees the asks before
 * it), what this cause gives back and who gives it: the asks for the providers' APIs, by
 * hand for finance, checks for finance. Returns the asks still unanswered — all of this
 * cause's, when an earlier delivery planned it already — or undefined for no such order.
 */
async function planRefunds(tx: Tx, ctx: StageContext, clients: ReadonlyMap<string, RefundClient>, event: CloudEvent, orderId: string, lastAttempt: boolean): Promise<PlannedAsk[] | 'wait' | undefined> {
  const record = await lockOrder(tx, orderId);
  if (!record) return undefined;
  const asked = await refundsAsked(tx, record.id);
  const planned = asked.filter((r) => r.cause === event.id);
  if (planned.length > 0) return planned.filter((r) => r.status === 'requested').map((r) => ({ ...r, askedAt: r.createdAt }));
  // Another cause's refund not answered yet has no provider id: if its refund is already in
  // the ledger, the two could not be matched, and this cause would give back only what is
  // surely left and hand the rest to finance. Wait for the answer — unless this is the last
  // attempt: then plan on what is known, the check for finance included.
  if (!lastAttempt && asked.some((r) => r.status === 'requested')) return 'wait';

  const currency = record.order.currency;
  let owed = event.type === 'order.reduced' || event.type === 'return.refund_due' ? Number(event.data.refundDue ?? 0) : Number.POSITIVE_INFINITY;
  const rooms = refundable(await ledgerOf(tx, record.id), asked, currency);
  const asks: PlannedAsk[] = [];
  if (owed <= 0) return asks;
  for (const p of rooms) {
    if (owed <= 0) break;
    if (p.amount === 0) continue;
    const amount = Math.min(p.amount, owed);
    owed -= amount;
    const client = clients.get(p.provider);
    const ask = { id: refundKey(record.id, event.id, p.provider, p.paymentId, client?.maxKeyLength), provider: p.provider, paymentId: p.paymentId, amount, currency, askedAt: ctx.now() };
    if (client) {
      await recordRefundRequested(tx, { ...ask, cause: event.id, orderId: record.id, reason: event.type });
      asks.push(ask);
    } else {
      await refundByHand(tx, ctx, event, record.id, ask, `no refund API for ${p.provider}`);
    }
  }
  // Still owed, and the ledger holds refunds that may or may not be the hub's own: the hub
  // gives back only what is surely left; finance checks the rest with the provider.
  for (const p of rooms) {
    if (owed <= 0) break;
    if (p.uncertain === 0) continue;
    const amount = Math.min(p.uncertain, owed);
    owed -= amount;
    await refundToCheck(tx, ctx, record.id, event, p, amount);
  }
  return asks;
}

/** The provider made (or took) the refund: on the books, on the timeline, and the customer told. */
async function refundAnswered(tx: Tx, ctx: StageContext, event: CloudEvent, orderId: string, r: PlannedAsk, result: { status: string; refundId: string }): Promise<void> {
  const record = await lockOrder(tx, orderId);
  // Another delivery of the same cause may have recorded it first: told once.
  if (!record || !(await recordRefundAnswer(tx, r.id, result.status, result.refundId))) return;
  await applyOrderChange(tx, ctx, record, {
    timeline: { type: 'refund.requested', reason: `${r.provider} refund of ${r.amount} ${r.currency} (${result.status})`, data: { refundId: result.refundId, key: r.id } },
    emit: [
      { type: 'refund.requested', data: { orderId: record.id, orderNumber: record.orderNumber, provider: r.provider, amount: r.amount, currency: r.currency, refundId: result.refundId } },
      ...notification(record, 'refund_issued', { amount: formatMinorUnits(r.amount, r.currency), currency: r.currency, occurrence: r.id }),
    ],
  }, { stage: 'refunds', messageId: `${event.id}:${r.id}` });
}

/** The provider refused the refund for good: finance pays it back by hand. */
async function refundRefused(tx: Tx, ctx: StageContext, event: CloudEvent, orderId: string, r: PlannedAsk, why: string): Promise<void> {
  if (await lockOrder(tx, orderId)) await refundByHand(tx, ctx, event, orderId, r, why);
}

/** A refund for finance to make: on the books as theirs, and their exception (once: a refund already theirs is not asked again). */
async function refundByHand(tx: Tx, ctx: StageContext, event: CloudEvent, orderId: string, r: Omit<PlannedAsk, 'currency' | 'askedAt'>, why: string): Promise<void> {
  if (!(await recordRefundByHand(tx, { id: r.id, cause: event.id, orderId, provider: r.provider, paymentId: r.paymentId, amount: r.amount, error: why }))) return;
  await openException(tx, withSop(ctx.config, ctx.now(), {
    type: 'refund_needed', reason: `refund ${r.amount} of ${r.provider} payment ${r.paymentId} by hand: ${why}`, orderId, messageId: r.id, stage: 'refunds',
    details: { provider: r.provider, paymentId: r.paymentId, amount: r.amount },
  }));
}

/**
 * Money that may still be owed, for finance to check before refunding: not a refund asked
 * for (no `refunds` row), since it may have gone back already.
 */
async function refundToCheck(tx: Tx, ctx: StageContext, orderId: string, event: { id: string; type: string }, p: RefundRoom, amount: number): Promise<void> {
  await openException(tx, withSop(ctx.config, ctx.now(), {
    type: 'refund_needed',
    reason: `${event.type}: up to ${amount} of ${p.provider} payment ${p.paymentId} may still be owed — its ledger shows refunds of ${p.unmatchedLedger} `
      + `that cannot be matched to the ${p.unmatchedAsked} the hub asked for, so the hub refunded only what is surely left; `
      + `check the payment in ${p.provider} and refund by hand what has not gone back`,
    orderId, messageId: `refund-check:${orderId}:${event.id}:${p.provider}:${p.paymentId}`, stage: 'refunds',
    details: { provider: p.provider, paymentId: p.paymentId, uncertain: amount, unmatchedLedger: p.unmatchedLedger, unmatchedAsked: p.unmatchedAsked, cause: event.type },
  }));
}

/** How long a refund may stay pending before finance is asked to check it (Stripe's slowest methods take up to 10 business days). */
const unconfirmedAfterMs = 14 * 86_400_000;

/**
 * Job: a refund the provider took as pending is settled by its notification later (Adyen's
 * REFUND, Stripe's `charge.refunded`); one that fails there, or whose notification never
 * comes, would otherwise stay `pending` for ever — counted as given back, the customer not
 * paid, nobody told. After 14 days with no refund in the ledger, finance gets a
 * `refund_needed` exception to check it with the provider, once per refund.
 */
export async function reportUnconfirmedRefunds(db: Db, ctx: StageContext): Promise<Record<string, number>> {
  const stale = await unconfirmedRefunds(db, new Date(ctx.now().getTime() - unconfirmedAfterMs));
  for (const r of stale) {
    await openException(db, withSop(ctx.config, ctx.now(), {
      type: 'refund_needed',
      reason: r.providerRefundId
        ? `${r.provider} refund ${r.providerRefundId} of ${r.amount} ${r.currency} (payment ${r.paymentId}) is still ${r.status} after 14 days and the ledger shows no refund: check it with ${r.provider}, and refund by hand if it failed`
        // never answered: the ledger cannot say whether it was made (its refunds carry the provider's ids)
        : `refund of ${r.amount} ${r.currency} asked of ${r.provider} 14 days ago (payment ${r.paymentId}, key ${r.id}) never had an answer: check the payment in ${r.provider}, and refund by hand only what has not gone back`,
      orderId: r.orderId, messageId: `refund-unconfirmed:${r.id}`, stage: 'refunds',
      details: { refundId: r.id, provider: r.provider, paymentId: r.paymentId, providerRefundId: r.providerRefundId, amount: r.amount, status: r.status },
    }));
  }
  return { unconfirmed: stale.length };
}
