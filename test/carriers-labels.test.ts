// Return labels through EasyPost against a loopback imitation of its shipments API: the
// assertions are on shipments created and labels actually bought, so a retry that bought
// twice fails here however the client reported it.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { chooseRate, declaredOunces, rateInMinorUnits } from '../connectors/carriers/easypost-labels.ts';
import {
  createEasyPostLabelClient,
  returnLabelClientFor,
  type EasyPostLabelClientOptions,
  type ReturnLabelRequest,
  type ReturnLabelResult,
} from '../connectors/carriers/labels.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { EASYPOST_STUB_KEY, startEasyPostStub, type EasyPostStub, type EasyPostStubOptions } from './support/easypost-stub.ts';

let stub: EasyPostStub | null = null;
afterEach(async () => {
  await stub?.close();
  stub = null;
});

async function easypost(options: EasyPostStubOptions = {}): Promise<EasyPostStub> {
  stub = await startEasyPostStub(options);
  return stub;
}

/** The waits a client asked for, taken at once so the tests do not sleep through backoffs. */
function recordingSleep(): { sleep: (ms: number) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms) };
}

function client(at: EasyPostStub, options: Partial<EasyPostLabelClientOptions> = {}) {
  return createEasyPostLabelClient({ baseUrl: at.url, apiKey: EASYPOST_STUB_KEY, timeoutMs: 2_000, backoffMs: 10, sleep: recordingSleep().sleep, ...options });
}

function labelRequest(overrides: Partial<ReturnLabelRequest> = {}): ReturnLabelRequest {
  return {
    rmaId: 'RMA-1001-1',
    carrier: 'ups',
    from: {
      name: 'Ada Lovelace', line1: '12 Analytical Way', line2: 'Apt 3', city: 'Springfield', region: 'IL', postalCode: '62701',
      country: 'us', phone: '+12175550100', email: 'ada@example.com',
    },
    to: { name: 'Order Hub Returns', line1: '400 Dock Rd', city: 'Newark', region: 'NJ', postalCode: '07114', country: 'US', phone: null },
    weightGrams: 1_000,
    ...overrides,
  };
}

function failed(result: ReturnLabelResult): ReturnLabelResult & { ok: false } {
  if (result.ok) throw new Error(`expected a failure, got label ${result.trackingCode}`);
  return result;
}

function succeeded(result: ReturnLabelResult): ReturnLabelResult & { ok: true } {
  if (!result.ok) throw new Error(`expected a label, got: ${result.message}`);
  return result;
}

const lines = (at: EasyPostStub) => at.requests.map((r) => `${r.method} ${r.path} ${r.status}`);

