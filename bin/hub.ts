#!/usr/bin/env -S npx tsx
/**
 * `hub start [--role api|worker|scheduler]...` runs the hub (all roles by default);
 * `hub migrate` applies the database migrations and exits;
 * `hub hash-token --name <name> --role viewer|operator|admin` makes an API key: it prints a
 * new random token and the `apiKeys` entry (its SHA-256, never the token) for the config.
 */
import { parseArgs } from 'node:util';
import { readEnv } from '../core/config/env.ts';
import { loadConfig } from '../core/config/business.ts';
import { newApiKey, type ApiKeyEntry } from '../core/config/api-keys.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { createLogger } from '../core/logger.ts';
import { allRoles, startHub, type Role } from '../core/hub.ts';

const usage = 'usage: hub start [--role api|worker|scheduler]... | hub migrate | hub check-config | hub hash-token --name <name> --role viewer|operator|admin';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { role: { type: 'string', multiple: true }, name: { type: 'string' } } });
  const command = positionals[0] ?? 'start';
  const env = readEnv();
  const logger = createLogger({ level: env.logLevel, base: { ns: env.namespace } });

  switch (command) {
    case 'migrate': {
      const db = createPool(env.databaseUrl, env.namespace, 1);
      const applied = await migrate(db, env.namespace);
      await db.end();
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
      return 0;
    }
    case 'hash-token': {
      const name = values.name ?? '';
      const role = values.role?.[0] ?? '';
      if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(name) || name === 'admin') throw new Error(`--name must be 1..32 of a-z 0-9 _ - (not "admin", the name of HUB_ADMIN_TOKEN); ${usage}`);
      if (!['viewer', 'operator', 'admin'].includes(role)) throw new Error(`--role must be viewer, operator or admin; ${usage}`);
      const { token, entry } = newApiKey(name, role as ApiKeyEntry['role']);
      // Printed once, here: the hub keeps only the digest, so a lost token means a new key.
      process.stdout.write(`token (give it to the key's user; it is not stored anywhere):\n${token}\n\nadd to "apiKeys" in the config:\n${JSON.stringify(entry)}\n`);
      return 0;
    }
    case 'check-config': {
      loadConfig(env.configPath);
      logger.info({ path: env.configPath }, 'config is valid');
      return 0;
    }
    case 'start': {
      const roles = (values.role ?? [...allRoles]) as Role[];
      const unknown = roles.filter((r) => !allRoles.includes(r));
      if (unknown.length) throw new Error(`unknown role ${unknown.join(', ')}; ${usage}`);
      // A stray rejection is a bug to log, not a reason to drop every in-flight message.
      process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
      const hub = await startHub(env, { roles, logger });
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'stopping: finishing in-flight work');
        const force = setTimeout(() => process.exit(1), 30_000);
        force.unref();
        hub.stop().then(() => process.exit(0), () => process.exit(1));
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
      return -1; // keep running
    }
    default:
      throw new Error(usage);
  }
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (error: unknown) => {
    console.error((error as Error).message);
    process.exit(1);
  },
);
