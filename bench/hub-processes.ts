import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const hubBin = fileURLToPath(new URL('../bin/hub.ts', import.meta.url));

export interface HubProcess { name: string; roles: string[]; child: ChildProcess; stderr: string[] }

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Runs `hub <args>` as its own Node process (so its RSS and CPU are the hub's alone). */
export function spawnHub(name: string, args: string[], env: NodeJS.ProcessEnv, nodeArgs: string[] = []): HubProcess {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', hubBin, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr.push(chunk);
    if (stderr.length > 200) stderr.shift();
  });
  const roles = args.flatMap((a, i) => (args[i - 1] === '--role' ? [a] : []));
  return { name, roles: roles.length ? roles : ['api', 'worker', 'scheduler'], child, stderr };
}

/** Runs `hub migrate` to completion. */
export async function migrateHub(env: NodeJS.ProcessEnv): Promise<void> {
  const p = spawnHub('migrate', ['migrate'], env);
  const code = await new Promise<number | null>((resolve) => p.child.once('exit', resolve));
  if (code !== 0) throw new Error(`hub migrate failed (${code}): ${p.stderr.join('')}`);
}

/** Stops a hub process the way an orchestrator does (SIGTERM: drain, then exit). */
export async function stopHub(p: HubProcess, timeoutMs = 35_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => p.child.once('exit', () => resolve()));
  p.child.kill('SIGTERM');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs);
  await exited;
  clearTimeout(timer);
}

/** Polls `url` until it answers 2xx; fails if the process exits or after `timeoutMs`. */
export async function waitReady(url: string, p: HubProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (p.child.exitCode !== null) throw new Error(`${p.name} exited (${p.child.exitCode}): ${p.stderr.join('')}`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${p.name} not ready at ${url} after ${timeoutMs} ms: ${p.stderr.join('')}`);
}
