import { fileURLToPath } from 'node:url';

/** The settings the hub reads from its environment (the names are public; see README). */
export interface HubEnv {
  amqpUrl: string;
  databaseUrl: string;
  redisUrl: string;
  port: number;
  namespace: string;
  configPath: string;
  adminToken: string | undefined;
  /**
   * connectors' secrets by env var name, e.g. SHOPIFY_WEBHOOK_SECRET, AMAZON_LWA_REFRESH_TOKEN
   * (and AMAZON_LWA_ENDPOINT, which goes with the LWA credentials)
   */
  secrets: Record<string, string>;
  logLevel: string;
}

export const defaultConfigPath = fileURLToPath(new URL('../../config/demo.json', import.meta.url));

/** Namespaces name a Postgres schema, queues and Redis keys: keep them plain identifiers. */
export const namespacePattern = /^[a-z][a-z0-9_]{0,39}$/;

/**
 * Reads the environment once, at the composition root. Nothing else in the hub reads
 * `process.env`. Throws with every problem listed, so a misconfigured deploy fails at start.
 */
export function readEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  // docker compose passes `${VAR:-}` through as an empty string: empty means unset.
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;
  const problems: string[] = [];
  const port = Number(read('PORT') ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) problems.push(`PORT must be an integer 0..65535, got "${read('PORT')}"`);
  const namespace = read('HUB_NAMESPACE') ?? 'hub';
  if (!namespacePattern.test(namespace)) {
    problems.push(`HUB_NAMESPACE must match ${namespacePattern} (it names a Postgres schema), got "${namespace}"`);
  }
  // Where the Amazon poller exchanges its LWA refresh token: another region's host, a sandbox.
  const lwaEndpoint = read('AMAZON_LWA_ENDPOINT');
  if (lwaEndpoint !== undefined && !/^https?:\/\/\S+$/.test(lwaEndpoint)) problems.push(`AMAZON_LWA_ENDPOINT must be an http(s) URL, got "${lwaEndpoint}"`);
  if (problems.length > 0) throw new Error(`invalid environment:\n  - ${problems.join('\n  - ')}`);
  const secrets: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value?.trim() && /_(WEBHOOK_SECRET|HMAC_KEY|SECRET|API_TOKEN|API_KEY|WEBHOOK_ID|CERT_PEM|KEY_PEM|PASSWORD|REFRESH_TOKEN|CLIENT_ID)$/.test(name)) secrets[name] = value.trim();
  }
  if (lwaEndpoint !== undefined) secrets.AMAZON_LWA_ENDPOINT = lwaEndpoint;
  return {
    amqpUrl: read('AMQP_URL') ?? 'amqp://guest:guest@127.0.0.1:5672',
    databaseUrl: read('DATABASE_URL') ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    redisUrl: read('REDIS_URL') ?? 'redis://127.0.0.1:6379',
    port,
    namespace,
    configPath: read('HUB_CONFIG') ?? defaultConfigPath,
    adminToken: read('HUB_ADMIN_TOKEN'),
    secrets,
    logLevel: read('LOG_LEVEL') ?? 'info',
  };
}
