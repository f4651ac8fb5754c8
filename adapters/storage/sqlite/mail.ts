/**
 * Email (engine/ports/storage.ts MailStorage) in SQLite, on SqliteStorage's connection (006_mail.sql): the owner's
 * address and its verification, mail clients' device tokens, the mails of conversations by Message-ID, and what a
 * conversation holds for email (its reply-address token, subject, the visitor's "no more mail", the notification mark).
 */
import type Database from 'better-sqlite3';
import { KnockError } from '../../../engine/errors.ts';
import type { AccountEmail, Conversation, DeviceToken, MailStorage, StoredMail } from '../../../engine/ports/storage.ts';
import { assertWellFormed, rowLimit } from '../common.ts';
import {
  deviceTokenColumns, mailColumns, mailMappers, mailTokenKey, mailValues, newDeviceToken, newMailToken, toMail,
  type AccountEmailRow, type DeviceTokenRow, type MailRow,
} from '../mailRows.ts';
import type { ConversationRow } from '../rows.ts';
import { conversationSelect } from '../selects.ts';
import { isConstraint } from './constraints.ts';
import { toConversation } from './queries.ts';

const { toAccountEmail, toDeviceToken } = mailMappers((text: string) => text);

/** Email's statements (exported so tests can EXPLAIN the text the adapter runs). */
export const mailSql = {
  accountEmail: 'SELECT account_id, address, verified_at FROM account_emails WHERE account_id = ?',
  // A new address (or the same one again) starts unverified: the link mailed with this token verifies it.
  setAccountEmail: `INSERT INTO account_emails (account_id, address, verify_token_hash, verified_at, set_at) VALUES (?, ?, ?, NULL, ?)
    ON CONFLICT (account_id) DO UPDATE SET address = excluded.address, verify_token_hash = excluded.verify_token_hash,
      verified_at = NULL, set_at = excluded.set_at`,
  removeAccountEmail: 'DELETE FROM account_emails WHERE account_id = ?',
  // The token works once: it is cleared as the address is verified.
  verifyAccountEmail: `UPDATE account_emails SET verified_at = ?, verify_token_hash = NULL WHERE verify_token_hash = ?
    RETURNING account_id, address, verified_at`,
  insertDevice: 'INSERT INTO device_tokens (id, account_id, name, token_hash, created_at) VALUES (?, ?, ?, ?, ?)',
  useDevice: `UPDATE device_tokens SET last_used_at = ? WHERE token_hash = ? RETURNING ${deviceTokenColumns}`,
  devicesOf: `SELECT ${deviceTokenColumns} FROM device_tokens WHERE account_id = ? ORDER BY created_at, id`,
  revokeDevice: 'DELETE FROM device_tokens WHERE account_id = ? AND id = ?',
  insertMail: `INSERT INTO mails (${mailColumns}) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (account_id, message_id) DO NOTHING`,
  // The ids come as one JSON array, in the order of the mail's headers: the first one known wins. CROSS JOIN keeps
  // the ids outside, so each is one lookup of the (account_id, message_id) key, not a scan of the account's mails.
  findMail: `SELECT ${mailColumns} FROM json_each(?) AS w CROSS JOIN mails ON mails.account_id = ? AND mails.message_id = w.value
    ORDER BY w.key LIMIT 1`,
  mailOf: `SELECT ${mailColumns} FROM mails WHERE conversation_id = ? AND seq = ? ORDER BY at, message_id LIMIT 1`,
  // The newest `limit` (read backwards from mails_by_conversation), returned oldest first.
  thread: `SELECT message_id FROM (
      SELECT message_id, seq, at FROM mails WHERE conversation_id = ? ORDER BY seq DESC, at DESC, message_id DESC LIMIT ?
    ) ORDER BY seq, at, message_id`,
  giveMailToken: 'UPDATE conversations SET mail_token = ? WHERE id = ? AND mail_token IS NULL',
  mailToken: 'SELECT mail_token FROM conversations WHERE id = ?',
  conversationByMailToken: conversationSelect('c.mail_token = ?'),
  setVisitorEmailOff: 'UPDATE conversations SET visitor_email_off = ? WHERE id = ?',
  setSubject: 'UPDATE conversations SET subject = ? WHERE id = ?',
  notifyMark: 'SELECT notify_seq AS seq, notify_at AS at FROM conversations WHERE id = ?',
  moveNotifyMark: `UPDATE conversations SET notify_seq = @toSeq, notify_at = @toAt
    WHERE id = @id AND notify_seq = @fromSeq AND notify_at = @fromAt`,
} as const;

export class SqliteMail implements MailStorage {
  private readonly q;

  constructor(
    private readonly db: Database.Database,
    /** SqliteStorage.visible: a conversation read shows no append that could still be lost. */
    private readonly visible: <T>(value: T) => Promise<T> | T,
  ) {
    this.q = {
      accountEmail: db.prepare<[string], AccountEmailRow<string>>(mailSql.accountEmail),
      setAccountEmail: db.prepare<[string, string, string, number]>(mailSql.setAccountEmail),
      removeAccountEmail: db.prepare<[string]>(mailSql.removeAccountEmail),
      verifyAccountEmail: db.prepare<[number, string], AccountEmailRow<string>>(mailSql.verifyAccountEmail),
      insertDevice: db.prepare<[string, string, string, string, number]>(mailSql.insertDevice),
      useDevice: db.prepare<[number, string], DeviceTokenRow<string>>(mailSql.useDevice),
      devicesOf: db.prepare<[string], DeviceTokenRow<string>>(mailSql.devicesOf),
      revokeDevice: db.prepare<[string, string]>(mailSql.revokeDevice),
      insertMail: db.prepare<unknown[]>(mailSql.insertMail),
      findMail: db.prepare<[string, string], MailRow>(mailSql.findMail),
      mailOf: db.prepare<[string, number], MailRow>(mailSql.mailOf),
      thread: db.prepare<[string, number], { message_id: string }>(mailSql.thread),
      giveMailToken: db.prepare<[string, string]>(mailSql.giveMailToken),
      mailToken: db.prepare<[string], { mail_token: string | null }>(mailSql.mailToken),
      conversationByMailToken: db.prepare<[string], ConversationRow<string>>(mailSql.conversationByMailToken),
      setVisitorEmailOff: db.prepare<[number, string]>(mailSql.setVisitorEmailOff),
      setSubject: db.prepare<[string, string]>(mailSql.setSubject),
      notifyMark: db.prepare<[string], { seq: number; at: number }>(mailSql.notifyMark),
      moveNotifyMark: db.prepare<{ id: string; fromSeq: number; fromAt: number; toSeq: number; toAt: number }>(mailSql.moveNotifyMark),
    };
  }

