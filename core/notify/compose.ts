import { HubError } from '../errors.ts';
import { addressFor, channelsFor, whenToSend, type Channel, type Preferences, type Recipient } from './preferences.ts';
import { chooseTemplate, escapeHtml, render, renderRemedies, type Templates } from './templates.ts';

/**
 * From a request to tell a customer something to the messages to send: one per channel the
 * customer allows and has an address for, in their language, each with the moment it may go.
 * Pure: templates, preferences and the time come in.
 */

/** What a stage asks for (`customer.notification_requested`, see {@link requestFromEvent}). */
export interface NotificationRequest {
  orderId: string;
  template: string;
  to: Recipient;
  /** the values of the template's `{{variables}}`: orderNumber, customerName, reason, trackingUrl… */
  vars: Record<string, unknown>;
  /** remedy codes (`wait`, `cancel`…), rendered in the message's language as `{{remedies}}` / `{{remediesInline}}` */
  remedies?: string[];
  /** the order's language, used when the customer has not chosen one */
  locale?: string | null;
  /**
   * Names a repeat that is a new notification rather than a resend (a second payment
   * failure, a second delay): it becomes part of the key. Absent: one per order, template
   * and channel.
   */
  occurrence?: string;
}

/** One message ready for a sender. */
export interface ComposedNotification {
  /** `orderId:template:channel` (`:occurrence`): the same for every resend of this message */
  key: string;
  channel: Channel;
  /** the email address, phone number or device token */
  to: string;
  /** the locale of the text (after fallback: `zh-HK` may get `zh-TW`, an unknown one `en`) */
  locale: string;
  /** for email the subject; for push the title; for SMS unused */
  subject: string;
  /** email: the plain-text part; SMS and push: the short text */
  text: string;
  /** email only: an HTML document with every value escaped */
  html: string | null;
  /** not before: now, or the end of the customer's quiet hours for SMS and push */
  sendAt: Date;
  /** template variables that had no value (rendered empty), and `remedy:<code>` for remedies without a label */
  missing: string[];
}

/** The idempotency key of one notification on one channel. */
export function notificationKey(request: Pick<NotificationRequest, 'orderId' | 'template' | 'occurrence'>, channel: Channel): string {
  const base = `${request.orderId}:${request.template}:${channel}`;
  return request.occurrence ? `${base}:${request.occurrence}` : base;
}

/**
 * The messages for `request`: one per channel of {@link channelsFor}, none when the customer
 * cannot or does not want to be reached. Throws a non-retryable `notification_template_unknown`
 * when the template does not exist (in any locale that fits): a config problem, not one a
 * retry can fix.
 */
export function composeNotification(
  request: NotificationRequest,
  templates: Templates,
  preferences: Preferences,
  now: Date,
): ComposedNotification[] {
  const channels = channelsFor(request.to, preferences);
  if (channels.length === 0) return [];
  const chosen = chooseTemplate(templates, request.template, preferences.locale ?? request.locale ?? null);
  if (chosen === null) {
    throw new HubError('notification_template_unknown', `no notification template "${request.template}"`, {
      status: 500,
      details: { template: request.template, locale: preferences.locale ?? request.locale ?? null },
    });
  }
  const { locale, template } = chosen;
  const remedies = renderRemedies(request.remedies ?? [], locale);
  const vars = { ...request.vars, remedies: remedies.list, remediesInline: remedies.inline };
  const unknownRemedies = remedies.unknown.map((code) => `remedy:${code}`);

  return channels.map((channel): ComposedNotification => {
    const subject = render(template.subject, vars);
    const isEmail = channel === 'email';
    const text = render(isEmail ? template.body : template.sms ?? template.body, vars);
    const html = isEmail ? render(template.body, vars, { escape: 'html' }) : null;
    const subjectLine = subject.text.replace(/\s*[\r\n]+\s*/g, ' ').trim();
    return {
      key: notificationKey(request, channel),
      channel,
      to: addressFor(channel, request.to) ?? '',
      locale,
      subject: subjectLine,
      text: tidy(text.text),
      html: html === null ? null : htmlDocument(subjectLine, tidy(html.text), locale),
      sendAt: whenToSend(channel, preferences, now),
      missing: [...new Set([...subject.missing, ...text.missing, ...unknownRemedies])],
    };
  });
}

