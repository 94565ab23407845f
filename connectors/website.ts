import { HUB_SIGNATURE_TOLERANCE_SECONDS, signHubPayload, verifyHubSignature } from './signatures.ts';
import type { CanonicalOrder } from '../schemas/canonical-order.ts';
import { at, createReader, isObject, type At, type Reader } from './reader.ts';
import type { InboundDelivery, InboundRequest, NormalizeResult, OrderConnector, OrderIntent } from './types.ts';

/**
 * The shop's own channels (website and mobile app) post the canonical order itself, signed
 * like Stripe signs its webhooks. The contract for the shop's engineers, with a worked
 * signature example: docs/channel-contract.md.
 */

/** How far a signed timestamp may be from the hub's clock, either way, in seconds. */
export const SIGNATURE_TOLERANCE_SECONDS = HUB_SIGNATURE_TOLERANCE_SECONDS;

/** What each `X-Hub-Topic` asks of the order. Every topic delivers the full order. */
export const OWN_CHANNEL_TOPICS = {
  'order.created': 'create',
  'order.updated': 'update',
  'order.cancelled': 'cancel',
} as const satisfies Record<string, OrderIntent>;

/**
 * Body fields that describe the delivery rather than the order: they travel in the signed
 * body (headers other than the topic do not reach `normalize`, nor a replay of the stored
 * delivery) and are removed before the canonical order is checked.
 */
const DELIVERY_FIELDS: readonly string[] = ['updatedAt', 'cancelReason'];

const MAX_CANCEL_REASON_LENGTH = 1000;

export type ClientPlatform = 'ios' | 'android' | 'web' | 'other';

export interface OwnChannelOptions {
  /** the canonical channel, and the only value `channel` may have in the body */
  channel: string;
  /** the environment variable holding the signing secret */
  secretName: string;
  /**
   * When set, every order must carry `client` with one of these platforms (the app: where the
   * order was placed matters for support and fraud checks). When unset, `client` is optional.
   */
  clientPlatforms?: readonly ClientPlatform[] | undefined;
}

/**
 * An order connector for a channel the shop runs itself: the body is the canonical order
 * (`channel` may be left out), the headers say what happened and sign the bytes.
 */
export function ownChannelConnector({ channel, secretName, clientPlatforms = undefined }: OwnChannelOptions): OrderConnector {
  return {
    channel,
    delivery: 'webhook',
    secretName,
    orderTopics: Object.keys(OWN_CHANNEL_TOPICS),

    /**
     * `X-Hub-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>`; any
     * one of several `v1` may match (secret rotation). Refused when the timestamp is more than
     * {@link SIGNATURE_TOLERANCE_SECONDS} from `now`, either way.
     */
    verify(request: InboundRequest, secret: string, now: Date): boolean {
      return verifyHubSignature(request, secret, now);
    },

    describe(request: InboundRequest): InboundDelivery {
      const { headers } = request;
      return { eventId: headers['x-hub-event-id']?.trim() || null, topic: headers['x-hub-topic']?.trim() ?? '' };
    },

    /**
     * Checks what only this connector knows (the channel, the app's `client`, the delivery
     * fields) and hands the order on; the hub then checks the schema and that the money adds
     * up, so `order` is unchecked canonical data until `normalizeDelivery` has run.
     */
    normalize(body: unknown, delivery: InboundDelivery): NormalizeResult {
      const intent = Object.hasOwn(OWN_CHANNEL_TOPICS, delivery.topic)
        ? OWN_CHANNEL_TOPICS[delivery.topic as keyof typeof OWN_CHANNEL_TOPICS]
        : null;
      if (intent === null) {
        return { ok: false, problems: [{ path: '/', message: `unknown topic ${JSON.stringify(delivery.topic)}; expected one of ${Object.keys(OWN_CHANNEL_TOPICS).join(', ')}` }] };
      }
      if (!isObject(body)) return { ok: false, problems: [{ path: '/', message: 'the order must be a JSON object' }] };

      const read = createReader();
      const root: At = { value: body, path: '' };

      const sentChannel = at(root, 'channel');
      if (sentChannel.value !== undefined && sentChannel.value !== channel) {
        read.report(sentChannel.path, `must be "${channel}" or left out`);
      }
      checkLines(read, at(root, 'lines'));
      if (clientPlatforms !== undefined) checkClient(read, at(root, 'client'), clientPlatforms);

      const updatedAt = readUpdatedAt(read, at(root, 'updatedAt'));
      const reasonNode = at(root, 'cancelReason');
      const cancelReason = read.text(reasonNode);
      if (cancelReason !== null && cancelReason.length > MAX_CANCEL_REASON_LENGTH) {
        read.report(reasonNode.path, `must be at most ${MAX_CANCEL_REASON_LENGTH} characters`);
      }
      if (read.problems.length > 0) return { ok: false, problems: read.problems };

      // Own properties only, copied (the caller's value is never changed); `__proto__` stays an ordinary key.
      const fields = Object.entries(body).filter(([key]) => !DELIVERY_FIELDS.includes(key));
      const order = { ...Object.fromEntries(fields), channel } as CanonicalOrder;
      return { ok: true, order, intent, updatedAt, cancelReason: intent === 'cancel' ? cancelReason : null };
    },
  };
}