describe('a return label bought through EasyPost', () => {
  it('creates the return shipment as EasyPost documents it, buys the cheapest rate of the carrier, and answers the label', async () => {
    const at = await easypost();
    const result = succeeded(await client(at).createReturnLabel(labelRequest()));

    const shipment = at.shipments[0]!;
    expect(lines(at)).toEqual(['GET /v2/shipments/RMA-1001-1 404', 'POST /v2/shipments 201', `POST /v2/shipments/${String(shipment.id)}/buy 200`]);
    for (const sent of at.requests) expect(sent.authorization).toBe(`Basic ${Buffer.from(`${EASYPOST_STUB_KEY}:`).toString('base64')}`);

    const create = at.requests[1]!;
    expect(create.contentType).toBe('application/json');
    // A return takes the outbound addresses and EasyPost swaps them: to = the customer, from = the warehouse.
    expect(create.json).toEqual({
      shipment: {
        reference: 'RMA-1001-1',
        is_return: true,
        to_address: { name: 'Ada Lovelace', street1: '12 Analytical Way', street2: 'Apt 3', city: 'Springfield', state: 'IL', zip: '62701', country: 'US', phone: '+12175550100', email: 'ada@example.com' },
        from_address: { name: 'Order Hub Returns', street1: '400 Dock Rd', city: 'Newark', state: 'NJ', zip: '07114', country: 'US' },
        // 1000 g = 35.27… oz, declared as 35.3: rounded up, never under
        parcel: { weight: 35.3 },
      },
    });
    // UPS Ground (11.21) is the cheapest of UPS Ground, 3DaySelect and 2ndDayAir; the cheaper USPS and FedEx rates are other carriers'.
    const ground = (shipment.rates as { id: string; carrier: string; service: string }[]).find((r) => r.carrier === 'UPS' && r.service === 'Ground');
    expect(at.requests[2]!.json).toEqual({ rate: { id: ground!.id } });

    expect(at.purchases).toEqual([{ shipmentId: shipment.id, rateId: ground!.id }]);
    expect(result).toEqual({
      ok: true, carrier: 'UPS', trackingCode: shipment.tracking_code, labelUrl: (shipment.postage_label as { label_url: string }).label_url,
      rate: { amount: 1121, currency: 'USD' }, shipmentId: shipment.id,
    });
    expect(result.labelUrl).toMatch(/^https:\/\//);
  });

  it('buys the service asked for: through the configured service names, or by a loose match of the name', async () => {
    const at = await easypost();
    const labels = client(at, { carriers: { ups: { carrier: 'UPS', services: { '2day': '2ndDayAir' } } } });

    const express = succeeded(await labels.createReturnLabel(labelRequest({ rmaId: 'RMA-2', serviceLevel: '2day' })));
    expect(express.rate).toEqual({ amount: 2406, currency: 'USD' });
    const ground = succeeded(await labels.createReturnLabel(labelRequest({ rmaId: 'RMA-3', serviceLevel: 'ground' })));
    expect(ground.rate).toEqual({ amount: 1121, currency: 'USD' });

    const bought = at.purchases.map((p) => (at.shipments.find((s) => s.id === p.shipmentId)!.selected_rate as { service: string }).service);
    expect(bought).toEqual(['2ndDayAir', 'Ground']);
  });

  it('rates with the configured carrier account only, and buys that account\'s rate', async () => {
    const at = await easypost({
      rates: [
        { carrier: 'UPS', service: 'Ground', rate: '9.00', carrierAccountId: 'ca_ups_other' },
        { carrier: 'UPS', service: 'Ground', rate: '12.50', carrierAccountId: 'ca_ups_shop' },
      ],
    });
    const result = succeeded(await client(at, { carriers: { ups: { carrier: 'UPS', carrierAccountId: 'ca_ups_shop' } } }).createReturnLabel(labelRequest()));

    expect((at.requests[1]!.json as { shipment: { carrier_accounts: string[] } }).shipment.carrier_accounts).toEqual(['ca_ups_shop']);
    expect(result.rate).toEqual({ amount: 1250, currency: 'USD' });
  });

  it('no rate for the carrier: not retryable, saying what EasyPost offered and what the carrier said, and nothing bought', async () => {
    const at = await easypost({
      rates: [{ carrier: 'USPS', service: 'Priority', rate: '8.24' }],
      messages: [{ carrier: 'UPS', message: 'Invalid Origin Postal Code' }],
    });
    const result = failed(await client(at).createReturnLabel(labelRequest()));

    expect(result.retryable).toBe(false);
    expect(result.message).toContain('no UPS rate');
    expect(result.message).toContain('USPS Priority');
    expect(result.message).toContain('UPS said: Invalid Origin Postal Code');
    expect(at.purchases).toEqual([]);

    const noService = failed(await client(at).createReturnLabel(labelRequest({ rmaId: 'RMA-4', carrier: 'usps', serviceLevel: 'express' })));
    expect(noService).toMatchObject({ retryable: false, message: expect.stringContaining('no USPS rate for service "express"') });
    expect(at.purchases).toEqual([]);
  });

  it('a request that cannot go is refused before anything is sent', async () => {
    const at = await easypost();
    const labels = client(at);
    const cases: [Partial<ReturnLabelRequest>, string][] = [
      [{ carrier: 'acme' }, 'carrier "acme" has no EasyPost name'],
      [{ weightGrams: 0 }, 'weightGrams 0 is not a positive whole number'],
      [{ weightGrams: 12.5 }, 'weightGrams 12.5'],
      [{ rmaId: '' }, 'rmaId must be'],
      [{ rmaId: 'RMA/1' }, 'rmaId must be'],
      [{ rmaId: 'shp_0123' }, 'must not start with "shp_"'],
      [{ to: { ...labelRequest().to, postalCode: ' ' } }, 'to.postalCode is empty'],
      [{ from: { ...labelRequest().from, country: 'USA' } }, 'from.country must be an ISO 3166 alpha-2 code'],
    ];
    for (const [overrides, expected] of cases) {
      const result = failed(await labels.createReturnLabel(labelRequest(overrides)));
      expect(result, JSON.stringify(overrides)).toMatchObject({ retryable: false, message: expect.stringContaining(expected) });
    }
    expect(at.requests).toEqual([]);
  });

  it('a 422 from EasyPost: not retryable, carrying EasyPost\'s code, message and field errors', async () => {
    const at = await easypost();
    at.refuseNext('create', 422, { code: 'ADDRESS.VERIFY.FAILURE', message: 'Address not found', errors: [{ field: 'street1', message: 'House number is missing' }] });
    const result = failed(await client(at).createReturnLabel(labelRequest()));

    expect(result.retryable).toBe(false);
    expect(result.message).toContain('422');
    expect(result.message).toContain('ADDRESS.VERIFY.FAILURE: Address not found (street1: House number is missing)');
    expect(lines(at)).toEqual(['GET /v2/shipments/RMA-1001-1 404', 'POST /v2/shipments 422']);
    expect(at.purchases).toEqual([]);
  });

  it('a refused API key: not retryable, with EasyPost\'s message', async () => {
    const at = await easypost();
    const result = failed(await client(at, { apiKey: 'EZTK_wrong' }).createReturnLabel(labelRequest()));
    expect(result).toMatchObject({ retryable: false, message: expect.stringContaining('401') });
    expect(result.message).toContain('APIKEY.INACTIVE');
    expect(at.requests).toHaveLength(1);
  });
});

describe('retries and the one label per RMA', () => {
  it('a 500 on the create, then success: retried after a backoff, one shipment, one label', async () => {
    const at = await easypost();
    at.failNext(1, 500, 'before', 'create');
    const { sleep, waits } = recordingSleep();
    const result = await client(at, { sleep, backoffMs: 100 }).createReturnLabel(labelRequest());

    expect(result).toMatchObject({ ok: true, carrier: 'UPS', rate: { amount: 1121, currency: 'USD' } });
    expect(lines(at).map((l) => l.replace(/shp_\w+/, 'shp'))).toEqual([
      'GET /v2/shipments/RMA-1001-1 404',
      'POST /v2/shipments 500',
      // the retry looks for a shipment a lost answer may have created before it creates one
      'GET /v2/shipments/RMA-1001-1 404',
      'POST /v2/shipments 201',
      'POST /v2/shipments/shp/buy 200',
    ]);
    expect(waits).toEqual([100]);
    expect(at.shipments).toHaveLength(1);
    expect(at.purchases).toHaveLength(1);
  });

  it('a create whose answer was lost (EasyPost made it, answered 500): the retry finds it by reference and does not make a second', async () => {
    const at = await easypost();
    at.failNext(1, 500, 'after', 'create');
    const result = succeeded(await client(at).createReturnLabel(labelRequest()));

    expect(at.shipments).toHaveLength(1);
    expect(at.purchases).toEqual([{ shipmentId: at.shipments[0]!.id, rateId: expect.any(String) }]);
    expect(result.shipmentId).toBe(at.shipments[0]!.id);
    expect(lines(at).slice(0, 3)).toEqual(['GET /v2/shipments/RMA-1001-1 404', 'POST /v2/shipments 500', 'GET /v2/shipments/RMA-1001-1 200']);
  });

  it('a buy whose answer was lost: the retry reads the bought shipment and answers its label, without buying again', async () => {
    const at = await easypost();
    at.failNext(1, 502, 'after', 'buy');
    const result = succeeded(await client(at).createReturnLabel(labelRequest()));

    const id = String(at.shipments[0]!.id);
    expect(lines(at)).toEqual([
      'GET /v2/shipments/RMA-1001-1 404', 'POST /v2/shipments 201', `POST /v2/shipments/${id}/buy 502`, `GET /v2/shipments/${id} 200`,
    ]);
    expect(at.purchases).toHaveLength(1);
    expect(result.trackingCode).toBe(at.shipments[0]!.tracking_code);
  });

  it('a 429 with Retry-After: waits as long as EasyPost asks, then goes on', async () => {
    const at = await easypost();
    at.throttleNext('3', 1, 'buy');
    const { sleep, waits } = recordingSleep();
    const result = await client(at, { sleep, backoffMs: 100 }).createReturnLabel(labelRequest());

    expect(result).toMatchObject({ ok: true });
    expect(waits).toEqual([3_000]);
    expect(at.purchases).toHaveLength(1);
  });

  it('a Retry-After longer than the client will wait ends the call at once, retryable', async () => {
    const at = await easypost();
    at.throttleNext('120', 1, 'read');
    const { sleep, waits } = recordingSleep();
    const result = failed(await client(at, { sleep, maxWaitMs: 30_000 }).createReturnLabel(labelRequest()));

    expect(result.retryable).toBe(true);
    expect(result.message).toContain('asks to wait 120000 ms');
    expect(waits).toEqual([]);
    expect(at.requests).toHaveLength(1);
  });

  it('5xx until the retries run out: retryable; the next call buys the one label', async () => {
    const at = await easypost();
    at.failNext(3, 503, 'before', 'buy');
    const labels = client(at, { retries: 2 });
    const first = failed(await labels.createReturnLabel(labelRequest()));
    expect(first.retryable).toBe(true);
    expect(first.message).toContain('gave up after 3 attempt(s)');
    expect(at.purchases).toHaveLength(0);

    const second = succeeded(await labels.createReturnLabel(labelRequest()));
    expect(at.shipments).toHaveLength(1); // the first call's shipment, bought now
    expect(at.purchases).toEqual([{ shipmentId: at.shipments[0]!.id, rateId: expect.any(String) }]);
    expect(second.shipmentId).toBe(at.shipments[0]!.id);
  });

  it('a second call for the same RMA answers the label already bought: one shipment, one purchase', async () => {
    const at = await easypost();
    const labels = client(at);
    const first = succeeded(await labels.createReturnLabel(labelRequest()));
    const before = at.requests.length;
    const again = succeeded(await labels.createReturnLabel(labelRequest()));
    // another client (another replica, after a restart) too
    const elsewhere = succeeded(await client(at).createReturnLabel(labelRequest({ weightGrams: 2_000 })));

    expect(again).toEqual(first);
    expect(elsewhere).toEqual(first);
    expect(at.requests.slice(before).map((r) => `${r.method} ${r.path}`)).toEqual(['GET /v2/shipments/RMA-1001-1', 'GET /v2/shipments/RMA-1001-1']);
    expect(at.shipments).toHaveLength(1);
    expect(at.purchases).toHaveLength(1);

    // another RMA is another label
    succeeded(await labels.createReturnLabel(labelRequest({ rmaId: 'RMA-1001-2' })));
    expect(at.purchases).toHaveLength(2);
  });
});

describe('the client from config and environment', () => {
  const demo = loadConfig(defaultConfigPath);

  it('exists only with afterSales.returnLabels.easypost and EASYPOST_API_KEY both set', async () => {
    const at = await easypost();
    const configured = { ...demo, afterSales: { ...demo.afterSales, returnLabels: { easypost: { baseUrl: at.url, carriers: { dhl: { carrier: 'UPS' } } } } } };
    expect(returnLabelClientFor({ ...demo, afterSales: {} }, { EASYPOST_API_KEY: EASYPOST_STUB_KEY })).toBeUndefined();
    expect(returnLabelClientFor(configured, {})).toBeUndefined();

    const labels = returnLabelClientFor(configured, { EASYPOST_API_KEY: EASYPOST_STUB_KEY });
    // the configured carrier mapping is used: the hub's "dhl" is bought as EasyPost's UPS here
    const result = await labels!.createReturnLabel(labelRequest({ carrier: 'dhl' }));
    expect(result).toMatchObject({ ok: true, carrier: 'UPS' });
    expect(at.purchases).toHaveLength(1);
  });
});

describe('declared parcel weight (ounces to one decimal, rounded up)', () => {
  it('known values: rounded up to the next tenth, an exact tenth kept', () => {
    expect(declaredOunces(1)).toBe(0.1); // 0.035 oz
    expect(declaredOunces(28)).toBe(1); // 0.988 oz
    expect(declaredOunces(29)).toBe(1.1); // 1.023 oz
    expect(declaredOunces(454)).toBe(16.1); // 16.014 oz: one pound is 453.59237 g
    expect(declaredOunces(1_000)).toBe(35.3); // 35.274 oz
    expect(declaredOunces(45_359_237)).toBe(1_600_000); // 100 000 lb exactly
  });

  it('never under-declares, never over-declares by a tenth or more, and has at most one decimal', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 50_000_000 }), (grams) => {
      const ounces = declaredOunces(grams);
      expect(String(ounces)).toMatch(/^\d+(\.\d)?$/);
      const tenths = BigInt(Math.round(ounces * 10));
      // tenths of an ounce × 45 359 237 / 16 000 000 = grams, exactly
      const declared = tenths * 45_359_237n;
      const actual = BigInt(grams) * 16_000_000n;
      expect(declared >= actual).toBe(true);
      expect(declared - 45_359_237n < actual).toBe(true);
    }));
  });

  it('refuses weights that are not positive whole grams', () => {
    for (const grams of [0, -5, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => declaredOunces(grams), String(grams)).toThrow(/not a positive whole number of grams/);
    }
  });
});

