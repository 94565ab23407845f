import { Hono, type Context } from 'hono';
import { Ajv, type JSONSchemaType } from 'ajv';
import type { Logger } from 'pino';
import { badRequest, conflict, HubError, notFound } from '../core/errors.ts';
import { withTransaction, type Db, type Queryable } from '../core/db/pool.ts';
import { listInventory, setOnHand, stockLevel } from '../core/db/sql/inventory.ts';
import { enqueueMessages } from '../core/db/sql/outbox.ts';
import { orderMessages } from '../core/stages/apply.ts';
import type { StageContext } from '../core/stages/context.ts';
import { remedyChoices, type RemedyChoice } from '../core/stages/remedies.ts';
import { stockChanged } from '../core/stages/stock.ts';
import { lockOrder } from '../core/db/sql/orders.ts';
import { compareSettlement, parseAdyenSettlementDetails, parseStripeBalanceTransactions, type Discrepancy } from '../core/pipeline/settlement.ts';
import { providerLedger } from '../core/db/sql/payments.ts';
import { customerKey } from '../core/db/sql/credit.ts';
import { quietHoursProblem } from '../core/notify/preferences.ts';
import { openException } from '../core/db/sql/exceptions.ts';
import { withSop } from '../core/config/business.ts';
import { jsonb } from '../core/db/jsonb.ts';
import { getRawSummary, listRawDeliveries, markForReplay, type RawStatus } from '../core/db/sql/raw.ts';
import { acceptedMessageFor, sendStoredDelivery } from '../core/intake.ts';
import { appendAudit } from '../core/db/sql/audit.ts';
import { listProducts, listWarehouses, productExists, upsertProduct, warehouseExists } from '../core/db/sql/reference.ts';
import { orderDetail } from './order-detail.ts';
import { orderSearchPage } from './order-search.ts';
import { actorOf } from './principal.ts';
import { readBody, queryParam } from './request.ts';

const ajv = new Ajv({ allErrors: true });

interface ProductBody { name: string; category: string; weightGrams: number }
const validateProduct = ajv.compile<ProductBody>({
  type: 'object',
  additionalProperties: false,
  required: ['name', 'category', 'weightGrams'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 500, pattern: '^[^\\u0000]*$' },
    category: { type: 'string', minLength: 1, maxLength: 100, pattern: '^[^\\u0000]*$' },
    weightGrams: { type: 'integer', minimum: 0, maximum: 10_000_000 },
  },
} satisfies JSONSchemaType<ProductBody>);

interface StockBody { onHand: number }
const validateStock = ajv.compile<StockBody>({
  type: 'object',
  additionalProperties: false,
  required: ['onHand'],
  properties: { onHand: { type: 'integer', minimum: 0, maximum: 2_147_483_647 } },
} satisfies JSONSchemaType<StockBody>);

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// No whitespace, slashes or control characters (Postgres text cannot even hold NUL).
const skuPattern = /^[^\s/\p{Cc}]{1,128}$/u;



/** One line for a person: what does not agree between the report and the ledger. */
function describeDiscrepancy(provider: string, d: Discrepancy): string {
  switch (d.kind) {
    case 'missing_in_ledger': return `${provider} settled ${d.row.kind} ${d.row.gross} ${d.row.currency} for ${d.row.paymentId}, which the hub never recorded`;
    case 'missing_in_report': return `the hub recorded ${d.entry.kind} ${d.entry.amount} ${d.entry.currency} for ${d.entry.paymentId}, which ${provider} did not settle`;
    case 'amount': return `${d.paymentId} ${d.movement}: the hub has ${d.ledger}, ${provider} settled ${d.report} ${d.currency}`;
    case 'currency': return `${d.paymentId}: the hub has ${d.ledger}, ${provider} settled in ${d.report}`;
    default: {
      const never: never = d;
      return never;
    }
  }
}

/** `limit` of a list: 1..1000, 100 by default. */
function limitParam(c: Context): number {
  const limit = Number(queryParam(c, 'limit') ?? '100');
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw badRequest('invalid_query', 'limit must be an integer 1..1000');
  return limit;
}

function rawIdParam(c: Context): number {
  const id = Number(c.req.param('id'));
  if (!Number.isSafeInteger(id) || id < 1) throw notFound('delivery_not_found', `no stored delivery ${c.req.param('id')}`);
  return id;
}

const rawStatuses: RawStatus[] = ['accepted', 'invalid', 'ignored', 'processed', 'failed'];

interface RemedyBody { choice: RemedyChoice }
const validateRemedy = ajv.compile<RemedyBody>({
  type: 'object', additionalProperties: false, required: ['choice'],
  properties: { choice: { type: 'string', enum: [...remedyChoices] } },
} satisfies JSONSchemaType<RemedyBody>);

