// Validation rules, given / when / then. Pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canTransition } from '../core/order/status.ts';
import { builtInPostalCodeFormats, checkPostalCode, postalCodeFormats } from '../core/pipeline/postal-codes.ts';
import { validateOrder, validationChange, type Verdict } from '../core/pipeline/validate.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { anOrder, anOrderRecord, isCanonicalOrder, orderLine } from './support/orders.ts';
import {
  addressIn,
  anyFacts,
  anyOrder,
  anySettings,
  EVERYWHERE,
  VALID_POSTAL_CODE,
  validationFacts,
  validationSettings,
  warehouse,
  wellFormedFacts,
  wellFormedOrder,
  type ValidationRules,
} from './support/validation.ts';

// An order of one tee ($10.00) to New York, by a known customer, paid by card.
const US = addressIn('US', { region: 'NY' });
const order = (overrides: Partial<CanonicalOrder> = {}) => anOrder({ lines: [orderLine('TEE', 1)], shippingAddress: US, ...overrides });
/** a guest: no customer id, and the contact given */
const guest = (email: string | null, phone: string | null = null) => ({ id: null, email, phone, name: 'Guest', locale: null });
const facts = validationFacts;
const validate = (o: CanonicalOrder, rules?: ValidationRules, f = facts()) => validateOrder(o, f, validationSettings(rules));
const VALID = { verdict: 'valid', creditHold: null } as const;

describe('validateOrder: customer identity (contact)', () => {
  const rules: ValidationRules = {};

  it('accepts a known customer without any contact, and a guest with an email or a 7-digit phone', () => {
    // given a validation section (contact is required by default within one)
    // when a known customer without contact, and guests with an email, a phone, both, are validated
    // then each is valid
    expect(validate(order({ customer: { id: 'c-9', email: null, phone: null } }), rules)).toEqual(VALID);
    expect(validate(order({ customer: guest(' ada@example.com ') }), rules)).toEqual(VALID);
    expect(validate(order({ customer: guest(null, '555-0199') }), rules)).toEqual(VALID);
    expect(validate(order({ customer: guest('not-an-email', '+44 20 7946 0958') }), rules)).toEqual(VALID);
  });

  it('rejects a guest whose email does not look like one and whose phone has 6 digits, asking for a contact', () => {
    // given a guest with a malformed email and a short phone
    const o = order({ customer: guest('ada@example', '555-019') });
    // when
    const verdict = validate(o, rules);
    // then
    expect(verdict).toEqual({
      verdict: 'reject',
      rules: ['contact'],
      reason: 'a guest order needs a valid email or a phone with at least 7 digits; got email "ada@example" and phone "555-019"',
      remedies: ['provide_contact'],
    });
  });

  it('rejects a guest with no contact at all, and a blank customer id is no customer', () => {
    expect(validate(order({ customer: { id: '  ', email: null, phone: '' } }), rules))
      .toMatchObject({ verdict: 'reject', rules: ['contact'], reason: 'a guest order needs a valid email or a phone with at least 7 digits, and has neither' });
  });

  it('is off with requireContact: false, and off when there is no validation section at all', () => {
    const anonymous = order({ customer: guest(null) });
    expect(validate(anonymous, { requireContact: false })).toEqual(VALID);
    expect(validate(anonymous, undefined)).toEqual(VALID);
  });
});

describe('validateOrder: block list', () => {
  const rules: ValidationRules = {
    blockList: {
      emails: ['  Fraud@Example.COM', 'ada@gmail.com'],
      phones: ['+1 555 010 9999'],
      postalCodes: ['sw1a 1aa'],
      addresses: ['13  Mockingbird   LANE'],
    },
  };

  it('rejects an email on the list, compared trimmed and case-insensitively, with no remedy', () => {
    // given an order from FRAUD@example.com
    const o = order({ customer: guest(' FRAUD@example.com ') });
    // when / then
    expect(validate(o, rules)).toEqual({ verdict: 'reject', rules: ['block_list'], reason: 'on the block list: email "fraud@example.com"', remedies: [] });
  });

  it('does not fold Gmail dots or +tags: a.da@gmail.com and ada+x@gmail.com are not ada@gmail.com', () => {
    // other providers treat them as different mailboxes, so folding would block other people
    expect(validate(order({ customer: guest('a.da@gmail.com') }), rules)).toEqual(VALID);
    expect(validate(order({ customer: guest('ada+x@gmail.com') }), rules)).toEqual(VALID);
    expect(validate(order({ customer: guest('ADA@gmail.com') }), rules)).toMatchObject({ verdict: 'reject', rules: ['block_list'] });
  });

  it('compares phones by digits only, on the customer and on either address', () => {
    expect(validate(order({ customer: guest(null, '(1) 555-010-9999') }), rules)).toMatchObject({ reason: 'on the block list: phone "15550109999"' });
    expect(validate(order({ billingAddress: addressIn('US', { phone: '1.555.010.9999' }) }), rules)).toMatchObject({ verdict: 'reject' });
    // digits are compared whole: the number without its country code is another number
    expect(validate(order({ customer: guest(null, '555 010 9999') }), rules)).toEqual(VALID);
  });

  it('compares postal codes upper-case without spaces, and address lines lower-case with collapsed spaces', () => {
    const london = addressIn('GB', { postalCode: 'Sw1A1aA' });
    expect(validate(order({ shippingAddress: london }), rules)).toMatchObject({ verdict: 'reject', reason: 'on the block list: postal code "SW1A1AA"' });
    const mockingbird = addressIn('US', { line1: 'Apartment 4', line2: ' 13 mockingbird lane ' });
    expect(validate(order({ shippingAddress: mockingbird }), rules)).toMatchObject({ verdict: 'reject', reason: 'on the block list: address line "13 mockingbird lane"' });
    // a near miss is not a match
    expect(validate(order({ shippingAddress: addressIn('US', { line1: '13 Mockingbird Lane West' }) }), rules)).toEqual(VALID);
  });

  it('lists every match, and a blank entry never matches a blank value', () => {
    // given a list with blank entries and an order with blank or missing values
    const blanks: ValidationRules = { blockList: { emails: ['', '  '], phones: ['+', ''], postalCodes: [' '], addresses: [''] } };
    const o = order({ customer: { id: 'c-1', email: ' ', phone: '-' }, shippingAddress: addressIn('IE', { postalCode: '', line2: '' }) });
    expect(validate(o, blanks)).toEqual(VALID);
    // and an order matching three entries names all three
    const many = order({ customer: guest('fraud@example.com', '15550109999'), shippingAddress: addressIn('GB', { line1: '13 Mockingbird Lane' }) });
    expect(validate(many, rules)).toMatchObject({
      verdict: 'reject',
      reason: 'on the block list: email "fraud@example.com", phone "15550109999", postal code "SW1A1AA", address line "13 mockingbird lane"',
    });
  });
});

