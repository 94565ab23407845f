import type { CancelById, InboundDelivery, NormalizeResult, OrderConnector } from '../connectors/types.ts';
import { canonicalOrderProblems } from './order/canonical.ts';
import { connectorFailure, decodePayload } from './payload.ts';

/** What the hub knows of the channel a delivery came in on. */
export interface ChannelSettings {
  code: string;
  skuMap?: Readonly<Record<string, string>> | undefined;
  /** the channel's rounding tolerance on grand totals, in minor units */
  priceTolerance?: number | undefined;
}

/**
 * Raw bytes of a delivery → canonical order or problems. Shared by the webhook (which
 * answers 4xx on problems) and the normalize stage (which runs it again on the stored
 * bytes), so both always agree. The order takes the channel code it arrived on (two stores
 * on one platform stay apart) and the hub's SKUs; then the schema and the money rules are
 * checked, for every connector alike.
 */
export function normalizeDelivery(connector: OrderConnector, channel: ChannelSettings, body: Buffer, delivery: InboundDelivery): NormalizeResult {
  const decoded = decodePayload(body);
  if (!decoded.ok) return decoded;
  let result: NormalizeResult;
  try {
    result = connector.normalize(decoded.value, delivery);
  } catch (error) {
    return connectorFailure(connector.channel, error);
  }
  if (!result.ok) return result;
  // The schema first: only a well-formed order has lines whose SKUs can be mapped.
  const problems = canonicalOrderProblems({ ...result.order, channel: channel.code }, channel.priceTolerance ?? 0);
  if (problems.length > 0) return { ok: false, problems };
  const skuMap = channel.skuMap ?? {};
  const order = {
    ...result.order,
    channel: channel.code,
    lines: result.order.lines.map((line) => {
      const mapped = Object.hasOwn(skuMap, line.sku) ? skuMap[line.sku] : undefined;
      return mapped === undefined ? line : { ...line, sku: mapped, channelSku: line.sku };
    }),
  };
  // A mapped SKU must still fit the schema (the config bounds it too; this keeps the rule in one place).
  const mappedProblems = canonicalOrderProblems(order, channel.priceTolerance ?? 0);
  return mappedProblems.length > 0 ? { ok: false, problems: mappedProblems } : { ...result, order };
}

/**
 * Raw bytes of a delivery that cancels an order by its id alone (WooCommerce's
 * `order.deleted`) → that id, or problems; undefined when the topic is not one of those.
 * Shared by the webhook and the normalize stage, as {@link normalizeDelivery} is.
 */
export function cancellationById(connector: OrderConnector, body: Buffer, delivery: InboundDelivery): CancelById | undefined {
  if (!connector.cancelsById?.topics.includes(delivery.topic)) return undefined;
  const decoded = decodePayload(body);
  if (!decoded.ok) return decoded;
  try {
    return connector.cancelsById.read(decoded.value, delivery);
  } catch (error) {
    return connectorFailure(connector.channel, error);
  }
}

/** An enabled channel: its settings and the connector that reads its payloads. */
export interface Channel extends ChannelSettings {
  connector: OrderConnector;
}
