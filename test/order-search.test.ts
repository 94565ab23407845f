import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { maskRecipient } from '../core/order/mask-recipient.ts';
import { decodeSearchCursor, encodeSearchCursor } from '../core/order/search-cursor.ts';
import { archiveFinishedOrders } from '../core/stages/archive.ts';
import { eventually } from './support/env.ts';
import { adminJson, postEasyPostDelivered, postWebsiteOrder, settled, startTestHub, warehouseListener } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';
import { startSmtpSink, type SmtpSink } from './support/smtp-sink.ts';

// The order search and the full order detail through the real hub. Most orders are written
// straight into `orders` / `archived_orders` with SQL (hundreds of them, with chosen receive
// times, ties included, which the pipeline cannot make); one order goes through the whole
// pipeline (website webhook, bank transfer recorded by an operator, queue warehouse, EasyPost
// delivery, email through a real SMTP server, feedback) and then through the archive job.
const secrets = { WEBSITE_WEBHOOK_SECRET: 'web-search', EASYPOST_WEBHOOK_SECRET: 'ep-search' };
let t: Awaited<ReturnType<typeof startTestHub>>;
let hub: Hub;
let smtp: SmtpSink;
let usEast: Awaited<ReturnType<typeof warehouseListener>>;

beforeAll(async () => {
  smtp = await startSmtpSink();
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'SRCH-PIPE', name: 'Searchable goods', category: 'kitchen', weightGrams: 300 });
  config.stock.push({ warehouse: 'us-east', sku: 'SRCH-PIPE', onHand: 100 });
  config.notifications = { ...config.notifications, email: { host: smtp.host, port: smtp.port, from: 'orders@shop.example' } };
  t = await startTestHub('search', ['worker'], { config, env: secrets });
  hub = t.hub;
  usEast = await warehouseListener(hub, 'us-east');
}, 60_000);
afterAll(async () => {
  await usEast?.close();
  await t?.stop();
  await smtp?.close();
});

/** An order as the seeds write it, and as the model of the search reads it. */
interface Seed {
  id: string; orderNumber: string; channel: string; externalId: string; status: string; paymentStatus: string;
  email: string | null; skus: string[];
  /** `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so string order is time order */
  receivedAt: string;
}

/** Writes orders (and their lines) straight into the live tables or their archive twins. */
async function seed(place: 'live' | 'archive', rows: readonly Seed[]): Promise<void> {
  const [orders, lines] = place === 'live' ? ['orders', 'order_lines'] : ['archived_orders', 'archived_order_lines'];
  await hub.db.query(
    `INSERT INTO ${orders} (id, order_number, channel, external_id, status, payment_status, fulfillment_status, currency, grand_total,
                            customer_email, data, placed_at, created_at)
     SELECT id, num, ch, ext, st, ps, 'unfulfilled', 'USD', 1000, em, '{}'::jsonb, at, at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::timestamptz[]) AS s(id, num, ch, ext, st, ps, em, at)`,
    [rows.map((r) => r.id), rows.map((r) => r.orderNumber), rows.map((r) => r.channel), rows.map((r) => r.externalId),
      rows.map((r) => r.status), rows.map((r) => r.paymentStatus), rows.map((r) => r.email), rows.map((r) => r.receivedAt)]);
  const flat = rows.flatMap((r) => r.skus.map((sku, i) => ({ id: r.id, n: i + 1, sku })));
  await hub.db.query(
    `INSERT INTO ${lines} (order_id, line_no, sku, name, quantity, unit_price, discount, tax)
     SELECT id, n, sku, sku, 1, 1000, 0, 0 FROM unnest($1::uuid[], $2::int[], $3::text[]) AS l(id, n, sku)`,
    [flat.map((l) => l.id), flat.map((l) => l.n), flat.map((l) => l.sku)]);
}

/** Newest first, ties broken by id, as the search pages them. */
const newestFirst = (a: Seed, b: Seed) => (a.receivedAt === b.receivedAt ? (a.id < b.id ? 1 : -1) : a.receivedAt < b.receivedAt ? 1 : -1);
const micro = (ms: number, us = 0) => `${new Date(ms).toISOString().slice(0, 23)}${String(us).padStart(3, '0')}Z`;

