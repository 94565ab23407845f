import { Writable } from 'node:stream';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { startHub, type Hub } from '../core/hub.ts';
import { createLogger, maskPersonalText, redactPersonalData } from '../core/logger.ts';
import { names } from '../core/messaging/topology.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { eventually, removeNamespace, testEnv, testNamespace } from './support/env.ts';
import { postWebsiteOrder, settled } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// A hub logging everything (level trace) into memory, while orders carrying distinctive
// personal data go through it — accepted and confirmed by email, refused by validation,
// refused as malformed, bounced by the mail server, retried, parked — and not one of those
// values may be found in the log, while the orders' ids are.
const secret = 'web-log-redaction';
const namespace = testNamespace('logredact');
const env = testEnv(namespace, { WEBSITE_WEBHOOK_SECRET: secret });
const lines: string[] = [];
const log = () => lines.join('');
let hub: Hub;
let smtp: SmtpSink;

const person = (tag: string) => ({
  name: `Zebulon Quixtrade-${tag}`,
  email: `zebulon.quixtrade.${tag}@privacy-test.example`,
  phone: `+44 20 7946 0${tag.charCodeAt(0) % 10}${tag.length}1`,
  line1: `77 Xylophone Crescent ${tag}`,
  line2: `Flat Qv9-${tag}`,
  postalCode: '40202-7731',
});
type Person = ReturnType<typeof person>;
const personalValues = (p: Person) => [p.name, p.email, p.phone, p.line1, p.line2, p.postalCode];

function orderFor(p: Person, externalId: string, overrides: Partial<CanonicalOrder> = {}): CanonicalOrder {
  return anOrder({
    channel: 'website', externalId, lines: [orderLine('SKU2006-001', 1)],
    customer: { id: null, email: p.email, phone: p.phone, name: p.name, locale: 'en' },
    shippingAddress: shippingAddress('US', 'KY', { name: p.name, line1: p.line1, line2: p.line2, postalCode: p.postalCode, phone: p.phone }),
    ...overrides,
  });
}

beforeAll(async () => {
  smtp = await startSmtpSink();
  const config = loadConfig(defaultConfigPath);
  config.notifications = { ...config.notifications, email: { host: smtp.host, port: smtp.port, from: 'orders@shop.example' } };
  const sink = new Writable({ write(chunk: Buffer, _encoding, done) { lines.push(chunk.toString('utf8')); done(); } });
  hub = await startHub(env, { roles: ['worker'], logger: createLogger({ level: 'trace' }, sink), config, retry: { delaysMs: [100, 300], maxAttempts: 3 } });
});
afterAll(async () => {
  await hub?.stop();
  await smtp?.close();
  await removeNamespace(env, hub?.topology);
});

const orderIdOf = async (externalId: string) => {
  const { rows } = await hub.db.query<{ id: string }>('SELECT id::text FROM orders WHERE external_id = $1', [externalId]);
  return rows[0]?.id;
};

