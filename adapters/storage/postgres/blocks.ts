/**
 * Blocked visitors (engine/ports/storage.ts VisitorBlockStorage, issue 22) in PostgreSQL, on the adapter's pool
 * (018_blocks.sql; the same statements as sqlite/blocks.ts). A block copies the token's hash, the visitor's name and
 * the last address from its conversation in the one statement that makes it; blocking again is an upsert on the
 * token, so two owners' devices blocking at once make one block.
 *
 * @example
 *   Object.assign(this, blockMethods(new PostgresBlocks(run)));
 */
import type { VisitorBlock, VisitorBlockStorage, VisitorTraits } from '../../../engine/ports/storage.ts';
import { blockColumns, blockMapper, type BlockRow } from '../blockRows.ts';
import { newId } from '../common.ts';
import type { RunStatement } from './inbox.ts';
import { decodeText } from './queries.ts';

const toBlock = blockMapper(decodeText);

export const blockSql = {
  // $1 conversation, $2 hash, $3 at. The same address again writes nothing (every join of a visitor records it).
  recordAddress: `INSERT INTO visitor_addresses (conversation_id, address_hash, seen_at)
    SELECT id, $2, $3 FROM conversations WHERE id = $1
    ON CONFLICT (conversation_id) DO UPDATE SET address_hash = excluded.address_hash, seen_at = excluded.seen_at
      WHERE visitor_addresses.address_hash <> excluded.address_hash`,
  // $1 id, $2 account, $3 conversation, $4 address until, $5 blocked by, $6 at.
  block: `INSERT INTO visitor_blocks (id, account_id, conversation_id, token_hash, address_hash, address_until, visitor_name, blocked_by, created_at)
    SELECT $1, c.owner_account_id, c.id, c.token_hash, a.address_hash, CASE WHEN a.address_hash IS NULL THEN NULL ELSE $4::bigint END,
      COALESCE((SELECT p.name FROM participants p WHERE p.conversation_id = c.id AND p.role = 'visitor' ORDER BY p.join_order LIMIT 1), ''::bytea),
      $5, $6
    FROM conversations c LEFT JOIN visitor_addresses a ON a.conversation_id = c.id
    WHERE c.id = $3 AND c.owner_account_id = $2
    ON CONFLICT (account_id, token_hash) DO UPDATE SET
      conversation_id = excluded.conversation_id,
      address_hash = COALESCE(excluded.address_hash, visitor_blocks.address_hash),
      address_until = CASE WHEN excluded.address_hash IS NULL THEN visitor_blocks.address_until ELSE excluded.address_until END
    RETURNING ${blockColumns}`,
  // $1 account, $2 conversation, $3 token hash, $4 address hash, $5 now.
  find: `SELECT ${blockColumns} FROM visitor_blocks WHERE account_id = $1
    AND (conversation_id = $2 OR token_hash = $3 OR (address_hash = $4 AND address_until > $5))
    ORDER BY created_at DESC LIMIT 1`,
  list: `SELECT ${blockColumns} FROM visitor_blocks WHERE account_id = $1 ORDER BY created_at DESC, id`,
  remove: `DELETE FROM visitor_blocks WHERE account_id = $1 AND id = $2 RETURNING ${blockColumns}`,
} as const;

export class PostgresBlocks implements VisitorBlockStorage {
  constructor(private readonly run: RunStatement) {}

  async recordVisitorAddress(conversationId: string, addressHash: string, at: number): Promise<void> {
    await this.run(blockSql.recordAddress, [conversationId, addressHash, at]);
  }

  async blockVisitor(input: { accountId: string; conversationId: string; blockedBy: string | null; addressUntil: number; at: number }): Promise<{ block: VisitorBlock; created: boolean } | null> {
    const id = newId();
    const row = (await this.run<BlockRow<Buffer>>(blockSql.block, [id, input.accountId, input.conversationId, input.addressUntil, input.blockedBy, input.at])).rows[0];
    return row ? { block: toBlock(row), created: row.id === id } : null;
  }

  async findVisitorBlock(accountId: string, visitor: VisitorTraits, now: number): Promise<VisitorBlock | null> {
    const values = [accountId, visitor.conversationId ?? null, visitor.tokenHash ?? null, visitor.addressHash ?? null, now];
    const row = (await this.run<BlockRow<Buffer>>(blockSql.find, values)).rows[0];
    return row ? toBlock(row) : null;
  }

  async listVisitorBlocks(accountId: string): Promise<VisitorBlock[]> {
    return (await this.run<BlockRow<Buffer>>(blockSql.list, [accountId])).rows.map(toBlock);
  }

  async removeVisitorBlock(accountId: string, id: string): Promise<VisitorBlock | null> {
    const row = (await this.run<BlockRow<Buffer>>(blockSql.remove, [accountId, id])).rows[0];
    return row ? toBlock(row) : null;
  }
}
