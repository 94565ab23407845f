/**
 * The SLA watchdog's decisions, pure: whether an order has stayed longer in its status than
 * the SLA allows, the key of that stay (one `sla_breach` exception per stay), and when a
 * breach is over. Time comes in; nothing here reads a clock.
 */

/** An order's stay in a status: which status, since when. */
export interface Stay {
  status: string;
  since: Date;
}

/** Minutes an order may stay in each status (`sla.byStatus`); a status not named has no SLA. */
export type SlaLimits = Readonly<Record<string, number | undefined>>;

export interface SlaBreach {
  limitMinutes: number;
  /** when the stay went over its SLA */
  dueAt: Date;
  /** whole minutes past `dueAt` */
  overdueMinutes: number;
}

const MINUTE = 60_000;

/** The SLA of a status, in minutes, if it has one. */
export function slaMinutes(limits: SlaLimits, status: string): number | undefined {
  return Object.hasOwn(limits, status) ? limits[status] : undefined;
}

/** Has the stay lasted longer than its status's SLA at `now`? Exactly at the limit is still in time. */
export function slaBreach(stay: Stay, limits: SlaLimits, now: Date): SlaBreach | undefined {
  const limit = slaMinutes(limits, stay.status);
  if (limit === undefined) return undefined;
  const dueAt = stay.since.getTime() + limit * MINUTE;
  if (now.getTime() <= dueAt) return undefined;
  return { limitMinutes: limit, dueAt: new Date(dueAt), overdueMinutes: Math.floor((now.getTime() - dueAt) / MINUTE) };
}

/**
 * The message id of a stay's breach: order, status and the moment it entered that status.
 * Leaving the status and coming back is another stay, with another key.
 */
export function stayKey(orderId: string, stay: Stay): string {
  return `sla:${orderId}:${stay.status}:${stay.since.toISOString()}`;
}

/** A breach is over when the order is no longer in the stay it was opened for. */
export function breachIsOver(breached: Stay, current: Stay): boolean {
  return breached.status !== current.status || breached.since.getTime() !== current.since.getTime();
}

/** One line for the person who owns the exception. */
export function describeBreach(orderNumber: string, stay: Stay, breach: SlaBreach): string {
  const hours = (minutes: number) => minutes >= 120 ? `${Math.floor(minutes / 60)} h` : `${minutes} min`;
  return `order ${orderNumber} has been ${stay.status} for longer than its SLA of ${hours(breach.limitMinutes)} (over by ${hours(breach.overdueMinutes)})`;
}
