import type { WarehousePushClient } from '../../connectors/warehouses/http-push.ts';
import type { CallingStage } from '../messaging/consume.ts';
import { ack, park, retry } from '../messaging/decision.ts';

/**
 * Consumes an HTTP warehouse's queue and pushes each request to its WMS. The client keeps
 * the CloudEvent id (a replay's origin) as idempotency key, retries within the call and
 * breaks the circuit when the WMS is down; what it cannot deliver now comes back later through the wait queues
 * (never lost), what the WMS refuses for good is parked with an exception. The push holds
 * no database connection: a WMS that answers late slows its own queue, not the hub.
 */
export function warehousePushStage(client: WarehousePushClient): CallingStage {
  return {
    async calls({ event, origin }) {
      // A replayed request keeps the id the WMS may have taken already: the same key, no second shipment.
      const result = await client.push({ ...event, id: origin });
      if (result.ok) return ack(result.duplicate ? 'the WMS had it already' : undefined);
      if (result.retryable) return retry(result.message, result.retryAfterMs);
      return park(result.message);
    },
  };
}