describe('validateOrder: store credit', () => {
  const byCredit = (grandTotal: number) => order({
    lines: [orderLine('TEE', 1, { unitPrice: grandTotal })],
    payment: { method: 'store_credit', provider: null, status: 'paid' },
  });
  const withCredit = (balance: number, currency = 'USD') => facts(undefined, undefined, { storeCredit: { balance, currency } });

  it('is valid when the balance covers the total, to the cent, and says how much to hold', () => {
    expect(validate(byCredit(1_500), undefined, withCredit(1_500))).toEqual({ verdict: 'valid', creditHold: 1_500 });
    expect(validate(byCredit(1_500), undefined, withCredit(9_000))).toEqual({ verdict: 'valid', creditHold: 1_500 });
  });

  it('rejects one cent short, asking for another payment method', () => {
    expect(validate(byCredit(1_500), undefined, withCredit(1_499))).toEqual({
      verdict: 'reject',
      rules: ['store_credit'],
      reason: 'store credit balance USD 14.99 does not cover the total USD 15.00',
      remedies: ['another_payment_method'],
    });
  });

  it('rejects without an account, or with credit in another currency', () => {
    expect(validate(byCredit(1_500), undefined, facts())).toMatchObject({ verdict: 'reject', rules: ['store_credit'], reason: expect.stringContaining('no store credit account') });
    expect(validate(byCredit(1_500), undefined, withCredit(1_000_000, 'EUR'))).toMatchObject({ verdict: 'reject', reason: expect.stringContaining('credit is in EUR and the order in USD') });
  });

  it('holds nothing for an order paid otherwise, or for a free order', () => {
    expect(validate(order(), undefined, withCredit(0))).toEqual(VALID);
    expect(validate(byCredit(0), undefined, withCredit(0))).toEqual(VALID);
  });
});

