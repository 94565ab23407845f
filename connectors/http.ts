/** Small helpers shared by the hub's HTTP clients (refunds, warehouse push, the Amazon poller). */

/** `Retry-After` as seconds or an HTTP date, in milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: Date): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.ceil(Number(text) * 1000);
  const at = Date.parse(text);
  return Number.isNaN(at) ? null : Math.max(0, at - now.getTime());
}

/** The JSON value of a response body, or null when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** A fetch failure in a few words: "timed out", or the error with its cause's code. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = error.cause instanceof Error ? `: ${(error.cause as Error & { code?: string }).code ?? error.cause.message}` : '';
  return `${error.message}${cause}`;
}

/** How one of the hub's HTTP clients talks to its server: transport, timeout and the bounded retry loop. */
export interface HttpClientOptions {
  /** the API root */
  baseUrl: string;
  fetch?: typeof fetch;
  /** per attempt, answer body included (default: the client's, 10–15 s) */
  timeoutMs?: number;
  /** retries of one request after a 408, 429, 5xx, timeout or lost connection (default 3) */
  retries?: number;
  /** the first backoff, doubled at each retry (default 500 ms) */
  backoffMs?: number;
  /** the longest single wait, backoff or `Retry-After`; a longer `Retry-After` ends the call, retryable (default 30 s) */
  maxWaitMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** the clock for a `Retry-After` given as an HTTP date (and a circuit breaker's) */
  now?: () => Date;
}

/** What one answer means: a final result, or a transient failure worth the same request again. */
export type AttemptOutcome<R> =
  | { kind: 'final'; result: R }
  | { kind: 'transient'; message: string; retryAfterMs?: number };

export interface RetryPolicy {
  /** retries after the first attempt */
  retries: number;
  /** the first backoff, doubled at each retry */
  backoffMs: number;
  /** the longest single wait; a longer `Retry-After` ends the call */
  maxWaitMs: number;
  sleep: (ms: number) => Promise<void>;
}

/** Why a call stopped without a final answer: retries ran out, or the server asked for a wait longer than `maxWaitMs`. */
export type GiveUp = { attempts: number; waitTooLong?: undefined } | { attempts: number; waitTooLong: number };

/**
 * Sends until an answer is final or the retries run out, always the same request (same key,
 * same bytes), with a doubling backoff that honours `Retry-After`. No answer, or half of one,
 * is transient: only the same request again can tell what happened. `giveUp` turns the last
 * transient failure into the caller's result; a `Retry-After` beyond `maxWaitMs` gives up at
 * once, because waiting that long would hold the consumer and the caller's delayed retry does
 * it better.
 */
export async function sendWithRetries<R>(
  policy: RetryPolicy,
  label: string,
  send: () => Promise<Response>,
  interpret: (response: Response, text: string) => AttemptOutcome<R>,
  giveUp: (last: { message: string; retryAfterMs?: number }, why: GiveUp) => R,
): Promise<R> {
  for (let attempt = 0; ; attempt++) {
    let outcome: AttemptOutcome<R>;
    try {
      const response = await send();
      outcome = interpret(response, await response.text());
    } catch (error) {
      outcome = { kind: 'transient', message: `${label} did not answer: ${describeError(error)}` };
    }
    if (outcome.kind === 'final') return outcome.result;
    if (attempt >= policy.retries) return giveUp(outcome, { attempts: attempt + 1 });
    if (outcome.retryAfterMs !== undefined && outcome.retryAfterMs > policy.maxWaitMs) {
      return giveUp(outcome, { attempts: attempt + 1, waitTooLong: outcome.retryAfterMs });
    }
    await policy.sleep(Math.max(Math.min(policy.backoffMs * 2 ** attempt, policy.maxWaitMs), outcome.retryAfterMs ?? 0));
  }
}
