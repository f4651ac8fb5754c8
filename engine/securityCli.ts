/**
 * Settings → Sessions and Audit log from the command line (issue 22), for a server's operators: `knock user
 * sessions|logout|audit`, and what `knock user passwd` records. Like the rest of engine/cli.ts it works on the
 * database alone: it has no Hub to tell the servers, so the sockets of the sessions it ends close within each server's
 * session check (KNOCK_SESSION_CHECK_INTERVAL_MS, engine/sessionWatch.ts), not at once as from Settings. Its entries in
 * the audit log have no address and no browser (CLI_CONTEXT); the notice of a password set here is queued in the
 * outbox (in storage), and a running server mails it.
 *
 * @example
 *   npx knock user sessions alice
 *   npx knock user logout alice
 *   npx knock user audit alice --limit 20
 */
import { AuditLog, CLI_CONTEXT, deviceName } from './auditLog.ts';
import { KnockError } from './errors.ts';
import type { Logger } from './logger.ts';
import { systemClock } from './ports/clock.ts';
import type { Account, Storage } from './ports/storage.ts';
import { passwordNoticeJob } from './securityMail.ts';

export const SECURITY_USAGE = `  knock user sessions <handle>
  knock user logout <handle>
  knock user audit <handle> [--limit <n>]`;

export const SECURITY_COMMANDS: readonly string[] = ['sessions', 'logout', 'audit'];

const DEFAULT_AUDIT_LIMIT = 50;
const MAX_AUDIT_LIMIT = 10_000;

const iso = (at: number) => new Date(at).toISOString();

async function accountOf(storage: Storage, handle: string | undefined, command: string): Promise<Account> {
  if (!handle) throw new KnockError('bad_request', `user ${command} needs <handle>.`);
  const account = await storage.getAccountByHandle(handle);
  if (!account) throw new KnockError('not_found', `There is no account "${handle}".`);
  return account;
}

export async function securityCommand(
  storage: Storage,
  logger: Pick<Logger, 'error'>,
  command: string,
  handle: string | undefined,
  values: { limit?: string | undefined },
  out: NodeJS.WritableStream,
): Promise<number> {
  const account = await accountOf(storage, handle, command);
  switch (command) {
    case 'sessions': {
      const sessions = await storage.listSessions(account.id, systemClock.now());
      if (sessions.length === 0) out.write(`${account.handle} has no live session.\n`);
      for (const s of sessions) {
        out.write(`${s.id}\t${deviceName(s.userAgent) ?? 'unknown browser'}\t${s.ip ?? '-'}\tsigned in ${iso(s.createdAt)}\tlast seen ${iso(s.lastSeenAt)}\n`);
      }
      return 0;
    }
    case 'logout': {
      const ended = await storage.endSessions(account.id);
      const audit = new AuditLog({ storage, clock: systemClock, logger });
      if (ended.length > 0) await audit.record(account.id, 'sessions.ended', CLI_CONTEXT, { count: ended.length, why: 'knock user logout' });
      out.write(`Ended ${ended.length} session${ended.length === 1 ? '' : 's'} of ${account.handle}; their open pages are logged out within the servers' session check.\n`);
      return 0;
    }
    case 'audit': {
      const limit = values.limit === undefined ? DEFAULT_AUDIT_LIMIT : Number(values.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > MAX_AUDIT_LIMIT) throw new KnockError('bad_request', `--limit is a number from 1 to ${MAX_AUDIT_LIMIT}.`);
      const entries = await storage.listAudit(account.id, { limit });
      if (entries.length === 0) out.write(`${account.handle}'s audit log is empty.\n`);
      for (const e of entries) {
        out.write(`${iso(e.at)}\t${e.kind}\t${e.ip ?? '-'}\t${deviceName(e.userAgent) ?? '-'}\t${e.detail ? JSON.stringify(e.detail) : ''}\n`);
      }
      return 0;
    }
    default:
      throw new KnockError('bad_request', `Unknown command "user ${command}". Try:\n${SECURITY_USAGE}`);
  }
}

/**
 * After `knock user passwd` set a password (engine/accounts.ts ended the sessions): the audit entries, and the notice
 * to the account's verified address queued in the outbox.
 */
export async function recordPasswordSet(storage: Storage, logger: Pick<Logger, 'error'>, account: Account, ended: readonly string[]): Promise<void> {
  const audit = new AuditLog({ storage, clock: systemClock, logger });
  if (ended.length > 0) await audit.record(account.id, 'sessions.ended', CLI_CONTEXT, { count: ended.length, why: 'password.changed' });
  await audit.record(account.id, 'password.changed', CLI_CONTEXT);
  await storage.enqueueJob(passwordNoticeJob({ account, event: 'password.changed', context: CLI_CONTEXT, at: systemClock.now() }));
}
