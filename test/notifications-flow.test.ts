import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { notificationSenders, sendDueNotifications } from '../core/stages/notifications.ts';
import { requestReviewReminders } from '../core/stages/review-reminders.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { adminToken, eventually, quietLogger, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startSmsStub, type SmsStub } from './support/sms-stub.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// Customers are told through the real hub, by email into a real SMTP server on loopback: in
// their language, once each, and every send is on the order's timeline.
const secret = 'web-notify';
const namespace = testNamespace('notify');
let env: ReturnType<typeof testEnv>;
let hub: Hub;
let smtp: SmtpSink;
let sms: SmsStub;
let config: ReturnType<typeof loadConfig>;

beforeAll(async () => {
  smtp = await startSmtpSink();
  sms = await startSmsStub();
  env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret, SMS_API_KEY: sms.apiKey });
  config = loadConfig(defaultConfigPath);
  config.notifications = {
    ...config.notifications,
    email: { host: smtp.host, port: smtp.port, from: 'orders@shop.example' },
    sms: { baseUrl: sms.baseUrl },
    reviewReminder: { afterDays: 7, url: 'https://shop.example/review?order={{orderNumber}}' },
  };
  hub = await startHub(env, { roles: ['worker'], logger: quietLogger(), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await smtp?.close();
  await sms?.close();
  await removeNamespace(env, hub?.topology);
});

let n = 0;
async function send(order: CanonicalOrder, eventId = `n-${++n}`): Promise<void> {
  const response = await postWebsiteOrder(hub, order, secret, eventId);
  expect(response.status).toBe(200);
  await settled(hub);
}
const kentucky = shippingAddress('US', 'KY', { postalCode: '40202' });
const mailsTo = (address: string) => smtp.messages.filter((m) => m.envelope.to.includes(address));

