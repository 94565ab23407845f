import type { FromSchema } from 'json-schema-to-ts';

/**
 * The canonical order: what every inbound connector produces, whatever the channel's own
 * shape. Money is integer minor units of `currency` (ISO 4217); times are UTC ISO-8601;
 * ids from channels are exact strings (marketplace ids exceed 2^53).
 */
const money = { type: 'integer', minimum: 0, maximum: 9_007_199_254_740_991 } as const;
const optionalText = { type: ['string', 'null'], maxLength: 1000 } as const;

export const addressSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['country'],
  properties: {
    name: optionalText,
    company: optionalText,
    line1: optionalText,
    line2: optionalText,
    city: optionalText,
    region: optionalText,
    postalCode: { type: ['string', 'null'], maxLength: 32 },
    /** ISO 3166-1 alpha-2 */
    country: { type: 'string', pattern: '^[A-Z]{2}$' },
    phone: { type: ['string', 'null'], maxLength: 64 },
  },
} as const;

export const orderLineSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'name', 'quantity', 'unitPrice', 'discount', 'tax'],
  properties: {
    externalLineId: { type: ['string', 'null'], maxLength: 128 },
    /** the hub's SKU (after the channel's SKU mapping) */
    sku: { type: 'string', minLength: 1, maxLength: 128 },
    /** the SKU as the channel sent it, when a mapping changed it */
    channelSku: { type: ['string', 'null'], maxLength: 128 },
    name: { type: 'string', maxLength: 500 },
    quantity: { type: 'integer', minimum: 1, maximum: 100_000 },
    /** price of one unit, before discount and tax */
    unitPrice: money,
    /** discount on the whole line (also counted in the order's `totals.discounts`) */
    discount: money,
    /** tax on the whole line (also counted in the order's `totals.tax`) */
    tax: money,
  },
} as const;

export const paymentMethods = ['card', 'wallet', 'bank_transfer', 'store_credit', 'cash_on_delivery', 'unknown'] as const;
export const channelPaymentStatuses = [
  'pending', 'authorized', 'paid', 'partially_paid', 'refunded', 'partially_refunded', 'voided', 'failed', 'unknown',
] as const;

export const canonicalOrderSchema = {
  $id: 'https://order-hub.local/schemas/canonical-order.json',
  type: 'object',
  additionalProperties: false,
  required: [
    'channel', 'externalId', 'placedAt', 'currency', 'customer', 'lines', 'totals',
    'shippingAddress', 'billingAddress', 'payment', 'tags', 'flags',
  ],
  properties: {
    channel: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
    /** the channel's own order id, exactly as the channel sends it */
    externalId: { type: 'string', minLength: 1, maxLength: 128 },
    /** the channel's human-facing number (Shopify `name`, e.g. "#1001") */
    externalNumber: { type: ['string', 'null'], maxLength: 64 },
    placedAt: { type: 'string', format: 'date-time', pattern: 'Z$' },
    /** ISO 4217, the currency of every amount in this order */
    currency: { type: 'string', pattern: '^[A-Z]{3}$' },
    customer: {
      type: 'object',
      additionalProperties: false,
      required: [],
      properties: {
        id: { type: ['string', 'null'], maxLength: 128 },
        email: { type: ['string', 'null'], maxLength: 320 },
        phone: { type: ['string', 'null'], maxLength: 64 },
        name: optionalText,
        locale: { type: ['string', 'null'], maxLength: 35 },
      },
    },
    lines: { type: 'array', minItems: 1, maxItems: 1000, items: orderLineSchema },
    /**
     * Order totals. They always add up (checked at every edge, see core/order/totals.ts):
     * subtotal = Σ unitPrice × quantity; grandTotal = subtotal − discounts + shipping
     * + tax (unless taxIncluded: prices already contain it) + otherCharges.
     */
    totals: {
      type: 'object',
      additionalProperties: false,
      required: ['subtotal', 'discounts', 'shipping', 'tax', 'taxIncluded', 'otherCharges', 'grandTotal'],
      properties: {
        subtotal: money,
        /** every discount: line-level and order-level */
        discounts: money,
        shipping: money,
        tax: money,
        /** true when prices already include tax (VAT shops) */
        taxIncluded: { type: 'boolean' },
        /** tips, duties, fees and other charges the channel adds to the total */
        otherCharges: money,
        grandTotal: money,
      },
    },
    shippingAddress: { anyOf: [addressSchema, { type: 'null' }] },
    billingAddress: { anyOf: [addressSchema, { type: 'null' }] },
    payment: {
      type: 'object',
      additionalProperties: false,
      required: ['method', 'status'],
      properties: {
        method: { type: 'string', enum: paymentMethods },
        provider: { type: ['string', 'null'], maxLength: 64 },
        /** the payment status as the channel reports it at receipt */
        status: { type: 'string', enum: channelPaymentStatuses },
      },
    },
    notes: { type: ['string', 'null'], maxLength: 5000 },
    /** the device and app the order was placed from (the shop's own app) */
    client: {
      anyOf: [
        {
          type: 'object',
          additionalProperties: false,
          required: ['platform'],
          properties: {
            platform: { type: 'string', enum: ['ios', 'android', 'web', 'other'] },
            appVersion: { type: ['string', 'null'], maxLength: 64 },
            deviceId: { type: ['string', 'null'], maxLength: 128 },
            osVersion: { type: ['string', 'null'], maxLength: 64 },
          },
        },
        { type: 'null' },
      ],
    },
    tags: { type: 'array', maxItems: 100, items: { type: 'string', maxLength: 255 } },
    flags: {
      type: 'object',
      additionalProperties: false,
      required: ['gift', 'priority', 'test'],
      properties: { gift: { type: 'boolean' }, priority: { type: 'boolean' }, test: { type: 'boolean' } },
    },
  },
} as const;

export type CanonicalOrder = FromSchema<typeof canonicalOrderSchema>;
export type CanonicalLine = FromSchema<typeof orderLineSchema>;
export type Address = FromSchema<typeof addressSchema>;
export type PaymentMethod = (typeof paymentMethods)[number];
export type ChannelPaymentStatus = (typeof channelPaymentStatuses)[number];
