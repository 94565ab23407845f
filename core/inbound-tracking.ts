import type { CarrierConnector, TrackingNormalizeResult } from '../connectors/carriers/types.ts';
import type { InboundDelivery } from '../connectors/types.ts';
import { connectorFailure, decodePayload } from './payload.ts';

/** Raw bytes of a tracking webhook → tracking events or problems (webhook and stage alike). */
export function normalizeTracking(connector: CarrierConnector, body: Buffer, delivery: InboundDelivery): TrackingNormalizeResult {
  const decoded = decodePayload(body);
  if (!decoded.ok) return decoded;
  try {
    return connector.normalize(decoded.value, delivery);
  } catch (error) {
    return connectorFailure(connector.carrier, error);
  }
}
