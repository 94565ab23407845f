import { pino, type DestinationStream, type Logger } from 'pino';

/**
 * The hub's one way to make a logger (the CLI, the demo and the tests all use it), so that
 * no log line carries a customer's personal data: names, emails, phone numbers, addresses.
 * Logs travel further and live longer than the database — shipped to aggregators, pasted
 * into tickets — and nobody can delete one customer from them on request.
 *
 * Two rules, applied to everything logged, however deep:
 * - a field whose name says what it holds (`email`, `phone`, `customer`, `shippingAddress`,
 *   `line1`, `postalCode`, `to`, a raw `body` or `payload`…) is replaced whole;
 * - free text (messages, error messages and stacks, reasons) has email addresses and
 *   international phone numbers masked, since errors from SMTP, HTTP and Postgres quote them.
 * Names and street addresses in free text cannot be recognised; the code keeps them out of
 * the messages it writes (order ids, numbers and codes identify what a line is about).
 */

const REDACTED = '[redacted]';

// Field names compared in lower case without `_` and `-`: `postal_code`, `postalCode` and
// `postal-code` are one rule.
const personalFields = new Set([
  // who
  'customer', 'customers', 'buyer', 'buyername', 'buyeremail', 'buyerinfo', 'contact', 'name', 'fullname', 'firstname', 'lastname',
  'email', 'emails', 'emailaddress', 'phone', 'phones', 'phonenumber', 'mobile', 'recipient', 'recipients', 'to', 'cc', 'bcc', 'envelope',
  // where
  'address', 'addresses', 'shippingaddress', 'billingaddress', 'shipping', 'billing', 'shipto', 'billto', 'defaultaddress',
  'line1', 'line2', 'address1', 'address2', 'street', 'postalcode', 'postcode', 'zip', 'zipcode',
  // whole payloads and message contents, which carry all of the above
  'body', 'rawbody', 'payload', 'content', 'text', 'html',
  // credentials never belong in a log either
  'authorization', 'cookie', 'token', 'password', 'pass', 'secret', 'apikey',
]);
const isPersonalField = (key: string) => personalFields.has(key.toLowerCase().replace(/[_-]/g, ''));

const emailPattern = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g;
// International format (what canonical orders carry); bare digit runs are left alone, as
// order and event ids are digit runs too.
const phonePattern = /\+\d[\d ().-]{6,}\d/g;

/** Free text with email addresses and international phone numbers masked. */
export function maskPersonalText(text: string): string {
  return text.replace(emailPattern, '[email]').replace(phonePattern, '[phone]');
}

const maxDepth = 10;

/**
 * `value` with personal data removed (see the module's comment): a new value, the original
 * untouched. Errors become `{type, message, stack, …}` with their text masked, as pino's
 * error serializer would write them.
 */
export function redactPersonalData(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return maskPersonalText(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= maxDepth) return '[too deep]';
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.map((item) => redactPersonalData(item, depth + 1));
  if (value instanceof Date) return value;
  const out: Record<string, unknown> = {};
  if (value instanceof Error) {
    out.type = value.constructor.name;
    out.message = maskPersonalText(value.message);
    if (value.stack) out.stack = maskPersonalText(value.stack);
    if (value.cause !== undefined) out.cause = redactPersonalData(value.cause, depth + 1);
  }
  for (const [key, field] of Object.entries(value)) {
    out[key] = isPersonalField(key) && field !== null && field !== undefined ? REDACTED : redactPersonalData(field, depth + 1);
  }
  return out;
}

export interface LoggerOptions {
  level: string;
  /** fields on every line, e.g. the namespace */
  base?: Record<string, unknown>;
}

/** A pino logger that redacts personal data (see above), writing to stdout or `destination`. */
export function createLogger(options: LoggerOptions, destination?: DestinationStream): Logger {
  const settings = {
    level: options.level,
    ...(options.base ? { base: options.base } : {}),
    formatters: {
      log: (object: Record<string, unknown>) => redactPersonalData(object) as Record<string, unknown>,
    },
    hooks: {
      // The message string (and any printf-style arguments) is free text too.
      logMethod(this: Logger, args: unknown[], method: (...a: unknown[]) => void) {
        method.apply(this, args.map((arg) => (typeof arg === 'string' ? maskPersonalText(arg) : arg)));
      },
    },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