describe('validateOrder: stock', () => {
  const network = [warehouse('us-east', 1, ['US', 'CA'], ['apparel', 'furniture']), warehouse('us-west', 2, ['US'])];
  const stocked = (levels: Record<string, Record<string, number>>) => facts(network, levels);

  it('counts stock only in warehouses that serve the address and handle the category', () => {
    // given MUG (kitchen) stock in three warehouses: us-east does not handle kitchen,
    // eu-central does not deliver to the US, only us-west counts for a US order
    const f = facts([...network, warehouse('eu-central', 1, ['DE', 'FR'])], { 'us-east': { MUG: 100 }, 'us-west': { MUG: 3 }, 'eu-central': { MUG: 100 } });
    // when orders of 3 and of 4 mugs to the US are validated
    // then 3 is fine, 4 is short with 3 available
    expect(validate(order({ lines: [orderLine('MUG', 3)] }), undefined, f)).toEqual(VALID);
    expect(validate(order({ lines: [orderLine('MUG', 4)] }), undefined, f)).toMatchObject({ verdict: 'backorder', shortages: [{ sku: 'MUG', wanted: 4, available: 3 }] });
  });

  it('adds up stock across every warehouse that may serve the order, never counting negative availability', () => {
    const f = stocked({ 'us-east': { TEE: 2 }, 'us-west': { TEE: 2 } });
    expect(validate(order({ lines: [orderLine('TEE', 4)] }), undefined, f)).toEqual(VALID);
    expect(validate(order({ lines: [orderLine('TEE', 5)] }), undefined, f)).toMatchObject({ shortages: [{ sku: 'TEE', wanted: 5, available: 4 }] });
    expect(validate(order({ lines: [orderLine('TEE', 3)] }), undefined, stocked({ 'us-east': { TEE: -5 }, 'us-west': { TEE: 3 } }))).toEqual(VALID);
  });

  it('backorders a shortage, lines of the same SKU summed, with wait / ship_available / cancel when part is there', () => {
    // given 4 tees and 1 sofa in stock for the US
    const f = stocked({ 'us-east': { TEE: 4, SOFA: 1 } });
    // when an order asks for 3 + 2 tees, 1 sofa and 2 mugs (none stocked for the US)
    const o = order({ lines: [orderLine('TEE', 3), orderLine('SOFA', 1), orderLine('TEE', 2), orderLine('MUG', 2)] });
    // then the tee and the mug are short, the sofa is not, and what is there could ship
    expect(validate(o, undefined, f)).toEqual({
      verdict: 'backorder',
      rules: ['stock'],
      reason: 'not enough stock: TEE (5 wanted, 4 available), MUG (2 wanted, 0 available)',
      shortages: [{ sku: 'TEE', wanted: 5, available: 4 }, { sku: 'MUG', wanted: 2, available: 0 }],
      remedies: ['wait', 'ship_available', 'cancel'],
    });
  });

  it('offers ship_available only when something of the order is in stock', () => {
    // given no mugs at all, and some tees
    const f = stocked({ 'us-east': { TEE: 1 } });
    // then mugs alone can only wait or be cancelled; mugs with a tee can ship the tee
    expect(validate(order({ lines: [orderLine('MUG', 2)] }), undefined, f)).toMatchObject({ verdict: 'backorder', remedies: ['wait', 'cancel'] });
    expect(validate(order({ lines: [orderLine('MUG', 2), orderLine('TEE', 1)] }), undefined, f))
      .toMatchObject({ verdict: 'backorder', remedies: ['wait', 'ship_available', 'cancel'] });
  });
});

describe('validateOrder: catalog and address', () => {
  it('holds an order with unknown SKUs as unknown_sku, listing each unknown SKU once', () => {
    const o = order({ lines: [orderLine('TEE', 1), orderLine('NOPE-1', 1), orderLine('NOPE-2', 3), orderLine('NOPE-1', 2)] });
    expect(validate(o)).toEqual({
      verdict: 'hold', rules: ['catalog'], exception: 'unknown_sku', reason: 'unknown SKUs: NOPE-1, NOPE-2', details: { skus: ['NOPE-1', 'NOPE-2'] },
    });
  });

  it('holds an order without a shipping address as address_invalid', () => {
    expect(validate(order({ shippingAddress: null }))).toEqual({
      verdict: 'hold', rules: ['address'], exception: 'address_invalid', reason: 'the order has no shipping address', details: { missing: 'shipping_address' },
    });
  });

  it('holds an order to a place no warehouse serves as address_unserved', () => {
    const usOnly = facts([warehouse('us', 1, ['US'])], { us: { TEE: 9 } });
    expect(validate(order({ shippingAddress: addressIn('JP') }), undefined, usOnly))
      .toMatchObject({ verdict: 'hold', exception: 'address_unserved', reason: 'no warehouse delivers to JP', details: { country: 'JP' } });
  });

  it('matches a subdivision region (US-KY) against an address with region KY, in any case', () => {
    const kentucky = facts([warehouse('ky-local', 1, ['US-KY'])], { 'ky-local': { TEE: 5 } });
    const to = (region: string | null) => validate(order({ shippingAddress: addressIn('US', { region }) }), undefined, kentucky);
    expect(to('KY')).toEqual(VALID);
    expect(to('ky')).toEqual(VALID);
    expect(to('TN')).toMatchObject({ verdict: 'hold', exception: 'address_unserved', reason: 'no warehouse delivers to US-TN' });
    expect(to(null)).toMatchObject({ verdict: 'hold', exception: 'address_unserved' });
  });
});

