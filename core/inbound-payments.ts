import type { PaymentConnector, PaymentNormalizeResult } from '../connectors/payments/types.ts';
import type { InboundDelivery } from '../connectors/types.ts';
import { HubError } from './errors.ts';
import { parseJsonLossless } from './json.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Raw bytes of a payment notification → ledger entries or problems, for the webhook (to
 * answer 4xx) and the reconcile stage (on the stored bytes) alike. JSON is parsed
 * losslessly; a form (Alipay) becomes its fields.
 */
export function normalizePayment(connector: PaymentConnector, body: Buffer, delivery: InboundDelivery): PaymentNormalizeResult {
  let parsed: unknown;
  try {
    const text = utf8.decode(body);
    if (text.includes('\u0000')) return { ok: false, problems: [{ path: '/', message: 'the payload contains a NUL character' }] };
    parsed = connector.bodyFormat === 'form' ? Object.fromEntries(new URLSearchParams(text)) : parseJsonLossless(text);
  } catch (error) {
    const message = error instanceof HubError ? error.message : error instanceof TypeError ? 'the body is not valid UTF-8' : String(error);
    return { ok: false, problems: [{ path: '/', message }] };
  }
  try {
    return connector.normalize(parsed, delivery);
  } catch (error) {
    return { ok: false, problems: [{ path: '/', message: `the ${connector.provider} connector failed on this payload: ${(error as Error).message}` }] };
  }
}
