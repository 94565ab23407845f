/**
 * The one error base class of the hub. `code` is stable and machine-readable, `status` is
 * the HTTP status it maps to, `retryable` tells the consume adapter whether trying the
 * same message again can succeed. `routes/problem.ts` turns it into problem+json.
 */
export class HubError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(
    code: string,
    message: string,
    options: { status?: number; retryable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'HubError';
    this.code = code;
    this.status = options.status ?? 500;
    this.retryable = options.retryable ?? false;
    this.details = options.details;
  }
}

/** 400: the input is wrong and sending it again will not help. */
export const badRequest = (code: string, message: string, details?: Record<string, unknown>) =>
  new HubError(code, message, { status: 400, details });

/** 404: the thing named does not exist. */
export const notFound = (code: string, message: string, details?: Record<string, unknown>) =>
  new HubError(code, message, { status: 404, details });

/** 409: the request conflicts with the current state. */
export const conflict = (code: string, message: string, details?: Record<string, unknown>) =>
  new HubError(code, message, { status: 409, details });

/** A problem found in an input, located by a JSON pointer-ish path. */
export interface InputProblem {
  path: string;
  message: string;
}
