import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compareSettlement,
  parseAdyenSettlementDetails,
  parseCsv,
  parseStripeBalanceTransactions,
  type Discrepancy,
  type LedgerEntry,
  type SettlementRow,
} from '../core/pipeline/settlement.ts';
import { thrownBy } from './support/errors.ts';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/settlements/${name}`, import.meta.url), 'utf8');
const STRIPE_ITEMIZED = fixture('stripe-balance-change-itemized.csv');
const STRIPE_DASHBOARD = fixture('stripe-balance-transactions.csv');
const ADYEN = fixture('adyen-settlement-details.csv');

/** An RFC 4180 writer for the tests: quotes only what has to be quoted. */
function writeCsv(table: readonly (readonly string[])[], eol = '\r\n'): string {
  return table.map((row) => row.map((field) => quoteIfNeeded(field, row.length)).join(',')).join(eol);
}

function quoteIfNeeded(field: string, fieldsInRow: number): string {
  // a lone empty field would be an empty line, which readers skip; a leading BOM would be dropped
  const needed = /[",\r\n]/.test(field) || field.startsWith('\uFEFF') || (fieldsInRow === 1 && field === '');
  return needed ? `"${field.replaceAll('"', '""')}"` : field;
}

function entry(paymentId: string, kind: string, amount: number, currency: string, provider = 'stripe'): LedgerEntry {
  return { provider, paymentId, kind, amount, currency, orderId: null };
}

function row(overrides: Partial<SettlementRow>): SettlementRow {
  return {
    provider: 'stripe',
    paymentId: 'ch_1',
    kind: 'captured',
    gross: 1000,
    fee: 30,
    net: 970,
    currency: 'USD',
    reference: 'pi_1',
    line: 2,
    ...overrides,
  };
}

const withoutLines = (rows: readonly SettlementRow[]) => rows.map(({ line: _line, ...rest }) => rest);

