import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { aftership } from '../connectors/carriers/aftership.ts';
import type { TrackingNormalizeResult, TrackingStatus } from '../connectors/carriers/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { keyPaths, replaced } from './support/normalize.ts';
import { expectSound, onlyEvent } from './support/tracking.ts';

// The fixture is OUR construction from AfterShip's documented webhook shape
// (test/fixtures/aftership/README.md), and so is the signing vector. The events below are
// that fixture changed by us, signed the way the docs describe.

type Json = Record<string, unknown>;

const FIXTURE = readFileSync(new URL('./fixtures/aftership/tracking_update.json', import.meta.url));
const SECRET = 'test-aftership-webhook-secret';
const README_SIGNATURE = '+0P9Qx9EHuGNXbRWjtFDIe5bmndOC6LjIrpiQ8Vj4DY=';
const SECRETS = { AFTERSHIP_WEBHOOK_SECRET: SECRET };
const NOW = new Date('2021-01-14T06:23:00Z');

const sign = (body: Buffer | string, secret = SECRET): string => createHmac('sha256', secret).update(body).digest('base64');

const request = (body: Buffer | string, signature?: string, header = 'aftership-hmac-sha256'): InboundRequest => ({
  rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
  headers: signature === undefined ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', [header]: signature },
});

const verified = (body: Buffer | string, signature: string | undefined, secrets: Record<string, string> = SECRETS): boolean =>
  aftership.verify(request(body, signature), secrets, NOW);

const fixture = (): Json => parseJsonLossless(FIXTURE.toString('utf8')) as Json;
const tracking = (): Json => fixture().msg as Json;
const checkpoints = (): Json[] => tracking().checkpoints as Json[];

/** The fixture event with `fields` over its Tracking (and `event` over the envelope). */
const eventWith = (fields: Json, event: Json = {}): Json => ({ ...fixture(), ...event, msg: { ...tracking(), ...fields } });

/** As the hub does it: bytes → lossless JSON → normalize. */
const normalizeText = (text: string): TrackingNormalizeResult => aftership.normalize(parseJsonLossless(text), aftership.describe(request(text)));
const normalized = (event: Json): TrackingNormalizeResult => normalizeText(JSON.stringify(event));

