import { Ajv, type JSONSchemaType } from 'ajv';
import { orderStatuses, paymentStatuses, type OrderStatus, type PaymentStatus } from '../core/order/status.ts';
import { decodeSearchCursor, isCalendarTime, type SearchPosition } from '../core/order/search-cursor.ts';

/** The query string of `GET /api/orders`, as it arrives: every value a string. */
export interface OrderSearchQuery {
  channel?: string;
  externalId?: string;
  orderNumber?: string;
  status?: string;
  paymentStatus?: string;
  email?: string;
  sku?: string;
  from?: string;
  to?: string;
  limit?: string;
  cursor?: string;
  archived?: string;
}

const commaList = (values: readonly string[]) => `^(${values.join('|')})(,(${values.join('|')}))*$`;
// Postgres text cannot hold NUL; no other control character belongs in a search either.
const text = (maxLength: number) => ({ type: 'string', minLength: 1, maxLength, pattern: '^[^\\u0000-\\u001f\\u007f]*$', nullable: true } as const);
const dateOrInstant = '^\\d{4}-\\d{2}-\\d{2}(T\\d{2}:\\d{2}(:\\d{2}(\\.\\d{1,6})?)?(Z|[+-]\\d{2}:\\d{2}))?$';

/**
 * JSON Schema of the search's query parameters: what the API validates with ajv and what
 * the OpenAPI document lists. Nothing else is accepted.
 */
export const orderSearchQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    channel: text(100),
    externalId: text(200),
    orderNumber: text(100),
    status: { type: 'string', pattern: commaList(orderStatuses), nullable: true },
    paymentStatus: { type: 'string', pattern: commaList(paymentStatuses), nullable: true },
    email: { type: 'string', maxLength: 320, pattern: '^[^\\s@\\u0000-\\u001f\\u007f]+@[^\\s@\\u0000-\\u001f\\u007f]+$', nullable: true },
    sku: { type: 'string', maxLength: 128, pattern: '^[^\\s/\\u0000-\\u001f\\u007f]+$', nullable: true },
    from: { type: 'string', pattern: dateOrInstant, nullable: true },
    to: { type: 'string', pattern: dateOrInstant, nullable: true },
    limit: { type: 'string', pattern: '^(1000|[1-9][0-9]{0,2})$', nullable: true },
    cursor: { type: 'string', maxLength: 200, nullable: true },
    archived: { type: 'string', enum: ['true', 'false'], nullable: true },
  },
} satisfies JSONSchemaType<OrderSearchQuery>;

/** What each parameter must be, in words: the 400 problem says it for every one that is wrong. */
export const orderSearchParameterRules: Readonly<Record<keyof OrderSearchQuery, string>> = {
  channel: 'a channel name, at most 100 characters',
  externalId: "the channel's order id, at most 200 characters",
  orderNumber: "the hub's order number, at most 100 characters",
  status: `one or more of ${orderStatuses.join(', ')}, comma-separated`,
  paymentStatus: `one or more of ${paymentStatuses.join(', ')}, comma-separated`,
  email: 'an email address (matched without regard to case)',
  sku: 'a SKU, 1..128 characters without spaces or slashes',
  from: 'a date (YYYY-MM-DD, midnight UTC) or an instant with its offset (2026-01-31T08:00:00Z, …+02:00); inclusive',
  to: 'a date (YYYY-MM-DD, midnight UTC) or an instant with its offset; exclusive, and later than from',
  limit: 'an integer 1..1000 (100 by default)',
  cursor: "the nextCursor of the previous page, unchanged",
  archived: 'true or false',
};

/** A validated search: every filter optional, ANDed together; newest first from `after`. */
export interface OrderSearch {
  channel: string | null;
  externalId: string | null;
  orderNumber: string | null;
  statuses: OrderStatus[] | null;
  paymentStatuses: PaymentStatus[] | null;
  email: string | null;
  sku: string | null;
  /** received at or after (an ISO 8601 instant Postgres reads exactly) */
  from: string | null;
  /** received before */
  to: string | null;
  limit: number;
  after: SearchPosition | null;
  archived: boolean;
}