interface AllocationBody { warehouse?: string; carrier?: string; serviceLevel?: string; reason?: string }
const validateAllocation = ajv.compile<AllocationBody>({
  type: 'object', additionalProperties: false, minProperties: 1,
  properties: {
    warehouse: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', nullable: true },
    carrier: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', nullable: true },
    serviceLevel: { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$', nullable: true },
    reason: { type: 'string', maxLength: 500, nullable: true },
  },
} satisfies JSONSchemaType<AllocationBody>);

interface PaymentBody { amount: number; currency: string; method: 'cash_on_delivery' | 'bank_transfer'; reference: string }
const validatePayment = ajv.compile<PaymentBody>({
  type: 'object', additionalProperties: false, required: ['amount', 'currency', 'method', 'reference'],
  properties: {
    amount: { type: 'integer', minimum: 1, maximum: 9_007_199_254_740_991 },
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    method: { type: 'string', enum: ['cash_on_delivery', 'bank_transfer'] },
    reference: { type: 'string', minLength: 1, maxLength: 128, pattern: '^[^\\u0000]*$' },
  },
} satisfies JSONSchemaType<PaymentBody>);

interface PreferencesBody { channels: ('email' | 'sms' | 'push')[]; locale?: string | null; quietHours?: { start: string; end: string; timeZone: string } | null }
const hhmm = { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' } as const;
const validatePreferences = ajv.compile<PreferencesBody>({
  type: 'object', additionalProperties: false, required: ['channels'],
  properties: {
    channels: { type: 'array', uniqueItems: true, maxItems: 3, items: { type: 'string', enum: ['email', 'sms', 'push'] } },
    locale: { type: 'string', pattern: '^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$', nullable: true },
    quietHours: {
      type: 'object', additionalProperties: false, required: ['start', 'end', 'timeZone'], nullable: true,
      properties: { start: hhmm, end: hhmm, timeZone: { type: 'string', minLength: 1, maxLength: 64 } },
    },
  },
} satisfies JSONSchemaType<PreferencesBody>);

/** The operator API (behind bearer auth). Lists answer `{ items: [...] }`. */
export function apiRoutes(deps: { db: Db; logger: Logger; ctx: StageContext }): Hono {
  const app = new Hono();
  const { db, ctx } = deps;
  const order = async (tx: Queryable, id: string) => {
    const record = uuid.test(id) ? await lockOrder(tx, id) : undefined;
    if (!record) throw notFound('order_not_found', `no order with id ${id}`);
    return record;
  };

  // The customer's answer to a stock shortage; applied by the pipeline, like automatic work.
  app.post('/orders/:id/shortage-remedy', async (c) => {
    const { choice } = await readBody(c, validateRemedy);
    const id = c.req.param('id');
    await withTransaction(db, async (tx) => {
      const record = await order(tx, id);
      if (record.status !== 'backordered') throw conflict('not_backordered', `order ${record.orderNumber} is ${record.status}, not backordered`);
      await enqueueMessages(tx, orderMessages(ctx, 'api', id, [{ type: 'order.remedy_chosen', data: { orderId: id, choice, actor: actorOf(c) } }]));
      await appendAudit(tx, { actor: actorOf(c), action: 'order.remedy', target: `order:${id}`, detail: { choice } });
    });
    return c.json({ orderId: id, choice, status: 'accepted' }, 202);
  });

  // Money received outside any provider (cash collected on delivery, a bank transfer),
  // recorded by an operator; it goes into the ledger through the reconcile stage like any
  // provider's payment, and the reference makes recording it twice harmless.
  app.post('/orders/:id/payments', async (c) => {
    const body = await readBody(c, validatePayment);
    const id = c.req.param('id');
    await withTransaction(db, async (tx) => {
      const record = await order(tx, id);
      const entry = {
        provider: 'manual', account: null, entryId: `${body.method}:${body.reference}`, paymentId: body.reference, kind: 'captured' as const,
        amount: body.amount, currency: body.currency, occurredAt: ctx.now().toISOString(), method: body.method, match: { orderId: record.id },
      };
      await enqueueMessages(tx, orderMessages(ctx, 'api', id, [{ type: 'payment.received', data: { entries: [entry], actor: actorOf(c) } }]));
      await appendAudit(tx, { actor: actorOf(c), action: 'payment.record', target: `order:${id}`, detail: { ...body } });
    });
    return c.json({ orderId: id, status: 'accepted' }, 202);
  });

  // How and when a customer wants to be told: channels, language, quiet hours.
  app.put('/customers/:email/preferences', async (c) => {
    const body = await readBody(c, validatePreferences);
    const key = customerKey(c.req.param('email'));
    if (!key || !/^[^\s@]+@[^\s@]+$/.test(key)) throw badRequest('invalid_email', 'the path must name the customer by email');
    if (body.quietHours) {
      const problem = quietHoursProblem(body.quietHours);
      if (problem) throw badRequest('invalid_quiet_hours', problem);
    }
    await withTransaction(db, async (tx) => {
      await tx.query(
        `INSERT INTO customer_preferences (customer_key, channels, locale, quiet_hours) VALUES ($1, $2, $3, $4)
         ON CONFLICT (customer_key) DO UPDATE SET channels = EXCLUDED.channels, locale = EXCLUDED.locale, quiet_hours = EXCLUDED.quiet_hours, updated_at = now()`,
        [key, body.channels, body.locale ?? null, body.quietHours ? jsonb(body.quietHours) : null]);
      await appendAudit(tx, { actor: actorOf(c), action: 'customer.preferences', target: `customer:${key}`, detail: { ...body } });
    });
    return c.json({ customer: key, channels: body.channels, locale: body.locale ?? null, quietHours: body.quietHours ?? null });
  });

  // An operator's choice of warehouse or carrier, replacing the automatic one before release.
  app.post('/orders/:id/allocation', async (c) => {
    const body = await readBody(c, validateAllocation);
    const id = c.req.param('id');
    await withTransaction(db, async (tx) => {
      const record = await order(tx, id);
      if (!['validated', 'backordered', 'allocated', 'ready_to_ship'].includes(record.status)) {
        throw conflict('not_allocatable', `order ${record.orderNumber} is ${record.status}; allocation can change only before release`);
      }
      if (body.warehouse && !(await warehouseExists(tx, body.warehouse))) throw badRequest('unknown_warehouse', `no warehouse ${body.warehouse}`);
      await enqueueMessages(tx, orderMessages(ctx, 'api', id, [{ type: 'order.allocation_override_requested', data: { orderId: id, ...body, actor: actorOf(c) } }]));
      await appendAudit(tx, { actor: actorOf(c), action: 'order.allocation_override', target: `order:${id}`, detail: { ...body } });
    });
    return c.json({ orderId: id, status: 'accepted' }, 202);
  });

  // archived=true searches the archive instead, with the same filters.
  app.get('/orders', async (c) => c.json(await orderSearchPage(db, c.req.queries())));

  app.get('/orders/:id', async (c) => {
    const id = c.req.param('id');
    const detail = uuid.test(id) ? await orderDetail(db, id) : undefined;
    if (!detail) throw notFound('order_not_found', `no order with id ${id}`);
    return c.json(detail);
  });

  // Stored deliveries: `status=failed` lists those that could not be turned into orders.
  app.get('/inbound', async (c) => {
    const status = queryParam(c, 'status');
    const statuses: RawStatus[] = status === undefined ? [] : status === 'failed' ? ['invalid', 'failed'] : [status as RawStatus];
    if (!statuses.every((s) => rawStatuses.includes(s))) throw badRequest('invalid_query', `status must be one of failed, ${rawStatuses.join(', ')}`);
    const items = await listRawDeliveries(db, { statuses, source: queryParam(c, 'source'), limit: limitParam(c) });
    return c.json({ items });
  });

  app.get('/inbound/:id', async (c) => {
    const raw = await getRawSummary(db, rawIdParam(c));
    if (!raw) throw notFound('delivery_not_found', `no stored delivery ${c.req.param('id')}`);
    const { body, ...rest } = raw;
    return c.json({ ...rest, body: body.toString('utf8') });
  });

  // Sends a stored delivery through the pipeline again, after its mapping or config was fixed.
  app.post('/inbound/:id/replay', async (c) => {
    const id = rawIdParam(c);
    const outcome = await withTransaction(db, async (tx) => {
      const raw = await getRawSummary(tx, id);
      if (!raw) throw notFound('delivery_not_found', `no stored delivery ${id}`);
      if (raw.status === 'processed' || raw.status === 'accepted') {
        throw conflict('already_processed', `delivery ${id} is ${raw.status}; replaying it would change nothing`);
      }
      const type = acceptedMessageFor[raw.kind as keyof typeof acceptedMessageFor];
      if (!type) throw conflict('not_replayable', `delivery ${id} is a ${raw.kind} call, applied when it arrived; its sender posts it again`);
      await markForReplay(tx, id);
      await appendAudit(tx, { action: 'inbound.replay', target: String(id), actor: actorOf(c), detail: { previous: raw.status } });
      await sendStoredDelivery(tx, ctx, { id, source: raw.source, topic: raw.topic }, type);
      return raw;
    });
    return c.json({ id, status: 'accepted', previous: outcome.status, replays: outcome.replays + 1 }, 202);
  });

  // A provider's settlement report (CSV: Stripe balance transactions / itemized balance
  // report, Adyen settlement details), compared with the ledger; every discrepancy is kept
  // with the import and opens an exception for finance.
  app.post('/settlements/:provider', async (c) => {
    const provider = c.req.param('provider');
    const parse = provider === 'stripe' ? parseStripeBalanceTransactions : provider === 'adyen' ? parseAdyenSettlementDetails : undefined;
    if (!parse) throw notFound('unknown_provider', `settlement reports are read for stripe and adyen, not "${provider}"`);
    const text = await c.req.text();
    if (text.length === 0) throw badRequest('empty_report', 'the body must be the CSV report');
    const parsed = parse(text);
    if (parsed.rows.length === 0 && parsed.problems.length > 0) {
      throw new HubError('invalid_report', 'the report could not be read', { status: 422, details: { problems: parsed.problems.slice(0, 50) } });
    }
    const report = await withTransaction(db, async (tx) => {
      const comparison = compareSettlement(parsed.rows, await providerLedger(tx, provider), provider);
      const { rows } = await tx.query<{ id: number }>(
        `INSERT INTO settlements (provider, file_name, rows, matched, discrepancies, fees) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
        [provider, c.req.header('x-file-name') ?? null, parsed.rows.length, comparison.matched, jsonb(comparison.discrepancies), jsonb(comparison.fees)]);
      const id = rows[0]!.id;
      for (const [i, d] of comparison.discrepancies.entries()) {
        await openException(tx, withSop(ctx.config, ctx.now(), {
          type: 'settlement_discrepancy',
          reason: describeDiscrepancy(provider, d), messageId: `settlement:${id}:${i}`, stage: 'settlement', details: { settlement: id, ...d },
        }));
      }
      await appendAudit(tx, { actor: actorOf(c), action: 'settlement.import', target: `settlement:${id}`, detail: { provider, rows: parsed.rows.length } });
      return { id, provider, rows: parsed.rows.length, problems: parsed.problems, ...comparison };
    });
    return c.json(report, 201);
  });

  app.get('/warehouses', async (c) => c.json({ items: await listWarehouses(db) }));
  app.get('/products', async (c) => c.json({ items: await listProducts(db) }));

  app.put('/products/:sku', async (c) => {
    const sku = c.req.param('sku');
    if (!skuPattern.test(sku)) throw badRequest('invalid_sku', 'a SKU is 1..128 characters without spaces or slashes');
    const body = await readBody(c, validateProduct);
    const { product, created } = await withTransaction(db, async (tx) => {
      const result = await upsertProduct(tx, { sku, ...body });
      await appendAudit(tx, { actor: actorOf(c), action: result.created ? 'product.create' : 'product.update', target: `product:${sku}`, detail: { ...body } });
      return result;
    });
    // this process's stages see the change at once; others within the cache's few seconds
    ctx.reference?.forget();
    return c.json(product, created ? 201 : 200);
  });

  app.get('/inventory', async (c) => {
    const items = await listInventory(db, { sku: queryParam(c, 'sku'), warehouse: queryParam(c, 'warehouse') });
    return c.json({ items });
  });

  app.put('/inventory/:warehouse/:sku', async (c) => {
    const { warehouse, sku } = c.req.param();
    if (!skuPattern.test(sku) || !skuPattern.test(warehouse)) throw notFound('inventory_not_found', 'no such warehouse or SKU');
    const body = await readBody(c, validateStock);
    if (!(await warehouseExists(db, warehouse))) throw notFound('warehouse_not_found', `no warehouse ${warehouse}`);
    if (!(await productExists(db, sku))) throw notFound('product_not_found', `no product ${sku}; create it with PUT /api/products/${sku} first`);
    const result = await withTransaction(db, async (tx) => {
      const before = await stockLevel(tx, warehouse, sku);
      const set = await setOnHand(tx, warehouse, sku, body.onHand);
      if (set.ok) {
        await appendAudit(tx, { actor: actorOf(c), action: 'inventory.set', target: `inventory:${warehouse}:${sku}`, detail: { ...body } });
        await stockChanged(tx, ctx, warehouse, sku, before?.available ?? 0);
      }
      return set;
    });
    if (!result.ok) {
      throw conflict('below_reserved', `${result.reserved} units of ${sku} are reserved in ${warehouse}; on hand cannot go below that`, { reserved: result.reserved });
    }
    return c.json(result.row);
  });

  return app;
}
