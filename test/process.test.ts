import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '../core/db/pool.ts';
import { topologyFor } from '../core/hub.ts';
import { loadConfig } from '../core/config/business.ts';
import { defaultConfigPath } from '../core/config/env.ts';
import { adminToken, eventually, removeNamespace, shopifySecret, testEnv, testNamespace } from './support/env.ts';
import { shopifyHeaders, shopifyOrderBody } from './support/shopify.ts';

// The hub as operators run it: `hub start` in its own process, stopped with SIGTERM.
const root = fileURLToPath(new URL('..', import.meta.url));
const namespace = testNamespace('process');
const env = testEnv(namespace);
const config = loadConfig(defaultConfigPath);
let child: ChildProcess | undefined;

afterAll(async () => {
  child?.kill('SIGKILL');
  await removeNamespace(env, topologyFor(namespace, config));
});

describe('hub start', () => {
  it('serves, processes an order, and on SIGTERM finishes its work and exits 0', async () => {
    const port = 20_000 + Math.floor(Math.random() * 20_000);
    child = spawn(process.execPath, ['--import', 'tsx', 'bin/hub.ts', 'start'], {
      cwd: root,
      env: { ...process.env, HUB_NAMESPACE: namespace, PORT: String(port), HUB_ADMIN_TOKEN: adminToken, SHOPIFY_WEBHOOK_SECRET: shopifySecret, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child!.on('exit', (code) => resolve(code)));
    const base = `http://127.0.0.1:${port}`;

    await eventually(async () => ((await fetch(`${base}/ready`)).ok ? true : undefined), 30_000, `the hub to be ready (${output.slice(-500)})`);
    const body = shopifyOrderBody({ id: '8100000001' });
    const response = await fetch(`${base}/webhooks/orders/shopify`, { method: 'POST', body, headers: shopifyHeaders(body, shopifySecret, 'evt-process') });
    expect(response.status).toBe(200);
    await eventually(async () => {
      const list = (await (await fetch(`${base}/api/orders?externalId=8100000001`, { headers: { authorization: `Bearer ${adminToken}` } })).json()) as { items: { status: string }[] };
      return list.items[0]?.status === 'released' ? true : undefined;
    }, 20_000, 'the order to be released');

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(output).toContain('hub stopped');
    // nothing left half done: every message the order caused was published
    const db = createPool(env.databaseUrl, namespace, 1);
    try {
      const { rows } = await db.query<{ n: number }>('SELECT count(*) AS n FROM outbox WHERE published_at IS NULL');
      expect(rows[0]?.n).toBe(0);
    } finally {
      await db.end();
    }
  });
});
