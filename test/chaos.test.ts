// The chaos harness, short: the hub as separate processes on the harness's own RabbitMQ,
// Postgres and Redis, ~40 orders from every channel with duplicates and out-of-order
// deliveries, and every fault kind injected while they flow (workers, API and relay killed,
// RabbitMQ stop_app/start_app, Postgres and Redis restarted, connections cut). Afterwards
// nothing that got a 2xx is missing, nothing was done twice, and every order is settled or
// waits for a person. `npm run chaos -- --orders 1000` is the long version.
import { rmSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { runChaos } from '../chaos/harness.ts';
import { duplicatedEffects, lostEffects, resentEmails, stockFindings, stuckOrders, type Observed, type OutsideWorld } from '../chaos/checks.ts';
import { faultKinds, faultSequence, seededRandom } from '../chaos/faults.ts';

const empty: Observed = {
  orders: [], orderLines: [], openExceptions: new Set(), reservations: [], payments: [], refunds: [], deliveredParcels: new Set(), inventory: [],
};
const world: OutsideWorld = { expectations: [], fulfilmentRequests: new Map(), emails: [], expectedOnHand: new Map() };

describe('chaos checks', () => {
  it('counts a 2xx webhook without its effect as lost', () => {
    const w = { ...world, expectations: [{ kind: 'order' as const, channel: 'shopify', externalId: '1' }, { kind: 'payment' as const, provider: 'stripe', paymentId: 'pi_1' }] };
    const db = { ...empty, orders: [{ id: 'o1', channel: 'shopify', externalId: '1', status: 'delivered' }], payments: [{ provider: 'stripe', paymentId: 'pi_1', kind: 'captured', orderId: null }] };
    expect(lostEffects(w, db)).toEqual({ count: 1, examples: ['payment stripe:pi_1 (missing or unmatched)'] });
  });

  it('counts work done twice, and tells an email resent unchanged apart', () => {
    const db = {
      ...empty,
      orderLines: [{ orderId: 'o1', sku: 'A', quantity: 1 }],
      reservations: [{ orderId: 'o1', warehouse: 'w1', sku: 'A', quantity: 1, status: 'consumed' }, { orderId: 'o1', warehouse: 'w2', sku: 'A', quantity: 1, status: 'held' }],
    };
    const w = {
      ...world,
      fulfilmentRequests: new Map([['o1:w1', new Set(['m1', 'm2'])], ['o2:w1', new Set(['m3'])]]),
      emails: [{ key: 'o1:confirmed:email', messageId: '<a>' }, { key: 'o1:confirmed:email', messageId: '<a>' }],
    };
    expect(duplicatedEffects(w, db).count).toBe(2);
    expect(resentEmails(w).count).toBe(1);
  });

  it('counts unsettled orders without an open exception as stuck, and stock that disagrees with the events', () => {
    const db = {
      ...empty,
      orders: [{ id: 'o1', channel: 'app', externalId: 'A-1', status: 'released' }, { id: 'o2', channel: 'app', externalId: 'A-2', status: 'on_hold' }],
      openExceptions: new Set(['o2']),
      reservations: [{ orderId: 'o1', warehouse: 'w1', sku: 'A', quantity: 2, status: 'held' }],
      inventory: [{ warehouse: 'w1', sku: 'A', onHand: 10, reserved: 2 }, { warehouse: 'w1', sku: 'B', onHand: 4, reserved: 0 }],
    };
    expect(stuckOrders(db).count).toBe(1);
    const stock = stockFindings({ ...world, expectedOnHand: new Map([['w1/A', 10], ['w1/B', 5]]) }, db);
    expect(stock.mismatch.examples).toEqual(['w1/B: on hand 4 (events say 5), reserved 0 (held reservations 0)']);
    expect(stock.negative.count).toBe(0);
  });

  it('injects every fault kind once per round', () => {
    const next = faultSequence(faultKinds, seededRandom(7));
    expect(new Set(Array.from({ length: faultKinds.length }, next))).toEqual(new Set(faultKinds));
  });
});

describe('chaos run', () => {
  it('loses nothing, does nothing twice and leaves nothing stuck while every kind of fault hits the hub', async () => {
    const lines: string[] = [];
    const result = await runChaos({
      orders: 40, workers: 2, duplicates: 0.15, outOfOrder: 0.15, rate: 10, faultEverySeconds: 1.5, seed: 2024, drainTimeoutSeconds: 120,
      log: (line) => lines.push(line),
    });
    const summary = { lost: result.verdict.lost, duplicated: result.verdict.duplicated, stuck: result.verdict.stuck, stock: result.verdict.stockMismatch, log: lines.slice(-15) };
    expect(result.harnessErrors).toEqual([]);
    expect(summary.lost.count, JSON.stringify(summary)).toBe(0);
    expect(result.duplicated, JSON.stringify(summary)).toBe(0);
    expect(result.stuck, JSON.stringify(summary)).toBe(0);
    expect(result.negativeStock + result.stockMismatch, JSON.stringify(summary)).toBe(0);
    expect(Object.keys(result.faults).sort()).toEqual([...faultKinds].sort());
    expect(result.webhooksAccepted).toBeGreaterThan(40);
    // a hub process that dies of a fault instead of riding it out is a bug too
    expect(result.crashes, lines.filter((l) => l.includes('on its own')).join('\n')).toBe(0);
    rmSync(result.logDir, { recursive: true, force: true });
  }, 360_000);
});