describe('EasyPost rate strings in minor units', () => {
  const decimalsOf = (exponent: number) => fc.integer({ min: 0, max: exponent }).chain((k) => fc.array(fc.integer({ min: 0, max: 9 }), { minLength: k, maxLength: k }));

  it('exact for 0 to 2 decimals (USD): "7.55" → 755, "7.5" → 750, "7" → 700', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 10_000_000_000 }), decimalsOf(2), (units, digits) => {
      const text = digits.length === 0 ? String(units) : `${units}.${digits.join('')}`;
      const expected = units * 100 + Number(digits.join('').padEnd(2, '0'));
      expect(rateInMinorUnits(text, 'USD')).toEqual({ ok: true, money: { amount: expected, currency: 'USD' } });
    }));
    expect(rateInMinorUnits('1500', 'JPY')).toEqual({ ok: true, money: { amount: 1500, currency: 'JPY' } });
    expect(rateInMinorUnits('7.55', 'usd')).toEqual({ ok: true, money: { amount: 755, currency: 'USD' } });
  });

  it('refuses a digit below the minor unit, never rounding it away', () => {
    fc.assert(fc.property(
      fc.integer({ min: 0, max: 1_000_000 }),
      fc.array(fc.integer({ min: 0, max: 9 }), { minLength: 0, maxLength: 4 }),
      fc.integer({ min: 1, max: 9 }),
      (units, middle, last) => {
        const fraction = `${middle.join('')}${last}`.padStart(3, '0');
        const result = rateInMinorUnits(`${units}.${fraction}`, 'USD');
        expect(result).toMatchObject({ ok: false, message: expect.stringContaining('decimal place') });
      },
    ));
    expect(rateInMinorUnits('12.5', 'JPY')).toMatchObject({ ok: false });
  });

  it('refuses what is not a plain non-negative decimal string', () => {
    fc.assert(fc.property(fc.string({ maxLength: 12 }).filter((text) => !/^\d+(\.\d+)?$/.test(text)), (text) => {
      expect(rateInMinorUnits(text, 'USD').ok).toBe(false);
    }));
    for (const rate of [7.55, null, undefined, '-1.00', '1e3', ' 7.55', '7,55', '.5', '5.']) {
      expect(rateInMinorUnits(rate, 'USD').ok, String(rate)).toBe(false);
    }
    for (const currency of ['US', 'US$', null, 840]) expect(rateInMinorUnits('7.55', currency).ok, String(currency)).toBe(false);
  });
});

