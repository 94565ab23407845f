import type { InboundDelivery, NormalizeResult, OrderConnector } from '../connectors/types.ts';
import { HubError } from './errors.ts';
import { parseJsonLossless } from './json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw bytes of a delivery → canonical order or problems. Shared by the webhook (which
 * answers 4xx on problems) and the normalize stage (which runs it again on the stored
 * bytes), so both always agree. The order takes the channel code it arrived on, so two
 * stores on the same platform stay apart.
 */
export function normalizeDelivery(connector: OrderConnector, channel: string, body: Buffer, delivery: InboundDelivery): NormalizeResult {
  let parsed: unknown;
  try {
    parsed = parseJsonLossless(utf8.decode(body));
  } catch (error) {
    const message = error instanceof HubError || error instanceof TypeError ? error.message : String(error);
    return { ok: false, problems: [{ path: '/', message: error instanceof TypeError ? 'the body is not valid UTF-8' : message }] };
  }
  const result = connector.normalize(parsed, delivery);
  return result.ok ? { ok: true, order: { ...result.order, channel } } : result;
}
