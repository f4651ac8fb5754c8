/**
 * SMS conversations (engine/ports/storage.ts SmsStorage, issue 20) in PostgreSQL, on the adapter's pool
 * (012_sms.sql). Each call is one statement, so two processes racing for one phone's thread or answer settle in it.
 *
 * @example
 *   Object.assign(this, smsMethods(new PostgresSms(run)));
 */
import type { SmsPhone, SmsStorage, SmsThread, SmsVia } from '../../../engine/ports/storage.ts';
import { checkPhone, checkSmsThread, noSmsOwner, smsPhoneColumns, smsThreadColumns, toSmsPhone, toSmsThread, type SmsPhoneRow, type SmsThreadRow } from '../smsRows.ts';
import { SqlState, isViolation } from './databaseErrors.ts';
import type { RunStatement } from './inbox.ts';

export const smsSql = {
  thread: `SELECT ${smsThreadColumns} FROM sms_threads WHERE phone = $1 AND account_id = $2`,
  threadOf: `SELECT ${smsThreadColumns} FROM sms_threads WHERE conversation_id = $1`,
  threadsOfPhone: `SELECT ${smsThreadColumns} FROM sms_threads WHERE phone = $1 ORDER BY created_at, account_id`,
  insertThread: `INSERT INTO sms_threads (${smsThreadColumns}) VALUES ($1, $2, $3, $4, $5, $6)
    ON CONFLICT (phone, account_id) DO NOTHING RETURNING ${smsThreadColumns}`,
  setVia: 'UPDATE sms_threads SET via = $1 WHERE conversation_id = $2',
  countSince: 'SELECT COUNT(*) AS n FROM sms_threads WHERE account_id = $1 AND created_at >= $2',
  phone: `SELECT ${smsPhoneColumns} FROM sms_phones WHERE phone = $1`,
  // $1 phone, $2 account, $3 at.
  setCurrent: `INSERT INTO sms_phones (phone, current_account_id, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (phone) DO UPDATE SET current_account_id = excluded.current_account_id, updated_at = excluded.updated_at`,
  // $1 phone, $2 stopped at, $3 at.
  stop: `INSERT INTO sms_phones (phone, stopped_at, updated_at) VALUES ($1, $2, $3)
    ON CONFLICT (phone) DO UPDATE SET stopped_at = excluded.stopped_at, updated_at = excluded.updated_at
    WHERE sms_phones.stopped_at IS NULL RETURNING phone`,
  start: 'UPDATE sms_phones SET stopped_at = NULL, updated_at = $1 WHERE phone = $2 AND stopped_at IS NOT NULL',
  // $1 phone, $2 at, $3 not after.
  told: `INSERT INTO sms_phones (phone, told_at, updated_at) VALUES ($1, $2, $2)
    ON CONFLICT (phone) DO UPDATE SET told_at = excluded.told_at, updated_at = excluded.updated_at
    WHERE sms_phones.told_at IS NULL OR sms_phones.told_at <= $3 RETURNING phone`,
} as const;

const refineForeignKey = (err: unknown) => (isViolation(err, SqlState.foreignKeyViolation) ? noSmsOwner() : undefined);

export class PostgresSms implements SmsStorage {
  constructor(private readonly run: RunStatement) {}

  async smsThread(phone: string, accountId: string): Promise<SmsThread | null> {
    const row = (await this.run<SmsThreadRow>(smsSql.thread, [phone, accountId])).rows[0];
    return row ? toSmsThread(row) : null;
  }

  async smsThreadOf(conversationId: string): Promise<SmsThread | null> {
    const row = (await this.run<SmsThreadRow>(smsSql.threadOf, [conversationId])).rows[0];
    return row ? toSmsThread(row) : null;
  }

  async smsThreadsOfPhone(phone: string): Promise<SmsThread[]> {
    return (await this.run<SmsThreadRow>(smsSql.threadsOfPhone, [phone])).rows.map(toSmsThread);
  }

  async createSmsThread(thread: SmsThread): Promise<{ thread: SmsThread; created: boolean }> {
    checkSmsThread(thread);
    const values = [thread.phone, thread.accountId, thread.conversationId, thread.via, thread.shown, thread.createdAt];
    const row = (await this.run<SmsThreadRow>(smsSql.insertThread, values, refineForeignKey)).rows[0];
    if (row) return { thread: toSmsThread(row), created: true };
    const existing = await this.smsThread(thread.phone, thread.accountId);
    if (!existing) throw new Error('The SMS thread that was in the way is gone.');
    return { thread: existing, created: false };
  }

  async setSmsThreadVia(conversationId: string, via: SmsVia): Promise<boolean> {
    return ((await this.run(smsSql.setVia, [via, conversationId])).rowCount ?? 0) > 0;
  }

  async countSmsThreadsSince(accountId: string, since: number): Promise<number> {
    return (await this.run<{ n: number }>(smsSql.countSince, [accountId, since])).rows[0]?.n ?? 0;
  }

  async smsPhone(phone: string): Promise<SmsPhone | null> {
    const row = (await this.run<SmsPhoneRow>(smsSql.phone, [phone])).rows[0];
    return row ? toSmsPhone(row) : null;
  }

  async setSmsCurrent(phone: string, accountId: string | null, at: number): Promise<void> {
    checkPhone(phone);
    await this.run(smsSql.setCurrent, [phone, accountId, at], refineForeignKey);
  }

  async setSmsStopped(phone: string, stoppedAt: number | null, at: number): Promise<boolean> {
    checkPhone(phone);
    if (stoppedAt === null) return ((await this.run(smsSql.start, [at, phone])).rowCount ?? 0) > 0;
    return (await this.run(smsSql.stop, [phone, stoppedAt, at])).rows.length > 0;
  }

  async markSmsTold(phone: string, at: number, notAfter: number): Promise<boolean> {
    checkPhone(phone);
    return (await this.run(smsSql.told, [phone, at, notAfter])).rows.length > 0;
  }
}
