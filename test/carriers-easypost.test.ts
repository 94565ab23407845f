import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { easypost } from '../connectors/carriers/easypost.ts';
import type { TrackingNormalizeResult, TrackingStatus } from '../connectors/carriers/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { keyPaths, replaced } from './support/normalize.ts';
import { expectSound, onlyEvent } from './support/tracking.ts';

// The official EasyPost fixture and vector (test/fixtures/easypost/tracker.updated.event.md):
// the event body shared by every EasyPost client library, byte for byte (no trailing
// newline), signed with the secret "sécret". Other bodies below are that fixture changed by us.

type Json = Record<string, unknown>;

const FIXTURE = readFileSync(new URL('./fixtures/easypost/tracker.updated.event.json', import.meta.url));
const SECRET = 'sécret';
const OFFICIAL_SIGNATURE = 'hmac-sha256-hex=38f3f53c103713df81616a0a186d77141957323ec21d5fe9363db93840f527db';
const SECRETS = { EASYPOST_WEBHOOK_SECRET: SECRET };
const NOW = new Date('2024-08-02T19:30:00Z');

/** EasyPost's signature over `body`: the key is the NFKD form of the secret. */
const sign = (body: Buffer | string, secret = SECRET): string =>
  `hmac-sha256-hex=${createHmac('sha256', Buffer.from(secret.normalize('NFKD'), 'utf8')).update(body).digest('hex')}`;

const request = (body: Buffer | string, signature?: string): InboundRequest => ({
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  headers: signature === undefined ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'x-hmac-signature': signature },
});

const verified = (body: Buffer | string, signature: string | undefined, secrets: Record<string, string> = SECRETS): boolean =>
  easypost.verify(request(body, signature), secrets, NOW);

const fixture = (): Json => parseJsonLossless(FIXTURE.toString('utf8')) as Json;
const tracker = (): Json => fixture().result as Json;

/** The fixture event with `fields` over its Tracker (and `event` over the envelope). */
const eventWith = (fields: Json, event: Json = {}): Json => ({ ...fixture(), ...event, result: { ...tracker(), ...fields } });

/** As the hub does it: bytes → lossless JSON → normalize. */
const normalizeText = (text: string): TrackingNormalizeResult => easypost.normalize(parseJsonLossless(text), easypost.describe(request(text)));
const normalized = (event: Json): TrackingNormalizeResult => normalizeText(JSON.stringify(event));

