/**
 * Sessions as Settings → Sessions shows them and password recovery links (engine/ports/storage.ts
 * SessionRecoveryStorage, 016_sessions_recovery.sql), as both SQL adapters store them: the values of a new session
 * and the statements that read the same in both dialects but for their placeholders.
 */
import type { NewSession } from '../../engine/ports/storage.ts';
import { newId } from './common.ts';

/** A new session's row values, in the order of `sessions (token_hash, account_id, created_at, expires_at, id, ip, user_agent)`. */
export function newSessionValues(session: NewSession): [string, string, number, number, string, string | null, string | null] {
  return [session.tokenHash, session.accountId, session.createdAt, session.expiresAt, newId(), session.ip ?? null, session.userAgent ?? null];
}

