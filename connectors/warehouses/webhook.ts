import { HUB_SIGNATURE_TOLERANCE_SECONDS, signHubPayload, verifyHubSignature } from '../signatures.ts';
import type { InboundRequest } from '../types.ts';

/**
 * Warehouses that post their events (`POST /webhooks/warehouses/:code`) sign them exactly as
 * the shop's own channels do: `X-Hub-Signature: t=…,v1=…` over `"<t>.<raw body>"` with
 * WAREHOUSE_WEBHOOK_SECRET, within five minutes of the hub's clock.
 */
export const WAREHOUSE_SIGNATURE_TOLERANCE_SECONDS = HUB_SIGNATURE_TOLERANCE_SECONDS;

/** True when the request carries a valid `X-Hub-Signature` made with `secret`. Never throws. */
export const verifyWarehouseWebhook = (request: InboundRequest, secret: string, now: Date): boolean => verifyHubSignature(request, secret, now);

/** The `X-Hub-Signature` value for a warehouse's event body (for WMS authors and tests). */
export const signWarehouseWebhook = (body: string | Buffer, secret: string, timestamp: number): string => signHubPayload(body, secret, timestamp);
