import { execFileSync } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { alipay } from '../connectors/payments/alipay.ts';
import type { PaymentEvent, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { expectSoundEntries as expectSound } from './support/payments.ts';

// The notification from Alipay's "异步返回结果的验签" doc (see the .md beside it). Its `sign` was
// made with a key Alipay never published, so it cannot be verified by anyone: the tests sign
// the same fields with a key pair of their own, as Alipay would with its key.
const FIELDS = JSON.parse(readFileSync(new URL('./fixtures/alipay/trade_status_sync.notify.json', import.meta.url), 'utf8')) as Record<string, string>;
const PRINTED = readFileSync(new URL('./fixtures/alipay/trade_status_sync.notify.txt', import.meta.url), 'utf8');
const NOTES = readFileSync(new URL('./fixtures/alipay/trade_status_sync.notify.md', import.meta.url), 'utf8');
/** The string to sign for the sample, as the fixture notes give it (with gmt_create, which the doc's own listing drops). */
const NOTES_SIGNING_STRING = /For this sample the sorted string is\s*`([^`]+)`/.exec(NOTES)?.[1] ?? '';

const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_KEY_PEM = alipayKeys.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const SECRETS = { ALIPAY_PUBLIC_KEY_PEM: PUBLIC_KEY_PEM };
const NOW = new Date('2026-03-02T10:00:00Z');
const DELIVERY = { eventId: null, topic: '' };

type Fields = Record<string, string>;

const without = (fields: Fields, ...names: string[]): Fields => Object.fromEntries(Object.entries(fields).filter(([name]) => !names.includes(name)));

/** Alipay's string to sign, written out independently of the connector. */
function signingString(fields: Fields): string {
  return Object.keys(fields)
    .filter((name) => name !== 'sign' && name !== 'sign_type')
    .sort()
    .map((name) => `${name}=${fields[name]}`)
    .join('&');
}

const signWith = (content: string, key = alipayKeys.privateKey, digest = 'sha256'): string => sign(digest, Buffer.from(content, 'utf8'), key).toString('base64');

/** The fields with a fresh RSA2 `sign` over them. */
const signed = (fields: Fields): Fields => ({ ...fields, sign_type: fields.sign_type ?? 'RSA2', sign: signWith(signingString(fields)) });

/** The fields as Alipay POSTs them: application/x-www-form-urlencoded (spaces as '+', '+' in the signature as %2B). */
const formBody = (fields: Fields | [string, string][]): Buffer => Buffer.from(new URLSearchParams(Array.isArray(fields) ? fields : Object.entries(fields)).toString(), 'utf8');

const request = (body: Buffer): InboundRequest => ({ rawBody: body, headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' } });
const verifies = (body: Buffer, secrets: Record<string, string> = SECRETS): boolean => alipay.verify(request(body), secrets, NOW);

describe('the Alipay fixture', () => {
  it('the JSON is the printed notification split on & and =, values unchanged', () => {
    const printed = Object.fromEntries(PRINTED.split('&').map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    expect(printed).toEqual(FIELDS);
  });

  it('the string to sign written out here is the one in the notes', () => {
    expect(NOTES_SIGNING_STRING).toMatch(/^app_id=2015102700040153&body=大乐透2\.1&/);
    expect(signingString(FIELDS)).toBe(NOTES_SIGNING_STRING);
  });
});

describe('alipay.verify', () => {
  it("accepts the sample's fields signed over exactly the notes' string, sent as a form", () => {
    const body = formBody({ ...FIELDS, sign: signWith(NOTES_SIGNING_STRING) });
    expect(body.toString()).toContain('notify_time=2016-07-19+14%3A10%3A49');
    expect(body.toString()).toContain('body=%E5%A4%A7%E4%B9%90%E9%80%8F2.1');
    expect(verifies(body)).toBe(true);
  });

  it("cannot check the doc's own signature (made with Alipay's unpublished key)", () => {
    expect(verifies(formBody(FIELDS))).toBe(false);
  });

  it('accepts the fields in any order and spaces encoded either way', () => {
    const fields = signed(FIELDS);
    expect(verifies(formBody(Object.entries(fields).reverse()))).toBe(true);
    expect(verifies(Buffer.from(formBody(fields).toString().replaceAll('+', '%20')))).toBe(true);
  });

  it('refuses any tampered field, an added one or a dropped one', () => {
    const fields = signed(FIELDS);
    expect(verifies(formBody({ ...fields, total_amount: '2000.00' }))).toBe(false);
    expect(verifies(formBody({ ...fields, out_trade_no: 'HUB-20260301-00000042' }))).toBe(false);
    expect(verifies(formBody({ ...fields, trade_status: 'TRADE_CLOSED' }))).toBe(false);
    expect(verifies(formBody({ ...fields, refund_fee: '2.00' }))).toBe(false);
    expect(verifies(formBody(without(fields, 'gmt_create')))).toBe(false);
  });

  it("refuses a signature over the doc's printed string, which leaves out gmt_create", () => {
    const docString = NOTES_SIGNING_STRING.replace('gmt_create=2016-07-19 14:10:44&', '');
    expect(docString).not.toBe(NOTES_SIGNING_STRING);
    expect(verifies(formBody({ ...FIELDS, sign: signWith(docString) }))).toBe(false);
  });

  it('includes fields with an empty value in the signed string', () => {
    const fields = { ...FIELDS, passback_params: '' };
    expect(verifies(formBody(signed(fields)))).toBe(true);
    expect(verifies(formBody({ ...fields, sign: signWith(signingString(without(fields, 'passback_params'))) }))).toBe(false);
  });

  it('signs the decoded values: reserved characters, percent signs and non-Latin text', () => {
    const fields = signed({ ...FIELDS, subject: 'a&b=c+d %41 50% 大乐透' });
    expect(verifies(formBody(fields))).toBe(true);
  });

  it('refuses a missing, empty or malformed sign', () => {
    const unsigned = without(signed(FIELDS), 'sign');
    expect(verifies(formBody(unsigned))).toBe(false);
    expect(verifies(formBody({ ...unsigned, sign: '' }))).toBe(false);
    // The doc prints the signature unencoded: a '+' in it arrives as a space, and is refused, not
    // repaired. (Signatures are deterministic: try notify ids until one has a '+'.)
    const withPlus = Array.from({ length: 200 }, (_, i) => signed({ ...FIELDS, notify_id: `${FIELDS.notify_id}${i}` })).find((f) => f.sign!.includes('+'))!;
    expect(verifies(formBody(withPlus))).toBe(true);
    expect(verifies(Buffer.from(`${formBody(without(withPlus, 'sign')).toString()}&sign=${withPlus.sign}`))).toBe(false);
    expect(verifies(formBody({ ...unsigned, sign: `${signed(FIELDS).sign}!` }))).toBe(false);
  });

  it('refuses sign_type other than RSA2 (it is not signed: no downgrade to SHA-1), or none', () => {
    const content = signingString(FIELDS);
    expect(verifies(formBody({ ...FIELDS, sign_type: 'RSA', sign: signWith(content, alipayKeys.privateKey, 'sha1') }))).toBe(false);
    expect(verifies(formBody({ ...FIELDS, sign_type: 'RSA', sign: signWith(content) }))).toBe(false);
    expect(verifies(formBody({ ...without(FIELDS, 'sign_type'), sign: signWith(content) }))).toBe(false);
    // the SDK's second try, with sign_type inside the signed string, is not accepted either
    const withType = Object.keys(FIELDS).filter((k) => k !== 'sign').sort().map((k) => `${k}=${FIELDS[k]}`).join('&');
    expect(verifies(formBody({ ...FIELDS, sign: signWith(withType) }))).toBe(false);
  });

  it('refuses a field sent twice, even when one of the copies is what was signed', () => {
    const fields = signed(FIELDS);
    // the signed string and the fields read later must not depend on which copy a parser keeps
    // (URLSearchParams → Object.fromEntries keeps the last, many form parsers the first)
    expect(verifies(formBody([['total_amount', '0.01'], ...Object.entries(fields)]))).toBe(false);
    expect(verifies(formBody([...Object.entries(fields), ['total_amount', '0.01']]))).toBe(false);
  });

  it('refuses a charset other than UTF-8, and accepts any spelling of UTF-8', () => {
    expect(verifies(formBody(signed({ ...FIELDS, charset: 'gbk' })))).toBe(false);
    expect(verifies(formBody(signed({ ...FIELDS, charset: 'UTF-8' })))).toBe(true);
    expect(verifies(formBody(signed({ ...FIELDS, charset: 'utf8' })))).toBe(true);
  });

  it("refuses a signature by another key (the app's own key, say)", () => {
    const fields = { ...FIELDS, sign: signWith(signingString(FIELDS), otherKeys.privateKey) };
    expect(verifies(formBody(fields))).toBe(false);
  });

  it('takes the key as PEM, as the bare base64 the Alipay console shows, or as the public-key certificate', () => {
    const body = formBody(signed(FIELDS));
    const bare = alipayKeys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: bare })).toBe(true);
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: `${bare.slice(0, 64)}\n${bare.slice(64)}\n` })).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), 'alipay-test-'));
    try {
      const keyFile = join(dir, 'key.pem');
      const certFile = join(dir, 'cert.pem');
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', '/CN=alipay-test'], { stdio: 'ignore' });
      const certFields = { ...FIELDS, sign: sign('sha256', Buffer.from(NOTES_SIGNING_STRING), readFileSync(keyFile)).toString('base64') };
      expect(verifies(formBody(certFields), { ALIPAY_PUBLIC_KEY_PEM: readFileSync(certFile, 'utf8') })).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses when the key is unset, unreadable or not RSA', () => {
    const body = formBody(signed(FIELDS));
    expect(verifies(body, {})).toBe(false);
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: '' })).toBe(false);
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: 'not a key' })).toBe(false);
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----' })).toBe(false);
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verifies(body, { ALIPAY_PUBLIC_KEY_PEM: ec })).toBe(false);
  });

  it('never throws, and refuses, whatever the body', () => {
    const fieldName = fc.constantFrom('sign', 'sign_type', 'charset', 'trade_status', 'total_amount', '', '__proto__', 'constructor');
    const bodies = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      fc.string({ maxLength: 200 }).map((text) => Buffer.from(text)),
      fc
        .array(fc.tuple(fieldName, fc.oneof(fc.string({ maxLength: 40 }), fc.base64String({ maxLength: 400 }), fc.constant('RSA2'))), { maxLength: 8 })
        .map((pairs) => formBody(pairs)),
    );
    fc.assert(
      fc.property(bodies, fc.constantFrom(SECRETS, {}, { ALIPAY_PUBLIC_KEY_PEM: 'junk' }), (body, secrets) => {
        expect(verifies(body, secrets)).toBe(false);
      }),
      { numRuns: 400 },
    );
  });
});

describe('alipay.describe and acknowledgement', () => {
  it('gives no event id (notify_id is a form field) and answers the plain text "success"', () => {
    expect(alipay.describe(request(formBody(FIELDS)))).toEqual({ eventId: null, topic: '' });
    expect(alipay.acknowledgement).toEqual({ contentType: 'text/plain', body: 'success' });
    expect(alipay.bodyFormat).toBe('form');
  });
});

// ---------------------------------------------------------------------------------------------
// normalize: the form's fields as the hub hands them over.

const normalize = (body: unknown): PaymentNormalizeResult => alipay.normalize(body, DELIVERY);
/** The fields after a round trip through the wire format. */
const received = (fields: Fields): Fields => Object.fromEntries(new URLSearchParams(formBody(fields).toString()));

function eventsOf(fields: unknown): PaymentEvent[] {
  const result = normalize(fields);
  if (!result.ok) throw new Error(`expected events, got ${JSON.stringify(result.problems)}`);
  return result.events;
}

function problemsOf(fields: unknown): { paths: string[]; ignore: boolean } {
  const result = normalize(fields);
  if (result.ok) throw new Error(`expected problems, got ${JSON.stringify(result.events)}`);
  return { paths: result.problems.map((p) => p.path).sort(), ignore: result.ignore === true };
}

const TRADE = '2016071921001003030200089909';
const base = {
  provider: 'alipay',
  account: '2088102119685838',
  paymentId: TRADE,
  currency: 'CNY',
  method: 'wallet',
  match: { externalOrderId: '0719141034-6418' },
  failureReason: null,
};

describe('alipay.normalize', () => {
  it('TRADE_SUCCESS (the doc sample): captured, total_amount in yuan, gmt_payment from Beijing time to UTC', () => {
    expect(eventsOf(received(FIELDS))).toEqual([
      { ...base, entryId: `trade:${TRADE}`, kind: 'captured', amount: 200, occurredAt: '2016-07-19T06:10:47.000Z' },
    ]);
  });

  it('TRADE_FINISHED: the same capture, under the same entry id', () => {
    expect(eventsOf({ ...FIELDS, trade_status: 'TRADE_FINISHED' })).toEqual(eventsOf(FIELDS));
  });

  it('a partial refund (TRADE_SUCCESS with refund_fee): the capture again, and the refund at gmt_refund', () => {
    const partial = { ...FIELDS, refund_fee: '0.50', gmt_refund: '2016-07-20 09:30:00.123', out_biz_no: 'R1' };
    expect(eventsOf(partial)).toEqual([
      { ...base, entryId: `trade:${TRADE}`, kind: 'captured', amount: 200, occurredAt: '2016-07-19T06:10:47.000Z' },
      { ...base, entryId: `refund:${TRADE}`, kind: 'refunded', amount: 50, occurredAt: '2016-07-20T01:30:00.123Z', cumulative: true },
    ]);
    // every notification names the trade's one cumulative refund entry; the ledger keeps the largest total
    expect(eventsOf({ ...FIELDS, trade_status: 'TRADE_FINISHED', refund_fee: '1.50', gmt_refund: '2016-07-20 09:30:00.123' })[1]).toMatchObject({
      entryId: `refund:${TRADE}`, amount: 150, cumulative: true,
    });
  });

  it('TRADE_CLOSED after a full refund: refunded (and the capture it refunds)', () => {
    const closed = { ...FIELDS, trade_status: 'TRADE_CLOSED', refund_fee: '2.00', gmt_refund: '2016-07-21 08:00:00' };
    expect(eventsOf(closed).map((e) => [e.kind, e.entryId, e.amount, e.occurredAt])).toEqual([
      ['captured', `trade:${TRADE}`, 200, '2016-07-19T06:10:47.000Z'],
      ['refunded', `refund:${TRADE}`, 200, '2016-07-21T00:00:00.000Z'],
    ]);
  });

  it('TRADE_CLOSED without a refund (closed unpaid): voided at gmt_close', () => {
    const unpaid = without(FIELDS, 'gmt_payment');
    for (const refund of ['0.00', undefined]) {
      const closed: Fields = { ...unpaid, trade_status: 'TRADE_CLOSED' };
      if (refund === undefined) delete closed.refund_fee;
      else closed.refund_fee = refund;
      expect(eventsOf(closed)).toEqual([
        { ...base, entryId: `close:${TRADE}`, kind: 'voided', amount: 200, occurredAt: '2016-07-19T06:10:46.000Z' },
      ]);
    }
  });

  it('WAIT_BUYER_PAY and other notify types: ignored; an unknown trade status: refused', () => {
    expect(problemsOf({ ...FIELDS, trade_status: 'WAIT_BUYER_PAY' })).toEqual({ paths: ['/trade_status'], ignore: true });
    expect(problemsOf({ ...FIELDS, notify_type: 'fund_auth_freeze' })).toEqual({ paths: ['/notify_type'], ignore: true });
    expect(problemsOf({ ...FIELDS, trade_status: 'TRADE_PENDING' })).toEqual({ paths: ['/trade_status'], ignore: false });
  });

  it('matches out_trade_no: a hub order number, a hub order id, else the channel order id', () => {
    expect(eventsOf({ ...FIELDS, out_trade_no: 'HUB-20260301-00000042' })[0]?.match).toEqual({ orderNumber: 'HUB-20260301-00000042' });
    expect(eventsOf({ ...FIELDS, out_trade_no: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' })[0]?.match).toEqual({ orderId: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' });
    expect(eventsOf(without(FIELDS, 'out_trade_no'))[0]?.match).toEqual({});
  });

  it('reads total_amount in trans_currency when the trade was priced in another currency', () => {
    expect(eventsOf({ ...FIELDS, trans_currency: 'USD', total_amount: '12.30' })[0]).toMatchObject({ amount: 1230, currency: 'USD' });
    expect(eventsOf({ ...FIELDS, trans_currency: 'JPY', total_amount: '1500' })[0]).toMatchObject({ amount: 1500, currency: 'JPY' });
  });

  it('falls back to notify_time when the movement has no time of its own', () => {
    expect(eventsOf(without(FIELDS, 'gmt_payment'))[0]?.occurredAt).toBe('2016-07-19T06:10:49.000Z');
  });

  it('refuses, naming each place, fields it cannot read', () => {
    expect(problemsOf([]).paths).toEqual(['/']);
    expect(problemsOf({ ...FIELDS, total_amount: 2 }).paths).toEqual(['/']);
    expect(problemsOf({}).paths).toEqual(['/trade_status']);
    expect(problemsOf(without(FIELDS, 'trade_no')).paths).toEqual(['/trade_no']);
    expect(problemsOf({ ...FIELDS, total_amount: '2.001' }).paths).toEqual(['/total_amount']);
    expect(problemsOf({ ...FIELDS, total_amount: '' }).paths).toEqual(['/total_amount']);
    expect(problemsOf({ ...FIELDS, refund_fee: 'abc' }).paths).toEqual(['/refund_fee']);
    expect(problemsOf({ ...FIELDS, trans_currency: 'usd' }).paths).toEqual(['/trans_currency']);
    expect(problemsOf({ ...FIELDS, gmt_payment: '2016-07-19T14:10:47' }).paths).toEqual(['/gmt_payment']);
    expect(problemsOf({ ...FIELDS, gmt_payment: '2016-02-30 14:10:47' }).paths).toEqual(['/gmt_payment']);
    expect(problemsOf(without(FIELDS, 'gmt_payment', 'notify_time')).paths).toEqual(['/notify_time']);
  });
});

// ---------------------------------------------------------------------------------------------
// Properties

function expectWellFormed(result: PaymentNormalizeResult): void {
  expectSound(result, 'alipay');
  if (!result.ok) return;
  for (const event of result.events) expect(event.entryId).toMatch(/^(trade|close|refund):.+/);
  expect(new Set(result.events.map((e) => e.entryId)).size).toBe(result.events.length);
}

describe('alipay.normalize under generated input', () => {
  const statuses = fc.constantFrom('TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED', 'WAIT_BUYER_PAY', 'OTHER');
  const names = [...Object.keys(FIELDS), 'trans_currency', 'gmt_refund', 'out_biz_no', '__proto__', 'constructor'];

  it('never throws on any value, and any result is well formed', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.dictionary(fc.constantFrom(...names), fc.string({ maxLength: 30 }))), (body) => {
        expectWellFormed(normalize(body));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on the sample with any field replaced or removed, under any status', () => {
    const mutated = fc
      .tuple(fc.constantFrom(...names), fc.option(fc.oneof(fc.string({ maxLength: 30 }), fc.stringMatching(/^\d{1,17}(\.\d{1,3})?$/))), statuses)
      .map(([name, value, status]) => {
        const fields: Fields = { ...FIELDS, trade_status: status };
        if (value === null) delete fields[name];
        else fields[name] = value;
        return fields;
      });
    fc.assert(
      fc.property(mutated, (fields) => {
        expectWellFormed(normalize(fields));
      }),
      { numRuns: 500 },
    );
  });

  it('accepts any paid trade with exact amounts, its refund never above what the notification says', () => {
    const yuan = fc.bigInt({ min: 1n, max: 10_000_000_000n });
    fc.assert(
      fc.property(fc.constantFrom('TRADE_SUCCESS', 'TRADE_FINISHED', 'TRADE_CLOSED'), yuan, fc.option(yuan), (status, total, refund) => {
        const decimal = (fen: bigint) => `${fen / 100n}.${String(fen % 100n).padStart(2, '0')}`;
        const fields: Fields = { ...FIELDS, trade_status: status, total_amount: decimal(total), refund_fee: refund === null ? '0.00' : decimal(refund) };
        const result = normalize(fields);
        expectWellFormed(result);
        if (!result.ok) throw new Error(JSON.stringify(result.problems));
        const byKind = Object.fromEntries(result.events.map((e) => [e.kind, e.amount]));
        expect(byKind.captured ?? byKind.voided).toBe(Number(total));
        expect(byKind.refunded).toBe(refund === null ? undefined : Number(refund));
      }),
      { numRuns: 300 },
    );
  });
});
