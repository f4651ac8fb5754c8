/**
 * Email (engine/ports/storage.ts MailStorage) in PostgreSQL, on the adapter's pool (006_mail.sql): the owner's
 * address and its verification, mail clients' device tokens, the mails of conversations by Message-ID, and what a
 * conversation holds for email (its reply-address token, subject, the visitor's "no more mail", the notification mark).
 * One statement per call, so each is its own transaction. Addresses and names are BYTEA (text people write, 001_init.sql).
 */
import { KnockError } from '../../../engine/errors.ts';
import type { AccountEmail, Conversation, DeviceToken, MailStorage, StoredMail } from '../../../engine/ports/storage.ts';
import { assertWellFormed, rowLimit } from '../common.ts';
import {
  deviceTokenColumns, mailColumns, mailMappers, mailTokenKey, mailValues, newDeviceToken, newMailToken, toMail,
  type AccountEmailRow, type DeviceTokenRow, type MailRow,
} from '../mailRows.ts';
import type { ConversationRow } from '../rows.ts';
import { conversationSelect } from '../selects.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';
import { decodeText, encodeText, toConversation } from './queries.ts';

const { toAccountEmail, toDeviceToken } = mailMappers(decodeText);

export const mailSql = {
  accountEmail: 'SELECT account_id, address, verified_at FROM account_emails WHERE account_id = $1',
  // A new address (or the same one again) starts unverified: the link mailed with this token verifies it.
  setAccountEmail: `INSERT INTO account_emails (account_id, address, verify_token_hash, verified_at, set_at) VALUES ($1, $2, $3, NULL, $4)
    ON CONFLICT (account_id) DO UPDATE SET address = EXCLUDED.address, verify_token_hash = EXCLUDED.verify_token_hash,
      verified_at = NULL, set_at = EXCLUDED.set_at`,
  removeAccountEmail: 'DELETE FROM account_emails WHERE account_id = $1',
  // The token works once: it is cleared as the address is verified.
  verifyAccountEmail: `UPDATE account_emails SET verified_at = $2, verify_token_hash = NULL WHERE verify_token_hash = $1
    RETURNING account_id, address, verified_at`,
  insertDevice: 'INSERT INTO device_tokens (id, account_id, name, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)',
  useDevice: `UPDATE device_tokens SET last_used_at = $2 WHERE token_hash = $1 RETURNING ${deviceTokenColumns}`,
  devicesOf: `SELECT ${deviceTokenColumns} FROM device_tokens WHERE account_id = $1 ORDER BY created_at, id`,
  revokeDevice: 'DELETE FROM device_tokens WHERE account_id = $1 AND id = $2',
  insertMail: `INSERT INTO mails (${mailColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (account_id, message_id) DO NOTHING`,
  // $2 in the order of the mail's headers: the first one known wins. The ids found are looked up in the
  // (account_id, message_id) key, then ordered as in $2.
  findMail: `SELECT ${mailColumns} FROM mails WHERE account_id = $1 AND message_id = ANY($2::text[])
    ORDER BY array_position($2::text[], message_id) LIMIT 1`,
  mailOf: `SELECT ${mailColumns} FROM mails WHERE conversation_id = $1 AND seq = $2 ORDER BY at, message_id LIMIT 1`,
  // The newest `limit` (read backwards from mails_by_conversation), returned oldest first.
  thread: `SELECT message_id FROM (
      SELECT message_id, seq, at FROM mails WHERE conversation_id = $1 ORDER BY seq DESC, at DESC, message_id DESC LIMIT $2
    ) newest ORDER BY seq, at, message_id`,
  mailToken: 'SELECT mail_token FROM conversations WHERE id = $1',
  giveMailToken: 'UPDATE conversations SET mail_token = $2 WHERE id = $1 AND mail_token IS NULL RETURNING mail_token',
  conversationByMailToken: conversationSelect('c.mail_token = $1'),
  setVisitorEmailOff: 'UPDATE conversations SET visitor_email_off = $2 WHERE id = $1',
  setSubject: 'UPDATE conversations SET subject = $2 WHERE id = $1',
  notifyMark: 'SELECT notify_seq AS seq, notify_at AS at FROM conversations WHERE id = $1',
  moveNotifyMark: 'UPDATE conversations SET notify_seq = $4, notify_at = $5 WHERE id = $1 AND notify_seq = $2 AND notify_at = $3',
} as const;

export class PostgresMail implements MailStorage {
  constructor(private readonly run: RunStatement) {}

  // -- the owner's address ----------------------------------------------------------------------------------------

  async getAccountEmail(accountId: string): Promise<AccountEmail | null> {
    const row = (await this.run<AccountEmailRow<Buffer>>(mailSql.accountEmail, [accountId])).rows[0];
    return row ? toAccountEmail(row) : null;
  }

  async setAccountEmail(accountId: string, input: { address: string; verifyTokenHash: string; at: number } | null): Promise<void> {
    if (input === null) {
      await this.run(mailSql.removeAccountEmail, [accountId]);
      return;
    }
    assertWellFormed(input.address, 'The email address');
    await this.run(mailSql.setAccountEmail, [accountId, encodeText(input.address), input.verifyTokenHash, input.at], (err) => {
      if (isViolation(err, SqlState.foreignKeyViolation)) return new KnockError('not_found', 'There is no such account.');
      if (isViolation(err, SqlState.uniqueViolation)) return new KnockError('conflict', 'This verification token is already in use.');
      return undefined;
    });
  }

