import { Agent, request } from 'node:http';
import type { SignedWebhook } from './orders.ts';

export interface SendResult { externalId: string; sentAt: number; status: number | 'error' }

export interface OpenLoopOptions {
  baseUrl: string;
  path: string;
  /** orders per second offered, whatever the hub answers */
  rate: number;
  seconds: number;
  /** requests allowed in flight; beyond that an order is not sent (counted as shed) */
  maxInFlight: number;
  next: () => SignedWebhook;
  agent: Agent;
}

export interface OpenLoopResult { sent: SendResult[]; shed: number; seconds: number }

export const keepAliveAgent = (maxSockets = 64) => new Agent({ keepAlive: true, maxSockets });

function post(agent: Agent, url: URL, webhook: SignedWebhook): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { ...webhook.headers, 'content-length': Buffer.byteLength(webhook.body) } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(webhook.body);
  });
}

/**
 * An open-loop sender: orders go out on a fixed schedule (`rate` per second), never waiting
 * for the previous answer, as a shop's checkout traffic does not wait for the hub. Only
 * the in-flight cap holds it back, and what it holds back is counted, not queued, so the
 * offered load stays what it says.
 */
export async function sendOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const url = new URL(options.path, options.baseUrl);
  const total = Math.round(options.rate * options.seconds);
  const sent: SendResult[] = [];
  const inFlight = new Set<Promise<void>>();
  let shed = 0;
  let due = 0;
  const started = performance.now();
  while (due < total) {
    const elapsed = (performance.now() - started) / 1000;
    const shouldHave = Math.min(total, Math.floor(elapsed * options.rate) + 1);
    for (; due < shouldHave; due++) {
      if (inFlight.size >= options.maxInFlight) {
        shed++;
        continue;
      }
      const webhook = options.next();
      const result: SendResult = { externalId: webhook.externalId, sentAt: performance.now(), status: 'error' };
      sent.push(result);
      const p = post(options.agent, url, webhook).then((status) => {
        result.status = status;
      }, () => {
        result.status = 'error';
      });
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await Promise.all(inFlight);
  return { sent, shed, seconds: (performance.now() - started) / 1000 };
}
