/**
 * Blocked visitors (engine/ports/storage.ts VisitorBlockStorage, issue 22) in SQLite, on SqliteStorage's connection
 * (018_blocks.sql). A block copies what it needs from its conversation (the token's hash, the visitor's name, the
 * last address) in the statement that makes it, so it stands on its own once the conversation is deleted.
 *
 * @example
 *   Object.assign(this, blockMethods(new SqliteBlocks(db)));
 */
import type Database from 'better-sqlite3';
import type { VisitorBlock, VisitorBlockStorage, VisitorTraits } from '../../../engine/ports/storage.ts';
import { blockColumns, blockMapper, type BlockRow } from '../blockRows.ts';
import { newId } from '../common.ts';

const toBlock = blockMapper((name: string) => name);

export const blockSql = {
  // Every join of a visitor records where from: the same address again writes nothing (no commit to sync).
  recordAddress: `INSERT INTO visitor_addresses (conversation_id, address_hash, seen_at)
    SELECT id, @hash, @at FROM conversations WHERE id = @conversation
    ON CONFLICT (conversation_id) DO UPDATE SET address_hash = excluded.address_hash, seen_at = excluded.seen_at
      WHERE visitor_addresses.address_hash <> excluded.address_hash`,
  // The visitor is the conversation's first visitor (participants in join order: rowid). A block made again keeps its
  // id and date, and takes the address seen last, when there is one.
  block: `INSERT INTO visitor_blocks (id, account_id, conversation_id, token_hash, address_hash, address_until, visitor_name, blocked_by, created_at)
    SELECT @id, c.owner_account_id, c.id, c.token_hash, a.address_hash, CASE WHEN a.address_hash IS NULL THEN NULL ELSE @until END,
      COALESCE((SELECT p.name FROM participants p WHERE p.conversation_id = c.id AND p.role = 'visitor' ORDER BY p.rowid LIMIT 1), ''),
      @by, @at
    FROM conversations c LEFT JOIN visitor_addresses a ON a.conversation_id = c.id
    WHERE c.id = @conversation AND c.owner_account_id = @account
    ON CONFLICT (account_id, token_hash) DO UPDATE SET
      conversation_id = excluded.conversation_id,
      address_hash = COALESCE(excluded.address_hash, visitor_blocks.address_hash),
      address_until = CASE WHEN excluded.address_hash IS NULL THEN visitor_blocks.address_until ELSE excluded.address_until END
    RETURNING ${blockColumns}`,
  find: `SELECT ${blockColumns} FROM visitor_blocks WHERE account_id = @account
    AND (conversation_id = @conversation OR token_hash = @token OR (address_hash = @address AND address_until > @now))
    ORDER BY created_at DESC LIMIT 1`,
  list: `SELECT ${blockColumns} FROM visitor_blocks WHERE account_id = ? ORDER BY created_at DESC, id`,
  remove: `DELETE FROM visitor_blocks WHERE account_id = ? AND id = ? RETURNING ${blockColumns}`,
} as const;

export class SqliteBlocks implements VisitorBlockStorage {
  private readonly q;

  constructor(db: Database.Database) {
    this.q = {
      recordAddress: db.prepare<{ conversation: string; hash: string; at: number }>(blockSql.recordAddress),
      block: db.prepare<{ id: string; account: string; conversation: string; until: number; by: string | null; at: number }, BlockRow<string>>(blockSql.block),
      find: db.prepare<{ account: string; conversation: string | null; token: string | null; address: string | null; now: number }, BlockRow<string>>(blockSql.find),
      list: db.prepare<[string], BlockRow<string>>(blockSql.list),
      remove: db.prepare<[string, string], BlockRow<string>>(blockSql.remove),
    };
  }

  async recordVisitorAddress(conversationId: string, addressHash: string, at: number): Promise<void> {
    this.q.recordAddress.run({ conversation: conversationId, hash: addressHash, at });
  }

  async blockVisitor(input: { accountId: string; conversationId: string; blockedBy: string | null; addressUntil: number; at: number }): Promise<{ block: VisitorBlock; created: boolean } | null> {
    const id = newId();
    const row = this.q.block.get({ id, account: input.accountId, conversation: input.conversationId, until: input.addressUntil, by: input.blockedBy, at: input.at });
    return row ? { block: toBlock(row), created: row.id === id } : null;
  }

  async findVisitorBlock(accountId: string, visitor: VisitorTraits, now: number): Promise<VisitorBlock | null> {
    const row = this.q.find.get({
      account: accountId,
      conversation: visitor.conversationId ?? null,
      token: visitor.tokenHash ?? null,
      address: visitor.addressHash ?? null,
      now,
    });
    return row ? toBlock(row) : null;
  }

  async listVisitorBlocks(accountId: string): Promise<VisitorBlock[]> {
    return this.q.list.all(accountId).map(toBlock);
  }

  async removeVisitorBlock(accountId: string, id: string): Promise<VisitorBlock | null> {
    const row = this.q.remove.get(accountId, id);
    return row ? toBlock(row) : null;
  }
}
