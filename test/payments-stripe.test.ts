import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { stripe } from '../connectors/payments/stripe.ts';
import type { PaymentEvent, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundRequest } from '../connectors/types.ts';
import { parseJsonLossless } from '../core/json.ts';
import { keyPaths, replaced } from './support/normalize.ts';
import { expectSoundEntries as expectSound } from './support/payments.ts';

// The official pieces (see test/fixtures/stripe/README.md): an event envelope from the API
// reference and stripe-mock's PaymentIntent, Charge and Refund. No complete payment event is
// published, so the events below are OUR construction: a fixture object put into the
// envelope's `data.object`, its contradictory stripe-mock values set to agree with the event
// type, signed with the official SDK's test helper.

type Json = Record<string, unknown>;

const fixtureBytes = (name: string): Buffer => readFileSync(new URL(`./fixtures/stripe/${name}`, import.meta.url));
const fixture = (name: string): Json => JSON.parse(fixtureBytes(name).toString('utf8')) as Json;

const sdk = new Stripe('sk_test_x');
const SECRET = 'whsec_test_secret';
const T = 1_700_000_000;
const PI = 'pi_1PgafyB7WZ01zgkWSjxsAJo3';
const CHARGE = 'ch_1PgafuB7WZ01zgkWXYmPNZs8';
const ORDER_MATCH = { externalOrderId: '4711', orderNumber: 'HUB-20261124-00000042', orderId: '9d0c2b7e-3f4a-4c61-9a8e-0d7b2f1c5e11' };
const METADATA = { order_id: '4711', order_number: 'HUB-20261124-00000042', hub_order_id: '9d0c2b7e-3f4a-4c61-9a8e-0d7b2f1c5e11' };
const iso = (seconds: number): string => new Date(seconds * 1000).toISOString();

// ---------------------------------------------------------------------------------------------
// Events (our construction) and requests signed by the SDK.

/** The API reference's event envelope around `object`, as Stripe would send it (pretty JSON). */
function eventText(type: string, object: Json, fields: Json = {}): string {
  const envelope = fixture('event.docs-example.setup_intent.created.json');
  const event = { ...envelope, id: 'evt_1NG8Du2eZvKYlo2CUI79vXWy', created: T, type, data: { object }, ...fields };
  return `${JSON.stringify(event, null, 2)}\n`;
}

/** stripe-mock's PaymentIntent with the order's metadata and none of its contradictions. */
function paymentIntent(fields: Json): Json {
  return {
    ...fixture('payment_intent.openapi-fixture.json'),
    canceled_at: null,
    last_payment_error: null,
    next_action: null,
    processing: null,
    metadata: METADATA,
    ...fields,
  };
}

const succeededIntent = (fields: Json = {}): Json =>
  paymentIntent({ status: 'succeeded', amount_received: 1099, latest_charge: CHARGE, ...fields });

const DECLINE = {
  type: 'card_error',
  code: 'card_declined',
  decline_code: 'insufficient_funds',
  message: 'Your card has insufficient funds.',
  charge: 'ch_3DeclinedAttempt1',
};

/** stripe-mock's Refund, of `amount` at `created`, belonging to the charge. */
const refund = (id: string, amount: number, created: number, fields: Json = {}): Json => ({
  ...fixture('refund.openapi-fixture.json'),
  id,
  amount,
  created,
  charge: CHARGE,
  payment_intent: PI,
  ...fields,
});

/** stripe-mock's Charge, captured for the PaymentIntent, with `refunds` listed (older API versions). */
function refundedCharge(refunds: Json[], fields: Json = {}): Json {
  const charge = fixture('charge.openapi-fixture.json');
  const refunded = refunds.reduce((sum, r) => sum + (r.amount as number), 0);
  const details = charge.payment_method_details as Json;
  return {
    ...charge,
    amount: 1099,
    amount_captured: 1099,
    captured: true,
    amount_refunded: refunded,
    refunded: refunded === 1099,
    payment_intent: PI,
    metadata: { order_id: '4711' },
    payment_method_details: { ...details, card: { ...(details.card as Json), wallet: null } },
    refunds: { ...(charge.refunds as Json), data: refunds },
    ...fields,
  };
}

