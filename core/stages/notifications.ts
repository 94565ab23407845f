import { maskRecipient } from '../order/mask-recipient.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { customerKey } from '../db/sql/credit.ts';
import type { Db, Queryable } from '../db/pool.ts';
import { withTransaction } from '../db/pool.ts';
import { appendOrderEvent } from '../db/sql/orders.ts';
import { HubError } from '../errors.ts';
import type { Handler } from '../messaging/consume.ts';
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
 * Sends one composed message and records the outcome; false when it should be tried again
 * later (the provider was away). Every send is on the order's timeline.
 */
async function deliver(tx: Queryable, sender: NotificationSender | undefined, message: ComposedNotification, orderId: string | null): Promise<'sent' | 'failed' | 'retry'> {
  if (!sender) {
    await tx.query(`UPDATE notifications SET status = 'failed', error = $2 WHERE key = $1`, [message.key, `no ${message.channel} sender configured`]);
    return 'failed';
  }
  const result = await sender.send({ key: message.key, to: message.to, subject: message.subject, text: message.text, html: message.html, locale: message.locale });
  if (!result.ok && result.retryable) return 'retry';
  await tx.query(`UPDATE notifications SET status = $2, sent_at = CASE WHEN $2 = 'sent' THEN now() ELSE NULL END, error = $3 WHERE key = $1`,
    [message.key, result.ok ? 'sent' : 'failed', result.ok ? null : result.message]);
  if (orderId) {
    await appendOrderEvent(tx, {
      orderId, type: result.ok ? 'notification.sent' : 'notification.failed', fromStatus: null, toStatus: null, actor: 'notifications',
      // masked: the timeline is shown to every viewer and kept as long as the order
      reason: `${message.channel} "${message.subject || message.key.split(':')[1]}" to ${maskRecipient(message.to)}${result.ok ? '' : `: ${result.message}`}`,
      data: { key: message.key, channel: message.channel, locale: message.locale },
    });
  }
  return result.ok ? 'sent' : 'failed';
}

/**
 * Stage `notifications`: a `customer.notification_requested` becomes one message per channel
 * the customer can and wants to be reached on, in their language, each recorded under its
 * key (order + template + channel) so it is never sent twice; SMS and push in the customer's
 * quiet hours wait for the `notifications` job.
 */
export function notificationsStage(ctx: StageContext, senders: ReadonlyMap<Channel, NotificationSender>): Handler {
  const templates = templatesOf(ctx.config);
  return async ({ event }, tx) => {
    let request;
    try {
      request = requestFromEvent(event.data);
    } catch (error) {
      return park(error instanceof HubError ? error.message : String(error));
    }
    const now = ctx.now();
    const messages = composeNotification(request, templates, await preferencesOf(tx, request.to.email), now);
    for (const m of messages) {
      const { rowCount } = await tx.query(
        `INSERT INTO notifications (key, order_id, template, channel, recipient, locale, subject, body, status, send_after)
         VALUES ($1, (SELECT id FROM orders WHERE id = $2::uuid), $3, $4, $5, $6, $7, $8, 'scheduled', $9) ON CONFLICT (key) DO NOTHING`,
        [m.key, request.orderId, request.template, m.channel, m.to, m.locale, m.subject, m.text, m.sendAt]);
      if (rowCount !== 1 || m.sendAt > now) continue; // sent before, or later (quiet hours)
      if ((await deliver(tx, senders.get(m.channel), m, request.orderId)) === 'retry') return retry(`${m.channel} provider unavailable`);
    }
    return ack();
  };
}

/**
 * Job: sends the scheduled messages that are due — SMS and push held back by quiet hours
 * (email is never held, so the stored text is all a due message needs).
 */
export async function sendDueNotifications(db: Db, ctx: StageContext, senders: ReadonlyMap<Channel, NotificationSender>): Promise<Record<string, number>> {
  const { rows } = await db.query<{ key: string; orderId: string | null; channel: Channel; recipient: string; locale: string; subject: string | null; body: string }>(
    `SELECT key, order_id AS "orderId", channel, recipient, locale, subject, body FROM notifications
      WHERE status = 'scheduled' AND send_after <= $1 ORDER BY send_after LIMIT 200`, [ctx.now()]);
  let sent = 0;
  for (const r of rows) {
    await withTransaction(db, async (tx) => {
      const locked = await tx.query(`SELECT 1 FROM notifications WHERE key = $1 AND status = 'scheduled' FOR UPDATE SKIP LOCKED`, [r.key]);
      if (locked.rowCount !== 1) return;
      const outcome = await deliver(tx, senders.get(r.channel), { key: r.key, channel: r.channel, to: r.recipient, locale: r.locale, subject: r.subject ?? '', text: r.body, html: null, sendAt: ctx.now(), missing: [] }, r.orderId);
      if (outcome === 'sent') sent++;
    });
  }
  return { due: rows.length, sent };
}
