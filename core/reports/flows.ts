import {
  flowField, flowWindowsMinutes, latencyOver, stageOfQueue, windowCounts,
  type LatencySummary, type MinuteCounters, type WindowCounts,
} from './flow-window.ts';

/** A queue's depth and consumers as the broker reports them. */
export interface QueueDepth { messages: number; consumers: number }

/** What a queue is for, read from its name (see `names` in core/messaging/topology.ts). */
export type QueueKind = 'stage' | 'wait' | 'parking' | 'inbound' | 'outbound' | 'other';

/** The kind of the namespace's queue `name`. */
export function queueKindOf(namespace: string, name: string): QueueKind {
  const local = name.startsWith(`${namespace}.`) ? name.slice(namespace.length + 1) : name;
  if (local.startsWith('stage.')) return 'stage';
  if (local.startsWith('wait.')) return 'wait';
  if (local === 'parked' || local.startsWith('parked.')) return 'parking';
  if (local.startsWith('in.')) return 'inbound';
  if (local.startsWith('out.')) return 'outbound';
  return 'other';
}

/** One queue in the flows report. */
export interface QueueFlow {
  name: string;
  kind: QueueKind;
  /** messages ready in the queue; null when the broker could not be asked */
  depth: number | null;
  consumers: number | null;
  in: WindowCounts;
  out: WindowCounts;
  retries: WindowCounts;
  parked: WindowCounts;
}

/** One stage (a queue the hub consumes) in the flows report. */
export interface StageFlow {
  stage: string;
  queue: string;
  /** deliveries the stage finished (acknowledged, duplicate, retried or parked) */
  finished: WindowCounts;
  retries: WindowCounts;
  parked: WindowCounts;
  /** from the event's creation to the stage having acknowledged it */
  latency: Record<'m1' | 'm5' | 'm15', LatencySummary>;
}

export interface FlowsReport {
  at: string;
  windowsMinutes: readonly number[];
  queues: QueueFlow[];
  outbox: { pending: number; oldestAgeSeconds: number | null };
  stages: StageFlow[];
}

/**
 * The flows report: every queue with its depth, consumers, traffic and trouble over the
 * last 1, 5 and 15 minutes; the outbox backlog; and every stage with its throughput and
 * latency. A stage is reported for each stage and inbound queue, and for any other queue a
 * hub consumer finished messages from in the window (warehouses the hub pushes to).
 */
export function flowsReport(input: {
  namespace: string;
  queues: readonly string[];
  depths: ReadonlyMap<string, QueueDepth | null>;
  minutes: MinuteCounters;
  outbox: { pending: number; oldestCreatedAt: Date | null };
  now: Date;
}): FlowsReport {
  const queues = input.queues.map((name): QueueFlow => {
    const depth = input.depths.get(name) ?? null;
    return {
      name,
      kind: queueKindOf(input.namespace, name),
      depth: depth?.messages ?? null,
      consumers: depth?.consumers ?? null,
      in: windowCounts(input.minutes, flowField.in(name)),
      out: windowCounts(input.minutes, flowField.out(name)),
      retries: windowCounts(input.minutes, flowField.retry(name)),
      parked: windowCounts(input.minutes, flowField.park(name)),
    };
  });
  const stages = queues
    .filter((q) => q.kind === 'stage' || q.kind === 'inbound' || q.out.m15 > 0)
    .map((q): StageFlow => {
      const stage = stageOfQueue(input.namespace, q.name);
      return {
        stage,
        queue: q.name,
        finished: q.out,
        retries: q.retries,
        parked: q.parked,
        latency: { m1: latencyOver(input.minutes, stage, 1), m5: latencyOver(input.minutes, stage, 5), m15: latencyOver(input.minutes, stage, 15) },
      };
    });
  const oldest = input.outbox.oldestCreatedAt;
  return {
    at: input.now.toISOString(),
    windowsMinutes: flowWindowsMinutes,
    queues,
    outbox: {
      pending: input.outbox.pending,
      oldestAgeSeconds: oldest === null ? null : Math.max(0, (input.now.getTime() - oldest.getTime()) / 1000),
    },
    stages,
  };
}
