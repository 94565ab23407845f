#!/usr/bin/env -S npx tsx
/**
 * `hub start [--role api|worker|scheduler]...` runs the hub (all roles by default);
 * `hub migrate` applies the database migrations and exits.
 */
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { readEnv } from '../core/config/env.ts';
import { loadConfig } from '../core/config/business.ts';
import { migrate } from '../core/db/migrate.ts';
import { createPool } from '../core/db/pool.ts';
import { allRoles, startHub, type Role } from '../core/hub.ts';

const usage = 'usage: hub start [--role api|worker|scheduler]... | hub migrate | hub check-config';

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { role: { type: 'string', multiple: true } } });
  const command = positionals[0] ?? 'start';
  const env = readEnv();
  const logger = pino({ level: env.logLevel, base: { ns: env.namespace } });

  switch (command) {
    case 'migrate': {
      const db = createPool(env.databaseUrl, env.namespace, 1);
      const applied = await migrate(db, env.namespace);
      await db.end();
      logger.info({ applied }, applied.length ? 'migrations applied' : 'schema up to date');
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
