import nodemailer from 'nodemailer';
import { HubError } from '../errors.ts';

/**
 * The senders: email over SMTP (nodemailer), SMS and push through a provider's HTTP API.
 * One attempt per call, and a sender never throws for what the server or the network does:
 * it answers a {@link SendResult} saying whether the same message may succeed later, and the
 * stage that calls it decides to retry (with its delays) or park.
 *
 * Resends are recognisable: every message carries the notification key — as the email's
 * `Message-ID` and `X-Hub-Notification` header, as the HTTP `Idempotency-Key` — so a provider
 * that honours idempotency delivers a key once, and a mailbox sees the same Message-ID twice
 * (SMTP itself has no idempotency: a resend after a lost answer can arrive twice).
 */

/** A message for any channel; {@link ComposedNotification} is one. */
export interface OutgoingMessage {
  /** the notification key (`orderId:template:channel`), the same for every resend */
  key: string;
  /** an email address, a phone number (E.164 for most providers) or a device token */
  to: string;
  /** email subject, push title */
  subject: string;
  /** email plain-text part; SMS text; push body */
  text: string;
  /** email HTML part */
  html?: string | null;
  /** the language of the text, sent as `Content-Language` with email */
  locale?: string;
}

/** What became of one attempt; a sender never throws for the server's or the network's doing. */
export type SendResult =
  | { ok: true; id: string }
  | {
      ok: false;
      /** true: the same message, sent again later, may go through */
      retryable: boolean;
      message: string;
    };

/** One channel's way out: the same shape for email, SMS and push, so a stage picks by `channel`. */
export interface NotificationSender {
  send(message: OutgoingMessage): Promise<SendResult>;
  /** ends open connections; sending after it is not supported */
  close(): void;
}

// --- email -----------------------------------------------------------------------------------

/** Where and as whom {@link createEmailSender} sends. */
export interface EmailSenderOptions {
  host: string;
  port: number;
  /** TLS from the start (port 465); false (default): STARTTLS when the server offers it */
  secure?: boolean;
  /** the From header: `"Shop" <orders@shop.example>` */
  from: string;
  auth?: { user: string; pass: string };
  /** the right-hand side of Message-IDs (default: the domain of `from`) */
  messageIdDomain?: string;
  /** connection, greeting and socket timeouts (default 15 s) */
  timeoutMs?: number;
}

/**
 * The Message-ID of a notification: `<key@domain>` with every character outside
 * `[A-Za-z0-9_-]` written `=XX` (its UTF-8 bytes), so that the left side is a valid
 * dot-atom (RFC 5322 §3.6.4: no `:`) and the key can still be read off it:
 * `ord-1:shipped:email` → `<ord-1=3Ashipped=3Aemail@shop.example>`.
 */
export function messageIdFor(key: string, domain: string): string {
  const left = [...new TextEncoder().encode(key)]
    .map((byte) => {
      const c = String.fromCharCode(byte);
      return /[A-Za-z0-9_-]/.test(c) ? c : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
    })
    .join('');
  return `<${left}@${domain}>`;
}

function domainOf(from: string): string | null {
  const m = /@([A-Za-z0-9.-]+)>?\s*$/.exec(from);
  return m?.[1] ?? null;
}

/** Nodemailer's error codes for failures that sending again cannot fix until someone changes the config or the message. */
const PERMANENT_CODES = new Set(['EAUTH', 'ENOAUTH', 'EENVELOPE', 'EMESSAGE', 'ECONFIG', 'EREQUIRETLS', 'EMAXRECIPIENTS']);

interface SmtpError { code?: unknown; responseCode?: unknown; permanent?: unknown; message?: unknown }

/**
 * Retryable or not, from what nodemailer attaches: the server's reply class first (RFC 5321:
 * 4yz transient, 5yz permanent; nodemailer's `permanent` flag says it, 503 aside), then the
 * error code; a connection failure or an unknown one is retryable — the retry chain ends in a
 * park anyway.
 */
function emailFailure(error: unknown): SendResult {
  const e: SmtpError = typeof error === 'object' && error !== null ? error : {};
  const message = typeof e.message === 'string' ? e.message : String(error);
  if (typeof e.permanent === 'boolean') return { ok: false, retryable: !e.permanent, message };
  if (typeof e.responseCode === 'number') return { ok: false, retryable: !(e.responseCode >= 500 && e.responseCode !== 503), message };
  const code = typeof e.code === 'string' ? e.code : '';
  if (PERMANENT_CODES.has(code)) return { ok: false, retryable: false, message };
  // connection failures (ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS…) and anything unknown
  return { ok: false, retryable: true, message };
}

