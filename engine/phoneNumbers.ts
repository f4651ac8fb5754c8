/**
 * Phone numbers as URLs (issue 20, DESIGN "Companies, phones, domains"): an owner claims their number in Settings,
 * Knock sends a code to it by SMS, the owner types it, and `https://host/+15551234567` is their URL too: the same
 * page, the same conversations, the same console as `/alice`. A number is one account's at a time; taking it from
 * another account needs its code too (the storage moves it in one transaction).
 *
 * Numbers are read with libphonenumber-js in any spelling people use (`+1 (555) 123-4567`, `+1-555-123-4567`) and
 * kept in E.164. A number only has to be *possible* (the right length for its country), not *valid* (a range in
 * service): validity data changes faster than servers are updated, and the code sent to it proves it is real.
 *
 * @example
 *   const phones = new PhoneNumbers({ storage, clock, logger, sendCode: (to, code) => sms.sendText(to, phoneCodeText(code)), limits });
 *   await phones.claim(alice, '+1 (555) 123-4567');   // a code goes out by SMS
 *   await phones.verify(alice, '482913');             // /+15551234567 is Alice's
 *   phonePath('/+1-555-123-4567')                     // { e164: '+15551234567', canonical: false, rest: '' }
 */
import { randomInt } from 'node:crypto';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { secretHash } from './auth.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { Account, PhoneNumber, Storage } from './ports/storage.ts';
import type { PhoneAnswer } from './protocol.ts';
import type { KeyedRateLimiter } from './rateLimit.ts';
import { refusedCode } from './verificationCodes.ts';

/** A code is good this long, and this many typed codes are allowed per code sent (as channels' codes). */
export const PHONE_CODE_TTL_MS = 15 * 60_000;
export const PHONE_CODE_TRIES = 5;

/** A number in the two forms Knock uses: E.164 (stored, the URL) and as people write it (shown). */
export interface ParsedPhone {
  e164: string;
  display: string;
}

/**
 * A number typed or written in a URL, in any international spelling; null when it is no possible number. Only
 * international numbers (a `+` and the country code, or `00`): Knock has no country to assume for national ones.
 */
export function parsePhone(input: string): ParsedPhone | null {
  const text = input.trim().replace(/^00/, '+');
  if (!text.startsWith('+') || text.length > 40) return null;
  const parsed = parsePhoneNumberFromString(text);
  if (!parsed || !parsed.isPossible()) return null;
  return { e164: parsed.number, display: parsed.formatInternational() };
}

/** How a number is shown, from its E.164 form (as stored). */
export function showPhone(e164: string): ParsedPhone {
  return parsePhone(e164) ?? { e164, display: e164 };
}

/**
 * A page path that names a phone URL (`/+15551234567`, `/+1-555-123-4567`, `/+1%20(555)%20123%204567`, with a resume
 * link's `/c/<token>` after it): its number in E.164, whether the path spells it so, and what follows it. Null for
 * any other path; `e164` null for a `+…` that is no possible number.
 */
export function phonePath(pathname: string): { e164: string | null; canonical: boolean; rest: string } | null {
  const m = pathname.match(/^\/((?:%2[bB]|\+)[^/]*)((?:\/c\/[A-Za-z0-9_-]{16,128})?\/?)$/);
  if (!m) return null;
  let segment: string;
  try {
    segment = decodeURIComponent(m[1]!);
  } catch {
    return { e164: null, canonical: false, rest: '' };
  }
  const parsed = parsePhone(segment);
  return { e164: parsed?.e164 ?? null, canonical: parsed !== null && m[1] === parsed.e164, rest: m[2]! };
}

export interface PhoneNumbersDeps {
  storage: Storage;
  clock: Clock;
  logger: Logger;
  /** Sends the code by SMS; null when this server has no SMS account (then no number can be claimed). */
  sendCode: ((to: string, code: string) => Promise<void>) | null;
  /** Codes sent per account, and to one number from every account together (a victim's phone is not sprayed). */
  limits: { perAccount: KeyedRateLimiter; perNumber: KeyedRateLimiter };
}

export class PhoneNumbers {
  constructor(private readonly deps: PhoneNumbersDeps) {}