describe('personal data in the log', () => {
  const everyone: Person[] = [];

  it('an accepted order, confirmed by email', async () => {
    const p = person('ok');
    everyone.push(p);
    expect((await postWebsiteOrder(hub, orderFor(p, 'LOG-OK-1'), secret, 'log-ok-1')).status).toBe(200);
    await eventually(async () => (smtp.messages.some((m) => m.envelope.to.includes(p.email)) ? true : undefined), 15_000, 'the confirmation');
  });

  it('an order refused by validation (no warehouse ships there), and the customer told', async () => {
    const p = person('val');
    everyone.push(p);
    const order = orderFor(p, 'LOG-VAL-1', { shippingAddress: shippingAddress('AQ', null, { name: p.name, line1: p.line1, line2: p.line2, postalCode: p.postalCode, phone: p.phone }) });
    expect((await postWebsiteOrder(hub, order, secret, 'log-val-1')).status).toBe(200);
    await settled(hub);
    const { rows } = await hub.db.query<{ status: string }>("SELECT status FROM orders WHERE external_id = 'LOG-VAL-1'");
    expect(rows[0]?.status).not.toBe('validated');
  });

  it('a malformed order (422), kept raw with an exception', async () => {
    const p = person('bad');
    everyone.push(p);
    const order = { ...orderFor(p, 'LOG-BAD-1'), currency: 'dollars' };
    const response = await postWebsiteOrder(hub, order, secret, 'log-bad-1');
    expect(response.status).toBe(422);
  });

  it('an email the mail server refuses for a while (retried) and one it refuses for good', async () => {
    const busy = person('busy');
    const gone = person('gone');
    everyone.push(busy, gone);
    smtp.rejectRecipients(450);
    expect((await postWebsiteOrder(hub, orderFor(busy, 'LOG-BUSY-1'), secret, 'log-busy-1')).status).toBe(200);
    await eventually(async () => (log().includes('"retry scheduled"') || log().includes('message parked') ? true : undefined), 15_000, 'a retried notification');
    smtp.rejectRecipients(550);
    expect((await postWebsiteOrder(hub, orderFor(gone, 'LOG-GONE-1'), secret, 'log-gone-1')).status).toBe(200);
    await eventually(async () => {
      const { rows } = await hub.db.query("SELECT 1 FROM notifications WHERE status = 'failed' AND recipient = $1", [gone.email]);
      return rows.length > 0 ? true : undefined;
    }, 15_000, 'the bounced notification');
    smtp.rejectRecipients(null);
    await settled(hub);
  });

  it('a message that is no CloudEvent, carrying personal data, parked', async () => {
    const p = person('park');
    everyone.push(p);
    const connection = await amqp.connect(env.amqpUrl);
    try {
      const channel = await connection.createConfirmChannel();
      const junk = `customer ${p.name} <${p.email}> ${p.phone}, ${p.line1}, ${p.line2}, ${p.postalCode} {`;
      channel.sendToQueue(names(namespace).stage('normalize'), Buffer.from(junk), { persistent: true, messageId: 'log-park-1' });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }
    await eventually(async () => {
      const { rows } = await hub.db.query("SELECT 1 FROM dead_letters WHERE message_id = 'log-park-1'");
      return rows.length > 0 ? true : undefined;
    }, 15_000, 'the parked message');
  });

  it('leaves no name, email, phone, address line or postal code in the log, and names the orders by id', async () => {
    await settled(hub);
    const text = log();
    expect(text.length).toBeGreaterThan(0);
    for (const p of everyone) {
      for (const value of personalValues(p)) expect(text, `"${value}" is in the log`).not.toContain(value);
      expect(text).not.toContain(p.email.split('@')[0]);
    }
    for (const externalId of ['LOG-OK-1', 'LOG-VAL-1', 'LOG-BUSY-1', 'LOG-GONE-1']) {
      const id = await orderIdOf(externalId);
      expect(id, externalId).toBeDefined();
      expect(text, `order ${externalId} (${id}) is named in the log`).toContain(id);
    }
    expect(text).toContain('log-park-1');
  });
});

describe('redactPersonalData', () => {
  it('replaces personal fields whole, at any depth, and masks emails and phones in free text', () => {
    const error = Object.assign(new Error('550 <jane.doe@example.org>: no such mailbox; call +1 (555) 010-9999'), { payload: { shippingAddress: { line1: 'x' } } });
    const redacted = redactPersonalData({
      orderId: '123456789012345678',
      data: { customer: { email: 'jane.doe@example.org', name: 'Jane' }, lines: [{ sku: 'A', quantity: 1 }], postal_code: '10001' },
      err: error,
      envelope: { to: ['jane.doe@example.org'] },
      note: 'sent to jane.doe@example.org',
    }) as Record<string, unknown>;
    expect(JSON.stringify(redacted)).not.toMatch(/jane|555|10001|"x"/i);
    expect(redacted.orderId).toBe('123456789012345678');
    expect(redacted).toMatchObject({ data: { customer: '[redacted]', lines: [{ sku: 'A', quantity: 1 }], postal_code: '[redacted]' }, envelope: '[redacted]', note: 'sent to [email]' });
    expect(redacted.err).toMatchObject({ type: 'Error', message: '550 <[email]>: no such mailbox; call [phone]', payload: '[redacted]' });
    expect(maskPersonalText('order 820982911946154508 for +44 20 7946 0321')).toBe('order 820982911946154508 for [phone]');
  });
});
