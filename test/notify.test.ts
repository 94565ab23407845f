import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubError } from '../core/errors.ts';
import {
  chooseTemplate,
  composeNotification,
  createEmailSender,
  createPushSender,
  createSmsSender,
  channelsFor,
  defaultTemplates,
  mergeTemplates,
  messageIdFor,
  render,
  renderRemedies,
  requestFromEvent,
  resolveLocale,
  templatesFromConfig,
  whenToSend,
  type ComposedNotification,
  type NotificationSender,
  type Preferences,
  type Templates,
} from '../core/notify/index.ts';
import { startSmsStub, type SmsStub } from './support/sms-stub.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';
import { thrownBy } from './support/errors.ts';

const NOW = new Date('2025-03-01T09:00:00Z'); // 17:00 in Taipei

/** What `notification()` in core/pipeline/notify.ts puts in a `customer.notification_requested` event. */
function eventData(template: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    orderId: 'ord_7f3a',
    orderNumber: 'HUB-20250301-0042',
    template,
    to: { email: 'mei@example.tw', phone: '+886912345678' },
    customerName: '林美玲',
    ...extra,
  };
}

const prefs = (patch: Partial<Preferences> = {}): Preferences => ({ channels: ['email', 'sms'], locale: null, quietHours: null, ...patch });

/** Characters that exist only in Simplified Chinese (their Traditional forms differ), and the reverse. */
const SIMPLIFIED_ONLY = [...'订单货发们这请谢认运费还择为时间账门开关没无写过给经题达应现补号处输误态递评价论邮络联办务复试败确邮']; // 确: 確
const TRADITIONAL_ONLY = [...'訂單貨發們這請謝認運費還擇為時間帳門開關沒無寫過給經題達應現補號處輸誤態遞評價論郵絡聯辦務復試敗確'];

function email(messages: ComposedNotification[]): ComposedNotification {
  const found = messages.find((m) => m.channel === 'email');
  if (!found) throw new Error('no email composed');
  return found;
}

