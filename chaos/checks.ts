/**
 * What the chaos run checks once the hub has drained, as pure functions of what the database
 * holds and what the simulated outside world (senders, warehouses, SMTP sink) recorded.
 * Each check returns a count and the first few offending ids, for a person to look at.
 */

export interface Finding { count: number; examples: string[] }

const finding = (ids: Iterable<string>): Finding => {
  const all = [...ids];
  return { count: all.length, examples: all.slice(0, 5) };
};

/** Webhooks that got a 2xx (or orders sold on the polled marketplace), and the effect each must have. */
export type Expectation =
  | { kind: 'order'; channel: string; externalId: string }
  | { kind: 'payment'; provider: string; paymentId: string }
  | { kind: 'delivery'; carrier: string; trackingCode: string };

export interface Observed {
  orders: readonly { id: string; channel: string; externalId: string; status: string }[];
  orderLines: readonly { orderId: string; sku: string; quantity: number }[];
  /** order ids with at least one open exception */
  openExceptions: ReadonlySet<string>;
  reservations: readonly { orderId: string; warehouse: string; sku: string; quantity: number; status: string }[];
  payments: readonly { provider: string; paymentId: string; kind: string; orderId: string | null }[];
  refunds: readonly { orderId: string; paymentId: string }[];
  /** delivered parcels, `carrier:tracking code` (carrier lower case) */
  deliveredParcels: ReadonlySet<string>;
  inventory: readonly { warehouse: string; sku: string; onHand: number; reserved: number }[];
}

export interface OutsideWorld {
  expectations: readonly Expectation[];
  /** per shipment: the distinct fulfilment-request message ids the warehouse got */
  fulfilmentRequests: ReadonlyMap<string, ReadonlySet<string>>;
  /** every email the SMTP sink accepted: its `X-Hub-Notification` key and Message-ID */
  emails: readonly { key: string; messageId: string }[];
  /** stock the hub was seeded with, plus every adjustment the warehouses sent, minus what they shipped */
  expectedOnHand: ReadonlyMap<string, number>;
}

/** Where the automatic flow ends: an order here needs nothing more from the hub. */
export const settledStatuses: ReadonlySet<string> = new Set(['delivered', 'completed', 'returned', 'rejected', 'cancelled']);

export function lostEffects(world: OutsideWorld, db: Observed): Finding {
  const orders = new Set(db.orders.map((o) => `${o.channel}:${o.externalId}`));
  const payments = new Set(db.payments.filter((p) => p.orderId !== null).map((p) => `${p.provider}:${p.paymentId}`));
  const lost: string[] = [];
  for (const e of world.expectations) {
    if (e.kind === 'order' && !orders.has(`${e.channel}:${e.externalId}`)) lost.push(`order ${e.channel}:${e.externalId}`);
    if (e.kind === 'payment' && !payments.has(`${e.provider}:${e.paymentId}`)) lost.push(`payment ${e.provider}:${e.paymentId} (missing or unmatched)`);
    if (e.kind === 'delivery' && !db.deliveredParcels.has(`${e.carrier.toLowerCase()}:${e.trackingCode}`)) lost.push(`delivery ${e.carrier}:${e.trackingCode}`);
  }
  return finding(lost);
}

/**
 * Work done twice: more reserved (held or shipped) of a SKU than the order has of it, a
 * shipment requested with two different message ids, a payment recorded twice, two refunds,
 * the same email received twice.
 */
