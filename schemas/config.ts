import type { FromSchema } from 'json-schema-to-ts';

/**
 * The business config file (`HUB_CONFIG`): channels, warehouses, products, initial stock,
 * carriers, the exception SOP (owner and deadline per exception type), notification
 * templates and retry policy. Reference data in it seeds the database once; after that,
 * operators keep products and stock current through the API.
 */
const code = { type: 'string', pattern: '^[a-z0-9][a-z0-9_-]{0,31}$' } as const;
/** amounts per ISO 4217 currency, in minor units: { "USD": 100000, "JPY": 15000 } */
const amountsByCurrency = { type: 'object', propertyNames: { pattern: '^[A-Z]{3}$' }, additionalProperties: { type: 'integer', minimum: 0 } } as const;
const stringList = { type: 'array', items: { type: 'string' } } as const;
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
          /** how this channel's orders are allocated (default: priority, no split) */
          allocation: {
            type: 'object',
            additionalProperties: false,
            properties: {
              strategy: { type: 'string', enum: ['priority', 'distance', 'fewest_shipments'] },
              /** may an order be split across warehouses when no single one can serve it */
              allowSplit: { type: 'boolean' },
            },
          },
          /** ask for a customer contact on this channel's orders (marketplaces keep it to themselves); default: validation.requireContact */
          requireContact: { type: 'boolean' },
          /** rounding tolerance of this channel's totals, in minor units (price integrity) */
          priceTolerance: { type: 'integer', minimum: 0, maximum: 1000 },
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
          /** how it takes work: from its queue `<ns>.out.warehouse.<code>`, or pushed to its REST WMS */
          integration: { type: 'string', enum: ['queue', 'http'], default: 'queue' },
          /** the REST WMS of an `http` warehouse (key from WAREHOUSE_API_KEY) */
          endpoint: { type: 'object', additionalProperties: false, required: ['baseUrl'], properties: { baseUrl: { type: 'string', pattern: '^https?://' } } },
          /** fulfilment requests it can take per day (its local day); absent = no limit */
          dailyCapacity: { type: 'integer', minimum: 1 },
          /** orders released before this local time ship the same day ("15:00", the default) */
          cutoffTime: { type: 'string', pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' },
          /** IANA time zone of the warehouse ("America/New_York"; default UTC) */
          timeZone: { type: 'string' },
          /** its street address, where returned goods are sent (return labels need it) */
          address: {
            type: 'object',
            additionalProperties: false,
            required: ['line1', 'city', 'postalCode'],
            properties: {
              line1: { type: 'string', minLength: 1 },
              line2: { type: 'string' },
              city: { type: 'string', minLength: 1 },
              region: { type: 'string' },
              postalCode: { type: 'string', minLength: 1 },
              phone: { type: 'string' },
            },
          },
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
    /** customers' store credit, seeded once (keyed by email) */
    customers: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['email', 'storeCredit'],
        properties: {
          email: { type: 'string', minLength: 3 },
          storeCredit: {
            type: 'object',
            additionalProperties: false,
            required: ['currency', 'balance'],
            properties: { currency: { type: 'string', pattern: '^[A-Z]{3}$' }, balance: { type: 'integer', minimum: 0 } },
          },
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
              properties: {
                code,
                transitDays: { type: 'integer', minimum: 0 },
                /** heaviest parcel the service takes; absent = no limit */
                maxWeightGrams: { type: 'integer', minimum: 1 },
                /** a faster service is chosen for priority orders */
                express: { type: 'boolean' },
              },
            },
          },
          /** countries it delivers to; empty means everywhere */
          regions: { type: 'array', items: country },
          /** `queue`: the hub sends each shipment to `<ns>.out.carrier.<code>` for the carrier to book */
          integration: { type: 'string', enum: ['tracking_only', 'queue'] },
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
        /** templates by name and locale (`en`, `zh-TW`, `zh-CN`…), over the built-in ones */
        localized: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            additionalProperties: {
              type: 'object', additionalProperties: false, required: ['subject', 'body'],
              properties: { subject: { type: 'string' }, body: { type: 'string' }, sms: { type: 'string' } },
            },
          },
        },
        /** where email goes out (SMTP; the password from SMTP_PASSWORD) */
        email: {
          type: 'object', additionalProperties: false, required: ['host', 'port', 'from'],
          properties: { host: { type: 'string' }, port: { type: 'integer', minimum: 1, maximum: 65535 }, from: { type: 'string' }, secure: { type: 'boolean' }, user: { type: 'string' } },
        },
        /** the SMS and push providers' APIs (keys from SMS_API_KEY, PUSH_API_KEY) */
        sms: { type: 'object', additionalProperties: false, required: ['baseUrl'], properties: { baseUrl: { type: 'string', pattern: '^https?://' } } },
        push: { type: 'object', additionalProperties: false, required: ['baseUrl'], properties: { baseUrl: { type: 'string', pattern: '^https?://' } } },
        /** ask for a review this many days after delivery; `url` may name `{{orderNumber}}` (off when absent) */
        reviewReminder: {
          type: 'object', additionalProperties: false, required: ['afterDays', 'url'],
          properties: { afterDays: { type: 'integer', minimum: 1, maximum: 90 }, url: { type: 'string', pattern: '^https://' } },
        },
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
    /** the rules of the validate stage; every rule is optional and off when absent */
    validation: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** orders from these are rejected */
        blockList: {
          type: 'object',
          additionalProperties: false,
          properties: { emails: stringList, phones: stringList, postalCodes: stringList, addresses: stringList },
        },
        /** an order needs a way to reach its customer: an email or a phone (default true) */
        requireContact: { type: 'boolean' },
        /** postal code formats by country (regular expressions), on top of the built-in ones */
        postalCodes: { type: 'object', propertyNames: { pattern: '^[A-Z]{2}$' }, additionalProperties: { type: 'string' } },
        risk: {
          type: 'object',
          additionalProperties: false,
          properties: {
            /** orders above this amount wait for a review */
            reviewAbove: amountsByCurrency,
            /** a customer's first order above this amount waits for a review */
            firstOrderAbove: amountsByCurrency,
            /** billing and shipping in different countries wait for a review */
            countryMismatch: { type: 'boolean' },
          },
        },
        payment: {
          type: 'object',
          additionalProperties: false,
          properties: {
            /** payment methods allowed; absent = all */
            methods: { type: 'array', items: { type: 'string', enum: ['card', 'wallet', 'bank_transfer', 'store_credit', 'cash_on_delivery', 'unknown'] } },
            /** per channel, overriding `methods` */
            byChannel: { type: 'object', additionalProperties: stringList },
            cashOnDelivery: {
              type: 'object',
              additionalProperties: false,
              properties: { countries: stringList, maxAmount: amountsByCurrency },
            },
          },
        },
      },
    },
    /** payment providers and the rules of payment */
    payments: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /**
         * Provider accounts that belong to a channel: a payment carrying that channel's own
         * order id (the WooCommerce Stripe gateway's `metadata.order_id`) matches its order.
         */
        links: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['provider', 'channel'],
            properties: { provider: { type: 'string' }, account: { type: 'string' }, channel: code },
          },
        },
        /** an order not paid this long after it was received is cancelled and its stock released (default 1440) */
        paymentTimeoutMinutes: { type: 'integer', minimum: 1 },
        /** a payment with no order after this long becomes an exception for finance (default 60) */
        unmatchedAfterMinutes: { type: 'integer', minimum: 1 },
        /** a payment still without an order this many days after it came expires: never matched, finance returns the money (default 7) */
        unmatchedExpiryDays: { type: 'integer', minimum: 1, maximum: 365 },
        /** the providers' APIs the hub refunds through (keys from STRIPE_API_KEY, ADYEN_API_KEY) */
        refunds: {
          type: 'object',
          additionalProperties: false,
          properties: {
            stripe: { type: 'object', additionalProperties: false, required: ['baseUrl'], properties: { baseUrl: { type: 'string', pattern: '^https?://' } } },
            adyen: {
              type: 'object', additionalProperties: false, required: ['baseUrl', 'merchantAccount'],
              properties: { baseUrl: { type: 'string', pattern: '^https?://' }, merchantAccount: { type: 'string' } },
            },
          },
        },
      },
    },
    logistics: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** a parcel not scanned for this long is a logistics delay (default 48) */
        noScanHours: { type: 'integer', minimum: 1 },
      },
    },
    inventory: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** available stock at or under this raises a low-stock alert (default 5) */
        lowStockThreshold: { type: 'integer', minimum: 0 },
        /** per SKU, overriding the default */
        lowStockBySku: { type: 'object', additionalProperties: { type: 'integer', minimum: 0 } },
      },
    },
    /** completion, returns and exchanges */
    afterSales: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** a delivered order with no open return or dispute completes this many days after delivery (default 14) */
        autoCompleteDays: { type: 'integer', minimum: 1, maximum: 365 },
        /** a return may be asked for this many days after delivery (default 30) */
        returnWindowDays: { type: 'integer', minimum: 0, maximum: 365 },
        /** product categories that cannot be returned (hygiene, made to order…) */
        nonReturnableCategories: stringList,
        /** refund the shipping charge when every unit of the order comes back (default true) */
        refundShippingOnFullReturn: { type: 'boolean' },
        /** return labels bought when a return is approved (key from EASYPOST_API_KEY); absent: labels by hand */
        returnLabels: {
          type: 'object',
          additionalProperties: false,
          properties: {
            easypost: {
              type: 'object',
              additionalProperties: false,
              required: ['baseUrl'],
              properties: {
                baseUrl: { type: 'string', pattern: '^https?://' },
                /** per hub carrier code: EasyPost's carrier name, its account, service names; default ups → UPS, fedex → FedEx, … */
                carriers: {
                  type: 'object',
                  additionalProperties: {
                    type: 'object',
                    additionalProperties: false,
                    required: ['carrier'],
                    properties: {
                      carrier: { type: 'string', minLength: 1 },
                      carrierAccountId: { type: 'string', pattern: '^ca_' },
                      services: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
    /** the daily KPI reports */
    reports: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** IANA time zone whose calendar days the reports count (default UTC) */
        timeZone: { type: 'string', minLength: 1, maxLength: 64 },
      },
    },
    /** how long an order may stay in a status before the SLA watchdog opens an `sla_breach` exception */
    sla: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** minutes per order status; a status not named has no SLA */
        byStatus: {
          type: 'object',
          propertyNames: { enum: ['received', 'validated', 'on_hold', 'allocated', 'backordered', 'ready_to_ship', 'released', 'shipped', 'delivered'] },
          additionalProperties: { type: 'integer', minimum: 1 },
        },
      },
    },
    /** finished orders moving to the archive tables (still readable through the API) */
    archive: {
      type: 'object',
      additionalProperties: false,
      properties: {
        /** a completed, cancelled, rejected or returned order moves this many days after it finished (default 365) */
        afterDays: { type: 'integer', minimum: 30 },
      },
    },
    /**
     * who may call `/api` besides HUB_ADMIN_TOKEN (named `admin`): each key's name (the actor
     * its writes are audited under), role and the SHA-256 (hex) of its token — never the
     * token itself; `hub hash-token --name <name> --role <role>` makes one
     */
    apiKeys: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'role', 'sha256'],
        properties: {
          name: code,
          role: { type: 'string', enum: ['viewer', 'operator', 'admin'] },
          sha256: { type: 'string', pattern: '^[0-9a-fA-F]{64}$' },
        },
      },
    },
    webhooks: {
      type: 'object',
      additionalProperties: false,
      properties: { maxBodyBytes: { type: 'integer', minimum: 1024, maximum: 16_777_216 } },
    },
    /**
     * requests allowed per window on `/api/*` and the status page (webhooks are not limited):
     * per API key, per source IP, failed authentications per IP, status-page logins per IP
     */
    rateLimits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        windowSeconds: { type: 'integer', minimum: 1, maximum: 86_400, default: 60 },
        perKey: { type: 'integer', minimum: 1, default: 600 },
        perIp: { type: 'integer', minimum: 1, default: 1200 },
        failedAuthPerIp: { type: 'integer', minimum: 1, default: 10 },
        loginPerIp: { type: 'integer', minimum: 1, default: 5 },
        /** proxies (exact IP addresses) whose `X-Forwarded-For` names the client; from anyone else it is ignored */
        trustedProxies: { type: 'array', items: { type: 'string', minLength: 2, maxLength: 45 }, default: [] },
      },
    },
  },
  $defs: {
    sopEntry: {
      type: 'object',
      additionalProperties: false,
      required: ['owner', 'deadlineMinutes'],
      properties: {
        owner: { type: 'string', minLength: 1 },
        deadlineMinutes: { type: 'integer', minimum: 1 },
        /** who takes the exception over when its deadline passes (absent: the owner keeps it) */
        escalateTo: { type: 'string', minLength: 1 },
      },
    },
  },
} as const;

export type HubConfig = FromSchema<typeof configSchema>;
export type WarehouseConfig = HubConfig['warehouses'][number];
export type ProductConfig = HubConfig['products'][number];
export interface SopEntry { owner: string; deadlineMinutes: number; escalateTo?: string }
