/**
 * Email (issue 17) as both SQL adapters store it (006_mail.sql): the rows of the owner's address, mail clients'
 * device tokens and the mails of conversations, their records, and a conversation's reply-address token. `T` is how
 * a column of text people write arrives (see rows.ts).
 */
import { randomBytes } from 'node:crypto';
import type { AccountEmail, DeviceToken, StoredMail } from '../../engine/ports/storage.ts';
import { assertWellFormed, newId } from './common.ts';

export interface AccountEmailRow<T> {
  account_id: string;
  address: T;
  verified_at: number | null;
}

export interface DeviceTokenRow<T> {
  id: string;
  account_id: string;
  name: T;
  created_at: number;
  last_used_at: number | null;
}

export interface MailRow {
  account_id: string;
  message_id: string;
  conversation_id: string;
  seq: number;
  raw_blob_id: string | null;
  html_blob_id: string | null;
  at: number;
}

/** The columns of MailRow, in the order the INSERTs of both adapters list them. */
export const mailColumns = 'account_id, message_id, conversation_id, seq, raw_blob_id, html_blob_id, at';
export const deviceTokenColumns = 'id, account_id, name, created_at, last_used_at';

export function mailMappers<T>(decodeText: (stored: T) => string) {
  return {
    toAccountEmail: (r: AccountEmailRow<T>): AccountEmail => ({
      accountId: r.account_id, address: decodeText(r.address), verifiedAt: r.verified_at,
    }),
    toDeviceToken: (r: DeviceTokenRow<T>): DeviceToken => ({
      id: r.id, accountId: r.account_id, name: decodeText(r.name), createdAt: r.created_at, lastUsedAt: r.last_used_at,
    }),
  };
}

export function toMail(r: MailRow): StoredMail {
  return {
    messageId: r.message_id, accountId: r.account_id, conversationId: r.conversation_id, seq: r.seq,
    rawBlobId: r.raw_blob_id, htmlBlobId: r.html_blob_id, at: r.at,
  };
}

/** The values of `mail` for an INSERT listing `mailColumns`. */
export function mailValues(mail: StoredMail): unknown[] {
  return [mail.accountId, mail.messageId, mail.conversationId, mail.seq, mail.rawBlobId, mail.htmlBlobId, mail.at];
}

/** The record `createDeviceToken` stores and returns, with a new id; its name checked first. */
export function newDeviceToken(input: { accountId: string; name: string; at: number }): DeviceToken {
  assertWellFormed(input.name, 'The device name');
  return { id: newId(), accountId: input.accountId, name: input.name, createdAt: input.at, lastUsedAt: null };
}

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const MAIL_TOKEN_CHARS = 20;

/**
 * A conversation's reply-address token: 20 characters of lower-case base32 (100 random bits). Lower case only,
 * because mail systems may change the case of an address's local part on the way (RFC 5321 lets them treat it as
 * case-insensitive), and the token must still be found: lookups lower-case what comes back (mailTokenKey).
 */
export function newMailToken(): string {
  const bytes = randomBytes(MAIL_TOKEN_CHARS);
  let token = '';
  for (const byte of bytes) token += BASE32[byte & 31];
  return token;
}

/** The token as stored, from a reply address's token as it came back (any case). */
export function mailTokenKey(token: string): string {
  return token.toLowerCase();
}