describe('choosing a template and a locale', () => {
  const templates: Templates = {
    greeting: {
      en: { subject: 'Hello', body: 'Hello' },
      'zh-TW': { subject: '您好（繁體）', body: '繁體' },
      'zh-CN': { subject: '您好（简体）', body: '简体' },
    },
    simplified_only: {
      en: { subject: 'English', body: 'English' },
      'zh-CN': { subject: '简体', body: '简体' },
      zh: { subject: '简体（zh）', body: '简体' },
    },
  };

  it('takes the exact locale, then the same script in another region, then English', () => {
    expect(chooseTemplate(templates, 'greeting', 'zh-TW')?.locale).toBe('zh-TW');
    expect(chooseTemplate(templates, 'greeting', 'zh-tw')?.locale).toBe('zh-TW');
    expect(chooseTemplate(templates, 'greeting', 'zh_TW')?.locale).toBe('zh-TW');
    expect(chooseTemplate(templates, 'greeting', 'zh-HK')?.locale).toBe('zh-TW'); // Hant, other region
    expect(chooseTemplate(templates, 'greeting', 'zh-Hant')?.locale).toBe('zh-TW');
    expect(chooseTemplate(templates, 'greeting', 'zh-SG')?.locale).toBe('zh-CN'); // Hans
    expect(chooseTemplate(templates, 'greeting', 'zh')?.locale).toBe('zh-CN'); // bare zh is Simplified
    expect(chooseTemplate(templates, 'greeting', 'en-GB')?.locale).toBe('en');
    expect(chooseTemplate(templates, 'greeting', 'fr-CA')?.locale).toBe('en');
    expect(chooseTemplate(templates, 'greeting', 'not a locale!')?.locale).toBe('en');
    expect(chooseTemplate(templates, 'greeting', null)?.locale).toBe('en');
  });

  it('never gives a Traditional reader Simplified text: zh-TW falls back to English', () => {
    for (const locale of ['zh-TW', 'zh-HK', 'zh-MO', 'zh-Hant']) {
      const chosen = chooseTemplate(templates, 'simplified_only', locale);
      expect(chosen?.locale, locale).toBe('en');
      expect(chosen?.template.subject).toBe('English');
    }
    expect(chooseTemplate(templates, 'simplified_only', 'zh-CN')?.locale).toBe('zh-CN');
  });

  it('answers null for a template that does not exist, or has no locale that fits', () => {
    expect(chooseTemplate(templates, 'no_such_template', 'en')).toBeNull();
    expect(chooseTemplate(templates, 'toString', 'en')).toBeNull();
    expect(chooseTemplate({ only_ja: { ja: { subject: 'x', body: 'x' } } }, 'only_ja', 'zh-TW')).toBeNull();
    expect(resolveLocale('ja-JP', ['ja'])).toBe('ja');
  });

  it('has every default in English, Traditional and Simplified Chinese, each in its own script', () => {
    const required = ['order_confirmed', 'order_rejected', 'stock_shortage', 'payment_failed', 'payment_timeout', 'address_check', 'shipped', 'delayed', 'delivered', 'review_reminder', 'refund_issued'];
    for (const name of required) {
      const byLocale = defaultTemplates[name];
      expect(Object.keys(byLocale ?? {}).sort(), name).toEqual(['en', 'zh-CN', 'zh-TW']);
      const tw = JSON.stringify(byLocale?.['zh-TW']);
      const cn = JSON.stringify(byLocale?.['zh-CN']);
      expect(SIMPLIFIED_ONLY.filter((c) => tw.includes(c)), `${name} zh-TW`).toEqual([]);
      expect(TRADITIONAL_ONLY.filter((c) => cn.includes(c)), `${name} zh-CN`).toEqual([]);
    }
    expect(defaultTemplates.shipped?.en?.body).toContain('{{trackingUrl}}');
  });

  it('lets config entries (English today) override the defaults, locale by locale', () => {
    const config = JSON.parse(readFileSync(new URL('../config/demo.json', import.meta.url), 'utf8')) as {
      notifications: { templates: Record<string, { subject: string; body: string }> };
    };
    const templates = mergeTemplates(defaultTemplates, templatesFromConfig(config.notifications.templates));
    expect(chooseTemplate(templates, 'order_confirmed', 'en')?.template.body).toBe(config.notifications.templates.order_confirmed?.body);
    expect(chooseTemplate(templates, 'order_confirmed', 'zh-TW')?.template).toEqual(defaultTemplates.order_confirmed?.['zh-TW']);
    expect(chooseTemplate(templates, 'delivered', 'en')?.template).toEqual(defaultTemplates.delivered?.en);
  });
});

