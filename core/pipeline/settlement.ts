import { HubError } from '../errors.ts';
import { currencyExponent, toMinorUnits } from '../money.ts';

/**
 * Settlement reports: what a payment provider says it actually moved, read from its CSV
 * export and compared with the hub's payments ledger. Pure: text in, rows and
 * discrepancies out. Amounts are integer minor units, converted from the reports' decimal
 * strings by `toMinorUnits`; a float never touches them.
 *
 * Formats (details and sources in test/fixtures/settlements/README.md):
 * - Stripe: the Dashboard balance-transactions export (`id, Type, Source, Amount, Fee,
 *   Net, Currency, …`) and the Reports API "balance change from activity, itemized" CSV
 *   (`balance_transaction_id, gross, fee, net, currency, reporting_category, source_id,
 *   charge_id, payment_intent_id, …`). Decimal amounts, lower-case currency.
 * - Adyen: the Settlement details report (`Psp Reference, Type, Modification Reference,
 *   Gross Currency, Gross Debit (GC), Gross Credit (GC), Net Currency, Net Debit (NC),
 *   Net Credit (NC), Commission (NC), Markup (NC), Scheme Fees (NC), Interchange (NC), …`).
 */

/** What a report row did with money, in the hub's terms. */
export type SettlementKind = 'captured' | 'refunded' | 'disputed' | 'fee' | 'other';

/**
 * One line of a settlement report.
 *
 * Signs: `gross` is positive in the direction of its own movement (money captured, money
 * refunded, money withdrawn by a dispute, a fee charged); a reversal of that movement (a
 * partial-capture reversal, a failed refund, a dispute won, a fee refunded) is negative.
 * `kind: 'other'` rows (payouts, transfers, deposit corrections…) keep the report's sign:
 * positive adds to the balance. `fee` is what the provider kept for this line, positive
 * when it is a cost. `net` is the signed change of the merchant's balance.
 */
export interface SettlementRow {
  provider: 'stripe' | 'adyen';
  /**
   * The provider's payment the line belongs to. Stripe: the `charge_id` column when the
   * report has one, else `Source` (`ch_…`, `py_…`, `re_…`, `du_…`, `po_…`). Adyen: `Psp
   * Reference`, the pspReference of the original payment (also on refunds and chargebacks).
   */
  paymentId: string;
  kind: SettlementKind;
  /** minor units of `currency` */
  gross: number;
  /** minor units of `netCurrency ?? currency` */
  fee: number;
  /** minor units of `netCurrency ?? currency` */
  net: number;
  /** ISO 4217, upper case: the currency of `gross`, the one the customer paid in */
  currency: string;
  /**
   * Present only when `fee` and `net` are in another currency than `gross` (the payment was
   * converted before settlement: Adyen's Net Currency, Stripe's balance currency when the
   * customer-facing currency differs).
   */
  netCurrency?: string;
  /**
   * A second id to match the ledger by. Stripe: the PaymentIntent id (`payment_intent_id`
   * column), null when the report has no such column. Adyen: `Modification Reference` (the
   * capture's or refund's own pspReference; free text on fee and payout lines).
   */
  reference: string | null;
  /** line in the file where the record starts, 1-based */
  line: number;
}

/** Something in a report that could not be read; `line` is where its record starts. */
export interface SettlementProblem {
  line: number;
  message: string;
}

/** What reading a report yields: the rows understood and a problem for each one that was not. */
export interface SettlementImport {
  rows: SettlementRow[];
  problems: SettlementProblem[];
}

/** One row of the hub's payments ledger, as far as the comparison needs it. */
export interface LedgerEntry {
  provider: string;
  paymentId: string;
  kind: string;
  /** minor units of `currency` */
  amount: number;
  currency: string;
  orderId: string | null;
}