describe('postal codes', () => {
  const formats = postalCodeFormats(undefined);
  const VALID_CODES: Record<string, string[]> = {
    US: ['10001', '94105-1804'],
    CA: ['K1A 0B1', 'm5v3l9'],
    GB: ['SW1A 1AA', 'EC1A 1BB', 'M1 1AE', 'B33 8TH', 'CR2 6XH', 'DN55 1PT', 'W1A 0AX', 'sw1a1aa', 'GIR 0AA'],
    DE: ['10117', '01067'],
    FR: ['75008', '20000'],
    NL: ['1012 JS', '1012js', '9999 ZZ'],
    BE: ['1000', '9000'],
    AT: ['1010', '6020'],
    PL: ['00-950', '31-042', '00950'],
    IT: ['00184', '20121'],
    ES: ['28013', '08001', '52001'],
    JP: ['100-0001', '1000001'],
    AU: ['2000', '0800'],
    IE: ['D02 AF30', 'A65 F4E2', 'd6w1234', ''],
  };
  const INVALID_CODES: Record<string, string[]> = {
    US: ['1000', '100011', '10001-', 'ABCDE'],
    CA: ['D1A 0B1', 'K1A 0B', '12345'],
    GB: ['SW1A 1A', 'QW1 1AA', '12345', 'SW1A 1CA'],
    DE: ['1011', '101170', '1O117'],
    FR: ['7500', '2A000'],
    NL: ['0123 AB', '1012 SA', '1012', '1012 J'],
    BE: ['0999', '10000'],
    AT: ['0100', '10100'],
    PL: ['00-95', '009-50'],
    IT: ['0018', '001844'],
    ES: ['53001', '00100', '2801'],
    JP: ['100-001', '10-00001'],
    AU: ['200', '20000'],
    IE: ['D02', 'B02 AF30', 'D02 AF3'],
  };

  it('builds test addresses with postal codes that fit', () => {
    for (const [country, code] of Object.entries(VALID_POSTAL_CODE)) expect(checkPostalCode(country, code, formats), country).toEqual({ ok: true });
  });

  it('knows at least the 14 countries of the issue, with an example that fits each format', () => {
    for (const country of Object.keys(VALID_CODES)) {
      const known = builtInPostalCodeFormats[country];
      expect(known, country).toBeDefined();
      expect(known?.pattern.test(known.example ?? ''), country).toBe(true);
    }
  });

  it.each(Object.entries(VALID_CODES))('accepts real %s postal codes, in any case and spacing', (country, codes) => {
    for (const code of codes) expect(checkPostalCode(country, code, formats), `${country} ${code}`).toEqual({ ok: true });
  });

  it.each(Object.entries(INVALID_CODES))('refuses malformed %s postal codes', (country, codes) => {
    for (const code of codes) expect(checkPostalCode(country, code, formats), `${country} ${code}`).toMatchObject({ ok: false, problem: 'format' });
  });

  it('holds a malformed or missing postal code as address_invalid, naming the code and an example', () => {
    // given an order to London with a Dutch-looking code, and one to Berlin without a code
    const london = order({ shippingAddress: addressIn('GB', { postalCode: ' 1012  js' }) });
    const berlin = order({ shippingAddress: addressIn('DE', { postalCode: null }) });
    // then each waits for a person to check with the customer
    expect(validate(london)).toEqual({
      verdict: 'hold',
      rules: ['postal_code'],
      exception: 'address_invalid',
      reason: 'postal code "1012 JS" is not a valid GB postal code (like SW1A 1AA)',
      details: { country: 'GB', postalCode: '1012 JS', example: 'SW1A 1AA' },
    });
    expect(validate(berlin)).toMatchObject({ exception: 'address_invalid', reason: 'the shipping address in DE has no postal code (like 10117)' });
  });

  it('lets an Irish address go without its Eircode, but not with a malformed one', () => {
    expect(validate(order({ shippingAddress: addressIn('IE', { postalCode: null }) }))).toEqual(VALID);
    expect(validate(order({ shippingAddress: addressIn('IE', { postalCode: 'D02' }) }))).toMatchObject({ exception: 'address_invalid' });
  });

  it('passes any code for a country without a known format', () => {
    expect(validate(order({ shippingAddress: addressIn('BR', { postalCode: 'anything' }) }))).toEqual(VALID);
  });

  it('takes configured formats over the built-in ones, anchored, and adds countries', () => {
    // given Brazil's CEP added and Great Britain's check turned off
    const rules: ValidationRules = { postalCodes: { BR: '\\d{5}-?\\d{3}', GB: '.*' } };
    // then
    expect(validate(order({ shippingAddress: addressIn('BR', { postalCode: '01310-200' }) }), rules)).toEqual(VALID);
    expect(validate(order({ shippingAddress: addressIn('BR', { postalCode: '01310-2000' }) }), rules))
      .toMatchObject({ exception: 'address_invalid', reason: 'postal code "01310-2000" is not a valid BR postal code', details: { example: null } });
    expect(validate(order({ shippingAddress: addressIn('GB', { postalCode: 'nonsense' }) }), rules)).toEqual(VALID);
  });

  it('reports a configured pattern that is not a regular expression, and keeps the built-in format there', () => {
    const configured = postalCodeFormats({ US: '(\\d{5}', FR: '\\d{5}' });
    expect(configured.problems).toEqual([{ country: 'US', pattern: '(\\d{5}', message: expect.any(String) }]);
    expect(checkPostalCode('US', '1234', configured)).toMatchObject({ ok: false });
    expect(validate(order(), { postalCodes: { US: '(' } })).toEqual(VALID);
  });
});

