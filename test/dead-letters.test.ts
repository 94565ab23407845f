// Dead letters through the real hub: a warehouse's stock count parks because it names a SKU
// the hub does not know; an operator sees it with its error, adds the product, replays it,
// and the backordered order it was holding up is released. Replay many, discard with a
// reason, one row per parked message however many copies arrive, 404 and 409.
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import type { Hub } from '../core/hub.ts';
import { names } from '../core/messaging/topology.ts';
import { eventually } from './support/env.ts';
import { adminJson, adminRequest, postWebsiteOrder, settled, startTestHub } from './support/hub.ts';
import { anOrder, orderLine, shippingAddress } from './support/orders.ts';

const secret = 'website-secret';
let hub: Hub;
let stop: () => Promise<void>;
let connection: ChannelModel;
let channel: Channel;
let warehouseEvents: string;

interface Letter {
  id: number; messageId: string; queue: string; error: string; attempts: number; status: string; ageSeconds: number;
  eventType: string | null; replayOf: string | null; replayCount: number; resolvedBy: string | null; resolution: string | null; replayedAs: string | null;
}
interface Detail extends Letter { headers: Record<string, unknown>; body: { id: string; data: Record<string, unknown> } | null; bodyText: string }

beforeAll(async () => {
  const config = loadConfig(defaultConfigPath);
  config.products.push({ sku: 'DL-1', name: 'Held up by a count', category: 'apparel', weightGrams: 200 });
  config.stock.push({ warehouse: 'us-east', sku: 'DL-1', onHand: 0 });
  const started = await startTestHub('deadletters', ['worker'], { config, env: { WEBSITE_WEBHOOK_SECRET: secret } });
  hub = started.hub;
  stop = () => started.stop();
  warehouseEvents = names(hub.namespace).warehouseEvents;
  connection = await amqp.connect(started.env.amqpUrl);
  channel = await connection.createChannel();
});
afterAll(async () => {
  await connection?.close();
  await stop?.();
});

/** A warehouse system's CloudEvent on its queue, as a WMS publishes it. */
function warehouseEvent(id: string, type: string, data: Record<string, unknown>): void {
  const event = { specversion: '1.0', id, source: '/wms/us-east', type, time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-east', ...data } };
  channel.sendToQueue(warehouseEvents, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: id });
}

