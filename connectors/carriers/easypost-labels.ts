import { HubError } from '../../core/errors.ts';
import { toMinorUnits } from '../../core/money.ts';
import { isObject } from '../reader.ts';
import type { ReturnLabelRequest } from './labels.ts';

/**
 * The pure half of buying a return label through EasyPost: the shipment the hub asks for,
 * the parcel weight EasyPost is told, the rate it picks and what that rate costs. No I/O;
 * `labels.ts` sends what this builds.
 */

/** How EasyPost names one of the hub's carriers, and which account and services to use. */
export interface EasyPostCarrier {
  /** EasyPost's carrier name, as its rates spell it: `UPS`, `USPS`, `FedEx`, `DHLExpress` */
  carrier: string;
  /** rate with this carrier account only (`ca_…`), sent as `carrier_accounts` */
  carrierAccountId?: string;
  /** the hub's service codes → EasyPost service names (`2day` → `2ndDayAir`) */
  services?: Record<string, string>;
}

/**
 * EasyPost's names for the carrier codes a hub config usually has. A config entry overrides
 * them; a code in neither has no EasyPost carrier and gets no label.
 */
export const EASYPOST_CARRIER_NAMES: Readonly<Record<string, string>> = {
  ups: 'UPS',
  usps: 'USPS',
  fedex: 'FedEx',
  dhl: 'DHLExpress',
  dhlexpress: 'DHLExpress',
  canadapost: 'CanadaPost',
  purolator: 'Purolator',
  ontrac: 'OnTrac',
};

/** The EasyPost carrier for the hub's carrier `code`: the configured one, else the built-in name, else null. */
export function easyPostCarrierFor(code: string, configured: Readonly<Record<string, EasyPostCarrier>> = {}): EasyPostCarrier | null {
  if (Object.hasOwn(configured, code)) return configured[code]!;
  const name = Object.hasOwn(EASYPOST_CARRIER_NAMES, code) ? EASYPOST_CARRIER_NAMES[code]! : null;
  return name === null ? null : { carrier: name };
}

// 1 avoirdupois ounce is 28.349523125 g exactly (1 lb = 453.59237 g by definition), i.e.
// 45 359 237 / 1 600 000 g, so one tenth of an ounce is 45 359 237 / 16 000 000 g.
const GRAMS_PER_TENTH_OUNCE_NUMERATOR = 45_359_237n;
const GRAMS_PER_TENTH_OUNCE_DENOMINATOR = 16_000_000n;

/**
 * The parcel weight EasyPost is told, in ounces to one decimal place (the precision its
 * Parcel takes): `weightGrams` converted exactly and rounded *up* to the next tenth, so a
 * label never under-declares the weight (a carrier bills an under-declared parcel again, or
 * returns it). 1000 g → 35.3 oz (35.27… exactly).
 * @throws HubError `invalid_weight` (400) unless `weightGrams` is a positive safe integer.
 */
export function declaredOunces(weightGrams: number): number {
  if (!Number.isSafeInteger(weightGrams) || weightGrams <= 0) {
    throw new HubError('invalid_weight', `weight ${weightGrams} g is not a positive whole number of grams`, { status: 400 });
  }
  const scaled = BigInt(weightGrams) * GRAMS_PER_TENTH_OUNCE_DENOMINATOR;
  const tenths = (scaled + GRAMS_PER_TENTH_OUNCE_NUMERATOR - 1n) / GRAMS_PER_TENTH_OUNCE_NUMERATOR;
  // A whole number of tenths divided by 10 is the double nearest that decimal, and prints as it.
  return Number(tenths) / 10;
}

export type Money = { amount: number; currency: string };

/**
 * An EasyPost rate (`"7.55"`, `"USD"`) in integer minor units of its currency, exactly, with
 * string arithmetic ({@link toMinorUnits}): `"7.55"` USD → 755, `"1500"` JPY → 1500. Refused:
 * anything that is not a plain non-negative decimal string, more decimals than the currency's
 * minor unit (a rate is never rounded), a malformed currency.
 */
export function rateInMinorUnits(rate: unknown, currency: unknown): { ok: true; money: Money } | { ok: false; message: string } {
  if (typeof currency !== 'string' || !/^[A-Za-z]{3}$/.test(currency)) {
    return { ok: false, message: `rate currency ${JSON.stringify(currency)} is not an ISO 4217 code` };
  }
  const code = currency.toUpperCase();
  if (typeof rate !== 'string') return { ok: false, message: `rate ${JSON.stringify(rate)} is not a decimal string` };
  if (rate.startsWith('-')) return { ok: false, message: `rate "${rate}" ${code} is negative` };
  try {
    return { ok: true, money: { amount: toMinorUnits(rate, code), currency: code } };
  } catch (error) {
    if (error instanceof HubError) return { ok: false, message: `rate ${error.message}` };
    throw error;
  }
}

/** The rate a label is bought at: EasyPost's id for the buy, and what it costs. */
export interface ChosenRate {
  id: string;
  carrier: string;
  service: string;
  price: Money;
}

/** The request EasyPost's `POST /v2/shipments` gets for a return label. */
export interface ShipmentRequest {
  shipment: {
    reference: string;
    is_return: true;
    to_address: Record<string, string>;
    from_address: Record<string, string>;
    parcel: { weight: number };
    carrier_accounts?: string[];
  };
}