/** A difference between a settlement report and the ledger. */
export type Discrepancy =
  /** the provider settled money the hub never recorded */
  | { kind: 'missing_in_ledger'; row: SettlementRow }
  /** the hub recorded a capture or refund the report does not have */
  | { kind: 'missing_in_report'; entry: LedgerEntry }
  | { kind: 'amount'; paymentId: string; ledger: number; report: number; currency: string; movement: 'captured' | 'refunded' }
  | { kind: 'currency'; paymentId: string; ledger: string; report: string };

/** The outcome of {@link compareSettlement}. */
export interface SettlementComparison {
  /** payment movements (payment × captured / refunded / disputed) found on both sides and in agreement */
  matched: number;
  discrepancies: Discrepancy[];
  /** what the provider kept, per currency (minor units, positive = cost) */
  fees: Record<string, number>;
}

// ---------------------------------------------------------------------------------------
// CSV (RFC 4180, read leniently)
// ---------------------------------------------------------------------------------------

interface CsvRecord {
  fields: string[];
  /** 1-based line where the record starts */
  line: number;
}

/**
 * Reads CSV text (RFC 4180) into records of fields. Fields are separated by commas;
 * records by CRLF, LF or a lone CR. A field in double quotes may hold commas, line breaks
 * and `""` for one quote. A leading byte-order mark is dropped; empty lines are skipped;
 * a final line break does not start a record. Nothing is trimmed. A quote inside an
 * unquoted field is kept as it is.
 *
 * @throws HubError `csv_format` (400) for a quoted field that is never closed or is
 *   followed by anything but a comma or a line break.
 */
export function parseCsv(text: string): string[][] {
  return readCsvRecords(text).map((record) => record.fields);
}

function readCsvRecords(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  const end = text.length;
  let at = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let line = 1;
  while (at < end) {
    if (text[at] === '\n' || text[at] === '\r') {
      at += text.startsWith('\r\n', at) ? 2 : 1;
      line += 1;
      continue;
    }
    const start = line;
    const fields: string[] = [];
    for (;;) {
      if (text[at] === '"') {
        const opened = line;
        let value = '';
        at += 1;
        for (;;) {
          const quote = text.indexOf('"', at);
          if (quote === -1) throw csvError(`line ${opened}: a quoted field is never closed`, opened);
          const chunk = text.slice(at, quote);
          line += lineBreaks(chunk);
          value += chunk;
          at = quote + 1;
          if (text[at] !== '"') break;
          value += '"';
          at += 1;
        }
        if (at < end && text[at] !== ',' && text[at] !== '\n' && text[at] !== '\r') {
          throw csvError(`line ${line}: text after the closing quote of a field`, line);
        }
        fields.push(value);
      } else {
        let stop = at;
        while (stop < end && text[stop] !== ',' && text[stop] !== '\n' && text[stop] !== '\r') stop += 1;
        fields.push(text.slice(at, stop));
        at = stop;
      }
      if (at >= end) break;
      if (text[at] === ',') {
        at += 1;
        continue;
      }
      at += text.startsWith('\r\n', at) ? 2 : 1;
      line += 1;
      break;
    }
    records.push({ fields, line: start });
  }
  return records;
}

function lineBreaks(chunk: string): number {
  return chunk.match(/\r\n|\r|\n/g)?.length ?? 0;
}

function csvError(message: string, line: number): HubError {
  return new HubError('csv_format', message, { status: 400, details: { line } });
}

// ---------------------------------------------------------------------------------------
// Reading a report: header by name, one row per record
// ---------------------------------------------------------------------------------------

/** `Created (UTC)`, `created_utc` and ` CREATED  (utc) ` all read the same. */
function headerKey(name: string): string {
  return name.trim().toLowerCase().replace(/[\s_]+/g, ' ');
}

type Find = (names: readonly string[]) => number | undefined;

/** Column positions by name; the first column of a repeated name wins. */
function columnFinder(header: readonly string[]): Find {
  const positions = new Map<string, number>();
  header.forEach((name, index) => {
    const key = headerKey(name);
    if (!positions.has(key)) positions.set(key, index);
  });
  return (names) => {
    for (const name of names) {
      const index = positions.get(headerKey(name));
      if (index !== undefined) return index;
    }
    return undefined;
  };
}

