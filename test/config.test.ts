// The business config file (HUB_CONFIG) and the environment (readEnv): what is accepted,
// and how every problem is reported.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig, parseConfig, sopFor } from '../core/config/business.ts';
import { defaultConfigPath, readEnv } from '../core/config/env.ts';
import type { HubConfig } from '../schemas/config.ts';

/**
 * A fresh, mutable copy of the bundled demo config document, loosely typed on purpose: the
 * tests break it in ways its type would not allow.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type LooseDocument = Record<string, any>;
const demoDocument = (): LooseDocument => JSON.parse(readFileSync(defaultConfigPath, 'utf8')) as LooseDocument;

/** The problem lines of a parseConfig error (each "  - <path> <message>"). */
function problemsOf(document: unknown): string[] {
  try {
    parseConfig(document, 'test config');
  } catch (error) {
    const message = (error as Error).message;
    expect(message.split('\n')[0]).toBe('test config is invalid:');
    return message.split('\n').slice(1).map((l) => l.replace(/^ {2}- /, ''));
  }
  throw new Error('parseConfig accepted the document');
}

/** A small config that passes: one of everything that must be there (defaults written out). */
function minimalDocument(): HubConfig {
  return {
    orderNumberPrefix: 'T',
    channels: [{ code: 'shopify', connector: 'shopify', enabled: true }],
    warehouses: [{ code: 'w1', name: 'W1', location: { lat: 0, lng: 0 }, country: 'US', regions: ['US'], categories: [], priority: 1, integration: 'queue' }],
    products: [{ sku: 'SKU-1', name: 'One', category: 'general', weightGrams: 1 }],
    stock: [{ warehouse: 'w1', sku: 'SKU-1', onHand: 5 }],
    carriers: [],
    sop: { default: { owner: 'operations', deadlineMinutes: 60 } },
    notifications: { templates: {} },
    retry: { delaysMs: [100], maxAttempts: 1 },
  };
}

describe('the bundled demo config', () => {
  it('is where defaultConfigPath says, and validates', () => {
    expect(defaultConfigPath.endsWith(join('config', 'demo.json'))).toBe(true);
    expect(existsSync(defaultConfigPath)).toBe(true);
    const config = loadConfig(defaultConfigPath);
    expect(config.orderNumberPrefix).toMatch(/^[A-Z][A-Z0-9]{0,7}$/);
    expect(config.warehouses.length).toBeGreaterThan(0);
    expect(config.sop.default).toMatchObject({ owner: expect.any(String), deadlineMinutes: expect.any(Number) });
  });

  it('fills the schema defaults (channel enabled, warehouse integration queue)', () => {
    const config = parseConfig(demoDocument());
    for (const c of config.channels) expect(c.enabled, c.code).toBe(true);
    for (const w of config.warehouses) expect(w.integration, w.code).toBe('queue');
  });

  it('accepts the minimal config the other tests build', () => {
    expect(() => parseConfig(minimalDocument())).not.toThrow();
  });
});