describe('parseCsv', () => {
  it('reads quoted fields with commas, doubled quotes and line breaks', () => {
    const text = 'a,"b, c","say ""hi""","two\nlines","three\r\nlines"\n1,,"",x\n';
    expect(parseCsv(text)).toEqual([
      ['a', 'b, c', 'say "hi"', 'two\nlines', 'three\r\nlines'],
      ['1', '', '', 'x'],
    ]);
  });

  it('accepts CRLF, LF and lone CR line endings, with or without a final one', () => {
    const expected = [['a', 'b'], ['c', 'd'], ['e', 'f']];
    expect(parseCsv('a,b\r\nc,d\r\ne,f\r\n')).toEqual(expected);
    expect(parseCsv('a,b\nc,d\ne,f')).toEqual(expected);
    expect(parseCsv('a,b\rc,d\r\ne,f\n')).toEqual(expected);
  });

  it('drops a byte-order mark at the start, and only there', () => {
    expect(parseCsv('\uFEFFid,Type\r\n1,charge\r\n')).toEqual([['id', 'Type'], ['1', 'charge']]);
    expect(parseCsv('a,\uFEFFb')).toEqual([['a', '\uFEFFb']]);
  });

  it('skips empty lines but keeps a line holding one empty quoted field or only commas', () => {
    expect(parseCsv('\n\na,b\n\n\r\nc,d\n\n')).toEqual([['a', 'b'], ['c', 'd']]);
    expect(parseCsv('a\n""\n,\n')).toEqual([['a'], [''], ['', '']]);
    expect(parseCsv('')).toEqual([]);
    expect(parseCsv('\uFEFF')).toEqual([]);
  });

  it('keeps spaces and a quote inside an unquoted field as they are', () => {
    expect(parseCsv(' a , 5" screen ,b')).toEqual([[' a ', ' 5" screen ', 'b']]);
  });

  it('refuses a quoted field that is never closed, or has text after its closing quote', () => {
    expect(thrownBy(() => parseCsv('a,"b\nc,d\n'))).toMatchObject({ code: 'csv_format', status: 400, details: { line: 1 } });
    expect(thrownBy(() => parseCsv('a,b\n"x"y,z\n'))).toMatchObject({ code: 'csv_format', details: { line: 2 } });
  });

  it('reads back any table written by an RFC 4180 writer (property)', () => {
    const unit = fc.constantFrom('a', 'Z', '0', ' ', ',', '"', '\n', '\r', '\uFEFF', 'é', '€', '😀', '\t');
    const field = fc.oneof(fc.string({ unit, maxLength: 8 }), fc.string({ maxLength: 8 }));
    const table = fc.array(fc.array(field, { minLength: 1, maxLength: 6 }), { maxLength: 8 });
    fc.assert(
      fc.property(table, fc.constantFrom('\r\n', '\n', '\r'), fc.boolean(), fc.boolean(), (rows, eol, bom, finalEol) => {
        const text = (bom ? '\uFEFF' : '') + writeCsv(rows, eol) + (finalEol && rows.length > 0 ? eol : '');
        expect(parseCsv(text)).toEqual(rows);
      }),
      { numRuns: 500 },
    );
  });

  it('throws nothing but a csv_format HubError for any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', ',', '"', '\n', '\r', '\uFEFF') }), (text) => {
        const error = thrownBy(() => parseCsv(text));
        if (error !== undefined) expect(error).toMatchObject({ code: 'csv_format' });
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseStripeBalanceTransactions', () => {
  it('reads the itemized balance report: kinds, minor units, upper-case currency, PaymentIntent as reference', () => {
    const { rows, problems } = parseStripeBalanceTransactions(STRIPE_ITEMIZED);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(9);
    expect(rows[0]).toEqual({
      provider: 'stripe',
      paymentId: 'ch_3NfA00000000000000000001',
      kind: 'captured',
      gross: 10000,
      fee: 320,
      net: 9680,
      currency: 'USD',
      reference: 'pi_3NfA00000000000000000001',
      line: 2,
    });
  });

  it('reads a refund as a positive refunded amount, under its charge and PaymentIntent', () => {
    const refund = parseStripeBalanceTransactions(STRIPE_ITEMIZED).rows[2];
    expect(refund).toEqual({
      provider: 'stripe',
      paymentId: 'ch_3NfA00000000000000000001',
      kind: 'refunded',
      gross: 2000,
      fee: 0,
      net: -2000,
      currency: 'USD',
      reference: 'pi_3NfA00000000000000000001',
      line: 4,
    });
  });

  it('counts lines through quoted line breaks', () => {
    // the refund's description spans lines 4 and 5
    expect(parseStripeBalanceTransactions(STRIPE_ITEMIZED).rows.map((r) => r.line)).toEqual([2, 3, 4, 6, 7, 8, 9, 10, 11]);
  });

  it('reads JPY without decimals, and a converted charge in the currency the customer paid', () => {
    const rows = parseStripeBalanceTransactions(STRIPE_ITEMIZED).rows;
    expect(rows[4]).toMatchObject({ kind: 'captured', gross: 1500, fee: 54, net: 1446, currency: 'JPY' });
    expect(rows[4]).not.toHaveProperty('netCurrency');
    // 20.00 EUR charged, settled as 21.60 USD: the ledger knows the EUR amount
    expect(rows[3]).toMatchObject({ gross: 2000, currency: 'EUR', netCurrency: 'USD', fee: 93, net: 2067 });
    // 12.340 KWD (three decimals) settled as 40.12 USD
    expect(rows[7]).toMatchObject({ gross: 12340, currency: 'KWD', netCurrency: 'USD', fee: 146, net: 3866 });
    expect(rows[5]).toMatchObject({ gross: 3000, currency: 'EUR', fee: 70 });
  });

  it('reads a dispute as disputed with its fee, and a fee line as a positive fee', () => {
    const rows = parseStripeBalanceTransactions(STRIPE_ITEMIZED).rows;
    expect(rows[6]).toMatchObject({ kind: 'disputed', paymentId: 'ch_3NfA00000000000000000002', gross: 1500, fee: 1500, net: -3000 });
    expect(rows[8]).toMatchObject({ kind: 'fee', paymentId: '', gross: 200, fee: 200, net: -200, reference: null });
  });

  it('reads the Dashboard export by its Type column; Source is the only id it has', () => {
    const { rows, problems } = parseStripeBalanceTransactions(STRIPE_DASHBOARD);
    expect(problems).toEqual([]);
    expect(rows.map((r) => [r.kind, r.paymentId, r.gross, r.currency, r.line])).toEqual([
      ['captured', 'ch_3NfB00000000000000000001', 12000, 'USD', 2],
      ['captured', 'py_3NfB00000000000000000002', 6400, 'EUR', 3],
      ['refunded', 're_3NfB00000000000000000003', 2000, 'USD', 4],
      ['disputed', 'du_1NfB00000000000000000004', 6400, 'EUR', 6],
      ['fee', '', 200, 'USD', 7],
      ['other', 'po_1NfB00000000000000000006', -9622, 'USD', 8],
      ['captured', 'ch_3NfB00000000000000000007', 8000, 'JPY', 9],
    ]);
    expect(rows.every((r) => r.reference === null)).toBe(true);
  });

  it('finds columns by name in any order and any case, and ignores unknown ones', () => {
    const [header = [], ...body] = parseCsv(STRIPE_ITEMIZED);
    const order = header.map((_, i) => i).reverse();
    const shuffled = [
      [...order.map((i) => (header[i] ?? '').toUpperCase()), 'Some New Column'],
      ...body.map((fields) => [...order.map((i) => fields[i] ?? ''), 'whatever']),
    ];
    const reread = parseStripeBalanceTransactions(writeCsv(shuffled, '\n'));
    expect(reread.problems).toEqual([]);
    expect(withoutLines(reread.rows)).toEqual(withoutLines(parseStripeBalanceTransactions(STRIPE_ITEMIZED).rows));
  });

  it('reads the same rows from a file with a BOM and CRLF line endings', () => {
    const windows = `\uFEFF${STRIPE_ITEMIZED.replaceAll('\n', '\r\n')}`;
    expect(parseStripeBalanceTransactions(windows)).toEqual(parseStripeBalanceTransactions(STRIPE_ITEMIZED));
  });

  it('reports a missing column once, for the whole file', () => {
    const noFee = STRIPE_DASHBOARD.replace('Amount,Fee,Net', 'Amount,Fees charged,Net');
    expect(parseStripeBalanceTransactions(noFee)).toEqual({ rows: [], problems: [{ line: 1, message: 'missing column(s): Fee' }] });
    const noType = parseStripeBalanceTransactions('id,Source,Amount,Fee,Net\ntxn_1,ch_1,1.00,0.00,1.00\n');
    expect(noType.rows).toEqual([]);
    expect(noType.problems).toEqual([
      { line: 1, message: 'missing column(s): reporting_category or Type; Currency' },
    ]);
    expect(parseStripeBalanceTransactions('')).toEqual({ rows: [], problems: [{ line: 1, message: 'the file is empty: no header line' }] });
  });

  it('reports each unreadable record at its line and keeps the others', () => {
    const csv = [
      'id,Type,Source,Amount,Fee,Net,Currency',
      'txn_1,charge,ch_1,10.00,0.30,9.70,usd',
      'txn_2,charge,ch_2,"10,00",0.30,9.70,usd',
      'txn_3,charge,ch_3,10.005,0.30,9.70,usd',
      'txn_4,charge,ch_4,10.00,0.30,9.70,dollars',
      'txn_5,charge,ch_5,10.00,0.30,9.60,usd',
      'txn_6,charge,ch_6,1500.5,0,1500.5,jpy',
      'txn_7,charge,,10.00,0.30,9.70,usd',
      ',,,,,,',
      'txn_8,refund,re_8,-5.00,0.00,-5.00,usd',
    ].join('\n');
    const { rows, problems } = parseStripeBalanceTransactions(csv);
    expect(rows.map((r) => r.line)).toEqual([2, 10]);
    expect(problems.map((p) => p.line)).toEqual([3, 4, 5, 6, 7, 8]);
    expect(problems[0]?.message).toMatch(/^Amount: not a decimal amount/);
    expect(problems[1]?.message).toMatch(/^Amount: .*more than 2 decimal place/);
    expect(problems[2]?.message).toMatch(/^Currency: not an ISO 4217 currency code/);
    expect(problems[3]?.message).toBe('Net 9.60 is not Amount 10.00 minus Fee 0.30');
    expect(problems[4]?.message).toMatch(/^Amount: .*JPY/);
    expect(problems[5]?.message).toBe('Source is empty on a charge row');
  });

  it('reports a record with a NUL character as a problem at its line, and keeps the others', () => {
    const csv = ['id,Type,Source,Amount,Fee,Net,Currency', 'txn_1,charge,ch_1\u0000x,10.00,0.30,9.70,usd', 'txn_2,charge,ch_2,10.00,0.30,9.70,usd'].join('\n');
    const { rows, problems } = parseStripeBalanceTransactions(csv);
    expect(rows.map((r) => r.paymentId)).toEqual(['ch_2']);
    expect(problems).toEqual([{ line: 2, message: 'a NUL character in the record: a settlement report is text' }]);
  });

  it('reports an unclosed quote as a problem, not an exception', () => {
    expect(parseStripeBalanceTransactions('id,Type\ntxn_1,"charge\n')).toEqual({
      rows: [],
      problems: [{ line: 2, message: 'line 2: a quoted field is never closed' }],
    });
  });
});

