/**
 * A rule for adapters whose data outlives a Knock version: sessions made before issue 22 (schema version 15) stay
 * signed in after migration 016, each with a public id of its own (unique, URL-safe, not its token hash), no known
 * address or browser, and last seen when it was made; they are listed and ended by that id like new ones.
 */
import { expect } from 'vitest';
import { T0, URL_SAFE_ID } from './fixtures.ts';
import { inserts, type OlderDatabase } from './legacyEvents.ts';

/** The version these rows are written for: the last schema before migration 016. */
export const PRE_SESSION_IDS_SCHEMA_VERSION = 15;

const ann = { id: 'acc-ann-0001', handle: 'ann', display_name: 'Ann', password_hash: 'hash-of-ann', created_at: T0 };
const sessions = [
  { token_hash: 'older-session-1', account_id: ann.id, created_at: T0, expires_at: T0 + 3600_000 },
  { token_hash: 'older-session-2', account_id: ann.id, created_at: T0 + 5, expires_at: T0 + 3600_000 },
];

/** Writes the rows into `older` (at PRE_SESSION_IDS_SCHEMA_VERSION), opens it with the current code, and checks the sessions. */
export async function expectOlderSessionsGetIds(older: OlderDatabase): Promise<void> {
  await older.exec([inserts('accounts', [ann]), inserts('sessions', sessions)].join('\n'));
  const s = await older.open();

  const listed = await s.listSessions(ann.id, T0);
  expect(listed.map((x) => ({ ...x, id: 'any' }))).toEqual([
    { tokenHash: 'older-session-2', accountId: ann.id, createdAt: T0 + 5, expiresAt: T0 + 3600_000, id: 'any', ip: null, userAgent: null, lastSeenAt: T0 + 5 },
    { tokenHash: 'older-session-1', accountId: ann.id, createdAt: T0, expiresAt: T0 + 3600_000, id: 'any', ip: null, userAgent: null, lastSeenAt: T0 },
  ]);
  const [second, first] = listed;
  for (const x of listed) {
    expect(x.id).toMatch(URL_SAFE_ID);
    expect(x.id).not.toContain(x.tokenHash);
  }
  expect(first!.id).not.toBe(second!.id);
  expect(await s.getSession('older-session-1', T0)).toEqual(first);
  expect(await s.endSession(ann.id, first!.id)).toBe('older-session-1');
  expect((await s.listSessions(ann.id, T0)).map((x) => x.tokenHash)).toEqual(['older-session-2']);
}