describe('choosing the rate', () => {
  const ups = { carrier: 'UPS' };
  const rate = (id: string, carrier: string, service: string, amount: string, currency = 'USD') => ({ id, carrier, service, rate: amount, currency });

  it('the cheapest of the carrier, compared in minor units; the first on a tie', () => {
    const shipment = { rates: [rate('r1', 'UPS', 'A', '10.9'), rate('r2', 'UPS', 'B', '10.10'), rate('r3', 'USPS', 'C', '1.00'), rate('r4', 'UPS', 'D', '10.1')] };
    expect(chooseRate(shipment, { carrier: ups })).toEqual({ ok: true, rate: { id: 'r2', carrier: 'UPS', service: 'B', price: { amount: 1010, currency: 'USD' } } });
  });

  it('passes over a rate it cannot read exactly; refuses when none is left, or currencies differ', () => {
    expect(chooseRate({ rates: [rate('r1', 'UPS', 'A', '1.999'), rate('r2', 'UPS', 'B', '3.00')] }, { carrier: ups })).toMatchObject({ ok: true, rate: { id: 'r2' } });
    expect(chooseRate({ rates: [rate('r1', 'UPS', 'A', 'free')] }, { carrier: ups })).toMatchObject({ ok: false, message: expect.stringContaining('can be read exactly') });
    expect(chooseRate({ rates: [rate('r1', 'UPS', 'A', '3.00'), rate('r2', 'UPS', 'B', '2.00', 'CAD')] }, { carrier: ups })).toMatchObject({ ok: false, message: expect.stringContaining('several currencies') });
    expect(chooseRate({}, { carrier: ups })).toMatchObject({ ok: false, message: expect.stringContaining('EasyPost offered no rates') });
  });
});