describe('validateOrder: price integrity', () => {
  /** one $10.00 tee + $5.00 shipping, its total `off` minor units from $15.00 */
  const totalOff = (off: number) => {
    const o = order({ lines: [orderLine('TEE', 1)] });
    return { ...o, totals: { ...o.totals, shipping: 500, grandTotal: 1_500 + off } };
  };
  const withTolerance = (o: CanonicalOrder, priceTolerance: number) => validateOrder(o, facts(), validationSettings(undefined, { priceTolerance }));

  it('accepts totals off by up to the tolerance, either way', () => {
    expect(withTolerance(totalOff(0), 0)).toEqual(VALID);
    expect(withTolerance(totalOff(2), 2)).toEqual(VALID);
    expect(withTolerance(totalOff(-2), 2)).toEqual(VALID);
  });

  it('holds totals off by one more than the tolerance as price_mismatch, with the figures', () => {
    // given a total 3 cents over what the order adds up to, and a tolerance of 2
    const verdict = withTolerance(totalOff(3), 2);
    // then
    expect(verdict).toEqual({
      verdict: 'hold',
      rules: ['price'],
      exception: 'price_mismatch',
      reason: 'totals do not add up (USD minor units, tolerance 2): total 1503 but lines 1000 − discounts 0 + shipping 500 + tax 0 + other charges 0 = 1500',
      details: {
        currency: 'USD', tolerance: 2, lines: 1000, lineDiscounts: 0, expectedTotal: 1500, difference: 3,
        totals: { subtotal: 1000, discounts: 0, shipping: 500, tax: 0, taxIncluded: false, otherCharges: 0, grandTotal: 1503 },
      },
    });
    expect(withTolerance(totalOff(-3), 2)).toMatchObject({ exception: 'price_mismatch', details: { difference: -3 } });
    expect(withTolerance(totalOff(1), 0)).toMatchObject({ exception: 'price_mismatch' });
  });

  it('checks the subtotal against the lines and the discounts against the line discounts', () => {
    const o = order({ lines: [orderLine('TEE', 2, { discount: 300 })] });
    // subtotal 2000, discounts 300, total 1700; a subtotal of 1990 and discounts of 200 are both off
    const verdict = withTolerance({ ...o, totals: { ...o.totals, subtotal: 1_990, discounts: 200, grandTotal: 1_790 } }, 5);
    expect(verdict).toMatchObject({ exception: 'price_mismatch' });
    expect(verdict.verdict === 'hold' && verdict.reason).toContain('subtotal 1990 but the lines add up to 2000');
    expect(verdict.verdict === 'hold' && verdict.reason).toContain('discounts 200 less than the line discounts 300');
  });

  it('leaves tax out of the total when prices include it', () => {
    const o = order({ lines: [orderLine('TEE', 1, { tax: 160 })] });
    expect(withTolerance({ ...o, totals: { ...o.totals, taxIncluded: true, grandTotal: 1_000 } }, 0)).toEqual(VALID);
    expect(withTolerance({ ...o, totals: { ...o.totals, taxIncluded: false, grandTotal: 1_000 } }, 0)).toMatchObject({ exception: 'price_mismatch' });
  });

  it('reports sums beyond 2^53 exactly, as decimal strings', () => {
    // 3 × (2^53 − 1) is not a double: the figures an operator reads must still be exact
    const big = Number.MAX_SAFE_INTEGER;
    const o = order({ lines: [orderLine('TEE', 3, { unitPrice: big })] });
    const verdict = withTolerance({ ...o, totals: { ...o.totals, subtotal: big, grandTotal: big } }, 0);
    expect(verdict).toMatchObject({ exception: 'price_mismatch', details: { lines: '27021597764222973', expectedTotal: '27021597764222973' } });
  });
});

describe('validateOrder: risk', () => {
  const total = (cents: number) => order({ lines: [orderLine('TEE', 1, { unitPrice: cents })] });
  const newCustomer = facts(undefined, undefined, { previousOrders: 0 });

  it('reviews an order above reviewAbove for its currency, not one at it', () => {
    const rules: ValidationRules = { risk: { reviewAbove: { USD: 100_000 } } };
    expect(validate(total(100_000), rules)).toEqual(VALID);
    expect(validate(total(100_001), rules)).toEqual({
      verdict: 'hold',
      rules: ['risk'],
      exception: 'risk_review',
      reason: 'risk review: total USD 1000.01 is above the review threshold USD 1000.00',
      details: { triggers: [{ trigger: 'review_above', total: 100_001, threshold: 100_000, currency: 'USD' }] },
    });
    // no threshold for euros: no review
    expect(validate({ ...total(100_001), currency: 'EUR' }, rules)).toEqual(VALID);
  });

  it('reviews a first order above firstOrderAbove, not a returning customer\'s', () => {
    const rules: ValidationRules = { risk: { firstOrderAbove: { USD: 20_000 } } };
    expect(validate(total(20_001), rules, newCustomer)).toMatchObject({ exception: 'risk_review', details: { triggers: [{ trigger: 'first_order_above' }] } });
    expect(validate(total(20_000), rules, newCustomer)).toEqual(VALID);
    expect(validate(total(20_001), rules, facts(undefined, undefined, { previousOrders: 1 }))).toEqual(VALID);
  });

  it('reviews billing and shipping in different countries only when countryMismatch is on, and only when both are known', () => {
    const fromFrance = order({ billingAddress: addressIn('FR') });
    expect(validate(fromFrance, { risk: { countryMismatch: true } })).toMatchObject({
      exception: 'risk_review', reason: 'risk review: billing country FR differs from shipping country US',
    });
    expect(validate(fromFrance, { risk: { countryMismatch: false } })).toEqual(VALID);
    expect(validate(order({ billingAddress: null }), { risk: { countryMismatch: true } })).toEqual(VALID);
    expect(validate(order({ billingAddress: addressIn('US') }), { risk: { countryMismatch: true } })).toEqual(VALID);
  });

  it('names every trigger at once', () => {
    const rules: ValidationRules = { risk: { reviewAbove: { USD: 50_000 }, firstOrderAbove: { USD: 10_000 }, countryMismatch: true } };
    const verdict = validate({ ...total(60_000), billingAddress: addressIn('FR') }, rules, newCustomer);
    expect(verdict).toMatchObject({ verdict: 'hold', rules: ['risk'], exception: 'risk_review' });
    expect(verdict.verdict === 'hold' && verdict.details.triggers).toEqual([
      { trigger: 'review_above', total: 60_000, threshold: 50_000, currency: 'USD' },
      { trigger: 'first_order_above', total: 60_000, threshold: 10_000, currency: 'USD' },
      { trigger: 'country_mismatch', billing: 'FR', shipping: 'US' },
    ]);
  });
});