describe('parseConfig reports every problem with its JSON path', () => {
  it('a missing required field, at the object that lacks it', () => {
    const doc = demoDocument();
    delete doc.orderNumberPrefix;
    delete doc.warehouses[0].priority;
    delete doc.sop.default;
    expect(problemsOf(doc)).toEqual([
      "/ must have required property 'orderNumberPrefix'",
      "/warehouses/0 must have required property 'priority'",
      "/sop must have required property 'default'",
    ]);
  });

  it('a wrong type', () => {
    const doc = demoDocument();
    doc.warehouses[1].priority = 'high';
    doc.retry.maxAttempts = '3';
    doc.products[0].weightGrams = 1.5;
    expect(problemsOf(doc)).toEqual([
      '/warehouses/1/priority must be integer',
      '/products/0/weightGrams must be integer',
      '/retry/maxAttempts must be integer',
    ]);
  });

  it('an unknown property, naming it', () => {
    const doc = demoDocument();
    doc.extra = true;
    doc.products[2].colour = 'red';
    doc.warehouses[0].location.alt = 100;
    expect(problemsOf(doc)).toEqual(expect.arrayContaining([
      '/ must NOT have additional properties (extra)',
      '/warehouses/0/location must NOT have additional properties (alt)',
      '/products/2 must NOT have additional properties (colour)',
    ]));
    expect(problemsOf(doc)).toHaveLength(3);
  });

  it('stock naming an unknown warehouse or SKU', () => {
    const doc = demoDocument();
    const stock = doc.stock as unknown[];
    const at = stock.length;
    stock.push({ warehouse: 'nowhere', sku: 'SKU2006-001', onHand: 1 }, { warehouse: 'us-east', sku: 'NO-SUCH-SKU', onHand: 1 });
    expect(problemsOf(doc)).toEqual([
      `/stock/${at}/warehouse "nowhere" is not a configured warehouse`,
      `/stock/${at + 1}/sku "NO-SUCH-SKU" is not a configured product`,
    ]);
  });

  it('duplicate warehouse codes (and products, channels, carriers), each problem listed', () => {
    const doc = minimalDocument();
    doc.warehouses.push({ ...doc.warehouses[0]!, name: 'W1 again' });
    doc.products.push({ ...doc.products[0]! });
    doc.channels.push({ code: 'shopify', connector: 'shopify', name: 'again', enabled: true });
    doc.carriers.push({ code: 'ups', name: 'UPS', services: [{ code: 'ground', transitDays: 5 }] }, { code: 'ups', name: 'UPS 2', services: [{ code: 'air', transitDays: 1 }] });
    expect(problemsOf(doc)).toEqual([
      '/warehouses/1/code "w1" is defined twice (first at /warehouses/0/code)',
      '/products/1/sku "SKU-1" is defined twice (first at /products/0/sku)',
      '/channels/1/code "shopify" is defined twice (first at /channels/0/code)',
      '/carriers/1/code "ups" is defined twice (first at /carriers/0/code)',
    ]);
  });

  // Every problem comes with its JSON path, duplicates too.
  it('locates a duplicate warehouse code with a JSON path', () => {
    const doc = minimalDocument();
    doc.warehouses.push({ ...doc.warehouses[0]!, name: 'W1 again' });
    expect(problemsOf(doc)).toEqual([expect.stringMatching(/^\/warehouses\/1\/code /)]);
  });

  it('several kinds of schema problem at once, all of them', () => {
    const doc = demoDocument();
    delete doc.carriers;
    doc.channels[0].connector = 'myspace';
    doc.warehouses[0].regions = [];
    doc.retry.delaysMs = [1];
    const problems = problemsOf(doc);
    expect(problems).toEqual(expect.arrayContaining([
      "/ must have required property 'carriers'",
      '/channels/0/connector must be equal to one of the allowed values',
      '/warehouses/0/regions must NOT have fewer than 1 items',
      '/retry/delaysMs/0 must be >= 10',
    ]));
    expect(problems).toHaveLength(4);
  });

  it('something that is not an object at all', () => {
    expect(problemsOf(null)).toEqual(['/ must be object']);
    expect(problemsOf([])).toEqual(['/ must be object']);
    expect(problemsOf('{}')).toEqual(['/ must be object']);
  });

  it('names where the config came from', () => {
    expect(() => parseConfig({}, '/etc/hub/config.json')).toThrow(/^\/etc\/hub\/config\.json is invalid:/);
  });
});