/** The positions of all `required` columns, or the names of those that are missing. */
function requireColumns<K extends string>(
  find: Find,
  required: Readonly<Record<K, readonly string[]>>,
): { ok: true; columns: Record<K, number> } | { ok: false; missing: string[] } {
  const columns: Partial<Record<K, number>> = {};
  const missing: string[] = [];
  for (const key of Object.keys(required) as K[]) {
    const names = required[key];
    const index = find(names);
    if (index === undefined) missing.push(names.join(' or '));
    else columns[key] = index;
  }
  return missing.length > 0 ? { ok: false, missing } : { ok: true, columns: columns as Record<K, number> };
}

/** The trimmed text of a cell; '' when the column is absent or the record is short. */
function cellOf(record: CsvRecord, index: number | undefined): string {
  return index === undefined ? '' : (record.fields[index] ?? '').trim();
}

/**
 * Reads every record after the header with `readRow`. A HubError thrown while reading a
 * record becomes a problem at its line; blank records (only empty cells) are skipped.
 */
function readReport(
  csv: string,
  start: (header: CsvRecord) => ((record: CsvRecord) => SettlementRow) | string[],
): SettlementImport {
  let records: CsvRecord[];
  try {
    records = readCsvRecords(csv);
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    const line = typeof error.details?.line === 'number' ? error.details.line : 1;
    return { rows: [], problems: [{ line, message: error.message }] };
  }
  const [header, ...body] = records;
  if (header === undefined) return { rows: [], problems: [{ line: 1, message: 'the file is empty: no header line' }] };
  const readRow = start(header);
  if (Array.isArray(readRow)) {
    return { rows: [], problems: [{ line: header.line, message: `missing column(s): ${readRow.join('; ')}` }] };
  }
  const rows: SettlementRow[] = [];
  const problems: SettlementProblem[] = [];
  for (const record of body) {
    if (record.fields.every((field) => field.trim() === '')) continue;
    // No report has one, and Postgres refuses it in text: the record is a problem, not a row.
    if (record.fields.some((field) => field.includes('\u0000'))) {
      problems.push({ line: record.line, message: 'a NUL character in the record: a settlement report is text' });
      continue;
    }
    try {
      rows.push(readRow(record));
    } catch (error) {
      if (!(error instanceof HubError)) throw error;
      problems.push({ line: record.line, message: error.message });
    }
  }
  return { rows, problems };
}

function rowError(message: string): HubError {
  return new HubError('settlement_row', message, { status: 400 });
}

/** Runs `read`, naming `column` in the message of any HubError it throws. */
function inColumn<T>(column: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof HubError)) throw error;
    throw new HubError(error.code, `${column}: ${error.message}`, { status: 400, cause: error });
  }
}

/** `usd` → `USD`, checked against ISO 4217's shape. */
function currencyIn(column: string, text: string): string {
  return inColumn(column, () => {
    if (text === '') throw rowError('empty');
    const code = text.toUpperCase();
    currencyExponent(code);
    return code;
  });
}

function amountIn(column: string, text: string, currency: string): number {
  return inColumn(column, () => {
    if (text === '') throw rowError('empty');
    return toMinorUnits(text, currency);
  });
}

/** An amount cell that may be empty (0), as in Adyen's debit / credit columns. */
function optionalAmountIn(column: string, text: string, currency: string | null): number {
  if (text === '') return 0;
  if (currency === null) throw rowError(`${column}: ${JSON.stringify(text)} has no currency`);
  return amountIn(column, text, currency);
}

/** `-n` without producing `-0`. */
function negate(n: number): number {
  return n === 0 ? 0 : -n;
}

/** +1 when a positive balance effect is the movement itself (a capture), -1 when it is the opposite. */
const DIRECTION: Readonly<Record<SettlementKind, 1 | -1>> = {
  captured: 1,
  refunded: -1,
  disputed: -1,
  fee: -1,
  other: 1,
};

function isPaymentMovement(kind: SettlementKind): boolean {
  return kind === 'captured' || kind === 'refunded' || kind === 'disputed';
}