/**
 * Email over SMTP: a text and an HTML part (UTF-8, nodemailer picks the transfer encoding),
 * `Message-ID` from the key ({@link messageIdFor}), `X-Hub-Notification: <key>`, and
 * `Content-Language` when the message says its locale. One connection per message.
 */
export function createEmailSender(options: EmailSenderOptions): NotificationSender {
  const domain = options.messageIdDomain ?? domainOf(options.from);
  if (domain === null) throw new HubError('notification_sender_invalid', `email sender: no domain in from "${options.from}"`, { status: 500 });
  const timeout = options.timeoutMs ?? 15_000;
  const transport = nodemailer.createTransport({
    host: options.host,
    port: options.port,
    secure: options.secure ?? false,
    ...(options.auth ? { auth: options.auth } : {}),
    connectionTimeout: timeout,
    greetingTimeout: timeout,
    socketTimeout: timeout,
  });
  return {
    async send(message) {
      try {
        const info = await transport.sendMail({
          from: options.from,
          to: message.to,
          subject: message.subject,
          text: message.text,
          ...(message.html ? { html: message.html } : {}),
          messageId: messageIdFor(message.key, domain),
          headers: {
            'X-Hub-Notification': message.key,
            ...(message.locale ? { 'Content-Language': message.locale } : {}),
          },
        });
        return { ok: true, id: info.messageId };
      } catch (error) {
        return emailFailure(error);
      }
    },
    close() {
      transport.close();
    },
  };
}

// --- SMS and push over HTTP ------------------------------------------------------------------

/** The provider API behind {@link createSmsSender} and {@link createPushSender}. */
export interface HttpSenderOptions {
  /** the provider's API root; messages go to `POST {baseUrl}/messages` */
  baseUrl: string;
  /** sent as `Authorization: Bearer <apiKey>` */
  apiKey: string;
  fetch?: typeof fetch;
  /** per request, answer included (default 10 s) */
  timeoutMs?: number;
}

/**
 * SMS through an HTTP provider: `POST {baseUrl}/messages` with `Idempotency-Key: <key>` and
 * JSON `{ to, text }`. See {@link createPushSender} for what counts as retryable.
 */
export function createSmsSender(options: HttpSenderOptions): NotificationSender {
  const post = httpPoster('sms', options);
  return { send: (message) => post(message.key, { to: message.to, text: message.text }), close() {} };
}

/**
 * Push through an HTTP provider: `POST {baseUrl}/messages` with `Idempotency-Key: <key>` and
 * JSON `{ deviceToken, title, body }` (the message's `to`, `subject`, `text`). A 2xx is sent
 * (the id from the answer's `id`, else the key); 408, 409 (the same key still in flight),
 * 425, 429, 5xx, a timeout and a network error are retryable; any other answer is not.
 */
export function createPushSender(options: HttpSenderOptions): NotificationSender {
  const post = httpPoster('push', options);
  return { send: (message) => post(message.key, { deviceToken: message.to, title: message.subject, body: message.text }), close() {} };
}

const RETRYABLE_STATUS = new Set([408, 409, 425, 429]);

function httpPoster(name: string, options: HttpSenderOptions): (key: string, body: Record<string, string>) => Promise<SendResult> {
  let url: URL;
  try {
    url = new URL(`${options.baseUrl.replace(/\/+$/, '')}/messages`);
  } catch (error) {
    throw new HubError('notification_sender_invalid', `${name} sender: baseUrl is not a URL`, { status: 500, cause: error });
  }
  if (options.apiKey.trim() === '') throw new HubError('notification_sender_invalid', `${name} sender: apiKey is empty`, { status: 500 });
  const doFetch = options.fetch ?? globalThis.fetch;
  const timeoutMs = options.timeoutMs ?? 10_000;

  return async (key, body) => {
    let status: number;
    let text: string;
    try {
      const response = await doFetch(url, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${options.apiKey}`,
          'idempotency-key': key,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
      });
      status = response.status;
      text = await response.text();
    } catch (error) {
      // timeouts, refused and dropped connections: the provider may or may not have it; the key makes a retry safe
      return { ok: false, retryable: true, message: `${name} provider unreachable: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (status >= 200 && status < 300) return { ok: true, id: idIn(text) ?? key };
    return {
      ok: false,
      retryable: status >= 500 || RETRYABLE_STATUS.has(status),
      message: `${name} provider answered ${status}${text ? `: ${text.slice(0, 300)}` : ''}`,
    };
  };
}

function idIn(text: string): string | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === 'object' && parsed !== null && 'id' in parsed && typeof parsed.id === 'string' && parsed.id !== '') return parsed.id;
  } catch {
    // an empty or non-JSON 2xx still means sent
  }
  return null;
}