describe('easypost.verify', () => {
  it('accepts the official vector: the fixture byte for byte, secret "sécret"', () => {
    expect(FIXTURE.length).toBe(3550);
    expect(FIXTURE.at(-1)).toBe('}'.charCodeAt(0)); // no trailing newline: it is not part of what was signed
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE)).toBe(true);
  });

  it('normalizes the secret to NFKD: composed and decomposed "sécret" both verify', () => {
    const composed = 's\u00e9cret';
    const decomposed = 'se\u0301cret';
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE, { EASYPOST_WEBHOOK_SECRET: composed })).toBe(true);
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE, { EASYPOST_WEBHOOK_SECRET: decomposed })).toBe(true);
    // …and that is what makes the difference: the composed bytes used as they are give another digest
    const unnormalized = `hmac-sha256-hex=${createHmac('sha256', composed).update(FIXTURE).digest('hex')}`;
    expect(unnormalized).not.toBe(OFFICIAL_SIGNATURE);
  });

  it('signs the bytes: the same JSON with a trailing newline or re-serialized does not verify', () => {
    expect(verified(Buffer.concat([FIXTURE, Buffer.from('\n')]), OFFICIAL_SIGNATURE)).toBe(false);
    expect(verified(JSON.stringify(JSON.parse(FIXTURE.toString('utf8')), null, 2), OFFICIAL_SIGNATURE)).toBe(false);
  });

  describe('the integer-weight quirk of @easypost/api', () => {
    // Our body: the fixture with an integer weight, as a JavaScript JSON round trip writes 16.0.
    const withIntegerWeight = FIXTURE.toString('utf8').replace('"weight":614.4', '"weight":16');
    const signedAsFloat = withIntegerWeight.replace('"weight":16', '"weight":16.0');

    it('accepts a body with "weight":16 signed over "weight":16.0', () => {
      expect(withIntegerWeight).not.toBe(FIXTURE.toString('utf8'));
      expect(verified(withIntegerWeight, sign(signedAsFloat))).toBe(true);
    });

    it('tries the raw bytes first: the same body signed as it is verifies too', () => {
      expect(verified(withIntegerWeight, sign(withIntegerWeight))).toBe(true);
    });

    it('rewrites every integer weight as the client does (spaces after the number dropped), and nothing else', () => {
      const body = '{"weight": 16 ,"parcel":{"weight":3},"weights":[1],"weight_unit":"oz","note":"weight: 5"}';
      const asFloat = '{"weight": 16.0,"parcel":{"weight":3.0},"weights":[1],"weight_unit":"oz","note":"weight: 5"}';
      expect(verified(body, sign(asFloat))).toBe(true);
      expect(verified(body, sign(body.replace('"weight":3', '"weight":3.0')))).toBe(false);
    });

    it('only ever adds ".0": a float weight signed as an integer, or a changed weight, does not verify', () => {
      expect(verified(signedAsFloat, sign(withIntegerWeight))).toBe(false);
      expect(verified(withIntegerWeight.replace('"weight":16', '"weight":17'), sign(signedAsFloat))).toBe(false);
    });

    it('agrees with the client on generated bodies: any integer weight, either form signed', () => {
      fc.assert(
        fc.property(fc.nat(), fc.constantFrom('', ' ', '  '), fc.string({ maxLength: 20 }), fc.boolean(), (weight, space, note, signRaw) => {
          const body = `{"weight":${space}${weight}${space},"note":${JSON.stringify(note)}}`;
          const asFloat = `{"weight":${space}${weight}.0,"note":${JSON.stringify(note)}}`;
          expect(verified(body, sign(signRaw ? body : asFloat))).toBe(true);
          expect(verified(body, sign(signRaw ? body : asFloat, 'another secret'))).toBe(false);
        }),
        { numRuns: 200 },
      );
    });
  });

  it('refuses the wrong secret, a tampered body and a tampered signature', () => {
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE, { EASYPOST_WEBHOOK_SECRET: 'secret' })).toBe(false);
    expect(verified(FIXTURE.toString('utf8').replace('"in_transit"', '"delivered"'), OFFICIAL_SIGNATURE)).toBe(false);
    const flipped = OFFICIAL_SIGNATURE.slice(0, -1) + (OFFICIAL_SIGNATURE.endsWith('b') ? 'c' : 'b');
    expect(verified(FIXTURE, flipped)).toBe(false);
  });

  it('refuses a missing header, an unset or empty secret, and a header without the exact prefix', () => {
    const hex = OFFICIAL_SIGNATURE.slice('hmac-sha256-hex='.length);
    expect(verified(FIXTURE, undefined)).toBe(false);
    expect(verified(FIXTURE, '')).toBe(false);
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE, {})).toBe(false);
    expect(verified(FIXTURE, OFFICIAL_SIGNATURE, { EASYPOST_WEBHOOK_SECRET: '' })).toBe(false);
    expect(verified(FIXTURE, hex)).toBe(false);
    expect(verified(FIXTURE, `sha256=${hex}`)).toBe(false);
    expect(verified(FIXTURE, `hmac-sha256=${hex}`)).toBe(false);
    expect(verified(FIXTURE, `HMAC-SHA256-HEX=${hex}`)).toBe(false);
    expect(verified(FIXTURE, `hmac-sha256-hex=${hex.toUpperCase()}`)).toBe(false);
    expect(verified(FIXTURE, ` ${OFFICIAL_SIGNATURE}`)).toBe(false);
    expect(verified(FIXTURE, `${OFFICIAL_SIGNATURE}${'0'.repeat(300)}`)).toBe(false);
    // the secret signs an empty body too; an empty key must not
    expect(verified('', sign('', ''), { EASYPOST_WEBHOOK_SECRET: '' })).toBe(false);
  });

  it('never verifies a body signed with another secret, and always one signed with its own', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 20 }), (bytes, other) => {
        const body = Buffer.from(bytes);
        expect(verified(body, sign(body))).toBe(true);
        if (other.normalize('NFKD') !== SECRET.normalize('NFKD')) expect(verified(body, sign(body, other))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('easypost.describe', () => {
  it('reads nothing from the headers: the event id is in the body', () => {
    expect(easypost.describe(request(FIXTURE, OFFICIAL_SIGNATURE))).toEqual({ eventId: null, topic: '' });
  });
});

describe('easypost.normalize', () => {
  it('the official tracker.updated event → one in_transit event for the FedEx parcel, times in UTC', () => {
    expect(onlyEvent(normalizeText(FIXTURE.toString('utf8')))).toEqual({
      carrier: 'fedex', // the tracker's carrier, not 'easypost': the hub finds parcels by carrier + tracking code
      trackingCode: '1',
      status: 'in_transit',
      statusDetail: 'Arrived at FedEx location',
      occurredAt: '2024-08-02T18:50:00.000Z', // the latest tracking detail
      estimatedDelivery: '2024-08-05',
      publicUrl: 'https://track.easypost.com/1',
      eventId: 'evt_1:in_transit',
    });
  });

  it('tracker.created is read the same way', () => {
    expect(onlyEvent(normalized(eventWith({}, { description: 'tracker.created', id: 'evt_2' }))).eventId).toBe('evt_2:in_transit');
  });

  it.each<[string, TrackingStatus]>([
    ['pre_transit', 'pre_transit'],
    ['in_transit', 'in_transit'],
    ['out_for_delivery', 'out_for_delivery'],
    ['delivered', 'delivered'],
    ['available_for_pickup', 'out_for_delivery'],
    ['return_to_sender', 'returned_to_sender'],
    ['failure', 'exception'],
    ['cancelled', 'exception'],
    ['error', 'exception'],
    ['unknown', 'unknown'],
    ['a_status_added_later', 'unknown'],
  ])('status %s → %s, keyed by the event and the status', (easypostStatus, status) => {
    const event = onlyEvent(normalized(eventWith({ status: easypostStatus })));
    expect(event.status).toBe(status);
    expect(event.eventId).toBe(`evt_1:${status}`);
  });

  it('occurredAt: the latest detail by its time, not its place in the list, converted to UTC', () => {
    const details = (tracker().tracking_details as Json[]).slice();
    details.reverse();
    details[3] = { ...details[3], datetime: '2024-08-02T16:55:00-04:00', message: 'Out for delivery' };
    const event = onlyEvent(normalized(eventWith({ tracking_details: details })));
    expect(event.occurredAt).toBe('2024-08-02T20:55:00.000Z');
    expect(event.statusDetail).toBe('Out for delivery');
  });

  it('occurredAt: the tracker\'s updated_at when no detail has a usable datetime; statusDetail its status_detail', () => {
    for (const details of [[], null, 'x', [{ datetime: '2024-08-02 18:50' }, { datetime: '2024-08-02T18:50:00' }, 7, null]]) {
      const event = onlyEvent(normalized(eventWith({ tracking_details: details })));
      expect(event.occurredAt).toBe('2024-08-02T19:26:51.000Z');
      expect(event.statusDetail).toBe('arrived_at_facility');
    }
  });

  it('refuses, naming the place, when nothing gives a time', () => {
    expect(normalized(eventWith({ tracking_details: [], updated_at: null }))).toEqual({
      ok: false,
      problems: [{ path: '/result/updated_at', message: 'is required when no tracking detail has a datetime' }],
    });
    expect(normalized(eventWith({ tracking_details: [], updated_at: '2024-08-02T19:26:51' }))).toEqual({
      ok: false,
      problems: [{ path: '/result/updated_at', message: 'must be an ISO-8601 timestamp with a UTC offset' }],
    });
  });

  it('carrier: the tracker\'s, lower-cased (USPS → usps)', () => {
    expect(onlyEvent(normalized(eventWith({ carrier: 'USPS' }))).carrier).toBe('usps');
    expect(onlyEvent(normalized(eventWith({ carrier: 'UPS' }))).carrier).toBe('ups');
  });

  it('estimatedDelivery: the carrier\'s local date first, else the date est_delivery_date is written with; null when unusable', () => {
    const carrierDetail = tracker().carrier_detail as Json;
    expect(onlyEvent(normalized(eventWith({ carrier_detail: { ...carrierDetail, est_delivery_date_local: '2024-08-06' } }))).estimatedDelivery).toBe('2024-08-06');
    expect(onlyEvent(normalized(eventWith({ carrier_detail: null }))).estimatedDelivery).toBe('2024-08-05');
    expect(onlyEvent(normalized(eventWith({ carrier_detail: null, est_delivery_date: '2024-08-07T00:00:00-07:00' }))).estimatedDelivery).toBe('2024-08-07');
    expect(onlyEvent(normalized(eventWith({ carrier_detail: null, est_delivery_date: null }))).estimatedDelivery).toBeNull();
    expect(onlyEvent(normalized(eventWith({ carrier_detail: { est_delivery_date_local: '2024-02-30' }, est_delivery_date: 'soon' }))).estimatedDelivery).toBeNull();
  });

  it('publicUrl: only an http(s) address reaches the customer', () => {
    expect(onlyEvent(normalized(eventWith({ public_url: 'javascript:alert(1)' }))).publicUrl).toBeNull();
    expect(onlyEvent(normalized(eventWith({ public_url: 'not a url' }))).publicUrl).toBeNull();
    expect(onlyEvent(normalized(eventWith({ public_url: null }))).publicUrl).toBeNull();
  });

  it.each(['batch.created', 'refund.successful', 'shipment.invoice.created', 'insurance.purchased', 'tracker'])(
    '%s is stored and acknowledged, not recorded: ignore',
    (description) => {
      const result = normalized({ ...fixture(), description });
      expect(result).toMatchObject({ ok: false, ignore: true, problems: [{ path: '/description' }] });
    },
  );

  it('refuses (not ignores) an event without a description', () => {
    const rest = fixture();
    delete rest.description;
    expect(normalized(rest)).toEqual({ ok: false, problems: [{ path: '/description', message: 'is required' }] });
    expect(normalized({ ...rest, description: 7 })).toEqual({ ok: false, problems: [{ path: '/description', message: 'must be a string' }] });
  });

  it('refuses a tracker update missing what places it, naming every place', () => {
    const result = normalized(eventWith({ tracking_code: '  ', carrier: null, status: 3, object: 'Shipment' }, { id: null }));
    expect(result).toEqual({
      ok: false,
      problems: [
        { path: '/id', message: 'is required' },
        { path: '/result/object', message: 'must be "Tracker" for tracker.updated' },
        { path: '/result/tracking_code', message: 'must not be blank' },
        { path: '/result/carrier', message: 'is required' },
        { path: '/result/status', message: 'must be a string' },
      ],
    });
    expect(normalized({ ...fixture(), result: null })).toEqual({ ok: false, problems: [{ path: '/result', message: 'is required' }] });
  });

  it('never throws on any JSON, and what it accepts is sound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (body) => {
        expectSound(easypost.normalize(body, { eventId: null, topic: '' }));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated events, and every event stays sound', () => {
    const events = [fixture(), eventWith({}, { description: 'tracker.created' }), eventWith({ status: 'delivered', tracking_details: [] })];
    const oddValues = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        '', ' ', null, [], {}, -1, 1.5, 2 ** 53, '123456789012345678901', '__proto__', 'tracker.updated', 'Tracker',
        '2024-08-02T18:50:00+14:00', '0000-01-01T00:00:00+01:00', '9999-12-31T23:59:59-01:00', '2024-02-30T00:00:00Z', 'javascript:alert(1)',
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...events), fc.nat(), oddValues, (event, pick, value) => {
        const paths = keyPaths(event);
        expectSound(easypost.normalize(replaced(event, paths[pick % paths.length]!, value), { eventId: null, topic: '' }));
      }),
      { numRuns: 1500 },
    );
  });
});