// ---------------------------------------------------------------------------------------
// Stripe
// ---------------------------------------------------------------------------------------

/** `reporting_category` (Reports API), the finer of Stripe's two classifications. */
const STRIPE_CATEGORY_KINDS: Readonly<Record<string, SettlementKind>> = {
  charge: 'captured',
  // the uncaptured part of an authorization, handed back: negative `captured`
  partial_capture_reversal: 'captured',
  // an asynchronous payment that failed after it was credited: negative `captured`
  charge_failure: 'captured',
  refund: 'refunded',
  // a refund that did not reach the customer and came back: negative `refunded`
  refund_failure: 'refunded',
  dispute: 'disputed',
  dispute_reversal: 'disputed',
  fee: 'fee',
};

/** `Type` (Dashboard export; the balance transaction's `type`). */
const STRIPE_TYPE_KINDS: Readonly<Record<string, SettlementKind>> = {
  charge: 'captured',
  payment: 'captured',
  refund: 'refunded',
  payment_refund: 'refunded',
  refund_failure: 'refunded',
  // `adjustment` is mostly disputes (withdrawal and reinstatement); `reporting_category`
  // tells them apart from other adjustments when the report has it
  adjustment: 'disputed',
  stripe_fee: 'fee',
  stripe_fx_fee: 'fee',
  tax_fee: 'fee',
  application_fee: 'fee',
  application_fee_refund: 'fee',
};

function kindOf(table: Readonly<Record<string, SettlementKind>>, value: string): SettlementKind {
  const key = value.toLowerCase().replace(/[\s-]+/g, '_');
  return Object.hasOwn(table, key) ? (table[key] ?? 'other') : 'other';
}

/**
 * Reads a Stripe balance-transactions CSV: the Dashboard export or a Reports API
 * "balance change from activity, itemized" report. Columns are found by name (case,
 * spaces and underscores do not matter; order does not matter; others are ignored):
 * `Type` or `reporting_category` (the latter preferred), `Source` or `source_id`, `Amount`
 * or `gross`, `Fee`, `Net`, `Currency` are required; `charge_id`, `payment_intent_id`,
 * `Customer Facing Amount` and `Customer Facing Currency` are used when present.
 *
 * Kinds: charge / payment → captured; refund / payment_refund → refunded; adjustment,
 * dispute, dispute_reversal → disputed; stripe_fee, application_fee, fee → fee; everything
 * else (payouts, transfers…) → other. When the customer-facing currency differs from the
 * balance currency, `gross` is the customer-facing amount and `netCurrency` the balance's.
 * A record whose Net is not Amount − Fee is refused.
 */
