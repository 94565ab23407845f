import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adyen } from '../connectors/payments/adyen.ts';
import type { PaymentEvent, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { keyPaths, replaced } from './support/normalize.ts';
import { expectSoundEntries as expectSound } from './support/payments.ts';

// Adyen's own mock notifications, byte for byte (see the .md files beside them). Their
// `hmacSignature` values were made with an unpublished key, so the tests re-sign them with a
// key of ours; the official test vector (from Adyen's libraries) proves the algorithm.

type Json = Record<string, unknown>;

const fixtureText = (name: string): string => readFileSync(new URL(`./fixtures/adyen/${name}`, import.meta.url), 'utf8');
const AUTHORISATION = fixtureText('authorisation.success.json');
const REFUND = fixtureText('refund.success.json');
const TOOLS_AUTHORISATION = fixtureText('authorisation.tools-hmac-payload.json');

/** The official vector: Adyen's hmacValidator.spec.ts (and the Java and Go libraries). */
const OFFICIAL_KEY = 'DFB1EB5485895CFA84146406857104ABB4CBCABDC8AAF103A624C8F6A3EAAB00';
const OFFICIAL_SIGNATURE = 'ipnxGCaUZ4l8TUW75a71/ghd2Fe5ffvX0pV4TLTntIc=';
const OFFICIAL_ITEM: Json = {
  pspReference: 'pspReference',
  originalReference: 'originalReference',
  merchantAccountCode: 'merchantAccount',
  merchantReference: 'reference',
  amount: { value: 1000, currency: 'EUR' },
  eventCode: 'EVENT',
  success: 'true',
};
/** Our own test key: the one every re-signed fixture below is signed with. */
const KEY = '3B6A0F3C1E9D4A7B8C2D5E6F708192A3B4C5D6E7F8091A2B3C4D5E6F70819A2B';

/**
 * Signs an item the way the docs describe it, written independently of the connector (and
 * checked against the official vector below).
 */
function signatureOf(item: Json, hexKey = KEY): string {
  const amount = (item.amount ?? {}) as Json;
  const fields = [item.pspReference, item.originalReference, item.merchantAccountCode, item.merchantReference, amount.value, amount.currency, item.eventCode, item.success];
  const text = fields.map((field) => (field == null ? '' : String(field as string | number))).join(':');
  return createHmac('sha256', Buffer.from(hexKey, 'hex')).update(text, 'utf8').digest('base64');
}

const itemsOf = (text: string): Json[] =>
  ((JSON.parse(text) as Json).notificationItems as Json[]).map((wrapper) => wrapper.NotificationRequestItem as Json);

/**
 * A fixture with its items' signatures replaced by ours, by text substitution only, so every
 * other byte (`\/` escapes, the key with spaces) stays as Adyen wrote it.
 */
function resigned(text: string, hexKey = KEY): string {
  const items = itemsOf(text);
  let index = 0;
  return text.replace(/("hmacSignature":\s*)"(?:[^"\\]|\\.)*"/g, (_match, head: string) => `${head}${JSON.stringify(signatureOf(items[index++]!, hexKey))}`);
}

/** A notification of `items`, each signed with `hexKey` (our construction, as Adyen shapes it). */
function notification(items: Json[], hexKey = KEY): string {
  const wrapped = items.map((item) => ({
    NotificationRequestItem: { ...item, additionalData: { ...((item.additionalData ?? {}) as Json), hmacSignature: signatureOf(item, hexKey) } },
  }));
  return `${JSON.stringify({ live: 'false', notificationItems: wrapped }, null, 2)}\n`;
}

const [AUTHORISED] = itemsOf(AUTHORISATION) as [Json];
const [REFUNDED] = itemsOf(REFUND) as [Json];

/** Adyen's AUTHORISATION item turned into another event about the same payment. */
const event = (fields: Json): Json => ({ ...AUTHORISED, additionalData: {}, operations: undefined, ...fields });

const request = (text: string): InboundRequest => ({ rawBody: Buffer.from(text, 'utf8'), headers: { 'content-type': 'application/json' } });
const verifyWith = (text: string, secrets: Record<string, string>): boolean => adyen.verify(request(text), secrets, new Date());
const verify = (text: string, hexKey = KEY): boolean => verifyWith(text, { ADYEN_HMAC_KEY: hexKey });

function normalized(text: string): PaymentNormalizeResult {
  return adyen.normalize(parseJsonLossless(text), adyen.describe(request(text)));
}

function entries(text: string): PaymentEvent[] {
  const result = normalized(text);
  if (!result.ok) throw new Error(`expected entries, got ${JSON.stringify(result)}`);
  expectSoundEntries(result);
  return result.events;
}

