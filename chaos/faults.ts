/** The faults the chaos harness injects, and the order it injects them in. */

export const faultKinds = [
  'worker-kill', // SIGKILL of a random worker process
  'api-kill', // SIGKILL of the API process
  'relay-kill', // SIGKILL of the worker whose outbox relay is mid-batch
  'rabbitmq-stop-app', // rabbitmqctl stop_app, start_app
  'postgres-restart', // pg_ctl restart -m immediate
  'redis-restart', // Redis shut down without saving and started again, empty
  'amqp-cut', // every connection to RabbitMQ cut by the proxy
  'postgres-cut', // every connection to Postgres cut
  'redis-cut', // every connection to Redis cut
] as const;
export type FaultKind = (typeof faultKinds)[number];

/** Faults that restart a service, impossible when the harness runs on shared services. */
export const serviceRestarts: readonly FaultKind[] = ['rabbitmq-stop-app', 'postgres-restart', 'redis-restart'];

/**
 * Rounds of every kind in a shuffled order: each kind comes once per round, so a run of
 * `kinds.length` faults has injected every one.
 */
export function faultSequence(kinds: readonly FaultKind[], random: () => number): () => FaultKind {
  let round: FaultKind[] = [];
  return () => {
    if (round.length === 0) {
      round = [...kinds];
      for (let i = round.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [round[i], round[j]] = [round[j]!, round[i]!];
      }
    }
    return round.pop()!;
  };
}

/** A small seeded generator (mulberry32), so `--seed` repeats a run's choices. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
