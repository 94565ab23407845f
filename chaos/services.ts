/**
 * The harness's own RabbitMQ node, Postgres cluster and Redis server: throwaway, on free
 * loopback ports, in a temp dir. Restarting the machine's shared services would break every
 * other user of them, so the faults are done to these. RabbitMQ and Postgres drop to their
 * own system users, so their directories are handed to those users.
 */
import { execFile, execSync, type ExecFileOptions } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../bench/hub-processes.ts';

export interface ServiceUrls { amqpUrl: string; databaseUrl: string; redisUrl: string }
export interface Service { name: 'rabbitmq' | 'postgres' | 'redis'; host: string; port: number }

export interface PrivateServices {
  urls: ServiceUrls;
  rabbitmq: Service;
  postgres: Service;
  redis: Service;
  /** runs `rabbitmqctl -q -n <node> …` against the harness's node */
  rabbitctl(...args: string[]): Promise<string>;
  /** `rabbitmqctl stop_app`, a pause, `start_app`: the node stays, every connection drops */
  bounceRabbit(pauseMs: number): Promise<void>;
  /** `pg_ctl restart -m immediate`: a crash-like restart (no checkpoint, backends killed) */
  restartPostgres(): Promise<void>;
  /** shutdown nosave, start again: Redis comes back empty */
  restartRedis(): Promise<void>;
  stop(): Promise<void>;
}

