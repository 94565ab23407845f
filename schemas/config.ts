import type { FromSchema } from 'json-schema-to-ts';

/**
 * The business config file (`HUB_CONFIG`): channels, warehouses, products, initial stock,
 * carriers, the exception SOP (owner and deadline per exception type), notification
 * templates and retry policy. Reference data in it seeds the database once; after that,
 * operators keep products and stock current through the API.
 */
const code = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } as const;
const country = { type: 'string', pattern: '^[A-Z]{2}(-[A-Z0-9]{1,3})?$' } as const;

export const configSchema = {
  $id: 'https://order-hub.local/schemas/config.json',
  type: 'object',
  additionalProperties: false,
  required: ['orderNumberPrefix', 'channels', 'warehouses', 'products', 'stock', 'carriers', 'sop', 'notifications', 'retry'],
  properties: {
    $schema: { type: 'string' },
    /** order numbers look like `<prefix>-<yyyymmdd>-<sequence>` */
    orderNumberPrefix: { type: 'string', pattern: '^[A-Z][A-Z0-9]{0,7}$' },
    channels: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'connector'],
        properties: {
          code,
          /** the inbound connector that reads this channel's payloads */
          connector: { type: 'string', enum: ['shopify', 'woocommerce', 'amazon', 'website', 'app'] },
          name: { type: 'string' },
          enabled: { type: 'boolean', default: true },
          /** the channel's SKU → the hub's SKU, where they differ */
          skuMap: { type: 'object', additionalProperties: { type: 'string', minLength: 1, maxLength: 128, pattern: '^\\S+$' } },
          /** for a polled channel (Amazon SP-API): where and how often to fetch orders */
          poller: {
            type: 'object',
            additionalProperties: false,
            required: ['baseUrl', 'schedule', 'marketplaceIds'],
            properties: {
              baseUrl: { type: 'string', pattern: '^https?://' },
              /** a node-cron schedule, e.g. every minute: "* * * * *" (six fields for seconds) */
              schedule: { type: 'string' },
              marketplaceIds: { type: 'array', minItems: 1, items: { type: 'string' } },
              /** the first poll reads orders updated after this time */
              startAt: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
    },
    warehouses: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'location', 'country', 'regions', 'categories', 'priority'],
        properties: {
          code,
          name: { type: 'string' },
          location: {
            type: 'object',
            additionalProperties: false,
            required: ['lat', 'lng'],
            properties: { lat: { type: 'number', minimum: -90, maximum: 90 }, lng: { type: 'number', minimum: -180, maximum: 180 } },
          },
          country,
          /** countries (ISO 3166-1) or subdivisions (ISO 3166-2) it delivers to */
          regions: { type: 'array', minItems: 1, items: country },
          /** product categories it can handle; empty means every category */
          categories: { type: 'array', items: { type: 'string' } },
          /** lower is preferred */
          priority: { type: 'integer', minimum: 0 },
          integration: { type: 'string', enum: ['queue'], default: 'queue' },
        },
      },
    },
    products: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'name', 'category', 'weightGrams'],
        properties: {
          sku: { type: 'string', minLength: 1, maxLength: 128 },
          name: { type: 'string' },
          category: { type: 'string' },
          weightGrams: { type: 'integer', minimum: 0 },
        },
      },
    },
    /** initial stock, applied only where the warehouse has no row for the SKU yet */
    stock: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['warehouse', 'sku', 'onHand'],
        properties: { warehouse: code, sku: { type: 'string' }, onHand: { type: 'integer', minimum: 0 } },
      },
    },
    carriers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['code', 'name', 'services'],
        properties: {
          code,
          name: { type: 'string' },
          services: {
            type: 'array',
            minItems: 1,
            items: {
              type: 'object',
              additionalProperties: false,
              required: ['code', 'transitDays'],
              properties: { code, transitDays: { type: 'integer', minimum: 0 } },
            },
          },
          /** countries it delivers to; empty means everywhere */
          regions: { type: 'array', items: country },
        },
      },
    },
    /** standard operating procedure: who owns each exception type and how long they have */
    sop: {
      type: 'object',
      required: ['default'],
      properties: { default: { $ref: '#/$defs/sopEntry' } },
      propertyNames: { pattern: '^[a-z_]+$' },
      additionalProperties: { $ref: '#/$defs/sopEntry' },
    },
    notifications: {
      type: 'object',
      additionalProperties: false,
      required: ['templates'],
      properties: {
        templates: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: false,
            required: ['subject', 'body'],
            properties: { subject: { type: 'string' }, body: { type: 'string' } },
          },
        },
      },
    },
    retry: {
      type: 'object',
      additionalProperties: false,
      required: ['delaysMs', 'maxAttempts'],
      properties: {
        /** the wait before attempt n+1; the last delay repeats when attempts outnumber delays */
        delaysMs: { type: 'array', minItems: 1, maxItems: 10, items: { type: 'integer', minimum: 10, maximum: 86_400_000 } },
        /** attempts before a message is parked (first delivery included) */
        maxAttempts: { type: 'integer', minimum: 1, maximum: 50 },
      },
    },
    webhooks: {
      type: 'object',
      additionalProperties: false,
      properties: { maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 16_777_216 } },
    },
  },
  $defs: {
    sopEntry: {
      type: 'object',
      additionalProperties: false,
      required: ['owner', 'deadlineMinutes'],
      properties: { owner: { type: 'string', minLength: 1 }, deadlineMinutes: { type: 'integer', minimum: 1 } },
    },
  },
} as const;

export type HubConfig = FromSchema<typeof configSchema>;
export type WarehouseConfig = HubConfig['warehouses'][number];
export type ProductConfig = HubConfig['products'][number];
export interface SopEntry { owner: string; deadlineMinutes: number }