/** A parameter that is wrong, and what it must be. */
export interface ParameterProblem { parameter: string; message: string }

const ajv = new Ajv({ allErrors: true });
const validate = ajv.compile<OrderSearchQuery>(orderSearchQuerySchema);
const instantParts = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,6})?)?(Z|([+-])(\d{2}):(\d{2})))?$/;

/** A date or instant as Postgres should read it (a bare date is midnight UTC); undefined when it is no real time. */
function instantOf(value: string): { text: string; ms: number } | undefined {
  const m = instantParts.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, zone, , oh, om] = m;
  if (!isCalendarTime(Number(y), Number(mo), Number(d), Number(h ?? 0), Number(mi ?? 0), Number(s ?? 0))) return undefined;
  if (zone && zone !== 'Z' && (Number(oh) > 14 || Number(om) > 59)) return undefined;
  const text = h === undefined ? `${value}T00:00:00Z` : value;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : { text, ms };
}

/**
 * Parses the query string of an order search once, at the edge. `query` holds every value
 * given for each name, so a parameter given twice is a problem rather than a silent pick;
 * empty values count as not given. Either the search, or every parameter that is wrong.
 */
export function parseOrderSearch(query: Record<string, readonly string[]>): { ok: true; search: OrderSearch } | { ok: false; problems: ParameterProblem[] } {
  const problems = new Map<string, string>();
  const flat: Record<string, string> = {};
  for (const [name, values] of Object.entries(query)) {
    const given = values.filter((v) => v !== '');
    if (given.length > 1) problems.set(name, 'is given more than once');
    else if (given[0] !== undefined) flat[name] = given[0];
  }
  if (!validate(flat)) {
    for (const e of validate.errors ?? []) {
      const name = e.keyword === 'additionalProperties' ? String(e.params.additionalProperty) : e.instancePath.slice(1);
      if (problems.has(name)) continue;
      const rule = orderSearchParameterRules[name as keyof OrderSearchQuery] as string | undefined;
      problems.set(name, rule ? `must be ${rule}` : `is not a parameter of this search (known: ${Object.keys(orderSearchParameterRules).join(', ')})`);
    }
  }
  // The checks a pattern cannot make, on the values that passed it.
  const q = flat as OrderSearchQuery;
  const from = q.from === undefined || problems.has('from') ? undefined : instantOf(q.from);
  const to = q.to === undefined || problems.has('to') ? undefined : instantOf(q.to);
  if (q.from !== undefined && !problems.has('from') && !from) problems.set('from', `must be ${orderSearchParameterRules.from}; ${q.from} is no such time`);
  if (q.to !== undefined && !problems.has('to') && !to) problems.set('to', `must be ${orderSearchParameterRules.to}; ${q.to} is no such time`);
  if (from && to && to.ms <= from.ms) problems.set('to', 'must be later than from (to is exclusive)');
  const after = q.cursor === undefined || problems.has('cursor') ? null : decodeSearchCursor(q.cursor);
  if (after === undefined) problems.set('cursor', `must be ${orderSearchParameterRules.cursor}; this one was not made by the hub`);
  if (problems.size > 0) return { ok: false, problems: [...problems].map(([parameter, message]) => ({ parameter, message })) };
  return {
    ok: true,
    search: {
      channel: q.channel ?? null,
      externalId: q.externalId ?? null,
      orderNumber: q.orderNumber ?? null,
      statuses: q.status === undefined ? null : [...new Set(q.status.split(',') as OrderStatus[])],
      paymentStatuses: q.paymentStatus === undefined ? null : [...new Set(q.paymentStatus.split(',') as PaymentStatus[])],
      email: q.email ?? null,
      sku: q.sku ?? null,
      from: from?.text ?? null,
      to: to?.text ?? null,
      limit: q.limit === undefined ? 100 : Number(q.limit),
      after: after ?? null,
      archived: q.archived === 'true',
    },
  };
}