  // -- the owner's address ----------------------------------------------------------------------------------------

  async getAccountEmail(accountId: string): Promise<AccountEmail | null> {
    const row = this.q.accountEmail.get(accountId);
    return row ? toAccountEmail(row) : null;
  }

  async setAccountEmail(accountId: string, input: { address: string; verifyTokenHash: string; at: number } | null): Promise<void> {
    if (input === null) {
      this.q.removeAccountEmail.run(accountId);
      return;
    }
    assertWellFormed(input.address, 'The email address');
    try {
      this.q.setAccountEmail.run(accountId, input.address, input.verifyTokenHash, input.at);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such account.');
      if (isConstraint(err, 'UNIQUE')) throw new KnockError('conflict', 'This verification token is already in use.');
      throw err;
    }
  }

  async verifyAccountEmail(verifyTokenHash: string, at: number): Promise<AccountEmail | null> {
    const row = this.q.verifyAccountEmail.get(at, verifyTokenHash);
    return row ? toAccountEmail(row) : null;
  }

  // -- device tokens ----------------------------------------------------------------------------------------------

  async createDeviceToken(input: { accountId: string; name: string; tokenHash: string; at: number }): Promise<DeviceToken> {
    const device = newDeviceToken(input);
    try {
      this.q.insertDevice.run(device.id, device.accountId, device.name, input.tokenHash, device.createdAt);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such account.');
      if (isConstraint(err, 'UNIQUE')) throw new KnockError('conflict', 'This device token is already in use.');
      throw err;
    }
    return device;
  }

  async useDeviceToken(tokenHash: string, at: number): Promise<DeviceToken | null> {
    const row = this.q.useDevice.get(at, tokenHash);
    return row ? toDeviceToken(row) : null;
  }

  async listDeviceTokens(accountId: string): Promise<DeviceToken[]> {
    return this.q.devicesOf.all(accountId).map(toDeviceToken);
  }

  async revokeDeviceToken(accountId: string, id: string): Promise<boolean> {
    return this.q.revokeDevice.run(accountId, id).changes > 0;
  }

  // -- mails ------------------------------------------------------------------------------------------------------

  async recordMail(mail: StoredMail): Promise<boolean> {
    assertWellFormed(mail.messageId, 'The Message-ID');
    try {
      return this.q.insertMail.run(...mailValues(mail)).changes > 0;
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw new KnockError('not_found', 'There is no such conversation or account.');
      throw err;
    }
  }

  async findMail(accountId: string, messageIds: readonly string[]): Promise<StoredMail | null> {
    if (messageIds.length === 0) return null;
    const row = this.q.findMail.get(JSON.stringify(messageIds), accountId);
    return row ? toMail(row) : null;
  }

  async getMail(conversationId: string, seq: number): Promise<StoredMail | null> {
    const row = this.q.mailOf.get(conversationId, seq);
    return row ? toMail(row) : null;
  }

  async mailThread(conversationId: string, limit: number): Promise<string[]> {
    return this.q.thread.all(conversationId, rowLimit(limit)).map((r) => r.message_id);
  }

  // -- what a conversation holds for email ------------------------------------------------------------------------

  /** Given once: the UPDATE writes only where there is none yet, in the same transaction as the read of the token. */
  async conversationMailToken(conversationId: string): Promise<string> {
    const give = this.db.transaction(() => {
      this.q.giveMailToken.run(newMailToken(), conversationId);
      return this.q.mailToken.get(conversationId)?.mail_token ?? null;
    });
    const token = give.immediate();
    if (token === null) throw new KnockError('not_found', 'There is no such conversation.');
    return token;
  }

  async getConversationByMailToken(token: string): Promise<Conversation | null> {
    const row = this.q.conversationByMailToken.get(mailTokenKey(token));
    return this.visible(row ? toConversation(row) : null);
  }

  async setVisitorEmailOff(conversationId: string, off: boolean): Promise<boolean> {
    return this.q.setVisitorEmailOff.run(off ? 1 : 0, conversationId).changes > 0;
  }

  async setSubject(conversationId: string, subject: string): Promise<boolean> {
    assertWellFormed(subject, 'The subject');
    return this.q.setSubject.run(subject, conversationId).changes > 0;
  }

  async getNotifyMark(conversationId: string): Promise<{ seq: number; at: number }> {
    const mark = this.q.notifyMark.get(conversationId);
    if (!mark) throw new KnockError('not_found', 'There is no such conversation.');
    return { seq: mark.seq, at: mark.at };
  }

  async moveNotifyMark(conversationId: string, from: { seq: number; at: number }, to: { seq: number; at: number }): Promise<boolean> {
    return this.q.moveNotifyMark.run({ id: conversationId, fromSeq: from.seq, fromAt: from.at, toSeq: to.seq, toAt: to.at }).changes > 0;
  }
}
