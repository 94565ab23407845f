/**
 * Escalation of an exception whose own deadline passed, pure: it is escalated once, and
 * handed to the SOP's `escalateTo` when the SOP names one (the previous owner is kept).
 */

export interface EscalationCandidate {
  owner: string;
  deadline: Date;
  escalatedAt: Date | null;
  status: string;
}

export interface Escalation {
  owner: string;
  /** who owned it before, when the owner changes */
  previousOwner: string | null;
}

/** Whether to escalate the exception at `now`, and to whom; undefined when not (yet, or any more). */
export function escalation(exception: EscalationCandidate, sop: { escalateTo?: string | undefined }, now: Date): Escalation | undefined {
  if (exception.status !== 'open' || exception.escalatedAt !== null) return undefined;
  if (exception.deadline.getTime() >= now.getTime()) return undefined;
  const to = sop.escalateTo;
  if (to === undefined || to === exception.owner) return { owner: exception.owner, previousOwner: null };
  return { owner: to, previousOwner: exception.owner };
}