export function duplicatedEffects(world: OutsideWorld, db: Observed): Finding {
  const dup: string[] = [];
  const ordered = new Map<string, number>();
  for (const l of db.orderLines) ordered.set(`${l.orderId}|${l.sku}`, (ordered.get(`${l.orderId}|${l.sku}`) ?? 0) + l.quantity);
  const reserved = new Map<string, number>();
  for (const r of db.reservations) {
    if (r.status === 'released') continue;
    reserved.set(`${r.orderId}|${r.sku}`, (reserved.get(`${r.orderId}|${r.sku}`) ?? 0) + r.quantity);
  }
  for (const [key, quantity] of reserved) {
    if (quantity > (ordered.get(key) ?? 0)) dup.push(`reservation ${key.replace('|', ' ')}: ${quantity} reserved of ${ordered.get(key) ?? 0}`);
  }
  for (const [shipment, ids] of world.fulfilmentRequests) {
    if (ids.size > 1) dup.push(`fulfilment request ${shipment} sent with ${ids.size} ids`);
  }
  const entries = new Map<string, number>();
  for (const p of db.payments) entries.set(`${p.provider}:${p.paymentId}:${p.kind}`, (entries.get(`${p.provider}:${p.paymentId}:${p.kind}`) ?? 0) + 1);
  for (const [key, n] of entries) if (n > 1) dup.push(`payment ${key} recorded ${n} times`);
  const refunds = new Map<string, number>();
  for (const r of db.refunds) refunds.set(`${r.orderId}:${r.paymentId}`, (refunds.get(`${r.orderId}:${r.paymentId}`) ?? 0) + 1);
  for (const [key, n] of refunds) if (n > 1) dup.push(`refund ${key} asked ${n} times`);
  const emails = new Map<string, Set<string>>();
  for (const { key, messageId } of world.emails) emails.set(key, (emails.get(key) ?? new Set()).add(messageId));
  for (const [key, ids] of emails) if (ids.size > 1) dup.push(`email ${key} sent as ${ids.size} different messages`);
  return finding(dup);
}

/**
 * The same email (same Message-ID) received more than once. SMTP has no idempotency: when
 * the hub loses its transaction after the server's 250 (a crash, Postgres gone), it sends
 * the message again, unchanged. Mail stores and clients collapse messages by Message-ID, so
 * the customer sees one; this is reported apart from `duplicated`, which is work done twice.
 */
export function resentEmails(world: OutsideWorld): Finding {
  const seen = new Map<string, number>();
  for (const { key, messageId } of world.emails) seen.set(`${key} ${messageId}`, (seen.get(`${key} ${messageId}`) ?? 0) + 1);
  return finding([...seen].filter(([, n]) => n > 1).map(([id, n]) => `${id} ×${n}`));
}

/** Neither settled nor waiting for a person (an open exception): the flow stopped somewhere. */
export function stuckOrders(db: Observed): Finding {
  return finding(db.orders.filter((o) => !settledStatuses.has(o.status) && !db.openExceptions.has(o.id)).map((o) => `${o.id} (${o.channel}:${o.externalId}, ${o.status})`));
}

/**
 * Stock that disagrees with the events: on hand must be the seed plus adjustments minus what
 * the warehouses shipped, reserved the sum of held reservations; neither negative.
 */
export function stockFindings(world: OutsideWorld, db: Observed): { negative: Finding; mismatch: Finding } {
  const held = new Map<string, number>();
  for (const r of db.reservations) if (r.status === 'held') held.set(`${r.warehouse}/${r.sku}`, (held.get(`${r.warehouse}/${r.sku}`) ?? 0) + r.quantity);
  const negative: string[] = [];
  const mismatch: string[] = [];
  const seen = new Set<string>();
  for (const row of db.inventory) {
    const key = `${row.warehouse}/${row.sku}`;
    seen.add(key);
    if (row.onHand < 0 || row.reserved < 0 || row.onHand - row.reserved < 0) negative.push(`${key}: on hand ${row.onHand}, reserved ${row.reserved}`);
    const expected = world.expectedOnHand.get(key) ?? 0;
    if (row.onHand !== expected || row.reserved !== (held.get(key) ?? 0)) {
      mismatch.push(`${key}: on hand ${row.onHand} (events say ${expected}), reserved ${row.reserved} (held reservations ${held.get(key) ?? 0})`);
    }
  }
  for (const [key, expected] of world.expectedOnHand) if (!seen.has(key) && expected !== 0) mismatch.push(`${key}: no inventory row, events say ${expected}`);
  return { negative: finding(negative), mismatch: finding(mismatch) };
}

export interface Verdict { lost: Finding; duplicated: Finding; stuck: Finding; negativeStock: Finding; stockMismatch: Finding; emailResent: Finding }

export function judge(world: OutsideWorld, db: Observed): Verdict {
  const stock = stockFindings(world, db);
  return { lost: lostEffects(world, db), duplicated: duplicatedEffects(world, db), stuck: stuckOrders(db), negativeStock: stock.negative, stockMismatch: stock.mismatch, emailResent: resentEmails(world) };
}