  /** The account whose URL this E.164 number is, if any. */
  async accountAt(e164: string): Promise<Account | null> {
    const claimed = await this.deps.storage.getPhoneNumber(e164);
    return claimed ? this.deps.storage.getAccountById(claimed.accountId) : null;
  }

  /** What Settings → Phone number shows. */
  async state(account: Account): Promise<PhoneAnswer> {
    const [number, claim] = await Promise.all([this.deps.storage.phoneNumberOf(account.id), this.deps.storage.getPhoneClaim(account.id)]);
    const live = claim !== null && claim.expiresAt > this.deps.clock.now() ? claim : null;
    return {
      number: number ? showPhone(number.number) : null,
      pending: live ? { ...showPhone(live.number), expiresAt: live.expiresAt } : null,
      available: this.deps.sendCode !== null,
    };
  }

  /** Sends a code to the number typed; the number is the account's once the code comes back (verify). */
  async claim(account: Account, typed: string): Promise<PhoneAnswer> {
    const sendCode = this.deps.sendCode;
    if (sendCode === null) throw new KnockError('bad_request', 'This server does not send SMS (its operator has not set it up), so numbers cannot be claimed.');
    const phone = parsePhone(typed);
    if (!phone) throw new KnockError('bad_request', 'number: Give your number in international form, starting with + and the country code (+1 555 123 4567).');
    if ((await this.deps.storage.phoneNumberOf(account.id))?.number === phone.e164) {
      throw new KnockError('bad_request', `${phone.display} is your number already.`);
    }
    // A phone that texted STOP gets nothing from Knock, not even a code (carriers require it): START lifts it.
    if ((await this.deps.storage.smsPhone(phone.e164))?.stoppedAt != null) {
      throw new KnockError('bad_request', `${phone.display} texted STOP to Knock, so no code can be sent to it: text START to Knock's number first.`);
    }
    // Every code is an SMS on someone's phone, and costs money: a stolen login, or many accounts, cannot spray them.
    this.deps.limits.perAccount.takeOrThrow(account.id, 'Codes to claim a number');
    this.deps.limits.perNumber.takeOrThrow(phone.e164, `Codes to ${phone.display}`);
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    const now = this.deps.clock.now();
    await this.deps.storage.setPhoneClaim({ accountId: account.id, number: phone.e164, codeHash: secretHash(code), expiresAt: now + PHONE_CODE_TTL_MS, at: now });
    try {
      await sendCode(phone.e164, code);
    } catch (err) {
      const permanent = typeof err === 'object' && err !== null && (err as { permanent?: unknown }).permanent === true;
      this.deps.logger.info({ err, accountId: account.id }, 'a code to claim a phone number could not be sent');
      throw new KnockError(permanent ? 'bad_request' : 'unavailable', `The code could not be sent: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.deps.logger.info({ accountId: account.id }, 'a code to claim a phone number was sent');
    return this.state(account);
  }

  async verify(account: Account, code: string): Promise<PhoneAnswer> {
    const check = await this.deps.storage.checkPhoneClaim(account.id, secretHash(code), this.deps.clock.now(), PHONE_CODE_TRIES);
    if (check.result !== 'verified') throw refusedCode(check.result, 'No code is waiting: type your number and send one.');
    this.deps.logger.info({ accountId: account.id }, 'a phone number was claimed');
    return this.state(account);
  }

  /** The account's number is nobody's URL any more. */
  async release(account: Account): Promise<PhoneAnswer> {
    if (!(await this.deps.storage.releasePhoneNumber(account.id))) throw new KnockError('not_found', 'You have no phone number here.');
    return this.state(account);
  }

  /** The CLI: the server's operator vouches for the number, no code is sent. */
  async assign(account: Account, typed: string): Promise<PhoneNumber> {
    const phone = parsePhone(typed);
    if (!phone) throw new KnockError('bad_request', `${typed} is no phone number in international form (+1 555 123 4567).`);
    return this.deps.storage.assignPhoneNumber(account.id, phone.e164, this.deps.clock.now());
  }
}

/** The SMS that carries a code to claim a number (the words of a channel's code, adapters/channels/sms/README.md). */
export function phoneCodeText(code: string): string {
  return `Your Knock verification code is ${code}`;
}
