import type { Queryable } from '../pool.ts';
import { parameters } from '../parameters.ts';
import { orderEventInsert, type TimelineEntry } from './orders.ts';
import type { ComposedNotification } from '../../notify/compose.ts';
import type { Channel } from '../../notify/preferences.ts';

/**
 * A notification being sent is claimed until a moment (a lease) committed before the send,
 * so the send holds no database connection and no lock: neither the stage nor the
 * `notifications` job takes a row another claimed until the lease runs out. A sender that
 * died mid-send leaves its claim to run out, and the job sends the message then (the
 * sent-marks in Redis keep a message the provider took from going twice).
 */

/** A claimed notification, as the job reads it back to send. */
export interface ClaimedNotification { key: string; orderId: string | null; channel: Channel; recipient: string; locale: string; subject: string | null; body: string; html: string | null }

/** A message as it was recorded: what every send of it says, whoever sends it and when. */
export interface RecordedMessage { subject: string | null; body: string; html: string | null }

/**
 * Records `messages` of one request (a message recorded before stays as it is) and claims,
 * until `leaseUntil`, those due at `now` that are neither sent nor failed nor claimed by
 * another sender. Returns the messages claimed, as recorded: the caller sends those, and
 * only those.
 */
export async function recordAndClaim(db: Queryable, orderId: string, template: string, messages: readonly ComposedNotification[], now: Date, leaseUntil: Date): Promise<Map<string, RecordedMessage>> {
  if (messages.length === 0) return new Map();
  const { rows } = await db.query<RecordedMessage & { key: string; claimed: boolean | null }>(
    `INSERT INTO notifications AS n (key, order_id, template, channel, recipient, locale, subject, body, html, status, send_after, claimed_until)
     SELECT m.key, (SELECT id FROM orders WHERE id = $1::uuid), $2, m.channel, m.recipient, m.locale, m.subject, m.body, m.html, 'scheduled', m.send_after,
            CASE WHEN m.send_after <= $3 THEN $4::timestamptz END
       FROM unnest($5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::timestamptz[])
            AS m(key, channel, recipient, locale, subject, body, html, send_after)
     ON CONFLICT (key) DO UPDATE SET claimed_until = $4
      WHERE n.status = 'scheduled' AND n.send_after <= $3 AND (n.claimed_until IS NULL OR n.claimed_until < $3)
     RETURNING n.key, n.claimed_until = $4 AS claimed, n.subject, n.body, n.html`,
    [orderId, template, now, leaseUntil, messages.map((m) => m.key), messages.map((m) => m.channel), messages.map((m) => m.to),
      messages.map((m) => m.locale), messages.map((m) => m.subject), messages.map((m) => m.text), messages.map((m) => m.html), messages.map((m) => m.sendAt)],
  );
  return new Map(rows.filter((r) => r.claimed).map((r) => [r.key, { subject: r.subject, body: r.body, html: r.html }]));
}

/**
 * Claims, until `leaseUntil`, the scheduled notification due longest at `now`, other than
 * those in `skip`. One at a time: each send gets a whole lease, however long the ones
 * before it took.
 */
export async function claimNextDue(db: Queryable, now: Date, leaseUntil: Date, skip: readonly string[]): Promise<ClaimedNotification | undefined> {
  const { rows } = await db.query<ClaimedNotification>(
    `UPDATE notifications SET claimed_until = $2
      WHERE key = (SELECT key FROM notifications
                    WHERE status = 'scheduled' AND send_after <= $1 AND (claimed_until IS NULL OR claimed_until < $1) AND key <> ALL($3::text[])
                    ORDER BY send_after LIMIT 1 FOR UPDATE SKIP LOCKED)
      RETURNING key, order_id AS "orderId", channel, recipient, locale, subject, body, html`,
    [now, leaseUntil, skip]);
  return rows[0];
}

/**
 * Gives a claimed notification back, to be tried again (the provider was away: `why`), not
 * before `retryAt` when given — only while the claim is still this sender's (`claimedUntil`,
 * its lease): a send that outlasted its lease must not clear the claim of the sender that
 * took the message over. The first time, the message is marked as retrying since now.
 */
export async function releaseClaim(db: Queryable, key: string, claimedUntil: Date, why: string, retryAt?: Date): Promise<void> {
  await db.query(
    `UPDATE notifications SET claimed_until = NULL, send_after = greatest(send_after, coalesce($3, send_after)),
            retrying_since = coalesce(retrying_since, now()), error = $4
      WHERE key = $1 AND claimed_until = $2`,
    [key, claimedUntil, retryAt ?? null, why]);
}

/**
 * Records how a claimed send ended — sent, or failed for good with the provider's answer —
 * and, with `entry`, puts it on the order's timeline, in one statement.
 */
export async function recordSendOutcome(db: Queryable, key: string, outcome: { ok: true } | { ok: false; message: string }, entry?: TimelineEntry): Promise<void> {
  const { values, p } = parameters();
  const status = p(outcome.ok ? 'sent' : 'failed');
  const update = `UPDATE notifications SET status = ${status}, sent_at = CASE WHEN ${status} = 'sent' THEN now() ELSE NULL END,
     error = ${p(outcome.ok ? null : outcome.message)}::text, claimed_until = NULL WHERE key = ${p(key)}`;
  await db.query(entry ? `WITH recorded AS (${update} RETURNING 1) ${orderEventInsert(p, entry, 'recorded')}` : update, values);
}

/**
 * Gives up on scheduled notifications whose provider has turned them away since before
 * `retryingBefore`, due and not claimed at `now`. Each becomes failed, with `why`, and is on
 * its order's timeline. Returns how many.
 */
export async function expireUnsent(db: Queryable, now: Date, retryingBefore: Date, why: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `WITH expired AS (
       UPDATE notifications SET status = 'failed', error = $3, claimed_until = NULL
        WHERE status = 'scheduled' AND retrying_since < $2 AND send_after <= $1 AND (claimed_until IS NULL OR claimed_until < $1)
        RETURNING key, order_id, template, channel, locale),
     told AS (
       INSERT INTO order_events (order_id, type, actor, reason, data)
       SELECT order_id, 'notification.failed', 'notifications', format('%s "%s": %s', channel, template, $3::text),
              jsonb_build_object('key', key, 'channel', channel, 'locale', locale)
         FROM expired WHERE order_id IS NOT NULL)
     SELECT count(*)::int AS n FROM expired`,
    [now, retryingBefore, why]);
  return rows[0]?.n ?? 0;
}
