import { execFileSync } from 'node:child_process';
import { createHmac, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signOwnChannelPayload } from '../connectors/website.ts';
import { signWarehouseWebhook } from '../connectors/warehouses/webhook.ts';
import { ownChannelDelivery, stripePaymentSucceeded, woocommerceDelivery, type DemoOrder } from '../demo/channels.ts';
import { shopifyOrderBody } from './support/shopify.ts';
import { shopifySecret } from './support/env.ts';
import { startTestHub } from './support/hub.ts';

// Every signed inbound route, attacked the ways a stranger can: a forged signature, a
// truncated one, one made with another source's secret, none, an empty one, a genuine
// signature over another body, and — where the scheme signs a time — a genuine signature
// dated outside the tolerance, past and future. Each is refused with 401 problem+json and
// leaves nothing behind in Postgres; the genuine delivery then gets past the check, so the
// refusals are the signature's doing.

/** An HMAC secret, or an RSA private key for the providers that sign with one. */
type Signer = string | KeyObject;
interface Made { body: string; headers: Record<string, string> }
interface Target {
  name: string;
  path: string;
  own: Signer;
  other: Signer;
  /** the scheme signs a timestamp, checked against a ±300 s window */
  timestamped: boolean;
  /** variant 0 or 1 of the payload (they differ in what matters), signed by `signer` at `at` (unix seconds) */
  make(variant: 0 | 1, signer: Signer, at: number): Made;
  signatureOf(made: Made): string;
  /** `made` with its signature replaced, or removed (null) */
  withSignature(made: Made, signature: string | null): Made;
}

const secrets = {
  woocommerce: 'wc-secret-9f2d', website: 'website-secret-41ac', app: 'app-secret-77e0', stripe: 'whsec_attack_test_1f3b',
  adyen: '3B6A0F3C1E9D4A7B8C2D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819A2B', easypost: 'easypost-secret-5c1e',
  aftership: 'aftership-secret-a0b9', warehouse: 'warehouse-secret-c3d4', paypalWebhookId: '8PT597110X687430LKGECATA',
};
const text = (signer: Signer) => {
  if (typeof signer !== 'string') throw new TypeError('an HMAC target needs a text secret');
  return signer;
};
const hmac = (secret: string, data: string, encoding: 'hex' | 'base64') => createHmac('sha256', secret).update(data).digest(encoding);

/** A target whose signature sits in one header; `token` finds the signature proper in the header's value. */
function headerTarget(spec: {
  name: string; path: string; own: Signer; other: Signer; timestamped: boolean; header: string; token: RegExp;
  body(variant: 0 | 1): { body: string; headers?: Record<string, string> };
  sign(body: string, signer: Signer, at: number): string;
}): Target {
  return {
    ...spec,
    make(variant, signer, at) {
      const { body, headers = {} } = spec.body(variant);
      return { body, headers: { 'content-type': 'application/json', ...headers, [spec.header]: spec.sign(body, signer, at) } };
    },
    signatureOf: (made) => spec.token.exec(made.headers[spec.header] ?? '')?.[1] ?? '',
    withSignature(made, signature) {
      const headers = { ...made.headers };
      if (signature === null) delete headers[spec.header];
      else headers[spec.header] = headers[spec.header]!.replace(spec.token, (whole, old: string) => whole.replace(old, signature));
      return { body: made.body, headers };
    },
  };
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const without = (headers: Record<string, string>, name: string) => Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
const demoOrder = (variant: 0 | 1): DemoOrder => ({
  id: 7_700_000_000n + BigInt(variant), lines: [{ sku: 'SKU-TEE-BLK-M', name: 'Tee', price: variant === 0 ? '20.00' : '0.01', quantity: 1 }],
  country: 'US', province: 'NY', city: 'New York', zip: '10001', currency: 'USD', email: 'attack@example.com',
});
const ownChannel = (channel: 'website' | 'app', own: string, other: string) => headerTarget({
  name: channel, path: `/webhooks/orders/${channel}`, own, other, timestamped: true, header: 'x-hub-signature', token: /v1=([0-9a-f]+)$/,
  body: (variant) => {
    const { body, headers } = ownChannelDelivery(channel, demoOrder(variant), own, `evt-${channel}-attack-${variant}`);
    return { body, headers: without(headers, 'x-hub-signature') };
  },
  sign: (body, signer, at) => signOwnChannelPayload(body, text(signer), at),
});

// The payment providers that sign with RSA: PayPal (a certificate) and Alipay (a public key).
let workDir: string;
let paypalKey: KeyObject;
let paypalCertificate: string;
let alipayKey: KeyObject;
let alipayPublicKey: string;
let strangerKey: KeyObject;

function selfSigned(name: string): { key: KeyObject; certificate: string } {
  const keyFile = join(workDir, `${name}.key.pem`);
  const certFile = join(workDir, `${name}.cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`], { stdio: 'ignore' });
  return { key: createPrivateKey(readFileSync(keyFile)), certificate: readFileSync(certFile, 'utf8') };
}

