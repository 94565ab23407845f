/**
 * Simulated warehouse systems on RabbitMQ, as a real WMS integration behaves: each consumes
 * its `<ns>.out.warehouse.<code>` queue, accepts and ships every fulfilment request (events on
 * `<ns>.in.warehouse-events`), receives returns, and keeps what it was asked for. It survives
 * the broker going away: it reconnects, and what it has to send waits in memory until the
 * broker confirms it (at least once; the events carry stable ids, the hub de-duplicates).
 */
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { names } from '../core/messaging/topology.ts';
import { wmsEvents, wmsReturnReceived } from './channels.ts';

export interface FulfilmentRequest {
  shipmentId: string;
  warehouse: string;
  externalOrderId: string;
  carrier: string | null;
  lines: { sku: string; quantity: number }[];
}

export interface WarehouseEvent { id: string; type: string; data: Record<string, unknown> }

export interface SimulatedWarehouses {
  /** every fulfilment request received, by shipment: the distinct message ids it came with, and how often */
  requests: Map<string, { request: FulfilmentRequest; eventIds: Set<string>; deliveries: number }>;
  /** shipments reported shipped, with their lines */
  shipped: Map<string, FulfilmentRequest>;
  /** sends an event to the hub (kept until the broker confirms it) */
  publish(event: WarehouseEvent): void;
  /** events not yet confirmed by the broker, plus shipments not yet reported */
  pending(): number;
  connected(): boolean;
  close(): Promise<void>;
}

export async function startWarehouses(options: {
  amqpUrl: string;
  namespace: string;
  warehouses: readonly string[];
  /** told of every fulfilment request delivered (`first`: not seen before for its shipment) */
  onRequest?: (request: FulfilmentRequest, first: boolean) => void;
  /** told when a shipment has left, with its carrier and tracking number (the carrier takes over) */
  onShipped?: (shipment: { carrier: string; trackingNumber: string; request: FulfilmentRequest }) => void;
  shipDelayMs?: () => number;
  log?: (line: string) => void;
}): Promise<SimulatedWarehouses> {
  const n = names(options.namespace);
  const requests: SimulatedWarehouses['requests'] = new Map();
  const shipped = new Map<string, FulfilmentRequest>();
  const unconfirmed = new Map<string, WarehouseEvent>();
  const lastSent = new Map<string, number>();
  const timers = new Set<NodeJS.Timeout>();
  let scheduled = 0;
  let connection: ChannelModel | undefined;
  let channel: ConfirmChannel | undefined;
  let closing = false;
  let firstConnect: ((ok: boolean) => void) | undefined;
  const firstConnected = new Promise<boolean>((resolve) => { firstConnect = resolve; });

  const later = (ms: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closing) fn();
    }, ms);
    timers.add(timer);
  };

  function send(event: WarehouseEvent): void {
    const ch = channel;
    if (!ch) return; // sent on reconnect
    lastSent.set(event.id, Date.now());
    try {
      ch.sendToQueue(n.warehouseEvents, Buffer.from(JSON.stringify(event)), { persistent: true, messageId: event.id }, (error) => {
        if (!error) {
          unconfirmed.delete(event.id);
          lastSent.delete(event.id);
        }
      });
    } catch {
      // the channel closed under us: the event stays unconfirmed and goes out on reconnect
    }
  }

  function publish(event: WarehouseEvent): void {
    unconfirmed.set(event.id, event);
    send(event);
  }

  function ship(request: FulfilmentRequest): void {
    scheduled++;
    later(options.shipDelayMs?.() ?? 200 + Math.random() * 500, () => {
      scheduled--;
      const events = wmsEvents(request);
      publish(events.accepted);
      publish(events.shipped);
      shipped.set(request.shipmentId, request);
      options.onShipped?.({ carrier: events.carrier, trackingNumber: events.trackingNumber, request });
    });
  }

  async function connect(): Promise<void> {
    while (!closing) {
      try {
        const conn = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: `${options.namespace}-simulated-warehouses` } });
        const ch = await conn.createConfirmChannel();
        await ch.prefetch(50);
        conn.on('error', () => undefined);
        conn.on('close', () => {
          channel = undefined;
          connection = undefined;
          if (!closing) later(500, () => void connect());
        });
        ch.on('error', () => undefined);
        for (const code of options.warehouses) {
          await ch.consume(n.warehouse(code), (message) => {
            if (!message) return;
            const event = JSON.parse(message.content.toString('utf8')) as { id: string; type: string; data: FulfilmentRequest & { rmaId: string } };
            if (event.type === 'fulfillment.requested') {
              const known = requests.get(event.data.shipmentId);
              if (known) {
                known.eventIds.add(event.id);
                known.deliveries++;
              } else {
                requests.set(event.data.shipmentId, { request: event.data, eventIds: new Set([event.id]), deliveries: 1 });
                ship(event.data);
              }
              options.onRequest?.(event.data, !known);
            } else if (event.type === 'return.expected') {
              later(300 + Math.random() * 500, () => publish(wmsReturnReceived(event.data)));
            }
            try {
              ch.ack(message);
            } catch {
              // the channel is gone: the broker redelivers, and the request is known already
            }
          });
        }
        connection = conn;
        channel = ch;
        for (const event of unconfirmed.values()) send(event);
        firstConnect?.(true);
        return;
      } catch (error) {
        options.log?.(`simulated warehouses: ${(error as Error).message}; reconnecting`);
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }
  // a publish the broker refused (nack) is not answered by a reconnect: send it again
  const resend = setInterval(() => {
    for (const event of unconfirmed.values()) if (Date.now() - (lastSent.get(event.id) ?? 0) > 5_000) send(event);
  }, 2_000);
  void connect();
  await firstConnected;

  return {
    requests,
    shipped,
    publish,
    pending: () => unconfirmed.size + scheduled,
    connected: () => channel !== undefined,
    async close() {
      closing = true;
      clearInterval(resend);
      for (const timer of timers) clearTimeout(timer);
      await connection?.close().catch(() => undefined);
    },
  };
}