type Page = { items: { id: string; archived?: boolean }[]; nextCursor: string | null };
type Problem = { status: number; code: string; detail: string; problems: { parameter: string; message: string }[] };
const get = <T = Page>(path: string) => adminJson<T>(hub, path);

/** Every page of a search, `limit` at a time; `between` runs after each page but the last. */
async function allPages(query: string, limit: number, between: (page: number) => Promise<void> = async () => {}): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  for (let page = 0; page < 1000; page += 1) {
    const { status, body }: { status: number; body: Page } = await get(`/orders?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(status).toBe(200);
    expect(body.items.length).toBeLessThanOrEqual(limit);
    ids.push(...body.items.map((o) => o.id));
    if (body.nextCursor === null) return ids;
    // a full page whenever another follows
    expect(body.items).toHaveLength(limit);
    cursor = body.nextCursor;
    await between(page);
  }
  throw new Error('the search never ended');
}

// 90 orders either side of midnight, 1–2 March 2025, three channels, every fourth received in the same
// microsecond as the one before (one transaction), lines of one or two SKUs.
const statuses = ['received', 'allocated', 'shipped', 'delivered', 'cancelled'];
const payments = ['pending', 'paid', 'refunded', 'paid'];
const emails = ['Srch-Ann@Example.com', 'srch-bob@example.com', null];
const skus = [['SRCH-RED'], ['SRCH-BLUE', 'SRCH-RED'], ['SRCH-GREEN']];
const base = Date.parse('2025-03-01T23:00:00Z');
const seeds: Seed[] = [];
for (let i = 0; i < 90; i += 1) {
  const previous = seeds[i - 1];
  seeds.push({
    id: randomUUID(), orderNumber: `SRCH-${i}`, channel: ['srch-web', 'srch-app', 'srch-mkt'][i % 3]!, externalId: `SE-${i}`,
    status: statuses[i % 5]!, paymentStatus: payments[i % 4]!, email: emails[i % 3 === 2 ? 2 : i % 2]!, skus: skus[(i * 7) % 3]!,
    receivedAt: i % 4 === 3 && previous ? previous.receivedAt : micro(base + i * 60_000, i * 37 % 1000),
  });
}
const seedWindow = 'from=2025-03-01&to=2025-03-03';
const model = (keep: (s: Seed) => boolean) => seeds.filter(keep).sort(newestFirst).map((s) => s.id);

describe('order search', () => {
  beforeAll(async () => {
    await seed('live', seeds);
  });

  it.each([
    ['channel', 'channel=srch-app', (s: Seed) => s.channel === 'srch-app'],
    ['one status', 'status=shipped', (s: Seed) => s.status === 'shipped'],
    ['a list of statuses', 'status=shipped,cancelled,shipped', (s: Seed) => ['shipped', 'cancelled'].includes(s.status)],
    ['payment status', 'paymentStatus=refunded', (s: Seed) => s.paymentStatus === 'refunded'],
    ['email, whatever its case', 'email=SRCH-ANN%40example.COM', (s: Seed) => s.email?.toLowerCase() === 'srch-ann@example.com'],
    ['SKU (any line)', 'sku=SRCH-BLUE', (s: Seed) => s.skus.includes('SRCH-BLUE')],
    ['SKU on several lines', 'sku=SRCH-RED', (s: Seed) => s.skus.includes('SRCH-RED')],
    ['order number', 'orderNumber=SRCH-7', (s: Seed) => s.orderNumber === 'SRCH-7'],
    ['external id', 'externalId=SE-11', (s: Seed) => s.externalId === 'SE-11'],
    ['from a date (midnight UTC)', 'from=2025-03-02&to=2025-03-03', (s: Seed) => s.receivedAt >= '2025-03-02'],
    ['instants with offsets, to exclusive', `from=2025-03-01T23:00:00Z&to=${encodeURIComponent('2025-03-02T01:10:00+01:00')}`,
      (s: Seed) => s.receivedAt >= '2025-03-01T23:00:00' && s.receivedAt < '2025-03-02T00:10:00'],
    ['everything at once', 'channel=srch-web&status=received,delivered,cancelled&paymentStatus=paid,pending&sku=SRCH-RED&email=srch-bob%40example.com&from=2025-03-01T22:40:00Z',
      (s: Seed) => s.channel === 'srch-web' && ['received', 'delivered', 'cancelled'].includes(s.status) && ['paid', 'pending'].includes(s.paymentStatus)
        && s.skus.includes('SRCH-RED') && s.email === 'srch-bob@example.com' && s.receivedAt >= '2025-03-01T22:40:00'],
  ])('filters by %s, newest first, over every page', async (_name, query, keep) => {
    const expected = model(keep);
    expect(expected.length).toBeGreaterThan(0);
    const found = await allPages(query.includes('from=') ? query : `${query}&${seedWindow}`, 4);
    expect(found).toEqual(expected);
  });

  it('answers { items, nextCursor } with the summary fields; 100 by default; null cursor at the end', async () => {
    const { status, body } = await get<Page & { items: Record<string, unknown>[] }>('/orders?orderNumber=SRCH-7');
    expect(status).toBe(200);
    expect(body).toEqual({ items: [expect.objectContaining({ id: seeds[7]!.id, orderNumber: 'SRCH-7', channel: 'srch-app', externalId: 'SE-7', status: 'shipped', paymentStatus: 'paid', customerEmail: 'srch-bob@example.com' })], nextCursor: null });
    const first = await get(`/orders?${seedWindow}`);
    expect(first.body.items).toHaveLength(90);
    expect(first.body.nextCursor).toBeNull();
    const firstOfTwo = await get(`/orders?${seedWindow}&limit=89`);
    expect(firstOfTwo.body.nextCursor).toEqual(expect.any(String));
    const last = await get(`/orders?${seedWindow}&limit=89&cursor=${firstOfTwo.body.nextCursor}`);
    expect(last.body).toEqual({ items: [expect.objectContaining({ id: model(() => true).at(-1) })], nextCursor: null });
  });

  it('pages through any set of orders, ties included, once each, while newer and older orders arrive between pages', async () => {
    const start = Date.parse('2024-06-01T00:00:00Z');
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        // receive times from a few instants, so many orders share one
        fc.array(fc.record({ minute: fc.integer({ min: 0, max: 5 }), us: fc.constantFrom(0, 1, 999) }), { minLength: 0, maxLength: 40 }),
        fc.integer({ min: 1, max: 9 }),
        fc.integer({ min: 0, max: 3 }),
        async (times, limit, arrivals) => {
          run += 1;
          const channel = `srch-prop-${run}`;
          const make = (receivedAt: string, i: number): Seed => ({
            id: randomUUID(), orderNumber: `${channel}-${i}`, channel, externalId: `${channel}-${i}`, status: 'received', paymentStatus: 'pending',
            email: null, skus: ['SRCH-PROP'], receivedAt,
          });
          const original = times.map((x, i) => make(micro(start + x.minute * 60_000, x.us), i));
          await seed('live', original);
          const late: Seed[] = [];
          const found = await allPages(`channel=${channel}`, limit, async (page) => {
            // newer ones sort before every cursor: the pages still to come never see them
            await seed('live', Array.from({ length: arrivals }, (_, i) => make(micro(start + 3_600_000 + page * 1000 + i), 1000 + page * 10 + i)));
            // an older one sorts after every row so far: it comes once, in a later page
            // (after the first two pages only, or a page of one would never reach the end)
            if (page >= 2) return;
            const older = make(micro(start - 3_600_000 - page * 1000), 2000 + page);
            late.push(older);
            await seed('live', [older]);
          });
          expect(new Set(found).size).toBe(found.length);
          expect(found).toEqual([...original, ...late].sort(newestFirst).map((s) => s.id));
        },
      ),
      { numRuns: 25 },
    );
  }, 120_000);

  it('archived=true applies the same filters to the archive, every row marked archived', async () => {
    const archived = seeds.slice(0, 12).map((s, i) => ({ ...s, id: randomUUID(), channel: 'srch-arch', orderNumber: `SRCH-A-${i}`, externalId: `SA-${i}` }));
    await seed('archive', archived);
    await seed('live', [{ ...archived[0]!, id: randomUUID(), orderNumber: 'SRCH-A-LIVE', externalId: 'SA-LIVE', receivedAt: '2023-01-01T00:00:00.000000Z' }]);
    const keep = (s: Seed) => s.channel === 'srch-arch' && s.skus.includes('SRCH-RED') && s.email?.toLowerCase() === 'srch-ann@example.com';
    const expected = archived.filter(keep).sort(newestFirst).map((s) => s.id);
    expect(expected.length).toBeGreaterThan(1);
    const query = 'archived=true&channel=srch-arch&sku=SRCH-RED&email=srch-ann%40example.com';
    expect(await allPages(query, 1)).toEqual(expected);
    const { body } = await get(`/orders?${query}`);
    expect(body.items.every((o) => o.archived === true)).toBe(true);
    // the live search does not see the archive, nor the archive the live order
    expect((await get('/orders?channel=srch-arch')).body.items.map((o) => o.id)).toHaveLength(1);
    expect((await get('/orders?archived=true&orderNumber=SRCH-A-LIVE')).body.items).toEqual([]);
    expect((await get('/orders?archived=false&orderNumber=SRCH-A-LIVE')).body.items).toHaveLength(1);
  });

  it.each([
    ['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=ten', 'limit'], ['limit=5.5', 'limit'],
    ['status=shipped,lost', 'status'], ['status=SHIPPED', 'status'], ['paymentStatus=owed', 'paymentStatus'],
    ['email=not-an-email', 'email'], ['sku=two%20words', 'sku'], ['channel=a%00b', 'channel'], [`externalId=${'x'.repeat(201)}`, 'externalId'],
    ['from=2025-02-30', 'from'], ['from=2025-03-01T10:00', 'from'], ['from=yesterday', 'from'], ['to=2025-03-01T24:00:00Z', 'to'],
    ['from=2025-03-02&to=2025-03-01', 'to'], ['from=2025-03-01&to=2025-03-01', 'to'],
    ['archived=yes', 'archived'], ['colour=red', 'colour'], ['status=shipped&status=delivered', 'status'],
    ['cursor=not%20base64', 'cursor'], [`cursor=${'A'.repeat(201)}`, 'cursor'],
    [`cursor=${Buffer.from('["2025-03-01T00:00:00.000000Z"]').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from(`["2025-02-30T00:00:00.000000Z","${randomUUID()}"]`).toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from(`["2025-03-01T00:00:00Z","${randomUUID()}"]`).toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('{"receivedAt":"2025-03-01T00:00:00.000000Z"}').toString('base64url')}`, 'cursor'],
  ])('%s → 400 problem naming %s', async (query, parameter) => {
    const { status, type, body } = await get<Problem>(`/orders?${query}`);
    expect(status).toBe(400);
    expect(type).toBe('application/problem+json');
    expect(body).toMatchObject({ status: 400, code: 'invalid_query' });
    expect(body.problems.map((p) => p.parameter)).toEqual([parameter]);
    expect(body.detail).toContain(parameter);
  });

  it('names every bad parameter at once; a tampered cursor is refused, a cursor as handed out is not', async () => {
    const { status, body } = await get<Problem>('/orders?limit=0&email=x&from=2025-13-01');
    expect(status).toBe(400);
    expect(body.problems.map((p) => p.parameter).sort()).toEqual(['email', 'from', 'limit']);

    const { body: page } = await get(`/orders?${seedWindow}&limit=3`);
    const cursor = page.nextCursor!;
    const ok = await get(`/orders?${seedWindow}&limit=3&cursor=${cursor}`);
    expect(ok.status).toBe(200);
    for (const i of [0, 5, cursor.length - 1]) {
      const flipped = `${cursor.slice(0, i)}${cursor[i] === 'A' ? 'B' : 'A'}${cursor.slice(i + 1)}`;
      const refused = await get<Problem>(`/orders?${seedWindow}&limit=3&cursor=${flipped}`);
      expect(refused.status, flipped).toBe(400);
      expect(refused.body.problems).toEqual([expect.objectContaining({ parameter: 'cursor' })]);
    }
    // a well-made cursor pointing anywhere is just a position
    const anywhere = encodeSearchCursor({ receivedAt: '2025-03-02T00:00:00.000000Z', id: 'ffffffff-ffff-4fff-bfff-ffffffffffff' });
    expect((await get(`/orders?${seedWindow}&cursor=${anywhere}`)).body.items.map((o) => o.id)).toEqual(model((s) => s.receivedAt < '2025-03-02T00:00:00.000000Z'));
    expect((await hub.app.request('/api/orders?limit=0')).status).toBe(401);
  });
});

describe('cursor and masking (pure)', () => {
  it('a cursor decodes to the position it was made from; any other string of its alphabet decodes to nothing or to a cursor spelled the same', () => {
    const position = fc.record({
      receivedAt: fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true })
        .chain((d) => fc.integer({ min: 0, max: 999 }).map((us) => micro(d.getTime(), us))),
      id: fc.uuid(),
    });
    fc.assert(fc.property(position, (p) => {
      expect(decodeSearchCursor(encodeSearchCursor(p))).toEqual(p);
    }));
    fc.assert(fc.property(fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'), maxLength: 120 }), (text) => {
      const decoded = decodeSearchCursor(text);
      if (decoded) expect(encodeSearchCursor(decoded)).toBe(text);
    }));
  });

  it('masks an email to its first character and domain, anything else to its last four characters', () => {
    expect(maskRecipient('jane.doe@example.com')).toBe('j***@example.com');
    expect(maskRecipient('+14155550123')).toBe('***0123');
    expect(maskRecipient('1234')).toBe('***');
    fc.assert(fc.property(fc.emailAddress(), (email) => {
      const at = email.lastIndexOf('@');
      const masked = maskRecipient(email);
      expect(masked).toBe(`${email[0]}***${email.slice(at)}`);
      // what stands for the local part never holds it (the domain may: `aa@a.aa`)
      if (at > 1) expect(masked.slice(0, masked.lastIndexOf('@'))).not.toContain(email.slice(0, at));
    }));
  });
});

type Detail = {
  id: string; status: string; paymentStatus: string; archived?: true;
  payments: Record<string, unknown>[]; refunds: Record<string, unknown>[];
  shipments: (Record<string, unknown> & { parcels: Record<string, unknown>[] })[];
  notifications: Record<string, unknown>[]; feedback: Record<string, unknown> | null;
  timeline: { type: string; actor: string; reason: string | null; fromStatus: string | null; toStatus: string | null }[];
};

describe('order detail', () => {
  let id: string;
  const tracking = 'TRK-SEARCH-1';

  beforeAll(async () => {
    const customer = { id: null, email: 'jane.doe@example.com', phone: null, name: 'Jane Doe', locale: 'en' };
    const order = anOrder({
      externalId: 'SRCH-PIPE-1', customer, payment: { method: 'bank_transfer', provider: null, status: 'pending' },
      shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }), lines: [orderLine('SRCH-PIPE', 2)],
    });
    expect((await postWebsiteOrder(hub, order, secrets.WEBSITE_WEBHOOK_SECRET, 'srch-order-1')).status).toBe(200);
    await settled(hub);
    id = (await get('/orders?channel=website&externalId=SRCH-PIPE-1')).body.items[0]!.id;
    // the money arrives by bank transfer, recorded by an operator: paid, released
    const paid = await adminJson(hub, `/orders/${id}/payments`, { method: 'POST', body: JSON.stringify({ amount: 2000, currency: 'USD', method: 'bank_transfer', reference: 'wire-srch-1' }) });
    expect(paid.status).toBe(202);
    await settled(hub);
    const request = await eventually(async () => usEast.received.find((r) => r.data.orderId === id), 10_000, 'the fulfilment request');
    usEast.publish('fulfillment.shipped', { shipmentId: request.data.shipmentId, carrier: 'fedex', trackingNumber: tracking, lines: [{ sku: 'SRCH-PIPE', quantity: 2 }] }, 'srch-wms-1');
    await settled(hub);
    expect((await postEasyPostDelivered(hub, secrets.EASYPOST_WEBHOOK_SECRET, tracking)).status).toBe(200);
    await settled(hub);
    expect((await adminJson(hub, `/orders/${id}/feedback`, { method: 'POST', body: JSON.stringify({ rating: 4, comment: 'quick' }) })).status).toBeLessThan(300);
    // A refund of the manual payment, as finance records it (no provider call behind it).
    await hub.db.query(
      `INSERT INTO refunds (id, order_id, provider, payment_id, amount, currency, reason, status) VALUES ($1, $2, 'manual', 'wire-srch-1', 500, 'USD', 'goodwill', 'succeeded')`,
      [`rf-${id}`, id]);
    await eventually(async () => (smtp.messages.some((m) => m.envelope.to.includes('jane.doe@example.com')) ? true : undefined), 10_000, 'the confirmation email');
    await settled(hub);
  }, 90_000);

  it('a delivered, paid, notified order shows its payments, refunds, shipments with parcels, masked notifications, feedback and timeline', async () => {
    const { status, body: d } = await get<Detail>(`/orders/${id}`);
    expect(status).toBe(200);
    expect(d).toMatchObject({ id, status: 'delivered', paymentStatus: 'paid' });
    expect(d.archived).toBeUndefined();
    expect(d.payments).toEqual([expect.objectContaining({
      provider: 'manual', kind: 'captured', amount: 2000, currency: 'USD', method: 'bank_transfer', paymentId: 'wire-srch-1',
      occurredAt: expect.any(String), matchedAt: expect.any(String),
    })]);
    expect(d.refunds).toEqual([expect.objectContaining({ id: `rf-${id}`, provider: 'manual', paymentId: 'wire-srch-1', amount: 500, currency: 'USD', reason: 'goodwill', status: 'succeeded' })]);
    expect(d.shipments).toEqual([expect.objectContaining({
      warehouse: 'us-east', carrier: expect.any(String), status: 'requested', lines: [{ sku: 'SRCH-PIPE', quantity: 2 }],
      parcels: [expect.objectContaining({
        carrier: 'fedex', trackingCode: tracking, status: 'delivered', shippedAt: expect.any(String), deliveredAt: expect.any(String),
        publicUrl: 'https://track.easypost.com/1', lines: [{ sku: 'SRCH-PIPE', quantity: 2 }],
      })],
    })]);
    expect(d.notifications.length).toBeGreaterThan(0);
    expect(d.notifications).toContainEqual(expect.objectContaining({ channel: 'email', recipient: 'j***@example.com', status: 'sent', sentAt: expect.any(String), error: null, template: expect.any(String) }));
    expect(JSON.stringify(d.notifications)).not.toContain('jane.doe');
    expect(d.feedback).toMatchObject({ rating: 4, comment: 'quick', source: 'api' });
    // every event with an actor, and a reason where a person or a rule decided
    expect(d.timeline.length).toBeGreaterThan(4);
    for (const e of d.timeline) expect(e.actor, e.type).toEqual(expect.any(String));
    expect(d.timeline.map((e) => e.toStatus)).toEqual(expect.arrayContaining(['released', 'shipped', 'delivered']));
    expect(d.timeline.filter((e) => e.reason !== null).length).toBeGreaterThan(0);
    // and the search finds it by what a customer would tell support
    const byCustomer = await get(`/orders?email=JANE.DOE%40EXAMPLE.COM&sku=SRCH-PIPE&status=delivered&paymentStatus=paid&channel=website`);
    expect(byCustomer.body.items.map((o) => o.id)).toEqual([id]);
    expect((await get('/orders/00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect((await get('/orders/not-a-uuid')).status).toBe(404);
  });

  // Last in the file: the archive job moves every finished order of the namespace.
  it('archived, the same sections come from the archive twins, payments and refunds from the live ledger', async () => {
    expect((await adminJson(hub, `/orders/${id}/confirm-receipt`, { method: 'POST' })).status).toBe(200);
    await settled(hub);
    const before = (await get<Detail>(`/orders/${id}`)).body;
    const moved = await archiveFinishedOrders(hub.db, { ...hub.ctx, now: () => new Date(Date.now() + 3650 * 86_400_000) });
    expect(moved.orders).toBeGreaterThan(0);
    expect((await hub.db.query('SELECT 1 FROM orders WHERE id = $1', [id])).rows).toEqual([]);

    const { status, body: d } = await get<Detail>(`/orders/${id}`);
    expect(status).toBe(200);
    expect(d).toMatchObject({ id, archived: true, status: 'completed' });
    expect(d.payments).toEqual(before.payments);
    expect(d.refunds).toEqual(before.refunds);
    expect(d.shipments).toEqual(before.shipments);
    expect(d.notifications).toEqual(before.notifications);
    expect(d.feedback).toEqual(before.feedback);
    expect(d.timeline.slice(0, before.timeline.length)).toEqual(before.timeline);
    expect(d.timeline.at(-1)).toMatchObject({ type: 'order.archived', actor: 'job:archive' });
    const found = await get('/orders?archived=true&email=jane.doe%40example.com&sku=SRCH-PIPE');
    expect(found.body.items).toEqual([expect.objectContaining({ id, archived: true })]);
  });
});
