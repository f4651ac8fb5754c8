/**
 * SMS conversations (engine/ports/storage.ts SmsStorage, issue 20) in SQLite, on SqliteStorage's connection
 * (012_sms.sql). Each call is one statement, so two processes racing for one phone's thread or answer settle in it.
 *
 * @example
 *   Object.assign(this, smsMethods(new SqliteSms(db)));
 */
import type Database from 'better-sqlite3';
import type { SmsPhone, SmsStorage, SmsThread, SmsVia } from '../../../engine/ports/storage.ts';
import { checkPhone, checkSmsThread, noSmsOwner, smsPhoneColumns, smsThreadColumns, toSmsPhone, toSmsThread, type SmsPhoneRow, type SmsThreadRow } from '../smsRows.ts';
import { isConstraint } from './constraints.ts';

/** The statements (exported so tests can EXPLAIN the text the adapter runs). */
export const smsSql = {
  thread: `SELECT ${smsThreadColumns} FROM sms_threads WHERE phone = ? AND account_id = ?`,
  threadOf: `SELECT ${smsThreadColumns} FROM sms_threads WHERE conversation_id = ?`,
  threadsOfPhone: `SELECT ${smsThreadColumns} FROM sms_threads WHERE phone = ? ORDER BY created_at, account_id`,
  insertThread: `INSERT INTO sms_threads (${smsThreadColumns}) VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (phone, account_id) DO NOTHING RETURNING ${smsThreadColumns}`,
  setVia: 'UPDATE sms_threads SET via = ? WHERE conversation_id = ?',
  countSince: 'SELECT COUNT(*) AS n FROM sms_threads WHERE account_id = ? AND created_at >= ?',
  phone: `SELECT ${smsPhoneColumns} FROM sms_phones WHERE phone = ?`,
  setCurrent: `INSERT INTO sms_phones (phone, current_account_id, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (phone) DO UPDATE SET current_account_id = excluded.current_account_id, updated_at = excluded.updated_at`,
  stop: `INSERT INTO sms_phones (phone, stopped_at, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (phone) DO UPDATE SET stopped_at = excluded.stopped_at, updated_at = excluded.updated_at
    WHERE sms_phones.stopped_at IS NULL RETURNING phone`,
  start: 'UPDATE sms_phones SET stopped_at = NULL, updated_at = ? WHERE phone = ? AND stopped_at IS NOT NULL',
  told: `INSERT INTO sms_phones (phone, told_at, updated_at) VALUES (?, ?, ?)
    ON CONFLICT (phone) DO UPDATE SET told_at = excluded.told_at, updated_at = excluded.updated_at
    WHERE sms_phones.told_at IS NULL OR sms_phones.told_at <= ? RETURNING phone`,
} as const;

export class SqliteSms implements SmsStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      thread: db.prepare<[string, string], SmsThreadRow>(smsSql.thread),
      threadOf: db.prepare<[string], SmsThreadRow>(smsSql.threadOf),
      threadsOfPhone: db.prepare<[string], SmsThreadRow>(smsSql.threadsOfPhone),
      insertThread: db.prepare<[string, string, string, string, string, number], SmsThreadRow>(smsSql.insertThread),
      setVia: db.prepare<[string, string]>(smsSql.setVia),
      countSince: db.prepare<[string, number], { n: number }>(smsSql.countSince),
      phone: db.prepare<[string], SmsPhoneRow>(smsSql.phone),
      setCurrent: db.prepare<[string, string | null, number]>(smsSql.setCurrent),
      stop: db.prepare<[string, number, number], { phone: string }>(smsSql.stop),
      start: db.prepare<[number, string]>(smsSql.start),
      told: db.prepare<[string, number, number, number], { phone: string }>(smsSql.told),
    };
  }

  async smsThread(phone: string, accountId: string): Promise<SmsThread | null> {
    const row = this.q.thread.get(phone, accountId);
    return row ? toSmsThread(row) : null;
  }

  async smsThreadOf(conversationId: string): Promise<SmsThread | null> {
    const row = this.q.threadOf.get(conversationId);
    return row ? toSmsThread(row) : null;
  }

  async smsThreadsOfPhone(phone: string): Promise<SmsThread[]> {
    return this.q.threadsOfPhone.all(phone).map(toSmsThread);
  }

  async createSmsThread(thread: SmsThread): Promise<{ thread: SmsThread; created: boolean }> {
    checkSmsThread(thread);
    let row: SmsThreadRow | undefined;
    try {
      row = this.q.insertThread.get(thread.phone, thread.accountId, thread.conversationId, thread.via, thread.shown, thread.createdAt);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noSmsOwner();
      throw err;
    }
    if (row) return { thread: toSmsThread(row), created: true };
    const existing = this.q.thread.get(thread.phone, thread.accountId);
    if (!existing) throw new Error('The SMS thread that was in the way is gone.');
    return { thread: toSmsThread(existing), created: false };
  }

  async setSmsThreadVia(conversationId: string, via: SmsVia): Promise<boolean> {
    return this.q.setVia.run(via, conversationId).changes > 0;
  }

  async countSmsThreadsSince(accountId: string, since: number): Promise<number> {
    return this.q.countSince.get(accountId, since)?.n ?? 0;
  }

  async smsPhone(phone: string): Promise<SmsPhone | null> {
    const row = this.q.phone.get(phone);
    return row ? toSmsPhone(row) : null;
  }

  async setSmsCurrent(phone: string, accountId: string | null, at: number): Promise<void> {
    checkPhone(phone);
    try {
      this.q.setCurrent.run(phone, accountId, at);
    } catch (err) {
      if (isConstraint(err, 'FOREIGNKEY')) throw noSmsOwner();
      throw err;
    }
  }

  async setSmsStopped(phone: string, stoppedAt: number | null, at: number): Promise<boolean> {
    checkPhone(phone);
    if (stoppedAt === null) return this.q.start.run(at, phone).changes > 0;
    return this.q.stop.get(phone, stoppedAt, at) !== undefined;
  }

  async markSmsTold(phone: string, at: number, notAfter: number): Promise<boolean> {
    checkPhone(phone);
    return this.q.told.get(phone, at, at, notAfter) !== undefined;
  }
}
