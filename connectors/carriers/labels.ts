import { HubError } from '../../core/errors.ts';
import type { HubConfig } from '../../schemas/config.ts';
import { parseJson, retryAfterMs, sendWithRetries, type AttemptOutcome, type HttpClientOptions } from '../http.ts';
import { isObject } from '../reader.ts';
import {
  chooseRate,
  easyPostCarrierFor,
  rateInMinorUnits,
  returnShipmentRequest,
  type EasyPostCarrier,
  type ShipmentRequest,
} from './easypost-labels.ts';

/**
 * Return labels bought from a carrier through EasyPost, for an approved return (RMA).
 *
 * EasyPost API v2 (docs.easypost.com): `POST /v2/shipments` with `is_return: true` and
 * `reference` = the RMA id (rates come back with the shipment), then
 * `POST /v2/shipments/{id}/buy` with `{ rate: { id } }`; the bought shipment carries
 * `tracking_code`, `postage_label.label_url` and `selected_rate`. Basic auth, the API key as
 * the user name and no password.
 *
 * One RMA, one label. EasyPost has no idempotency key for shipments, but its `reference` can
 * be used in place of an id (docs.easypost.com/docs/easypost-objects), so the RMA id names
 * the label's shipment there:
 *
 * - Every call first reads `GET /v2/shipments/{rmaId}`. A shipment already bought is answered
 *   as it is, without a second purchase: a repeated call, a redelivered message, or a call
 *   after one whose answer was lost all get the same label. A shipment created but not
 *   bought is bought, not created again.
 * - A retry of the create (after a timeout, a dropped connection, a 5xx or a 429) reads the
 *   reference again before posting, so a create whose answer was lost is found, not doubled.
 * - A retry of the buy reads the shipment first and posts the buy only if it is still
 *   unbought, so a buy whose answer was lost is answered with its label.
 *
 * What this does not guarantee: EasyPost does not enforce unique references, so two calls for
 * the same RMA running *at the same time* can each create and buy a shipment. The caller
 * serialises calls per RMA (the return's row lock); then at most one label is bought per RMA.
 * A reference is good for one label for good: a changed weight or address for the same RMA
 * gets the label already bought.
 *
 * A call never throws for anything EasyPost or the network does. 4xx (but 408 and 429) is
 * final with EasyPost's error message; 408, 429 (its `Retry-After` honoured), 5xx, timeouts
 * and lost connections are retried within the call by the hub's retry loop
 * ({@link sendWithRetries}) and end `retryable: true` when the retries run out: calling again
 * later is safe, for the reasons above.
 */

/** A return label the hub wants bought. */
export interface ReturnLabelRequest {
  /** idempotency key: the same RMA never buys two labels */
  rmaId: string;
  /** the hub's carrier code from config (e.g. "ups"), mapped to the EasyPost carrier */
  carrier: string;
  /** the customer */
  from: { name: string; line1: string; line2?: string | null; city: string; region?: string | null; postalCode: string; country: string; phone?: string | null; email?: string | null };
  /** the warehouse */
  to: { name: string; line1: string; city: string; region?: string | null; postalCode: string; country: string; phone?: string | null };
  weightGrams: number;
  /** the cheapest rate of the carrier when absent */
  serviceLevel?: string;
}

export type ReturnLabelResult =
  | {
      ok: true;
      /** the carrier as EasyPost names it (`UPS`, `FedEx`): the name its tracking events carry */
      carrier: string;
      trackingCode: string;
      labelUrl: string;
      /** what the label cost, in minor units */
      rate: { amount: number; currency: string };
      /** EasyPost's shipment (`shp_…`), for a label refund */
      shipmentId?: string;
    }
  | { ok: false; retryable: boolean; message: string };

export interface ReturnLabelClient {
  /** Buys the RMA's return label, or answers the one already bought. Never throws for EasyPost's or the network's doing. */
  createReturnLabel(req: ReturnLabelRequest): Promise<ReturnLabelResult>;
}

/** How the client talks to EasyPost (timeout 20 s unless set: rating asks every carrier). */
export type EasyPostLabelClientOptions = { baseUrl: string; apiKey: string } & HttpClientOptions & {
  /** the hub's carrier codes as EasyPost knows them; a code not here gets its built-in name (ups → UPS, …) */
  carriers?: Readonly<Record<string, EasyPostCarrier>>;
};

/** EasyPost's limit is generous; the hub's RMA ids are short. Kept URL-path safe, since the id goes in the path. */
const RMA_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$/;

/**
 * A return-label client for EasyPost. Throws a {@link HubError} for a configuration that
 * cannot work (not a URL, a blank key): that is the composition root's mistake.
 */
