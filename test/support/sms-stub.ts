import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An SMS / push provider's `POST /messages` on loopback, with idempotency by key, so tests
 * count messages delivered rather than requests sent.
 *
 * - `Authorization: Bearer <apiKey>` or 401; `Idempotency-Key` required or 400.
 * - A body is an SMS `{ to, text }` or a push `{ deviceToken, title, body }`, else 422.
 * - The first request for a key delivers the message: 201 `{ id, status: "queued" }`. The same
 *   key with the same body replays that answer (200, `Idempotent-Replayed: true`), delivering
 *   nothing; the same key with another body is a 422 `idempotency_mismatch`.
 * - {@link SmsStub.failNext} answers the next requests with a status before the idempotency
 *   layer, as a load balancer would: nothing stored, nothing delivered.
 */

export const SMS_STUB_KEY = 'sms_test_stub_key';

/** A message the provider took on (the first request of its key). */
export interface DeliveredMessage {
  id: string;
  key: string;
  kind: 'sms' | 'push';
  body: Record<string, string>;
}

/** A request and what the stub did with it. */
export interface StubCall {
  key: string | null;
  status: number;
  outcome: 'delivered' | 'replayed' | 'idempotency_mismatch' | 'invalid' | 'unauthorized' | 'fault';
}

/** A running stub: its address and key, what it delivered, and a switch for faults. */
export interface SmsStub {
  baseUrl: string;
  apiKey: string;
  /** one entry per message actually delivered */
  delivered: DeliveredMessage[];
  /** one entry per request */
  calls: StubCall[];
  failNext(status: number, times?: number): void;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function shapeOf(body: unknown): { kind: 'sms' | 'push'; fields: Record<string, string> } | null {
  if (typeof body !== 'object' || body === null) return null;
  const b = body as Record<string, unknown>;
  const text = (k: string) => {
    const v = b[k];
    return typeof v === 'string' && v !== '' ? v : null;
  };
  const to = text('to');
  const message = text('text');
  if (to !== null && message !== null) return { kind: 'sms', fields: { to, text: message } };
  const deviceToken = text('deviceToken');
  const title = text('title');
  const pushBody = text('body');
  if (deviceToken !== null && title !== null && pushBody !== null) return { kind: 'push', fields: { deviceToken, title, body: pushBody } };
  return null;
}

/** Starts a stub on 127.0.0.1, on a port the system picks. */
export async function startSmsStub(options: { apiKey?: string } = {}): Promise<SmsStub> {
  const apiKey = options.apiKey ?? SMS_STUB_KEY;
  const delivered: DeliveredMessage[] = [];
  const calls: StubCall[] = [];
  const byKey = new Map<string, { body: string; id: string }>();
  const faults: number[] = [];

  const answer = (res: ServerResponse, call: StubCall, payload: unknown, headers: Record<string, string> = {}) => {
    calls.push(call);
    res.writeHead(call.status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(payload));
  };

  const server = createServer((req, res) => {
    void (async () => {
      const raw = await readBody(req);
      const key = typeof req.headers['idempotency-key'] === 'string' ? req.headers['idempotency-key'] : null;
      if (req.method !== 'POST' || req.url !== '/messages') {
        return answer(res, { key, status: 404, outcome: 'invalid' }, { error: 'not_found' });
      }
      const fault = faults.shift();
      if (fault !== undefined) return answer(res, { key, status: fault, outcome: 'fault' }, { error: 'injected' });
      if (req.headers.authorization !== `Bearer ${apiKey}`) {
        return answer(res, { key, status: 401, outcome: 'unauthorized' }, { error: 'unauthorized' });
      }
      if (key === null || key === '') return answer(res, { key, status: 400, outcome: 'invalid' }, { error: 'idempotency_key_required' });
      let parsed: unknown;
      try {
        parsed = JSON.parse(raw);
      } catch {
        return answer(res, { key, status: 400, outcome: 'invalid' }, { error: 'invalid_json' });
      }
      const shape = shapeOf(parsed);
      if (shape === null) return answer(res, { key, status: 422, outcome: 'invalid' }, { error: 'invalid_message' });
      const canonical = JSON.stringify(shape.fields);
      const earlier = byKey.get(key);
      if (earlier) {
        if (earlier.body !== canonical) return answer(res, { key, status: 422, outcome: 'idempotency_mismatch' }, { error: 'idempotency_mismatch' });
        return answer(res, { key, status: 200, outcome: 'replayed' }, { id: earlier.id, status: 'queued' }, { 'idempotent-replayed': 'true' });
      }
      const id = `msg_${delivered.length + 1}`;
      byKey.set(key, { body: canonical, id });
      delivered.push({ id, key, kind: shape.kind, body: shape.fields });
      return answer(res, { key, status: 201, outcome: 'delivered' }, { id, status: 'queued' });
    })().catch(() => {
      res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  return {
    baseUrl: `http://127.0.0.1:${port}`,
    apiKey,
    delivered,
    calls,
    failNext(status, times = 1) {
      for (let i = 0; i < times; i++) faults.push(status);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
