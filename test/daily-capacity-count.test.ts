// The count behind each warehouse's daily capacity, on the real Postgres: only requested
// shipments count, each warehouse from its own local midnight, and a warehouse with none
// counts zero — for every warehouse asked about, in one statement.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestsSince } from '../core/db/sql/shipments.ts';
import { startTestHub } from './support/hub.ts';

let t: Awaited<ReturnType<typeof startTestHub>>;

beforeAll(async () => {
  t = await startTestHub('capacity-count', []);
});
afterAll(async () => {
  await t?.stop();
});

const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000);

async function shipment(warehouse: string, status: string, requestedAt: Date | null): Promise<void> {
  const orderId = randomUUID();
  await t.hub.db.query(
    `INSERT INTO orders (id, order_number, channel, external_id, status, payment_status, fulfillment_status, currency, grand_total, data, placed_at)
     VALUES ($1, $2, 'website', $3, 'released', 'paid', 'unfulfilled', 'USD', 1999, '{}', now())`,
    [orderId, `CAP-${orderId.slice(0, 8)}`, `cap-${orderId}`],
  );
  await t.hub.db.query(
    `INSERT INTO shipments (id, order_id, warehouse, lines, carrier, service_level, promised_ship_date, promised_delivery_date, status, plan, requested_at)
     VALUES ($1, $2, $3, '[]', 'ups', 'ground', current_date, current_date, $4, '{}', $5)`,
    [`${orderId}:${warehouse}`, orderId, warehouse, status, requestedAt],
  );
}

describe('requests since each warehouse\'s midnight', () => {
  it('counts requested shipments only, from each warehouse\'s own start of day, zero where there are none', async () => {
    await shipment('us-east', 'requested', hoursAgo(1));
    await shipment('us-east', 'requested', hoursAgo(5));
    await shipment('us-east', 'requested', hoursAgo(30)); // yesterday
    await shipment('us-east', 'planned', null);
    await shipment('us-east', 'cancelled', hoursAgo(1));
    await shipment('us-west', 'requested', hoursAgo(5)); // before us-west's start of day below
    await shipment('us-west', 'requested', hoursAgo(2));

    const used = await requestsSince(t.hub.db, new Map([['us-east', hoursAgo(10)], ['us-west', hoursAgo(3)], ['eu-central', hoursAgo(24)]]));
    expect(Object.fromEntries(used)).toEqual({ 'us-east': 2, 'us-west': 1, 'eu-central': 0 });
    expect(await requestsSince(t.hub.db, new Map())).toEqual(new Map());
  });
});
