import { maskRecipient } from '../order/mask-recipient.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { customerKey } from '../db/sql/credit.ts';
import type { Db, Queryable } from '../db/pool.ts';
import { claimNextDue, expireUnsent, recordAndClaim, recordSendOutcome, releaseClaim } from '../db/sql/notifications.ts';
import { orderEventInsert, type TimelineEntry } from '../db/sql/orders.ts';
import { parameters } from '../db/parameters.ts';
import { HubError } from '../errors.ts';
import type { CallingStage } from '../messaging/consume.ts';
import { ack, park, retry } from '../messaging/decision.ts';
import { composeNotification, requestFromEvent, type ComposedNotification } from '../notify/compose.ts';
import { defaultPreferences, type Channel, type Preferences } from '../notify/preferences.ts';
import { createEmailSender, createPushSender, createSmsSender, type NotificationSender } from '../notify/senders.ts';
import { defaultTemplates, mergeTemplates, templatesFromConfig, type Templates } from '../notify/templates.ts';
import type { StageContext } from './context.ts';

/** The templates in force: built-in, then the config's (English) ones, then its localized ones. */
export function templatesOf(config: HubConfig): Templates {
  return mergeTemplates(defaultTemplates, templatesFromConfig(config.notifications.templates), config.notifications.localized ?? {});
}

/** A sender per channel the config and the environment make available. */
export function notificationSenders(config: HubConfig, secrets: Readonly<Record<string, string>>): Map<Channel, NotificationSender> {
  const senders = new Map<Channel, NotificationSender>();
  const n = config.notifications;
  if (n.email) {
    senders.set('email', createEmailSender({
      host: n.email.host, port: n.email.port, from: n.email.from, ...(n.email.secure === undefined ? {} : { secure: n.email.secure }),
      ...(n.email.user && secrets.SMTP_PASSWORD ? { auth: { user: n.email.user, pass: secrets.SMTP_PASSWORD } } : {}),
    }));
  }
  if (n.sms && secrets.SMS_API_KEY) senders.set('sms', createSmsSender({ baseUrl: n.sms.baseUrl, apiKey: secrets.SMS_API_KEY }));
  if (n.push && secrets.PUSH_API_KEY) senders.set('push', createPushSender({ baseUrl: n.push.baseUrl, apiKey: secrets.PUSH_API_KEY }));
  return senders;
}

async function preferencesOf(db: Queryable, email: string | null): Promise<Preferences> {
  const key = customerKey(email);
  if (!key) return defaultPreferences;
  const { rows } = await db.query<{ channels: Channel[]; locale: string | null; quietHours: Preferences['quietHours'] }>(
    `SELECT channels, locale, quiet_hours AS "quietHours" FROM customer_preferences WHERE customer_key = $1`, [key]);
  return rows[0] ?? defaultPreferences;
}

/**
 * How long a claim on a notification lasts: well beyond what a send can take with the
 * senders' timeouts (SMTP: connection, greeting and socket, 15 s each; HTTP: 10 s), so a
 * claim runs out only when its sender is gone; short enough that the job, every minute,
 * sends that message within three.
 */
const claimMs = 2 * 60_000;
const leaseFrom = (now: Date) => new Date(now.getTime() + claimMs);

/**
 * Sends one claimed message, outside any transaction, then records the outcome (and puts
 * it on the order's timeline) or, when the provider was away, gives the claim back.
 */
async function sendClaimed(db: Db, sender: NotificationSender | undefined, message: ComposedNotification, orderId: string | null, claimedUntil: Date, retryAt?: Date): Promise<{ outcome: 'sent' | 'failed' } | { outcome: 'retry'; why: string }> {
  if (!sender) {
    await recordSendOutcome(db, message.key, { ok: false, message: `no ${message.channel} sender configured` });
    return { outcome: 'failed' };
  }
  const result = await sender.send({ key: message.key, to: message.to, subject: message.subject, text: message.text, html: message.html, locale: message.locale });
  if (result.ok) {
    await recordSendOutcome(db, message.key, { ok: true }, orderId ? timelineEntry(orderId, 'notification.sent', message) : undefined);
    return { outcome: 'sent' };
  }
  // The answer is kept and shown (the order's notifications and timeline): the recipient it
  // often quotes ("450 mailbox … unavailable") is masked in it, as everywhere else.
  const why = maskedIn(result.message, message.to);
  if (result.retryable) {
    await releaseClaim(db, message.key, claimedUntil, why, retryAt);
    return { outcome: 'retry', why };
  }
  await recordSendOutcome(db, message.key, { ok: false, message: why }, orderId ? timelineEntry(orderId, 'notification.failed', message, why) : undefined);
  return { outcome: 'failed' };
}

