import { execFileSync } from 'node:child_process';
import { createPrivateKey, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { paypal } from '../connectors/payments/paypal.ts';
import type { PaymentEvent, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { keyPaths, replaced } from './support/normalize.ts';
import { expectSoundEntries as expectSound } from './support/payments.ts';

// PayPal's own samples, byte for byte (see the .md beside them). PayPal signs with a private key
// nobody outside PayPal has and publishes no test vector, so the tests make their own key and
// self-signed certificate and sign these exact bytes the way PayPal does.
const COMPLETED = readFileSync(new URL('./fixtures/paypal/PAYMENT.CAPTURE.COMPLETED.json', import.meta.url));
const REFUNDED = readFileSync(new URL('./fixtures/paypal/PAYMENT.CAPTURE.REFUNDED.json', import.meta.url));

const WEBHOOK_ID = '8PT597110X687430LKGECATA';
const NOW = new Date('2026-03-02T10:00:00Z');
const SENT_AT = '2026-03-02T09:59:58Z';
const DELIVERY = { eventId: null, topic: '' };

interface Signer {
  certificatePem: string;
  privateKey: KeyObject;
}

let workDir: string;
let paypalSigner: Signer;
let rotatedSigner: Signer;
let attacker: Signer;

/** A fresh RSA key and a self-signed certificate for it (node:crypto cannot make certificates). */
function makeSigner(name: string): Signer {
  const keyFile = join(workDir, `${name}.key.pem`);
  const certFile = join(workDir, `${name}.cert.pem`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`], {
    stdio: 'ignore',
  });
  return { certificatePem: readFileSync(certFile, 'utf8'), privateKey: createPrivateKey(readFileSync(keyFile)) };
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'paypal-test-'));
  paypalSigner = makeSigner('paypal-test');
  rotatedSigner = makeSigner('paypal-test-next');
  attacker = makeSigner('attacker');
});
afterAll(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});
afterEach(() => {
  vi.restoreAllMocks();
});

/** CRC-32 (IEEE 802.3, reflected, as zlib computes it) written out bit by bit: the test's own reference. */
function referenceCrc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

interface Transmission {
  id?: string;
  time?: string;
  webhookId?: string;
  signer?: Signer;
  algo?: string;
  certUrl?: string;
  /** how the CRC is written into the signed string; PayPal writes it unsigned */
  crc?: (body: Uint8Array) => number;
  digest?: string;
}

/** The headers PayPal sends with `body`, signed as PayPal signs. */
function signedHeaders(body: Uint8Array, t: Transmission = {}): Record<string, string> {
  const id = t.id ?? 'b2384410-f8d2-11ef-8a42-6f1a1cd1c2e6';
  const time = t.time ?? SENT_AT;
  const crc = (t.crc ?? referenceCrc32)(body);
  const message = `${id}|${time}|${t.webhookId ?? WEBHOOK_ID}|${crc}`;
  const signature = sign(t.digest ?? 'sha256', Buffer.from(message), (t.signer ?? paypalSigner).privateKey).toString('base64');
  return {
    'paypal-transmission-id': id,
    'paypal-transmission-time': time,
    'paypal-transmission-sig': signature,
    'paypal-auth-algo': t.algo ?? 'SHA256withRSA',
    'paypal-auth-version': 'v2',
    'paypal-cert-url': t.certUrl ?? 'https://api.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77',
    'content-type': 'application/json',
  };
}

const secrets = (overrides: Record<string, string> = {}): Record<string, string> => ({
  PAYPAL_WEBHOOK_ID: WEBHOOK_ID,
  PAYPAL_CERT_PEM: paypalSigner.certificatePem,
  ...overrides,
});

const request = (body: Uint8Array, headers: Record<string, string | undefined>): InboundRequest => ({
  rawBody: Buffer.from(body),
  headers,
});

const verifies = (body: Uint8Array, headers: Record<string, string | undefined>, config = secrets(), now = NOW): boolean =>
  paypal.verify(request(body, headers), config, now);

describe('paypal.verify', () => {
  it("the test's CRC-32 reference gives the standard check value for \"123456789\"", () => {
    expect(referenceCrc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(referenceCrc32(Buffer.from('123456789'))).toBe(3421780262);
  });

  it("accepts both official samples signed over their exact bytes, the refund's CRC above 2^31 written unsigned", () => {
    expect(referenceCrc32(REFUNDED)).toBeGreaterThan(2 ** 31);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED))).toBe(true);
    expect(verifies(REFUNDED, signedHeaders(REFUNDED))).toBe(true);
  });

  it('refuses a CRC written as a signed 32-bit number (the common Java bug)', () => {
    expect(verifies(REFUNDED, signedHeaders(REFUNDED, { crc: (body) => referenceCrc32(body) | 0 }))).toBe(false);
  });

  it('refuses a signature by any other key, whatever certificate URL the message names', () => {
    const forged = signedHeaders(COMPLETED, { signer: attacker, certUrl: 'https://attacker.example/cert.pem' });
    expect(verifies(COMPLETED, forged)).toBe(false);
    // even with the URL left pointing at PayPal
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { signer: attacker }))).toBe(false);
  });

  it('takes the key from configuration only: a certificate URL pointing elsewhere changes nothing, and nothing is fetched', () => {
    const fetchSpy = vi.spyOn(globalThis, 'fetch');
    for (const certUrl of ['https://attacker.example/cert.pem', 'http://169.254.169.254/latest/meta-data/', 'not a url']) {
      // synchronous: a plain boolean, not a promise waiting on a download
      expect(verifies(COMPLETED, signedHeaders(COMPLETED, { certUrl }))).toBe(true);
    }
    expect(verifies(COMPLETED, { ...signedHeaders(COMPLETED), 'paypal-cert-url': undefined })).toBe(true);
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('refuses a tampered body', () => {
    const headers = signedHeaders(COMPLETED);
    const tampered = Buffer.from(COMPLETED.toString('utf8').replace('"value": "2.51"', '"value": "0.01"'));
    expect(tampered.equals(COMPLETED)).toBe(false);
    expect(verifies(tampered, headers)).toBe(false);
    expect(verifies(Buffer.concat([COMPLETED, Buffer.from(' ')]), headers)).toBe(false);
  });

  it("refuses a signature made for another webhook (another subscription's webhook id)", () => {
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { webhookId: 'WH-OTHER-SUBSCRIPTION' }))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED), secrets({ PAYPAL_WEBHOOK_ID: 'ANOTHER-ID' }))).toBe(false);
  });

  it('refuses a transmission more than 300 s away from now (replay), and accepts one at the limit', () => {
    const at = (offsetSeconds: number) => new Date(NOW.getTime() + offsetSeconds * 1000).toISOString().replace('.000Z', 'Z');
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { time: at(-300) }))).toBe(true);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { time: at(-301) }))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { time: at(301) }))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { time: '2026-03-02T10:59:58+01:00' }))).toBe(true);
    // a day-old delivery replayed with its original, genuine signature
    expect(verifies(COMPLETED, signedHeaders(COMPLETED), secrets(), new Date('2026-03-03T10:00:00Z'))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { time: 'yesterday' }))).toBe(false);
  });

  it('refuses any algorithm but SHA256withRSA, whatever it was signed with', () => {
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { algo: 'SHA1withRSA' }))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { algo: 'SHA1withRSA', digest: 'sha1' }))).toBe(false);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { algo: 'sha256withrsa' }))).toBe(false);
    expect(verifies(COMPLETED, { ...signedHeaders(COMPLETED), 'paypal-auth-algo': undefined })).toBe(false);
  });

  it('refuses when a header or a secret is missing, or the configured certificate is unusable', () => {
    const headers = signedHeaders(COMPLETED);
    for (const name of ['paypal-transmission-id', 'paypal-transmission-time', 'paypal-transmission-sig']) {
      expect(verifies(COMPLETED, { ...headers, [name]: undefined }), name).toBe(false);
      expect(verifies(COMPLETED, { ...headers, [name]: '' }), name).toBe(false);
    }
    expect(verifies(COMPLETED, headers, secrets({ PAYPAL_WEBHOOK_ID: '' }))).toBe(false);
    expect(verifies(COMPLETED, headers, secrets({ PAYPAL_CERT_PEM: '' }))).toBe(false);
    expect(verifies(COMPLETED, headers, { PAYPAL_CERT_PEM: paypalSigner.certificatePem })).toBe(false);
    const broken = '-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n';
    expect(verifies(COMPLETED, headers, secrets({ PAYPAL_CERT_PEM: broken }))).toBe(false);
    // a bare public key is not a certificate
    const publicKeyPem = createPublicKey(paypalSigner.privateKey).export({ type: 'spki', format: 'pem' }).toString();
    expect(verifies(COMPLETED, headers, secrets({ PAYPAL_CERT_PEM: publicKeyPem }))).toBe(false);
  });

  it('refuses a signature that is not strict base64', () => {
    const headers = signedHeaders(COMPLETED);
    const signature = headers['paypal-transmission-sig']!;
    expect(verifies(COMPLETED, { ...headers, 'paypal-transmission-sig': `${signature}!` })).toBe(false);
    expect(verifies(COMPLETED, { ...headers, 'paypal-transmission-sig': signature.slice(0, 40) })).toBe(false);
  });

  it('accepts the old and the new certificate while both are configured (rotation)', () => {
    const both = secrets({ PAYPAL_CERT_PEM: `${paypalSigner.certificatePem}\n${rotatedSigner.certificatePem}` });
    expect(verifies(COMPLETED, signedHeaders(COMPLETED), both)).toBe(true);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { signer: rotatedSigner }), both)).toBe(true);
    expect(verifies(COMPLETED, signedHeaders(COMPLETED, { signer: rotatedSigner }))).toBe(false);
  });

  it('never throws, and refuses, whatever the headers and body', () => {
    const headerValue = fc.oneof(fc.string({ maxLength: 80 }), fc.base64String({ maxLength: 400 }), fc.constant(undefined));
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.record({
          'paypal-transmission-id': headerValue,
          // mostly within the 300 s window, so the signature check itself runs on the junk
          'paypal-transmission-time': fc.oneof(
            headerValue,
            fc.integer({ min: -400, max: 400 }).map((s) => new Date(NOW.getTime() + s * 1000).toISOString()),
          ),
          'paypal-transmission-sig': headerValue,
          'paypal-auth-algo': fc.constantFrom('SHA256withRSA', 'SHA1withRSA', undefined, ''),
          'paypal-cert-url': headerValue,
        }),
        fc.constantFrom(secrets(), {}, secrets({ PAYPAL_CERT_PEM: 'junk' })),
        (body, headers, config) => {
          expect(verifies(body, headers, config)).toBe(false);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('paypal.describe', () => {
  it('gives no event id: the transmission id changes on every retry of one event', () => {
    expect(paypal.describe(request(COMPLETED, signedHeaders(COMPLETED)))).toEqual({ eventId: null, topic: '' });
  });
});

// ---------------------------------------------------------------------------------------------
// normalize: the body as the hub parses it (lossless JSON).

type Json = Record<string, unknown>;
const parsed = (bytes: Buffer): Json => parseJsonLossless(bytes.toString('utf8')) as Json;
const normalize = (body: unknown): PaymentNormalizeResult => paypal.normalize(body, DELIVERY);

function eventsOf(body: unknown): PaymentEvent[] {
  const result = normalize(body);
  if (!result.ok) throw new Error(`expected events, got ${JSON.stringify(result.problems)}`);
  return result.events;
}

function problemsOf(body: unknown): { problems: { path: string; message: string }[]; ignore: boolean } {
  const result = normalize(body);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.events)}`);
  return { problems: result.problems, ignore: result.ignore === true };
}

/** The sample with `event_type` and resource fields changed (a field set to undefined is removed). */
function variant(sample: Buffer, eventType: string | null, resourceChanges: Json = {}): Json {
  const body = parsed(sample);
  const resource: Json = { ...(body.resource as Json), ...resourceChanges };
  for (const [key, value] of Object.entries(resourceChanges)) if (value === undefined) delete resource[key];
  return { ...body, ...(eventType === null ? {} : { event_type: eventType }), resource };
}

describe('paypal.normalize', () => {
  it('PAYMENT.CAPTURE.COMPLETED (official sample): the capture, captured', () => {
    expect(eventsOf(parsed(COMPLETED))).toEqual([
      {
        provider: 'paypal',
        account: null,
        entryId: 'capture:27M47624FP291604U',
        paymentId: '27M47624FP291604U',
        kind: 'captured',
        amount: 251,
        currency: 'USD',
        occurredAt: '2019-02-14T21:49:58.000Z',
        method: 'wallet',
        match: {},
        failureReason: null,
      },
    ]);
  });

  it("PAYMENT.CAPTURE.REFUNDED (official sample): the refund's own id and amount, under its capture, time offset converted", () => {
    expect(eventsOf(parsed(REFUNDED))).toEqual([
      {
        provider: 'paypal',
        account: null,
        entryId: 'refund:1Y107995YT783435V',
        paymentId: '0JF852973C016714D',
        kind: 'refunded',
        // not total_refunded_amount (1.98), which counts earlier refunds too
        amount: 99,
        currency: 'USD',
        occurredAt: '2018-08-15T19:13:29.000Z',
        method: 'wallet',
        match: {},
        failureReason: null,
      },
    ]);
  });

  it('PAYMENT.CAPTURE.DENIED: failed, with the reason PayPal gives', () => {
    const denied = variant(COMPLETED, 'PAYMENT.CAPTURE.DENIED', { status: 'DECLINED', status_details: { reason: 'DECLINED_BY_RISK_FRAUD_FILTERS' } });
    expect(eventsOf(denied)).toMatchObject([
      { entryId: 'capture:27M47624FP291604U', kind: 'failed', amount: 251, failureReason: 'DECLINED_BY_RISK_FRAUD_FILTERS' },
    ]);
    expect(eventsOf(variant(COMPLETED, 'PAYMENT.CAPTURE.DENIED', { status: 'DECLINED' }))[0]?.failureReason).toBe('DECLINED');
  });

  it('PAYMENT.CAPTURE.REVERSED (resource: a refund PayPal made): disputed', () => {
    expect(eventsOf(variant(REFUNDED, 'PAYMENT.CAPTURE.REVERSED', { note_to_payer: 'Payment reversed' }))).toMatchObject([
      { entryId: 'refund:1Y107995YT783435V', paymentId: '0JF852973C016714D', kind: 'disputed', amount: 99, currency: 'USD' },
    ]);
  });

  it('PAYMENT.CAPTURE.PENDING, CHECKOUT.ORDER.APPROVED and other event types: ignored, not refused', () => {
    for (const type of ['PAYMENT.CAPTURE.PENDING', 'CHECKOUT.ORDER.APPROVED', 'CHECKOUT.ORDER.COMPLETED', 'BILLING.SUBSCRIPTION.CREATED', 'constructor', '__proto__']) {
      const outcome = problemsOf(variant(COMPLETED, type));
      expect(outcome.ignore, type).toBe(true);
      expect(outcome.problems[0]?.path).toBe('/event_type');
    }
  });

  it('a refund that failed or was cancelled: ignored', () => {
    expect(problemsOf(variant(REFUNDED, null, { status: 'FAILED' })).ignore).toBe(true);
    expect(problemsOf(variant(REFUNDED, null, { status: 'CANCELLED' })).ignore).toBe(true);
    expect(eventsOf(variant(REFUNDED, null, { status: 'PENDING' }))[0]?.kind).toBe('refunded');
  });

  it('matches the order through custom_id, then invoice_id: hub order number, hub order id, else the channel order id', () => {
    const matchOf = (changes: Json) => eventsOf(variant(COMPLETED, null, changes))[0]?.match;
    expect(matchOf({ custom_id: 'HUB-20260301-00000042' })).toEqual({ orderNumber: 'HUB-20260301-00000042' });
    expect(matchOf({ custom_id: '3F2504E0-4F89-41D3-9A0C-0305E82C3301' })).toEqual({ orderId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' });
    expect(matchOf({ invoice_id: '#1001' })).toEqual({ externalOrderId: '#1001' });
    expect(matchOf({ custom_id: 'HUB-20260301-00000042', invoice_id: 'INV-2026-1' })).toEqual({
      orderNumber: 'HUB-20260301-00000042',
      externalOrderId: 'INV-2026-1',
    });
    expect(matchOf({ custom_id: 'A', invoice_id: 'B' })).toEqual({ externalOrderId: 'A' });
    // not the hub's pattern: lower case prefix, short date, no sequence
    for (const id of ['hub-20260301-1', 'HUB-202603-1', 'HUB-20260301-', 'TOOLONGPFX-20260301-1']) {
      expect(matchOf({ custom_id: id }), id).toEqual({ externalOrderId: id });
    }
  });

  it('keeps the capture id as paymentId when the Checkout order id is present, so a capture and its refunds agree', () => {
    const withOrder = variant(COMPLETED, null, { supplementary_data: { related_ids: { order_id: '5O190127TN364715T' } } });
    expect(eventsOf(withOrder)[0]?.paymentId).toBe('27M47624FP291604U');
  });

  it('reads amounts as decimal strings in the minor unit of their currency', () => {
    const amountOf = (amount: Json) => eventsOf(variant(COMPLETED, null, { amount }))[0]?.amount;
    expect(amountOf({ currency_code: 'JPY', value: '1500' })).toBe(1500);
    expect(amountOf({ currency_code: 'USD', value: '10' })).toBe(1000);
    expect(amountOf({ currency_code: 'KWD', value: '1.234' })).toBe(1234);
  });

  it('takes update_time, else create_time of the resource, else of the event', () => {
    const when = (changes: Json) => eventsOf(variant(COMPLETED, null, changes))[0]?.occurredAt;
    expect(when({ update_time: '2019-02-14T21:55:00Z' })).toBe('2019-02-14T21:55:00.000Z');
    expect(when({ update_time: undefined })).toBe('2019-02-14T21:49:58.000Z');
    expect(when({ update_time: undefined, create_time: undefined })).toBe('2019-02-14T21:50:07.940Z');
  });

  it('refuses, naming each place, a body it cannot read', () => {
    const paths = (body: unknown) => problemsOf(body).problems.map((p) => p.path).sort();
    expect(paths([])).toEqual(['/']);
    expect(paths({})).toEqual(['/event_type']);
    expect(paths({ event_type: 7 })).toEqual(['/event_type']);
    expect(paths({ event_type: 'PAYMENT.CAPTURE.COMPLETED' })).toEqual(['/resource']);
    expect(paths(variant(COMPLETED, null, { id: undefined, amount: { currency_code: 'usd', value: '2.51' } }))).toEqual([
      '/resource/amount/currency_code',
      '/resource/id',
    ]);
    expect(paths(variant(COMPLETED, null, { amount: { currency_code: 'USD', value: '2.515' } }))).toEqual(['/resource/amount/value']);
    expect(paths(variant(COMPLETED, null, { amount: { currency_code: 'USD', value: '-2.51' } }))).toEqual(['/resource/amount/value']);
    // a JSON number is read through its decimal spelling, never multiplied as a float
    expect(eventsOf(variant(COMPLETED, null, { amount: { currency_code: 'USD', value: 2.51 } }))[0]?.amount).toBe(251);
    expect(paths(variant(COMPLETED, null, { update_time: '2019-02-14 21:49:58' }))).toEqual(['/resource/update_time']);
    expect(paths(variant(REFUNDED, null, { links: [] }))).toEqual(['/resource/links']);
    expect(problemsOf({ event_type: 'PAYMENT.CAPTURE.COMPLETED' }).ignore).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

/** What every accepted entry must look like, whatever came in. */
function expectWellFormed(result: PaymentNormalizeResult): void {
  expectSound(result, 'paypal');
  if (result.ok) for (const event of result.events) expect(event.entryId).toMatch(/^(capture|refund):.+/);
}

describe('paypal.normalize under generated input', () => {
  const samples = [parsed(COMPLETED), parsed(REFUNDED)];
  const eventTypes = fc.constantFrom('PAYMENT.CAPTURE.COMPLETED', 'PAYMENT.CAPTURE.DENIED', 'PAYMENT.CAPTURE.REFUNDED', 'PAYMENT.CAPTURE.REVERSED', 'PAYMENT.CAPTURE.PENDING');

  it('never throws on any JSON value, and any result is well formed', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (body) => {
        expectWellFormed(normalize(body));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on the samples with any one value replaced, under any capture event type', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...samples), fc.nat(), fc.jsonValue({ maxDepth: 2 }), eventTypes)
      .map(([sample, pick, value, type]) => {
        const paths = keyPaths(sample);
        const path = paths[pick % paths.length]!;
        return { ...(replaced(sample, path, value) as Json), event_type: type };
      });
    fc.assert(
      fc.property(mutated, (body) => {
        expectWellFormed(normalize(body));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts any well-formed capture or refund, amount exact', () => {
    fc.assert(
      fc.property(
        eventTypes.filter((t) => t !== 'PAYMENT.CAPTURE.PENDING'),
        fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'),
        fc.bigInt({ min: 0n, max: BigInt(Number.MAX_SAFE_INTEGER) }),
        fc.stringMatching(/^[0-9A-Z]{17}$/),
        (type, currency, minor, id) => {
          const digits = currency === 'JPY' ? 0 : currency === 'KWD' ? 3 : 2;
          const text = minor.toString().padStart(digits + 1, '0');
          const value = digits === 0 ? text : `${text.slice(0, -digits)}.${text.slice(-digits)}`;
          const sample = type.endsWith('COMPLETED') || type.endsWith('DENIED') ? COMPLETED : REFUNDED;
          const result = normalize(variant(sample, type, { id, amount: { currency_code: currency, value } }));
          expectWellFormed(result);
          expect(result.ok && result.events[0]?.amount).toBe(Number(minor));
        },
      ),
      { numRuns: 300 },
    );
  });
});
