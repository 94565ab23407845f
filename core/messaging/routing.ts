import type { Topology } from './topology.ts';

/**
 * AMQP topic matching: words are separated by dots, `*` stands for exactly one word and
 * `#` for zero or more. The same rule the broker applies to a topic exchange's bindings.
 */
export function topicMatches(pattern: string, routingKey: string): boolean {
  const p = pattern.split('.');
  const k = routingKey.split('.');
  // matches(i, j): pattern words from i match key words from j
  const memo = new Map<number, boolean>();
  const matches = (i: number, j: number): boolean => {
    const slot = i * (k.length + 1) + j;
    const known = memo.get(slot);
    if (known !== undefined) return known;
    let result: boolean;
    if (i === p.length) result = j === k.length;
    else if (p[i] === '#') result = matches(i + 1, j) || (j < k.length && matches(i, j + 1));
    else result = j < k.length && (p[i] === '*' || p[i] === k[j]) && matches(i + 1, j + 1);
    memo.set(slot, result);
    return result;
  };
  return matches(0, 0);
}

/**
 * Where a published message lands: the queues of `topology` bound to `exchange` with a
 * pattern matching `routingKey`. Answers are remembered per (exchange, key), since the
 * relay asks the same few questions over and over.
 */
export function createRouteTable(topology: Topology): (exchange: string, routingKey: string) => readonly string[] {
  const fanouts = new Set(topology.exchanges.filter((e) => e.type === 'fanout').map((e) => e.name));
  const known = new Map<string, readonly string[]>();
  return (exchange, routingKey) => {
    const slot = `${exchange}\u0000${routingKey}`;
    let queues = known.get(slot);
    if (!queues) {
      queues = topology.queues
        .filter((q) => q.bindings.some((b) => b.exchange === exchange && (fanouts.has(exchange) || topicMatches(b.routingKey, routingKey))))
        .map((q) => q.name);
      known.set(slot, queues);
    }
    return queues;
  };
}