describe('customer notifications', () => {
  it('the confirmation arrives in the customer\'s language, Traditional Chinese, once', async () => {
    const order = anOrder({ externalId: 'TW-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'mei@example.tw', phone: null, name: '王小美', locale: 'zh-TW' } });
    await send(order);
    await send(order, 'n-again'); // the same order again under another event id: no second order, no second mail
    const mails = await eventually(async () => (mailsTo('mei@example.tw').length > 0 ? mailsTo('mei@example.tw') : undefined), 10_000, 'the email');
    await settled(hub);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.parsed.subject).toMatch(/^訂單 HUB-\d{8}-\d{8} 已確認$/);
    expect(mails[0]!.parsed.text).toContain('感謝您的訂購');
    expect(mails[0]!.parsed.text).not.toContain('订单'); // never Simplified for a zh-TW reader
    const list = (await (await hub.app.request('/api/orders?channel=website&externalId=TW-1', { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { items: { id: string }[] };
    const detail = (await (await hub.app.request(`/api/orders/${list.items[0]!.id}`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { timeline: { type: string; reason: string }[] };
    const sent = detail.timeline.filter((e) => e.type === 'notification.sent');
    // the timeline names the address masked, as the notification list does
    expect(sent).toEqual([expect.objectContaining({ reason: expect.stringContaining('m***@example.tw') })]);
    expect(JSON.stringify(sent)).not.toContain('mei@example.tw');
  });

  it('English for an unknown locale; a rejection names the remedy; HTML is escaped', async () => {
    const credit = { method: 'store_credit' as const, provider: null, status: 'paid' as const };
    await send(anOrder({ externalId: 'REJ-1', payment: credit, shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'bob@example.com', phone: null, name: '<script>x</script>', locale: 'xx-YY' } }));
    const [mail] = await eventually(async () => (mailsTo('bob@example.com').length > 0 ? mailsTo('bob@example.com') : undefined), 10_000, 'the email');
    expect(mail!.parsed.subject).toMatch(/could not be accepted/i);
    expect(mail!.parsed.text).toMatch(/another payment method/i);
    expect(String(mail!.parsed.html)).not.toContain('<script>');
  });

  it('the customer\'s own preferences win: Simplified Chinese chosen through the API, whatever the order says', async () => {
    const put = await hub.app.request('/api/customers/Li.Lei@Example.cn/preferences', {
      method: 'PUT', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channels: ['email'], locale: 'zh-CN', quietHours: { start: '22:00', end: '07:00', timeZone: 'Asia/Shanghai' } }),
    });
    expect(put.status).toBe(200);
    const bad = await hub.app.request('/api/customers/li.lei@example.cn/preferences', {
      method: 'PUT', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ channels: ['fax'] }),
    });
    expect(bad.status).toBe(400);
    await send(anOrder({ externalId: 'CN-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'li.lei@example.cn', phone: null, name: '李雷', locale: 'en' } }));
    const [mail] = await eventually(async () => (mailsTo('li.lei@example.cn').length > 0 ? mailsTo('li.lei@example.cn') : undefined), 10_000, 'the email');
    expect(mail!.parsed.subject).toMatch(/^订单 HUB-\d{8}-\d{8} 已确认$/);
  });

  it('a recipient the mail server refuses for good is recorded as failed, on the timeline, not retried forever', async () => {
    smtp.rejectRecipients(550);
    await send(anOrder({ externalId: 'BOUNCE-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'nobody@example.com', phone: null, name: 'N', locale: 'en' } }));
    smtp.rejectRecipients(null);
    const { rows } = await hub.db.query(`SELECT status, error FROM notifications WHERE recipient = 'nobody@example.com'`);
    expect(rows).toEqual([expect.objectContaining({ status: 'failed' })]);
  });

  it('a review reminder goes out once, a week after delivery, with the order in its link; long-delivered orders are left alone', async () => {
    const customer = (email: string) => ({ id: null, email, phone: null, name: 'Rita', locale: 'en' });
    await send(anOrder({ externalId: 'REVIEW-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: customer('rita@example.com') }));
    await send(anOrder({ externalId: 'REVIEW-OLD', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: customer('old@example.com') }));
    // Delivery itself is proven in fulfilment-flow; here the orders are put in that state with the day it happened.
    const deliveredDaysAgo = async (externalId: string, days: number): Promise<string> => {
      const { rows } = await hub.db.query<{ id: string; orderNumber: string }>(
        `UPDATE orders SET status = 'delivered', fulfillment_status = 'delivered' WHERE external_id = $1 RETURNING id, order_number AS "orderNumber"`, [externalId]);
      await hub.db.query(`INSERT INTO order_events (order_id, at, type, to_status, actor) VALUES ($1, now() - make_interval(days => $2), 'parcel.delivered', 'delivered', 'test')`, [rows[0]!.id, days]);
      return rows[0]!.orderNumber;
    };
    const orderNumber = await deliveredDaysAgo('REVIEW-1', 8);
    await deliveredDaysAgo('REVIEW-OLD', 60);
    const sentBefore = smtp.messages.length;

    expect(await requestReviewReminders(hub.db, hub.ctx)).toEqual({ due: 1, requested: 1 });
    expect(await requestReviewReminders(hub.db, hub.ctx)).toEqual({ due: 0, requested: 0 });
    const mails = await eventually(async () => {
      const found = mailsTo('rita@example.com').filter((m) => String(m.parsed.text).includes('/review?order='));
      return found.length > 0 ? found : undefined;
    }, 10_000, 'the review reminder');
    await settled(hub);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.parsed.text).toContain(`https://shop.example/review?order=${orderNumber}`);
    expect(smtp.messages.slice(sentBefore).filter((m) => m.envelope.to.includes('old@example.com'))).toEqual([]);
  });

  it('an SMS in the customer\'s quiet hours waits for the morning, then goes out once; the email does not wait', async () => {
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = Date.now();
    const put = await hub.app.request('/api/customers/night.owl@example.com/preferences', {
      method: 'PUT', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ channels: ['email', 'sms'], locale: 'en', quietHours: { start: hhmm(new Date(now - 3_600_000)), end: hhmm(new Date(now + 2 * 3_600_000)), timeZone: 'UTC' } }),
    });
    expect(put.status).toBe(200);
    await send(anOrder({ externalId: 'NIGHT-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'night.owl@example.com', phone: '+1 502 555 0188', name: 'Owl', locale: 'en' } }));
    await eventually(async () => (mailsTo('night.owl@example.com').length > 0 ? true : undefined), 10_000, 'the email');
    const smsFor = () => sms.delivered.filter((m) => m.body.to === '+1 502 555 0188');
    expect(smsFor()).toEqual([]);
    const { rows } = await hub.db.query<{ status: string; sendAfter: Date }>(`SELECT status, send_after AS "sendAfter" FROM notifications WHERE recipient = '+1 502 555 0188'`);
    expect(rows).toEqual([expect.objectContaining({ status: 'scheduled' })]);
    expect(rows[0]!.sendAfter.getTime()).toBeGreaterThan(now + 3_600_000);

    const morning = { ...hub.ctx, now: () => new Date(rows[0]!.sendAfter.getTime() + 60_000) };
    const senders = notificationSenders(config, env.secrets);
    expect(await sendDueNotifications(hub.db, hub.ctx, senders)).toEqual({ due: 0, sent: 0, expired: 0 }); // still night
    expect(await sendDueNotifications(hub.db, morning, senders)).toMatchObject({ sent: 1 });
    expect(await sendDueNotifications(hub.db, morning, senders)).toMatchObject({ sent: 0 });
    expect(smsFor()).toEqual([expect.objectContaining({ kind: 'sms', body: expect.objectContaining({ text: expect.stringMatching(/HUB-\d{8}-\d{8}/) }) })]);
  });
});

describe('a send that did not end', () => {
  const senders = () => notificationSenders(config, env.secrets);
  const rowOf = async (key: string) =>
    (await hub.db.query<{ status: string; claimedUntil: Date | null; error: string | null }>(
      `SELECT status, claimed_until AS "claimedUntil", error FROM notifications WHERE key = $1`, [key])).rows[0];
  const at = (ms: number) => ({ ...hub.ctx, now: () => new Date(ms) });

  it('a confirmation whose mail server was away through every retry is left to the job, not parked, and sent once the server is back, once', async () => {
    smtp.rejectRecipients(450);
    const response = await postWebsiteOrder(hub, anOrder({ externalId: 'AWAY-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'away@example.com', phone: null, name: 'Away', locale: 'en' } }), secret, 'away-1');
    expect(response.status).toBe(200);
    // after its last retry the request says so on the order's timeline, and is done with
    const { rows: delayed } = await eventually(async () => {
      const found = await hub.db.query<{ orderId: string; reason: string }>(
        `SELECT e.order_id AS "orderId", e.reason FROM order_events e JOIN orders o ON o.id = e.order_id WHERE o.external_id = 'AWAY-1' AND e.type = 'notification.delayed'`);
      return found.rows.length > 0 ? found : undefined;
    }, 15_000, 'the request left to the job after its retries');
    expect(delayed).toHaveLength(1);
    expect(delayed[0]!.reason).toMatch(/^email ".*" to a\*+@example\.com: .*450 mailbox a\*+@example\.com unavailable; the notifications job tries again every minute$/);
    expect(delayed[0]!.reason).not.toContain('away@example.com'); // the server's answer quoted the address: masked too
    await settled(hub);
    const { rows: raised } = await hub.db.query(`SELECT type, reason FROM exceptions WHERE order_id = $1 OR reason LIKE '%email provider unavailable%'`, [delayed[0]!.orderId]);
    expect(raised).toEqual([]); // nothing parked: there is nothing for a person to do
    const { rows } = await hub.db.query<{ key: string; error: string }>(`SELECT key, error FROM notifications WHERE recipient = 'away@example.com'`);
    // the server's last answer is kept for the order's page, the address in it masked
    expect(rows[0]!.error).toMatch(/450 mailbox a\*+@example\.com unavailable/);
    // kept, due, and claimed by nobody: the retries gave their claims back
    expect(await rowOf(rows[0]!.key)).toMatchObject({ status: 'scheduled', claimedUntil: null });

    smtp.rejectRecipients(null);
    expect(await sendDueNotifications(hub.db, hub.ctx, senders())).toMatchObject({ sent: 1 });
    expect(await sendDueNotifications(hub.db, hub.ctx, senders())).toMatchObject({ sent: 0 });
    expect(mailsTo('away@example.com')).toHaveLength(1);
    // as the request composed it: the HTML part too
    const [mail] = mailsTo('away@example.com');
    expect(mail!.parsed.html).toEqual(expect.stringContaining('<!DOCTYPE html>'));
    expect(mail!.parsed.text).toContain('HUB-');
    expect(await rowOf(rows[0]!.key)).toMatchObject({ status: 'sent', claimedUntil: null });
  });

  it('a claim holds every other sender off until it runs out (its sender died mid-send); then the job sends the message once', async () => {
    const now = Date.now();
    const key = `no-order:claimed:email:${now}`;
    await hub.db.query(
      `INSERT INTO notifications (key, template, channel, recipient, locale, subject, body, status, send_after, claimed_until)
       VALUES ($1, 'order_confirmed', 'email', 'claimed@example.com', 'en', 'Claimed', 'Your order', 'scheduled', $2, $3)`,
      [key, new Date(now - 60_000), new Date(now + 2 * 60_000)]);
    expect(await sendDueNotifications(hub.db, at(now), senders())).toMatchObject({ due: 0, sent: 0 });
    expect(mailsTo('claimed@example.com')).toHaveLength(0);

    const later = at(now + 2 * 60_000 + 1_000);
    expect(await sendDueNotifications(hub.db, later, senders())).toMatchObject({ due: 1, sent: 1 });
    expect(await sendDueNotifications(hub.db, later, senders())).toMatchObject({ due: 0, sent: 0 });
    expect(mailsTo('claimed@example.com')).toHaveLength(1);
    expect(await rowOf(key)).toMatchObject({ status: 'sent', claimedUntil: null });
  });

  it('the job leaves a message whose provider is away for 5 minutes, so the messages behind it get their turn', async () => {
    const now = Date.now();
    const key = `no-order:away:email:${now}`;
    await hub.db.query(
      `INSERT INTO notifications (key, template, channel, recipient, locale, subject, body, status, send_after)
       VALUES ($1, 'order_confirmed', 'email', 'later@example.com', 'en', 'Later', 'Your order', 'scheduled', $2)`,
      [key, new Date(now - 60_000)]);
    smtp.rejectRecipients(450);
    try {
      expect(await sendDueNotifications(hub.db, at(now), senders())).toMatchObject({ sent: 0 });
    } finally {
      smtp.rejectRecipients(null);
    }
    const { rows } = await hub.db.query<{ sendAfter: Date; claimedUntil: Date | null }>(`SELECT send_after AS "sendAfter", claimed_until AS "claimedUntil" FROM notifications WHERE key = $1`, [key]);
    expect(rows[0]!.claimedUntil).toBeNull();
    expect(rows[0]!.sendAfter.getTime()).toBeGreaterThanOrEqual(now + 5 * 60_000);
    expect(await sendDueNotifications(hub.db, at(now + 60_000), senders())).toMatchObject({ sent: 0 }); // not yet
    expect(await sendDueNotifications(hub.db, at(now + 6 * 60_000), senders())).toMatchObject({ sent: 1 });
    expect(mailsTo('later@example.com')).toHaveLength(1);
  });

  it('a message recorded more than a day ago and never tried (the hub itself was down) is sent, not given up', async () => {
    const now = Date.now();
    const key = `no-order:waited:email:${now}`;
    await hub.db.query(
      `INSERT INTO notifications (key, template, channel, recipient, locale, subject, body, status, send_after, created_at)
       VALUES ($1, 'order_confirmed', 'email', 'waited@example.com', 'en', 'Waited', 'Your order', 'scheduled', $2, $2)`,
      [key, new Date(now - 30 * 3_600_000)]);
    expect(await sendDueNotifications(hub.db, at(now), senders())).toMatchObject({ sent: 1, expired: 0 });
    expect(mailsTo('waited@example.com')).toHaveLength(1);
  });

  it('a message its provider did not take for a day is given up: failed, with the reason, on the order\'s timeline', async () => {
    smtp.rejectRecipients(450);
    try {
      await send(anOrder({ externalId: 'DAY-1', shippingAddress: kentucky, lines: [orderLine('SKU2006-001', 1)], customer: { id: null, email: 'day@example.com', phone: null, name: 'Day', locale: 'en' } }));
    } finally {
      smtp.rejectRecipients(null);
    }
    const { rows } = await hub.db.query<{ key: string; orderId: string; sendAfter: Date }>(`SELECT key, order_id AS "orderId", send_after AS "sendAfter" FROM notifications WHERE recipient = 'day@example.com'`);
    const { key, orderId, sendAfter } = rows[0]!;
    expect(await sendDueNotifications(hub.db, at(sendAfter.getTime() + 25 * 3_600_000), senders())).toMatchObject({ expired: 1 });
    expect(mailsTo('day@example.com')).toHaveLength(0);
    expect(await rowOf(key)).toMatchObject({ status: 'failed', error: expect.stringMatching(/not sent within 24 h/) });
    const { rows: timeline } = await hub.db.query<{ reason: string }>(`SELECT reason FROM order_events WHERE order_id = $1 AND type = 'notification.failed'`, [orderId]);
    expect(timeline).toEqual([{ reason: expect.stringMatching(/^email "order_confirmed": not sent within 24 h/) }]);
  });
});