export function createEasyPostLabelClient(options: EasyPostLabelClientOptions): ReturnLabelClient {
  const o = resolve(options);
  const authorization = `Basic ${Buffer.from(`${o.apiKey}:`).toString('base64')}`;
  const headers = { authorization, accept: 'application/json' };
  const get = (path: string) => o.fetch(`${o.baseUrl}${path}`, { method: 'GET', headers, redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs) });
  const post = (path: string, body: string) =>
    o.fetch(`${o.baseUrl}${path}`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body, redirect: 'manual', signal: AbortSignal.timeout(o.timeoutMs) });

  /** sendWithRetries for one step; every attempt after the first goes through `beforeRetry`. */
  const step = <R>(first: () => Promise<Response>, beforeRetry: () => Promise<Response>, interpret: (answer: Answer) => AttemptOutcome<StepResult<R>>) => {
    let attempts = 0;
    return sendWithRetries<StepResult<R>>(
      o,
      'EasyPost',
      () => (attempts++ === 0 ? first() : beforeRetry()),
      (response, text) => interpret({ status: response.status, headers: response.headers, body: parseJson(text), text, now: o.now }),
      (last, why) => ({
        ok: false,
        retryable: true,
        message: why.waitTooLong === undefined
          ? `${last.message} (gave up after ${why.attempts} attempt(s); asking again later is safe)`
          : `${last.message}; EasyPost asks to wait ${why.waitTooLong} ms, more than ${o.maxWaitMs} ms (asking again later is safe)`,
      }),
    );
  };

  /**
   * A retry's look before it writes: `GET path` (the shipment by reference or id) answers when
   * it shows `found`, else `then()` is sent (a 404's body read and dropped first).
   */
  const lookupThen = async (path: string, found: (shipment: Record<string, unknown>) => boolean, then: () => Promise<Response>): Promise<Response> => {
    const response = await get(path);
    if (response.status === 404) {
      await response.text();
      return then();
    }
    // Anything but "there" or "not there" is the step's answer: a 5xx here is retried like its own.
    if (response.status !== 200) return response;
    const text = await response.text();
    const body = parseJson(text);
    return isObject(body) && found(body) ? new Response(text, { status: 200, headers: response.headers }) : then();
  };

  return {
    async createReturnLabel(req) {
      const carrier = easyPostCarrierFor(req.carrier, o.carriers);
      const problem = requestProblem(req, carrier);
      if (problem !== null || carrier === null) return { ok: false, retryable: false, message: `return label for ${rmaName(req)} not requested: ${problem}` };

      let body: ShipmentRequest;
      try {
        body = returnShipmentRequest(req, carrier);
      } catch (error) {
        return { ok: false, retryable: false, message: `return label for ${rmaName(req)} not requested: ${(error as Error).message}` };
      }
      const byReference = `/v2/shipments/${encodeURIComponent(req.rmaId)}`;
      const isTheRma = (shipment: Record<string, unknown>) => shipment.reference === req.rmaId;

      // 1. The label already there, or a shipment created and not bought.
      const existing = await step<Record<string, unknown> | null>(() => get(byReference), () => get(byReference), (answer) => {
        if (answer.status === 404) return { kind: 'final', result: { ok: true, value: null } };
        return shipmentOutcome(answer, 'reading the shipment of', req);
      });
      if (!existing.ok) return existing;
      let shipment = existing.value;
      if (shipment !== null && !isTheRma(shipment)) {
        return { ok: false, retryable: false, message: `EasyPost answered ${byReference} with shipment ${String(shipment.id)} whose reference is ${JSON.stringify(shipment.reference)}, not ${rmaName(req)}` };
      }

      // 2. Create it; a retry finds the one a lost answer created.
      if (shipment === null) {
        const json = JSON.stringify(body);
        const created = await step<Record<string, unknown>>(
          () => post('/v2/shipments', json),
          () => lookupThen(byReference, isTheRma, () => post('/v2/shipments', json)),
          (answer) => shipmentOutcome(answer, 'creating the return shipment of', req),
        );
        if (!created.ok) return created;
        shipment = created.value;
      }
      const shipmentId = typeof shipment.id === 'string' ? shipment.id : '';
      if (!/^shp_\w+$/.test(shipmentId)) return { ok: false, retryable: false, message: `EasyPost's shipment for ${rmaName(req)} has no usable id (${JSON.stringify(shipment.id)})` };
      if (isBought(shipment)) return labelOf(shipment, req);

      // 3. Buy the carrier's rate; a retry reads the shipment first and buys only if it is still unbought.
      const chosen = chooseRate(shipment, { carrier, service: req.serviceLevel });
      if (!chosen.ok) return { ok: false, retryable: false, message: `EasyPost shipment ${shipmentId} for ${rmaName(req)}: ${chosen.message}` };
      const buyPath = `/v2/shipments/${shipmentId}/buy`;
      const buyBody = JSON.stringify({ rate: { id: chosen.rate.id } });
      const bought = await step<Record<string, unknown>>(
        () => post(buyPath, buyBody),
        () => lookupThen(`/v2/shipments/${shipmentId}`, isBought, () => post(buyPath, buyBody)),
        (answer) => {
          const outcome = shipmentOutcome(answer, `buying rate ${chosen.rate.id} (${chosen.rate.carrier} ${chosen.rate.service}) for`, req);
          if (outcome.kind === 'final' && outcome.result.ok && !hasLabel(outcome.result.value)) {
            // Bought, label not rendered yet: the retry reads the shipment, it does not buy again.
            return { kind: 'transient', message: `EasyPost bought shipment ${shipmentId} for ${rmaName(req)} but has no label on it yet` };
          }
          return outcome;
        },
      );
      if (!bought.ok) return bought;
      return labelOf(bought.value, req);
    },
  };
}