const letters = async (query: string) => (await adminJson<{ items: Letter[]; nextCursor: string | null }>(hub, `/dead-letters${query}`)).body;
/** Waits for the parked dead letter of message `messageId`. */
const parkedLetter = (messageId: string) => eventually(async () => {
  const { items } = await letters(`?status=parked&queue=${encodeURIComponent(warehouseEvents)}&limit=500`);
  return items.find((l) => l.messageId === messageId);
}, 15_000, `dead letter ${messageId}`);
const post = (path: string, body?: unknown) => adminJson(hub, path, { method: 'POST', ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const addProduct = async (sku: string) => {
  const { status } = await adminJson(hub, `/products/${sku}`, { method: 'PUT', body: JSON.stringify({ name: `Product ${sku}`, category: 'apparel', weightGrams: 100 }) });
  expect([200, 201]).toContain(status);
};
const poisonException = async (messageId: string) =>
  (await hub.db.query<{ status: string; details: Record<string, unknown> }>(`SELECT status, details FROM exceptions WHERE type = 'poison_message' AND message_id = $1`, [messageId])).rows;
const orderByExternalId = async (externalId: string) => {
  const { body } = await adminJson<{ items: { id: string; status: string }[] }>(hub, `/orders?channel=website&externalId=${externalId}`);
  return body.items[0]!;
};
const onHand = async (sku: string) => {
  const { body } = await adminJson<{ items: { onHand: number }[] }>(hub, `/inventory?warehouse=us-east&sku=${sku}`);
  return body.items[0]?.onHand;
};

describe('a stock count that names an unknown SKU', () => {
  it('parks, is listed with its error and attempts, and once the product exists its replay releases the order it held up', async () => {
    // given a paid order for a SKU with no stock: backordered
    const order = anOrder({ externalId: 'DL-ORDER-1', lines: [orderLine('DL-1', 1)], shippingAddress: shippingAddress('US', 'KY', { postalCode: '40202' }) });
    const response = await postWebsiteOrder(hub, order, secret, 'dl-e-1');
    expect(response.status, await response.clone().text()).toBe(200);
    await settled(hub);
    expect((await orderByExternalId('DL-ORDER-1')).status).toBe('backordered');

    // when the warehouse counts the SKU in, together with one the hub has never heard of
    warehouseEvent('wms-dl-1', 'inventory.snapshot', { items: [{ sku: 'DL-1', onHand: 2 }, { sku: 'DL-NEW', onHand: 5 }] });
    const first = await parkedLetter('wms-dl-1');

    // then the whole count is parked (nothing of it applied) and listed with why
    expect(first).toMatchObject({ queue: warehouseEvents, attempts: 1, status: 'parked', eventType: 'inventory.snapshot', replayOf: null, replayCount: 0 });
    expect(first.error).toContain('unknown SKU DL-NEW');
    expect(first.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(await onHand('DL-1')).toBe(0);
    expect((await orderByExternalId('DL-ORDER-1')).status).toBe('backordered');
    expect(await poisonException('wms-dl-1')).toEqual([expect.objectContaining({ status: 'open', details: expect.objectContaining({ deadLetterId: first.id }) })]);

    // inspect: headers and body as they were parked
    const detail = await adminJson<Detail>(hub, `/dead-letters/${first.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.headers).toMatchObject({ 'x-hub-queue': warehouseEvents, 'x-hub-attempt': 1, 'x-hub-parked': true });
    expect(detail.body.body?.data.items).toEqual([{ sku: 'DL-1', onHand: 2 }, { sku: 'DL-NEW', onHand: 5 }]);

    // a replay before the cause is fixed parks again, as a new dead letter naming the first
    const early = await post(`/dead-letters/${first.id}/replay`);
    expect(early.status).toBe(202);
    const replayedAs = String(early.body.replayedAs);
    const second = await parkedLetter(replayedAs);
    expect(second).toMatchObject({ replayOf: 'wms-dl-1', replayCount: 1, status: 'parked' });
    expect((await adminJson<Detail>(hub, `/dead-letters/${first.id}`)).body).toMatchObject({ status: 'replayed', replayedAs, resolvedBy: 'admin' });
    expect(await poisonException('wms-dl-1')).toEqual([expect.objectContaining({ status: 'resolved' })]);

    // the operator adds the product, replays the count, and the order goes out
    await addProduct('DL-NEW');
    const fixed = await post(`/dead-letters/${second.id}/replay`);
    expect(fixed.status).toBe(202);
    expect(fixed.body).toMatchObject({ id: second.id, messageId: replayedAs, queue: warehouseEvents, status: 'replayed' });
    await eventually(async () => ((await onHand('DL-NEW')) === 5 ? true : undefined), 15_000, 'the count applied');
    await settled(hub);
    expect(await onHand('DL-1')).toBe(2);
    expect((await orderByExternalId('DL-ORDER-1')).status).toBe('released');
    expect((await letters('?status=parked')).items.filter((l) => l.replayOf === replayedAs)).toEqual([]);

    // each replay was audited with the caller's name
    const { rows } = await hub.db.query<{ actor: string; target: string }>(`SELECT actor, target FROM audit_log WHERE action = 'dead_letter.replay' ORDER BY id`);
    expect(rows).toEqual([{ actor: 'admin', target: `dead_letter:${first.id}` }, { actor: 'admin', target: `dead_letter:${second.id}` }]);

    // a second replay of the same dead letter is refused
    const again = await post(`/dead-letters/${second.id}/replay`);
    expect(again.status).toBe(409);
    expect(again.type).toContain('application/problem+json');
    expect(again.body).toMatchObject({ code: 'dead_letter_resolved', status: 409, deadLetterStatus: 'replayed' });
  });
});

describe('replay many', () => {
  it('by id and by queue, each on its own: what cannot be replayed is reported, the rest goes through once', async () => {
    for (const id of ['wms-many-1', 'wms-many-2', 'wms-many-3']) warehouseEvent(id, 'inventory.adjusted', { sku: 'DL-MANY', delta: 1, reason: 'receipt' });
    const [a] = await Promise.all(['wms-many-1', 'wms-many-2', 'wms-many-3'].map(parkedLetter));
    await addProduct('DL-MANY');
    // its stock row exists before the receipts arrive: the three replays run side by side
    expect((await adminJson(hub, '/inventory/us-east/DL-MANY', { method: 'PUT', body: JSON.stringify({ onHand: 0 }) })).status).toBe(200);

    const byId = await post('/dead-letters/replay', { ids: [a!.id, 99_999_999] });
    expect(byId.status).toBe(200);
    expect(byId.body).toMatchObject({
      replayed: 1, refused: 1,
      items: [
        { id: a!.id, outcome: 'replayed', messageId: 'wms-many-1' },
        { id: 99_999_999, outcome: 'refused', status: 404, code: 'dead_letter_not_found' },
      ],
    });

    const byQueue = await post('/dead-letters/replay', { queue: warehouseEvents, status: 'parked' });
    expect(byQueue.status).toBe(200);
    expect(byQueue.body).toMatchObject({ replayed: 2, refused: 0 });
    expect((byQueue.body.items as { messageId: string }[]).map((i) => i.messageId).sort()).toEqual(['wms-many-2', 'wms-many-3']);

    await eventually(async () => ((await onHand('DL-MANY')) === 3 ? true : undefined), 15_000, 'three receipts applied');
    await settled(hub);
    expect(await onHand('DL-MANY')).toBe(3);
    expect((await letters(`?status=parked&queue=${encodeURIComponent(warehouseEvents)}`)).items).toEqual([]);

    // bad bodies are 400 problems
    for (const body of [{}, { ids: [] }, { ids: [1], queue: warehouseEvents, status: 'parked' }, { queue: warehouseEvents }, { ids: Array.from({ length: 101 }, (_, i) => i + 1) }]) {
      const answer = await post('/dead-letters/replay', body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.type).toContain('application/problem+json');
    }
  });
});

describe('a parked message too large to show whole', () => {
  it('shows its first 64 KiB, cut at a character, and gives the whole body byte for byte as a download', async () => {
    // 300,000 two-byte characters: 600 kB, over the 256 KiB shown whole
    warehouseEvent('wms-dl-large', 'inventory.recount', { note: 'é'.repeat(300_000) });
    const letter = await parkedLetter('wms-dl-large');
    const detail = await adminJson<Detail & { bodyBase64: string | null; bodyBytes: number; bodyTruncated: boolean; bodyUrl: string }>(hub, `/dead-letters/${letter.id}`);
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ body: null, bodyBase64: null, bodyTruncated: true, bodyUrl: `/api/dead-letters/${letter.id}/body` });
    expect(detail.body.bodyBytes).toBeGreaterThan(600_000);
    expect(Buffer.byteLength(detail.body.bodyText)).toBeLessThanOrEqual(64 * 1024);
    expect(Buffer.byteLength(detail.body.bodyText)).toBeGreaterThan(64 * 1024 - 4);
    expect(detail.body.bodyText).not.toContain('\ufffd');
    expect(detail.body.bodyText.startsWith('{')).toBe(true);

    const download = await adminRequest(hub, `/dead-letters/${letter.id}/body`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
    const bytes = Buffer.from(await download.arrayBuffer());
    expect(bytes.length).toBe(detail.body.bodyBytes);
    expect(JSON.parse(bytes.toString('utf8'))).toMatchObject({ id: 'wms-dl-large', data: { note: 'é'.repeat(300_000) } });
    expect((await adminRequest(hub, '/dead-letters/999999999/body')).status).toBe(404);
  });
});

describe('discard', () => {
  it('marks the dead letter with the reason, resolves its exception, and refuses a second action', async () => {
    warehouseEvent('wms-discard-1', 'inventory.adjusted', { sku: 'NEVER-SOLD', delta: 4, reason: 'mis-scan' });
    const letter = await parkedLetter('wms-discard-1');

    expect((await post(`/dead-letters/${letter.id}/discard`, { reason: '  ' })).status).toBe(400);
    expect((await post(`/dead-letters/${letter.id}/discard`)).status).toBe(400);
    const discarded = await post(`/dead-letters/${letter.id}/discard`, { reason: 'a mis-scan; the WMS corrected it' });
    expect(discarded.status).toBe(200);
    expect(discarded.body).toMatchObject({ id: letter.id, status: 'discarded', reason: 'a mis-scan; the WMS corrected it' });

    const detail = (await adminJson<Detail>(hub, `/dead-letters/${letter.id}`)).body;
    expect(detail).toMatchObject({ status: 'discarded', resolvedBy: 'admin', resolution: 'a mis-scan; the WMS corrected it', replayedAs: null });
    expect(await poisonException('wms-discard-1')).toEqual([
      expect.objectContaining({ status: 'resolved', details: expect.objectContaining({ resolution: 'discarded by admin: a mis-scan; the WMS corrected it' }) }),
    ]);
    const { rows } = await hub.db.query(`SELECT actor, detail FROM audit_log WHERE action = 'dead_letter.discard' AND target = $1`, [`dead_letter:${letter.id}`]);
    expect(rows).toEqual([{ actor: 'admin', detail: { messageId: 'wms-discard-1', reason: 'a mis-scan; the WMS corrected it' } }]);

    expect((await post(`/dead-letters/${letter.id}/discard`, { reason: 'again' })).status).toBe(409);
    expect((await post(`/dead-letters/${letter.id}/replay`)).status).toBe(409);
    expect((await letters('?status=discarded')).items.map((l) => l.id)).toContain(letter.id);
  });

  it('answers 404 for a dead letter that does not exist, and 400 for a bad query', async () => {
    for (const path of ['/dead-letters/99999999', '/dead-letters/abc', '/dead-letters/0']) {
      const answer = await adminJson(hub, path);
      expect(answer.status, path).toBe(404);
      expect(answer.type).toContain('application/problem+json');
    }
    expect((await post('/dead-letters/99999999/replay')).status).toBe(404);
    expect((await post('/dead-letters/99999999/discard', { reason: 'x' })).status).toBe(404);
    for (const query of ['?status=lost', '?limit=0', '?limit=x', '?cursor=abc']) expect((await adminJson(hub, `/dead-letters${query}`)).status, query).toBe(400);
    expect((await hub.app.request('/api/dead-letters')).status).toBe(401);
  });
});

describe('copies and redeliveries', () => {
  it('stores a parked message once, however many copies reach the parking exchange, and drains the parked queue', async () => {
    const content = Buffer.from(JSON.stringify({ specversion: '1.0', id: 'dup-1', source: '/test', type: 'inventory.adjusted', time: new Date().toISOString(), datacontenttype: 'application/json', data: { warehouse: 'us-east', sku: 'NOPE', delta: 1 } }));
    const headers = { 'x-hub-parked': true, 'x-hub-queue': warehouseEvents, 'x-hub-reason': 'unknown_sku: us-east reported stock of unknown SKU NOPE', 'x-hub-attempt': 1 };
    // the same parked message three times (a consumer that parked it and crashed before its ack, twice)
    for (let i = 0; i < 3; i += 1) channel.publish(names(hub.namespace).parking, warehouseEvents, content, { persistent: true, messageId: 'dup-1', headers });
    await parkedLetter('dup-1');
    await eventually(async () => {
      const parked = await channel.checkQueue(names(hub.namespace).parked);
      const audit = await channel.checkQueue(names(hub.namespace).parkingAudit);
      return parked.messageCount === 0 && audit.messageCount === 0 ? true : undefined;
    }, 15_000, 'both parked queues drained');
    const { rows } = await hub.db.query<{ n: number }>(`SELECT count(*) AS n FROM dead_letters WHERE message_id = 'dup-1'`);
    expect(rows[0]?.n).toBe(1);
    expect(await poisonException('dup-1')).toHaveLength(1);
  });

  it('pages through the list with a cursor, newest first', async () => {
    const all = (await letters('?limit=500')).items;
    expect(all.length).toBeGreaterThanOrEqual(4);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page: { items: Letter[]; nextCursor: string | null } = await letters(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((l) => l.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all.map((l) => l.id));
    expect(seen).toEqual([...seen].sort((x, y) => y - x));
  });
});