/**
 * The return shipment for `request`. EasyPost's returns take the *outbound* addresses and
 * swap them itself ("do not swap the addresses yourself": docs.easypost.com/docs/shipments/returns),
 * so `to_address` is the customer (the label's sender) and `from_address` the warehouse (where
 * the parcel goes back to). `reference` is the RMA id, which names this label at EasyPost.
 */
export function returnShipmentRequest(request: ReturnLabelRequest, carrier: EasyPostCarrier): ShipmentRequest {
  const shipment: ShipmentRequest['shipment'] = {
    reference: request.rmaId,
    is_return: true,
    to_address: easyPostAddress(request.from),
    from_address: easyPostAddress(request.to),
    parcel: { weight: declaredOunces(request.weightGrams) },
  };
  if (carrier.carrierAccountId !== undefined) shipment.carrier_accounts = [carrier.carrierAccountId];
  return { shipment };
}

type Address = ReturnLabelRequest['from'] | ReturnLabelRequest['to'];

/** An address in EasyPost's field names, without the parts that are absent. */
function easyPostAddress(address: Address): Record<string, string> {
  const fields: Record<string, string | null | undefined> = {
    name: address.name,
    street1: address.line1,
    street2: 'line2' in address ? address.line2 : null,
    city: address.city,
    state: address.region,
    zip: address.postalCode,
    country: address.country.toUpperCase(),
    phone: address.phone,
    email: 'email' in address ? address.email : null,
  };
  return Object.fromEntries(Object.entries(fields).filter((entry): entry is [string, string] => typeof entry[1] === 'string' && entry[1].trim() !== ''));
}

/** Service names compared as EasyPost writes them or loosely (`Ground` = `ground`, `2nd Day Air` = `2ndDayAir`). */
const serviceKey = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * The rate to buy among a shipment's `rates`: the carrier's (and its account's, when one is
 * configured), for `service` when one is asked for, else the cheapest. Rates are compared in
 * minor units, never as floats. A rate whose price cannot be read exactly is never chosen.
 * No rate → why, with what EasyPost offered and what the carrier said (`messages`).
 */
export function chooseRate(
  shipment: { rates?: unknown; messages?: unknown },
  want: { carrier: EasyPostCarrier; service?: string | undefined },
): { ok: true; rate: ChosenRate } | { ok: false; message: string } {
  const rates = Array.isArray(shipment.rates) ? shipment.rates.filter(isObject) : [];
  const carrierName = want.carrier.carrier;
  const ofCarrier = rates.filter((rate) =>
    typeof rate.carrier === 'string' && rate.carrier.toLowerCase() === carrierName.toLowerCase()
    && (want.carrier.carrierAccountId === undefined || rate.carrier_account_id === want.carrier.carrierAccountId));
  const service = want.service === undefined ? undefined : (want.carrier.services?.[want.service] ?? want.service);
  const candidates = service === undefined
    ? ofCarrier
    : ofCarrier.filter((rate) => typeof rate.service === 'string' && serviceKey(rate.service) === serviceKey(service));

  if (candidates.length === 0) {
    const offered = [...new Set(rates.map((rate) => `${String(rate.carrier)} ${String(rate.service)}`))];
    const said = (Array.isArray(shipment.messages) ? shipment.messages.filter(isObject) : [])
      .filter((m) => typeof m.carrier !== 'string' || m.carrier.toLowerCase() === carrierName.toLowerCase())
      .map((m) => String(m.message));
    const what = service === undefined ? `no ${carrierName} rate` : `no ${carrierName} rate for service "${service}"`;
    return {
      ok: false,
      message: `${what}${want.carrier.carrierAccountId ? ` on account ${want.carrier.carrierAccountId}` : ''}; `
        + `EasyPost offered ${offered.length === 0 ? 'no rates' : offered.join(', ')}${said.length === 0 ? '' : `; ${carrierName} said: ${said.join(' | ')}`}`,
    };
  }

  const priced: ChosenRate[] = [];
  const unreadable: string[] = [];
  for (const rate of candidates) {
    const price = rateInMinorUnits(rate.rate, rate.currency);
    if (typeof rate.id !== 'string' || rate.id === '') unreadable.push(`a ${carrierName} rate without an id`);
    else if (!price.ok) unreadable.push(`${rate.id}: ${price.message}`);
    else priced.push({ id: rate.id, carrier: String(rate.carrier), service: String(rate.service), price: price.money });
  }
  if (priced.length === 0) return { ok: false, message: `no ${carrierName} rate can be read exactly (${unreadable.join('; ')})` };
  const currencies = new Set(priced.map((rate) => rate.price.currency));
  if (currencies.size > 1) {
    return { ok: false, message: `${carrierName} rates come in several currencies (${[...currencies].join(', ')}); the cheapest cannot be chosen without an exchange rate` };
  }
  // The first of the cheapest: EasyPost's own order breaks a tie.
  const cheapest = priced.reduce((best, rate) => (rate.price.amount < best.price.amount ? rate : best));
  return { ok: true, rate: cheapest };
}
