import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { configSchema, type HubConfig, type SopEntry } from '../../schemas/config.ts';
import type { NewException } from '../db/sql/exceptions.ts';
import { isTimeZone } from '../reports/calendar.ts';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: true, allowUnionTypes: true });
// ajv-formats is CommonJS: under NodeNext its default import is the module object.
addFormats.default(ajv);
const validateConfig = ajv.compile<HubConfig>(configSchema);

/**
 * Parses and validates a business config document. Throws an Error listing every problem
 * with its JSON path, plus cross-reference checks the schema cannot express (stock naming
 * an unknown warehouse or SKU, duplicate codes).
 */
export function parseConfig(document: unknown, origin = 'config'): HubConfig {
  if (!validateConfig(document)) {
    const lines = (validateConfig.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
    throw new Error(`${origin} is invalid:\n  - ${lines.join('\n  - ')}`);
  }
  const config = document;
  const problems: string[] = [];
  const duplicates = (list: string, field: string, values: string[]) => {
    const first = new Map<string, number>();
    values.forEach((v, i) => {
      const at = first.get(v);
      if (at !== undefined) problems.push(`/${list}/${i}/${field} "${v}" is defined twice (first at /${list}/${at}/${field})`);
      else first.set(v, i);
    });
  };
  duplicates('warehouses', 'code', config.warehouses.map((w) => w.code));
  duplicates('products', 'sku', config.products.map((p) => p.sku));
  duplicates('channels', 'code', config.channels.map((c) => c.code));
  duplicates('carriers', 'code', config.carriers.map((c) => c.code));
  const warehouses = new Set(config.warehouses.map((w) => w.code));
  const skus = new Set(config.products.map((p) => p.sku));
  config.stock.forEach((s, i) => {
    if (!warehouses.has(s.warehouse)) problems.push(`/stock/${i}/warehouse "${s.warehouse}" is not a configured warehouse`);
    if (!skus.has(s.sku)) problems.push(`/stock/${i}/sku "${s.sku}" is not a configured product`);
  });
  const reportZone = config.reports?.timeZone;
  if (reportZone !== undefined && !isTimeZone(reportZone)) problems.push(`/reports/timeZone "${reportZone}" is not an IANA time zone`);
  // A key's name is the actor of its writes: two keys (or a key and HUB_ADMIN_TOKEN) under
  // one name, or one token under two names, would make the audit trail ambiguous.
  const apiKeys = config.apiKeys ?? [];
  duplicates('apiKeys', 'name', apiKeys.map((k) => k.name));
  duplicates('apiKeys', 'sha256', apiKeys.map((k) => k.sha256.toLowerCase()));
  apiKeys.forEach((k, i) => {
    if (k.name === 'admin') problems.push(`/apiKeys/${i}/name "admin" is the name of HUB_ADMIN_TOKEN; give the key another name`);
  });
  if (problems.length > 0) throw new Error(`${origin} is invalid:\n  - ${problems.join('\n  - ')}`);
  return config;
}

/** Reads the config file at `path` (JSON) and validates it. */
export function loadConfig(path: string): HubConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new Error(`cannot read HUB_CONFIG file ${path}: ${(error as Error).message}`, { cause: error });
  }
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch (error) {
    throw new Error(`HUB_CONFIG file ${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
  return parseConfig(document, path);
}

/** The owner and deadline an exception type gets, from the SOP (falls back to `default`). */
export function sopFor(config: HubConfig, exceptionType: string): SopEntry {
  const sop = config.sop as Record<string, SopEntry> & { default: SopEntry };
  return Object.hasOwn(sop, exceptionType) ? sop[exceptionType]! : sop.default;
}

/** An exception to open, with the owner and deadline (from `now`) of its type's SOP. */
export function withSop(config: HubConfig, now: Date, e: Omit<NewException, 'owner' | 'deadline'>): NewException {
  const sop = sopFor(config, e.type);
  return { ...e, owner: sop.owner, deadline: new Date(now.getTime() + sop.deadlineMinutes * 60_000) };
}