  async verifyAccountEmail(verifyTokenHash: string, at: number): Promise<AccountEmail | null> {
    const row = (await this.run<AccountEmailRow<Buffer>>(mailSql.verifyAccountEmail, [verifyTokenHash, at])).rows[0];
    return row ? toAccountEmail(row) : null;
  }

  // -- device tokens ----------------------------------------------------------------------------------------------

  async createDeviceToken(input: { accountId: string; name: string; tokenHash: string; at: number }): Promise<DeviceToken> {
    const device = newDeviceToken(input);
    await this.run(mailSql.insertDevice, [device.id, device.accountId, encodeText(device.name), input.tokenHash, device.createdAt], (err) => {
      if (isViolation(err, SqlState.foreignKeyViolation)) return new KnockError('not_found', 'There is no such account.');
      if (isViolation(err, SqlState.uniqueViolation)) return new KnockError('conflict', 'This device token is already in use.');
      return undefined;
    });
    return device;
  }

  async useDeviceToken(tokenHash: string, at: number): Promise<DeviceToken | null> {
    const row = (await this.run<DeviceTokenRow<Buffer>>(mailSql.useDevice, [tokenHash, at])).rows[0];
    return row ? toDeviceToken(row) : null;
  }

  async listDeviceTokens(accountId: string): Promise<DeviceToken[]> {
    return (await this.run<DeviceTokenRow<Buffer>>(mailSql.devicesOf, [accountId])).rows.map(toDeviceToken);
  }

  async revokeDeviceToken(accountId: string, id: string): Promise<boolean> {
    return ((await this.run(mailSql.revokeDevice, [accountId, id])).rowCount ?? 0) > 0;
  }

  // -- mails ------------------------------------------------------------------------------------------------------

  async recordMail(mail: StoredMail): Promise<boolean> {
    assertWellFormed(mail.messageId, 'The Message-ID');
    const inserted = await this.run(mailSql.insertMail, mailValues(mail), (err) =>
      isViolation(err, SqlState.foreignKeyViolation) ? new KnockError('not_found', 'There is no such conversation or account.') : undefined,
    );
    return (inserted.rowCount ?? 0) > 0;
  }

  async findMail(accountId: string, messageIds: readonly string[]): Promise<StoredMail | null> {
    if (messageIds.length === 0) return null;
    const row = (await this.run<MailRow>(mailSql.findMail, [accountId, messageIds])).rows[0];
    return row ? toMail(row) : null;
  }

  async getMail(conversationId: string, seq: number): Promise<StoredMail | null> {
    const row = (await this.run<MailRow>(mailSql.mailOf, [conversationId, seq])).rows[0];
    return row ? toMail(row) : null;
  }

  async mailThread(conversationId: string, limit: number): Promise<string[]> {
    return (await this.run<{ message_id: string }>(mailSql.thread, [conversationId, rowLimit(limit)])).rows.map((r) => r.message_id);
  }

  // -- what a conversation holds for email ------------------------------------------------------------------------

  /**
   * Read first, so a token already given costs no write (and no lock on the conversation's row, which appends take).
   * The first time, the UPDATE gives one only where there is none yet; when it gives none, another call gave it
   * meanwhile, and a new read (a new snapshot) finds that one.
   */
  async conversationMailToken(conversationId: string): Promise<string> {
    const read = async (): Promise<string | null> => {
      const row = (await this.run<{ mail_token: string | null }>(mailSql.mailToken, [conversationId])).rows[0];
      if (!row) throw new KnockError('not_found', 'There is no such conversation.');
      return row.mail_token;
    };
    const known = await read();
    if (known !== null) return known;
    const given = (await this.run<{ mail_token: string }>(mailSql.giveMailToken, [conversationId, newMailToken()])).rows[0];
    const token = given?.mail_token ?? (await read());
    if (token === null) throw new KnockError('internal', 'The conversation has no mail token after one was given.');
    return token;
  }

  async getConversationByMailToken(token: string): Promise<Conversation | null> {
    const row = (await this.run<ConversationRow<Buffer>>(mailSql.conversationByMailToken, [mailTokenKey(token)])).rows[0];
    return row ? toConversation(row) : null;
  }

  async setVisitorEmailOff(conversationId: string, off: boolean): Promise<boolean> {
    return ((await this.run(mailSql.setVisitorEmailOff, [conversationId, off])).rowCount ?? 0) > 0;
  }

  async setSubject(conversationId: string, subject: string): Promise<boolean> {
    assertWellFormed(subject, 'The subject');
    return ((await this.run(mailSql.setSubject, [conversationId, encodeText(subject)])).rowCount ?? 0) > 0;
  }

  async getNotifyMark(conversationId: string): Promise<{ seq: number; at: number }> {
    const mark = (await this.run<{ seq: number; at: number }>(mailSql.notifyMark, [conversationId])).rows[0];
    if (!mark) throw new KnockError('not_found', 'There is no such conversation.');
    return { seq: mark.seq, at: mark.at };
  }

  /** The row lock of the UPDATE makes a second mover wait, then re-check `from` on the new mark, and change nothing. */
  async moveNotifyMark(conversationId: string, from: { seq: number; at: number }, to: { seq: number; at: number }): Promise<boolean> {
    const moved = await this.run(mailSql.moveNotifyMark, [conversationId, from.seq, from.at, to.seq, to.at]);
    return (moved.rowCount ?? 0) > 0;
  }
}
