/**
 * An account's audit log (issue 22, Settings → Audit log): sign-ins and their failures, password and second-factor
 * changes, new devices, blocks, exports. Each entry has its time, the client's address and its browser; the owner reads
 * their own, newest first, in pages. Entries are kept KNOCK_AUDIT_RETENTION_DAYS (engine/retention.ts).
 *
 * Recording never fails the action it records: a sign-in whose entry cannot be written still signs in, and the write
 * error is logged (the alternative, refusing every sign-in while the database is unwell, locks owners out).
 *
 * @example
 *   const audit = new AuditLog({ storage, clock, logger });
 *   await audit.record(account.id, 'login', auditContextOf(req, config.trustProxy), { method: 'password' });
 *   const page = await audit.page(account.id); // { entries: [{ kind: 'login', device: 'Chrome 131 on Linux', ... }], next }
 */
import type { IncomingMessage } from 'node:http';
import { UAParser } from 'ua-parser-js';
import { clientIpOf } from './http/clientAddress.ts';
import type { Logger } from './logger.ts';
import type { Clock } from './ports/clock.ts';
import type { AuditRecord, Storage } from './ports/storage.ts';
import type { AuditAnswer, AuditKind } from './protocol.ts';

/** Where an action came from: the client's address and its User-Agent (both null from the CLI). */
export interface AuditContext {
  ip: string | null;
  userAgent: string | null;
}

/** The CLI's actions: no address, no browser. */
export const CLI_CONTEXT: AuditContext = { ip: null, userAgent: null };

/** The entries of one page of Settings → Audit log. */
export const AUDIT_PAGE_SIZE = 50;
/** A User-Agent is the client's to choose: kept to this many characters. */
const MAX_USER_AGENT = 400;
/** A detail's text values too. */
const MAX_DETAIL_TEXT = 200;

/** The context of an HTTP request: its client's address as the proxies we trust give it, and its User-Agent. */
export function auditContextOf(req: IncomingMessage, trustedHops: number): AuditContext {
  const userAgent = req.headers['user-agent'];
  return { ip: clientIpOf(req, trustedHops), userAgent: userAgent ? userAgent.slice(0, MAX_USER_AGENT) : null };
}

/**
 * A browser in words, as a person recognises it: "Chrome 131 on Linux", "Safari on iOS", "Firefox". Null for no
 * User-Agent or one that names no browser (a script's).
 *
 * @example deviceName('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36') // 'Chrome 131 on Linux'
 */
export function deviceName(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const { browser, os } = UAParser(userAgent);
  if (!browser.name) return null;
  const name = browser.major ? `${browser.name} ${browser.major}` : browser.name;
  return os.name ? `${name} on ${os.name}` : name;
}

/**
 * The browser and system of a User-Agent without their versions ("Chrome on Linux"): what says a sign-in comes from a
 * device never seen before (engine/sessions.ts). Versions are left out so that a browser's monthly update is not a new
 * device. Null as deviceName is.
 *
 * @example deviceFamily('Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36') // 'Chrome on Linux'
 */
export function deviceFamily(userAgent: string | null): string | null {
  if (!userAgent) return null;
  const { browser, os } = UAParser(userAgent);
  if (!browser.name) return null;
  return os.name ? `${browser.name} on ${os.name}` : browser.name;
}

export interface AuditLogOptions {
  storage: Pick<Storage, 'appendAudit' | 'listAudit'>;
  clock: Clock;
  logger: Pick<Logger, 'error'>;
}

export class AuditLog {
  constructor(private readonly options: AuditLogOptions) {}

  /** Appends an entry now; a failure to write it is logged, never thrown (see the module's comment). */
  async record(accountId: string, kind: AuditKind, context: AuditContext, detail?: AuditRecord['detail']): Promise<void> {
    try {
      await this.options.storage.appendAudit({
        accountId,
        at: this.options.clock.now(),
        kind,
        ip: context.ip,
        userAgent: context.userAgent?.slice(0, MAX_USER_AGENT) ?? null,
        detail: detail ? boundedDetail(detail) : null,
      });
    } catch (err) {
      this.options.logger.error({ err, accountId, kind }, 'could not write an audit log entry');
    }
  }

  /** The account's entries newest first, AUDIT_PAGE_SIZE at most, older than the entry `before` when given. */
  async page(accountId: string, before?: number): Promise<AuditAnswer> {
    const records = await this.options.storage.listAudit(accountId, { ...(before === undefined ? {} : { before }), limit: AUDIT_PAGE_SIZE + 1 });
    const entries = records.slice(0, AUDIT_PAGE_SIZE).map((r) => ({ id: r.id, at: r.at, kind: r.kind, ip: r.ip, device: deviceName(r.userAgent), detail: r.detail }));
    return { entries, next: records.length > AUDIT_PAGE_SIZE ? entries.at(-1)!.id : null };
  }
}

function boundedDetail(detail: NonNullable<AuditRecord['detail']>): NonNullable<AuditRecord['detail']> {
  return Object.fromEntries(Object.entries(detail).map(([k, v]) => [k, typeof v === 'string' ? v.slice(0, MAX_DETAIL_TEXT) : v]));
}