export function parseStripeBalanceTransactions(csv: string): SettlementImport {
  return readReport(csv, (header) => {
    const find = columnFinder(header.fields);
    const found = requireColumns(find, {
      type: ['reporting_category', 'Type'],
      source: ['Source', 'source_id'],
      amount: ['Amount', 'gross'],
      fee: ['Fee'],
      net: ['Net'],
      currency: ['Currency'],
    });
    if (!found.ok) return found.missing;
    const column = found.columns;
    const typeFallback = find(['Type']);
    const chargeId = find(['charge_id']);
    const paymentIntentId = find(['payment_intent_id', 'Payment Intent ID', 'PaymentIntent ID', 'payment_intent']);
    const customerAmount = find(['Customer Facing Amount']);
    const customerCurrency = find(['Customer Facing Currency']);
    const categoryColumn = headerKey(header.fields[column.type] ?? '') === 'reporting category';

    return (record) => {
      const cell = (index: number | undefined) => cellOf(record, index);
      const category = cell(column.type);
      const typeText = category !== '' ? category : cell(typeFallback);
      if (typeText === '') throw rowError('the type of the transaction is empty');
      const kind = kindOf(categoryColumn && category !== '' ? STRIPE_CATEGORY_KINDS : STRIPE_TYPE_KINDS, typeText);

      const currency = currencyIn('Currency', cell(column.currency));
      const amount = amountIn('Amount', cell(column.amount), currency);
      const fee = amountIn('Fee', cell(column.fee), currency);
      const net = amountIn('Net', cell(column.net), currency);
      if (net !== amount - fee) {
        throw rowError(
          `Net ${cell(column.net)} is not Amount ${cell(column.amount)} minus Fee ${cell(column.fee)}`,
        );
      }
      const paymentId = cell(chargeId) || cell(column.source);
      if (isPaymentMovement(kind) && paymentId === '') throw rowError(`Source is empty on a ${typeText} row`);

      let gross = DIRECTION[kind] === 1 ? amount : negate(amount);
      let grossCurrency = currency;
      const customerCurrencyText = cell(customerCurrency);
      if (customerCurrencyText !== '') {
        const customer = currencyIn('Customer Facing Currency', customerCurrencyText);
        if (customer !== currency) {
          const customerGross = Math.abs(amountIn('Customer Facing Amount', cell(customerAmount), customer));
          gross = gross < 0 ? negate(customerGross) : gross === 0 ? 0 : customerGross;
          grossCurrency = customer;
        }
      }
      const reference = cell(paymentIntentId);
      return {
        provider: 'stripe',
        paymentId,
        kind,
        gross,
        fee: kind === 'fee' ? negate(net) : fee,
        net,
        currency: grossCurrency,
        ...(grossCurrency !== currency ? { netCurrency: currency } : {}),
        reference: reference === '' ? null : reference,
        line: record.line,
      };
    };
  });
}

// ---------------------------------------------------------------------------------------
// Adyen
// ---------------------------------------------------------------------------------------

/** Adyen journal types (the `Type` column), lower-cased; the rest are `other`. */
const ADYEN_TYPE_KINDS: Readonly<Record<string, SettlementKind>> = {
  settled: 'captured',
  refunded: 'refunded',
  // a refund the scheme could not credit to the shopper, returned: negative `refunded`
  refundedreversed: 'refunded',
  chargeback: 'disputed',
  secondchargeback: 'disputed',
  chargebackreversed: 'disputed',
  // Adyen's own charges booked as lines of their own
  fee: 'fee',
  misccosts: 'fee',
  paymentcost: 'fee',
  authorisationschemefee: 'fee',
};

/**
 * Reads an Adyen Settlement details report. Required columns (by name, any order, case
 * free): `Psp Reference`, `Type`, `Modification Reference`, `Gross Currency`, `Gross Debit
 * (GC)`, `Gross Credit (GC)`, `Net Currency`, `Net Debit (NC)`, `Net Credit (NC)`,
 * `Commission (NC)`, `Markup (NC)`, `Scheme Fees (NC)`, `Interchange (NC)`.
 *
 * Kinds: Settled → captured (gross credit); Refunded / RefundedReversed → refunded (gross
 * debit); Chargeback / SecondChargeback / ChargebackReversed → disputed; Fee / MiscCosts /
 * PaymentCost / AuthorisationSchemeFee → fee (the net debit); MerchantPayout,
 * Balancetransfer, DepositCorrection and the rest → other. `gross` is in the gross
 * currency; `fee` (Commission + Markup + Scheme Fees + Interchange) and `net` in the net
 * currency. An empty amount cell is 0. When gross and net currency are the same, a
 * payment line whose net is not gross minus those costs is refused.
 */
