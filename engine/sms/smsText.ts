/**
 * What a text from a phone without internet says (issue 20), read without storage: a keyword (STOP, START, HELP), or
 * the owner it names in its first word and the message that follows. Pure, so the rules are unit-tested one by one.
 *
 *   `alice hello`, `@alice hello`, `/alice hello`  -> handle `alice`, message `hello`
 *   `+15551234567 hello`, `+1 (555) 123-4567 ...`   -> no: the first word only; `+15551234567` is a phone URL
 *   `STOP`, `stop`, ` Stop `                        -> keyword stop (the whole message, in any case)
 *
 * A bare first word (`alice hello`) names an owner only for a phone that talks to nobody yet: once it has an owner,
 * only an explicit `@alice`, `/alice` or `+1555...` switches, so `hello there` or `ok thanks` never moves a running
 * conversation to whoever registered the handle `hello` or `ok`.
 *
 * @example
 *   readSmsText('@bob hi')          // { kind: 'message', target: { kind: 'handle', handle: 'bob', explicit: true }, rest: 'hi' }
 *   readSmsText('unsubscribe')      // { kind: 'keyword', keyword: 'stop' }
 *   maskedName('+447700900123')     // 'SMS ••••0123'
 *   shownNumber('+447700900123')    // '+44 7700 900123'
 */
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { HANDLE_PATTERN, RESERVED_HANDLES } from '../protocol.ts';

export type SmsKeyword = 'stop' | 'start' | 'help';

/** Who a first word names: a handle (explicit with `@` or `/`), or a phone URL by its E.164 number. */
export type SmsTarget = { kind: 'handle'; handle: string; explicit: boolean } | { kind: 'phone'; number: string };

export type SmsReading =
  | { kind: 'keyword'; keyword: SmsKeyword }
  /** `target` null: the first word names nobody; `rest` is then the whole text. */
  | { kind: 'message'; target: SmsTarget | null; rest: string; text: string };

/** The words carriers and the CTIA handbook treat as opt-out, opt-in and help, as a whole message. */
const KEYWORDS: Record<string, SmsKeyword> = {
  STOP: 'stop', STOPALL: 'stop', UNSUBSCRIBE: 'stop', CANCEL: 'stop', END: 'stop', QUIT: 'stop',
  START: 'start', UNSTOP: 'start',
  HELP: 'help', INFO: 'help',
};

export function readSmsText(text: string): SmsReading {
  const trimmed = text.trim();
  // "Stop." and "STOP!" are what people type too.
  const keyword = KEYWORDS[trimmed.replace(/[.!]+$/, '').toUpperCase()];
  if (keyword) return { kind: 'keyword', keyword };
  const match = /^(\S+)\s*([\s\S]*)$/.exec(trimmed);
  const first = match?.[1] ?? '';
  const rest = (match?.[2] ?? '').trim();
  const target = targetOf(first);
  return target === null ? { kind: 'message', target: null, rest: trimmed, text: trimmed } : { kind: 'message', target, rest, text: trimmed };
}

/** The owner a first word names, or null. A trailing `:` or `,` is allowed (`alice: hi`, `@bob, hi`). */
export function targetOf(word: string): SmsTarget | null {
  const bare = word.replace(/[:,]$/, '');
  if (bare.startsWith('+')) {
    const number = e164(bare);
    return number === null ? null : { kind: 'phone', number };
  }
  const explicit = bare.startsWith('@') || bare.startsWith('/');
  const handle = (explicit ? bare.slice(1) : bare).toLowerCase();
  if (!HANDLE_PATTERN.test(handle) || RESERVED_HANDLES.has(handle)) return null;
  return { kind: 'handle', handle, explicit };
}

/** A number in international form as E.164, checked by libphonenumber-js; null when it is none. */
export function e164(text: string): string | null {
  const parsed = parsePhoneNumberFromString(text);
  return parsed?.isPossible() ? parsed.number : null;
}

/** How a phone is named to everyone but the owner (a participant's name, forwards, push): the last four digits. */
export function maskedName(phone: string): string {
  return `SMS \u2022\u2022\u2022\u2022${phone.slice(-4)}`;
}

/** The number as the owner reads it, in international format (`+44 7700 900123`); the E.164 form if it cannot be. */
export function shownNumber(phone: string): string {
  return parsePhoneNumberFromString(phone)?.formatInternational() ?? phone;
}
