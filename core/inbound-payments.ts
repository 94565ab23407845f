import type { PaymentConnector, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundDelivery } from '../connectors/types.ts';
import { connectorFailure, decodePayload } from './payload.ts';

/**
 * Raw bytes of a payment notification → ledger entries or problems, for the webhook (to
 * answer 4xx) and the reconcile stage (on the stored bytes) alike. JSON is parsed
 * losslessly; a form (Alipay) becomes its fields.
 */
export function normalizePayment(connector: PaymentConnector, body: Buffer, delivery: InboundDelivery): PaymentNormalizeResult {
  const decoded = decodePayload(body, connector.bodyFormat);
  if (!decoded.ok) return decoded;
  try {
    return connector.normalize(decoded.value, delivery);
  } catch (error) {
    return connectorFailure(connector.provider, error);
  }
}