export function parseAdyenSettlementDetails(csv: string): SettlementImport {
  return readReport(csv, (header) => {
    const find = columnFinder(header.fields);
    const found = requireColumns(find, {
      pspReference: ['Psp Reference'],
      type: ['Type'],
      modificationReference: ['Modification Reference'],
      grossCurrency: ['Gross Currency'],
      grossDebit: ['Gross Debit (GC)'],
      grossCredit: ['Gross Credit (GC)'],
      netCurrency: ['Net Currency'],
      netDebit: ['Net Debit (NC)'],
      netCredit: ['Net Credit (NC)'],
      commission: ['Commission (NC)'],
      markup: ['Markup (NC)'],
      schemeFees: ['Scheme Fees (NC)'],
      interchange: ['Interchange (NC)'],
    });
    if (!found.ok) return found.missing;
    const column = found.columns;

    return (record) => {
      const cell = (index: number) => cellOf(record, index);
      const typeText = cell(column.type);
      if (typeText === '') throw rowError('Type is empty');
      const kind = kindOf(ADYEN_TYPE_KINDS, typeText.toLowerCase());
      const pspReference = cell(column.pspReference);
      if (isPaymentMovement(kind) && pspReference === '') throw rowError(`Psp Reference is empty on a ${typeText} row`);

      const grossCurrencyText = cell(column.grossCurrency);
      const netCurrencyText = cell(column.netCurrency);
      const grossCurrency = grossCurrencyText === '' ? null : currencyIn('Gross Currency', grossCurrencyText);
      const netCurrency = netCurrencyText === '' ? null : currencyIn('Net Currency', netCurrencyText);

      const grossDebit = optionalAmountIn('Gross Debit (GC)', cell(column.grossDebit), grossCurrency);
      const grossCredit = optionalAmountIn('Gross Credit (GC)', cell(column.grossCredit), grossCurrency);
      const netDebit = optionalAmountIn('Net Debit (NC)', cell(column.netDebit), netCurrency);
      const netCredit = optionalAmountIn('Net Credit (NC)', cell(column.netCredit), netCurrency);
      const costs =
        optionalAmountIn('Commission (NC)', cell(column.commission), netCurrency) +
        optionalAmountIn('Markup (NC)', cell(column.markup), netCurrency) +
        optionalAmountIn('Scheme Fees (NC)', cell(column.schemeFees), netCurrency) +
        optionalAmountIn('Interchange (NC)', cell(column.interchange), netCurrency);

      const hasGross = cell(column.grossDebit) !== '' || cell(column.grossCredit) !== '';
      if (isPaymentMovement(kind) && !hasGross) throw rowError(`a ${typeText} row has no Gross Debit or Gross Credit`);
      // lines without gross amounts (fees, payouts, deposit corrections) are read from the net side
      const currency = hasGross ? grossCurrency : (netCurrency ?? grossCurrency);
      if (currency === null) throw rowError('Gross Currency and Net Currency are both empty');
      const balance = hasGross ? grossCredit - grossDebit : netCredit - netDebit;
      const net = netCredit - netDebit;
      const settledIn = netCurrency ?? currency;
      if (isPaymentMovement(kind) && settledIn === currency && net !== balance - costs) {
        throw rowError(`the net amount ${net} is not the gross ${balance} minus the costs ${costs} (minor units)`);
      }
      const reference = cell(column.modificationReference);
      return {
        provider: 'adyen',
        paymentId: pspReference,
        kind,
        gross: DIRECTION[kind] === 1 ? balance : negate(balance),
        fee: kind === 'fee' ? negate(net) : costs,
        net,
        currency,
        ...(settledIn !== currency ? { netCurrency: settledIn } : {}),
        reference: reference === '' ? null : reference,
        line: record.line,
      };
    };
  });
}

// ---------------------------------------------------------------------------------------
// Comparison with the ledger
// ---------------------------------------------------------------------------------------

type Movement = 'captured' | 'refunded' | 'disputed';

function asMovement(kind: string): Movement | null {
  return kind === 'captured' || kind === 'refunded' || kind === 'disputed' ? kind : null;
}

interface Side<T> {
  paymentId: string;
  movement: Movement;
  items: T[];
  /** currency → sum of minor units, in the order the currencies were met */
  sums: Map<string, number>;
}

function addTo<T>(
  sides: Map<string, Side<T>>,
  paymentId: string,
  movement: Movement,
  item: T,
  currency: string,
  amount: number,
): void {
  // movement names hold no NUL, so the key splits back unambiguously
  const key = `${movement}\u0000${paymentId}`;
  let side = sides.get(key);
  if (side === undefined) {
    side = { paymentId, movement, items: [], sums: new Map() };
    sides.set(key, side);
  }
  side.items.push(item);
  side.sums.set(currency, (side.sums.get(currency) ?? 0) + amount);
}

