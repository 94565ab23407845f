import type { CarrierConnector, TrackingNormalizeResult } from '../connectors/carriers/types.ts';
import type { InboundDelivery } from '../connectors/types.ts';
import { HubError } from './errors.ts';
import { parseJsonLossless } from './json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Raw bytes of a tracking webhook → tracking events or problems (webhook and stage alike). */
export function normalizeTracking(connector: CarrierConnector, body: Buffer, delivery: InboundDelivery): TrackingNormalizeResult {
  let parsed: unknown;
  try {
    const text = utf8.decode(body);
    if (text.includes('\u0000')) return { ok: false, problems: [{ path: '/', message: 'the payload contains a NUL character' }] };
    parsed = parseJsonLossless(text);
  } catch (error) {
    const message = error instanceof HubError ? error.message : error instanceof TypeError ? 'the body is not valid UTF-8' : String(error);
    return { ok: false, problems: [{ path: '/', message }] };
  }
  try {
    return connector.normalize(parsed, delivery);
  } catch (error) {
    return { ok: false, problems: [{ path: '/', message: `the ${connector.carrier} connector failed on this payload: ${(error as Error).message}` }] };
  }
}
