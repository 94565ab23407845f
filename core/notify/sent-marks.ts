import type { Redis } from 'ioredis';
import type { NotificationSender } from './senders.ts';
import { withTimeout } from '../timeout.ts';

/**
 * A sender that remembers, in Redis, each key it delivered, and does not deliver a key again.
 *
 * A notification is claimed, sent with no transaction open, then recorded as sent
 * (core/db/sql/notifications.ts). When the record is lost after the provider accepted the
 * message — Postgres unreachable right after the SMTP conversation, the worker killed before
 * the write — the claim runs out and the `notifications` job sends the message again (SMTP
 * has no idempotency key). The mark is written the moment the provider answers, to a store
 * that does not share Postgres' fate, so that send finds it and records the send instead of
 * repeating it.
 *
 * It narrows the window, it does not close it: a crash between the provider's answer and
 * the mark, or Redis losing its data, still means one resend (same Message-ID or
 * Idempotency-Key). Redis unreachable means sending as before, never not sending.
 */
export function rememberingSends(sender: NotificationSender, redis: Redis, namespace: string, options: { ttlSeconds?: number; timeoutMs?: number } = {}): NotificationSender {
  const mark = (key: string) => `${namespace}:notification-sent:${key}`;
  const timeoutMs = options.timeoutMs ?? 500;
  const bounded = <T>(work: Promise<T>, fallback: T): Promise<T> => withTimeout(work, timeoutMs, 'redis').catch(() => fallback);
  return {
    async send(message) {
      const sentAs = await bounded(redis.get(mark(message.key)), null);
      if (sentAs !== null) return { ok: true, id: sentAs };
      const result = await sender.send(message);
      if (result.ok) await bounded(redis.set(mark(message.key), result.id || 'sent', 'EX', options.ttlSeconds ?? 7 * 86_400), null);
      return result;
    },
    close: () => sender.close(),
  };
}