/** A Dispute as the API reference describes it (there is no fixture for one). */
const dispute = (fields: Json = {}): Json => ({
  id: 'dp_1PgbAdB7WZ01zgkWd0wnR4x1',
  object: 'dispute',
  amount: 1099,
  balance_transactions: [],
  charge: CHARGE,
  created: T - 60,
  currency: 'usd',
  evidence_details: { due_by: T + 7 * 86_400, has_evidence: false, past_due: false, submission_count: 0 },
  is_charge_refundable: false,
  livemode: false,
  metadata: {},
  payment_intent: PI,
  reason: 'fraudulent',
  status: 'needs_response',
  ...fields,
});

function signedRequest(payload: string, { secret = SECRET, timestamp = T } = {}): InboundRequest {
  const header = sdk.webhooks.generateTestHeaderString({ payload, secret, timestamp });
  return { rawBody: Buffer.from(payload, 'utf8'), headers: { 'stripe-signature': header, 'content-type': 'application/json' } };
}

const verifyAt = (request: InboundRequest, nowSeconds: number, secret = SECRET): boolean =>
  stripe.verify(request, { STRIPE_WEBHOOK_SECRET: secret }, new Date(nowSeconds * 1000));

/** What stripe-node's `constructEvent` (tolerance 300 s, received at `nowSeconds`) makes of the request. */
function sdkAccepts(request: InboundRequest, nowSeconds: number, secret = SECRET): boolean {
  try {
    sdk.webhooks.constructEvent(request.rawBody, request.headers['stripe-signature'] ?? '', secret, 300, undefined, nowSeconds * 1000);
    return true;
  } catch {
    return false;
  }
}

const withHeader = (request: InboundRequest, header: string): InboundRequest => ({ ...request, headers: { ...request.headers, 'stripe-signature': header } });

/** Normalizes the body the way the hub hands it over: the raw bytes, parsed losslessly. */
function normalized(text: string): PaymentNormalizeResult {
  const request: InboundRequest = { rawBody: Buffer.from(text, 'utf8'), headers: {} };
  return stripe.normalize(parseJsonLossless(request.rawBody.toString('utf8')), stripe.describe(request));
}

function entries(text: string): PaymentEvent[] {
  const result = normalized(text);
  if (!result.ok) throw new Error(`expected entries, got ${JSON.stringify(result)}`);
  expectSoundEntries(result);
  return result.events;
}

function ignored(text: string): string[] {
  const result = normalized(text);
  if (result.ok || result.ignore !== true) throw new Error(`expected the event to be ignored, got ${JSON.stringify(result)}`);
  return result.problems.map((p) => p.message);
}

function refused(text: string): string[] {
  const result = normalized(text);
  if (result.ok || result.ignore === true) throw new Error(`expected problems, got ${JSON.stringify(result)}`);
  return result.problems.map((p) => p.path);
}

/** What every payment normalizer promises, whatever it is fed (test/support/payments.ts). */
const expectSoundEntries = (result: PaymentNormalizeResult): void => expectSound(result, 'stripe');

// ---------------------------------------------------------------------------------------------