describe('validateOrder: payment method', () => {
  const paidBy = (method: CanonicalOrder['payment']['method'], overrides: Partial<CanonicalOrder> = {}) =>
    order({ payment: { method, provider: null, status: 'pending' }, ...overrides });

  it('accepts a listed method and rejects another, asking for another payment method', () => {
    const rules: ValidationRules = { payment: { methods: ['card', 'wallet'] } };
    expect(validate(paidBy('wallet'), rules)).toEqual(VALID);
    expect(validate(paidBy('bank_transfer'), rules)).toEqual({
      verdict: 'reject',
      rules: ['payment_method'],
      reason: 'payment method bank_transfer is not accepted on channel shopify (accepted: card, wallet)',
      remedies: ['another_payment_method'],
    });
  });

  it('takes the channel\'s own list over the general one, and the general one for other channels', () => {
    const rules: ValidationRules = { payment: { methods: ['card'], byChannel: { amazon: ['unknown'] } } };
    const onAmazon = (o: CanonicalOrder) => validateOrder(o, facts(), validationSettings(rules, { channel: 'amazon' }));
    expect(onAmazon(paidBy('unknown'))).toEqual(VALID);
    expect(onAmazon(paidBy('card'))).toMatchObject({ verdict: 'reject', rules: ['payment_method'] });
    // a channel named like an Object property is still just a channel
    expect(validateOrder(paidBy('unknown'), facts(), validationSettings(rules, { channel: 'constructor' }))).toMatchObject({ verdict: 'reject' });
  });

  it('allows every method when nothing is listed', () => {
    expect(validate(paidBy('bank_transfer'), { payment: {} })).toEqual(VALID);
  });
});

describe('validateOrder: cash on delivery', () => {
  const cod = (overrides: Partial<CanonicalOrder> = {}) => order({ payment: { method: 'cash_on_delivery', provider: null, status: 'pending' }, ...overrides });
  const rules: ValidationRules = { payment: { cashOnDelivery: { countries: ['DE', 'US-NY'], maxAmount: { EUR: 50_000, USD: 1_000 } } } };

  it('accepts it to a listed country or subdivision, up to the amount', () => {
    expect(validate(cod(), rules)).toEqual(VALID); // $10.00 to New York
    expect(validate(cod({ currency: 'EUR', shippingAddress: addressIn('DE') }), rules)).toEqual(VALID);
  });

  it('rejects it elsewhere, with another payment method as the remedy', () => {
    expect(validate(cod({ shippingAddress: addressIn('US', { region: 'NJ' }) }), rules)).toEqual({
      verdict: 'reject',
      rules: ['cash_on_delivery'],
      reason: 'cash on delivery is not offered to US-NJ (offered to: DE, US-NY)',
      remedies: ['another_payment_method'],
    });
  });

  it('rejects it above the amount for the currency, not at it; no amount for the currency means no limit', () => {
    const dollars = (cents: number) => cod({ lines: [orderLine('TEE', 1, { unitPrice: cents })] });
    expect(validate(dollars(1_000), rules)).toEqual(VALID);
    expect(validate(dollars(1_001), rules)).toMatchObject({
      verdict: 'reject', reason: 'cash on delivery is limited to USD 10.00; the order is USD 10.01', remedies: ['another_payment_method'],
    });
    expect(validate({ ...dollars(999_999), currency: 'JPY' }, rules)).toEqual(VALID);
  });

  it('leaves other payment methods alone', () => {
    expect(validate(order({ shippingAddress: addressIn('FR') }), rules)).toEqual(VALID);
  });
});