describe('parseAdyenSettlementDetails', () => {
  it('reads Settled lines: gross credit, costs as the fee, net credit', () => {
    const { rows, problems } = parseAdyenSettlementDetails(ADYEN);
    expect(problems).toEqual([]);
    expect(rows).toHaveLength(13);
    expect(rows[0]).toEqual({
      provider: 'adyen',
      paymentId: '8815740000000001',
      kind: 'captured',
      gross: 5000,
      fee: 85,
      net: 4915,
      currency: 'GBP',
      reference: '8825740000000011',
      line: 2,
    });
  });

  it('reads a refund under the payment’s pspReference, with its own in reference', () => {
    const refund = parseAdyenSettlementDetails(ADYEN).rows[2];
    expect(refund).toEqual({
      provider: 'adyen',
      paymentId: '8815740000000002',
      kind: 'refunded',
      gross: 2000,
      fee: 10,
      net: -2010,
      currency: 'EUR',
      reference: '8835740000000022',
      line: 4,
    });
  });

  it('reads JPY, KWD and a converted payment (gross in USD, fee and net in EUR)', () => {
    const rows = parseAdyenSettlementDetails(ADYEN).rows;
    expect(rows[3]).toMatchObject({ currency: 'JPY', gross: 5000, fee: 150, net: 4850, line: 6 });
    expect(rows[4]).toMatchObject({ currency: 'KWD', gross: 12345, fee: 370, net: 11975 });
    expect(rows[5]).toMatchObject({ currency: 'USD', gross: 3000, netCurrency: 'EUR', fee: 50, net: 2650 });
  });

  it('reads chargebacks as disputed, Fee lines as fees and payouts as other', () => {
    const rows = parseAdyenSettlementDetails(ADYEN).rows;
    expect(rows[6]).toMatchObject({ kind: 'disputed', paymentId: '8815740000000006', gross: 7500, fee: 200, net: -7700 });
    expect(rows[8]).toMatchObject({ kind: 'fee', paymentId: '', currency: 'EUR', gross: 340, fee: 340, net: -340, reference: 'Transaction Fees March 2025' });
    expect(rows.slice(9).map((r) => [r.kind, r.currency, r.gross])).toEqual([
      ['other', 'GBP', 2785],
      ['other', 'EUR', -15591],
      ['other', 'JPY', -4850],
      ['other', 'KWD', -11975],
    ]);
  });

  it('keeps the quoted merchant references out of the way (comma, doubled quotes, line break)', () => {
    const records = parseCsv(ADYEN);
    expect(records[2]?.[3]).toBe('ORDER-3002, "gift"');
    expect(records[3]?.[21]).toBe('REFUND-3002-1\n(damaged box)');
    expect(parseAdyenSettlementDetails(ADYEN).rows.map((r) => r.line)).toEqual([2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
  });

  it('reads the same rows with a BOM, CRLF and the columns in another order', () => {
    const [header = [], ...body] = parseCsv(ADYEN);
    const order = header.map((_, i) => i).sort((a, b) => ((a * 7) % 23) - ((b * 7) % 23));
    const moved = writeCsv([order.map((i) => (header[i] ?? '').toLowerCase()), ...body.map((f) => order.map((i) => f[i] ?? ''))]);
    const reread = parseAdyenSettlementDetails(`\uFEFF${moved}\r\n`);
    expect(reread.problems).toEqual([]);
    expect(reread.rows).toEqual(parseAdyenSettlementDetails(ADYEN).rows);
  });

  it('reports a missing column once, for the whole file', () => {
    const noNetCredit = ADYEN.replace('Net Credit (NC),', 'Net Kredit (NC),');
    expect(parseAdyenSettlementDetails(noNetCredit)).toEqual({
      rows: [],
      problems: [{ line: 1, message: 'missing column(s): Net Credit (NC)' }],
    });
  });

  it('reports a payment line without its pspReference, gross or a consistent net', () => {
    const header = ADYEN.slice(0, ADYEN.indexOf('\n'));
    const csv = [
      header,
      'Co,M,,ORDER-1,visa,2025-03-03 10:15:00,CET,Settled,882,EUR,,10.00,1,EUR,,9.70,0.30,,,,visa,,1',
      'Co,M,881,ORDER-2,visa,2025-03-03 10:15:00,CET,Settled,882,EUR,,,1,EUR,,9.70,0.30,,,,visa,,1',
      'Co,M,881,ORDER-3,visa,2025-03-03 10:15:00,CET,Settled,882,EUR,,10.00,1,EUR,,9.80,0.30,,,,visa,,1',
      'Co,M,881,ORDER-4,visa,2025-03-03 10:15:00,CET,Settled,882,,,10.00,1,EUR,,9.70,0.30,,,,visa,,1',
    ].join('\n');
    const { rows, problems } = parseAdyenSettlementDetails(csv);
    expect(rows).toEqual([]);
    expect(problems).toEqual([
      { line: 2, message: 'Psp Reference is empty on a Settled row' },
      { line: 3, message: 'a Settled row has no Gross Debit or Gross Credit' },
      { line: 4, message: 'the net amount 980 is not the gross 1000 minus the costs 30 (minor units)' },
      { line: 5, message: 'Gross Credit (GC): "10.00" has no currency' },
    ]);
  });
});

describe('compareSettlement', () => {
  const STRIPE_LEDGER: LedgerEntry[] = [
    entry('pi_3NfA00000000000000000001', 'authorized', 10000, 'USD'),
    entry('pi_3NfA00000000000000000001', 'captured', 10000, 'USD'),
    entry('pi_3NfA00000000000000000001', 'refunded', 2000, 'USD'),
    // the report says 45.50
    entry('pi_3NfA00000000000000000002', 'captured', 4500, 'USD'),
    entry('pi_3NfA00000000000000000002', 'disputed', 1500, 'USD'),
    entry('pi_3NfA00000000000000000004', 'captured', 2000, 'EUR'),
    entry('pi_3NfA00000000000000000005', 'captured', 1500, 'JPY'),
    // pi_…0006 (Order #1006, 30.00 EUR) was never recorded
    entry('pi_3NfA00000000000000000008', 'captured', 12340, 'KWD'),
    entry('pi_3NfA00000000000000000009', 'failed', 999, 'USD'),
  ];

  it('finds exactly the payment missing from the ledger and the one with another amount (Stripe)', () => {
    const { rows } = parseStripeBalanceTransactions(STRIPE_ITEMIZED);
    const result = compareSettlement(rows, STRIPE_LEDGER, 'stripe');
    expect(result.discrepancies).toEqual<Discrepancy[]>([
      {
        kind: 'amount',
        paymentId: 'pi_3NfA00000000000000000002',
        ledger: 4500,
        report: 4550,
        currency: 'USD',
        movement: 'captured',
      },
      { kind: 'missing_in_ledger', row: rows[5] as SettlementRow },
    ]);
    expect(result.matched).toBe(6);
    // 3.20 + 1.62 + 0.93 + 15.00 + 1.46 + 2.00 in USD: converted charges pay their fee in USD
    expect(result.fees).toEqual({ USD: 2421, JPY: 54, EUR: 70 });
  });

  it('finds exactly the payment missing from the ledger and the one with another amount (Adyen)', () => {
    const { rows } = parseAdyenSettlementDetails(ADYEN);
    const ledger = [
      entry('8815740000000001', 'captured', 5000, 'GBP', 'adyen'),
      entry('8815740000000002', 'captured', 12000, 'EUR', 'adyen'),
      entry('8815740000000002', 'refunded', 2000, 'EUR', 'adyen'),
      entry('8815740000000003', 'captured', 5000, 'JPY', 'adyen'),
      // the report says 12.345 KWD: five fils more
      entry('8815740000000004', 'captured', 12340, 'KWD', 'adyen'),
      entry('8815740000000005', 'captured', 3000, 'USD', 'adyen'),
      entry('8815740000000006', 'disputed', 7500, 'GBP', 'adyen'),
      // 8815740000000007 (ORDER-3007) was never recorded
    ];
    const result = compareSettlement(rows, ledger, 'adyen');
    expect(result.discrepancies).toEqual<Discrepancy[]>([
      { kind: 'amount', paymentId: '8815740000000004', ledger: 12340, report: 12345, currency: 'KWD', movement: 'captured' },
      { kind: 'missing_in_ledger', row: rows[7] as SettlementRow },
    ]);
    // 3001, 3002 captured and refunded, 3003, 3005, the 3006 chargeback
    expect(result.matched).toBe(6);
    expect(result.fees).toEqual({ GBP: 285, EUR: 609, JPY: 150, KWD: 370 });
  });

  it('matches a refund recorded in the ledger, and reports one on either side only', () => {
    const rows = [
      row({ paymentId: 'ch_1', reference: 'pi_1', kind: 'captured', gross: 5000 }),
      row({ paymentId: 'ch_1', reference: 'pi_1', kind: 'refunded', gross: 1500, fee: 0, net: -1500 }),
      row({ paymentId: 'ch_1', reference: 'pi_1', kind: 'refunded', gross: 500, fee: 0, net: -500 }),
      row({ paymentId: 'ch_2', reference: 'pi_2', kind: 'captured', gross: 800 }),
      row({ paymentId: 'ch_2', reference: 'pi_2', kind: 'refunded', gross: 800, fee: 0, net: -800 }),
    ];
    const ledger = [
      entry('pi_1', 'captured', 5000, 'USD'),
      // two partial refunds against two report lines: compared as sums
      entry('pi_1', 'refunded', 1000, 'USD'),
      entry('pi_1', 'refunded', 1000, 'USD'),
      entry('pi_2', 'captured', 800, 'USD'),
      entry('pi_3', 'captured', 700, 'USD'),
      entry('pi_3', 'refunded', 700, 'USD'),
      entry('pi_3', 'voided', 700, 'USD'),
    ];
    const result = compareSettlement(rows, ledger, 'stripe');
    expect(result.discrepancies).toEqual<Discrepancy[]>([
      { kind: 'missing_in_ledger', row: rows[4] as SettlementRow },
      { kind: 'missing_in_report', entry: ledger[4] as LedgerEntry },
      { kind: 'missing_in_report', entry: ledger[5] as LedgerEntry },
    ]);
    expect(result.matched).toBe(3);
  });

  it('reports a different currency instead of comparing amounts across currencies', () => {
    const rows = [row({ paymentId: 'ch_1', reference: 'pi_1', currency: 'EUR', gross: 1000 })];
    const result = compareSettlement(rows, [entry('pi_1', 'captured', 1000, 'USD')], 'stripe');
    expect(result.discrepancies).toEqual([{ kind: 'currency', paymentId: 'pi_1', ledger: 'USD', report: 'EUR' }]);
    expect(result.matched).toBe(0);
  });

  it('matches by paymentId first, then by reference, and ignores other providers', () => {
    const rows = [
      row({ paymentId: 'pi_1', reference: null, gross: 100 }),
      row({ paymentId: 'ch_2', reference: 'pi_2', gross: 200 }),
      row({ provider: 'adyen', paymentId: 'pi_3', reference: null, gross: 300 }),
    ];
    const ledger = [
      entry('pi_1', 'captured', 100, 'USD'),
      entry('pi_2', 'captured', 200, 'USD'),
      entry('pi_3', 'captured', 300, 'USD', 'adyen'),
    ];
    expect(compareSettlement(rows, ledger, 'stripe')).toEqual({ matched: 2, discrepancies: [], fees: { USD: 60 } });
  });

  it('reports a dispute the ledger never recorded, without comparing dispute amounts', () => {
    const rows = [
      row({ paymentId: 'ch_1', reference: 'pi_1', kind: 'captured', gross: 1000 }),
      row({ paymentId: 'ch_1', reference: 'pi_1', kind: 'disputed', gross: 1000, fee: 1500, net: -2500 }),
      row({ paymentId: 'ch_2', reference: 'pi_2', kind: 'captured', gross: 1000 }),
      row({ paymentId: 'ch_2', reference: 'pi_2', kind: 'disputed', gross: 1000, fee: 1500, net: -2500 }),
    ];
    const ledger = [
      entry('pi_1', 'captured', 1000, 'USD'),
      entry('pi_1', 'disputed', 999, 'USD'),
      entry('pi_2', 'captured', 1000, 'USD'),
    ];
    const result = compareSettlement(rows, ledger, 'stripe');
    expect(result.discrepancies).toEqual([{ kind: 'missing_in_ledger', row: rows[3] }]);
    expect(result.matched).toBe(3);
  });

  it('matches nothing from the Dashboard export against a PaymentIntent ledger: it has no PaymentIntent column', () => {
    const { rows } = parseStripeBalanceTransactions(STRIPE_DASHBOARD);
    const ledger = [entry('pi_3NfB00000000000000000001', 'captured', 12000, 'USD')];
    const result = compareSettlement(rows, ledger, 'stripe');
    expect(result.matched).toBe(0);
    expect(result.discrepancies.map((d) => d.kind)).toEqual([
      'missing_in_ledger',
      'missing_in_ledger',
      'missing_in_ledger',
      'missing_in_ledger',
      'missing_in_ledger',
      'missing_in_report',
    ]);
    expect(result.fees).toEqual({ USD: 578, EUR: 1595, JPY: 287 });
  });

  const anyText = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('__proto__', 'constructor', 'pi_1', 'ch_1', 'USD', ''));
  const anyRow: fc.Arbitrary<SettlementRow> = fc.record(
    {
      provider: fc.constantFrom('stripe', 'adyen'),
      paymentId: anyText,
      kind: fc.constantFrom('captured', 'refunded', 'disputed', 'fee', 'other'),
      gross: fc.integer(),
      fee: fc.integer(),
      net: fc.integer(),
      currency: anyText,
      netCurrency: anyText,
      reference: fc.option(anyText),
      line: fc.nat(),
    },
    { requiredKeys: ['provider', 'paymentId', 'kind', 'gross', 'fee', 'net', 'currency', 'reference', 'line'] },
  );
  const anyEntry: fc.Arbitrary<LedgerEntry> = fc.record({
    provider: fc.constantFrom('stripe', 'adyen', 'paypal'),
    paymentId: anyText,
    kind: fc.oneof(fc.constantFrom('authorized', 'captured', 'failed', 'refunded', 'disputed', 'voided'), anyText),
    amount: fc.oneof(fc.integer(), fc.double()),
    currency: anyText,
    orderId: fc.option(anyText),
  });

  it('never throws, and accounts for every captured or refunded ledger entry (property)', () => {
    fc.assert(
      fc.property(fc.array(anyRow, { maxLength: 12 }), fc.array(anyEntry, { maxLength: 12 }), (rows, ledger) => {
        const result = compareSettlement(rows, ledger, 'stripe');
        expect(result.matched).toBeGreaterThanOrEqual(0);
        for (const d of result.discrepancies) {
          if (d.kind === 'missing_in_ledger') expect(d.row.provider).toBe('stripe');
          if (d.kind === 'missing_in_report') expect(['captured', 'refunded']).toContain(d.entry.kind);
        }
      }),
      { numRuns: 500 },
    );
  });

  /** Report rows for some payments and a ledger built from them, split into one or two entries each. */
  const reportAndLedger = fc
    .array(
      fc.record({
        currency: fc.constantFrom('USD', 'EUR', 'JPY', 'KWD'),
        viaReference: fc.boolean(),
        movements: fc.array(
          fc.record({
            kind: fc.constantFrom<'captured' | 'refunded' | 'disputed'>('captured', 'refunded', 'disputed'),
            gross: fc.integer({ min: 1, max: 10_000_000 }),
            split: fc.boolean(),
          }),
          { minLength: 1, maxLength: 4 },
        ),
        noise: fc.array(fc.constantFrom<'fee' | 'other'>('fee', 'other'), { maxLength: 2 }),
      }),
      { minLength: 1, maxLength: 8 },
    )
    .map((payments) => {
      const rows: SettlementRow[] = [];
      const ledger: LedgerEntry[] = [];
      payments.forEach((payment, i) => {
        const first = payment.movements[0];
        // every payment starts with a capture, so there is always one to tamper with
        const movements = first === undefined ? [] : [{ ...first, kind: 'captured' as const }, ...payment.movements.slice(1)];
        for (const movement of movements) {
          rows.push(
            row({
              paymentId: payment.viaReference ? `ch_${i}` : `pi_${i}`,
              reference: payment.viaReference ? `pi_${i}` : null,
              kind: movement.kind,
              gross: movement.gross,
              currency: payment.currency,
              line: rows.length + 2,
            }),
          );
          const half = Math.floor(movement.gross / 2);
          const parts = movement.split ? [half, movement.gross - half] : [movement.gross];
          for (const amount of parts) ledger.push(entry(`pi_${i}`, movement.kind, amount, payment.currency));
        }
        for (const kind of payment.noise) rows.push(row({ paymentId: `po_${i}`, reference: null, kind, gross: 1, fee: 1, net: -1 }));
      });
      const movements = new Set(ledger.map((e) => `${e.kind} ${e.paymentId}`));
      return { rows, ledger, movements: movements.size };
    });

  it('finds no discrepancy when the ledger equals the report (property)', () => {
    fc.assert(
      fc.property(reportAndLedger, fc.boolean(), ({ rows, ledger, movements }, reversed) => {
        const result = compareSettlement(rows, reversed ? [...ledger].reverse() : ledger, 'stripe');
        expect(result.discrepancies).toEqual([]);
        expect(result.matched).toBe(movements);
      }),
      { numRuns: 300 },
    );
  });

  it('finds exactly one amount discrepancy when one capture is off by any amount (property)', () => {
    fc.assert(
      fc.property(reportAndLedger, fc.nat(), fc.integer({ min: -1000, max: 1000 }).filter((d) => d !== 0), (data, pick, delta) => {
        const captures = data.ledger.filter((e) => e.kind === 'captured');
        const target = captures[pick % captures.length] as LedgerEntry;
        const ledger = data.ledger.map((e) => (e === target ? { ...e, amount: e.amount + delta } : e));
        const result = compareSettlement(data.rows, ledger, 'stripe');
        expect(result.discrepancies).toHaveLength(1);
        expect(result.discrepancies[0]).toMatchObject({ kind: 'amount', paymentId: target.paymentId, movement: 'captured', currency: target.currency });
        expect(result.matched).toBe(data.movements - 1);
      }),
      { numRuns: 300 },
    );
  });
});

describe('settlement parsers on arbitrary input', () => {
  const cell = fc.oneof(
    fc.constantFrom('', '10.00', '-10.00', '0', '1500', '12.345', '1e5', ' 1.00', '10,00', '99999999999999999999', 'usd', 'JPY', 'kwd', 'xx'),
    fc.constantFrom('charge', 'refund', 'adjustment', 'stripe_fee', 'payout', 'Settled', 'Refunded', 'Chargeback', 'Fee', 'MerchantPayout'),
    fc.constantFrom('ch_1', 'pi_1', '8815740000000001', '"', '\n'),
    fc.string({ maxLength: 5 }),
  );

  it('never throw, and every row they return holds safe integers and a currency code (property)', () => {
    const stripeHeader = ['id', 'Type', 'Source', 'Amount', 'Fee', 'Net', 'Currency', 'Customer Facing Amount', 'Customer Facing Currency', 'payment_intent_id'];
    const adyenHeader = parseCsv(ADYEN)[0] ?? [];
    fc.assert(
      fc.property(
        fc.array(fc.array(cell, { minLength: 0, maxLength: 24 }), { maxLength: 6 }),
        fc.boolean(),
        fc.string({ maxLength: 3 }),
        (body, stripe, tail) => {
          const header = stripe ? stripeHeader : adyenHeader;
          const csv = writeCsv([header, ...body], '\n') + tail;
          const read = stripe ? parseStripeBalanceTransactions(csv) : parseAdyenSettlementDetails(csv);
          for (const r of read.rows) {
            for (const n of [r.gross, r.fee, r.net]) expect(Number.isSafeInteger(n)).toBe(true);
            expect(r.currency).toMatch(/^[A-Z]{3}$/);
          }
          for (const p of read.problems) expect(p.line).toBeGreaterThanOrEqual(1);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('return a problem, not an exception, for malformed CSV', () => {
    expect(parseStripeBalanceTransactions('\uFEFF"')).toEqual({ rows: [], problems: [{ line: 1, message: 'line 1: a quoted field is never closed' }] });
    expect(parseAdyenSettlementDetails('a,"b"c')).toEqual({ rows: [], problems: [{ line: 1, message: 'line 1: text after the closing quote of a field' }] });
  });
});
