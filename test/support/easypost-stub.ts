import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * EasyPost's shipments API on loopback, as much of it as a return label needs, so label tests
 * count labels actually bought rather than requests sent.
 *
 * - `POST /v2/shipments` (`{ shipment: { … } }`) creates a shipment with a rate for every
 *   configured carrier service (only the listed `carrier_accounts` when given) and answers 201.
 *   Like EasyPost it does not dedupe: the same `reference` twice makes two shipments.
 * - `GET /v2/shipments/{id or reference}`: by id, else the latest shipment with that reference
 *   (EasyPost: "reference values may be used in place of id values"); 404 `NOT_FOUND` otherwise.
 * - `POST /v2/shipments/{id}/buy` (`{ rate: { id } }`) buys the label: `selected_rate`,
 *   `tracking_code`, `postage_label.label_url`. Buying a bought shipment is a 422 (the stub's
 *   code `SHIPMENT.POSTAGE.EXISTS`); a rate of another shipment a 422 `SHIPMENT.RATE.INVALID`.
 * - Basic auth with the API key as user name; a wrong key is a 401 `APIKEY.INACTIVE`.
 * - Errors in EasyPost's shape: `{ error: { code, message, errors: [ { field, message } ] } }`.
 *
 * Faults come in front (`before`: nothing done, the status answered) or behind (`after`: the
 * work done, then the status answered instead of the result: a lost answer).
 */

export const EASYPOST_STUB_KEY = 'EZTK_return_label_stub';

export interface StubRate {
  carrier: string;
  service: string;
  /** as EasyPost sends it: a decimal string */
  rate: string;
  currency?: string;
  carrierAccountId?: string;
}

export interface EasyPostStubOptions {
  apiKey?: string;
  /** the rates every shipment gets (default: a few UPS, USPS and FedEx services) */
  rates?: StubRate[];
  /** carrier messages every shipment carries (`rate_error`s) */
  messages?: { carrier: string; message: string }[];
}

export interface EasyPostStubRequest {
  method: string;
  path: string;
  authorization: string | null;
  contentType: string | null;
  body: string;
  json: unknown;
  /** null when the connection was dropped or the client had gone */
  status: number | null;
}

/** Which requests a fault waits for: reading a shipment, creating one, buying one; absent: the next request of any kind. */
export type StubStep = 'read' | 'create' | 'buy';

type Fault = { status: number; retryAfter: string | null; phase: 'before' | 'after'; body?: unknown; step?: StubStep | undefined };

export interface EasyPostStub {
  url: string;
  requests: EasyPostStubRequest[];
  /** every shipment created, in order */
  shipments: Record<string, unknown>[];
  /** the shipments bought, one entry per purchase */
  purchases: { shipmentId: string; rateId: string }[];
  /** answer the next `times` requests (of `step`) with `status` (default 500): `before` (default) doing nothing, `after` doing the work first */
  failNext(times: number, status?: number, phase?: 'before' | 'after', step?: StubStep): void;
  /** answer the next `times` requests (of `step`) 429 with this `Retry-After`, doing nothing */
  throttleNext(retryAfter: string, times?: number, step?: StubStep): void;
  /** answer the next request of `step` with `status` and this EasyPost error, doing nothing */
  refuseNext(step: StubStep, status: number, error: { code: string; message: string; errors?: unknown[] }): void;
  close(): Promise<void>;
}

const DEFAULT_RATES: StubRate[] = [
  { carrier: 'USPS', service: 'GroundAdvantage', rate: '5.93' },
  { carrier: 'USPS', service: 'Priority', rate: '8.24' },
  { carrier: 'UPS', service: 'Ground', rate: '11.21' },
  { carrier: 'UPS', service: '2ndDayAir', rate: '24.06' },
  { carrier: 'UPS', service: '3DaySelect', rate: '17.88' },
  { carrier: 'FedEx', service: 'FEDEX_GROUND', rate: '10.40' },
];

