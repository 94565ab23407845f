/**
 * The hub as separate processes (`bin/hub.ts start --role …`), supervised: a process that
 * dies — killed by the harness or crashed — is started again after a short pause, as
 * systemd or Kubernetes would. Output goes to one log file per process.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const hubBin = join(root, 'bin', 'hub.ts');

export type HubRole = 'api' | 'worker' | 'scheduler';

export interface HubProcess {
  name: string;
  role: HubRole;
  /** the running child's pid, undefined while it is down */
  pid(): number | undefined;
  /** times it was started */
  starts(): number;
}

export interface Supervisor {
  processes: readonly HubProcess[];
  /** SIGKILL (no shutdown at all); the supervisor starts it again after `restartDelayMs` */
  kill(name: string): boolean;
  /** exits the harness did not cause (a crash: an unhandled error, a failed start) */
  crashes(): number;
  /** resolves when every process is running again */
  allRunning(): Promise<void>;
  /** SIGTERM everything, SIGKILL what is still there after a grace period; no restarts after */
  stop(): Promise<void>;
}

export function superviseHub(options: {
  env: NodeJS.ProcessEnv;
  /** one entry per process: its name and role */
  layout: readonly { name: string; role: HubRole; port?: number }[];
  logDir: string;
  restartDelayMs: number;
  log: (line: string) => void;
}): Supervisor {
  let stopping = false;
  let crashes = 0;
  const entries = options.layout.map(({ name, role, port }) => {
    const entry = { name, role, port, child: undefined as ChildProcess | undefined, starts: 0, exited: Promise.resolve(), restart: undefined as NodeJS.Timeout | undefined, log: createWriteStream(join(options.logDir, `${name}.log`), { flags: 'a' }) };
    return entry;
  });
  type Entry = (typeof entries)[number];

  function start(entry: Entry): void {
    entry.starts++;
    const env = { ...options.env, ...(entry.port !== undefined ? { PORT: String(entry.port) } : {}) };
    const child = spawn(process.execPath, ['--import', 'tsx', hubBin, 'start', '--role', entry.role], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    entry.child = child;
    child.stdout?.pipe(entry.log, { end: false });
    child.stderr?.pipe(entry.log, { end: false });
    entry.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        entry.child = undefined;
        resolve();
        if (stopping) return;
        if (signal !== 'SIGKILL') crashes++;
        if (signal !== 'SIGKILL') options.log(`${entry.name} exited (${signal ?? code}) on its own — see ${join(options.logDir, `${entry.name}.log`)}`);
        entry.restart = setTimeout(() => start(entry), options.restartDelayMs);
      });
    });
  }
  for (const entry of entries) start(entry);
  // If the harness itself dies, its children must not run on, orphaned.
  const killAll = () => {
    for (const e of entries) e.child?.kill('SIGKILL');
  };
  process.on('exit', killAll);

  return {
    processes: entries.map((e) => ({ name: e.name, role: e.role, pid: () => e.child?.pid, starts: () => e.starts })),
    kill(name) {
      const entry = entries.find((e) => e.name === name);
      if (!entry?.child) return false;
      entry.child.kill('SIGKILL');
      return true;
    },
    crashes: () => crashes,
    async allRunning() {
      while (!stopping && entries.some((e) => !e.child)) await new Promise((r) => setTimeout(r, 100));
    },
    async stop() {
      stopping = true;
      for (const e of entries) clearTimeout(e.restart);
      for (const e of entries) e.child?.kill('SIGTERM');
      const grace = setTimeout(() => {
        for (const e of entries) e.child?.kill('SIGKILL');
      }, 15_000);
      await Promise.all(entries.map((e) => e.exited));
      clearTimeout(grace);
      for (const e of entries) e.log.end();
      process.off('exit', killAll);
    },
  };
}

/**
 * The pid of the local process that owns the TCP socket bound to `localPort` on loopback
 * (Linux: /proc/net/tcp gives the socket's inode, a process's fds link to `socket:[inode]`),
 * looked for among `pids`.
 */
export function pidOwningPort(localPort: number, pids: readonly number[]): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (!local) continue;
      if (parseInt(local.split(':')[1] ?? '', 16) === localPort && fields[9]) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (match && inodes.has(match[1]!)) return pid;
      } catch {
        // the fd closed meanwhile
      }
    }
  }
  return undefined;
}