/** What every payment normalizer promises, whatever it is fed (test/support/payments.ts). */
const expectSoundEntries = (result: PaymentNormalizeResult): void => expectSound(result, 'adyen');

// ---------------------------------------------------------------------------------------------

describe('adyen.verify', () => {
  it('accepts the official test vector', () => {
    expect(signatureOf(OFFICIAL_ITEM, OFFICIAL_KEY)).toBe(OFFICIAL_SIGNATURE);
    const body = JSON.stringify({
      live: 'false',
      notificationItems: [{ NotificationRequestItem: { ...OFFICIAL_ITEM, additionalData: { hmacSignature: OFFICIAL_SIGNATURE } } }],
    });
    expect(verify(body, OFFICIAL_KEY)).toBe(true);
    expect(verify(body, OFFICIAL_KEY.toLowerCase())).toBe(true);
    expect(verify(body, KEY)).toBe(false);
    expect(verify(body.replace('"value":1000', '"value":1001'), OFFICIAL_KEY)).toBe(false);
  });

  it('refuses the mock files as published (their key is unpublished) and accepts them re-signed with ours', () => {
    for (const text of [AUTHORISATION, REFUND, TOOLS_AUTHORISATION]) {
      expect(verify(text)).toBe(false);
      expect(verify(text, OFFICIAL_KEY)).toBe(false);
      const ours = resigned(text);
      const unsigned = (t: string) => t.replace(/"hmacSignature":\s*"(?:[^"\\]|\\.)*"/g, '');
      expect(ours).not.toBe(text);
      expect(unsigned(ours)).toBe(unsigned(text));
      expect(verify(ours)).toBe(true);
      expect(verify(ours, OFFICIAL_KEY)).toBe(false);
    }
  });

  it('checks every item: a notification with two items, one of them tampered, is refused', () => {
    const capture = event({ eventCode: 'CAPTURE', pspReference: 'CAPTURE_PSP', originalReference: '123456789', amount: { currency: 'EUR', value: 10100 } });
    const body = notification([AUTHORISED, capture]);
    expect(verify(body)).toBe(true);
    // the second item's amount: 10100 → 10101, signature left as it was
    const secondValue = body.lastIndexOf('"value": 10100');
    const tampered = `${body.slice(0, secondValue)}"value": 10101${body.slice(secondValue + '"value": 10100'.length)}`;
    expect(tampered).not.toBe(body);
    expect(verify(tampered)).toBe(false);
    // an item signed with another key spoils the batch too
    const mixed = JSON.parse(body) as { notificationItems: Json[] };
    const other = JSON.parse(notification([capture], OFFICIAL_KEY)) as { notificationItems: Json[] };
    mixed.notificationItems[1] = other.notificationItems[0]!;
    expect(verify(JSON.stringify(mixed))).toBe(false);
  });

  it('covers the eight signed fields only: eventDate, reason and additionalData are not signed', () => {
    const body = resigned(REFUND);
    expect(verify(body.replace('2017-02-17T11:11:44+01:00', '2030-01-01T00:00:00+00:00'))).toBe(true);
    expect(verify(body.replace('"PSP_REFERENCE"', '"PSP_REFERENCF"'))).toBe(false);
    expect(verify(body.replace('"ORIGINAL_PSP"', '"ORIGINAL_PSQ"'))).toBe(false);
    expect(verify(body.replace('"success": "true"', '"success": "false"'))).toBe(false);
  });

  it('refuses an unset, empty or malformed key, and bodies it cannot read', () => {
    const body = resigned(REFUND);
    expect(verifyWith(body, {})).toBe(false);
    expect(verify(body, '')).toBe(false);
    expect(verify(body, `${KEY}0`)).toBe(false);
    expect(verify(body, `${KEY.slice(0, -2)}zz`)).toBe(false);
    expect(verify(body.slice(0, -3))).toBe(false);
    expect(verify('{"live":"false","notificationItems":[]}')).toBe(false);
    expect(verify('{"live":"false"}')).toBe(false);
    expect(verify(body.replace(/"hmacSignature": "[^"]*"/, '"hmacSignature": null'))).toBe(false);
    expect(verify(body.replace('"additionalData": {', '"additionalData": {"x": 1, "hmacSignature": "", "y": {'))).toBe(false);
    // the same key twice with different values: the lossless parser refuses, so the checked
    // value and the recorded one cannot differ
    expect(verify(body.replace('"pspReference": "PSP_REFERENCE",', '"pspReference": "PSP_REFERENCE", "pspReference": "OTHER",'))).toBe(false);
  });

  it('never throws on any bytes, and accepts nothing unsigned', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes).toString('latin1')),
          fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? ''),
          fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify({ notificationItems: [{ NotificationRequestItem: value }] })),
        ),
        (text) => {
          expect(verify(text)).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('adyen.describe and the answer Adyen expects', () => {
  it('has no event id (each item has its own identity) and answers [accepted]', () => {
    expect(adyen.describe(request(REFUND))).toEqual({ eventId: null, topic: '' });
    expect(adyen.acknowledgement).toEqual({ contentType: 'text/plain', body: '[accepted]' });
    expect(adyen.secretNames).toEqual(['ADYEN_HMAC_KEY']);
  });
});

describe('adyen.normalize', () => {
  it('AUTHORISATION success → authorized, eventDate in UTC, the reference as the channel order id', () => {
    expect(entries(resigned(AUTHORISATION))).toEqual([
      {
        provider: 'adyen',
        account: 'MagentoMerchantTest2',
        entryId: '123456789:authorized',
        paymentId: '123456789',
        kind: 'authorized',
        amount: 10100,
        currency: 'EUR',
        occurredAt: '2017-01-19T15:42:03.000Z',
        method: 'card',
        match: { externalOrderId: '8313842560770001' },
      },
    ]);
  });

  it('the 2025 AUTHORISATION payload (many additionalData keys) reads the same way', () => {
    expect(entries(resigned(TOOLS_AUTHORISATION))).toEqual([
      expect.objectContaining({
        account: 'Merchant 1',
        entryId: 'AB1234567890:authorized',
        amount: 32500,
        occurredAt: '2025-02-24T14:20:56.000Z',
        method: 'card',
        match: { externalOrderId: '1143-R2' },
      }),
    ]);
  });

  it('AUTHORISATION success=false → failed, with the reason', () => {
    const refused = event({ pspReference: 'REFUSED_PSP', success: 'false', reason: 'Refused' });
    expect(entries(notification([refused]))).toMatchObject([
      { entryId: 'REFUSED_PSP:failed', paymentId: 'REFUSED_PSP', kind: 'failed', amount: 10100, failureReason: 'Refused' },
    ]);
  });

  it('REFUND success → refunded, keyed by the refund pspReference, of the original payment', () => {
    expect(entries(resigned(REFUND))).toEqual([
      {
        provider: 'adyen',
        account: 'MagentoMerchantTest2',
        entryId: 'PSP_REFERENCE',
        paymentId: 'ORIGINAL_PSP',
        kind: 'refunded',
        amount: 1500,
        currency: 'EUR',
        occurredAt: '2017-02-17T10:11:44.000Z',
        method: 'card',
        match: { externalOrderId: 'payment-2017-1-17-11-refund' },
      },
    ]);
  });

  it('CAPTURE → captured; CANCELLATION → voided; both belong to the original payment', () => {
    const capture = event({ eventCode: 'CAPTURE', pspReference: 'CAPTURE_PSP', originalReference: '123456789' });
    const cancellation = event({ eventCode: 'CANCELLATION', pspReference: 'CANCEL_PSP', originalReference: '123456789' });
    expect(entries(notification([capture, cancellation]))).toMatchObject([
      { entryId: 'CAPTURE_PSP:captured', paymentId: '123456789', kind: 'captured', amount: 10100 },
      { entryId: 'CANCEL_PSP:voided', paymentId: '123456789', kind: 'voided', amount: 10100 },
    ]);
  });

  it('NOTIFICATION_OF_CHARGEBACK and CHARGEBACK of one dispute → one disputed entry id', () => {
    const dispute = { pspReference: 'DISPUTE_PSP', originalReference: '123456789', amount: { currency: 'EUR', value: 10100 } };
    const opened = entries(notification([event({ ...dispute, eventCode: 'NOTIFICATION_OF_CHARGEBACK', reason: 'Fraud' })]));
    const booked = entries(notification([event({ ...dispute, eventCode: 'CHARGEBACK', eventDate: '2017-02-01T09:00:00+01:00' })]));
    expect(opened).toMatchObject([{ entryId: 'DISPUTE_PSP:disputed', paymentId: '123456789', kind: 'disputed', amount: 10100 }]);
    expect(booked[0]?.entryId).toBe(opened[0]?.entryId);
  });

  it('a notification with two items gives two entries, in order', () => {
    const capture = event({ eventCode: 'CAPTURE', pspReference: 'CAPTURE_PSP', originalReference: '123456789' });
    expect(entries(notification([AUTHORISED, capture])).map((e) => [e.entryId, e.kind])).toEqual([
      ['123456789:authorized', 'authorized'],
      ['CAPTURE_PSP:captured', 'captured'],
    ]);
  });

  it('other event codes and unsuccessful modifications are left out; nothing left → ignore', () => {
    const capture = event({ eventCode: 'CAPTURE', pspReference: 'CAPTURE_PSP', originalReference: '123456789' });
    const report = { eventCode: 'REPORT_AVAILABLE', pspReference: 'REPORT', success: 'true', reason: 'https://example.test/report.csv' };
    const failedRefund = { ...REFUNDED, success: 'false', reason: 'Insufficient balance' };
    expect(entries(notification([report, capture, failedRefund])).map((e) => e.entryId)).toEqual(['CAPTURE_PSP:captured']);
    const result = normalized(notification([report, failedRefund]));
    expect(result).toMatchObject({ ok: false, ignore: true });
  });

  it('a hub order number as merchantReference matches by order number', () => {
    const [entry] = entries(notification([event({ merchantReference: 'HUB-20261124-00000042' })]));
    expect(entry?.match).toEqual({ orderNumber: 'HUB-20261124-00000042' });
    const [lowercase] = entries(notification([event({ merchantReference: 'hub-20261124-00000042' })]));
    expect(lowercase?.match).toEqual({ externalOrderId: 'hub-20261124-00000042' });
  });

  it('payment methods: card brands, wallets (also a card in a wallet), banks', () => {
    const method = (paymentMethod: string) => entries(notification([event({ paymentMethod })]))[0]?.method;
    expect(method('mc')).toBe('card');
    expect(method('visa_applepay')).toBe('wallet');
    expect(method('paypal')).toBe('wallet');
    expect(method('ideal')).toBe('bank_transfer');
    expect(method('onlineBanking_PL')).toBe('bank_transfer');
    expect(method('somethingnew')).toBe('unknown');
  });

  it('JPY and KWD amounts are minor units as sent', () => {
    expect(entries(notification([event({ amount: { currency: 'JPY', value: 5000 } })]))[0]).toMatchObject({ amount: 5000, currency: 'JPY' });
    expect(entries(notification([event({ amount: { currency: 'KWD', value: 1234 } })]))[0]).toMatchObject({ amount: 1234, currency: 'KWD' });
  });

  it('refuses a recorded item that is broken, naming each place', () => {
    const broken = event({ amount: { currency: 'eur', value: -5 }, eventDate: '2017-01-19 16:42:03', success: 'yes' });
    const result = normalized(notification([event({ amount: { currency: 'eur', value: 10.5 }, eventDate: '2017-01-19 16:42:03' }), broken]));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.ignore).toBeFalsy();
    expect(!result.ok && result.problems.map((p) => p.path)).toEqual([
      '/notificationItems/0/NotificationRequestItem/amount/value',
      '/notificationItems/0/NotificationRequestItem/amount/currency',
      '/notificationItems/0/NotificationRequestItem/eventDate',
      '/notificationItems/1/NotificationRequestItem/success',
    ]);
    expect(normalized('{"live":"false","notificationItems":[]}')).toMatchObject({ ok: false, problems: [{ path: '/notificationItems' }] });
    expect(normalized('[]')).toMatchObject({ ok: false, problems: [{ path: '/' }] });
  });

  const samples = [
    resigned(AUTHORISATION),
    resigned(REFUND),
    resigned(TOOLS_AUTHORISATION),
    notification([
      AUTHORISED,
      event({ eventCode: 'CAPTURE', pspReference: 'C', originalReference: '123456789' }),
      event({ eventCode: 'CHARGEBACK', pspReference: 'D', originalReference: '123456789' }),
      event({ pspReference: 'F', success: 'false', reason: 'Refused' }),
    ]),
  ].map((text) => parseJsonLossless(text));

  it('never throws on any JSON, and what it accepts is sound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (body) => {
        expectSoundEntries(adyen.normalize(body, { eventId: null, topic: '' }));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated notifications, and every entry stays sound', () => {
    const oddValues = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 1.5, 2 ** 53, '123456789012345678901', '', 'true', 'false', 'AUTHORISATION', 'REFUND', 'CHARGEBACK', '__proto__', null, [], {}),
    );
    fc.assert(
      fc.property(fc.constantFrom(...samples), fc.nat(), oddValues, (body, pick, value) => {
        const paths = keyPaths(body);
        expectSoundEntries(adyen.normalize(replaced(body, paths[pick % paths.length]!, value), { eventId: null, topic: '' }));
      }),
      { numRuns: 1500 },
    );
  });
});
