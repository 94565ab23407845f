// A message the provider accepted is not sent again when the transaction that recorded it
// was lost: the mark in (real) Redis answers the retry.
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NotificationSender, OutgoingMessage, SendResult } from '../core/notify/senders.ts';
import { rememberingSends } from '../core/notify/sent-marks.ts';
import { removeNamespace, testEnv, testNamespace } from './support/env.ts';

const ns = testNamespace('sent-marks');
const env = testEnv(ns);
let redis: Redis;

beforeAll(() => {
  redis = new Redis(env.redisUrl);
});
afterAll(async () => {
  redis.disconnect();
  await removeNamespace(env);
});

/** A provider that records what it was given and answers with the results it is handed. */
function provider(results: SendResult[]) {
  const sent: string[] = [];
  const sender: NotificationSender = {
    send(message: OutgoingMessage) {
      sent.push(message.key);
      return Promise.resolve(results.shift() ?? { ok: true, id: `<${message.key}@shop.example>` });
    },
    close() {},
  };
  return { sent, sender };
}
const message = (key: string): OutgoingMessage => ({ key, to: 'a@example.com', subject: 'Order confirmed', text: 'Thank you.' });

describe('rememberingSends', () => {
  it('sends a key once: the retry after a lost transaction is answered from the mark', async () => {
    const { sent, sender } = provider([]);
    const remembering = rememberingSends(sender, redis, ns);
    const first = await remembering.send(message('o1:order_confirmed:email'));
    const retry = await remembering.send(message('o1:order_confirmed:email'));
    expect(sent).toEqual(['o1:order_confirmed:email']);
    expect(retry).toEqual(first);
    await remembering.send(message('o2:order_confirmed:email'));
    expect(sent).toEqual(['o1:order_confirmed:email', 'o2:order_confirmed:email']);
  });

  it('marks nothing when the provider refused, so the retry sends', async () => {
    const { sent, sender } = provider([{ ok: false, retryable: true, message: '451 try later' }]);
    const remembering = rememberingSends(sender, redis, ns);
    expect((await remembering.send(message('o3:shipped:email'))).ok).toBe(false);
    expect((await remembering.send(message('o3:shipped:email'))).ok).toBe(true);
    expect(sent).toEqual(['o3:shipped:email', 'o3:shipped:email']);
  });

  it('sends as before when Redis does not answer', async () => {
    const unreachable = new Redis({ port: 1, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => {});
    const { sent, sender } = provider([]);
    const remembering = rememberingSends(sender, unreachable, ns, { timeoutMs: 200 });
    await remembering.send(message('o4:shipped:email'));
    await remembering.send(message('o4:shipped:email'));
    expect(sent).toEqual(['o4:shipped:email', 'o4:shipped:email']);
    unreachable.disconnect();
  });
});
