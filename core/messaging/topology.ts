/**
 * The broker topology as data: every exchange, queue and binding of a namespace, declared
 * in one place and asserted at start. Stage queues are quorum queues with an explicit
 * delivery limit (3.10 has none by default); delayed retries go through fixed-TTL wait
 * queues that dead-letter back to the stage queue; whatever cannot be processed ends in
 * the parking queue, where the parking recorder turns it into an exception record.
 */
export interface ExchangeSpec { name: string; type: 'topic' | 'fanout' | 'direct' }
export interface BindingSpec { exchange: string; routingKey: string }
export interface QueueSpec { name: string; arguments: Record<string, unknown>; bindings: BindingSpec[] }
export interface Topology { exchanges: ExchangeSpec[]; queues: QueueSpec[] }

/** The pipeline stages and the event types each one consumes. */
export const stageBindings = {
  normalize: ['inbound.accepted'],
  validate: ['order.received'],
  allocate: ['order.validated', 'order.allocation_override_requested'],
  release: ['order.allocated', 'payment.captured'],
  // stock arrived: backordered orders holding that SKU are validated again
  backorders: ['inventory.replenished'],
  // the customer's answer to a shortage: wait, ship what is there, or cancel
  remedies: ['order.remedy_chosen'],
  // payment notifications (and payments an operator records) into the ledger
  reconcile: ['payment.received'],
  // money back to the customer when a paid order is cancelled or cut down
  refunds: ['order.cancelled', 'order.reduced', 'return.refund_due'],
  // a released order cancelled: the warehouses are asked to stop
  cancellations: ['order.cancel_requested'],
  // carriers' tracking updates
  tracking: ['tracking.received'],
  // events warehouses post by HTTP instead of publishing them
  'warehouse-webhooks': ['warehouse.event_received'],
  // what customers are told, by email, SMS or push
  notifications: ['customer.notification_requested'],
  // an approved return gets its label from the carrier
  returns: ['return.approved'],
  // an operator's action on an exception (exception desk), applied like automatic work
  'exception-actions': ['exception.action_requested'],
} as const;
export type Stage = keyof typeof stageBindings;

export interface TopologyOptions {
  retryDelaysMs: readonly number[];
  warehouses: readonly string[];
  /** carriers that take their shipments from a queue */
  carriers?: readonly string[];
  /** broker-side cap on redeliveries of one message (consumer crashes, nacks) */
  deliveryLimit?: number;
}

export const names = (ns: string) => ({
  events: `${ns}.events`,
  parking: `${ns}.parking`,
  parked: `${ns}.parked`,
  parkingAudit: `${ns}.parked.audit`,
  stage: (stage: Stage) => `${ns}.stage.${stage}`,
  wait: (delayMs: number) => `${ns}.wait.${delayMs}`,
  warehouse: (code: string) => `${ns}.out.warehouse.${code}`,
  carrier: (code: string) => `${ns}.out.carrier.${code}`,
  /** where warehouse systems send their events (CloudEvents, published to this queue) */
  warehouseEvents: `${ns}.in.warehouse-events`,
});

const quorum = { 'x-queue-type': 'quorum' } as const;
// At-least-once dead-lettering (quorum queues, 3.10+) needs reject-publish overflow; it
// keeps a message in its queue until the dead-letter target has confirmed it.
const safeDeadLetter = { 'x-dead-letter-strategy': 'at-least-once', 'x-overflow': 'reject-publish' } as const;

export function hubTopology(ns: string, options: TopologyOptions): Topology {
  const n = names(ns);
  const deliveryLimit = options.deliveryLimit ?? 10;
  const delays = [...new Set(options.retryDelaysMs)];
  const workQueue = (name: string, bindings: BindingSpec[]): QueueSpec => ({
    name,
    arguments: { ...quorum, ...safeDeadLetter, 'x-delivery-limit': deliveryLimit, 'x-dead-letter-exchange': n.parking },
    bindings,
  });
  return {
    exchanges: [
      { name: n.events, type: 'topic' },
      { name: n.parking, type: 'fanout' },
      ...delays.map((d) => ({ name: n.wait(d), type: 'fanout' as const })),
    ],
    queues: [
      ...(Object.keys(stageBindings) as Stage[]).map((stage) =>
        workQueue(n.stage(stage), stageBindings[stage].map((routingKey) => ({ exchange: n.events, routingKey })))),
      // A wait queue holds a message for its TTL, then the default exchange routes it back
      // by its original routing key, which is the stage queue's name.
      ...delays.map((d) => ({
        name: n.wait(d),
        arguments: { ...quorum, ...safeDeadLetter, 'x-message-ttl': d, 'x-dead-letter-exchange': '' },
        bindings: [{ exchange: n.wait(d), routingKey: '' }],
      })),
      { name: n.parked, arguments: { ...quorum }, bindings: [{ exchange: n.parking, routingKey: '' }] },
      // Not a work queue: dead-lettering from here would feed the parking exchange again.
      { name: n.parkingAudit, arguments: { ...quorum, 'x-delivery-limit': 1000 }, bindings: [{ exchange: n.parking, routingKey: '' }] },
      workQueue(n.warehouseEvents, []),
      ...(options.carriers ?? []).map((code) => ({
        name: n.carrier(code),
        arguments: { ...quorum },
        bindings: [{ exchange: n.events, routingKey: `shipment.*.${code}` }],
      })),
      ...options.warehouses.map((code) => ({
        name: n.warehouse(code),
        arguments: { ...quorum },
        bindings: [{ exchange: n.events, routingKey: `fulfillment.*.${code}` }, { exchange: n.events, routingKey: `return.*.${code}` }],
      })),
    ],
  };
}

/** The wait queue for attempt `attempt` (1 = the first retry); the last delay repeats. */
export function retryDelayFor(delaysMs: readonly number[], attempt: number): number {
  const index = Math.min(Math.max(attempt, 1), delaysMs.length) - 1;
  const delay = delaysMs[index];
  if (delay === undefined) throw new Error('retry delays must not be empty');
  return delay;
}
