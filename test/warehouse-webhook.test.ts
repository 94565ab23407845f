// The signature of POST /webhooks/warehouses/:code: the shop's own-channel scheme
// (X-Hub-Signature: t=…,v1=…), checked against vectors computed outside this code.
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { InboundRequest } from '../connectors/types.ts';
import { signWarehouseWebhook, verifyWarehouseWebhook, WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS } from '../connectors/warehouses/webhook.ts';
import { signOwnChannelPayload, SIGNATURE_TOLERANCE_SECONDS } from '../connectors/website.ts';

// Computed with `printf '%s' "<t>.<body>" | openssl dgst -sha256 -hmac <secret>`.
const VECTORS = [
  {
    name: 'a shipped event from a WMS',
    secret: 'whsec_wms_us_east',
    timestamp: 1735689600,
    body: '{"specversion":"1.0","id":"wms-evt-7781","source":"wms/us-east","type":"fulfillment.shipped","time":"2025-01-01T00:00:00Z","datacontenttype":"application/json","data":{"orderId":"ord_1001","trackingCode":"1Z999AA10123456784"}}',
    header: 't=1735689600,v1=2be3364f4de7aedce9f4a9ba272aea77a2195e7aea21fc010bd6eae98d20c3ed',
  },
  {
    name: "the worked example of docs/channel-contract.md (the same scheme as the shop's own channels)",
    secret: 'whsec_example_do_not_use',
    timestamp: 1735689600,
    body: '{"externalId":"W-1001","currency":"USD"}',
    header: 't=1735689600,v1=daa83f9a579c7ed2fb2f3b1c374ce00d212fd54d05d58a6722fdd6ac615198b1',
  },
] as const;

const SECRET = 'whsec_wms_test';
const NOW = new Date('2025-03-14T09:30:00.000Z');
const NOW_SECONDS = Math.floor(NOW.getTime() / 1000);
const BODY = JSON.stringify({
  specversion: '1.0', id: 'wms-evt-1', source: 'wms/eu-central', type: 'fulfillment.accepted',
  time: NOW.toISOString(), datacontenttype: 'application/json', data: { orderId: 'ord_2002' },
});