/**
 * The EasyPost label client the config and environment ask for: `afterSales.returnLabels.easypost`
 * in the config and `EASYPOST_API_KEY` set. Undefined without either: returns then get their
 * labels by hand.
 */
export function returnLabelClientFor(config: HubConfig, secrets: Readonly<Record<string, string>>): ReturnLabelClient | undefined {
  const easypost = config.afterSales?.returnLabels?.easypost;
  const apiKey = secrets.EASYPOST_API_KEY;
  if (!easypost || !apiKey) return undefined;
  return createEasyPostLabelClient({ baseUrl: easypost.baseUrl, apiKey, ...(easypost.carriers ? { carriers: easypost.carriers } : {}) });
}

// --- answers ----------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
  now: () => Date;
}

type StepResult<R> = { ok: true; value: R } | { ok: false; retryable: boolean; message: string };

/** A shipment answer: 2xx with a Shipment is the result; 408, 429 and 5xx are worth the same step again; any other 4xx is final. */
function shipmentOutcome(answer: Answer, doing: string, req: ReturnLabelRequest): AttemptOutcome<StepResult<Record<string, unknown>>> {
  const { status, headers, body, text } = answer;
  if (status >= 200 && status < 300) {
    if (isObject(body) && typeof body.id === 'string') return { kind: 'final', result: { ok: true, value: body } };
    // Half an answer says nothing about what EasyPost did; the retry reads before it writes.
    return { kind: 'transient', message: `EasyPost answered ${status} without a shipment while ${doing} ${rmaName(req)}: ${text.slice(0, 200)}` };
  }
  const detail = `EasyPost answered ${status} while ${doing} ${rmaName(req)}: ${errorMessage(body, text)}`;
  if (status === 429 || status === 408) {
    const wait = retryAfterMs(headers.get('retry-after'), answer.now());
    return { kind: 'transient', message: detail, ...(wait === null ? {} : { retryAfterMs: wait }) };
  }
  if (status >= 500) return { kind: 'transient', message: detail };
  return { kind: 'final', result: { ok: false, retryable: false, message: detail } };
}

/**
 * EasyPost's error in words: `{ error: { code, message, errors: [ { field, message } | string ] } }`
 * (docs.easypost.com/docs/errors) → `CODE: message (field: message; …)`.
 */
function errorMessage(body: unknown, text: string): string {
  const error = isObject(body) && isObject(body.error) ? body.error : null;
  if (error === null) return text.slice(0, 200) || '(no body)';
  const fields = (Array.isArray(error.errors) ? error.errors : [])
    .map((e: unknown) => (typeof e === 'string' ? e : isObject(e) ? `${String(e.field)}: ${String(e.message)}` : null))
    .filter((e): e is string => e !== null);
  const head = [typeof error.code === 'string' ? error.code : null, typeof error.message === 'string' ? error.message : null].filter(Boolean).join(': ');
  return `${head || text.slice(0, 200)}${fields.length === 0 ? '' : ` (${fields.join('; ')})`}`;
}

/** Bought: EasyPost has selected a rate or rendered a label (a shipment bought some other way has the label only). */
function isBought(shipment: Record<string, unknown>): boolean {
  return isObject(shipment.selected_rate) || isObject(shipment.postage_label) || (typeof shipment.tracking_code === 'string' && shipment.tracking_code !== '');
}