/** Starts the stub on 127.0.0.1 at a free port. */
export async function startEasyPostStub(options: EasyPostStubOptions = {}): Promise<EasyPostStub> {
  const apiKey = options.apiKey ?? EASYPOST_STUB_KEY;
  const rates = options.rates ?? DEFAULT_RATES;
  const requests: EasyPostStubRequest[] = [];
  const shipments: Record<string, unknown>[] = [];
  const purchases: { shipmentId: string; rateId: string }[] = [];
  const faults: Fault[] = [];
  let sequence = 0;
  const nextId = (prefix: string) => `${prefix}_${(++sequence).toString(16).padStart(32, '0')}`;

  const error = (code: string, message: string, errors: unknown[] = []) => ({ error: { code, message, errors } });

  function find(idOrReference: string): Record<string, unknown> | undefined {
    return shipments.find((s) => s.id === idOrReference) ?? shipments.filter((s) => s.reference === idOrReference).at(-1);
  }

  /** The work a request asks for, as EasyPost would answer it. */
  function handle(req: EasyPostStubRequest): { status: number; body: unknown } {
    if (req.authorization !== `Basic ${Buffer.from(`${apiKey}:`).toString('base64')}`) {
      return { status: 401, body: error('APIKEY.INACTIVE', 'This api key is no longer active. Please use a different api key or reactivate this key.') };
    }
    const buy = /^\/v2\/shipments\/([^/]+)\/buy$/.exec(req.path);
    const one = /^\/v2\/shipments\/([^/]+)$/.exec(req.path);
    if (req.method === 'POST' && req.path === '/v2/shipments') return create(req.json);
    if (req.method === 'POST' && buy) return purchase(decodeURIComponent(buy[1]!), req.json);
    if (req.method === 'GET' && one) {
      const shipment = find(decodeURIComponent(one[1]!));
      return shipment ? { status: 200, body: shipment } : { status: 404, body: error('NOT_FOUND', 'The requested resource could not be found.') };
    }
    return { status: 404, body: error('NOT_FOUND', `The requested resource could not be found. (${req.method} ${req.path})`) };
  }

  function create(json: unknown): { status: number; body: unknown } {
    const input = isRecord(json) && isRecord(json.shipment) ? json.shipment : null;
    if (input === null) return { status: 422, body: error('PARAMETER.REQUIRED', 'Missing required parameter.', [{ field: 'shipment', message: 'cannot be blank' }]) };
    const problems: { field: string; message: string }[] = [];
    for (const side of ['to_address', 'from_address'] as const) {
      const address = input[side];
      if (!isRecord(address)) problems.push({ field: side, message: 'cannot be blank' });
      else for (const field of ['street1', 'city', 'zip', 'country']) if (typeof address[field] !== 'string') problems.push({ field: `${side}.${field}`, message: 'cannot be blank' });
    }
    const weight = isRecord(input.parcel) ? input.parcel.weight : undefined;
    // EasyPost weights are ounces to one decimal place.
    if (typeof weight !== 'number' || !(weight > 0) || Math.round(weight * 10) / 10 !== weight) problems.push({ field: 'parcel.weight', message: 'must be a positive number of ounces with at most one decimal' });
    if (problems.length > 0) return { status: 422, body: error('SHIPMENT.INVALID_PARAMS', 'Unable to create shipment, one or more parameters were invalid.', problems) };

    const id = nextId('shp');
    const accounts = Array.isArray(input.carrier_accounts) ? input.carrier_accounts : null;
    const shipmentRates = rates
      .map((r) => ({ ...r, carrierAccountId: r.carrierAccountId ?? `ca_${r.carrier.toLowerCase()}` }))
      .filter((r) => accounts === null || accounts.includes(r.carrierAccountId))
      .map((r) => ({
        id: nextId('rate'), object: 'Rate', mode: 'test', carrier: r.carrier, service: r.service, rate: r.rate, currency: r.currency ?? 'USD',
        carrier_account_id: r.carrierAccountId, shipment_id: id, delivery_days: null,
      }));
    const shipment: Record<string, unknown> = {
      id, object: 'Shipment', mode: 'test', reference: input.reference ?? null, is_return: input.is_return === true,
      to_address: input.to_address, from_address: input.from_address, parcel: { object: 'Parcel', ...(input.parcel as object) },
      rates: shipmentRates,
      messages: (options.messages ?? []).map((m) => ({ ...m, type: 'rate_error', carrier_account_id: `ca_${m.carrier.toLowerCase()}` })),
      selected_rate: null, postage_label: null, tracking_code: null, status: 'unknown',
    };
    shipments.push(shipment);
    return { status: 201, body: shipment };
  }

  function purchase(id: string, json: unknown): { status: number; body: unknown } {
    const shipment = shipments.find((s) => s.id === id);
    if (!shipment) return { status: 404, body: error('NOT_FOUND', 'The requested resource could not be found.') };
    if (shipment.selected_rate !== null) return { status: 422, body: error('SHIPMENT.POSTAGE.EXISTS', 'Shipment already has postage.') };
    const rateId = isRecord(json) && isRecord(json.rate) ? json.rate.id : undefined;
    const rate = (shipment.rates as Record<string, unknown>[]).find((r) => r.id === rateId);
    if (!rate) return { status: 422, body: error('SHIPMENT.RATE.INVALID', `Rate ${String(rateId)} is not a rate of shipment ${id}.`, [{ field: 'rate', message: 'is invalid' }]) };
    purchases.push({ shipmentId: id, rateId: String(rateId) });
    const code = `1Z${String(purchases.length).padStart(16, '0')}`;
    Object.assign(shipment, {
      selected_rate: rate,
      tracking_code: code,
      postage_label: { object: 'PostageLabel', id: nextId('pl'), label_file_type: 'image/png', label_url: `https://easypost-files.example/files/postage_label/${code}.png` },
      status: 'pre_transit',
    });
    return { status: 200, body: shipment };
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const header = (name: string) => (typeof req.headers[name] === 'string' ? req.headers[name] : null);
      const record: EasyPostStubRequest = {
        method: req.method ?? '', path: new URL(req.url ?? '/', 'http://stub').pathname, authorization: header('authorization'),
        contentType: header('content-type'), body, json: parseJson(body), status: null,
      };
      requests.push(record);
      const step: StubStep | null = record.method === 'GET' ? 'read' : record.path === '/v2/shipments' ? 'create' : record.path.endsWith('/buy') ? 'buy' : null;
      const at = faults.findIndex((f) => f.step === undefined || f.step === step);
      const fault = at === -1 ? undefined : faults.splice(at, 1)[0];
      let answer: { status: number; body: unknown; headers?: Record<string, string> };
      if (fault?.phase === 'before') {
        answer = { status: fault.status, body: fault.body ?? error('INTERNAL_SERVER_ERROR', `stub: injected ${fault.status}`), headers: fault.retryAfter === null ? {} : { 'retry-after': fault.retryAfter } };
      } else {
        answer = handle(record);
        if (fault) answer = { status: fault.status, body: error('INTERNAL_SERVER_ERROR', `stub: injected ${fault.status} after the work was done`) };
      }
      record.status = answer.status;
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    shipments,
    purchases,
    failNext(times, status = 500, phase = 'before', step) {
      for (let i = 0; i < times; i++) faults.push({ status, retryAfter: null, phase, step });
    },
    throttleNext(retryAfter, times = 1, step) {
      for (let i = 0; i < times; i++) faults.push({ status: 429, retryAfter, phase: 'before', body: error('RATE_LIMITED', 'stub: too many requests'), step });
    },
    refuseNext(step, status, refusal) {
      faults.push({ status, retryAfter: null, phase: 'before', body: error(refusal.code, refusal.message, refusal.errors), step });
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((closed, failed) => server.close((e) => (e ? failed(e) : closed())));
    },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}