function request(body: string | Buffer, signature: string | undefined): InboundRequest {
  return { rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'), headers: { 'content-type': 'application/cloudevents+json', 'x-hub-signature': signature } };
}

const v1Of = (header: string) => header.split(',')[1] ?? '';

describe('signWarehouseWebhook', () => {
  for (const vector of VECTORS) {
    it(`gives the known header for ${vector.name}`, () => {
      expect(signWarehouseWebhook(vector.body, vector.secret, vector.timestamp)).toBe(vector.header);
      expect(signWarehouseWebhook(Buffer.from(vector.body, 'utf8'), vector.secret, vector.timestamp)).toBe(vector.header);
    });
  }

  it("is the shop's own-channel scheme, window included, so one sender serves both", () => {
    expect(signWarehouseWebhook(BODY, SECRET, NOW_SECONDS)).toBe(signOwnChannelPayload(BODY, SECRET, NOW_SECONDS));
    expect(WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS).toBe(SIGNATURE_TOLERANCE_SECONDS);
  });

  it('refuses a timestamp that is not whole unix seconds, and an empty secret', () => {
    expect(() => signWarehouseWebhook(BODY, SECRET, 1.5)).toThrow(RangeError);
    expect(() => signWarehouseWebhook(BODY, SECRET, -1)).toThrow(RangeError);
    expect(() => signWarehouseWebhook(BODY, SECRET, Number.NaN)).toThrow(RangeError);
    expect(() => signWarehouseWebhook(BODY, '', NOW_SECONDS)).toThrow(RangeError);
  });
});

describe('verifyWarehouseWebhook', () => {
  const fresh = signWarehouseWebhook(BODY, SECRET, NOW_SECONDS);

  for (const vector of VECTORS) {
    it(`accepts ${vector.name} at its own time`, () => {
      expect(verifyWarehouseWebhook(request(vector.body, vector.header), vector.secret, new Date(vector.timestamp * 1000))).toBe(true);
    });
  }

  it('accepts a fresh signature', () => {
    expect(verifyWarehouseWebhook(request(BODY, fresh), SECRET, NOW)).toBe(true);
  });

  it('signs the raw bytes: a multi-byte body verifies as sent', () => {
    const unicode = BODY.replace('ord_2002', 'Zürich-倉庫-📦');
    expect(verifyWarehouseWebhook(request(unicode, signWarehouseWebhook(unicode, SECRET, NOW_SECONDS)), SECRET, NOW)).toBe(true);
  });

  it('accepts up to 300 s either way and refuses 301 s stale or in the future', () => {
    const at = (offset: number) => verifyWarehouseWebhook(request(BODY, signWarehouseWebhook(BODY, SECRET, NOW_SECONDS + offset)), SECRET, NOW);
    expect(at(-300)).toBe(true);
    expect(at(300)).toBe(true);
    expect(at(-301)).toBe(false);
    expect(at(301)).toBe(false);
    expect(at(-86_400)).toBe(false);
  });

  it('refuses a stale request replayed later, though its signature is right', () => {
    const later = new Date(NOW.getTime() + 301_000);
    expect(verifyWarehouseWebhook(request(BODY, fresh), SECRET, later)).toBe(false);
  });

  it('refuses an invalid clock rather than skipping the window', () => {
    expect(verifyWarehouseWebhook(request(BODY, fresh), SECRET, new Date(Number.NaN))).toBe(false);
  });

  it('refuses a tampered body: one byte changed, or the same JSON reformatted', () => {
    const bytes = Buffer.from(BODY, 'utf8');
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 3) ^ 1, bytes.length - 3);
    expect(verifyWarehouseWebhook(request(bytes, fresh), SECRET, NOW)).toBe(false);
    expect(verifyWarehouseWebhook(request(JSON.stringify(JSON.parse(BODY), null, 2), fresh), SECRET, NOW)).toBe(false);
    expect(verifyWarehouseWebhook(request(`${BODY}\n`, fresh), SECRET, NOW)).toBe(false);
  });

  it('refuses a timestamp changed after signing', () => {
    const moved = fresh.replace(`t=${NOW_SECONDS}`, `t=${NOW_SECONDS + 1}`);
    expect(verifyWarehouseWebhook(request(BODY, moved), SECRET, NOW)).toBe(false);
  });

  it('refuses the wrong secret, and never verifies with an empty one', () => {
    expect(verifyWarehouseWebhook(request(BODY, fresh), 'another-secret', NOW)).toBe(false);
    const signedWithEmpty = `t=${NOW_SECONDS},v1=${createHmac('sha256', '').update(`${NOW_SECONDS}.${BODY}`).digest('hex')}`;
    expect(verifyWarehouseWebhook(request(BODY, signedWithEmpty), '', NOW)).toBe(false);
    expect(verifyWarehouseWebhook(request(BODY, fresh), '', NOW)).toBe(false);
  });

  it('refuses a missing or empty header', () => {
    expect(verifyWarehouseWebhook(request(BODY, undefined), SECRET, NOW)).toBe(false);
    expect(verifyWarehouseWebhook(request(BODY, ''), SECRET, NOW)).toBe(false);
  });

  it('refuses malformed headers without throwing', () => {
    const v1 = v1Of(fresh);
    const hex = v1.slice(3);
    const malformed = [
      v1, // no timestamp
      `t=${NOW_SECONDS}`, // no signature
      `t=${NOW_SECONDS},t=${NOW_SECONDS},${v1}`, // two timestamps
      `t=${NOW_SECONDS}.5,${v1}`,
      `t=-${NOW_SECONDS},${v1}`,
      `t=${NOW_SECONDS}000,${v1}`, // milliseconds: far in the future
      `t=abc,${v1}`,
      `t=${NOW_SECONDS},v1=${hex.slice(0, -1)}`,
      `t=${NOW_SECONDS},v1=${hex}00`,
      `t=${NOW_SECONDS},v1=${Buffer.from(hex, 'hex').toString('base64')}`,
      `t=${NOW_SECONDS};${v1}`,
      `t=${NOW_SECONDS},,${v1}`,
      `${fresh},=x`,
      `${fresh},${`v1=${'0'.repeat(64)},`.repeat(40)}`, // longer than any honest header
      `t=${NOW_SECONDS},${Array.from({ length: 9 }, () => v1).join(',')}`, // too many signatures
      `sha256=${hex}`,
      'é'.repeat(100),
    ];
    for (const header of malformed) expect(verifyWarehouseWebhook(request(BODY, header), SECRET, NOW), header).toBe(false);
  });

  it('tolerates spaces around items and upper-case hex', () => {
    expect(verifyWarehouseWebhook(request(BODY, fresh.replace(',', ' , ')), SECRET, NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, `t=${NOW_SECONDS},v1=${v1Of(fresh).slice(3).toUpperCase()}`), SECRET, NOW)).toBe(true);
  });

  it('accepts any one of two v1 during a secret rotation, in either order, and nothing else', () => {
    const withOld = signWarehouseWebhook(BODY, 'whsec_old', NOW_SECONDS);
    const withNew = signWarehouseWebhook(BODY, SECRET, NOW_SECONDS);
    const both = `${withOld},${v1Of(withNew)}`;
    const reversed = `${withNew},${v1Of(withOld)}`;
    expect(verifyWarehouseWebhook(request(BODY, both), SECRET, NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, both), 'whsec_old', NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, reversed), SECRET, NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, reversed), 'whsec_old', NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, both), 'whsec_third', NOW)).toBe(false);
  });

  it('skips other schemes so a future v2 can be added alongside, but needs a matching v1', () => {
    expect(verifyWarehouseWebhook(request(BODY, `${fresh},v2=anything`), SECRET, NOW)).toBe(true);
    expect(verifyWarehouseWebhook(request(BODY, `t=${NOW_SECONDS},v0=${v1Of(fresh).slice(3)}`), SECRET, NOW)).toBe(false);
  });
});