function hasLabel(shipment: Record<string, unknown>): boolean {
  return isObject(shipment.postage_label) && typeof shipment.postage_label.label_url === 'string' && shipment.postage_label.label_url !== '';
}

/** The label of a bought shipment, as the hub keeps it. */
function labelOf(shipment: Record<string, unknown>, req: ReturnLabelRequest): ReturnLabelResult {
  const id = String(shipment.id);
  const label = isObject(shipment.postage_label) ? shipment.postage_label.label_url : undefined;
  const rate = isObject(shipment.selected_rate) ? shipment.selected_rate : {};
  const trackingCode = shipment.tracking_code;
  // Bought already: asking again finds the same shipment, so none of these is worth a retry.
  const broken = (what: string): ReturnLabelResult => ({
    ok: false, retryable: false,
    message: `EasyPost shipment ${id} for ${rmaName(req)} is bought but ${what}; see the shipment in EasyPost (no second label is bought for this RMA)`,
  });
  if (typeof label !== 'string' || label === '') return broken('has no label_url');
  if (typeof trackingCode !== 'string' || trackingCode === '') return broken('has no tracking_code');
  if (typeof rate.carrier !== 'string' || rate.carrier === '') return broken('has no selected_rate carrier');
  const price = rateInMinorUnits(rate.rate, rate.currency);
  if (!price.ok) return broken(`its selected rate cannot be read exactly: ${price.message}`);
  return { ok: true, carrier: rate.carrier, trackingCode, labelUrl: label, rate: price.money, shipmentId: id };
}

// --- small pieces -----------------------------------------------------------------------------

function rmaName(req: ReturnLabelRequest): string {
  return `RMA ${JSON.stringify(req.rmaId)}`;
}

/** What makes the request impossible to send, in words; null when it can go. */
function requestProblem(req: ReturnLabelRequest, carrier: EasyPostCarrier | null): string | null {
  const problems: string[] = [];
  if (typeof req.rmaId !== 'string' || !RMA_ID.test(req.rmaId)) problems.push('rmaId must be 1–100 letters, digits, ".", "_", ":" or "-"');
  // An id-shaped reference would be read as that shipment's id.
  else if (/^shp_/i.test(req.rmaId)) problems.push('rmaId must not start with "shp_" (EasyPost would read it as a shipment id)');
  if (carrier === null) problems.push(`carrier "${req.carrier}" has no EasyPost name (configure afterSales.returnLabels.easypost.carriers.${req.carrier})`);
  if (!Number.isSafeInteger(req.weightGrams) || req.weightGrams <= 0) problems.push(`weightGrams ${req.weightGrams} is not a positive whole number`);
  for (const [side, address] of [['from', req.from], ['to', req.to]] as const) {
    for (const field of ['name', 'line1', 'city', 'postalCode'] as const) {
      if (typeof address[field] !== 'string' || address[field].trim() === '') problems.push(`${side}.${field} is empty`);
    }
    if (typeof address.country !== 'string' || !/^[A-Za-z]{2}$/.test(address.country)) problems.push(`${side}.country must be an ISO 3166 alpha-2 code`);
  }
  if (req.serviceLevel !== undefined && (typeof req.serviceLevel !== 'string' || req.serviceLevel.trim() === '')) problems.push('serviceLevel is empty');
  return problems.length === 0 ? null : problems.join('; ');
}

type ResolvedOptions = Required<Omit<EasyPostLabelClientOptions, 'carriers'>> & { carriers: Readonly<Record<string, EasyPostCarrier>> };

function resolve(options: EasyPostLabelClientOptions): ResolvedOptions {
  let base: URL;
  try {
    base = new URL(options.baseUrl);
  } catch (error) {
    throw new HubError('label_client_invalid', 'EasyPost label client: baseUrl is not a URL', { status: 500, cause: error });
  }
  if (options.apiKey.trim() === '') throw new HubError('label_client_invalid', 'EasyPost label client: apiKey is empty', { status: 500 });
  return {
    baseUrl: base.href.replace(/\/+$/, ''),
    apiKey: options.apiKey,
    carriers: options.carriers ?? {},
    fetch: options.fetch ?? globalThis.fetch,
    timeoutMs: options.timeoutMs ?? 20_000,
    retries: options.retries ?? 3,
    backoffMs: options.backoffMs ?? 500,
    maxWaitMs: options.maxWaitMs ?? 30_000,
    sleep: options.sleep ?? ((ms) => new Promise((done) => setTimeout(done, ms))),
    now: options.now ?? (() => new Date()),
  };
}