/** No trailing spaces, at most one blank line in a row, none at the ends (an empty `{{remedies}}` leaves none). */
function tidy(text: string): string {
  return text.replace(/[ \t]+$/gm, '').replace(/\n{3,}/g, '\n\n').trim();
}

/** http(s) URLs in already escaped text; the characters of RFC 3986, minus the quote. */
const URL_IN_TEXT = /https?:\/\/[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]+/g;

function linkify(escaped: string): string {
  return escaped.replace(URL_IN_TEXT, (url) => {
    const href = url.replace(/[.,!?)]+$/, '');
    return `<a href="${href}">${href}</a>${url.slice(href.length)}`;
  });
}

/**
 * The HTML part: paragraphs from blank lines, `• ` lines as a list, URLs as links. The text
 * is escaped already. `lang` is not decoration: it makes mail clients draw Han characters in
 * the regional forms (Traditional for zh-TW, Simplified for zh-CN).
 */
function htmlDocument(subject: string, escapedBody: string, locale: string): string {
  const blocks = escapedBody.split(/\n{2,}/).map((paragraph) => {
    const lines = paragraph.split('\n');
    const items = lines.filter((l) => l.startsWith('• '));
    const prose = lines.filter((l) => !l.startsWith('• '));
    const parts: string[] = [];
    if (prose.length > 0) parts.push(`<p>${prose.map(linkify).join('<br>\n')}</p>`);
    if (items.length > 0) parts.push(`<ul>\n${items.map((l) => `<li>${linkify(l.slice(2))}</li>`).join('\n')}\n</ul>`);
    return parts.join('\n');
  });
  return [
    '<!DOCTYPE html>',
    `<html lang="${escapeHtml(locale)}">`,
    '<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title></head>`,
    '<body style="font-family: sans-serif; line-height: 1.5">',
    ...blocks,
    '</body>',
    '</html>',
  ].join('\n');
}

// --- the event -------------------------------------------------------------------------------

const invalid = (message: string, details?: Record<string, unknown>) =>
  new HubError('invalid_notification_request', message, { status: 400, details });

const optionalText = (value: unknown, field: string): string | null => {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw invalid(`${field} is not a string`, { field });
  return value;
};

/**
 * The data of a `customer.notification_requested` event (see `core/pipeline/notify.ts`) as a
 * {@link NotificationRequest}: `orderId`, `template`, `to`, `remedies` and `locale` taken out,
 * every other field a template variable (`orderNumber`, `customerName`, `reason`…). Throws a
 * 400 `invalid_notification_request` when the fields it needs are not there.
 */
export function requestFromEvent(data: Record<string, unknown>): NotificationRequest {
  const { orderId, template, to, remedies, locale, occurrence, ...vars } = data;
  if (typeof orderId !== 'string' || orderId === '') throw invalid('orderId is missing', { field: 'orderId' });
  if (typeof template !== 'string' || template === '') throw invalid('template is missing', { field: 'template' });
  if (typeof to !== 'object' || to === null) throw invalid('to is missing', { field: 'to' });
  const address = to as Record<string, unknown>;
  const recipient: Recipient = {
    email: optionalText(address.email, 'to.email'),
    phone: optionalText(address.phone, 'to.phone'),
    deviceToken: optionalText(address.deviceToken, 'to.deviceToken'),
  };
  if (remedies !== undefined && remedies !== null && !(Array.isArray(remedies) && remedies.every((r) => typeof r === 'string'))) {
    throw invalid('remedies is not a list of codes', { field: 'remedies' });
  }
  const occurrenceText = optionalText(occurrence, 'occurrence');
  return {
    orderId,
    template,
    to: recipient,
    vars: { orderId, ...vars },
    remedies: Array.isArray(remedies) ? remedies.filter((r): r is string => typeof r === 'string') : [],
    locale: optionalText(locale, 'locale'),
    ...(occurrenceText === null ? {} : { occurrence: occurrenceText }),
  };
}
