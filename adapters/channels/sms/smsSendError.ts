/**
 * Why an SMS was not sent, for the outbox: `permanent` stops its retries (the SMSC refused the number or the
 * message), anything else is tried again (the SMSC throttles, is full, has a system error, did not answer, or Knock
 * is not bound to it). SMPP 3.4 §5.1.3 lists the statuses.
 *
 * @example
 *   throw submitRefused(resp.command_status, '+15551234567');   // 0x58 → temporary, 0x0B → permanent
 */
import smpp from 'smpp';

export class SmsSendError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    /** The SMSC's command_status, when it answered. */
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'SmsSendError';
  }
}

/**
 * Statuses that say "not now" rather than "never": throttled (0x58), queue full (0x14), system error (0x08),
 * not bound as it thinks (0x04, Knock rebinds), submit failed (0x45) and temporary application error (0x64).
 */
const TEMPORARY_STATUSES = new Set([0x58, 0x14, 0x08, 0x04, 0x45, 0x64]);

/** The status's name in the SMPP specification (ESME_RTHROTTLED), or its number. */
export function statusName(status: number): string {
  const hex = `0x${status.toString(16).toUpperCase().padStart(2, '0')}`;
  const name = Object.entries(smpp.errors).find(([, value]) => value === status)?.[0];
  return name ? `${name} (${hex})` : hex;
}

/** The error for a submit_sm_resp with a non-zero status. */
export function submitRefused(status: number, to: string): SmsSendError {
  const temporary = TEMPORARY_STATUSES.has(status);
  const why = temporary ? 'will be tried again' : 'will not be tried again';
  return new SmsSendError(`The SMSC refused the SMS to ${to} with ${statusName(status)}; it ${why}.`, !temporary, status);
}