describe('aftership.verify', () => {
  it('accepts the README vector: the fixture byte for byte, base64 HMAC-SHA256 of the raw body', () => {
    expect(FIXTURE.length).toBe(4212);
    expect(sign(FIXTURE)).toBe(README_SIGNATURE);
    expect(verified(FIXTURE, README_SIGNATURE)).toBe(true);
  });

  it('refuses the wrong secret, a tampered body and a tampered signature', () => {
    expect(verified(FIXTURE, README_SIGNATURE, { AFTERSHIP_WEBHOOK_SECRET: 'another-secret' })).toBe(false);
    expect(verified(FIXTURE.toString('utf8').replace('"tag": "InTransit"', '"tag": "Delivered"'), README_SIGNATURE)).toBe(false);
    expect(verified(Buffer.concat([FIXTURE, Buffer.from('\n')]), README_SIGNATURE)).toBe(false);
    expect(verified(FIXTURE, `${README_SIGNATURE.slice(0, 10)}A${README_SIGNATURE.slice(11)}`)).toBe(false);
  });

  it('refuses a missing header, an unset or empty secret, hex instead of base64, and the other products\' headers', () => {
    expect(verified(FIXTURE, undefined)).toBe(false);
    expect(verified(FIXTURE, '')).toBe(false);
    expect(verified(FIXTURE, README_SIGNATURE, {})).toBe(false);
    expect(verified(FIXTURE, README_SIGNATURE, { AFTERSHIP_WEBHOOK_SECRET: '' })).toBe(false);
    expect(verified('', sign('', ''), { AFTERSHIP_WEBHOOK_SECRET: '' })).toBe(false);
    expect(verified(FIXTURE, createHmac('sha256', SECRET).update(FIXTURE).digest('hex'))).toBe(false);
    expect(verified(FIXTURE, `hmac-sha256=${README_SIGNATURE}`)).toBe(false);
    // Returns/Warranty and Shipping sign under other headers; this endpoint is for Tracking
    expect(aftership.verify(request(FIXTURE, README_SIGNATURE, 'as-signature-hmac-sha256'), SECRETS, NOW)).toBe(false);
    expect(aftership.verify(request(FIXTURE, `hmac-sha256=${README_SIGNATURE}`, 'am-webhook-signature'), SECRETS, NOW)).toBe(false);
  });

  it('checks no age: ts is not signed, and AfterShip retries for days', () => {
    expect(aftership.verify(request(FIXTURE, README_SIGNATURE), SECRETS, new Date('2031-01-01T00:00:00Z'))).toBe(true);
  });

  it('always verifies a body signed with its own secret, never one signed with another', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.string({ minLength: 1, maxLength: 20 }), (bytes, other) => {
        const body = Buffer.from(bytes);
        expect(verified(body, sign(body))).toBe(true);
        if (other !== SECRET) expect(verified(body, sign(body, other))).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});

describe('aftership.describe', () => {
  it('reads nothing from the headers: event_id is in the body', () => {
    expect(aftership.describe(request(FIXTURE, README_SIGNATURE))).toEqual({ eventId: null, topic: '' });
  });
});

describe('aftership.normalize', () => {
  it('the fixture → one in_transit event for the USPS parcel, keyed by event_id, times in UTC', () => {
    expect(onlyEvent(normalizeText(FIXTURE.toString('utf8')))).toEqual({
      carrier: 'usps', // msg.slug, not 'aftership': the hub finds parcels by carrier + tracking code
      trackingCode: '9361289676091361892011',
      status: 'in_transit',
      statusDetail: 'Arrived at USPS Regional Facility',
      // checkpoint_time "2021-01-14T00:52:00" has no offset: when AfterShip recorded the scan stands in
      occurredAt: '2021-01-14T06:22:47.000Z',
      estimatedDelivery: '2021-01-16',
      publicUrl: 'https://tools.usps.com/go/TrackConfirmAction?tLabels=9361289676091361892011',
      eventId: '3f645f5e-530b-4062-8695-db6a64420af8',
    });
  });

  it('occurredAt: the latest checkpoint\'s own time when it carries an offset, in UTC', () => {
    const list = checkpoints();
    list[2] = { ...list[2], checkpoint_time: '2021-01-14T00:52:00-05:00' };
    expect(onlyEvent(normalized(eventWith({ checkpoints: list }))).occurredAt).toBe('2021-01-14T05:52:00.000Z');
  });

  it.each<[string, string | null, TrackingStatus]>([
    ['Pending', null, 'pre_transit'],
    ['InfoReceived', 'InfoReceived_001', 'pre_transit'],
    ['InTransit', 'InTransit_007', 'in_transit'],
    ['OutForDelivery', 'OutForDelivery_001', 'out_for_delivery'],
    ['AvailableForPickup', 'AvailableForPickup_001', 'out_for_delivery'],
    ['Delivered', 'Delivered_001', 'delivered'],
    ['AttemptFail', 'AttemptFail_001', 'failed_attempt'],
    ['Exception', 'Exception_001', 'exception'],
    ['Exception', 'Exception_004', 'exception'], // "Delayed (Customs clearance)", not a return
    ['Exception', 'Exception_010', 'returned_to_sender'], // "Returning to sender"
    ['Exception', 'Exception_011', 'returned_to_sender'], // "Returned to sender"
    ['Exception', null, 'exception'],
    ['Expired', 'Expired_001', 'exception'],
    ['ATagAddedLater', null, 'unknown'],
  ])('tag %s (subtag %s) → %s', (tag, subtag, status) => {
    const event = onlyEvent(normalized(eventWith({ tag, subtag, subtag_message: `${tag} message`, checkpoints: [] })));
    expect(event.status).toBe(status);
    expect(event.statusDetail).toBe(`${tag} message`);
  });

  it('a returned-to-sender subtag on another tag is that tag', () => {
    expect(onlyEvent(normalized(eventWith({ tag: 'InTransit', subtag: 'Exception_011' }))).status).toBe('in_transit');
  });

  it('checkpoints absent, null, empty or unreadable: the Tracking\'s updated_at and subtag message', () => {
    const withoutCheckpoints = tracking();
    delete withoutCheckpoints.checkpoints;
    for (const event of [
      { ...fixture(), msg: withoutCheckpoints },
      eventWith({ checkpoints: null }),
      eventWith({ checkpoints: [] }),
      eventWith({ checkpoints: 'none' }),
      eventWith({ checkpoints: [...checkpoints(), 'not a checkpoint'] }),
      eventWith({ checkpoints: [{ ...checkpoints()[2], checkpoint_time: '14/01/2021', created_at: null }] }),
    ]) {
      const result = onlyEvent(normalized(event));
      expect(result.occurredAt).toBe('2021-01-14T06:22:47.000Z');
      expect(result.statusDetail).toBe('Arrival scan');
      expect(result.status).toBe('in_transit');
    }
  });

  it('a tag no checkpoint reports (Expired) takes its time and words from the Tracking, not an older scan', () => {
    const event = onlyEvent(normalized(eventWith({ tag: 'Expired', subtag: 'Expired_001', subtag_message: 'Expired', updated_at: '2021-02-13T06:22:47+00:00' })));
    expect(event).toMatchObject({ status: 'exception', statusDetail: 'Expired', occurredAt: '2021-02-13T06:22:47.000Z' });
  });

  it('without checkpoints or updated_at: ts, when the event occurred', () => {
    expect(onlyEvent(normalized(eventWith({ checkpoints: [], updated_at: null }))).occurredAt).toBe('2021-01-14T06:22:47.000Z');
    expect(onlyEvent(normalized(eventWith({ checkpoints: [], updated_at: 'yesterday' }, { ts: 1_610_600_000 }))).occurredAt).toBe('2021-01-14T04:53:20.000Z');
  });

  it('refuses, naming the place, when nothing gives a time', () => {
    expect(normalized(eventWith({ checkpoints: [], updated_at: null }, { ts: null }))).toEqual({
      ok: false,
      problems: [{ path: '/msg/updated_at', message: 'is required when no checkpoint gives the time and `ts` is not a time in unix seconds' }],
    });
    expect(normalized(eventWith({ checkpoints: [], updated_at: '2021-01-14T06:22:47' }, { ts: -1 }))).toMatchObject({
      ok: false,
      problems: [{ path: '/msg/updated_at' }],
    });
  });

  it('carrier: the slug, lower-cased', () => {
    expect(onlyEvent(normalized(eventWith({ slug: 'DHL' }))).carrier).toBe('dhl');
    expect(onlyEvent(normalized(eventWith({ slug: 'ups' }))).carrier).toBe('ups');
  });

  it('estimatedDelivery: the latest estimate first, then the courier\'s, then AfterShip\'s; null when none is usable', () => {
    expect(onlyEvent(normalized(eventWith({ latest_estimated_delivery: { type: 'specific', source: 'Carrier EDD', datetime: '2021-01-17T12:00:00-05:00', datetime_min: null, datetime_max: null } }))).estimatedDelivery).toBe('2021-01-17');
    expect(onlyEvent(normalized(eventWith({ expected_delivery: null }))).estimatedDelivery).toBe('2021-01-16'); // AfterShip's own
    expect(onlyEvent(normalized(eventWith({ expected_delivery: null, courier_estimated_delivery_date: { estimated_delivery_date: '2021-01-15' } }))).estimatedDelivery).toBe('2021-01-15');
    expect(onlyEvent(normalized(eventWith({ expected_delivery: '2021-01-18T00:00:00' }))).estimatedDelivery).toBe('2021-01-18');
    expect(onlyEvent(normalized(eventWith({ expected_delivery: '2021-02-30', aftership_estimated_delivery_date: null }))).estimatedDelivery).toBeNull();
  });

  it('publicUrl: the courier\'s page, else AfterShip\'s; only http(s) addresses', () => {
    expect(onlyEvent(normalized(eventWith({ courier_tracking_link: null, aftership_tracking_url: 'https://track.aftership.com/usps/1' }))).publicUrl).toBe('https://track.aftership.com/usps/1');
    expect(onlyEvent(normalized(eventWith({ courier_tracking_link: 'javascript:alert(1)' }))).publicUrl).toBeNull();
  });

  it.each(['edd_revise', 'tracking_pending_time', 'return.approved', 'TRACKING_UPDATE'])('%s is stored and acknowledged, not recorded: ignore', (code) => {
    expect(normalized({ ...fixture(), event: code })).toMatchObject({ ok: false, ignore: true, problems: [{ path: '/event' }] });
  });

  it('refuses (not ignores) an event without an event code', () => {
    const rest = fixture();
    delete rest.event;
    expect(normalized(rest)).toEqual({ ok: false, problems: [{ path: '/event', message: 'is required' }] });
  });

  it('refuses a tracking update missing what places it, naming every place', () => {
    expect(normalized(eventWith({ tracking_number: '', slug: null, tag: 5 }, { event_id: null }))).toEqual({
      ok: false,
      problems: [
        { path: '/event_id', message: 'is required' },
        { path: '/msg/tracking_number', message: 'must not be blank' },
        { path: '/msg/slug', message: 'is required' },
        { path: '/msg/tag', message: 'must be a string' },
      ],
    });
    expect(normalized({ ...fixture(), msg: [] })).toEqual({ ok: false, problems: [{ path: '/msg', message: 'must be a JSON object' }] });
  });

  it('never throws on any JSON, and what it accepts is sound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (body) => {
        expectSound(aftership.normalize(body, { eventId: null, topic: '' }));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated events, and every event stays sound', () => {
    const events = [
      fixture(),
      eventWith({ tag: 'Delivered', subtag: 'Delivered_001', checkpoints: [...checkpoints(), { ...checkpoints()[2], tag: 'Delivered', checkpoint_time: '2021-01-15T10:00:00+00:00' }] }),
      eventWith({ tag: 'Exception', subtag: 'Exception_011', checkpoints: [] }),
    ];
    const oddValues = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(
        '', ' ', null, [], {}, -1, 1.5, 2 ** 53, 253_402_300_800, '123456789012345678901', '__proto__', 'tracking_update', 'Exception', 'Exception_011',
        '2021-01-14T00:52:00+14:00', '0000-01-01T00:00:00+01:00', '9999-12-31T23:59:59-01:00', '2021-02-30T00:00:00Z', 'javascript:alert(1)',
      ),
    );
    fc.assert(
      fc.property(fc.constantFrom(...events), fc.nat(), oddValues, (event, pick, value) => {
        const paths = keyPaths(event);
        expectSound(aftership.normalize(replaced(event, paths[pick % paths.length]!, value), { eventId: null, topic: '' }));
      }),
      { numRuns: 1500 },
    );
  });
});