const fixture = (path: string) => readFileSync(new URL(`./fixtures/${path}`, import.meta.url), 'utf8');
const rsaKey = (signer: Signer) => {
  if (typeof signer === 'string') throw new TypeError('an RSA target needs a private key');
  return signer;
};

function targets(): Target[] {
  const paypalBody = fixture('paypal/PAYMENT.CAPTURE.COMPLETED.json');
  const adyenItem = (variant: 0 | 1) => ({
    amount: { value: variant === 0 ? 2000 : 1, currency: 'USD' }, eventCode: 'AUTHORISATION', eventDate: '2026-03-02T10:00:00+01:00',
    merchantAccountCode: 'ShopUS', merchantReference: 'W-attack-1', pspReference: 'ATTACK00000000001', reason: '', success: 'true', paymentMethod: 'visa',
  });
  const adyenSignature = (variant: 0 | 1, key: Signer) => {
    const item = adyenItem(variant);
    const fields = [item.pspReference, '', item.merchantAccountCode, item.merchantReference, item.amount.value, item.amount.currency, item.eventCode, item.success];
    return createHmac('sha256', Buffer.from(text(key), 'hex')).update(fields.join(':')).digest('base64');
  };
  const adyenBody = (variant: 0 | 1, signature: string | null) => JSON.stringify({
    live: 'false',
    notificationItems: [{ NotificationRequestItem: { ...adyenItem(variant), additionalData: signature === null ? {} : { hmacSignature: signature } } }],
  });
  const alipayFields = (variant: 0 | 1): Record<string, string> => ({
    app_id: '2015102700040153', charset: 'utf-8', notify_id: 'ac05099524730693a8b330c5ecf72da9786', notify_time: '2026-03-02 10:00:00',
    notify_type: 'trade_status_sync', out_trade_no: 'W-attack-2', seller_id: '2088111111116894', total_amount: variant === 0 ? '20.00' : '0.01',
    trade_no: '2026030221001003030200089909', trade_status: 'TRADE_SUCCESS', version: '1.0',
  });
  const alipaySignature = (variant: 0 | 1, key: Signer) => {
    const content = Object.entries(alipayFields(variant)).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${v}`).join('&');
    return sign('sha256', Buffer.from(content, 'utf8'), rsaKey(key)).toString('base64');
  };
  const alipayBody = (variant: 0 | 1, signature: string | null) => new URLSearchParams({ ...alipayFields(variant), sign_type: 'RSA2', ...(signature === null ? {} : { sign: signature }) }).toString();
  const bodySigned = (made: Made, read: (body: string) => string | undefined) => read(made.body) ?? '';

  return [
    headerTarget({
      name: 'shopify', path: '/webhooks/orders/shopify', own: shopifySecret, other: secrets.woocommerce, timestamped: false,
      header: 'x-shopify-hmac-sha256', token: /^(.*)$/,
      body: (variant) => ({ body: shopifyOrderBody({ id: String(9_100_000_000 + variant) }), headers: { 'x-shopify-topic': 'orders/create', 'x-shopify-event-id': `evt-shopify-${variant}` } }),
      sign: (body, signer) => hmac(text(signer), body, 'base64'),
    }),
    headerTarget({
      name: 'woocommerce', path: '/webhooks/orders/woocommerce', own: secrets.woocommerce, other: shopifySecret, timestamped: false,
      header: 'x-wc-webhook-signature', token: /^(.*)$/,
      body: (variant) => {
        const { body, headers } = woocommerceDelivery(demoOrder(variant), secrets.woocommerce);
        return { body, headers: without(headers, 'x-wc-webhook-signature') };
      },
      sign: (body, signer) => hmac(text(signer), body, 'base64'),
    }),
    ownChannel('website', secrets.website, secrets.app),
    ownChannel('app', secrets.app, secrets.website),
    headerTarget({
      name: 'stripe', path: '/webhooks/payments/stripe', own: secrets.stripe, other: 'whsec_another_account', timestamped: true,
      header: 'stripe-signature', token: /v1=([0-9a-f]+)$/,
      body: (variant) => ({ body: stripePaymentSucceeded(demoOrder(variant), `W-${variant}`, secrets.stripe).body }),
      sign: (body, signer, at) => `t=${at},v1=${hmac(text(signer), `${at}.${body}`, 'hex')}`,
    }),
    {
      name: 'adyen', path: '/webhooks/payments/adyen', own: secrets.adyen, other: 'A1'.repeat(32), timestamped: false,
      make: (variant, signer) => ({ body: adyenBody(variant, adyenSignature(variant, signer)), headers: { 'content-type': 'application/json' } }),
      signatureOf: (made) => bodySigned(made, (b) => /"hmacSignature":"([^"]*)"/.exec(b)?.[1]),
      withSignature: (made, signature) => {
        const variant = made.body.includes('"value":2000') ? 0 : 1;
        return { ...made, body: adyenBody(variant, signature) };
      },
    },
    {
      name: 'paypal', path: '/webhooks/payments/paypal', own: paypalKey, other: strangerKey, timestamped: true,
      make: (variant, signer, at) => {
        const body = variant === 0 ? paypalBody : paypalBody.replace(/"value": ?"[0-9.]+"/, '"value": "0.01"');
        const transmissionId = 'b2384410-f8d2-11ed-8c1a-attack000001';
        const time = new Date(at * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
        const signed = `${transmissionId}|${time}|${secrets.paypalWebhookId}|${crc32(Buffer.from(body, 'utf8'))}`;
        return {
          body,
          headers: {
            'content-type': 'application/json', 'paypal-transmission-id': transmissionId, 'paypal-transmission-time': time, 'paypal-auth-algo': 'SHA256withRSA',
            'paypal-cert-url': 'https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77', 'paypal-transmission-sig': sign('sha256', Buffer.from(signed, 'utf8'), rsaKey(signer)).toString('base64'),
          },
        };
      },
      signatureOf: (made) => made.headers['paypal-transmission-sig'] ?? '',
      withSignature: (made, signature) => {
        const rest = without(made.headers, 'paypal-transmission-sig');
        return { body: made.body, headers: signature === null ? rest : { ...rest, 'paypal-transmission-sig': signature } };
      },
    },
    {
      name: 'alipay', path: '/webhooks/payments/alipay', own: alipayKey, other: strangerKey, timestamped: false,
      make: (variant, signer) => ({ body: alipayBody(variant, alipaySignature(variant, signer)), headers: { 'content-type': 'application/x-www-form-urlencoded' } }),
      signatureOf: (made) => new URLSearchParams(made.body).get('sign') ?? '',
      withSignature: (made, signature) => ({ ...made, body: alipayBody(new URLSearchParams(made.body).get('total_amount') === '20.00' ? 0 : 1, signature) }),
    },
    headerTarget({
      name: 'easypost', path: '/webhooks/carriers/easypost', own: secrets.easypost, other: secrets.aftership, timestamped: false,
      header: 'x-hmac-signature', token: /^hmac-sha256-hex=([0-9a-f]+)$/,
      body: (variant) => ({ body: fixture('easypost/tracker.updated.event.json').replace('"tracking_code":"1"', `"tracking_code":"ATTACK${variant}"`) }),
      sign: (body, signer) => `hmac-sha256-hex=${createHmac('sha256', text(signer).normalize('NFKD')).update(body).digest('hex')}`,
    }),
    headerTarget({
      name: 'aftership', path: '/webhooks/carriers/aftership', own: secrets.aftership, other: secrets.easypost, timestamped: false,
      header: 'aftership-hmac-sha256', token: /^(.*)$/,
      body: (variant) => ({ body: fixture('aftership/tracking_update.json').replace('"9361289676091361892011"', `"ATTACK${variant}"`) }),
      sign: (body, signer) => hmac(text(signer), body, 'base64'),
    }),
    headerTarget({
      name: 'warehouse', path: '/webhooks/warehouses/us-east', own: secrets.warehouse, other: secrets.website, timestamped: true,
      header: 'x-hub-signature', token: /v1=([0-9a-f]+)$/,
      body: (variant) => ({ body: JSON.stringify({
        specversion: '1.0', id: `attack-${variant}`, source: '/wms/us-east', type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json',
        data: { warehouse: 'us-east', sku: 'SKU-TEE-BLK-M', delta: variant === 0 ? 5 : 5000, reason: 'count' },
      }) }),
      sign: (body, signer, at) => signWarehouseWebhook(body, text(signer), at),
    }),
    headerTarget({
      name: 'customers', path: '/webhooks/customers/website', own: secrets.website, other: secrets.app, timestamped: true,
      header: 'x-hub-signature', token: /v1=([0-9a-f]+)$/,
      body: (variant) => ({ body: JSON.stringify({ type: 'receipt.confirmed', externalId: `W-attack-${variant}` }), headers: { 'x-hub-event-id': `call-${variant}` } }),
      sign: (body, signer, at) => signOwnChannelPayload(body, text(signer), at),
    }),
  ];
}

/** A signature of the same shape that no key made: hex stays hex, base64 stays base64 of as many bytes. */
function forged(signature: string): string {
  if (/^[0-9a-f]+$/.test(signature)) return randomBytes(signature.length / 2).toString('hex');
  return randomBytes(Buffer.from(signature, 'base64').length).toString('base64');
}

let harness: Awaited<ReturnType<typeof startTestHub>>;
let all: Target[];

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'signature-attacks-'));
  const paypalSigner = selfSigned('paypal');
  const alipaySigner = selfSigned('alipay');
  paypalKey = paypalSigner.key;
  paypalCertificate = paypalSigner.certificate;
  alipayKey = alipaySigner.key;
  alipayPublicKey = alipaySigner.certificate;
  strangerKey = selfSigned('stranger').key;
  harness = await startTestHub('sigattack', ['api'], {
    env: {
      WOOCOMMERCE_WEBHOOK_SECRET: secrets.woocommerce, WEBSITE_WEBHOOK_SECRET: secrets.website, APP_WEBHOOK_SECRET: secrets.app,
      STRIPE_WEBHOOK_SECRET: secrets.stripe, ADYEN_HMAC_KEY: secrets.adyen, PAYPAL_WEBHOOK_ID: secrets.paypalWebhookId, PAYPAL_CERT_PEM: paypalCertificate,
      ALIPAY_PUBLIC_KEY_PEM: alipayPublicKey, EASYPOST_WEBHOOK_SECRET: secrets.easypost, AFTERSHIP_WEBHOOK_SECRET: secrets.aftership,
      WAREHOUSE_WEBHOOK_SECRET: secrets.warehouse,
    },
  });
  all = targets();
});
afterAll(async () => {
  await harness?.stop();
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

const post = (target: Target, made: Made) => Promise.resolve(harness.hub.app.request(target.path, { method: 'POST', body: made.body, headers: made.headers }));

/** What an accepted delivery would leave: stored bytes, messages, orders, payments, exceptions, parcels, feedback. */
async function effects(): Promise<Record<string, number>> {
  const { rows } = await harness.hub.db.query<Record<string, number>>(`SELECT
    (SELECT count(*)::int FROM raw_inbound) AS raw, (SELECT count(*)::int FROM outbox) AS outbox, (SELECT count(*)::int FROM orders) AS orders,
    (SELECT count(*)::int FROM payments) AS payments, (SELECT count(*)::int FROM exceptions) AS exceptions,
    (SELECT count(*)::int FROM parcels) AS parcels, (SELECT count(*)::int FROM feedback) AS feedback`);
  return rows[0]!;
}

const names = ['shopify', 'woocommerce', 'website', 'app', 'stripe', 'adyen', 'paypal', 'alipay', 'easypost', 'aftership', 'warehouse', 'customers'];

describe.each(names)('%s', (name) => {
  it('refuses every forged, truncated, foreign, missing, empty, misplaced and (where dated) stale or future signature, and keeps nothing', async () => {
    const target = all.find((t) => t.name === name)!;
    const now = nowSeconds();
    const genuine = target.make(0, target.own, now);
    const signature = target.signatureOf(genuine);
    expect(signature.length).toBeGreaterThan(16);
    const attacks: [string, Made][] = [
      ['a forged signature', target.withSignature(genuine, forged(signature))],
      ['a truncated signature', target.withSignature(genuine, signature.slice(0, Math.floor(signature.length / 2)))],
      ["another source's secret", target.make(0, target.other, now)],
      ['no signature', target.withSignature(genuine, null)],
      ['an empty signature', target.withSignature(genuine, '')],
      ['a genuine signature over another body', target.withSignature(target.make(1, target.own, now), signature)],
      ...(target.timestamped ? [
        ['a genuine signature 301 s old', target.make(0, target.own, now - 306)],
        ['a genuine signature 301 s ahead', target.make(0, target.own, now + 306)],
        ['a genuine signature a day old (replay)', target.make(0, target.own, now - 86_400)],
      ] as [string, Made][] : []),
    ];
    const before = await effects();
    for (const [attack, made] of attacks) {
      const response = await post(target, made);
      expect(response.status, `${name}: ${attack}`).toBe(401);
      expect(response.headers.get('content-type'), `${name}: ${attack}`).toBe('application/problem+json');
    }
    expect(await effects()).toEqual(before);
    // The genuine delivery gets past the signature: the refusals above were the signature's.
    const accepted = await post(target, genuine);
    // (A customer's call names an order this hub has never seen: 404, past the signature.)
    expect(accepted.status, `${name}: the genuine delivery`).toBe(name === 'customers' ? 404 : 200);
    expect((await effects()).raw).toBe(before.raw! + 1);
  });
});