describe('stripe.verify', () => {
  const body = eventText('payment_intent.succeeded', succeededIntent());
  const request = signedRequest(body);

  it('accepts the README example: the docs event, byte for byte, signed at 1700000000', () => {
    const raw = fixtureBytes('event.docs-example.setup_intent.created.json');
    const published = 't=1700000000,v1=b100cf09214e052e9a2c9cb0f3cb912df7723100477e6b49d8a1a3f31d962989';
    expect(sdk.webhooks.generateTestHeaderString({ payload: raw.toString('utf8'), secret: SECRET, timestamp: T })).toBe(published);
    const docsRequest = { rawBody: raw, headers: { 'stripe-signature': published } };
    expect(verifyAt(docsRequest, T)).toBe(true);
    // five minutes and one second later it is stale, for the SDK as for us
    expect(verifyAt(docsRequest, T + 301)).toBe(false);
    expect(sdkAccepts(docsRequest, T + 301)).toBe(false);
  });

  it('accepts what the SDK signs, up to 300 s old', () => {
    expect(verifyAt(request, T)).toBe(true);
    expect(verifyAt(request, T + 300)).toBe(true);
  });

  it('refuses a signature 301 s old', () => {
    expect(verifyAt(request, T + 301)).toBe(false);
  });

  it('refuses a timestamp more than 300 s in the future, which stripe-node would take (it checks the age only)', () => {
    expect(verifyAt(request, T - 300)).toBe(true);
    expect(verifyAt(request, T - 301)).toBe(false);
    expect(verifyAt(request, T - 3600)).toBe(false);
    expect(sdkAccepts(request, T - 3600)).toBe(true);
  });

  it('refuses a tampered body, a tampered signature and the wrong secret', () => {
    const tampered = { ...request, rawBody: Buffer.from(body.replace('"amount_received": 1099', '"amount_received": 9999'), 'utf8') };
    expect(tampered.rawBody.equals(request.rawBody)).toBe(false);
    expect(verifyAt(tampered, T)).toBe(false);
    const header = request.headers['stripe-signature']!;
    const flipped = header.replace(/v1=(.)/, (_m, c: string) => `v1=${c === '0' ? '1' : '0'}`);
    expect(verifyAt(withHeader(request, flipped), T)).toBe(false);
    expect(verifyAt(request, T, 'whsec_other')).toBe(false);
  });

  it('accepts either secret while one is rotated (two v1)', () => {
    const oldSecret = 'whsec_old_secret';
    const oldHeader = signedRequest(body, { secret: oldSecret }).headers['stripe-signature']!;
    const newHeader = request.headers['stripe-signature']!;
    const both = `${oldHeader},${newHeader.split(',')[1]!}`;
    expect(both).toMatch(/^t=\d+,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(verifyAt(withHeader(request, both), T, SECRET)).toBe(true);
    expect(verifyAt(withHeader(request, both), T, oldSecret)).toBe(true);
    expect(verifyAt(withHeader(request, both), T, 'whsec_third')).toBe(false);
  });

  it('refuses a missing header, an empty secret, a v0-only header and malformed timestamps', () => {
    expect(verifyAt({ ...request, headers: {} }, T)).toBe(false);
    expect(verifyAt(request, T, '')).toBe(false);
    expect(stripe.verify(request, {}, new Date(T * 1000))).toBe(false);
    const v1 = request.headers['stripe-signature']!.split(',')[1]!;
    expect(verifyAt(withHeader(request, `t=${T},v0=${v1.slice(3)}`), T)).toBe(false);
    expect(verifyAt(withHeader(request, v1), T)).toBe(false);
    expect(verifyAt(withHeader(request, `t=${T},t=${T},${v1}`), T)).toBe(false);
    expect(verifyAt(withHeader(request, `t=0${T},${v1}`), T)).toBe(false);
    expect(verifyAt(request, Number.NaN)).toBe(false);
  });

  it('signs the raw bytes: the HMAC is over `${t}.` and the body as received', () => {
    const manual = createHmac('sha256', SECRET).update(`${T}.${body}`).digest('hex');
    expect(request.headers['stripe-signature']).toBe(`t=${T},v1=${manual}`);
  });

  it('agrees with stripe-node constructEvent on fresh, stale, tampered and rotated cases', () => {
    const header = request.headers['stripe-signature']!;
    const oldHeader = signedRequest(body, { secret: 'whsec_old' }).headers['stripe-signature']!;
    const cases: [string, InboundRequest, number, string][] = [
      ['fresh', request, T, SECRET],
      ['300 s old', request, T + 300, SECRET],
      ['301 s old', request, T + 301, SECRET],
      ['a day old', request, T + 86_400, SECRET],
      ['body tampered', { ...request, rawBody: Buffer.from(body.replace('usd', 'eur')) }, T, SECRET],
      ['body with a trailing space', { ...request, rawBody: Buffer.from(`${body} `) }, T, SECRET],
      ['signature tampered', withHeader(request, header.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a'))), T, SECRET],
      ['timestamp tampered', withHeader(request, header.replace(`t=${T}`, `t=${T + 1}`)), T, SECRET],
      ['wrong secret', request, T, 'whsec_wrong'],
      ['rotation, old secret', withHeader(request, `${oldHeader},${header.split(',')[1]!}`), T, 'whsec_old'],
      ['rotation, new secret', withHeader(request, `${oldHeader},${header.split(',')[1]!}`), T, SECRET],
      ['rotation, stale', withHeader(request, `${oldHeader},${header.split(',')[1]!}`), T + 301, SECRET],
      ['no v1', withHeader(request, `t=${T}`), T, SECRET],
      ['no t', withHeader(request, header.split(',')[1]!), T, SECRET],
    ];
    const outcomes = cases.map(([name, r, now, secret]) => [name, verifyAt(r, now, secret), sdkAccepts(r, now, secret)]);
    for (const [name, ours, theirs] of outcomes) expect(ours, String(name)).toBe(theirs);
    expect(outcomes.filter(([, ours]) => ours).map(([name]) => name)).toEqual([
      'fresh', '300 s old', 'rotation, old secret', 'rotation, new secret',
    ]);
  });

  it('agrees with stripe-node on generated bodies, clocks and tampering', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 3 }).map((value) => JSON.stringify(value) ?? 'null'),
        fc.integer({ min: -1000, max: 1000 }),
        fc.constantFrom('none', 'body', 'signature', 'secret', 'rotated'),
        (payload, age, tamper) => {
          let signed = signedRequest(payload);
          let secret = SECRET;
          if (tamper === 'body') signed = { ...signed, rawBody: Buffer.from(`${payload} `) };
          if (tamper === 'signature') signed = withHeader(signed, signed.headers['stripe-signature']!.replace(/v1=../, 'v1=zz'));
          if (tamper === 'secret') secret = 'whsec_someone_else';
          if (tamper === 'rotated') signed = withHeader(signed, `${signedRequest(payload, { secret: 'whsec_old' }).headers['stripe-signature']!},${signed.headers['stripe-signature']!.split(',')[1]!}`);
          // Where they part: more than 300 s ahead, which the hub refuses and the SDK takes.
          expect(verifyAt(signed, T + age, secret)).toBe(sdkAccepts(signed, T + age, secret) && age >= -300);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('stripe.describe', () => {
  it('reads nothing from the headers: Stripe sends no event id there', () => {
    const request = signedRequest(eventText('payment_intent.succeeded', succeededIntent()));
    expect(stripe.describe(request)).toEqual({ eventId: null, topic: '' });
    expect(stripe.secretNames).toEqual(['STRIPE_WEBHOOK_SECRET']);
    expect(stripe.acknowledgement).toBeNull();
  });
});

describe('stripe.normalize', () => {
  it('payment_intent.succeeded → captured, amount_received, matched by metadata', () => {
    expect(entries(eventText('payment_intent.succeeded', succeededIntent()))).toEqual([
      {
        provider: 'stripe',
        account: null,
        entryId: `${PI}:captured`,
        paymentId: PI,
        kind: 'captured',
        amount: 1099,
        currency: 'USD',
        occurredAt: iso(T),
        method: 'card',
        match: ORDER_MATCH,
      },
    ]);
  });

  it('captured is amount_received, not amount, after a partial capture', () => {
    const [entry] = entries(eventText('payment_intent.succeeded', succeededIntent({ capture_method: 'manual', amount_received: 800 })));
    expect(entry?.amount).toBe(800);
  });

  it('payment_intent.amount_capturable_updated → authorized, amount_capturable', () => {
    const intent = paymentIntent({ status: 'requires_capture', capture_method: 'manual', amount_capturable: 1099, latest_charge: CHARGE });
    expect(entries(eventText('payment_intent.amount_capturable_updated', intent))).toMatchObject([
      { entryId: `${PI}:authorized`, paymentId: PI, kind: 'authorized', amount: 1099, currency: 'USD' },
    ]);
    // nothing left to capture is not an authorization
    ignored(eventText('payment_intent.amount_capturable_updated', { ...intent, status: 'succeeded', amount_capturable: 0 }));
  });

  it('payment_intent.payment_failed → failed with last_payment_error.message, one entry per attempt', () => {
    const intent = paymentIntent({ status: 'requires_payment_method', last_payment_error: DECLINE, latest_charge: DECLINE.charge });
    const [entry] = entries(eventText('payment_intent.payment_failed', intent));
    expect(entry).toMatchObject({
      entryId: `${PI}:failed:${DECLINE.charge}`,
      kind: 'failed',
      amount: 1099,
      failureReason: 'Your card has insufficient funds.',
      match: ORDER_MATCH,
    });
    const second = { ...intent, last_payment_error: { ...DECLINE, charge: 'ch_3DeclinedAttempt2' }, latest_charge: 'ch_3DeclinedAttempt2' };
    expect(entries(eventText('payment_intent.payment_failed', second))[0]?.entryId).toBe(`${PI}:failed:ch_3DeclinedAttempt2`);
    // no charge at all (a failed 3-D Secure authentication): the event names the attempt
    const unauthenticated = { ...intent, latest_charge: null, last_payment_error: { type: 'invalid_request_error', code: 'payment_intent_authentication_failure', message: 'We are unable to authenticate your payment method.' } };
    expect(entries(eventText('payment_intent.payment_failed', unauthenticated, { id: 'evt_3DS' }))[0]).toMatchObject({
      entryId: `${PI}:failed:evt_3DS`,
      failureReason: 'We are unable to authenticate your payment method.',
    });
  });

  it('payment_intent.canceled → voided; cancelled before any charge, nothing to void', () => {
    const intent = paymentIntent({ status: 'canceled', canceled_at: T, cancellation_reason: 'requested_by_customer', latest_charge: CHARGE });
    expect(entries(eventText('payment_intent.canceled', intent))).toMatchObject([
      { entryId: `${PI}:voided`, paymentId: PI, kind: 'voided', amount: 1099, currency: 'USD' },
    ]);
    ignored(eventText('payment_intent.canceled', { ...intent, latest_charge: null, cancellation_reason: 'abandoned' }));
  });

  it('charge.refunded → one refunded entry per refund, with its own id, amount and time', () => {
    const refunds = [refund('re_second', 300, T - 10), refund('re_1Pgc72B7WZ01zgkWqPvrRrPE', 500, T - 3600)];
    expect(entries(eventText('charge.refunded', refundedCharge(refunds)))).toEqual([
      { provider: 'stripe', account: null, entryId: 're_second', paymentId: PI, kind: 'refunded', amount: 300, currency: 'USD', occurredAt: iso(T - 10), method: 'card', match: { externalOrderId: '4711' } },
      { provider: 'stripe', account: null, entryId: 're_1Pgc72B7WZ01zgkWqPvrRrPE', paymentId: PI, kind: 'refunded', amount: 500, currency: 'USD', occurredAt: iso(T - 3600), method: 'card', match: { externalOrderId: '4711' } },
    ]);
  });

  it('a refund reported by two charge.refunded events gives the same entry both times', () => {
    const first = refund('re_1Pgc72B7WZ01zgkWqPvrRrPE', 500, T - 3600);
    const earlier = entries(eventText('charge.refunded', refundedCharge([first]), { id: 'evt_A', created: T - 3600 }));
    const later = entries(eventText('charge.refunded', refundedCharge([refund('re_second', 300, T - 10), first]), { id: 'evt_B' }));
    expect(later.map((e) => e.entryId)).toEqual(['re_second', 're_1Pgc72B7WZ01zgkWqPvrRrPE']);
    expect(later[1]).toEqual(earlier[0]);
  });

  it('skips refunds that failed or were cancelled', () => {
    const refunds = [refund('re_failed', 300, T, { status: 'failed' }), refund('re_ok', 500, T - 60)];
    expect(entries(eventText('charge.refunded', refundedCharge(refunds))).map((e) => e.entryId)).toEqual(['re_ok']);
  });

  it('without a refunds list (API ≥ 2022-11-15): one cumulative entry per charge, the running total', () => {
    const charge = refundedCharge([], { amount_refunded: 800, refunded: false });
    delete charge.refunds;
    expect(entries(eventText('charge.refunded', charge, { api_version: '2024-06-20' }))).toMatchObject([
      { entryId: `${CHARGE}:refunded`, paymentId: PI, kind: 'refunded', amount: 800, cumulative: true },
    ]);
    // a later refund reports the new total under the same entry; the ledger keeps the largest
    const later = refundedCharge([], { amount_refunded: 1099, refunded: true });
    delete later.refunds;
    expect(entries(eventText('charge.refunded', later, { api_version: '2024-06-20' }))).toMatchObject([{ entryId: `${CHARGE}:refunded`, amount: 1099, cumulative: true }]);
  });

  it('a refund on a charge never captured is a released authorization (voided elsewhere), not a refund', () => {
    ignored(eventText('charge.refunded', refundedCharge([refund('re_release', 1099, T)], { captured: false, amount_captured: 0 })));
  });

  it('a charge without a PaymentIntent is its own payment', () => {
    const [entry] = entries(eventText('charge.refunded', refundedCharge([refund('re_x', 100, T)], { payment_intent: null })));
    expect(entry?.paymentId).toBe(CHARGE);
  });

  it('charge.dispute.created → disputed, keyed by the dispute', () => {
    expect(entries(eventText('charge.dispute.created', dispute()))).toEqual([
      { provider: 'stripe', account: null, entryId: 'dp_1PgbAdB7WZ01zgkWd0wnR4x1', paymentId: PI, kind: 'disputed', amount: 1099, currency: 'USD', occurredAt: iso(T - 60), method: 'card', match: {} },
    ]);
  });

  it('JPY is zero-decimal: the amount is yen, unscaled', () => {
    const [entry] = entries(eventText('payment_intent.succeeded', succeededIntent({ currency: 'jpy', amount: 5000, amount_received: 5000 })));
    expect(entry).toMatchObject({ amount: 5000, currency: 'JPY' });
  });

  it('Connect: the event account is the entry account', () => {
    const [entry] = entries(eventText('payment_intent.succeeded', succeededIntent(), { account: 'acct_1Connected' }));
    expect(entry?.account).toBe('acct_1Connected');
  });

  it('method: a wallet when the PaymentIntent allows only wallets, or the charge used one', () => {
    const method = (text: string) => entries(text)[0]?.method;
    expect(method(eventText('payment_intent.succeeded', succeededIntent({ payment_method_types: ['link'] })))).toBe('wallet');
    expect(method(eventText('payment_intent.succeeded', succeededIntent({ payment_method_types: ['card', 'link'] })))).toBe('card');
    expect(method(eventText('payment_intent.succeeded', succeededIntent({ payment_method_types: ['sepa_debit'] })))).toBe('bank_transfer');
    // stripe-mock's charge as it comes: a card with `wallet.type: "link"`
    const { payment_method_details: fixtureDetails } = fixture('charge.openapi-fixture.json');
    expect(method(eventText('charge.refunded', refundedCharge([refund('re_w', 100, T)], { payment_method_details: fixtureDetails })))).toBe('wallet');
  });

  it('other event types are stored and acknowledged, not recorded: ignore', () => {
    expect(ignored(fixtureBytes('event.docs-example.setup_intent.created.json').toString('utf8'))[0]).toMatch(/setup_intent\.created/);
    ignored(fixtureBytes('event.openapi-fixture.json').toString('utf8'));
    ignored(eventText('charge.succeeded', refundedCharge([])));
  });

  it('refuses (not ignores) a recorded type whose object is broken, naming each place', () => {
    expect(refused(eventText('payment_intent.succeeded', succeededIntent({ amount_received: '1099', currency: 'dollars' })))).toEqual([
      '/data/object/amount_received',
      '/data/object/currency',
    ]);
    expect(refused('{"type":"payment_intent.succeeded","id":"evt_1","created":1700000000}')).toEqual(['/data/object']);
    expect(refused(eventText('payment_intent.succeeded', { ...succeededIntent(), object: 'charge' }))).toEqual(['/data/object/object']);
    // beyond 2^53 the lossless parser keeps the digits as a string: refused, never rounded
    expect(refused(eventText('payment_intent.succeeded', succeededIntent()).replace('"amount_received": 1099', '"amount_received": 123456789012345678901'))).toEqual([
      '/data/object/amount_received',
    ]);
    expect(refused('[]')).toEqual(['/']);
    expect(refused('{"type":""}')).toEqual(['/type']);
  });

  const events = [
    eventText('payment_intent.succeeded', succeededIntent()),
    eventText('payment_intent.amount_capturable_updated', paymentIntent({ status: 'requires_capture', amount_capturable: 1099 })),
    eventText('payment_intent.payment_failed', paymentIntent({ last_payment_error: DECLINE })),
    eventText('payment_intent.canceled', paymentIntent({ status: 'canceled', latest_charge: CHARGE })),
    eventText('charge.refunded', refundedCharge([refund('re_a', 300, T), refund('re_b', 200, T)])),
    eventText('charge.dispute.created', dispute()),
  ].map((text) => parseJsonLossless(text));

  it('never throws on any JSON, and what it accepts is sound', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 5 }), (body) => {
        expectSoundEntries(stripe.normalize(body, { eventId: null, topic: '' }));
      }),
      { numRuns: 500 },
    );
  });

  it('never throws on mutated events, and every entry stays sound', () => {
    const oddValues = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom(-1, 1.5, Number.MAX_SAFE_INTEGER, 2 ** 53, '123456789012345678901', '', '__proto__', 'payment_intent.succeeded', 'charge.refunded', null, [], {}),
    );
    fc.assert(
      fc.property(fc.constantFrom(...events), fc.nat(), oddValues, (event, pick, value) => {
        const paths = keyPaths(event);
        const mutated = replaced(event, paths[pick % paths.length]!, value);
        expectSoundEntries(stripe.normalize(mutated, { eventId: null, topic: '' }));
      }),
      { numRuns: 1500 },
    );
  });
});
