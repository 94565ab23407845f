// Static checks of the container setup: compose.yaml, Dockerfile, .dockerignore.
// No Docker engine is needed (none runs on the CI machine); the file is parsed
// and its wiring checked: services, healthchecks, dependencies, environment,
// and that every URL the hub is given points at a compose service and a port
// that service exposes.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('..', import.meta.url));
const composePath = join(root, 'compose.yaml');
const dockerfilePath = join(root, 'Dockerfile');
const dockerignorePath = join(root, '.dockerignore');
const readmePath = join(root, 'README.md');

const INFRA = ['rabbitmq', 'postgres', 'redis'] as const;
const APPS = ['hub', 'demo'] as const;
const REQUIRED_ENV = [
  'AMQP_URL',
  'DATABASE_URL',
  'REDIS_URL',
  'PORT',
  'HUB_NAMESPACE',
  'HUB_ADMIN_TOKEN',
] as const;

/** Which compose service and default port each URL variable must point at. */
const URL_TARGETS = {
  AMQP_URL: { protocol: 'amqp:', service: 'rabbitmq', defaultPort: 5672 },
  DATABASE_URL: { protocol: 'postgres:', service: 'postgres', defaultPort: 5432 },
  REDIS_URL: { protocol: 'redis:', service: 'redis', defaultPort: 6379 },
} as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`);
  return v;
}

/** A YAML scalar as compose reads it (8080 and "8080" are the same). */
function scalar(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

const composeText = readFileSync(composePath, 'utf8');
const compose = obj(parse(composeText, { merge: true }) as unknown, 'compose.yaml');
const services = obj(compose.services, 'services');

function service(name: string): Obj {
  return obj(services[name], `services.${name}`);
}

/** A service's environment as a map, whichever of the two compose forms it uses. */
function environment(name: string): Record<string, string> {
  const env = service(name).environment;
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const item of env) {
      const s = scalar(item);
      const eq = s.indexOf('=');
      if (eq < 0) out[s] = '';
      else out[s.slice(0, eq)] = s.slice(eq + 1);
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = scalar(v);
  }
  return out;
}

/** The container ports a service publishes (`ports`) or exposes (`expose`). */
function containerPorts(name: string): number[] {
  const svc = service(name);
  const ports: number[] = [];
  const add = (s: string): void => {
    // "5672", "5672:5672", "127.0.0.1:5432:5432", "${PORT:-8080}:8080", "6379/tcp"
    const last = s.replace(/\/(tcp|udp)$/, '').split(':').at(-1) ?? '';
    const n = Number(last);
    if (Number.isInteger(n) && n > 0) ports.push(n);
  };
  for (const key of ['ports', 'expose'] as const) {
    const list = svc[key];
    if (!Array.isArray(list)) continue;
    for (const p of list) {
      add(scalar(isObj(p) ? p.target : p));
    }
  }
  return ports;
}

/** The healthcheck command as one string ("CMD" / "CMD-SHELL" dropped). */
function healthcheck(name: string): string {
  const hc = service(name).healthcheck;
  if (!isObj(hc)) return '';
  const test = hc.test;
  if (typeof test === 'string') return test;
  if (Array.isArray(test)) {
    return test
      .map(scalar)
      .filter((t) => t !== 'CMD' && t !== 'CMD-SHELL')
      .join(' ');
  }
  return '';
}

describe('compose.yaml', () => {
  it('has no obsolete top-level version key', () => {
    expect(compose).not.toHaveProperty('version');
  });

  it('defines rabbitmq, postgres, redis, hub and demo', () => {
    for (const name of [...INFRA, ...APPS]) expect(services, name).toHaveProperty(name);
  });

  it('gives each infrastructure service a healthcheck', () => {
    expect(healthcheck('rabbitmq')).toMatch(/rabbitmq-diagnostics\s+-q\s+(ping|check_running)/);
    expect(healthcheck('postgres')).toMatch(/pg_isready\b.*-U\s+postgres/);
    expect(healthcheck('redis')).toMatch(/redis-cli\b.*\bping\b/);
  });

  it('uses the pinned infrastructure images', () => {
    expect(service('rabbitmq').image).toBe('rabbitmq:3.13-management');
    expect(service('postgres').image).toBe('postgres:16');
    expect(service('redis').image).toBe('redis:7');
    expect(environment('postgres').POSTGRES_HOST_AUTH_METHOD).toBe('trust');
  });

  it.each(APPS)('%s depends on all three infrastructure services being healthy', (app) => {
    const deps = obj(service(app).depends_on, `${app}.depends_on`);
    for (const infra of INFRA) {
      const dep = obj(deps[infra], `${app}.depends_on.${infra}`);
      expect(dep.condition, `${app} -> ${infra}`).toBe('service_healthy');
    }
  });

  it('starts the demo only under the demo profile, everything else by default', () => {
    expect(service('demo').profiles).toEqual(['demo']);
    for (const name of [...INFRA, 'hub']) expect(service(name).profiles, name).toBeUndefined();
  });

  it('builds hub and demo from the Dockerfile and runs the right npm scripts', () => {
    for (const app of APPS) {
      const build = service(app).build;
      const context = isObj(build) ? build.context : build;
      expect(context, `${app}.build`).toBe('.');
    }
    const cmd = (name: string): string => {
      const c = service(name).command;
      return Array.isArray(c) ? c.map(scalar).join(' ') : scalar(c);
    };
    expect(cmd('hub')).toBe('npm start');
    expect(cmd('demo')).toBe('npm run demo');
  });

  it('publishes the hub on ${PORT:-8080} and health-checks /health on that port', () => {
    const ports = service('hub').ports;
    expect(ports).toContain('${PORT:-8080}:8080');
    expect(environment('hub').PORT).toBe('8080');
    expect(healthcheck('hub')).toContain('http://localhost:8080/health');
  });

  describe.each(APPS)('%s environment', (app) => {
    const env = environment(app);

    it('names every required variable', () => {
      for (const name of REQUIRED_ENV) expect(env, name).toHaveProperty(name);
      expect(env.HUB_NAMESPACE).toBe(app === 'hub' ? '${HUB_NAMESPACE:-hub}' : '${DEMO_NAMESPACE:-demo}');
    });

    it.each(Object.keys(URL_TARGETS) as (keyof typeof URL_TARGETS)[])(
      '%s points at its compose service on a port it exposes',
      (name) => {
        const target = URL_TARGETS[name];
        const raw = env[name];
        expect(raw, name).toBeTypeOf('string');
        const url = new URL(raw ?? '');
        expect(url.protocol).toBe(target.protocol);
        expect(url.hostname).toBe(target.service);
        expect(services).toHaveProperty(url.hostname);
        const port = url.port === '' ? target.defaultPort : Number(url.port);
        expect(containerPorts(target.service)).toContain(port);
      },
    );
  });

  it('gives hub and demo the same environment, but a namespace of the demo\'s own', () => {
    const { HUB_NAMESPACE: demoNamespace, ...demo } = environment('demo');
    const { HUB_NAMESPACE: hubNamespace, ...hub } = environment('hub');
    expect(demo).toEqual(hub);
    expect(demoNamespace).not.toEqual(hubNamespace);
  });
});

describe('Dockerfile', () => {
  it('exists', () => {
    expect(existsSync(dockerfilePath)).toBe(true);
  });

  it('runs `npm start` as the node user and exposes 8080', () => {
    const lines = readFileSync(dockerfilePath, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'));
    const from = lines.find((l) => /^FROM\s/i.test(l));
    expect(from).toMatch(/^FROM\s+node:20-bookworm-slim\b/i);
    // The last CMD wins.
    const cmdLine = lines.filter((l) => /^CMD\s/i.test(l)).at(-1);
    expect(cmdLine, 'CMD').toBeDefined();
    const arg = (cmdLine ?? '').replace(/^CMD\s+/i, '');
    const cmd = arg.startsWith('[') ? (JSON.parse(arg) as string[]).join(' ') : arg;
    expect(cmd).toBe('npm start');
    expect(lines.filter((l) => /^USER\s/i.test(l)).at(-1)).toMatch(/^USER\s+node$/i);
    expect(lines).toContain('EXPOSE 8080');
    expect(lines.some((l) => /^RUN\s+npm ci\b.*--omit=dev/.test(l))).toBe(true);
  });

  it('has a .dockerignore keeping node_modules and .git out of the context', () => {
    const entries = readFileSync(dockerignorePath, 'utf8')
      .split('\n')
      .map((l) => l.trim().replace(/^\//, '').replace(/\/$/, ''));
    for (const e of ['node_modules', '.git', 'dist', 'coverage', 'bench/results']) {
      expect(entries, e).toContain(e);
    }
  });
});

describe('README.md', () => {
  // `$${...}` is compose's escape for a literal `${`: not an interpolation.
  const interpolated = [
    ...new Set(
      [...composeText.matchAll(/(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1] ?? ''),
    ),
  ].sort();

  it('compose.yaml interpolates the documented knobs', () => {
    expect(interpolated).toEqual(
      expect.arrayContaining(['PORT', 'HUB_NAMESPACE', 'HUB_ADMIN_TOKEN', 'HUB_CONFIG']),
    );
  });

  it.skipIf(!existsSync(readmePath))(
    'documents every variable compose.yaml interpolates',
    () => {
      const readme = readFileSync(readmePath, 'utf8');
      const missing = interpolated.filter((v) => !new RegExp(`\\b${v}\\b`).test(readme));
      expect(missing, 'variables used in compose.yaml but not in README.md').toEqual([]);
    },
  );
});
