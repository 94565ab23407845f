// Exceptions that every order's path resolves "in passing" — a replayed delivery that now
// maps, a low-stock alert whose stock came back — are resolved by a statement the path runs
// anyway (the raw delivery marked processed, the stock level read). These check that the
// folded statements still resolve what they must, and only that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { withTransaction } from '../core/db/pool.ts';
import { stockChanged } from '../core/stages/stock.ts';
import { eventually, shopifySecret } from './support/env.ts';
import { adminRequest, settled, startTestHub } from './support/hub.ts';
import { shopifyHeaders, shopifyOrderBody } from './support/shopify.ts';

const config = loadConfig(defaultConfigPath);
config.products.push({ sku: 'PASS-LAMP', name: 'Lamp', category: 'kitchen', weightGrams: 900 });
config.stock.push({ warehouse: 'us-east', sku: 'PASS-LAMP', onHand: 8 });
config.inventory = { lowStockThreshold: 5 };
let t: Awaited<ReturnType<typeof startTestHub>>;

beforeAll(async () => {
  t = await startTestHub('passing', ['api', 'worker'], { config });
});
afterAll(async () => {
  await t?.stop();
});

const exceptionsOf = async (where: string, values: unknown[]) => (await t.hub.db.query<{ status: string; details: Record<string, unknown> }>(
  `SELECT status, details FROM exceptions WHERE ${where} ORDER BY id`, values)).rows;

describe('resolved in passing', () => {
  it('a stored delivery that maps on replay has its invalid_payload exception resolved; others keep theirs', async () => {
    // given two deliveries that did not map, each kept raw with an open exception
    const post = (body: string, eventId: string) => t.hub.app.request('/webhooks/orders/shopify', { method: 'POST', body, headers: shopifyHeaders(body, shopifySecret, eventId) });
    const broken = '{"id": 6100000001, "line_items": [';
    const fixed = (await (await post(broken, 'evt-pass-1')).json()) as { rawId: number };
    const other = (await (await post(broken, 'evt-pass-2')).json()) as { rawId: number };
    expect(await exceptionsOf('raw_id = ANY($1)', [[fixed.rawId, other.rawId]])).toEqual([
      expect.objectContaining({ status: 'open' }), expect.objectContaining({ status: 'open' }),
    ]);

    // when the first one's bytes are corrected (as a mapping fix would make them map) and it is replayed
    await t.hub.db.query('UPDATE raw_inbound SET body = $2 WHERE id = $1', [fixed.rawId, Buffer.from(shopifyOrderBody({ id: '6100000001' }))]);
    expect((await adminRequest(t.hub, `/inbound/${fixed.rawId}/replay`, { method: 'POST' })).status).toBe(202);
    await eventually(async () => ((await t.hub.db.query(`SELECT 1 FROM raw_inbound WHERE id = $1 AND status = 'processed'`, [fixed.rawId])).rowCount ? true : undefined));
    await settled(t.hub);

    // then its exception is resolved, with the reason; the other delivery's stays open
    expect(await exceptionsOf('raw_id = $1', [fixed.rawId])).toEqual([
      expect.objectContaining({ status: 'resolved', details: expect.objectContaining({ resolution: 'the delivery was processed' }) }),
    ]);
    expect(await exceptionsOf('raw_id = $1', [other.rawId])).toEqual([expect.objectContaining({ status: 'open' })]);
    expect((await t.hub.db.query(`SELECT 1 FROM orders WHERE external_id = '6100000001'`)).rowCount).toBe(1);
  });

  it('a stock change opens the low-stock alert at the threshold and resolves it once above, through the level it reads', async () => {
    const alertOf = () => exceptionsOf(`type = 'low_stock' AND message_id = 'low_stock:us-east:PASS-LAMP'`, []);
    const setOnHand = (n: number) => t.hub.db.query(`UPDATE inventory SET on_hand = $1 WHERE warehouse = 'us-east' AND sku = 'PASS-LAMP'`, [n]);
    const changed = (before: number) => withTransaction(t.hub.db, (tx) => stockChanged(tx, t.hub.ctx, 'us-east', 'PASS-LAMP', before));

    // above the threshold with no alert: nothing to resolve, nothing opened
    await changed(8);
    expect(await alertOf()).toEqual([]);
    // at the threshold: an open alert
    await setOnHand(5);
    await changed(8);
    expect(await alertOf()).toEqual([expect.objectContaining({ status: 'open' })]);
    // still at it: the alert stays open
    await changed(5);
    expect(await alertOf()).toEqual([expect.objectContaining({ status: 'open' })]);
    // back above it: resolved, saying why, and the stock that came back announced
    await setOnHand(9);
    await changed(5);
    expect(await alertOf()).toEqual([
      expect.objectContaining({ status: 'resolved', details: expect.objectContaining({ resolution: '9 available, above the threshold of 5' }) }),
    ]);
    const replenished = await t.hub.db.query(`SELECT 1 FROM outbox WHERE routing_key = 'inventory.replenished' AND body->'data'->>'sku' = 'PASS-LAMP'`);
    expect(replenished.rowCount).toBe(1);
  });
});