/** The shop's website: `POST /webhooks/orders/website`, signed with `WEBSITE_WEBHOOK_SECRET`; `client` optional. */
export const website: OrderConnector = ownChannelConnector({ channel: 'website', secretName: 'WEBSITE_WEBHOOK_SECRET' });

/** The shop's mobile app (through the shop's backend): `POST /webhooks/orders/app`, signed with `APP_WEBHOOK_SECRET`; `client` required. */
export const app: OrderConnector = ownChannelConnector({
  channel: 'app',
  secretName: 'APP_WEBHOOK_SECRET',
  clientPlatforms: ['ios', 'android'],
});

/**
 * The `X-Hub-Signature` value for `body` (sent byte for byte as this string's UTF-8),
 * signed at `timestamp` (unix seconds). For senders and tests; during a secret rotation
 * a sender joins the `v1=` parts of both secrets: `t=…,v1=<old>,v1=<new>`.
 * @throws RangeError when `timestamp` is not a whole number of seconds or `secret` is empty
 */
export function signOwnChannelPayload(body: string, secret: string, timestamp: number): string {
  return signHubPayload(body, secret, timestamp);
}



/**
 * The hub maps SKUs over `lines` before its schema check, so they must at least be an array
 * of objects here. `channelSku` is the hub's record of a mapping, never the sender's.
 */
function checkLines(read: Reader, node: At): void {
  if (!Array.isArray(node.value)) {
    read.report(node.path, node.value === undefined ? 'is required' : 'must be an array of order lines');
    return;
  }
  node.value.forEach((_, index) => {
    const line = at(node, index);
    if (!isObject(line.value)) read.report(line.path, 'must be a JSON object');
    else if (Object.hasOwn(line.value, 'channelSku')) read.report(`${line.path}/channelSku`, 'is set by the hub when it maps a SKU; leave it out');
  });
}

/** The sender's last-modified time, as UTC; null when left out. One problem for a non-string, not two. */
function readUpdatedAt(read: Reader, node: At): string | null {
  if (node.value == null) return null;
  if (typeof node.value === 'string') return read.timestamp(node);
  read.report(node.path, 'must be an ISO-8601 timestamp with a UTC offset');
  return null;
}

function checkClient(read: Reader, node: At, platforms: readonly ClientPlatform[]): void {
  if (!isObject(node.value)) {
    read.report(node.path, node.value == null ? 'is required: the device and app the order was placed from' : 'must be a JSON object');
    return;
  }
  const platform = at(node, 'platform');
  if (typeof platform.value !== 'string' || !(platforms as readonly string[]).includes(platform.value)) {
    read.report(platform.path, `must be one of ${platforms.join(', ')}`);
  }
}
