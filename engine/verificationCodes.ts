/**
 * What a person reads when a typed verification code does not verify (a channel's, issue 18; a phone number's, issue
 * 20): the same words wherever a code is typed. `noCode` says what to do when no code is waiting there.
 *
 * @example
 *   if (check !== 'verified') throw refusedCode(check, 'No code was sent to this channel: send one.');
 */
import { KnockError } from './errors.ts';
import type { CodeCheck } from './ports/storage.ts';

export function refusedCode(check: Exclude<CodeCheck, 'verified'>, noCode: string): KnockError {
  switch (check) {
    case 'wrong':
      return new KnockError('bad_request', 'That is not the code we sent. Check it and try again.');
    case 'expired':
      return new KnockError('bad_request', 'That code has expired: send a new one.');
    case 'tooManyTries':
      return new KnockError('rate_limited', 'Too many wrong codes: send a new one.');
    case 'noCode':
      return new KnockError('bad_request', noCode);
  }
}