describe('validateOrder: precedence', () => {
  const short = facts(undefined, { main: {} });

  it('lets a rejection win over holds and a shortage, listing every rejecting rule and remedy once', () => {
    // given an unknown SKU (hold), no stock (backorder), a disallowed method and too little credit (both reject)
    const o = order({ lines: [orderLine('TEE', 1), orderLine('NOPE', 1)], payment: { method: 'store_credit', provider: null, status: 'paid' } });
    const verdict = validate(o, { payment: { methods: ['card'] } }, short);
    // then
    expect(verdict).toMatchObject({ verdict: 'reject', rules: ['payment_method', 'store_credit'], remedies: ['another_payment_method'] });
    expect(verdict.verdict === 'reject' && verdict.reason.split('; ')).toHaveLength(2);
  });

  it('lets holds win over a shortage; risk review comes first and the others go in the details', () => {
    // given an order over the review threshold, with a bad postal code, totals one cent off and no stock
    const o = order({ shippingAddress: addressIn('GB', { postalCode: 'NOPE' }), lines: [orderLine('TEE', 1, { unitPrice: 900_000 })] });
    const verdict = validate({ ...o, totals: { ...o.totals, grandTotal: 900_001 } }, { risk: { reviewAbove: { USD: 100 } } }, short);
    // then
    expect(verdict).toMatchObject({
      verdict: 'hold',
      rules: ['risk', 'postal_code', 'price'],
      exception: 'risk_review',
      details: {
        triggers: [{ trigger: 'review_above' }],
        otherExceptions: [
          { type: 'address_invalid', rule: 'postal_code', reason: 'postal code "NOPE" is not a valid GB postal code (like SW1A 1AA)' },
          { type: 'price_mismatch', rule: 'price' },
        ],
      },
    });
    expect(verdict.verdict === 'hold' && verdict.reason.split('; ')[0]).toBe('risk review: total USD 9000.01 is above the review threshold USD 1.00');
  });

  it('checks SKUs before the address: an unknown SKU without an address is unknown_sku first', () => {
    expect(validate(order({ lines: [orderLine('NOPE', 1)], shippingAddress: null }))).toMatchObject({
      exception: 'unknown_sku', rules: ['catalog', 'address'], details: { skus: ['NOPE'], otherExceptions: [{ type: 'address_invalid' }] },
    });
  });

  it('lets a shortage win over valid', () => {
    expect(validate(order(), undefined, short)).toMatchObject({ verdict: 'backorder', rules: ['stock'] });
  });
});

describe('validationChange', () => {
  const customer = { id: 'c-1', email: ' ada@example.com ', phone: '+1 555 010 9999', name: 'Ada', locale: 'en' };
  const record = anOrderRecord(order({ customer, lines: [orderLine('TEE', 5, { name: 'Plain tee' })] }));
  const to = { email: 'ada@example.com', phone: '+1 555 010 9999' };
  const notificationsOf = (change: ReturnType<typeof validationChange>) => change.emit.filter((e) => e.type === 'customer.notification_requested');

  it('validates, asks to confirm the order to the customer, and carries the credit to hold', () => {
    // when a valid verdict with store credit is applied
    const change = validationChange(record, { verdict: 'valid', creditHold: 5_000 });
    // then
    expect(change).toEqual({
      to: 'validated',
      timeline: { type: 'order.validated', reason: 'passed validation; USD 50.00 of store credit to hold', data: { creditHold: 5_000, currency: 'USD' } },
      emit: [
        { type: 'order.validated', data: { orderId: record.id, orderNumber: record.orderNumber, creditHold: 5_000, currency: 'USD' } },
        { type: 'customer.notification_requested', data: { orderId: record.id, orderNumber: record.orderNumber, template: 'order_confirmed', to, customerName: 'Ada', locale: 'en' } },
      ],
    });
    expect(validationChange(record, { verdict: 'valid', creditHold: null }).emit[0]).toEqual({
      type: 'order.validated', data: { orderId: record.id, orderNumber: record.orderNumber },
    });
  });

  it('rejects, telling the customer why and what they can do', () => {
    const verdict: Verdict = { verdict: 'reject', rules: ['store_credit'], reason: 'store credit balance USD 1.00 does not cover the total USD 50.00', remedies: ['another_payment_method'] };
    const change = validationChange(record, verdict);
    expect(change).toMatchObject({ to: 'rejected', timeline: { type: 'order.rejected', reason: `rejected (store_credit): ${verdict.reason}` } });
    expect(change.emit[0]).toMatchObject({ type: 'order.rejected', data: { rules: ['store_credit'], remedies: ['another_payment_method'] } });
    expect(notificationsOf(change)).toEqual([{
      type: 'customer.notification_requested',
      data: {
        orderId: record.id, orderNumber: record.orderNumber, template: 'order_rejected', to, customerName: 'Ada', locale: 'en', reason: verdict.reason, remedies: ['another_payment_method'],
      },
    }]);
  });

  it('does not tell a blocked customer about the block list, whatever else was wrong', () => {
    const verdict: Verdict = { verdict: 'reject', rules: ['block_list', 'payment_method'], reason: 'on the block list: email "x"; payment method…', remedies: ['another_payment_method'] };
    const [notification] = notificationsOf(validationChange(record, verdict));
    expect(notification?.data).toMatchObject({ template: 'order_rejected', reason: 'we cannot accept this order', remedies: [] });
  });

  it('puts a risk review on hold with an exception and tells the customer nothing', () => {
    const verdict: Verdict = { verdict: 'hold', rules: ['risk'], exception: 'risk_review', reason: 'risk review: total…', details: { triggers: [] } };
    const change = validationChange(record, verdict);
    expect(change).toMatchObject({
      to: 'on_hold',
      exception: { type: 'risk_review', reason: 'risk review: total…', details: { triggers: [] } },
      emit: [{ type: 'order.on_hold', data: { exception: 'risk_review' } }],
    });
    expect(notificationsOf(change)).toEqual([]);
  });

  it('asks the customer to check the address for address_invalid, naming only the address problem', () => {
    // given an address hold that also carries a price mismatch for the operators
    const verdict = validate(order({ customer, shippingAddress: addressIn('GB', { postalCode: 'NOPE' }), totals: { ...order().totals, grandTotal: 1 } }));
    expect(verdict).toMatchObject({ verdict: 'hold', exception: 'address_invalid', rules: ['postal_code', 'price'] });
    // when
    const [notification] = notificationsOf(validationChange(record, verdict));
    // then the customer hears of the postal code only
    expect(notification?.data).toEqual({
      orderId: record.id, orderNumber: record.orderNumber, template: 'address_check', to, customerName: 'Ada', locale: 'en',
      reason: 'the postal code "NOPE" does not look right (for example SW1A 1AA)', remedies: ['correct_address'],
    });
    const missing = validationChange(record, validate(order({ shippingAddress: null })));
    expect(notificationsOf(missing)[0]?.data).toMatchObject({ template: 'address_check', reason: 'the order has no shipping address' });
  });

  it('tells the customer nothing for holds a person resolves alone (unknown SKU, unserved, price)', () => {
    for (const exception of ['unknown_sku', 'address_unserved', 'price_mismatch']) {
      expect(notificationsOf(validationChange(record, { verdict: 'hold', rules: ['x'], exception, reason: 'r', details: {} })), exception).toEqual([]);
    }
  });

  it('backorders with a stock_shortage exception and offers the customer the remedies, by product name', () => {
    const shortages = [{ sku: 'TEE', wanted: 5, available: 4 }];
    const verdict: Verdict = { verdict: 'backorder', rules: ['stock'], reason: 'not enough stock: TEE (5 wanted, 4 available)', shortages, remedies: ['wait', 'ship_available', 'cancel'] };
    const change = validationChange(record, verdict);
    expect(change).toMatchObject({
      to: 'backordered',
      timeline: { type: 'order.backordered', reason: 'backordered: not enough stock: TEE (5 wanted, 4 available)' },
      exception: { type: 'stock_shortage', details: { shortages } },
    });
    expect(change.emit[0]).toMatchObject({ type: 'order.backordered', data: { orderId: record.id, shortages, remedies: ['wait', 'ship_available', 'cancel'] } });
    expect(notificationsOf(change)[0]?.data).toMatchObject({
      template: 'stock_shortage', reason: 'not enough stock for Plain tee (5 ordered, 4 available)', remedies: ['wait', 'ship_available', 'cancel'],
    });
  });

  it('sends only contact details that look usable, and no notification when there are none', () => {
    const noContact = anOrderRecord(order({ customer: { id: 'c-1', email: 'not-an-email', phone: '12' } }));
    expect(notificationsOf(validationChange(noContact, { verdict: 'valid', creditHold: null }))).toEqual([]);
    const phoneOnly = anOrderRecord(order({ customer: { id: 'c-1', email: 'nope', phone: '555-0199' } }));
    expect(notificationsOf(validationChange(phoneOnly, { verdict: 'valid', creditHold: null }))[0]?.data)
      .toMatchObject({ to: { email: null, phone: '555-0199' } });
  });
});