export function run(file: string, args: string[], options: ExecFileOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: 120_000, ...options }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${String(stderr)}`));
      else resolve(String(stdout));
    });
  });
}



function ownerIds(user: string): { uid: number; gid: number } {
  return { uid: Number(execSync(`id -u ${user}`).toString().trim()), gid: Number(execSync(`id -g ${user}`).toString().trim()) };
}

function chownTree(path: string, ids: { uid: number; gid: number }): void {
  chownSync(path, ids.uid, ids.gid);
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    const child = join(path, entry.name);
    if (entry.isDirectory()) chownTree(child, ids);
    else chownSync(child, ids.uid, ids.gid);
  }
}

function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions[0]) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return join(root, versions[0], 'bin');
}

/**
 * The machine's own services (`--shared`), from the hub's usual environment variables:
 * nothing is started or stopped, and the restarts are refused — only kills and cuts apply.
 */
export function sharedServices(urls: ServiceUrls): PrivateServices {
  const service = (name: Service['name'], url: string, port: number): Service => {
    const parsed = new URL(url);
    return { name, host: parsed.hostname, port: Number(parsed.port || port) };
  };
  const refuse = () => Promise.reject(new Error('not restarting a shared service'));
  return {
    urls,
    rabbitmq: service('rabbitmq', urls.amqpUrl, 5672),
    postgres: service('postgres', urls.databaseUrl, 5432),
    redis: service('redis', urls.redisUrl, 6379),
    rabbitctl: (...args) => run('rabbitmqctl', ['-q', ...args]),
    bounceRabbit: refuse,
    restartPostgres: refuse,
    restartRedis: refuse,
    stop: () => Promise.resolve(),
  };
}

/** `url` with its host and port replaced: the same service, reached through a proxy. */
export function throughProxy(url: string, port: number): string {
  const parsed = new URL(url);
  parsed.hostname = '127.0.0.1';
  parsed.port = String(port);
  return parsed.toString();
}

/** Starts all three; on any failure stops what was started and rethrows. */
export async function startPrivateServices(log: (line: string) => void): Promise<PrivateServices> {
  const dir = mkdtempSync(join(tmpdir(), 'hub-chaos-'));
  chownSync(dir, 0, 0);
  // the service users must reach their directories inside it
  execSync(`chmod 755 ${dir}`);
  const stops: (() => Promise<void>)[] = [];
  // the same, synchronously, for a harness that exits without its finally blocks running
  const syncStops: string[] = [];
  const stopOnExit = () => {
    for (const command of syncStops.reverse()) {
      try {
        execSync(command, { stdio: 'ignore', timeout: 30_000 });
      } catch {
        // best effort: the process is going away
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stopOnExit);
  const stopAll = async () => {
    process.off('exit', stopOnExit);
    for (const stop of stops.reverse()) await stop().catch((e: unknown) => log(`teardown: ${(e as Error).message}`));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // ── RabbitMQ ──
    const rabbitDir = join(dir, 'rabbitmq');
    mkdirSync(rabbitDir);
    const amqpPort = await freePort();
    const distPort = await freePort();
    const node = `hubchaos${process.pid}@localhost`;
    writeFileSync(join(rabbitDir, 'plugins'), '[].\n');
    writeFileSync(join(rabbitDir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${amqpPort}\nloopback_users = none\n`);
    chownTree(rabbitDir, ownerIds('rabbitmq'));
    const rabbitEnv = {
      ...process.env,
      RABBITMQ_NODENAME: node,
      RABBITMQ_DIST_PORT: String(distPort),
      RABBITMQ_CONFIG_FILE: join(rabbitDir, 'rabbitmq.conf'),
      RABBITMQ_MNESIA_BASE: join(rabbitDir, 'mnesia'),
      RABBITMQ_LOG_BASE: join(rabbitDir, 'log'),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(rabbitDir, 'plugins'),
      RABBITMQ_PID_FILE: join(rabbitDir, 'pid'),
    };
    const ctl = (...args: string[]) => run('rabbitmqctl', ['-q', '-n', node, ...args], { env: rabbitEnv });
    log(`starting RabbitMQ ${node} on 127.0.0.1:${amqpPort}`);
    await run('rabbitmq-server', ['-detached'], { env: rabbitEnv });
    stops.push(async () => {
      await ctl('stop').catch(() => undefined);
    });
    syncStops.push(`rabbitmqctl -q -n ${node} stop`);
    // the node registers with epmd a moment after -detached returns: poll until it answers
    for (let attempt = 0; ; attempt++) {
      const up = await ctl('await_startup', '--timeout', '60').then(() => true, (error: unknown) => {
        if (attempt >= 60) throw error;
        return false;
      });
      if (up) break;
      await sleep(1000);
    }

    // ── Postgres ──
    const bin = postgresBin();
    const pgDir = join(dir, 'postgres');
    mkdirSync(pgDir);
    chownTree(pgDir, ownerIds('postgres'));
    const pgPort = await freePort();
    const asPostgres = (file: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', join(bin, file), ...args]);
    log(`starting Postgres on 127.0.0.1:${pgPort}`);
    await asPostgres('initdb', ['-D', join(pgDir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    const pgOptions = `-p ${pgPort} -k ${pgDir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300`;
    const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', join(pgDir, 'data'), '-o', pgOptions, '-l', join(pgDir, 'log'), '-w', ...args]);
    await pgCtl('start');
    stops.push(async () => {
      await pgCtl('stop', '-m', 'immediate');
    });
    syncStops.push(`runuser -u postgres -- ${join(bin, 'pg_ctl')} -D ${join(pgDir, 'data')} -m immediate stop`);

    // ── Redis ──
    const redisDir = join(dir, 'redis');
    mkdirSync(redisDir);
    const redisPort = await freePort();
    const startRedis = () => run('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'yes', '--pidfile', join(redisDir, 'redis.pid'), '--dir', redisDir]);
    const stopRedis = () => run('redis-cli', ['-p', String(redisPort), 'shutdown', 'nosave']).catch(() => '');
    const redisUp = async () => {
      for (let i = 0; i < 100; i++) {
        if ((await run('redis-cli', ['-p', String(redisPort), 'ping']).catch(() => '')).trim() === 'PONG') return;
        await sleep(100);
      }
      throw new Error('redis did not answer PING');
    };
    log(`starting Redis on 127.0.0.1:${redisPort}`);
    await startRedis();
    stops.push(async () => {
      await stopRedis();
    });
    syncStops.push(`redis-cli -p ${redisPort} shutdown nosave`);
    await redisUp();

    return {
      urls: {
        amqpUrl: `amqp://guest:guest@127.0.0.1:${amqpPort}`,
        databaseUrl: `postgres://postgres@127.0.0.1:${pgPort}/postgres`,
        redisUrl: `redis://127.0.0.1:${redisPort}`,
      },
      rabbitmq: { name: 'rabbitmq', host: '127.0.0.1', port: amqpPort },
      postgres: { name: 'postgres', host: '127.0.0.1', port: pgPort },
      redis: { name: 'redis', host: '127.0.0.1', port: redisPort },
      rabbitctl: ctl,
      async bounceRabbit(pauseMs) {
        await ctl('stop_app');
        await sleep(pauseMs);
        await ctl('start_app');
      },
      async restartPostgres() {
        await pgCtl('restart', '-m', 'immediate');
      },
      async restartRedis() {
        await stopRedis();
        await sleep(300);
        await startRedis();
        await redisUp();
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}
