/**
 * The one error type of Knock (CONVENTIONS 8). Every failure a person or a client can see is a KnockError with a
 * named code and a readable message; the browser shows `message` as it is.
 *
 * @example
 *   throw new KnockError('not_found', 'There is nobody at /bob.');
 */
export const errorCodes = [
  'bad_request', // malformed or invalid input
  'too_large', // a frame, a message or a body over its limit
  'unknown_type', // a socket message type the room does not handle
  'rate_limited', // too many requests; data.retryAfterMs says when to try again
  'unauthorized', // no valid session or token
  'forbidden', // valid identity, not allowed here
  'not_found',
  'method_not_allowed', // an HTTP method the route does not take
  'conflict', // e.g. a handle already taken
  'signup_closed',
  'call_full', // a call has as many members as it can take; data.capacity says how many
  'unavailable', // for a moment only (a room moving between processes): try again shortly
  'internal', // a bug or an outage on our side; logged with context
] as const;
export type ErrorCode = (typeof errorCodes)[number];

/** WebSocket close codes of Knock: defined with the protocol, which the browser shares; servers take them from here. */
export { CloseCode } from './protocol.ts';

const httpStatusOf: Record<ErrorCode, number> = {
  bad_request: 400,
  too_large: 413,
  unknown_type: 400,
  rate_limited: 429,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  signup_closed: 403,
  call_full: 409,
  unavailable: 503,
  internal: 500,
};

export class KnockError extends Error {
  readonly code: ErrorCode;
  readonly data: Record<string, unknown> | undefined;
  readonly closeCode: number | undefined;

  constructor(code: ErrorCode, message: string, data?: Record<string, unknown>, closeCode?: number) {
    super(message);
    this.name = 'KnockError';
    this.code = code;
    this.data = data;
    this.closeCode = closeCode;
  }

  get httpStatus(): number {
    return httpStatusOf[this.code];
  }

  /** What goes on the wire: never a stack, never internal details. */
  toJSON(): { code: ErrorCode; message: string; data?: Record<string, unknown> } {
    return this.data === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, data: this.data };
  }
}

/** Turns anything thrown into a KnockError; unknown errors become `internal` with a generic message. */
export function asKnockError(err: unknown): KnockError {
  if (err instanceof KnockError) return err;
  return new KnockError('internal', 'Something went wrong on the server. Please try again.');
}