describe('rendering', () => {
  it('replaces variables and reports the missing ones, once each', () => {
    const out = render('Hi {{ name }}, order {{orderNumber}} — {{trackingUrl}} {{trackingUrl}} {{carrier}}', { name: 'Ana', orderNumber: 42, carrier: null });
    expect(out.text).toBe('Hi Ana, order 42 —   ');
    expect(out.missing).toEqual(['trackingUrl', 'carrier']);
  });

  it('uses a placeholder default for a missing value, and does not report it', () => {
    expect(render('Hello {{customerName|there}},', {})).toEqual({ text: 'Hello there,', missing: [] });
    expect(render('Hello {{customerName|there}},', { customerName: 'Ana' }).text).toBe('Hello Ana,');
  });

  it('escapes template text and values for HTML, leaves plain text as is, and never expands a value', () => {
    const vars = { customerName: '<script>alert("x")</script> & {{orderNumber}}', orderNumber: 'HUB-1' };
    expect(render('Hi {{customerName}}', vars).text).toBe('Hi <script>alert("x")</script> & {{orderNumber}}');
    expect(render('Hi {{customerName}} <b>', vars, { escape: 'html' }).text).toBe(
      'Hi &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; {{orderNumber}} &lt;b&gt;',
    );
  });

  it('renders only own, showable values: no prototype members, objects or invalid dates', () => {
    const out = render('{{toString}}|{{constructor}}|{{obj}}|{{when}}|{{bad}}|{{list}}', {
      obj: { a: 1 },
      when: new Date('2025-01-02T03:04:05Z'),
      bad: new Date('nope'),
      list: ['a', 1, ['nested'], null],
    });
    expect(out.text).toBe('|||2025-01-02T03:04:05.000Z||a, 1');
    expect(out.missing).toEqual(['toString', 'constructor', 'obj', 'bad']);
  });

  it('lists remedies in the reader’s language', () => {
    expect(renderRemedies(['wait', 'cancel'], 'en')).toMatchObject({ list: 'What you can do:\n• wait for the stock\n• cancel the order', inline: 'You can wait for the stock or cancel the order.' });
    expect(renderRemedies(['wait', 'cancel'], 'zh-TW')).toMatchObject({ list: '您可以：\n• 等候補貨\n• 取消訂單', locale: 'zh-TW' });
    expect(renderRemedies(['wait', 'cancel'], 'zh-HK').list).toContain('等候補貨');
    expect(renderRemedies(['wait', 'ship_available', 'cancel'], 'zh-CN')).toMatchObject({ list: '您可以：\n• 等候补货\n• 先发出现有商品\n• 取消订单', inline: '您可以等候补货、先发出现有商品或取消订单。' });
    expect(renderRemedies(['wait', 'teleport'], 'en')).toMatchObject({ unknown: ['teleport'], list: 'What you can do:\n• wait for the stock\n• teleport' });
    expect(renderRemedies([], 'en')).toMatchObject({ list: '', inline: '' });
    for (const locale of ['en', 'zh-TW', 'zh-CN']) {
      const all = renderRemedies(['wait', 'ship_available', 'cancel', 'retry_payment', 'another_payment_method', 'correct_address', 'order_again'], locale);
      expect(all.unknown, locale).toEqual([]);
    }
  });

  it('never throws, and escapes every <, > and quote in HTML mode (property)', () => {
    const messy = fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom('{{', '}}', '{', '}', '|', ' ', 'name', 'x_1', '<', '"')), { maxLength: 30 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(messy, fc.dictionary(fc.oneof(fc.constantFrom('name', 'x_1', '__proto__', 'toString'), fc.string()), fc.anything()), (text, vars) => {
        const plain = render(text, vars);
        const html = render(text, vars, { escape: 'html' });
        expect(typeof plain.text).toBe('string');
        expect(html.text).not.toMatch(/[<>"']/);
        expect(html.missing).toEqual(plain.missing);
      }),
    );
  });

  it('leaves no {{placeholder}} of a variable it was given (property)', () => {
    const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
    const literal = fc.string({ unit: 'grapheme' }).filter((s) => !s.includes('{') && !s.includes('}'));
    const value = fc.oneof(literal, fc.integer(), fc.boolean());
    fc.assert(
      fc.property(fc.dictionary(name, value, { minKeys: 1 }), fc.array(fc.oneof(literal, name.map((n) => ({ n }))), { maxLength: 20 }), fc.constantFrom('', ' ', '  '), (vars, pieces, pad) => {
        const names = Object.keys(vars);
        const text = pieces.map((p) => (typeof p === 'string' ? p : `{{${pad}${names[p.n.length % names.length] ?? p.n}${pad}}}`)).join('');
        for (const mode of ['none', 'html'] as const) {
          const out = render(text, vars, { escape: mode });
          expect(out.text).not.toContain('{{');
          expect(out.missing).toEqual([]);
        }
      }),
    );
  });
});

describe('preferences and quiet hours', () => {
  const taipeiNights = prefs({ quietHours: { start: '22:00', end: '08:00', timeZone: 'Asia/Taipei' } });

  it('uses the channels the customer allows and has an address for', () => {
    const to = { email: 'a@example.com', phone: '+886912345678' };
    expect(channelsFor(to, prefs({ channels: ['sms', 'email', 'push', 'sms'] }))).toEqual(['sms', 'email']);
    expect(channelsFor({ email: null, phone: '  ' }, prefs())).toEqual([]);
    expect(channelsFor({ ...to, deviceToken: 'dev-1' }, prefs({ channels: ['push'] }))).toEqual(['push']);
    expect(channelsFor(to, prefs({ channels: [] }))).toEqual([]);
  });

  it('holds SMS and push during quiet hours across midnight in Taipei, and never email', () => {
    const at = (iso: string) => new Date(iso);
    // 23:30 in Taipei (15:30 UTC): quiet until 08:00 the next Taipei day, 00:00 UTC
    expect(whenToSend('sms', taipeiNights, at('2025-03-01T15:30:00Z'))).toEqual(at('2025-03-02T00:00:00Z'));
    expect(whenToSend('push', taipeiNights, at('2025-03-01T15:30:00Z'))).toEqual(at('2025-03-02T00:00:00Z'));
    expect(whenToSend('email', taipeiNights, at('2025-03-01T15:30:00Z'))).toEqual(at('2025-03-01T15:30:00Z'));
    // 07:59 in Taipei after midnight: the same morning
    expect(whenToSend('sms', taipeiNights, at('2025-03-01T23:59:00Z'))).toEqual(at('2025-03-02T00:00:00Z'));
    // the edges: 22:00 is quiet, 08:00 is not, 21:59 is not
    expect(whenToSend('sms', taipeiNights, at('2025-03-01T14:00:00Z'))).toEqual(at('2025-03-02T00:00:00Z'));
    expect(whenToSend('sms', taipeiNights, at('2025-03-02T00:00:00Z'))).toEqual(at('2025-03-02T00:00:00Z'));
    expect(whenToSend('sms', taipeiNights, at('2025-03-01T13:59:00Z'))).toEqual(at('2025-03-01T13:59:00Z'));
    // 17:00 in Taipei is 04:00 in New York: quiet there, not here
    expect(whenToSend('sms', taipeiNights, NOW)).toEqual(NOW);
  });

  it('ends the window by the local clock across a DST change', () => {
    const newYork = prefs({ quietHours: { start: '21:00', end: '07:00', timeZone: 'America/New_York' } });
    // 23:00 EST on 9 March 2024; clocks go forward at 02:00, so 07:00 is EDT (11:00 UTC)
    expect(whenToSend('sms', newYork, new Date('2024-03-10T04:00:00Z'))).toEqual(new Date('2024-03-10T11:00:00Z'));
    // and back on 3 November: 07:00 is EST (12:00 UTC)
    expect(whenToSend('sms', newYork, new Date('2024-11-03T03:00:00Z'))).toEqual(new Date('2024-11-03T12:00:00Z'));
    // a window ending at 02:30 on the night 02:00–03:00 does not exist ends when the clock jumps: 03:00 EDT
    const gap = prefs({ quietHours: { start: '01:00', end: '02:30', timeZone: 'America/New_York' } });
    expect(whenToSend('sms', gap, new Date('2024-03-10T06:30:00Z'))).toEqual(new Date('2024-03-10T07:00:00Z'));
    // a window ending at 01:30 on the night 01:00–02:00 comes twice ends at the first 01:30, or the second when inside then
    const twice = prefs({ quietHours: { start: '01:00', end: '01:30', timeZone: 'America/New_York' } });
    expect(whenToSend('sms', twice, new Date('2024-11-03T05:10:00Z'))).toEqual(new Date('2024-11-03T05:30:00Z'));
    expect(whenToSend('sms', twice, new Date('2024-11-03T06:10:00Z'))).toEqual(new Date('2024-11-03T06:30:00Z'));
  });

  it('refuses malformed quiet hours with a 400', () => {
    for (const quietHours of [
      { start: '25:00', end: '07:00', timeZone: 'Asia/Taipei' },
      { start: '22:00', end: '7:00', timeZone: 'Asia/Taipei' },
      { start: '22:00', end: '07:00', timeZone: 'Mars/Olympus_Mons' },
    ]) {
      expect(thrownBy(() => whenToSend('sms', prefs({ quietHours }), NOW))).toMatchObject({ code: 'invalid_quiet_hours', status: 400 });
    }
  });

  it('sends at once outside the window, else at the first minute out of it (property)', () => {
    const zones = ['Asia/Taipei', 'America/New_York', 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/St_Johns', 'UTC'];
    const anyDate = fc.date({ min: new Date('2020-01-01T00:00:00Z'), max: new Date('2030-12-31T00:00:00Z'), noInvalidDate: true });
    // the 2024 changes of New York, London, Lord Howe (30 minutes) and St John's, ± 26 h
    const changes = ['2024-03-10T07:00:00Z', '2024-11-03T06:00:00Z', '2024-03-31T01:00:00Z', '2024-10-27T01:00:00Z', '2024-04-06T15:00:00Z', '2024-10-05T15:30:00Z', '2024-03-10T05:30:00Z', '2024-11-03T04:30:00Z'];
    const nearDstChange = fc.tuple(fc.constantFrom(...changes), fc.integer({ min: -26 * 60, max: 26 * 60 })).map(([iso, minutes]) => new Date(Date.parse(iso) + minutes * 60_000));
    const hhmm = fc.integer({ min: 0, max: 1439 }).map((m) => `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`);
    fc.assert(
      fc.property(fc.constantFrom(...zones), hhmm, hhmm, fc.oneof(anyDate, nearDstChange), (timeZone, start, end, now) => {
        const quietHours = { start, end, timeZone };
        const p = prefs({ quietHours });
        const inside = (d: Date) => {
          const parts = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' }).formatToParts(d);
          const get = (t: string) => Number(parts.find((x) => x.type === t)?.value);
          const m = get('hour') * 60 + get('minute');
          const [s, e] = [start, end].map((x) => Number(x.slice(0, 2)) * 60 + Number(x.slice(3)));
          if (s === undefined || e === undefined || s === e) return false;
          return s < e ? m >= s && m < e : m >= s || m < e;
        };
        expect(whenToSend('email', p, now)).toEqual(now);
        const at = whenToSend('sms', p, now);
        if (at.getTime() === now.getTime()) {
          expect(inside(now)).toBe(false);
        } else {
          expect(inside(now)).toBe(true);
          expect(at.getTime()).toBeGreaterThan(now.getTime());
          // a day, and another when a DST jump swallows a one-minute gap between windows
          expect(at.getTime() - now.getTime()).toBeLessThanOrEqual(49 * 3_600_000);
          expect(inside(at)).toBe(false);
          expect(inside(new Date(at.getTime() - 60_000))).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('composing', () => {
  it('makes one message per allowed channel, keyed by order, template and channel', () => {
    const request = requestFromEvent(eventData('order_confirmed'));
    const messages = composeNotification(request, defaultTemplates, prefs({ locale: 'zh-TW', quietHours: { start: '22:00', end: '08:00', timeZone: 'Asia/Taipei' } }), new Date('2025-03-01T15:30:00Z'));
    expect(messages.map((m) => [m.key, m.channel, m.to, m.locale, m.sendAt.toISOString()])).toEqual([
      ['ord_7f3a:order_confirmed:email', 'email', 'mei@example.tw', 'zh-TW', '2025-03-01T15:30:00.000Z'],
      ['ord_7f3a:order_confirmed:sms', 'sms', '+886912345678', 'zh-TW', '2025-03-02T00:00:00.000Z'],
    ]);
    expect(messages[1]).toMatchObject({ text: '訂單 HUB-20250301-0042 已確認，感謝您的訂購！', html: null });
    expect(composeNotification({ ...request, occurrence: '2' }, defaultTemplates, prefs({ channels: ['email'] }), NOW)[0]?.key).toBe('ord_7f3a:order_confirmed:email:2');
  });

  it('writes the remedies and the whole message in the chosen language', () => {
    const request = requestFromEvent(eventData('stock_shortage', { reason: 'not enough stock for Mug (3 ordered, 1 available)', remedies: ['wait', 'ship_available', 'cancel'] }));
    const tw = email(composeNotification(request, defaultTemplates, prefs({ locale: 'zh-TW' }), NOW));
    expect(tw.subject).toBe('訂單 HUB-20250301-0042：部分商品缺貨');
    expect(tw.text).toContain('您可以：\n• 等候補貨\n• 先寄出現有商品\n• 取消訂單');
    expect(tw.html).toContain('<li>等候補貨</li>');
    expect(tw.html).toContain('<html lang="zh-TW">');
    expect(SIMPLIFIED_ONLY.filter((c) => `${tw.subject}${tw.text}${tw.html}`.includes(c))).toEqual([]);

    const en = email(composeNotification(request, defaultTemplates, prefs({ locale: 'pt-BR' }), NOW));
    expect(en.locale).toBe('en');
    expect(en.text).toContain('What you can do:\n• wait for the stock\n• receive what is in stock now\n• cancel the order');
    expect(en.text).toContain('(not enough stock for Mug (3 ordered, 1 available))');

    // no remedies: no heading, no trailing blank lines
    const rejected = email(composeNotification(requestFromEvent(eventData('order_rejected', { reason: 'blocked', remedies: [] })), defaultTemplates, prefs(), NOW));
    expect(rejected.text.endsWith('(blocked).')).toBe(true);
  });

  it('escapes the HTML part: a customer name with <script> is text there, and as is in the text part', () => {
    const request = requestFromEvent(eventData('order_confirmed', { customerName: '<script>alert(1)</script>' }));
    const m = email(composeNotification(request, defaultTemplates, prefs({ locale: 'en' }), NOW));
    expect(m.html).not.toContain('<script');
    expect(m.html).toContain('Hello &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(m.text.startsWith('Hello <script>alert(1)</script>,')).toBe(true);
  });

  it('reports the variables a template wanted and did not get', () => {
    const request = requestFromEvent(eventData('shipped', { carrier: 'ups', trackingCode: '1Z999', trackingUrl: null, remedies: ['teleport'] }));
    const messages = composeNotification(request, defaultTemplates, prefs(), NOW);
    expect(messages.map((m) => [m.channel, m.missing])).toEqual([
      ['email', ['trackingUrl', 'remedy:teleport']],
      ['sms', ['trackingUrl', 'remedy:teleport']],
    ]);
    const withUrl = email(composeNotification(requestFromEvent(eventData('shipped', { carrier: 'ups', trackingCode: '1Z999', trackingUrl: 'https://track.example/1Z999?a=1&b=2' })), defaultTemplates, prefs(), NOW));
    expect(withUrl.missing).toEqual([]);
    expect(withUrl.html).toContain('<a href="https://track.example/1Z999?a=1&amp;b=2">https://track.example/1Z999?a=1&amp;b=2</a>');
  });

  it('sends nothing to a customer without a usable channel, and refuses an unknown template', () => {
    const request = requestFromEvent(eventData('order_confirmed'));
    expect(composeNotification(request, defaultTemplates, prefs({ channels: ['push'] }), NOW)).toEqual([]);
    const error = thrownBy(() => composeNotification({ ...request, template: 'no_such' }, defaultTemplates, prefs(), NOW));
    expect(error).toBeInstanceOf(HubError);
    expect(error).toMatchObject({ code: 'notification_template_unknown', retryable: false });
  });

  it('reads the pipeline’s event, refusing one without order, template or address', () => {
    expect(requestFromEvent(eventData('payment_failed', { reason: 'declined', remedies: ['retry_payment'] }))).toEqual({
      orderId: 'ord_7f3a',
      template: 'payment_failed',
      to: { email: 'mei@example.tw', phone: '+886912345678', deviceToken: null },
      vars: { orderId: 'ord_7f3a', orderNumber: 'HUB-20250301-0042', customerName: '林美玲', reason: 'declined' },
      remedies: ['retry_payment'],
      locale: null,
    });
    for (const bad of [{ orderId: undefined }, { template: 7 }, { to: null }, { remedies: 'wait' }, { to: { email: 5 } }]) {
      expect(thrownBy(() => requestFromEvent(eventData('x', bad))), JSON.stringify(bad)).toMatchObject({ code: 'invalid_notification_request', status: 400 });
    }
  });
});

describe('email over a real SMTP server', () => {
  let sink: SmtpSink;
  let sender: NotificationSender;

  beforeAll(async () => {
    sink = await startSmtpSink();
    sender = createEmailSender({ host: sink.host, port: sink.port, from: '"Order Hub" <orders@shop.example>', timeoutMs: 5_000 });
  });
  afterAll(async () => {
    sender.close();
    await sink.close();
  });
  beforeEach(() => {
    sink.messages.length = 0;
    sink.rejectRecipients(null);
  });

  it('delivers a zh-TW email with the Traditional Chinese subject and body, UTF-8 intact', async () => {
    const request = requestFromEvent(eventData('stock_shortage', { remedies: ['wait', 'cancel'] }));
    const m = email(composeNotification(request, defaultTemplates, prefs({ locale: 'zh-TW' }), NOW));
    const result = await sender.send(m);
    expect(result).toEqual({ ok: true, id: '<ord_7f3a=3Astock_shortage=3Aemail@shop.example>' });

    expect(sink.messages).toHaveLength(1);
    const [received] = sink.messages;
    expect(received?.envelope).toEqual({ from: 'orders@shop.example', to: ['mei@example.tw'] });
    const mail = received?.parsed;
    expect(mail?.subject).toBe('訂單 HUB-20250301-0042：部分商品缺貨');
    expect(mail?.text?.trim()).toBe('林美玲 您好：\n\n很抱歉，您的訂單 HUB-20250301-0042 中有部分商品目前缺貨。\n\n您可以：\n• 等候補貨\n• 取消訂單');
    expect(mail?.html).toContain('<li>等候補貨</li>');
    expect(mail?.messageId).toBe('<ord_7f3a=3Astock_shortage=3Aemail@shop.example>');
    expect(mail?.headers.get('x-hub-notification')).toBe('ord_7f3a:stock_shortage:email');
    expect(mail?.headers.get('content-language')).toBe('zh-TW');
    const raw = received?.raw.toString('latin1') ?? '';
    expect(raw).toMatch(/^Subject: =\?UTF-8\?/im);
    expect(raw).toMatch(/charset=utf-8/i);
    expect(SIMPLIFIED_ONLY.filter((c) => `${mail?.subject}${mail?.text}${String(mail?.html)}`.includes(c))).toEqual([]);
  });

  it('sends English to a locale it has no text for, and escaped HTML', async () => {
    const request = requestFromEvent(eventData('order_confirmed', { customerName: '<script>alert(1)</script>' }));
    const m = email(composeNotification(request, defaultTemplates, prefs({ locale: 'sw-KE' }), NOW));
    expect(await sender.send(m)).toMatchObject({ ok: true });
    const mail = sink.messages[0]?.parsed;
    expect(mail?.subject).toBe('Order HUB-20250301-0042 confirmed');
    expect(mail?.text).toContain('Hello <script>alert(1)</script>,');
    expect(mail?.html).not.toContain('<script');
    expect(mail?.html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('makes a resend recognisable: the same Message-ID and key header', async () => {
    const m = email(composeNotification(requestFromEvent(eventData('delivered')), defaultTemplates, prefs(), NOW));
    await sender.send(m);
    await sender.send(m);
    expect(sink.messages).toHaveLength(2); // SMTP has no idempotency: the mailbox sees both
    expect(new Set(sink.messages.map((r) => r.parsed.messageId))).toEqual(new Set([messageIdFor(m.key, 'shop.example')]));
  });

  it('tells a permanent refusal (5xx) from a transient one (4xx, no server)', async () => {
    const m = email(composeNotification(requestFromEvent(eventData('delivered')), defaultTemplates, prefs(), NOW));
    sink.rejectRecipients(550);
    expect(await sender.send(m)).toMatchObject({ ok: false, retryable: false });
    sink.rejectRecipients(450);
    expect(await sender.send(m)).toMatchObject({ ok: false, retryable: true });
    expect(sink.messages).toHaveLength(0);

    const port = await freePort();
    const nobody = createEmailSender({ host: '127.0.0.1', port, from: 'orders@shop.example', timeoutMs: 2_000 });
    expect(await nobody.send(m)).toMatchObject({ ok: false, retryable: true });
    nobody.close();
  });
});

describe('SMS and push over HTTP', () => {
  let stub: SmsStub;

  beforeAll(async () => {
    stub = await startSmsStub();
  });
  afterAll(async () => {
    await stub.close();
  });
  beforeEach(() => {
    stub.delivered.length = 0;
    stub.calls.length = 0;
  });

  it('delivers one SMS per key, even when it is sent twice', async () => {
    const sms = createSmsSender({ baseUrl: stub.baseUrl, apiKey: stub.apiKey });
    const request = requestFromEvent(eventData('shipped', { carrier: 'ups', trackingCode: '1Z9', trackingUrl: 'https://t.example/1Z9' }));
    const [message] = composeNotification(request, defaultTemplates, prefs({ channels: ['sms'], locale: 'zh-CN' }), NOW);
    if (!message) throw new Error('no sms');
    const first = await sms.send(message);
    const second = await sms.send(message);
    expect(first).toEqual({ ok: true, id: 'msg_1' });
    expect(second).toEqual(first);
    expect(stub.calls.map((c) => c.outcome)).toEqual(['delivered', 'replayed']);
    expect(stub.delivered).toEqual([
      { id: 'msg_1', key: 'ord_7f3a:shipped:sms', kind: 'sms', body: { to: '+886912345678', text: '订单 HUB-20250301-0042 已发货，查看物流：https://t.example/1Z9' } },
    ]);
  });

  it('sends push with a title and body, under its own key', async () => {
    const push = createPushSender({ baseUrl: `${stub.baseUrl}/`, apiKey: stub.apiKey });
    const request = requestFromEvent(eventData('delivered', { to: { email: null, phone: null, deviceToken: 'device-abc' } }));
    const [message] = composeNotification(request, defaultTemplates, prefs({ channels: ['push'], locale: 'zh-TW' }), NOW);
    if (!message) throw new Error('no push');
    expect(await push.send(message)).toMatchObject({ ok: true });
    expect(stub.delivered[0]).toMatchObject({ key: 'ord_7f3a:delivered:push', kind: 'push', body: { deviceToken: 'device-abc', title: '訂單 HUB-20250301-0042 已送達', body: '訂單 HUB-20250301-0042 已送達。' } });
  });

  it('says which failures are worth a retry', async () => {
    const sms = createSmsSender({ baseUrl: stub.baseUrl, apiKey: stub.apiKey });
    const message = { key: 'ord_1:delivered:sms', to: '+15550100', subject: '', text: 'hi' };
    stub.failNext(503);
    expect(await sms.send(message)).toMatchObject({ ok: false, retryable: true });
    stub.failNext(429);
    expect(await sms.send(message)).toMatchObject({ ok: false, retryable: true });
    expect(await sms.send({ ...message, text: '' })).toMatchObject({ ok: false, retryable: false }); // 422
    expect(await createSmsSender({ baseUrl: stub.baseUrl, apiKey: 'wrong' }).send(message)).toMatchObject({ ok: false, retryable: false });
    expect(await sms.send(message)).toEqual({ ok: true, id: 'msg_1' });
    expect(await sms.send({ ...message, text: 'other' })).toMatchObject({ ok: false, retryable: false }); // same key, other text
    expect(stub.delivered).toHaveLength(1);

    const nobody = createSmsSender({ baseUrl: `http://127.0.0.1:${await freePort()}`, apiKey: 'k' });
    expect(await nobody.send(message)).toMatchObject({ ok: false, retryable: true });
    expect(() => createSmsSender({ baseUrl: 'not a url', apiKey: 'k' })).toThrow(HubError);
  });
});

/** A loopback port nobody listens on (taken and released). */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