describe('validation, for any order', () => {
  it('generates canonical orders the schema accepts', () => {
    fc.assert(fc.property(anyOrder, (o) => isCanonicalOrder(o)), { numRuns: 300 });
    fc.assert(fc.property(wellFormedOrder, (o) => isCanonicalOrder(o)), { numRuns: 300 });
  });

  it('is total and deterministic: never throws, same verdict twice, plain JSON, a legal change from received', () => {
    fc.assert(
      fc.property(anyOrder, anyFacts, anySettings, (o, f, s) => {
        const verdict = validateOrder(o, f, s);
        expect(validateOrder(o, f, s)).toEqual(verdict);
        expect(JSON.parse(JSON.stringify(verdict))).toEqual(verdict);
        if (verdict.verdict === 'reject' || verdict.verdict === 'hold') expect(verdict.rules.length).toBeGreaterThan(0);
        if (verdict.verdict === 'backorder') expect(verdict.shortages.length).toBeGreaterThan(0);
        const change = validationChange(anOrderRecord(o, { id: 'order-1' }), verdict);
        expect(validationChange(anOrderRecord(o, { id: 'order-1' }), verdict)).toEqual(change);
        expect(change.to && canTransition('received', change.to)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('with no rules configured, finds every well-formed, stocked, served order valid', () => {
    fc.assert(
      fc.property(wellFormedOrder, wellFormedFacts, fc.integer({ min: 0, max: 1000 }), (o, f, priceTolerance) => {
        expect(validateOrder(o, f, validationSettings(undefined, { channel: o.channel, priceTolerance }))).toEqual(VALID);
      }),
      { numRuns: 500 },
    );
  });

  it('holds exactly the total as credit for such an order paid with enough store credit', () => {
    fc.assert(
      fc.property(wellFormedOrder, fc.nat(10_000), (o, spare) => {
        const byCredit = { ...o, payment: { method: 'store_credit' as const, provider: null, status: 'paid' as const } };
        const total = o.totals.grandTotal;
        const f = validationFacts([EVERYWHERE], undefined, { storeCredit: { balance: total + spare, currency: o.currency } });
        expect(validateOrder(byCredit, f, validationSettings())).toEqual({ verdict: 'valid', creditHold: total > 0 ? total : null });
      }),
      { numRuns: 200 },
    );
  });
});