/** `text` with every mention of `recipient`, in any case, masked. */
function maskedIn(text: string, recipient: string): string {
  if (recipient === '') return text;
  return text.replace(new RegExp(recipient.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gi'), maskRecipient(recipient));
}

/** On the order's timeline, if the order is there: a request may come before its order is committed. */
async function noteOnTimeline(db: Queryable, entry: TimelineEntry): Promise<void> {
  const { values, p } = parameters();
  await db.query(orderEventInsert(p, entry, `orders WHERE id = ${p(entry.orderId)}::uuid`), values);
}

/**
 * A message on its order's timeline, the recipient masked (`why` comes masked): the
 * timeline is shown to every viewer and kept as long as the order.
 */
function timelineEntry(orderId: string, type: string, message: ComposedNotification, why?: string): TimelineEntry {
  const timeline: TimelineEntry = {
    orderId, type, fromStatus: null, toStatus: null, actor: 'notifications',
    reason: `${message.channel} "${message.subject || message.key.split(':')[1]}" to ${maskRecipient(message.to)}${why === undefined ? '' : `: ${why}`}`,
    data: { key: message.key, channel: message.channel, locale: message.locale },
  };
  return timeline;
}

/**
 * Stage `notifications`: a `customer.notification_requested` becomes one message per channel
 * the customer can and wants to be reached on, in their language, each recorded under its
 * key (order + template + channel) so it is never sent twice; SMS and push in the customer's
 * quiet hours wait for the `notifications` job. Messages are recorded and claimed in one
 * statement, then sent with no connection held (a mail server that answers late must not
 * hold the pool the orders need); one whose provider is away is given back and the request
 * retried, the others stay sent.
 */
export function notificationsStage(ctx: StageContext, senders: ReadonlyMap<Channel, NotificationSender>): CallingStage {
  const templates = templatesOf(ctx.config);
  return {
    async calls({ event, attempt }, db) {
      let request;
      try {
        request = requestFromEvent(event.data);
      } catch (error) {
        return park(error instanceof HubError ? error.message : String(error));
      }
      const now = ctx.now();
      const messages = composeNotification(request, templates, await preferencesOf(db, request.to.email), now);
      const lease = leaseFrom(now);
      const claimed = await recordAndClaim(db, request.orderId, request.template, messages, now, lease);
      const away: { message: ComposedNotification; why: string }[] = [];
      for (const composed of messages) {
        const recorded = claimed.get(composed.key);
        if (!recorded) continue; // sent before, being sent by another, or later (quiet hours)
        // as recorded: a retry sends what the first attempt composed, word for word
        const m = { ...composed, subject: recorded.subject ?? '', text: recorded.body, html: recorded.html };
        const sent = await sendClaimed(db, senders.get(m.channel), m, request.orderId, lease);
        if (sent.outcome === 'retry') away.push({ message: m, why: sent.why });
      }
      if (away.length === 0) return ack();
      const channels = `${away.map((a) => a.message.channel).join(', ')} provider unavailable`;
      if (attempt < ctx.config.retry.maxAttempts) return retry(channels);
      // The messages stay scheduled and the `notifications` job sends them once the provider
      // takes them again (or gives them up after a day, on the timeline). Parked, the request
      // would leave an exception per order that nobody has to act on.
      for (const a of away) await noteOnTimeline(db, timelineEntry(request.orderId, 'notification.delayed', a.message, `${a.why}; the notifications job tries again every minute`));
      return ack(`${channels}: left to the notifications job`);
    },
  };
}

/** A message its provider has turned away for this long is given up, failed and on the timeline. */
const giveUpAfterMs = 24 * 3_600_000;
/** How long the job leaves a message whose provider was away before trying it again. */
const retryLaterMs = 5 * 60_000;

/**
 * Job: sends the scheduled messages that are due, as they were recorded (an email with its
 * HTML part) — SMS and push held back by quiet hours, a message whose request ran out of
 * retries while its provider was away, and one whose sender died mid-send, once its claim
 * ran out. Up to 200 a run; one whose provider is still away waits for the next run, until
 * the provider has turned it away for a day.
 */
export async function sendDueNotifications(db: Db, ctx: StageContext, senders: ReadonlyMap<Channel, NotificationSender>): Promise<Record<string, number>> {
  const start = ctx.now();
  const expired = await expireUnsent(db, start, new Date(start.getTime() - giveUpAfterMs), 'not sent within 24 h: the provider did not take it');
  const tried: string[] = [];
  let sent = 0;
  while (tried.length < 200) {
    const now = ctx.now();
    const lease = leaseFrom(now);
    const r = await claimNextDue(db, now, lease, tried);
    if (!r) break;
    tried.push(r.key);
    const message: ComposedNotification = { key: r.key, channel: r.channel, to: r.recipient, locale: r.locale, subject: r.subject ?? '', text: r.body, html: r.html, sendAt: now, missing: [] };
    // one whose provider is away waits a few minutes: the messages behind it get their turn
    if ((await sendClaimed(db, senders.get(r.channel), message, r.orderId, lease, new Date(now.getTime() + retryLaterMs))).outcome === 'sent') sent++;
  }
  return { due: tried.length, sent, expired };
}
