import type { OrderChange, OrderRecord } from '../order/record.ts';

/** A line the warehouses cannot cover: how many were ordered, how many there are. */
export interface Shortage { sku: string; wanted: number; available: number }

/**
 * Asking for a customer to be told something (order confirmed, rejected, a shortage with
 * its remedies): an event the notification service sends. Shared by the stages that tell.
 */

export function looksLikeEmail(email: string | null | undefined): boolean {
  return typeof email === 'string' && /^[^\s@]+@[^\s@.][^\s@]*\.[^\s@]+$/.test(email.trim());
}
export function looksLikePhone(phone: string | null | undefined): boolean {
  return typeof phone === 'string' && phone.replace(/\D/g, '').length >= 7;
}

/**
 * A request to tell the customer, to the order's email and phone (those that look usable);
 * none when there is neither, since nobody could deliver it.
 */
export function notification(record: OrderRecord, template: string, extra: { reason?: string; remedies?: string[]; [variable: string]: unknown }): OrderChange['emit'] {
  const { email, phone } = record.order.customer;
  const to = { email: email && looksLikeEmail(email) ? email.trim() : null, phone: phone && looksLikePhone(phone) ? phone.trim() : null };
  if (to.email === null && to.phone === null) return [];
  return [{
    type: 'customer.notification_requested',
    // the name too: the templates greet the customer ({{customerName}})
    data: { orderId: record.id, orderNumber: record.orderNumber, template, to, customerName: record.order.customer.name ?? null, locale: record.order.customer.locale ?? null, ...extra },
  }];
}


/** "not enough stock for Mug (3 ordered, 1 available)", with the lines' names. */
export function shortageReason(record: OrderRecord, shortages: readonly Shortage[]): string {
  const nameOf = (sku: string) => record.order.lines.find((l) => l.sku === sku)?.name || sku;
  return `not enough stock for ${shortages.map((s) => `${nameOf(s.sku)} (${s.wanted} ordered, ${s.available} available)`).join(', ')}`;
}