function sameCurrencies(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): boolean {
  return a.size === b.size && [...a.keys()].every((currency) => b.has(currency));
}

/**
 * Compares a provider's settlement report with the hub's ledger for that provider
 * (`provider` selects the rows and entries; others are ignored).
 *
 * A report row belongs to the ledger's payment `row.paymentId` when the ledger knows that
 * payment, else to `row.reference` when the ledger knows that one (Stripe: the charge is
 * in the report, the PaymentIntent in the ledger), else it stays under its own id. Both
 * sides are summed per (payment, movement, currency) and compared exactly:
 * - captured / refunded present on one side only → `missing_in_ledger` per report row or
 *   `missing_in_report` per ledger entry; only these two ledger kinds are expected in a
 *   report (authorizations, failures, voids never settle);
 * - different currencies → `currency`; same currencies, different sums → `amount`;
 * - a disputed row needs a `disputed` ledger entry for its payment, else it is
 *   `missing_in_ledger`; dispute amounts are not compared (they carry provider fees and
 *   reversals), and ledger disputes are not expected in a report.
 *
 * `fees` sums every row's `fee` per currency it is charged in (`netCurrency ?? currency`).
 * Pure and total: it does not throw for any input of the declared types.
 */
export function compareSettlement(
  rows: readonly SettlementRow[],
  ledger: readonly LedgerEntry[],
  provider: string,
): SettlementComparison {
  const entries = ledger.filter((entry) => entry.provider === provider);
  const known = new Set(entries.map((entry) => entry.paymentId));
  const ledgerSides = new Map<string, Side<LedgerEntry>>();
  for (const entry of entries) {
    const movement = asMovement(entry.kind);
    if (movement !== null) addTo(ledgerSides, entry.paymentId, movement, entry, entry.currency, entry.amount);
  }

  const reportSides = new Map<string, Side<SettlementRow>>();
  const fees = new Map<string, number>();
  for (const row of rows) {
    if (row.provider !== provider) continue;
    const feeCurrency = row.netCurrency ?? row.currency;
    fees.set(feeCurrency, (fees.get(feeCurrency) ?? 0) + row.fee);
    const movement = asMovement(row.kind);
    if (movement === null) continue;
    const reference = typeof row.reference === 'string' ? row.reference : null;
    const paymentId =
      known.has(row.paymentId) || reference === null || !known.has(reference) ? row.paymentId : reference;
    addTo(reportSides, paymentId, movement, row, row.currency, row.gross);
  }

  const discrepancies: Discrepancy[] = [];
  let matched = 0;
  for (const [key, report] of reportSides) {
    const booked = ledgerSides.get(key);
    if (booked === undefined) {
      for (const row of report.items) discrepancies.push({ kind: 'missing_in_ledger', row });
      continue;
    }
    const { movement, paymentId } = report;
    if (movement === 'disputed') {
      matched += 1;
      continue;
    }
    if (!sameCurrencies(booked.sums, report.sums)) {
      discrepancies.push({
        kind: 'currency',
        paymentId,
        ledger: [...booked.sums.keys()].join(','),
        report: [...report.sums.keys()].join(','),
      });
      continue;
    }
    let agrees = true;
    for (const [currency, reported] of report.sums) {
      const recorded = booked.sums.get(currency) ?? 0;
      if (recorded === reported) continue;
      agrees = false;
      discrepancies.push({ kind: 'amount', paymentId, ledger: recorded, report: reported, currency, movement });
    }
    if (agrees) matched += 1;
  }
  for (const [key, booked] of ledgerSides) {
    if (booked.movement === 'disputed' || reportSides.has(key)) continue;
    for (const entry of booked.items) discrepancies.push({ kind: 'missing_in_report', entry });
  }
  return { matched, discrepancies, fees: Object.fromEntries(fees) };
}
