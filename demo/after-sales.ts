/**
 * The demo's after-sales: customers of the shop's own website and app, told their order was
 * delivered, confirm receipt and rate it, or now and then send something back; an operator
 * attaches the return label the carrier could not make (the demo has no label API). What the
 * warehouses do with returned goods is in `run.ts`, beside their fulfilment work.
 */
import amqp from 'amqplib';
import { names } from '../core/messaging/topology.ts';
import { customerCall, type Delivery } from './channels.ts';

export interface AfterSalesOptions {
  amqpUrl: string;
  namespace: string;
  /** the hub's HTTP base URL */
  base: string;
  adminToken: string;
  secrets: { website: string; app: string };
  /** share of delivered orders whose customer sends a line back */
  returnShare?: number;
}

export interface AfterSalesCounts {
  delivered: number;
  confirmed: number;
  rated: number;
  ratingSum: number;
  returnsRequested: number;
  labelsAttached: number;
  callsRefused: number;
}

interface OrderDetail { channel: string; externalId: string; order: { lines: { sku: string; quantity: number }[] } }

export async function startAfterSales(options: AfterSalesOptions) {
  const counts: AfterSalesCounts = { delivered: 0, confirmed: 0, rated: 0, ratingSum: 0, returnsRequested: 0, labelsAttached: 0, callsRefused: 0 };
  const inFlight = new Set<Promise<void>>();
  let stopping = false;
  let heard = 0;
  const auth = { authorization: `Bearer ${options.adminToken}`, 'content-type': 'application/json' };

  // Like the shop's site would: a 5xx or a dropped connection is tried again; a 4xx is an answer.
  async function post(delivery: Delivery): Promise<Response | undefined> {
    for (let attempt = 0; attempt < 6; attempt++) {
      try {
        const response = await fetch(`${options.base}${delivery.path}`, { method: 'POST', body: delivery.body, headers: delivery.headers });
        if (response.status < 500) return response;
      } catch {
        // retried below
      }
      await new Promise((r) => setTimeout(r, 200 * 2 ** attempt));
    }
    return undefined;
  }
  const call = async (channel: 'website' | 'app', body: { type: string; externalId: string } & Record<string, unknown>) => {
    const response = await post(customerCall(channel, body, options.secrets[channel]));
    if (!response?.ok) counts.callsRefused++;
    return response?.ok === true;
  };

  async function afterDelivery(orderId: string): Promise<void> {
    const response = await fetch(`${options.base}/api/orders/${orderId}`, { headers: auth });
    if (!response.ok) return;
    const order = (await response.json()) as OrderDetail;
    if (order.channel !== 'website' && order.channel !== 'app') return; // marketplaces keep their buyers
    counts.delivered++;
    const roll = Math.random();
    if (roll < (options.returnShare ?? 0.15)) {
      const line = order.order.lines[0]!;
      if (await call(order.channel, { type: 'return.requested', externalId: order.externalId, kind: 'refund', reason: 'does not fit', lines: [{ sku: line.sku, quantity: 1 }] })) counts.returnsRequested++;
    } else if (roll < 0.85) {
      if (await call(order.channel, { type: 'receipt.confirmed', externalId: order.externalId })) counts.confirmed++;
      const rating = Math.random() < 0.7 ? 5 : Math.random() < 0.7 ? 4 : 3;
      if (await call(order.channel, { type: 'feedback.given', externalId: order.externalId, rating, comment: rating === 5 ? 'Great, thanks!' : null })) {
        counts.rated++;
        counts.ratingSum += rating;
      }
    }
    // the rest say nothing: the auto-complete job completes their orders later
  }

  // The operator's part: working the exception desk, a label bought by hand for each return
  // the carrier could not label.
  const labelled = new Set<string>();
  async function workExceptionDesk(): Promise<void> {
    const response = await fetch(`${options.base}/api/exceptions?type=return_label_needed&status=open`, { headers: auth });
    if (!response.ok) return;
    const { items } = (await response.json()) as { items: { details: { rmaId?: string } }[] };
    for (const rmaId of items.map((e) => e.details.rmaId).filter((id): id is string => typeof id === 'string' && !labelled.has(id))) {
      labelled.add(rmaId);
      await attachLabel(rmaId);
    }
  }
  async function attachLabel(rmaId: string): Promise<void> {
    const trackingCode = `1ZRET${rmaId.replace(/[^A-Z0-9]/gi, '').toUpperCase()}`;
    const response = await fetch(`${options.base}/api/returns/${encodeURIComponent(rmaId)}/label`, {
      method: 'POST', headers: auth, body: JSON.stringify({ carrier: 'ups', trackingCode, labelUrl: `https://labels.example.com/${trackingCode}.pdf` }),
    });
    if (response.ok) counts.labelsAttached++;
  }

  const connection = await amqp.connect(options.amqpUrl, { clientProperties: { connection_name: `${options.namespace}-demo-customers` } });
  const channel = await connection.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, names(options.namespace).events, 'order.delivered');
  await channel.consume(queue, (message) => {
    if (!message) return;
    channel.ack(message);
    if (stopping) return;
    heard++;
    const { data } = JSON.parse(message.content.toString('utf8')) as { data: { orderId?: string } };
    if (data.orderId) track(new Promise((r) => setTimeout(r, 200 + Math.random() * 500)).then(() => afterDelivery(data.orderId!)));
  });
  const desk = setInterval(() => {
    if (!stopping && inFlight.size < 50) track(workExceptionDesk());
  }, 1000);
  function track(work: Promise<void>): void {
    const tracked = work.catch(() => {});
    inFlight.add(tracked);
    void tracked.finally(() => inFlight.delete(tracked));
  }

  return {
    counts,
    /** how many deliveries the customers have heard of */
    heard: () => heard,
    /** customers' calls not yet answered */
    busy: () => inFlight.size > 0,
    async close() {
      stopping = true;
      clearInterval(desk);
      await Promise.allSettled([...inFlight]);
      await connection.close().catch(() => {});
    },
  };
}
