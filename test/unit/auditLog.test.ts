/**
 * The audit log service (engine/auditLog.ts, issue 22): browsers named as people recognise them, pages of entries
 * newest first with the id to ask for the older ones, bounded client-chosen text, and an entry that cannot be written
 * never failing the sign-in it records. On a real in-memory SQLite storage.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AUDIT_PAGE_SIZE, AuditLog, deviceName } from '../../engine/auditLog.ts';
import { createLogger } from '../../engine/logger.ts';
import type { Account } from '../../engine/ports/storage.ts';
import { SqliteStorage } from '../../adapters/storage/sqlite/SqliteStorage.ts';
import { ManualClock } from '../support/roomHarness.ts';

const CHROME_LINUX = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const SAFARI_IPHONE =
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1';

describe('deviceName', () => {
  it('names the browser, its major version and the system', () => {
    expect(deviceName(CHROME_LINUX)).toBe('Chrome 131 on Linux');
    expect(deviceName(SAFARI_IPHONE)).toBe('Mobile Safari 17 on iOS');
  });

  it('says nothing for no User-Agent or one that names no browser', () => {
    expect(deviceName(null)).toBeNull();
    expect(deviceName('curl/8.5.0')).toBeNull();
  });
});

describe('AuditLog', () => {
  let storage: SqliteStorage;
  let alice: Account;
  const clock = new ManualClock();

  beforeEach(async () => {
    storage = await SqliteStorage.open({ file: ':memory:' });
    alice = await storage.createAccount({ handle: 'alice', displayName: 'Alice', passwordHash: 'x', at: clock.now() });
  });
  afterEach(() => storage.close());

  it('pages entries newest first, with the id of the last as the way to the older ones', async () => {
    const audit = new AuditLog({ storage, clock, logger: createLogger('silent') });
    for (let i = 0; i < AUDIT_PAGE_SIZE + 3; i++) await audit.record(alice.id, 'login', { ip: '192.0.2.1', userAgent: CHROME_LINUX }, { n: i });
    const first = await audit.page(alice.id);
    expect(first.entries).toHaveLength(AUDIT_PAGE_SIZE);
    expect(first.entries[0]).toMatchObject({ kind: 'login', ip: '192.0.2.1', device: 'Chrome 131 on Linux', detail: { n: AUDIT_PAGE_SIZE + 2 } });
    expect(first.next).toBe(first.entries.at(-1)!.id);
    const second = await audit.page(alice.id, first.next!);
    expect(second.entries.map((e) => e.detail?.n)).toEqual([2, 1, 0]);
    expect(second.next).toBeNull();
  });

  it('keeps a long User-Agent and long detail text to a bounded length', async () => {
    const audit = new AuditLog({ storage, clock, logger: createLogger('silent') });
    await audit.record(alice.id, 'login.failed', { ip: null, userAgent: `${CHROME_LINUX} ${'x'.repeat(5000)}` }, { note: 'y'.repeat(5000) });
    const [entry] = await storage.listAudit(alice.id, { limit: 1 });
    expect(entry!.userAgent!.length).toBeLessThanOrEqual(400);
    expect(String(entry!.detail!.note).length).toBeLessThanOrEqual(200);
  });

  it('logs a failed write and resolves, so the action it records goes on', async () => {
    const errors: unknown[] = [];
    const logger = { error: (obj: unknown) => void errors.push(obj) } as unknown as ReturnType<typeof createLogger>;
    const failing = { appendAudit: () => Promise.reject(new Error('disk full')), listAudit: () => Promise.resolve([]) };
    const audit = new AuditLog({ storage: failing, clock, logger });
    await expect(audit.record(alice.id, 'login', { ip: null, userAgent: null })).resolves.toBeUndefined();
    expect(errors).toHaveLength(1);
  });
});