describe('loadConfig', () => {
  const dir = mkdtempSync(join(tmpdir(), 'hub-config-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('says which file cannot be read, or is not JSON', () => {
    expect(() => loadConfig(join(dir, 'missing.json'))).toThrow(/^cannot read HUB_CONFIG file .*missing\.json/);
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{ "orderNumberPrefix": ');
    expect(() => loadConfig(broken)).toThrow(/^HUB_CONFIG file .*broken\.json is not valid JSON/);
  });

  it('reports schema problems under the file name', () => {
    const file = join(dir, 'invalid.json');
    writeFileSync(file, JSON.stringify({ ...minimalDocument(), orderNumberPrefix: 'lower' }));
    expect(() => loadConfig(file)).toThrow(`${file} is invalid:\n  - /orderNumberPrefix must match pattern "^[A-Z][A-Z0-9]{0,7}$"`);
  });
});

describe('sopFor', () => {
  const config: HubConfig = parseConfig({
    ...minimalDocument(),
    sop: { default: { owner: 'operations', deadlineMinutes: 240 }, unknown_sku: { owner: 'catalog', deadlineMinutes: 30 } },
  });

  it('gives the owner and deadline of an exception type the SOP names', () => {
    expect(sopFor(config, 'unknown_sku')).toEqual({ owner: 'catalog', deadlineMinutes: 30 });
  });

  it('falls back to default for a type the SOP does not name', () => {
    expect(sopFor(config, 'stock_shortage')).toEqual({ owner: 'operations', deadlineMinutes: 240 });
    expect(sopFor(config, '')).toEqual({ owner: 'operations', deadlineMinutes: 240 });
  });

  it('gives the demo config\'s entries for the exception types the stages open', () => {
    const demo = loadConfig(defaultConfigPath);
    for (const type of ['invalid_payload', 'unknown_sku', 'stock_shortage', 'allocation_failed', 'poison_message', 'address_unserved']) {
      const sop = sopFor(demo, type);
      expect(sop.owner, type).toEqual(expect.any(String));
      expect(sop.deadlineMinutes, type).toBeGreaterThan(0);
    }
  });

  // Own properties only: a type named like an Object.prototype member gets the default entry.
  it('falls back to default for a type named like an Object.prototype member', () => {
    for (const type of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
      expect(sopFor(config, type), type).toEqual({ owner: 'operations', deadlineMinutes: 240 });
    }
  });
});

describe('readEnv', () => {
  it('has the defaults DESIGN.md names', () => {
    const env = readEnv({});
    expect(env).toMatchObject({
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: 'redis://127.0.0.1:6379',
      port: 8080,
      namespace: 'hub',
      configPath: defaultConfigPath,
      adminToken: undefined,
      secrets: {},
    });
  });

  it('reads every variable that is set', () => {
    const env = readEnv({
      AMQP_URL: 'amqp://u:p@mq:5672', DATABASE_URL: 'postgres://pg/db', REDIS_URL: 'redis://r:6380', PORT: '3000',
      HUB_NAMESPACE: 'shop_eu', HUB_CONFIG: '/etc/hub.json', HUB_ADMIN_TOKEN: 'secret-token', LOG_LEVEL: 'debug',
    });
    expect(env).toEqual({
      amqpUrl: 'amqp://u:p@mq:5672', databaseUrl: 'postgres://pg/db', redisUrl: 'redis://r:6380', port: 3000,
      namespace: 'shop_eu', configPath: '/etc/hub.json', adminToken: 'secret-token', secrets: {}, logLevel: 'debug',
    });
  });

  it('rejects a HUB_NAMESPACE that cannot name a Postgres schema, with a clear message', () => {
    for (const bad of ['Hub', 'hub-eu', '1hub', '_hub', 'hub eu', 'hub;drop schema public', 'a'.repeat(41)]) {
      expect(() => readEnv({ HUB_NAMESPACE: bad }), bad).toThrow(`HUB_NAMESPACE must match /^[a-z][a-z0-9_]{0,39}$/ (it names a Postgres schema), got "${bad}"`);
    }
    for (const good of ['hub', 'h', 'shop_eu_2', 'a'.repeat(40)]) expect(readEnv({ HUB_NAMESPACE: good }).namespace).toBe(good);
  });

  it('rejects a PORT that is not an integer 0..65535, with a clear message', () => {
    for (const bad of ['http', '80.5', '-1', '65536', '8080abc', 'NaN']) {
      expect(() => readEnv({ PORT: bad }), bad).toThrow(`PORT must be an integer 0..65535, got "${bad}"`);
    }
    expect(readEnv({ PORT: '0' }).port).toBe(0);
    expect(readEnv({ PORT: '65535' }).port).toBe(65535);
  });

  it('lists every problem at once', () => {
    expect(() => readEnv({ PORT: 'x', HUB_NAMESPACE: 'X' })).toThrow(/^invalid environment:\n {2}- PORT .*\n {2}- HUB_NAMESPACE /);
  });

  it('treats the empty HUB_CONFIG, HUB_ADMIN_TOKEN and secrets docker compose passes as unset', () => {
    // compose.yaml: HUB_CONFIG: ${HUB_CONFIG:-}, SHOPIFY_WEBHOOK_SECRET: ${SHOPIFY_WEBHOOK_SECRET:-}
    const env = readEnv({ HUB_CONFIG: '', HUB_ADMIN_TOKEN: '', SHOPIFY_WEBHOOK_SECRET: '' });
    expect(env.configPath).toBe(defaultConfigPath);
    expect(env.adminToken).toBeUndefined();
    expect(env.secrets).toEqual({});
  });

  // docker compose passes `${VAR:-}` through as '': every variable treats that as unset.
  it('treats an empty PORT as unset (8080), not as port 0', () => {
    expect(readEnv({ PORT: '' }).port).toBe(8080);
  });

  it('treats empty AMQP_URL, DATABASE_URL and REDIS_URL as unset', () => {
    expect(readEnv({ AMQP_URL: '', DATABASE_URL: '', REDIS_URL: '' })).toMatchObject({
      amqpUrl: 'amqp://guest:guest@127.0.0.1:5672',
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
      redisUrl: 'redis://127.0.0.1:6379',
    });
  });

  it('treats an empty HUB_NAMESPACE as unset (hub), rather than refusing to start', () => {
    expect(readEnv({ HUB_NAMESPACE: '' }).namespace).toBe('hub');
  });

  it('collects the *_WEBHOOK_SECRET values (and HMAC keys) by variable name, and nothing else', () => {
    const env = readEnv({
      SHOPIFY_WEBHOOK_SECRET: 'shp',
      WOOCOMMERCE_WEBHOOK_SECRET: 'woo',
      WEBSITE_WEBHOOK_SECRET: 'web',
      APP_WEBHOOK_SECRET: 'app',
      STRIPE_WEBHOOK_SECRET: 'whsec_1',
      ADYEN_HMAC_KEY: 'ABCDEF',
      PAYPAL_WEBHOOK_SECRET: '',
      PATH: '/usr/bin',
      HUB_ADMIN_TOKEN: 'admin',
      WEBHOOK_SECRET_HINT: 'not a secret name',
    });
    expect(env.secrets).toEqual({
      SHOPIFY_WEBHOOK_SECRET: 'shp',
      WOOCOMMERCE_WEBHOOK_SECRET: 'woo',
      WEBSITE_WEBHOOK_SECRET: 'web',
      APP_WEBHOOK_SECRET: 'app',
      STRIPE_WEBHOOK_SECRET: 'whsec_1',
      ADYEN_HMAC_KEY: 'ABCDEF',
    });
  });

  it('reads only the object it is given, not process.env', () => {
    const before = process.env.HUB_NAMESPACE;
    process.env.HUB_NAMESPACE = 'from_process_env';
    try {
      expect(readEnv({}).namespace).toBe('hub');
    } finally {
      if (before === undefined) delete process.env.HUB_NAMESPACE;
      else process.env.HUB_NAMESPACE = before;
    }
  });
});
