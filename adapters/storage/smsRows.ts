/**
 * SMS conversations (engine/ports/storage.ts SmsStorage, 012_sms.sql) as both SQL adapters store them: the row shapes,
 * their mapping, and the checks made before any statement runs (the engine parses numbers with libphonenumber-js; the
 * adapter still refuses anything that is not E.164, so no other spelling can be stored).
 */
import { KnockError } from '../../engine/errors.ts';
import type { SmsPhone, SmsThread, SmsVia } from '../../engine/ports/storage.ts';

export const smsThreadColumns = 'phone, account_id, conversation_id, via, shown, created_at';
export const smsPhoneColumns = 'phone, current_account_id, stopped_at, told_at';

export interface SmsThreadRow {
  phone: string;
  account_id: string;
  conversation_id: string;
  via: string;
  shown: string;
  created_at: number;
}

export interface SmsPhoneRow {
  phone: string;
  current_account_id: string | null;
  stopped_at: number | null;
  told_at: number | null;
}

/** The CHECK constraint guarantees this; the check keeps the type honest without a cast. */
function asVia(value: string): SmsVia {
  if (value === 'service' || value === 'number') return value;
  throw new Error(`Unknown SMS route in the database: ${value}`);
}

export const toSmsThread = (r: SmsThreadRow): SmsThread => ({
  phone: r.phone,
  accountId: r.account_id,
  conversationId: r.conversation_id,
  via: asVia(r.via),
  shown: r.shown,
  createdAt: r.created_at,
});

export const toSmsPhone = (r: SmsPhoneRow): SmsPhone => ({
  phone: r.phone,
  currentAccountId: r.current_account_id,
  stoppedAt: r.stopped_at,
  toldAt: r.told_at,
});

const E164 = /^\+[1-9][0-9]{5,14}$/;

/** Refuses a thread whose phone is not E.164 or whose shown number is not a short line of text. */
export function checkSmsThread(thread: SmsThread): void {
  checkPhone(thread.phone);
  if (thread.via !== 'service' && thread.via !== 'number') throw new KnockError('bad_request', 'An SMS thread comes via "service" or "number".');
  if (thread.shown.length === 0 || thread.shown.length > 32 || /[\u0000-\u001f]/.test(thread.shown)) {
    throw new KnockError('bad_request', 'The shown number must be 1 to 32 characters on one line.');
  }
}

export function checkPhone(phone: string): void {
  if (!E164.test(phone)) throw new KnockError('bad_request', 'A phone number is stored in E.164 form: + and 6 to 15 digits.');
}

export const noSmsOwner = (): KnockError => new KnockError('not_found', 'There is no such account or conversation.');
